//! The dashboard's admin actions: `POST /dashboard/admin/release-lock`, `/end-session`,
//! `/send-message`, and `GET /dashboard/admin/message` (one message body, for the activity
//! feed). Thin: each parses the one argument type its service operation takes (the MCP tools
//! take the same), proves the viewer an admin ([`Admin::new`], 403 with the role needed
//! otherwise) and calls the operation, which audits it.
//!
//! The viewer comes from the request's [`Principal`] (its token or login cookie, see
//! `http/auth.rs`), never from the body. It acts as the session `dashboard` on connection
//! `dashboard:<token id>`: messages it sends come from `dashboard`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::DashboardState;
use crate::domain::auth::Principal;
use crate::http::login::csrf_refusal;
use crate::service::admin::{Admin, AdminEndSessionArgs, AdminInboxArgs, AdminReleaseLockArgs};
use crate::service::audit;
use crate::service::locks::WaitContext;
use crate::service::messages::SendArgs;
use crate::service::{Caller, ServiceError};

/// The session name the dashboard acts as.
pub const DASHBOARD_SESSION: &str = "dashboard";

pub fn routes() -> Router<DashboardState> {
    Router::new()
        .route("/dashboard/admin/release-lock", post(release_lock))
        .route("/dashboard/admin/end-session", post(end_session))
        .route("/dashboard/admin/send-message", post(send_message))
        .route("/dashboard/admin/message", get(message))
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": code, "message": message.into() })),
    )
        .into_response()
}

/// The admin behind this request, or the 403 that says what role is needed.
fn admin(principal: Principal) -> Result<Admin, Box<Response>> {
    let caller = Caller {
        session: DASHBOARD_SESSION.into(),
        connection_id: format!(
            "dashboard:{}",
            principal.token_id.as_deref().unwrap_or("local")
        ),
        transport: "dashboard",
        principal: principal.clone(),
    };
    Admin::new(caller, principal).map_err(|e| Box::new(answer::<()>(Err(e))))
}

/// The body as `T` (a POST must be JSON or carry X-Coord-Dashboard; see `http/login.rs`).
fn body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Box<Response>> {
    if let Some(r) = csrf_refusal(headers) {
        return Err(Box::new(r));
    }
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            format!("the body must be a JSON object of this action's arguments: {e}"),
        ))
    })
}

/// The service's answer as HTTP: 200 with its JSON, or its error with a fitting status.
fn answer<T: Serialize>(result: Result<T, ServiceError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => {
            let status = match e.code {
                "forbidden" => StatusCode::FORBIDDEN,
                "invalid_argument" => StatusCode::BAD_REQUEST,
                "not_found" | "session_not_found" => StatusCode::NOT_FOUND,
                "store_unavailable" | "internal" => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::CONFLICT,
            };
            (
                status,
                Json(json!({ "error": e.code, "message": e.message })),
            )
                .into_response()
        }
    }
}

/// Parses, proves the admin, and runs `op` with the audit's `by` set to the dashboard.
macro_rules! admin_action {
    ($principal:expr, $args:expr, |$admin:ident, $a:ident| $op:expr) => {{
        let token = $principal.token_id.clone();
        let $admin = match admin($principal) {
            Ok(a) => a,
            Err(r) => return *r,
        };
        let $a = match $args {
            Ok(a) => a,
            Err(r) => return *r,
        };
        let mut by = audit::actor($admin.caller(), None);
        by.token = token;
        answer(audit::acting_as(by, $op).await)
    }};
}

/// A POST handler `$name` taking `$args` as its JSON body.
macro_rules! admin_post {
    ($name:ident, $args:ty, |$coord:ident, $admin:ident, $a:ident| $op:expr) => {
        async fn $name(
            State(s): State<DashboardState>,
            Extension(principal): Extension<Principal>,
            headers: HeaderMap,
            raw: Bytes,
        ) -> Response {
            let $coord = &s.coord;
            admin_action!(principal, body::<$args>(&headers, &raw), |$admin, $a| $op)
        }
    };
}

admin_post!(release_lock, AdminReleaseLockArgs, |coord, admin, args| {
    coord.admin_release_lock(&admin, args)
});
admin_post!(end_session, AdminEndSessionArgs, |coord, admin, args| {
    coord.admin_end_session(&admin, args)
});
// Over the message service every front-end uses, as the session `dashboard`.
admin_post!(send_message, SendArgs, |coord, admin, args| {
    coord.send_message(admin.caller(), args, WaitContext::default())
});

#[derive(serde::Deserialize)]
struct MessageQuery {
    /// The recipient whose inbox holds it.
    to: String,
    /// Its id (`message_id` of the `message_sent` event).
    id: String,
}

/// One message's body for the activity feed: a peek into the recipient's inbox (audited as
/// `admin_read_inbox`). Once the recipient has read it, the inbox no longer holds it.
async fn message(
    State(s): State<DashboardState>,
    Extension(principal): Extension<Principal>,
    Query(q): Query<MessageQuery>,
) -> Response {
    admin_action!(
        principal,
        Ok::<_, Box<Response>>(AdminInboxArgs {
            session: q.to,
            limit: Some(200),
            kinds: None,
        }),
        |admin, args| async {
            let inbox = s.coord.admin_read_inbox(&admin, args).await?;
            let found = inbox.messages.into_iter().find(|m| m.id == q.id);
            Ok::<_, ServiceError>(json!({ "id": q.id, "message": found }))
        }
    )
}
