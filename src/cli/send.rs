//! `send TO MESSAGE`: one `send_message_to_session` call; the sender is the session the CLI
//! acts as (stamped by the daemon, never taken from an argument).

use clap::Args;
use serde_json::Value;

use super::output::s;
use super::{CliError, EXIT_OK, Global, Out};
use crate::service::messages;

#[derive(Args, Debug)]
pub struct SendArgs {
    /// A session name, or `parent`, `children`, `role:<role>`, `project`.
    pub to: String,
    /// The message text.
    pub message: String,
    /// info, task, question or reply.
    #[arg(long, default_value = "info")]
    pub kind: String,
    /// The message this one answers (for kind=reply).
    #[arg(long, value_name = "ID")]
    pub reply_to: Option<String>,
    /// Wait up to S seconds for a reply and print it.
    #[arg(long, value_name = "S")]
    pub wait_reply: Option<u64>,
}

pub async fn main(global: &Global, out: &Out, a: SendArgs) -> Result<u8, CliError> {
    let args = messages::SendArgs {
        to: Some(a.to.clone()),
        message: a.message,
        kind: Some(a.kind),
        reply_to: a.reply_to,
        ttl_seconds: None,
        wait_for_response: a.wait_reply.is_some(),
        timeout_seconds: a.wait_reply.map(super::client::int_arg),
    };
    let daemon = global.connect().await?;
    let result = daemon.call("send_message_to_session", &args).await;
    daemon.close().await;
    let sent = result?;
    if out.json {
        out.json(&sent);
        return Ok(EXIT_OK);
    }
    let id = match s(&sent, "message_id") {
        "" => s(&sent, "id").to_string(),
        id => id.to_string(),
    };
    let recipients = sent
        .get("delivered_to")
        .or_else(|| sent.get("recipients"))
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|r| r.as_str().or_else(|| r.get("to").and_then(Value::as_str)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| a.to.clone());
    println!(
        "{} to {recipients}{}",
        out.green("sent"),
        if id.is_empty() {
            String::new()
        } else {
            format!(" (id {id})")
        }
    );
    if let Some(reply) = sent.get("reply").or_else(|| sent.get("response"))
        && !reply.is_null()
    {
        let from = s(reply, "from");
        let text = match (s(reply, "body"), s(reply, "message")) {
            ("", "") => reply.to_string(),
            ("", t) | (t, _) => t.to_string(),
        };
        println!("{} {from}: {text}", out.bold("reply from"));
    }
    Ok(EXIT_OK)
}
