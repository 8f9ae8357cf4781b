//! The dashboard: one page at `/` that shows the whole swarm, live. The page, its script and
//! its style sheet are compiled into the binary (`include_str!`, no build step, no network);
//! `GET /dashboard/state` is its snapshot ([`Coordinator::dashboard_view`]), `/events` its
//! live feed; `GET /dashboard/tasks?project=P` is one project's task board, which the page
//! re-reads when a task event of that project arrives ([`Coordinator::dashboard_tasks`]).
//! The router-wide Origin/Host guard applies to all of it; with auth on, the data routes need
//! a token or the login cookie (`POST /login`, [`login`]) while the page itself loads and
//! shows a login form.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio_util::sync::CancellationToken;

use super::auth::Proof;
use super::login::{self, LoginState};
use crate::domain::auth::Principal;
use crate::service::dashboard::{ActivityLog, Viewer};
use crate::service::{Coordinator, ServiceError};

mod admin;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Scripts and styles only from this origin, no inline code, no framing (clickjacking), and
/// requests only back to the daemon.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

#[derive(Clone)]
struct DashboardState {
    coord: Arc<Coordinator>,
    activity: Arc<ActivityLog>,
}

/// The dashboard's routes (with `/login` and `/logout`); starts the activity log that feeds
/// new pages their history.
pub fn routes(logins: LoginState, shutdown: CancellationToken) -> Router {
    let coord = logins.coord.clone();
    let activity = ActivityLog::start(&coord, shutdown);
    let sign_in = Router::new()
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .layer(axum::extract::DefaultBodyLimit::max(
            login::LOGIN_BODY_BYTES,
        ))
        .with_state(logins);
    Router::new()
        .route("/", get(index))
        .route("/dashboard/app.js", get(script))
        .route("/dashboard/app.css", get(style))
        .route("/dashboard/state", get(state))
        .route("/dashboard/tasks", get(tasks))
        .merge(admin::routes())
        .with_state(DashboardState { coord, activity })
        .merge(sign_in)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The page is part of the binary: after an upgrade the browser must fetch it anew.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

async fn index() -> Response {
    let mut r = asset("text/html; charset=utf-8", INDEX_HTML);
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

async fn state(
    State(s): State<DashboardState>,
    Extension(principal): Extension<Principal>,
    Extension(proof): Extension<Proof>,
) -> Response {
    let viewer = Viewer {
        role: principal.role,
        token_id: principal.token_id,
        logged_in: proof == Proof::LoginCookie,
        auth_required: super::auth::required(&s.coord),
    };
    fresh(s.coord.dashboard_view(&s.activity, viewer).await)
}

#[derive(serde::Deserialize)]
struct TasksQuery {
    project: String,
}

async fn tasks(State(s): State<DashboardState>, Query(q): Query<TasksQuery>) -> Response {
    fresh(s.coord.dashboard_tasks(&q.project).await)
}

/// A data answer: never cached; a refusal keeps its code and sentence.
fn fresh<T: serde::Serialize>(result: Result<T, ServiceError>) -> Response {
    match result {
        Ok(view) => {
            let mut r = Json(view).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            let status = if e.code == "invalid_argument" {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (
                status,
                Json(serde_json::json!({ "error": e.code, "message": e.message })),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole page stays small: it is sent to every browser that opens the daemon.
    #[test]
    fn assets_stay_under_150_kb() {
        let total = INDEX_HTML.len() + APP_JS.len() + APP_CSS.len();
        assert!(total < 150 * 1024, "dashboard assets are {total} bytes");
    }

    #[test]
    fn the_page_loads_only_its_own_assets() {
        assert!(INDEX_HTML.contains("/dashboard/app.js"));
        assert!(INDEX_HTML.contains("/dashboard/app.css"));
        for forbidden in ["http://", "https://", "<script>", "style="] {
            assert!(
                !INDEX_HTML.contains(forbidden),
                "index.html must not contain {forbidden:?} (no CDN, no inline code: the CSP forbids it)"
            );
        }
    }
}
