//! `acquire_lock`, `release_lock`, `extend_lock`, `check_lock`, `list_locks` (seed 001
//! names and arguments; the new arguments are optional). The argument types are the
//! service's (`service::locks`); this file adds the MCP wait context and the descriptions.

use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ProgressNotificationParam};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use crate::mcp::CoordServer;
use crate::mcp::respond::respond;
use crate::service::locks::{
    AcquireLockArgs, ExtendLockArgs, ListLocksArgs, LockNameArgs, WaitContext,
};

#[tool_router(router = lock_tools, vis = "pub(crate)")]
impl CoordServer {
    #[tool(
        description = "Acquire a distributed lock before doing something only one session should do at a time: acquire_lock(\"pytest\", 600) before running the test suite, acquire_lock(\"pr-create\") before opening a PR, acquire_lock(\"work\", branch=…) to claim the issue of your git branch. Names: bare (resource), issue:N, wave:W[.N], path:dir/file; a lock conflicts with its ancestors and descendants. Returns a fencing token that strictly increases per lock. Re-acquiring a lock you hold extends it. wait_seconds>0 queues you (first come, first served). Refusals name the holder, its activity and when the lock expires. Release it with release_lock when done."
    )]
    async fn acquire_lock(
        &self,
        Parameters(args): Parameters<AcquireLockArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let progress = ctx.meta.get_progress_token().map(|token| {
            let peer = ctx.peer.clone();
            let f: Arc<dyn Fn(crate::service::locks::WaitProgress) + Send + Sync> =
                Arc::new(move |p| {
                    let peer = peer.clone();
                    let note = ProgressNotificationParam::new(token.clone(), p.waited_seconds)
                        .with_total(p.wait_seconds)
                        .with_message(p.message);
                    // Never let a slow client stall the wait.
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(
                            Duration::from_secs(2),
                            peer.notify_progress(note),
                        )
                        .await;
                    });
                });
            f
        });
        let wait = WaitContext {
            progress,
            ..self.wait_context(&ctx)
        };
        respond(self.coord().acquire_lock(&self.caller(), args, wait).await)
    }

    #[tool(
        description = "Release a lock you hold (e.g. release_lock(\"pytest\") after the test run). Only the holder can release; others get not_owner naming the holder. Releasing a lock nobody holds is harmless and says so; if your lock was taken over, it tells you by whom and when."
    )]
    async fn release_lock(&self, Parameters(args): Parameters<LockNameArgs>) -> CallToolResult {
        respond(self.coord().release_lock(&self.caller(), &args).await)
    }

    #[tool(
        description = "Extend a lock you hold: it will expire timeout_seconds from now (default 300). Only the holder can extend."
    )]
    async fn extend_lock(&self, Parameters(args): Parameters<ExtendLockArgs>) -> CallToolResult {
        respond(self.coord().extend_lock(&self.caller(), &args).await)
    }

    #[tool(
        description = "Check a lock: free or held; if held, the holder, its tier (active/idle/stale/abandoned) and last activity, the fencing token, when it expires, whether it is yours, and how many are waiting.",
        annotations(read_only_hint = true)
    )]
    async fn check_lock(&self, Parameters(args): Parameters<LockNameArgs>) -> CallToolResult {
        respond(self.coord().check_lock(&self.caller(), &args).await)
    }

    #[tool(
        description = "List held locks whose names match a glob (default *; e.g. resource:*, wave:5c*), with holder, tier, token and expiry. In name order, at most limit per answer (default 500, up to 5000): total_count counts every match, and next_cursor, present when more match, is the cursor that continues after this page.",
        annotations(read_only_hint = true)
    )]
    async fn list_locks(&self, Parameters(args): Parameters<ListLocksArgs>) -> CallToolResult {
        respond(self.coord().list_locks(&self.caller(), &args).await)
    }
}
