//! Turning service results into MCP tool results.
//!
//! Success: structured JSON (plus its text copy, for clients that only read text).
//! Refusal: `isError: true`, the sentence a model can act on as the text, and the stable
//! `error` code with details as structured content.

use rmcp::model::{CallToolResult, ContentBlock};
use serde::Serialize;
use serde_json::{Value, json};

use crate::service::ServiceError;

pub fn respond<T: Serialize>(result: Result<T, ServiceError>) -> CallToolResult {
    match result {
        Ok(value) => match structured(&value) {
            Ok(r) => r,
            Err(e) => refuse(ServiceError::new(
                "internal",
                format!("cannot encode the result: {e}"),
            )),
        },
        Err(e) => refuse(e),
    }
}

/// What `CallToolResult::structured` builds, with the text copy written from `value` itself
/// into a byte buffer: rmcp's writes the `Value` through `Display` (the `fmt` machinery), which
/// was a visible share of a large listing's CPU (issue 18).
fn structured<T: Serialize>(value: &T) -> Result<CallToolResult, serde_json::Error> {
    let text = serde_json::to_string(value)?;
    let mut result = CallToolResult::structured(Value::Null);
    result.structured_content = Some(serde_json::to_value(value)?);
    result.content = vec![ContentBlock::text(text)];
    Ok(result)
}

pub fn refuse(e: ServiceError) -> CallToolResult {
    let mut structured = json!({ "error": e.code, "message": e.message });
    if let (Value::Object(map), Value::Object(details)) = (&mut structured, e.details) {
        for (k, v) in details {
            map.entry(k).or_insert(v);
        }
    }
    let mut result = CallToolResult::error(vec![ContentBlock::text(e.message)]);
    result.structured_content = Some(structured);
    result
}

/// A tool result read back by a client (the CLI, tests): the inverse of [`respond`].
#[derive(Debug, Clone)]
pub struct ReadBack {
    pub is_error: bool,
    /// The structured content, or the text parsed as JSON; `None` when neither exists.
    pub json: Option<Value>,
    /// The text content blocks, joined by newlines.
    pub text: String,
}

pub fn read_back(result: &CallToolResult) -> ReadBack {
    let text = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n");
    let json = result
        .structured_content
        .clone()
        .or_else(|| serde_json::from_str(&text).ok());
    ReadBack {
        is_error: result.is_error == Some(true),
        json,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Sample {
        name: String,
        note: Option<String>,
        seconds: f64,
        tags: std::collections::BTreeMap<String, u32>,
    }

    #[test]
    fn the_text_copy_is_the_structured_content() {
        let sample = Sample {
            name: "child_p_task_1 \"quoted\" ünïcode".into(),
            note: None,
            seconds: 0.001,
            tags: [("b".to_string(), 2), ("a".to_string(), 1)].into(),
        };
        let r = respond(Ok(sample));
        assert_eq!(r.is_error, Some(false));
        let back = read_back(&r);
        let text_json: Value = serde_json::from_str(&back.text).expect("the text is JSON");
        assert_eq!(Some(text_json), r.structured_content);
        assert_eq!(
            back.text,
            r#"{"name":"child_p_task_1 \"quoted\" ünïcode","note":null,"seconds":0.001,"tags":{"a":1,"b":2}}"#
        );
    }
}
