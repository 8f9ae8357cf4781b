//! The identity of one MCP connection.
//!
//! Bound once, by the first of: `?session=NAME` / `X-Coord-Session: NAME` on the connecting
//! request, `register_session(name=…)`, or a Claude Code hook's bind call. Until then the
//! connection acts under a generated name that no other connection shares.

use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::domain::auth::Principal;
use crate::domain::session_name;
use crate::mcp::delivery::HungUp;
use crate::service::Caller;
use crate::service::connections::ConnectionGuard;

/// Header that binds a connection to a named session (works with `${VAR}` in `.mcp.json`).
pub const SESSION_HEADER: &str = "x-coord-session";
/// URL query parameter that does the same.
pub const SESSION_QUERY: &str = "session";
/// Header with the session's credential: proof that the connection is the session it names
/// (`X-Coord-Credential: ${COORD_CREDENTIAL:-}` in `.mcp.json`; see `service::claims`).
pub const CREDENTIAL_HEADER: &str = "x-coord-credential";

#[derive(Debug)]
pub struct ConnectionIdentity {
    connection_id: String,
    transport: &'static str,
    bound: RwLock<Binding>,
    /// The session last marked active by this connection, and when: the implicit heartbeat
    /// writes at most once per debounce interval, not on every tool call.
    last_touch: Mutex<Option<(String, Instant)>>,
    _open: ConnectionGuard,
    /// Asks the transport whether its session (given its id) is still open; see
    /// [`ConnectionIdentity::is_open`].
    open_check: Option<DebugOpaque<OpenCheck>>,
    /// The transport's own session id (Streamable HTTP's `Mcp-Session-Id`), learnt from the
    /// first request that carries it.
    transport_session: std::sync::OnceLock<String>,
    /// Legacy SSE: whether the client hung up the `GET /sse` stream, where every answer goes.
    stream_hung_up: Option<HungUp>,
    /// The credential presented when the connection opened (legacy SSE's `GET /sse`);
    /// Streamable HTTP presents it on every request instead.
    opening_credential: Option<String>,
    /// The session this connection has proven it may act as (see `service::claims`); the
    /// check is not repeated for it.
    proven: RwLock<Option<String>>,
    /// The principal of this connection's requests (their bearer token), noted at each
    /// tool call; one connection keeps one token ([`ConnectionIdentity::note_principal`]).
    principal: RwLock<Option<Principal>>,
}

/// Answers "is the transport session with this id still open?" without blocking.
pub type OpenCheck = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Holds a closure in a `Debug` struct.
struct DebugOpaque<T>(T);

impl<T> std::fmt::Debug for DebugOpaque<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<fn>")
    }
}

#[derive(Debug, Clone)]
struct Binding {
    session: String,
    /// True once the name was chosen on purpose (URL, header, register, hook) rather than
    /// generated.
    explicit: bool,
}

impl ConnectionIdentity {
    /// A new connection; `requested` is the name from the URL or header, already validated.
    pub fn new(
        connection_id: String,
        transport: &'static str,
        requested: Option<String>,
        open: ConnectionGuard,
    ) -> Self {
        let binding = match requested {
            Some(session) => Binding {
                session,
                explicit: true,
            },
            None => Binding {
                session: session_name::generate(),
                explicit: false,
            },
        };
        Self {
            connection_id,
            transport,
            bound: RwLock::new(binding),
            last_touch: Mutex::new(None),
            _open: open,
            open_check: None,
            transport_session: std::sync::OnceLock::new(),
            stream_hung_up: None,
            opening_credential: None,
            proven: RwLock::new(None),
            principal: RwLock::new(None),
        }
    }

    /// Notes the principal of this connection's current request. Refused when it names
    /// another token than the connection's earlier requests did: what a connection did is
    /// audited and rate-limited as one token's.
    pub fn note_principal(&self, principal: &Principal) -> Result<(), String> {
        let mut current = self.principal.write();
        let refused = current
            .as_ref()
            .filter(|known| known.token_id != principal.token_id)
            .map(|known| {
                format!(
                    "this connection authenticated with {}, and this request with {}; one \
                     connection keeps one token: open a new connection to use another",
                    token_name(known),
                    token_name(principal)
                )
            });
        if refused.is_none() {
            *current = Some(principal.clone());
        }
        drop(current);
        refused.map_or(Ok(()), Err)
    }

    /// The credential the opening request presented (legacy SSE).
    pub fn with_opening_credential(mut self, credential: Option<String>) -> Self {
        self.opening_credential = credential;
        self
    }

    /// The credential this connection presents: the request's `X-Coord-Credential`, else
    /// the one its stream opened with.
    pub fn presented_credential(&self, parts: Option<&http::request::Parts>) -> Option<String> {
        parts
            .and_then(credential_header)
            .or_else(|| self.opening_credential.clone())
    }

    /// True when this connection proved it may act as `session`.
    pub fn is_proven(&self, session: &str) -> bool {
        self.proven.read().as_deref() == Some(session)
    }

    /// Records that this connection may act as `session` (a claim succeeded).
    pub fn set_proven(&self, session: &str) {
        *self.proven.write() = Some(session.to_string());
    }

    /// Legacy SSE: answers go out on the stream, so a client that hung up there
    /// cannot receive them (asked by [`ConnectionIdentity::is_open`]).
    pub fn with_stream_hung_up(mut self, probe: Option<HungUp>) -> Self {
        self.stream_hung_up = probe;
        self
    }

    /// Lets [`ConnectionIdentity::is_open`] ask the transport. Streamable HTTP needs it: after
    /// a client's DELETE, rmcp lets in-flight handlers run on for a few seconds, and a lock
    /// waiter must not be granted a lock nobody can receive in that window. (Legacy SSE needs
    /// none: its connection token cancels the request at once.)
    pub fn with_open_check(mut self, check: OpenCheck) -> Self {
        self.open_check = Some(DebugOpaque(check));
        self
    }

