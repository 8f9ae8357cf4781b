//! `resume-grants`: end the hold on lock grants after a store data loss, through the daemon
//! (the `resume_grants` tool, admin only: it connects with the admin token like `token`). An
//! admin's decision: see the README's Troubleshooting.

use clap::Args;
use serde_json::Value;

use super::output::s;
use super::{CliError, EXIT_OK, Global, Out};

#[derive(Args, Debug)]
pub struct ResumeGrantsArgs {}

pub async fn main(global: &Global, out: &Out, _a: ResumeGrantsArgs) -> Result<u8, CliError> {
    let daemon = super::token::connect_as_admin(global).await?;
    let result = daemon
        .call(
            "resume_grants",
            &crate::service::recovery::ResumeGrantsArgs::default(),
        )
        .await;
    daemon.close().await;
    let answer: Value = result?;
    if out.json {
        out.json(&answer);
    } else {
        println!("{}", s(&answer, "message"));
    }
    Ok(EXIT_OK)
}
