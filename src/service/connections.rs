//! Open MCP connections per transport, for `/health` and `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Default, Clone)]
pub struct Connections {
    sse: Arc<AtomicUsize>,
    streamable_http: Arc<AtomicUsize>,
}

/// Counts one open connection until dropped.
#[derive(Debug)]
pub struct ConnectionGuard {
    counter: Arc<AtomicUsize>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connections {
    /// Registers a connection of `transport` (`sse` or `streamable-http`).
    pub fn open(&self, transport: &str) -> ConnectionGuard {
        let counter = if transport == "sse" {
            &self.sse
        } else {
            &self.streamable_http
        };
        counter.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard {
            counter: counter.clone(),
        }
    }

    pub fn sse(&self) -> usize {
        self.sse.load(Ordering::Relaxed)
    }

    pub fn streamable_http(&self) -> usize {
        self.streamable_http.load(Ordering::Relaxed)
    }
}
