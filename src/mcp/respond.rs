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
        Ok(value) => match serde_json::to_value(value) {
            Ok(v) => CallToolResult::structured(v),
            Err(e) => refuse(ServiceError::new(
                "internal",
                format!("cannot encode the result: {e}"),
            )),
        },
        Err(e) => refuse(e),
    }
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
