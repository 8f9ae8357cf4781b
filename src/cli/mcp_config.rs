//! `mcp-coord mcp-config [--transport sse|http] [--scope project|user] [--url URL]`: prints
//! how to add this daemon to Claude Code — the `claude mcp add` line and the `.mcp.json`
//! snippet. The session name travels as `?session=${COORD_SESSION:-}` (SSE) or an
//! `X-Coord-Session: ${COORD_SESSION:-}` header (HTTP); Claude expands `${VAR:-}` in
//! `.mcp.json`, and an empty value means "no name" (the hooks bind the connection then).
//! `X-Coord-Credential: ${COORD_CREDENTIAL:-}` carries the session's credential where the
//! environment has one (children of `create_session`), on both transports. With `--auth`
//! (or when this invocation has a token: `MCP_COORD_TOKEN`, `--token`, `--token-file`) it
//! adds `Authorization: Bearer ${MCP_COORD_TOKEN:-}`: Claude expands it from its own
//! environment, so the token never lands in the file.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::{EXIT_OK, Global};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Transport {
    /// Legacy SSE (`/sse`), what most Claude Code setups use.
    Sse,
    /// Streamable HTTP (`/mcp`).
    Http,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Scope {
    /// `.mcp.json` in the project (shared through git).
    Project,
    /// Every project of this user.
    User,
    /// This project, this user only.
    Local,
}

#[derive(Args, Debug)]
pub struct McpConfigArgs {
    #[arg(long, value_enum, default_value = "sse")]
    pub transport: Transport,
    #[arg(long, value_enum, default_value = "project")]
    pub scope: Scope,
    /// The server name in Claude Code.
    #[arg(long, default_value = "coordination")]
    pub name: String,
    /// Send `Authorization: Bearer ${MCP_COORD_TOKEN:-}` (for a daemon with `[auth]
    /// required`); implied when this invocation has a token.
    #[arg(long)]
    pub auth: bool,
}

/// The header Claude Code expands from its environment (`${VAR:-}`: empty when unset, which
/// the daemon reads as no token).
pub const AUTH_HEADER_VALUE: &str = "Bearer ${MCP_COORD_TOKEN:-}";

/// The snippet text (also used by tests).
pub fn render(base: &str, a: &McpConfigArgs) -> String {
    let scope = match a.scope {
        Scope::Project => "project",
        Scope::User => "user",
        Scope::Local => "local",
    };
    let (kind, url, headers, add) = match a.transport {
        Transport::Sse => {
            let url = format!("{base}/sse?session=${{COORD_SESSION:-}}");
            let add = format!(
                "claude mcp add {} --scope {scope} --transport sse '{url}' --header 'X-Coord-Credential: ${{COORD_CREDENTIAL:-}}'",
                a.name
            );
            (
                "sse",
                url,
                json!({ "X-Coord-Credential": "${COORD_CREDENTIAL:-}" }),
                add,
            )
        }
        Transport::Http => {
            let url = format!("{base}/mcp");
            let add = format!(
                "claude mcp add {} --scope {scope} --transport http {url} --header 'X-Coord-Session: ${{COORD_SESSION:-}}' --header 'X-Coord-Credential: ${{COORD_CREDENTIAL:-}}'",
                a.name
            );
            (
                "http",
                url,
                json!({
                    "X-Coord-Session": "${COORD_SESSION:-}",
                    "X-Coord-Credential": "${COORD_CREDENTIAL:-}",
                }),
                add,
            )
        }
    };
    let (mut headers, mut add) = (headers, add);
    if a.auth {
        headers["Authorization"] = json!(AUTH_HEADER_VALUE);
        add.push_str(&format!(" --header 'Authorization: {AUTH_HEADER_VALUE}'"));
    }
    let server = json!({ "type": kind, "url": url, "headers": headers });
    let snippet = json!({ "mcpServers": { a.name.clone(): server } });
    format!(
        "# Add the coordination daemon to Claude Code (single quotes keep ${{COORD_SESSION:-}} for Claude to expand):\n\
         {add}\n\n\
         # or the same in .mcp.json (project root):\n\
         {}\n\n\
         # then install the hooks (session registration, messages, identity handshake):\n\
         mcp-coord hooks install {}\n\
         # check: claude mcp list   (expect: {}: … ✔ Connected)\n{}",
        serde_json::to_string_pretty(&snippet).unwrap_or_default(),
        if matches!(a.scope, Scope::User) {
            "--user"
        } else {
            "--project ."
        },
        a.name,
        if a.auth {
            "# the daemon needs a token: export MCP_COORD_TOKEN=<token> where Claude Code starts\n\
             # (an admin makes one: mcp-coord token create --role agent); the hooks send it too\n"
        } else {
            ""
        }
    )
}

pub fn main(global: &Global, a: &McpConfigArgs) -> ExitCode {
    let with_token = McpConfigArgs {
        transport: a.transport,
        scope: a.scope,
        name: a.name.clone(),
        auth: a.auth || global.token.is_some() || global.token_file.is_some(),
    };
    print!("{}", render(&global.setup_url(), &with_token));
    ExitCode::from(EXIT_OK)
}
