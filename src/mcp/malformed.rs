//! Requests for methods we serve whose params did not parse. rmcp falls back to a "custom
//! request" for them and would answer -32601 "method not found", which sends a client
//! looking for a method that exists. They are invalid params (-32602), with what is wrong.

use rmcp::ErrorData;
use rmcp::model::{CustomRequest, ErrorCode};
use serde_json::Value;

/// Methods of the protocol versions we speak; anything else really is not found.
const KNOWN: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
];

/// The error for a custom request: -32602 with the reason for a known method, else -32601.
pub fn error_for(request: &CustomRequest) -> ErrorData {
    let method = request.method.as_str();
    if !KNOWN.contains(&method) {
        return ErrorData::new(ErrorCode::METHOD_NOT_FOUND, method.to_string(), None);
    }
    ErrorData::invalid_params(reason(method, request.params.as_ref()), None)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn reason(method: &str, params: Option<&Value>) -> String {
    if method == "tools/call" {
        let Some(Value::Object(p)) = params else {
            return "tools/call needs params {\"name\": <tool>, \"arguments\": {…}}".into();
        };
        match (p.get("name"), p.get("arguments")) {
            (Some(Value::String(_)), Some(args)) if !args.is_object() => {
                return format!(
                    "tools/call: `arguments` must be an object of the tool's parameters \
                     (e.g. {{\"lock_name\": \"pytest\"}}), not {}; see tools/list for each \
                     tool's inputSchema",
                    kind(args)
                );
            }
            (Some(Value::String(_)), _) => {}
            (other, _) => {
                return format!(
                    "tools/call: `name` must be the tool's name as a string, not {}",
                    other.map_or("missing", kind)
                );
            }
        }
    }
    match params {
        Some(p) if !p.is_object() => {
            format!("{method}: params must be an object, not {}", kind(p))
        }
        _ => format!("{method}: params do not match the method's schema"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn custom(method: &str, params: Value) -> CustomRequest {
        CustomRequest::new(method, Some(params))
    }

    #[test]
    fn non_object_arguments_are_invalid_params() {
        let e = error_for(&custom(
            "tools/call",
            json!({"name": "whoami", "arguments": 5}),
        ));
        assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
        assert!(
            e.message.contains("`arguments` must be an object"),
            "{}",
            e.message
        );
        let e = error_for(&custom("tools/call", json!({"name": 3})));
        assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
        assert!(e.message.contains("`name`"), "{}", e.message);
    }

    #[test]
    fn unknown_methods_are_not_found() {
        let e = error_for(&custom("tools/frobnicate", json!({})));
        assert_eq!(e.code, ErrorCode::METHOD_NOT_FOUND);
    }
}
