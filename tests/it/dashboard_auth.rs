//! The dashboard with auth on (issues 16 and 19), over plain HTTP: the page loads without a
//! token, its data routes and `/events` answer 401; `POST /login` takes a token in the body
//! and sets an HttpOnly SameSite=Strict cookie that holds a reference (not the token), good
//! for the dashboard's routes only; a revoked token or `POST /logout` ends it; POSTs that are
//! neither JSON nor carry `X-Coord-Dashboard` are refused (CSRF).

use mcp_coord::service::tokens::{CreateTokenArgs, RevokeTokenArgs};
use serde_json::{Value, json};

use crate::support::browser::Browser;
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
    let d = TestDaemon::embedded(|s| s.auth.required = true).await;
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
}
