//! The CLI's connection to the running daemon: rmcp's Streamable HTTP client on `/mcp`,
//! tools called by name (the CLI never duplicates service logic).

use std::collections::HashMap;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RunningService, ServiceError as RmcpError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde::Serialize;
use serde_json::Value;

use super::CliError;
use crate::mcp::identity::{CREDENTIAL_HEADER, SESSION_HEADER};

/// How long the MCP handshake may take before the daemon counts as unreachable (a hung
/// daemon must not hang the CLI).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One MCP connection to the daemon, acting as one session.
pub struct Daemon {
    client: RunningService<RoleClient, ()>,
    base: String,
    session: String,
    /// The session's credential (issue 16), presented on the connection.
    credential: Option<String>,
    /// The bearer token sent ([`bearer`], or the admin token for `token …`).
    bearer: Option<String>,
}

/// The bearer token of this invocation ([`super::Global::bearer`]), set once by
/// [`super::main`] before any request; every request to the daemon sends it.
static BEARER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Sets the invocation's bearer token (the first call wins).
pub fn use_bearer(token: Option<String>) {
    let _ = BEARER.set(token);
}

/// The bearer token every request sends: `--token` / `MCP_COORD_TOKEN`, or the token file;
/// read from the environment when [`use_bearer`] was never called (library use).
pub fn bearer() -> Option<String> {
    BEARER
        .get_or_init(|| {
            std::env::var("MCP_COORD_TOKEN")
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        })
        .clone()
}

/// `request` with `Authorization: Bearer …` when this invocation has a token.
pub fn with_bearer(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match bearer() {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// Whether the CLI keeps a credential the daemon issues in its state dir.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// A session later invocations act as again (`--session`, `cli-<user>-<host>`).
    Stored,
    /// A name of this one invocation (`run`'s `<session>.run-<pid>`): kept in memory.
    InMemory,
}

impl Daemon {
    /// Opens an MCP session on `{base}/mcp` bound to `session` (via `X-Coord-Session`),
    /// after proving it may act as it (`POST /session/claim` with the credential it has;
    /// a newly issued one is stored, see [`super::credentials`]).
    pub async fn connect(base: &str, session: &str) -> Result<Self, CliError> {
        Self::connect_keeping(base, session, Keep::Stored).await
    }

    /// [`Daemon::connect`], choosing where a new credential is kept.
    pub async fn connect_keeping(base: &str, session: &str, keep: Keep) -> Result<Self, CliError> {
        let known = match keep {
            Keep::Stored => super::credentials::for_session(base, session),
            Keep::InMemory => None,
        };
        let credential = claim(base, session, known, keep, bearer().as_deref()).await?;
        Self::open(base, session, credential, bearer()).await
    }

    /// Connects as `session` with `bearer` (an admin token): no claim needed.
    pub async fn connect_with_token(
        base: &str,
        session: &str,
        bearer: String,
    ) -> Result<Self, CliError> {
        Self::open(base, session, None, Some(bearer)).await
    }

    /// A new connection as the same session with the same credential (after the daemon
    /// went away).
    pub async fn reconnect(&self) -> Result<Self, CliError> {
        let credential = claim(
            &self.base,
            &self.session,
            self.credential.clone(),
            Keep::InMemory,
            self.bearer.as_deref(),
        )
        .await?;
        Self::open(&self.base, &self.session, credential, self.bearer.clone()).await
    }

    async fn open(
        base: &str,
        session: &str,
        credential: Option<String>,
        bearer: Option<String>,
    ) -> Result<Self, CliError> {
        let mut headers = HashMap::new();
        let value = http::HeaderValue::from_str(session).map_err(|_| {
            CliError::Usage(format!(
                "session name {session:?} is not a valid header value"
            ))
        })?;
        headers.insert(http::HeaderName::from_static(SESSION_HEADER), value);
        if let Some(c) = credential
            .as_deref()
            .and_then(|c| http::HeaderValue::from_str(c).ok())
        {
            headers.insert(http::HeaderName::from_static(CREDENTIAL_HEADER), c);
        }
        if let Some(b) = bearer
            .as_deref()
            .and_then(|b| http::HeaderValue::from_str(&format!("Bearer {b}")).ok())
        {
            headers.insert(http::header::AUTHORIZATION, b);
        }
        let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp"))
            .custom_headers(headers)
            .reinit_on_expired_session(true);
        let http = crate::cli::http_client::builder()
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| CliError::Failed(format!("cannot build an HTTP client: {e}")))?;
        let transport = StreamableHttpClientTransport::with_client(http, config);
        let client = match tokio::time::timeout(CONNECT_TIMEOUT, ().serve(transport)).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(classify_connect_error(base, e.to_string()).await),
            Err(_) => {
                return Err(CliError::Unreachable {
                    url: base.to_string(),
                    detail: format!("no MCP answer within {}s", CONNECT_TIMEOUT.as_secs()),
                });
            }
        };
        Ok(Self {
            client,
            base: base.to_string(),
            session: session.to_string(),
            credential,
            bearer,
        })
    }

    pub fn session(&self) -> &str {
        &self.session
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Calls `tool` with its argument type (the service's, e.g.
    /// [`crate::service::locks::AcquireLockArgs`]): `Ok(json)` on success,
    /// [`CliError::Refused`] when the tool said no (`isError`), [`CliError::Unreachable`]
    /// when the daemon went away.
    pub async fn call<A: Serialize>(&self, tool: &str, args: &A) -> Result<Value, CliError> {
        let args = serde_json::to_value(args)
            .map_err(|e| CliError::Failed(format!("{tool}: cannot encode the arguments: {e}")))?;
        self.call_value(tool, args).await
    }

    /// Calls a tool that takes no arguments (`health_check`, `end_session`).
    pub async fn call_plain(&self, tool: &str) -> Result<Value, CliError> {
        self.call_value(tool, Value::Null).await
    }

    async fn call_value(&self, tool: &str, args: Value) -> Result<Value, CliError> {
        let mut params = CallToolRequestParams::new(tool.to_string());
        if let Value::Object(map) = args {
            params = params.with_arguments(map);
        }
        match self.client.call_tool(params).await {
            Ok(result) => tool_result(result),
            Err(e) => Err(self.call_error(tool, e).await),
        }
    }

    async fn call_error(&self, tool: &str, e: RmcpError) -> CliError {
        match &e {
            RmcpError::McpError(data) => {
                let text = data.message.to_string();
                if text.contains("tool not found")
                    || text.contains("not found") && text.contains(tool)
                {
                    CliError::Failed(format!(
                        "the daemon at {} has no tool `{tool}` (an older version?); \
                         update mcp-coord and restart the daemon",
                        self.base
                    ))
                } else {
                    CliError::Failed(format!("{tool}: {text}"))
                }
            }
            _ => classify_connect_error(&self.base, format!("{tool}: {e}")).await,
        }
    }

    /// Ends the MCP session (DELETE), so the daemon frees it at once.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.client.cancel()).await;
    }
}

