//! `inbox`: this session's unread messages (`get_session_messages`), oldest first.

use clap::Args;
use serde_json::Value;

use super::client::int_arg;
use super::output::s;
use super::{CliError, EXIT_OK, Global, Out};
use crate::service::messages::ReadArgs;

#[derive(Args, Debug)]
pub struct InboxArgs {
    /// At most N messages.
    #[arg(long, default_value_t = 20)]
    pub limit: u64,
    /// When nothing is unread, wait up to S seconds for a message.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub wait: u64,
    /// Show without marking them read.
    #[arg(long)]
    pub peek: bool,
}

pub async fn main(global: &Global, out: &Out, a: InboxArgs) -> Result<u8, CliError> {
    let daemon = global.connect().await?;
    let result = daemon
        .call(
            "get_session_messages",
            &ReadArgs {
                limit: Some(int_arg(a.limit)),
                wait_seconds: Some(int_arg(a.wait)),
                peek: a.peek,
                kinds: None,
            },
        )
        .await;
    let session = daemon.session().to_string();
    daemon.close().await;
    let inbox = result?;
    if out.json {
        out.json(&inbox);
        return Ok(EXIT_OK);
    }
    let messages = inbox
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if messages.is_empty() {
        println!("no unread messages for {session}");
    }
    for m in &messages {
        println!("{}", line(out, m));
    }
    Ok(EXIT_OK)
}

/// `[task] from master_project_web: run the migrations  (id 1712-0)`
pub fn line(out: &Out, m: &Value) -> String {
    let kind = match s(m, "kind") {
        "" => "info",
        k => k,
    };
    let id = match s(m, "id") {
        "" => s(m, "message_id"),
        id => id,
    };
    format!(
        "{} from {}: {}  {}",
        out.yellow(&format!("[{kind}]")),
        out.cyan(s(m, "from")),
        match s(m, "body") {
            "" => s(m, "message"),
            body => body,
        },
        out.dim(&format!("(id {id})"))
    )
}
