//! Who is calling: always taken from the connection (or its token), never from an argument.

use serde::Serialize;

use crate::domain::auth::Principal;

/// The identity a front-end hands to the service layer with every call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// The session this connection acts as.
    pub session: String,
    /// The connection itself (an SSE sessionId or a Streamable-HTTP session id).
    pub connection_id: String,
    /// `sse`, `streamable-http`, `hook` or `cli`.
    pub transport: &'static str,
    /// Who the request authenticated as (its bearer token's id, role and session patterns;
    /// [`Principal::local`] without a token): the rate limits and the audit log key on it.
    pub principal: Principal,
}

impl Caller {
    /// The token id the caller authenticated with, if any (never the secret).
    pub fn token_id(&self) -> Option<&str> {
        self.principal.token_id.as_deref()
    }
}
