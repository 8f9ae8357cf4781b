//! Real Claude Code against the daemon over HTTPS (issue 16, remote use): a certificate from
//! a CA made at test time, trusted by Claude (Node) through `NODE_EXTRA_CA_CERTS` and by our
//! hooks through the `--ca-cert` that `hooks install` bakes into their command. The hooks
//! register the session over TLS and the agent's own MCP connection (both transports) acts
//! as it.

use serde_json::json;

use crate::claude_or_skip;
use crate::support::claude::{Agent, Transport};
use crate::support::daemon::TestDaemon;
use crate::support::model::ScriptedModel;
use crate::support::tls::TestCa;

async fn claude_over_https(transport: Transport) {
    let Some(claude) = claude_or_skip!(format!("claude_over_https_{transport:?}")) else {
        return;
    };
    let ca = TestCa::new("claude");
    let mut d = TestDaemon::embedded(|s| ca.serve_with(s)).await;
    assert!(d.base.starts_with("https://"), "{}", d.base);
    let model = ScriptedModel::start().await;
    let name = format!("tls_agent_{transport:?}").to_lowercase();
    let ca_file = ca.ca.display().to_string();
    let agent = Agent::new(&claude, &d.base, &model.url, transport)
        .with_env("COORD_SESSION", &name)
        .with_env("NODE_EXTRA_CA_CERTS", &ca_file);
    agent.install_hooks_with(&agent.project, &["--ca-cert", &ca_file]);
    model.then_tool(
        None,
        "mcp__coordination__acquire_lock",
        json!({ "lock_name": "pytest" }),
    );
    model.then_text(None, "done");
    let run = agent.print("take the pytest lock").await;
    assert_eq!(run.status, Some(0), "{}", run.describe());
    assert_eq!(
        run.mcp_status("coordination").as_deref(),
        Some("connected"),
        "{}",
        run.describe()
    );
    // The SessionStart hook reached the daemon over TLS…
    let first = model.conversation()[0].text();
    assert!(
        first.contains(&format!("you are session `{name}`")),
        "SessionStart context missing: {first}"
    );
    // …and the agent's MCP connection took the lock as that session.
    let results = run.tool_results();
    let grant: serde_json::Value =
        serde_json::from_str(results.first().expect("a tool result")).expect("JSON result");
    assert_eq!(grant["granted"], true, "{grant}");
    assert_eq!(grant["holder"], name.as_str(), "{grant}");
    d.stop().await;
}

#[tokio::test]
async fn claude_code_over_https_sse() {
    claude_over_https(Transport::Sse).await;
}

#[tokio::test]
async fn claude_code_over_https_http() {
    claude_over_https(Transport::Http).await;
}
