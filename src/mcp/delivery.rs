//! Can the answer to a waiting request still reach its client? A lock granted to a waiter
//! that cannot receive it is lost to everybody until its TTL, so every wait asks before
//! each attempt and after a grant ([`WaitContext::connection_open`]).
//!
//! - Streamable HTTP: the answer goes back on the request's own response (an SSE stream on
//!   the POST), so it is the request's TCP connection that must still be open ([`HungUp`],
//!   which the HTTP edge puts into every request), and its MCP session must exist (a DELETE).
//! - Legacy SSE: the answer goes out on the `GET /sse` stream, whose [`HungUp`] the
//!   connection identity keeps; a dropped stream also cancels the request.

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::service::RequestContext;

use super::CoordServer;
use crate::service::locks::WaitContext;

/// "Has the client of this HTTP request hung up?" — never blocks. The HTTP edge inserts one
/// into each request's extensions (`http/peer.rs` asks the TCP socket).
#[derive(Clone)]
pub struct HungUp(pub Arc<dyn Fn() -> bool + Send + Sync>);

impl HungUp {
    pub fn check(&self) -> bool {
        (self.0)()
    }
}

impl std::fmt::Debug for HungUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HungUp(<probe>)")
    }
}

impl CoordServer {
    /// A wait that ends when the request is cancelled or its client can no longer be
    /// answered.
    pub(crate) fn wait_context(&self, ctx: &RequestContext<RoleServer>) -> WaitContext {
        let identity = self.identity().clone();
        // On legacy SSE the POST that carried the request is long answered (202); its own
        // connection says nothing about the stream the answer goes to.
        let request_hung_up = (identity.transport() == "streamable-http")
            .then(|| {
                ctx.extensions
                    .get::<http::request::Parts>()?
                    .extensions
                    .get::<HungUp>()
                    .cloned()
            })
            .flatten();
        WaitContext {
            cancel: ctx.ct.clone(),
            connection_open: Some(Arc::new(move || {
                identity.is_open() && request_hung_up.as_ref().is_none_or(|h| !h.check())
            })),
            progress: None,
        }
    }
}
