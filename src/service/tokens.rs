//! Bearer tokens (issue 16 Must 2): create, list, revoke, and the lookup every request with
//! `Authorization: Bearer …` makes. A token is `mcpc_` + 64 hex digits; the store keeps its
//! SHA-256 with the role and session patterns it carries ([`crate::store::TokenStore`]).
//!
//! The daemon's own admin credential (the bootstrap token) is made at each start and written
//! to `admin.token` in its state dir (0600): the CLI reads it there for `mcp-coord token …`,
//! so creating the first token needs nothing but access to that file. It is kept in memory
//! only (its hash), so each daemon has its own and a restart replaces it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::claims::new_secret;
use super::{Coordinator, ServiceError, audit};
use crate::domain::auth::{self, Principal, Role};
use crate::domain::credential;
use crate::store::tokens::TokenRecord;

/// Bearer tokens start with this.
pub const TOKEN_PREFIX: &str = "mcpc_";
/// The `token_id` of the daemon's own admin credential.
pub const BOOTSTRAP_ID: &str = "bootstrap";
/// The file in the state dir that holds it.
pub const ADMIN_FILE: &str = "admin.token";

/// `token_create`: a new token.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateTokenArgs {
    /// admin, agent or observer.
    pub role: String,
    /// Session-name patterns the token may act as (`child_web_*`); none = any.
    #[serde(default)]
    pub sessions: Option<Vec<String>>,
    /// A note for people (who it is for).
    #[serde(default)]
    pub label: Option<String>,
}

/// The new token: `token` is shown once and never again.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CreatedToken {
    pub token: String,
    pub id: String,
    pub role: Role,
    pub sessions: Vec<String>,
    pub label: Option<String>,
}

/// A token as `token_list` shows it (no secret, no hash).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TokenView {
    pub id: String,
    pub role: Role,
    pub sessions: Vec<String>,
    pub label: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

/// `token_revoke`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RevokeTokenArgs {
    /// The token's id (`tok_…`, from token_list).
    pub id: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Revoked {
    pub id: String,
    pub revoked: bool,
}

/// Writes a fresh bootstrap admin token to `dir/admin.token` (0600) and returns its hash.
pub fn write_bootstrap(dir: &Path) -> std::io::Result<String> {
    let secret = new_secret(TOKEN_PREFIX).map_err(|e| std::io::Error::other(e.message))?;
    write_secret_file(dir, ADMIN_FILE, &secret)?;
    Ok(credential::hash(&secret))
}

impl Coordinator {
    /// The principal `bearer` stands for; `Ok(None)` when it is no (or a revoked) token.
    pub async fn authenticate(&self, bearer: &str) -> Result<Option<Principal>, ServiceError> {
        if !bearer.trim().starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        self.authenticate_hash(&credential::hash(bearer)).await
    }

    /// The principal of the token whose hash is `hash` (a dashboard login keeps only the
    /// hash, so a revoked token ends its logins at their next request).
    pub async fn authenticate_hash(&self, hash: &str) -> Result<Option<Principal>, ServiceError> {
        if self.bootstrap_hash() == Some(hash) {
            return Ok(Some(Principal {
                token_id: Some(BOOTSTRAP_ID.into()),
                role: Role::Admin,
                session_patterns: Vec::new(),
            }));
        }
        Ok(self.store().token_by_hash(hash).await?.map(|t| Principal {
            token_id: Some(t.id),
            role: t.role,
            session_patterns: t.sessions,
        }))
    }

    pub async fn create_token(&self, args: CreateTokenArgs) -> Result<CreatedToken, ServiceError> {
        let role = Role::parse(&args.role).map_err(ServiceError::invalid)?;
        let sessions: Vec<String> = args
            .sessions
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if sessions.len() > 32 {
            return Err(ServiceError::invalid(
                "at most 32 session patterns per token",
            ));
        }
        for p in &sessions {
            auth::check_pattern(p).map_err(ServiceError::invalid)?;
        }
        let label = args
            .label
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty());
        if let Some(l) = &label {
            crate::domain::session::check_text("label", l).map_err(ServiceError::invalid)?;
        }
        let token = new_secret(TOKEN_PREFIX)?;
        let id = format!("tok_{}", &credential::hash(&token)[..12]);
        let record = TokenRecord {
            id: id.clone(),
            hash: credential::hash(&token),
            role,
            sessions: sessions.clone(),
            label: label.clone(),
            created_at_ms: self.store().now_ms().await?,
        };
        self.store().put_token(&record).await?;
        tracing::info!(token_id = %id, %role, ?sessions, "token created");
        self.audit().record(
            audit::AuditRecord::of("token_created", audit::OK)
                .target(id.as_str())
                .detail(role.to_string()),
        );
        Ok(CreatedToken {
            token,
            id,
            role,
            sessions,
            label,
        })
    }

    pub async fn list_tokens(&self) -> Result<TokenList, ServiceError> {
        let tokens = self
            .store()
            .list_tokens()
            .await?
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                role: t.role,
                sessions: t.sessions,
                label: t.label,
                created_at_ms: t.created_at_ms,
            })
            .collect();
        Ok(TokenList { tokens })
    }

    pub async fn revoke_token(&self, args: RevokeTokenArgs) -> Result<Revoked, ServiceError> {
        let id = args.id.trim().to_string();
        if !self.store().revoke_token(&id).await? {
            return Err(ServiceError::not_found(format!(
                "no token {id}; token_list shows the ids (tok_…)"
            ))
            .with_details(json!({ "id": id })));
        }
        tracing::info!(token_id = %id, "token revoked");
        self.audit()
            .record(audit::AuditRecord::of("token_revoked", audit::OK).target(id.as_str()));
        Ok(Revoked { id, revoked: true })
    }
}

/// Writes a secret to `dir/name` readable by this user only: the directory is created 0700,
/// the file written 0600 under a temporary name, synced and renamed over the old one, so a
/// reader never sees half a secret. Shared by the bootstrap admin token and the CLI's and
/// hooks' session credentials.
pub fn write_secret_file(dir: &Path, name: &str, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(secret.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))
}
