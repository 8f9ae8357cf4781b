//! The dashboard with auth on (issues 16 and 19), over plain HTTP: the page loads without a
//! token, its data routes and `/events` answer 401; `POST /login` takes a token in the body
//! and sets an HttpOnly SameSite=Strict cookie that holds a reference (not the token), good
//! for the dashboard's routes only; a revoked token or `POST /logout` ends it; POSTs that are
//! neither JSON nor carry `X-Coord-Dashboard` are refused (CSRF).

use mcp_coord::service::tokens::{CreateTokenArgs, RevokeTokenArgs};
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::client::{Client, call, connect_http};
use crate::support::daemon::TestDaemon;

/// A token of `role` made through the service (what `mcp-coord token create` calls).
pub async fn token(d: &TestDaemon, role: &str) -> (String, String) {
    let t = d
        .coord()
        .create_token(CreateTokenArgs {
            role: role.into(),
            ..Default::default()
        })
        .await
        .expect("token created");
    (t.token, t.id)
}

/// Logs in with `token`; returns the `Set-Cookie` header and the answer.
async fn log_in(http: &reqwest::Client, base: &str, token: &str) -> (String, Value) {
    let r = http
        .post(format!("{base}/login"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "login with a valid token");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    (cookie, r.json().await.unwrap())
}

/// `name=value` of a `Set-Cookie` header, as a browser sends it back.
fn sent_back(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

async fn status_of(http: &reqwest::Client, url: &str, cookie: Option<&str>) -> u16 {
    let mut r = http.get(url);
    if let Some(c) = cookie {
        r = r.header("Cookie", c);
    }
    r.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_login_cookie_and_401_without_it() {
    let d = TestDaemon::embedded(|s| s.auth.required = true).await;
    let http = reqwest::Client::new();
    let base = &d.base;
    let data_routes = ["/dashboard/state", "/dashboard/tasks?project=p", "/events"];

    // The page and its assets load; the data does not.
    for path in ["/", "/dashboard/app.js", "/dashboard/app.css"] {
        assert_eq!(
            status_of(&http, &format!("{base}{path}"), None).await,
            200,
            "{path}"
        );
    }
    for path in data_routes {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} without a token");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("log in"),
            "{body}"
        );
    }

    // Login: the token only in the body; a form post without the header is refused (CSRF).
    let (observer, observer_id) = token(&d, "observer").await;
    let form = http
        .post(format!("{base}/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={observer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 403);
    let body: Value = form.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("X-Coord-Dashboard"),
        "{body}"
    );
    let wrong = http
        .post(format!("{base}/login"))
        .json(&json!({ "token": "mcpc_0000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers().get("set-cookie").is_none(),
        "no cookie for a bad token"
    );
    let empty = http
        .post(format!("{base}/login"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);

    let (set_cookie, answer) = log_in(&http, base, &observer).await;
    assert_eq!(answer["role"], "observer");
    assert_eq!(answer["token_id"], observer_id.as_str());
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attr), "{attr} in {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");
    assert!(
        !set_cookie.contains(&observer) && !set_cookie.contains(&observer[5..]),
        "the cookie holds a reference, not the token: {set_cookie}"
    );
    let cookie = sent_back(&set_cookie);

    // The cookie opens the data routes, says who is looking, and nothing else.
    for path in data_routes {
        assert_eq!(
            status_of(&http, &format!("{base}{path}"), Some(&cookie)).await,
            200,
            "{path}"
        );
    }
    let view: Value = http
        .get(format!("{base}/dashboard/state"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        view["viewer"],
        json!({ "role": "observer", "token_id": observer_id, "logged_in": true, "auth_required": true })
    );
    for (method, path) in [("POST", "/mcp"), ("GET", "/sse"), ("GET", "/metrics")] {
        let r = http
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            401,
            "the login cookie is not a token for {path}"
        );
    }

    // Behind https (a reverse proxy says so) the cookie is Secure.
    let r = http
        .post(format!("{base}/login"))
        .header("X-Forwarded-Proto", "https")
        .json(&json!({ "token": observer }))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    // Revoking the token ends its logins at their next request.
    let (agent, agent_id) = token(&d, "agent").await;
    let agent_cookie = sent_back(&log_in(&http, base, &agent).await.0);
    assert_eq!(
        status_of(
            &http,
            &format!("{base}/dashboard/state"),
            Some(&agent_cookie)
        )
        .await,
        200
    );
    d.coord()
        .revoke_token(RevokeTokenArgs { id: agent_id })
        .await
        .unwrap();
    let r = http
        .get(format!("{base}/dashboard/state"))
        .header("Cookie", &agent_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a revoked token's login ends");
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("revoked"),
        "{body}"
    );

    // Logout (JSON, as the page sends it) forgets the login and clears the cookie.
    let out = http
        .post(format!("{base}/logout"))
        .header("Cookie", &cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(out.json::<Value>().await.unwrap()["logged_out"], true);
    assert_eq!(
        status_of(&http, &format!("{base}/dashboard/state"), Some(&cookie)).await,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_auth_the_dashboard_is_local_and_read_only() {
    let d = TestDaemon::embedded(|_| {}).await;
    let view: Value = reqwest::get(format!("{}/dashboard/state", d.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        view["viewer"],
        json!({ "role": "agent", "logged_in": false, "auth_required": false })
    );
}

/// What the page shows about logging in.
const LOGIN_VIEW: &str = r#"
return {
  form: !document.getElementById('login').hidden,
  page: !document.getElementById('main').hidden,
  why: document.getElementById('login-why').textContent,
  error: document.getElementById('login-error').textContent,
  viewer: document.getElementById('viewer').textContent,
  link: document.getElementById('link').dataset.state,
  logout: !document.getElementById('logout').hidden,
  focused: document.activeElement?.id ?? null,
};
"#;

async fn type_token(browser: &Browser, token: &str) {
    use fantoccini::Locator;
    let input = browser
        .client
        .find(Locator::Id("login-token"))
        .await
        .expect("token field");
    input.clear().await.unwrap();
    input.send_keys(token).await.unwrap();
    input.send_keys("\u{E007}").await.unwrap(); // Enter submits the form
}

#[tokio::test]
async fn with_auth_on_the_page_asks_to_log_in_in_a_real_browser() {
    let test = "dashboard_auth::with_auth_on_the_page_asks_to_log_in_in_a_real_browser";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let mut d = TestDaemon::embedded(|s| s.auth.required = true).await;
    let (observer, observer_id) = token(&d, "observer").await;

    browser.client.goto(&d.base).await.expect("page opens");
    let v = browser
        .wait_for("the login form", 20, LOGIN_VIEW, |v| v["form"] == true)
        .await;
    assert_eq!(v["page"], false, "nothing shown before login: {v}");
    assert_eq!(
        v["focused"], "login-token",
        "the token field has the focus: {v}"
    );
    assert!(v["why"].as_str().unwrap().contains("token"), "{v}");

    type_token(&browser, "mcpc_wrong").await;
    let v = browser
        .wait_for("the refusal", 10, LOGIN_VIEW, |v| v["error"] != "")
        .await;
    assert!(v["error"].as_str().unwrap().contains("not valid"), "{v}");
    assert_eq!(v["page"], false);

    type_token(&browser, &observer).await;
    let v = browser
        .wait_for("the page, live, as observer", 20, LOGIN_VIEW, |v| {
            v["link"] == "live" && v["page"] == true
        })
        .await;
    assert_eq!(v["form"], false, "{v}");
    assert_eq!(v["logout"], true, "{v}");
    let viewer = v["viewer"].as_str().unwrap();
    assert!(
        viewer.contains("observer")
            && viewer.contains(&observer_id)
            && viewer.contains("read-only"),
        "{v}"
    );
    let cookies = browser.client.get_all_cookies().await.unwrap();
    let login = cookies
        .iter()
        .find(|c| c.name() == "mcp_coord_login")
        .expect("the login cookie");
    assert_eq!(login.http_only(), Some(true));
    assert!(
        !login.value().contains(&observer[5..]),
        "a reference, not the token"
    );

    // The daemon restarts (logins live in its memory): the page asks for the token again
    // but keeps what it saw under the form; a login brings it back live.
    let mut settings = d.coord().settings().clone();
    settings.server.port = d.daemon.as_ref().unwrap().addr.port();
    d.stop().await;
    let mut d = TestDaemon::start(settings).await;
    let v = browser
        .wait_for("the login form over the last view", 30, LOGIN_VIEW, |v| {
            v["form"] == true && v["page"] == true
        })
        .await;
    assert!(v["link"] == "down", "{v}");
    type_token(&browser, &observer).await;
    browser
        .wait_for("the page live again", 20, LOGIN_VIEW, |v| {
            v["link"] == "live" && v["page"] == true && v["form"] == false
        })
        .await;

    // Log out: the page asks again.
    browser
        .client
        .find(fantoccini::Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for("the login form again", 10, LOGIN_VIEW, |v| {
            v["form"] == true && v["page"] == false
        })
        .await;
    browser.close().await;
    d.stop().await;
}

/// An MCP client with a bearer token, registered as `name`.
async fn agent_session(d: &TestDaemon, token: &str, name: &str) -> Client {
    let bearer = format!("Bearer {token}");
    let c = connect_http(
        &d.mcp_url(),
        &[
            ("Authorization", bearer.as_str()),
            ("X-Coord-Session", name),
        ],
    )
    .await;
    call(&c, "register_session", json!({ "name": name }))
        .await
        .ok();
    c
}

/// Clicks the element `css` finds.
async fn click(browser: &Browser, css: &str) {
    browser
        .client
        .find(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Types `text` into the open admin dialog and confirms it with the keyboard (Tab to the
/// confirm button, Enter).
async fn confirm_dialog(browser: &Browser, text: &str) {
    let v = browser
        .wait_for("the confirmation dialog", 10, DIALOG, |v| v["open"] == true)
        .await;
    assert_eq!(
        v["focused"], "admin-input",
        "the dialog takes the focus: {v}"
    );
    let input = browser.client.active_element().await.unwrap();
    input.send_keys(text).await.unwrap();
    input.send_keys("\u{E004}").await.unwrap(); // Tab
    browser
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{E007}") // Enter on "confirm"
        .await
        .unwrap();
    let v = browser
        .wait_for("the dialog closing", 10, DIALOG, |v| {
            v["open"] == false || v["error"] != ""
        })
        .await;
    assert_eq!(v["error"], "", "the action worked: {v}");
}

const DIALOG: &str = r#"
const d = document.getElementById('admin-dialog');
return { open: d.open, title: document.getElementById('admin-title').textContent,
         text: document.getElementById('admin-text').textContent,
         error: document.getElementById('admin-error').textContent,
         focused: document.activeElement?.id ?? null };
"#;

/// The admin buttons on the page and the pytest row's holder.
const ADMIN_VIEW: &str = r#"
const row = document.querySelector('tr[data-lock="resource:pytest"]');
const visible = [...document.querySelectorAll('button[data-action]')].filter(b => b.offsetParent !== null);
return {
  buttons: visible.map(b => b.dataset.action + ':' + (b.dataset.target ?? b.dataset.to)),
  holder: row ? (row.querySelector('.who')?.textContent.trim() ?? 'free') : null,
  notes: row ? row.querySelector('td.notes').textContent : null,
  feed: [...document.querySelectorAll('#activity-list li')].map(li => li.textContent),
  ended: [...document.querySelectorAll('#ended-list li[data-session]')].map(li => li.dataset.session),
  bodies: [...document.querySelectorAll('#activity-list .body')].map(b => b.textContent),
  viewer: document.getElementById('viewer').textContent,
};
"#;

async fn inbox(c: &Client) -> Vec<Value> {
    call(c, "get_session_messages", json!({ "peek": true }))
        .await
        .ok()["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn admin_actions_from_the_page_in_a_real_browser() {
    let test = "dashboard_auth::admin_actions_from_the_page_in_a_real_browser";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let d = TestDaemon::embedded(|s| {
        s.auth.required = true;
        s.locks.lock_delay_seconds = 2;
    })
    .await;
    let (admin, _) = token(&d, "admin").await;
    let (observer, _) = token(&d, "observer").await;
    let (agent, _) = token(&d, "agent").await;
    let holder = agent_session(&d, &agent, "holder").await;
    call(
        &holder,
        "acquire_lock",
        json!({ "lock_name": "pytest", "timeout_seconds": 300 }),
    )
    .await
    .ok();

    browser.client.goto(&d.base).await.expect("page opens");
    browser
        .wait_for("the login form", 20, LOGIN_VIEW, |v| v["form"] == true)
        .await;
    type_token(&browser, &admin).await;
    let v = browser
        .wait_for("the lock with its admin button", 20, ADMIN_VIEW, |v| {
            v["holder"] == "holder"
        })
        .await;
    let buttons: Vec<&str> = v["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    for b in ["release:resource:pytest", "end:holder", "message:holder"] {
        assert!(buttons.contains(&b), "{b} in {v}");
    }
    assert!(v["viewer"].as_str().unwrap().contains("admin"), "{v}");

    // Force-release from the page: confirm first, then the row updates live.
    click(
        &browser,
        r#"tr[data-lock="resource:pytest"] button[data-action="release"]"#,
    )
    .await;
    let dialog = browser.eval(DIALOG).await;
    assert!(
        dialog["title"]
            .as_str()
            .unwrap()
            .contains("resource:pytest")
            && dialog["text"].as_str().unwrap().contains("lock-delay"),
        "the dialog says what will happen: {dialog}"
    );
    confirm_dialog(&browser, "flaky runner").await;
    // The row stays, free, saying who force-released it and that nobody gets it during the
    // lock-delay (counting down); the feed says it was forced; once the delay is over the
    // free row with nobody waiting goes.
    let v = browser
        .wait_for("the lock free in its lock-delay", 10, ADMIN_VIEW, |v| {
            v["holder"] == "free"
                && v["notes"]
                    .as_str()
                    .is_some_and(|n| n.contains("lock-delay: nobody gets it"))
        })
        .await;
    assert!(
        v["notes"]
            .as_str()
            .unwrap()
            .contains("force-released by admin"),
        "{v}"
    );
    assert!(
        v["feed"].as_array().unwrap().iter().any(|f| f
            .as_str()
            .unwrap()
            .contains("force-released resource:pytest from holder")),
        "{v}"
    );
    browser
        .wait_for(
            "the free row gone after the lock-delay",
            10,
            ADMIN_VIEW,
            |v| v["holder"].is_null(),
        )
        .await;
    // The holder was told, in its inbox.
    let notices = inbox(&holder).await;
    assert!(
        notices.iter().any(|m| {
            let b = m["body"].as_str().unwrap_or("");
            b.contains("resource:pytest") && b.contains("flaky runner")
        }),
        "the holder got the notice: {notices:?}"
    );
    // The feed shows the notice's metadata; an admin may read its body.
    browser
        .wait_for("the notice in the feed", 10, ADMIN_VIEW, |v| {
            v["buttons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b == "read:holder")
        })
        .await;
    click(
        &browser,
        r#"#activity-list button[data-action="read"][data-to="holder"]"#,
    )
    .await;
    let v = browser
        .wait_for("the notice's body in the feed", 10, ADMIN_VIEW, |v| {
            v["bodies"].as_array().is_some_and(|b| !b.is_empty())
        })
        .await;
    assert!(
        v["bodies"][0].as_str().unwrap().contains("flaky runner"),
        "{v}"
    );

    // Send a message from the page.
    click(
        &browser,
        r#"button[data-action="message"][data-target="holder"]"#,
    )
    .await;
    confirm_dialog(&browser, "please rebase on main").await;
    let messages = inbox(&holder).await;
    assert!(
        messages
            .iter()
            .any(|m| m["from"] == "dashboard" && m["body"] == "please rebase on main"),
        "{messages:?}"
    );

    // End the session from the page: it folds away under Ended.
    click(
        &browser,
        r#"button[data-action="end"][data-target="holder"]"#,
    )
    .await;
    confirm_dialog(&browser, "done for today").await;
    browser
        .wait_for("the session among the ended", 10, ADMIN_VIEW, |v| {
            v["ended"].as_array().unwrap().iter().any(|s| s == "holder")
        })
        .await;

    // An observer: no admin buttons at all.
    click(&browser, "#logout").await;
    browser
        .wait_for("the login form again", 10, LOGIN_VIEW, |v| {
            v["form"] == true
        })
        .await;
    type_token(&browser, &observer).await;
    // The rows are rebuilt for the new viewer in the frame after its snapshot.
    browser
        .wait_for(
            "the observer's page, without admin buttons",
            20,
            ADMIN_VIEW,
            |v| v["viewer"].as_str().unwrap().contains("observer") && v["buttons"] == json!([]),
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_posts_need_an_admin() {
    let d = TestDaemon::embedded(|s| s.auth.required = true).await;
    let http = reqwest::Client::new();
    let base = &d.base;
    let (observer, _) = token(&d, "observer").await;
    let (admin, admin_id) = token(&d, "admin").await;
    let observer_cookie = sent_back(&log_in(&http, base, &observer).await.0);
    let admin_cookie = sent_back(&log_in(&http, base, &admin).await.0);
    let post = |path: &str, cookie: &str, body: Value| {
        http.post(format!("{base}/dashboard/admin/{path}"))
            .header("Cookie", cookie)
            .json(&body)
            .send()
    };
    for (path, body) in [
        ("release-lock", json!({ "lock_name": "pytest" })),
        ("end-session", json!({ "session": "someone" })),
        ("send-message", json!({ "to": "someone", "message": "hi" })),
    ] {
        let r = post(path, &observer_cookie, body).await.unwrap();
        assert_eq!(r.status(), 403, "{path} as observer");
        let e: Value = r.json().await.unwrap();
        assert!(e["message"].as_str().unwrap().contains("admin"), "{e}");
        let r = http
            .post(format!("{base}/dashboard/admin/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} without a login");
    }
    // An admin: the action runs (nothing held: nothing to do, said so).
    let r = post(
        "release-lock",
        &admin_cookie,
        json!({ "lock_name": "pytest" }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["released"], false, "{answer}");
    // Audited with the dashboard as the caller and the admin's token.
    let caller = mcp_coord::service::Caller {
        session: "auditor".into(),
        connection_id: "test".into(),
        transport: "cli",
        principal: Default::default(),
    };
    let log = d
        .coord()
        .audit_log(
            &caller,
            mcp_coord::service::audit::types::AuditLogArgs {
                kind: Some("admin_release_lock".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let by = serde_json::to_value(&log.entries.last().expect("an audit entry").by).unwrap();
    assert_eq!(by["session"], "dashboard", "{by}");
    assert_eq!(by["transport"], "dashboard", "{by}");
    assert_eq!(by["token"], admin_id.as_str(), "{by}");
    // Bad input: a clear 400; not JSON and no header: refused (CSRF).
    let r = post("release-lock", &admin_cookie, json!({ "lock": "pytest" }))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(format!("{base}/dashboard/admin/release-lock"))
        .header("Cookie", &admin_cookie)
        .header("Content-Type", "text/plain")
        .body(r#"{"lock_name":"pytest"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_login_cookie_is_secure() {
    let ca = crate::support::tls::TestCa::new("dashboard");
    let d = TestDaemon::embedded(|s| {
        s.auth.required = true;
        ca.serve_with(s);
    })
    .await;
    let (observer, _) = token(&d, "observer").await;
    let base = &d.base;
    assert!(base.starts_with("https://"), "{base}");
    let http = ca.client();
    let (set_cookie, _) = log_in(&http, base, &observer).await;
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
    let cookie = sent_back(&set_cookie);
    assert_eq!(
        status_of(&http, &format!("{base}/dashboard/state"), Some(&cookie)).await,
        200
    );
}
