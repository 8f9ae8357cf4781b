//! The MCP front-end: one [`CoordServer`] per connection, tools that call the service layer.
//!
//! A `CoordServer` is created for each legacy-SSE stream and each Streamable-HTTP session,
//! so its [`identity::ConnectionIdentity`] is that connection's and nobody else's.

pub mod claim;
pub mod delivery;
pub mod handler;
pub mod identity;
pub mod malformed;
pub mod peer_process;
pub mod resources;
pub mod respond;
pub mod subscriptions;
pub mod tools;

use std::sync::{Arc, OnceLock};

use rmcp::handler::server::router::tool::ToolRouter;

use crate::service::{Caller, Coordinator};
pub use identity::ConnectionIdentity;

/// The MCP server of one connection.
#[derive(Clone)]
pub struct CoordServer {
    coord: Arc<Coordinator>,
    identity: Arc<ConnectionIdentity>,
    tools: Arc<ToolRouter<CoordServer>>,
    /// The daemon's resource subscriptions (absent: `resources/subscribe` is refused).
    hub: Option<Arc<subscriptions::Hub>>,
}

impl CoordServer {
    pub fn new(coord: Arc<Coordinator>, identity: ConnectionIdentity) -> Self {
        static TOOLS: OnceLock<Arc<ToolRouter<CoordServer>>> = OnceLock::new();
        let tools = TOOLS.get_or_init(|| Arc::new(tools::all())).clone();
        Self {
            coord,
            identity: Arc::new(identity),
            tools,
            hub: None,
        }
    }

    /// Lets this connection subscribe to resources through the daemon's hub.
    pub fn with_hub(mut self, hub: Arc<subscriptions::Hub>) -> Self {
        self.hub = Some(hub);
        self
    }

    pub fn hub(&self) -> Option<&Arc<subscriptions::Hub>> {
        self.hub.as_ref()
    }

    pub fn coord(&self) -> &Arc<Coordinator> {
        &self.coord
    }

    pub fn identity(&self) -> &Arc<ConnectionIdentity> {
        &self.identity
    }

    /// The caller as the service layer sees it.
    pub fn caller(&self) -> Caller {
        self.identity.caller()
    }
}
