//! Starting and stopping the daemon: store, service, HTTP server, background tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Settings, Sources};
use crate::ops::{OpsTasks, systemd};
use crate::service::Coordinator;
use crate::store;

/// A running daemon. Dropping it does not stop it; call [`Daemon::shutdown`].
pub struct Daemon {
    pub addr: SocketAddr,
    pub coord: Arc<Coordinator>,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    reaper: JoinHandle<()>,
    audit: Option<JoinHandle<()>>,
    ops: OpsTasks,
}

/// Opens the store, binds the listener and starts serving. Returns once the port is bound.
pub async fn start(settings: Settings, sources: &Sources) -> anyhow::Result<Daemon> {
    let settings = Arc::new(settings);
    let store = store::open(&settings).await?;
    let coord = Coordinator::new(store, settings.clone());
    // The bootstrap admin token (README "Security"): in the state dir, for the CLI.
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let state_dir = settings.data_dir(&env);
    let hash = crate::service::tokens::write_bootstrap(&state_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot write the admin token to {}: {e}; make the directory writable or set store.data_dir",
            state_dir.join(crate::service::tokens::ADMIN_FILE).display()
        )
    })?;
    coord.set_bootstrap(hash);
    let addr: SocketAddr = format!("{}:{}", settings.server.host, settings.server.port)
        .parse()
        .map_err(|e| anyhow::anyhow!("bad listen address: {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr}: {e} (another mcp-coord or program may hold the port: \
             `ss -ltnp 'sport = :{}'` shows which; pick another with --port or SERVER_PORT)",
            settings.server.port
        )
    })?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    // Events from the other daemons on this store, and ours to them (Redis only).
    crate::service::events::spawn_relay(&coord, shutdown.clone());

    // HTTPS when [tls] names a certificate (validated with the settings; read again here).
    let tls = crate::tls::server_config(&settings.tls)?;
    let router = crate::http::router(coord.clone(), shutdown.clone());
    let stop = shutdown.clone();
    let idle = match settings.server.http_idle_seconds {
        0 => None,
        secs => Some(Duration::from_secs(secs)),
    };
    let server = tokio::spawn(async move {
        // Every request knows its TCP socket (a waiter asks whether its client hung up), and
        // a kept-alive connection without requests is closed after `idle` (http/serve.rs).
        let stopped = async move { stop.cancelled().await };
        match tls {
            // TCP_NODELAY on every accepted socket (keep-alive clients stalled ~40 ms per
            // call), then each handshake in its own task.
            Some(config) => {
                let listener = crate::tls::tls(listener, config)?;
                crate::http::serve::serve(listener, router, idle, stopped).await;
            }
            None => {
                let listener = crate::http::listener::nodelay(listener);
                crate::http::serve::serve(listener, router, idle, stopped).await;
            }
        }
        Ok::<(), std::io::Error>(())
    });

    let reaper = crate::service::reaper::spawn(coord.clone(), shutdown.clone());
    let audit = crate::service::audit::writer::spawn(coord.clone(), shutdown.clone());

    let store_kind = coord.store().kind().as_str();
    tracing::info!(
        "mcp-coord {} listening on {}://{addr} (legacy SSE: /sse, Streamable HTTP: /mcp, \
         health: /health, metrics: /metrics); store: {}; config: {}",
        env!("CARGO_PKG_VERSION"),
        settings.tls.scheme(),
        coord.store().describe(),
        sources
    );
    if store_kind == "embedded" {
        tracing::warn!(
            "the embedded store keeps state in this process only: other daemons cannot share it; \
             set REDIS_URL to use Redis"
        );
    }
    let store_reachable = match coord.store().ping().await {
        Ok(rtt) => {
            coord.metrics().store_ping(Some(rtt));
            true
        }
        Err(e) => {
            coord.metrics().store_ping(None);
            tracing::warn!("{e}; serving anyway, /health says degraded until the store answers");
            false
        }
    };
    let ops = OpsTasks::start(coord.clone(), addr, store_reachable, shutdown.clone());
    Ok(Daemon {
        addr,
        coord,
        shutdown,
        server,
        reaper,
        audit,
        ops,
    })
}

impl Daemon {
    /// Stops accepting, cancels in-flight calls, closes streams; waits at most the grace time.
    pub async fn shutdown(self) {
        let grace = Duration::from_secs(self.coord.settings().server.shutdown_grace_seconds);
        systemd::stopping();
        self.shutdown.cancel();
        self.ops.stop().await;
        let stopped = async {
            let (server, _) = tokio::join!(self.server, self.reaper);
            server
        };
        match tokio::time::timeout(grace, stopped).await {
            Ok(_) => {}
            Err(_) => tracing::warn!("connections still open after {grace:?}; stopping anyway"),
        }
        // The last audit entries reach the store before it closes.
        if let Some(audit) = self.audit
            && tokio::time::timeout(grace, audit).await.is_err()
        {
            tracing::warn!("audit writer did not finish within {grace:?}");
        }
        if let Err(e) = self.coord.store().shutdown().await {
            tracing::error!("{e}");
        }
        tracing::info!("stopped");
    }

    /// A token that, when cancelled, stops the daemon (used by signal handling).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}
