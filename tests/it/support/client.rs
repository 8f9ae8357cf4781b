//! MCP clients for tests: rmcp's own client over Streamable HTTP, and helpers to call tools
//! and read their JSON.

use std::collections::HashMap;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

pub type Client = RunningService<RoleClient, ()>;

/// Connects over Streamable HTTP, optionally with extra headers.
pub async fn connect_http(url: &str, headers: &[(&str, &str)]) -> Client {
    try_connect_http(url, headers)
        .await
        .expect("MCP client connects over /mcp")
}

pub async fn try_connect_http(url: &str, headers: &[(&str, &str)]) -> anyhow::Result<Client> {
    let mut map = HashMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes())?,
            http::HeaderValue::from_str(v)?,
        );
    }
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string()).custom_headers(map);
    let transport = StreamableHttpClientTransport::from_config(config);
    Ok(().serve(transport).await?)
}

/// Connects over the legacy SSE transport (`GET /sse`), optionally with extra headers.
pub async fn connect_sse(url: &str, headers: &[(&str, &str)]) -> Client {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    let transport = super::sse_client::SseClientTransport::connect_with_headers(url, map)
        .await
        .expect("SSE stream opens");
    ().serve(transport)
        .await
        .expect("MCP client connects over /sse")
}

/// The outcome of one tool call, parsed.
#[derive(Debug, Clone)]
pub struct ToolOutcome {
    pub is_error: bool,
    pub json: Value,
    pub text: String,
}

impl ToolOutcome {
    pub fn ok(&self) -> &Value {
        assert!(!self.is_error, "expected success, got error: {}", self.text);
        &self.json
    }

    pub fn err(&self) -> &Value {
        assert!(
            self.is_error,
            "expected an error, got success: {}",
            self.text
        );
        &self.json
    }
}

pub fn outcome(result: CallToolResult) -> ToolOutcome {
    let read = mcp_coord::mcp::respond::read_back(&result);
    ToolOutcome {
        is_error: read.is_error,
        json: read.json.unwrap_or(Value::Null),
        text: read.text,
    }
}

/// Calls a tool with JSON arguments (`json!({...})`).
pub async fn call(client: &Client, tool: &str, args: Value) -> ToolOutcome {
    let mut params = CallToolRequestParams::new(tool.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    let result = client
        .call_tool(params)
        .await
        .unwrap_or_else(|e| panic!("{tool} call failed: {e}"));
    outcome(result)
}
