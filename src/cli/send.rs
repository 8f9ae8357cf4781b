//! `send TO MESSAGE`: one `send_message_to_session` call; the sender is the session the CLI
//! acts as (stamped by the daemon, never taken from an argument).

use clap::Args;
use serde_json::{Value, json};

use super::output::s;
use super::{CliError, EXIT_OK, Global, Out};

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
    let mut args = json!({ "to": a.to, "message": a.message, "kind": a.kind });
    if let Some(r) = &a.reply_to {
        args["reply_to"] = json!(r);
    }
    if let Some(w) = a.wait_reply {
        args["wait_for_response"] = json!(true);
        args["timeout_seconds"] = json!(w);
    }
    let daemon = global.connect().await?;
    let result = daemon.call("send_message_to_session", args).await;
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