/// `POST /session/claim`: may this CLI act as `session` with `known`? Returns the credential
/// to present (a newly issued one, stored when `keep` says so). A refusal is the daemon's
/// sentence (the session is active elsewhere).
async fn claim(
    base: &str,
    session: &str,
    known: Option<String>,
    keep: Keep,
    bearer: Option<&str>,
) -> Result<Option<String>, CliError> {
    let http = crate::cli::http_client::builder()
        .timeout(CONNECT_TIMEOUT)
        .connect_timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| CliError::Failed(format!("cannot build an HTTP client: {e}")))?;
    let mut request = http
        .post(format!("{base}/session/claim"))
        .json(&serde_json::json!({ "session": session }));
    if let Some(c) = &known {
        request = request.header(CREDENTIAL_HEADER, c);
    }
    if let Some(b) = bearer {
        request = request.bearer_auth(b);
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Err(request_failed(base, &e)),
    };
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if status == reqwest::StatusCode::NOT_FOUND {
        // A daemon from before session claims: nothing to prove.
        return Ok(None);
    }
    if !status.is_success() {
        let message = answer
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("POST /session/claim answered {status}"));
        return Err(CliError::Refused {
            message,
            json: answer,
        });
    }
    match answer.get("credential").and_then(Value::as_str) {
        Some(issued) => {
            if keep == Keep::Stored
                && let Err(e) = super::credentials::save(
                    base,
                    super::credentials::Kind::Session,
                    session,
                    issued,
                )
            {
                eprintln!(
                    "mcp-coord: warning: cannot store the credential of session {session} in {}: {e}",
                    super::credentials::dir().display()
                );
            }
            Ok(Some(issued.to_string()))
        }
        None => Ok(known),
    }
}

/// A CLI's unsigned number (seconds, a count) as the tools take it; absurdly large values
/// saturate and the daemon clamps them to its maximum.
pub fn int_arg(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Success: the structured content (or the text parsed as JSON). Refusal: the message.
fn tool_result(result: CallToolResult) -> Result<Value, CliError> {
    let read = crate::mcp::respond::read_back(&result);
    let text = read.text;
    let json = read.json.unwrap_or_else(|| Value::String(text.clone()));
    if read.is_error {
        let message = json
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or(text);
        Err(CliError::Refused { message, json })
    } else {
        Ok(json)
    }
}

/// After a failed request: is the daemon down (nothing answers `/health`) or did it answer
/// and refuse something?
async fn classify_connect_error(base: &str, detail: String) -> CliError {
    let probe = crate::cli::http_client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .ok();
    let answer = match probe {
        Some(c) => c.get(format!("{base}/health")).send().await,
        None => return CliError::Failed(detail),
    };
    match answer {
        Ok(_) => CliError::Failed(detail),
        Err(e) => request_failed(base, &e),
    }
}

/// A request to the daemon that got no answer: nothing listens ([`CliError::Unreachable`]),
/// or an https:// daemon whose certificate this machine does not trust (what to pass then).
pub fn request_failed(base: &str, e: &reqwest::Error) -> CliError {
    let detail = root_cause(e);
    match super::http_client::untrusted_certificate(base, &detail) {
        Some(sentence) => CliError::Failed(sentence),
        None => CliError::Unreachable {
            url: base.to_string(),
            detail,
        },
    }
}

/// The innermost error ("Connection refused (os error 111)"), which is what a person needs.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