    /// Records the transport's session id (first one wins).
    pub fn note_transport_session(&self, id: &str) {
        let _ = self.transport_session.set(id.to_string());
    }

    /// False once the transport says this connection's session is gone, or the client
    /// hung up its SSE stream.
    pub fn is_open(&self) -> bool {
        if self.stream_hung_up.as_ref().is_some_and(HungUp::check) {
            return false;
        }
        match (&self.open_check, self.transport_session.get()) {
            (Some(check), Some(id)) => (check.0)(id),
            _ => true,
        }
    }

    pub fn caller(&self) -> Caller {
        Caller {
            session: self.bound.read().session.clone(),
            connection_id: self.connection_id.clone(),
            transport: self.transport,
            principal: self.principal.read().clone().unwrap_or_default(),
        }
    }

    pub fn session(&self) -> String {
        self.bound.read().session.clone()
    }

    pub fn connection_id(&self) -> &str {
        &self.connection_id
    }

    pub fn transport(&self) -> &'static str {
        self.transport
    }

    pub fn is_explicit(&self) -> bool {
        self.bound.read().explicit
    }

    /// True when the implicit heartbeat of `session` is due (not done within `every`);
    /// records this moment as done. A connection that changed names is always due.
    pub fn touch_due(&self, session: &str, every: Duration) -> bool {
        let mut last = self.last_touch.lock();
        let due = match &*last {
            Some((name, at)) => name != session || at.elapsed() >= every,
            None => true,
        };
        if due {
            *last = Some((session.to_string(), Instant::now()));
        }
        due
    }

    /// Binds the connection to `session`. The service layer decides whether that is allowed
    /// (a name held by another live connection is not); this only records the outcome.
    pub fn bind(&self, session: String) {
        *self.bound.write() = Binding {
            session,
            explicit: true,
        };
    }
}

/// Why the session a request names cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SessionRequestError {
    #[error(
        "the request names session {query:?} in ?session= but {header:?} in X-Coord-Session; \
         send one name, or the same name in both"
    )]
    Conflict { query: String, header: String },
    #[error("the X-Coord-Session header is not valid UTF-8; send a plain-text session name")]
    HeaderNotUtf8,
    #[error("{0}")]
    InvalidName(String),
}

/// The session a request asks for, from `?session=` or `X-Coord-Session` (they must agree).
///
/// An empty value counts as absent: `.mcp.json` expands an unset `${VAR}` to an empty string,
/// and that should mean "no name", not a session called "".
pub fn requested_session(
    parts: &http::request::Parts,
) -> Result<Option<String>, SessionRequestError> {
    let from_query = query_param(parts, SESSION_QUERY).filter(|name| !name.is_empty());
    let from_header = match parts.headers.get(SESSION_HEADER) {
        None => None,
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| SessionRequestError::HeaderNotUtf8)?;
            Some(value.trim().to_owned()).filter(|name| !name.is_empty())
        }
    };
    let name = match (from_query, from_header) {
        (Some(query), Some(header)) if query != header => {
            return Err(SessionRequestError::Conflict { query, header });
        }
        (Some(name), _) | (None, Some(name)) => name,
        (None, None) => return Ok(None),
    };
    session_name::validate(&name).map_err(SessionRequestError::InvalidName)?;
    Ok(Some(name))
}

/// `X-Coord-Credential` of a request, when present and not empty.
pub fn credential_header(parts: &http::request::Parts) -> Option<String> {
    let value = parts.headers.get(CREDENTIAL_HEADER)?.to_str().ok()?;
    crate::domain::credential::presented(Some(value)).map(str::to_string)
}

/// First value of query parameter `key`, percent-decoded; `None` when absent or unparsable.
pub fn query_param(parts: &http::request::Parts, key: &str) -> Option<String> {
    uri_query_param(&parts.uri, key)
}

/// [`query_param`] of a URI. Every request asks for its `?session=`: a query that cannot
/// hold `key` (no `%` to decode and not the key's text) is not parsed at all.
pub fn uri_query_param(uri: &http::Uri, key: &str) -> Option<String> {
    let raw = uri.query()?;
    if !raw.contains('%') && !raw.contains(key) {
        return None;
    }
    let axum::extract::Query(pairs) =
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri).ok()?;
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// How an error names a principal's token.
fn token_name(p: &Principal) -> String {
    match &p.token_id {
        Some(id) => format!("token {id}"),
        None => "no token".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, header: Option<&str>) -> http::request::Parts {
        let mut b = http::Request::builder().uri(uri);
        if let Some(h) = header {
            b = b.header(SESSION_HEADER, h);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn header_or_query_binds() {
        assert_eq!(requested_session(&parts("/sse", None)).unwrap(), None);
        assert_eq!(
            requested_session(&parts("/sse?session=w1", None)).unwrap(),
            Some("w1".into())
        );
        assert_eq!(
            requested_session(&parts("/mcp", Some("w2"))).unwrap(),
            Some("w2".into())
        );
        assert_eq!(
            requested_session(&parts("/sse?x=1&session=a%2Db", None)).unwrap(),
            Some("a-b".into())
        );
        assert_eq!(
            requested_session(&parts("/sse?session=", None)).unwrap(),
            None
        );
    }

    #[test]
    fn bad_or_conflicting_names_are_refused() {
        assert!(requested_session(&parts("/sse?session=a*b", None)).is_err());
        assert!(matches!(
            requested_session(&parts("/sse?session=a", Some("b"))),
            Err(SessionRequestError::Conflict { .. })
        ));
        assert!(requested_session(&parts("/sse?session=%", None)).is_err());
    }
}
