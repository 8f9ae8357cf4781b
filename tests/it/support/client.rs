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
    try_connect_http_with(reqwest::Client::new(), url, headers).await
}

/// [`try_connect_http`] over `http` (a client that trusts a test CA, say).
pub async fn try_connect_http_with(
    http: reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<Client> {
    let mut map = HashMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes())?,
            http::HeaderValue::from_str(v)?,
        );
    }
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string()).custom_headers(map);
    let transport = StreamableHttpClientTransport::with_client(http, config);
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

/// A credential for session `name` from `POST /session/claim` (as the CLI gets one): the
/// name must be free, or not active, or `current` must be its credential. Tests that act
/// as one session from several connections (a reconnect, a second client) present it in
/// `X-Coord-Credential`.
pub async fn test_credential(base: &str, name: &str, current: Option<&str>) -> String {
    let (status, answer) = claim_session(base, name, current).await;
    assert_eq!(status, 200, "claim of {name} refused: {answer}");
    let credential = answer["credential"]
        .as_str()
        .map(str::to_string)
        .or_else(|| current.map(str::to_string))
        .expect("a credential");
    HOOK_CREDENTIALS
        .lock()
        .insert((base.to_string(), name.to_string()), credential.clone());
    credential
}

/// `POST /session/claim` for `name`: (status, answer).
pub async fn claim_session(base: &str, name: &str, credential: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/session/claim"))
        .json(&serde_json::json!({ "session": name }));
    if let Some(c) = credential {
        request = request.header("X-Coord-Credential", c);
    }
    let r = request.send().await.expect("daemon answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Session credentials the hook helper got, by (daemon, session name).
static HOOK_CREDENTIALS: std::sync::LazyLock<
    parking_lot::Mutex<HashMap<(String, String), String>>,
> = std::sync::LazyLock::new(Default::default);

/// POSTs a hook event to `/hooks/claude` the way `mcp-coord hook` does: with the session's
/// credential when one was issued before (asking for a new one otherwise), and with the
/// issued credential taken out of the answer. Returns (status, answer).
pub async fn post_hook(base: &str, body: &Value) -> (u16, Value) {
    let mut body = body.clone();
    let name = body["coord"]["session"]
        .as_str()
        .or(body["session_id"].as_str())
        .unwrap_or_default()
        .to_string();
    let key = (base.to_string(), name);
    if !body["coord"].is_object() {
        body["coord"] = serde_json::json!({});
    }
    body["coord"]["want_credential"] = Value::Bool(true);
    if let Some(c) = HOOK_CREDENTIALS.lock().get(&key) {
        body["coord"]["credential"] = Value::String(c.clone());
    }
    let r = reqwest::Client::new()
        .post(format!("{base}/hooks/claude"))
        .json(&body)
        .send()
        .await
        .expect("daemon answers");
    let status = r.status().as_u16();
    let mut answer: Value = r.json().await.unwrap_or(Value::Null);
    if let Some(issued) = answer
        .as_object_mut()
        .and_then(|m| m.remove("coord"))
        .and_then(|c| c["credential"].as_str().map(str::to_string))
    {
        HOOK_CREDENTIALS.lock().insert(key, issued);
    }
    (status, answer)
}

/// The credential [`post_hook`] or [`test_credential`] got for `session` on `base`.
pub fn hook_credential(base: &str, session: &str) -> Option<String> {
    HOOK_CREDENTIALS
        .lock()
        .get(&(base.to_string(), session.to_string()))
        .cloned()
}

/// Connects over `/mcp` as session `name` with its credential (got once per daemon and
/// name, then reused): a client that comes back as the same session — after a restart, or
/// from a second connection — proves it is that session (issue 16).
pub async fn try_connect_as(base: &str, name: &str) -> anyhow::Result<Client> {
    let credential = match hook_credential(base, name) {
        Some(c) => c,
        None => test_credential(base, name, None).await,
    };
    try_connect_http(
        &format!("{base}/mcp"),
        &[
            ("X-Coord-Session", name),
            ("X-Coord-Credential", &credential),
        ],
    )
    .await
}

/// A daemon restarted on another port over the same store knows the same credentials: the
/// cached ones of `from` are used for `to` too.
pub fn carry_credentials(from: &str, to: &str) {
    let mut map = HOOK_CREDENTIALS.lock();
    let carried: Vec<((String, String), String)> = map
        .iter()
        .filter(|((base, _), _)| base == from)
        .map(|((_, name), c)| ((to.to_string(), name.clone()), c.clone()))
        .collect();
    map.extend(carried);
}
