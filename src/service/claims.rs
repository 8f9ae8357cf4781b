//! Session claims (issue 16): naming a live session is not enough to act as it.
//!
//! Every registration issues the session a credential (a random secret, `mcps_…`); the
//! store keeps only its hash ([`crate::store::ClaimStore`]), so a restarted daemon still
//! recognises it. A front-end that wants to act as a session calls
//! [`Coordinator::claim_session`] with what its connection presented:
//!
//! - the right credential → allowed;
//! - the MCP connection the session is registered to (its server-made id) → allowed;
//! - otherwise, a session that is **active** and has a claim, or is registered to another
//!   MCP connection → refused: someone else is using that name right now;
//! - otherwise (no such session, ended, idle, stale, abandoned, or a session from before
//!   claims) → taken over, as before claims: a new credential is issued and the old one
//!   stops working. An MCP connection taking a name that has no credential yet needs none
//!   (it proves itself by being the connection the session is registered to), so a
//!   connection that only reads writes nothing.
//!
//! Who receives a new credential is the front-end's business, and never the model: the hook
//! command stores it in a private file, the CLI under the user's state dir, `create_session`
//! puts it in the child's environment, an MCP connection keeps the proof in memory.
//!
//! A bearer token limited to session-name patterns (`child_web_*`) is refused every other
//! name here first, whatever it presents.
//!
//! What this protects against, and what not: README "Security".

use serde_json::json;

use super::audit;
use super::{Caller, Coordinator, ServiceError};
use crate::domain::credential::{self, SECRET_BYTES, SESSION_PREFIX};
use crate::domain::tiers::Tier;
use crate::store::audit::AuditRecord;

/// How often a claim is tried when concurrent writers keep replacing it.
const ATTEMPTS: usize = 8;

/// The error code of a refused claim (HTTP 403).
pub const REFUSED: &str = "unauthorized_session";

/// Why a caller may act as its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimHow {
    /// It presented the session's credential.
    Credential,
    /// It is the MCP connection the session is registered to.
    Connection,
    /// The name was free (no session, or one without a claim): a credential was issued.
    New,
    /// The session was not active (idle, stale, abandoned or ended): taken over, with a new
    /// credential; the previous one no longer works.
    TakenOver,
}

/// A successful claim.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub how: ClaimHow,
    /// The session's new credential, when one was issued. Hand it to the caller's
    /// infrastructure (hook file, CLI state, child environment), never to a model.
    pub credential: Option<String>,
}

/// A new random secret with `prefix` (the OS's random source).
pub fn new_secret(prefix: &str) -> Result<String, ServiceError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        ServiceError::new(
            "internal",
            format!("the OS random source failed ({e}); no credential can be issued"),
        )
    })?;
    Ok(credential::format_secret(prefix, &bytes))
}

/// Transports whose connection ids the daemon made itself (a client cannot pick one).
fn server_made_connection(transport: &str) -> bool {
    matches!(transport, "sse" | "streamable-http")
}

impl Coordinator {
    /// May `caller` act as `caller.session`, given the credential its connection presented?
    /// See the module comment for the rule. Store calls: one read of the claim, one of the
    /// session unless the credential matched, one compare-and-set when a credential is issued.
    pub async fn claim_session(
        &self,
        caller: &Caller,
        presented: Option<&str>,
    ) -> Result<Claimed, ServiceError> {
        let name = &caller.session;
        if let Err(outside) = caller.principal.check_session(name) {
            self.audit_claim(
                caller,
                audit::REFUSED,
                "outside the token's session patterns",
            );
            return Err(ServiceError::forbidden(outside));
        }
        let presented = credential::presented(presented).map(credential::hash);
        for _ in 0..ATTEMPTS {
            let stored = self.store().claim_hash(name).await?;
            if stored.is_some() && presented == stored {
                return Ok(Claimed {
                    how: ClaimHow::Credential,
                    credential: None,
                });
            }
            let entry = self.store().get_session(name).await?.filter(|e| e.live);
            let mcp_caller = server_made_connection(caller.transport);
            let how = match &entry {
                None => ClaimHow::New,
                Some(e) if mcp_caller && e.record.connection_id == caller.connection_id => {
                    return Ok(Claimed {
                        how: ClaimHow::Connection,
                        credential: None,
                    });
                }
                Some(e) => {
                    let held = stored.is_some() || server_made_connection(&e.record.transport);
                    let now = self.store().now_ms().await?;
                    let age_ms = now - e.last_seen_ms;
                    if held && self.tiers().tier_of(age_ms) == Tier::Active {
                        self.audit_claim(caller, audit::REFUSED, "session active, not proven");
                        return Err(self.claim_refused(name, age_ms, presented.is_some()));
                    }
                    if stored.is_some() {
                        ClaimHow::TakenOver
                    } else {
                        ClaimHow::New
                    }
                }
            };
            if mcp_caller && stored.is_none() {
                return Ok(Claimed {
                    how,
                    credential: None,
                });
            }
            let secret = new_secret(SESSION_PREFIX)?;
            if self
                .store()
                .swap_claim(name, stored.as_deref(), &credential::hash(&secret))
                .await?
            {
                if how == ClaimHow::TakenOver {
                    self.audit_claim(caller, audit::OK, "taken over; old credential revoked");
                    tracing::info!(session = %name, connection = %caller.connection_id, transport = caller.transport,
                        "session taken over (it was not active); its old credential no longer works");
                }
                return Ok(Claimed {
                    how,
                    credential: Some(secret),
                });
            }
        }
        Err(ServiceError::new(
            "conflict",
            format!(
                "the claim on session {name} kept changing under concurrent takeovers; try again"
            ),
        ))
    }

