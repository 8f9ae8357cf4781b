//! HTTPS served by the daemon itself (`[tls] cert` / `key`, README "Security"): for a daemon
//! that other machines reach without a reverse proxy in front of it.
//!
//! - `files.rs`: the PEM files → a rustls server config, each mistake worded for the user;
//! - `listener.rs`: a listener for the accept loop (`http/serve.rs`) that does each TLS
//!   handshake in its own task, so a client that connects and says nothing holds up no one
//!   else.
//!
//! rustls with the ring provider, chosen explicitly (no process-wide default to install).

pub mod files;
pub mod listener;

pub use files::server_config;
pub use listener::{TlsListener, tls};