    /// May `caller` act as `caller.session` without ever being issued a credential? Only
    /// with the session's current credential: for a helper of an agent (its waiting hook)
    /// that runs beside the hook that registers the session. Such a helper must never take
    /// the name — it would replace the credential the registering hook is about to store,
    /// and lock the agent's own hooks out — so until that credential is on file it is
    /// refused (403) and tries again.
    pub async fn prove_session(
        &self,
        caller: &Caller,
        presented: Option<&str>,
    ) -> Result<(), ServiceError> {
        let name = &caller.session;
        if let Err(outside) = caller.principal.check_session(name) {
            return Err(ServiceError::forbidden(outside));
        }
        let presented = credential::presented(presented).map(credential::hash);
        let stored = self.store().claim_hash(name).await?;
        if stored.is_some() && presented == stored {
            return Ok(());
        }
        let why = match (stored.is_some(), presented.is_some()) {
            (false, _) => {
                "it has no credential yet (its SessionStart hook registers it and stores one)"
            }
            (true, false) => {
                "this request presented no credential (the hook's credential file is not written yet)"
            }
            (true, true) => "the credential presented is not its current one",
        };
        Err(ServiceError::new(
            REFUSED,
            format!(
                "session {name} cannot be waited on yet: {why}. This request only proves a session \
                 and never takes one over; the waiting hook tries again"
            ),
        ))
    }

    /// Issues `session` a new credential unconditionally (the previous one stops working):
    /// for a session the daemon itself just registered on someone's behalf (`create_session`'s
    /// child).
    pub async fn issue_credential(&self, session: &str) -> Result<String, ServiceError> {
        for _ in 0..ATTEMPTS {
            let stored = self.store().claim_hash(session).await?;
            let secret = new_secret(SESSION_PREFIX)?;
            if self
                .store()
                .swap_claim(session, stored.as_deref(), &credential::hash(&secret))
                .await?
            {
                return Ok(secret);
            }
        }
        Err(ServiceError::new(
            "conflict",
            format!("the claim on session {session} kept changing; try again"),
        ))
    }

    /// An audit entry `session_claim` about `caller.session`, by `caller` (its connection).
    fn audit_claim(&self, caller: &Caller, outcome: &str, detail: &str) {
        let mut entry = AuditRecord::of("session_claim", outcome)
            .session(caller.session.clone())
            .detail(detail);
        entry.by = Some(audit::actor(caller, None));
        self.audit().record(entry);
    }

    fn claim_refused(&self, name: &str, age_ms: i64, wrong_credential: bool) -> ServiceError {
        let active = self.settings().sessions.active_seconds;
        let what = if wrong_credential {
            "the credential this connection presented is not its current one"
        } else {
            "this connection presented no credential for it"
        };
        ServiceError::new(
            REFUSED,
            format!(
                "session {name} is in use (tier active, last activity {:.1} s ago) and {what}. \
                 A live session can only be acted as with the credential issued when it registered \
                 (header X-Coord-Credential; mcp-coord's hooks, create_session and the CLI supply it) \
                 or an admin token. Use another session name, end it from the connection that uses it (end_session), \
                 or wait until {name} is idle (no activity for sessions.active_seconds = {active} s): \
                 then it may be taken over",
                age_ms as f64 / 1000.0
            ),
        )
        .with_details(json!({
            "session": name,
            "tier": "active",
            "seconds_since_seen": age_ms as f64 / 1000.0,
            "send": "X-Coord-Credential",
        }))
    }
}
