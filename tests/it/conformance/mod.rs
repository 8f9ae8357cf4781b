//! One conformance suite for every store (the tower-sessions pattern): each behaviour is an
//! `async fn(Arc<dyn Store>)`, and [`conformance!`] runs it against a fresh Redis store (on
//! its own redis-server) and a fresh embedded store.
//!
//! Add a capability's behaviours in its own file and list them in a `conformance!` call there.

use std::sync::Arc;

use mcp_coord::config::Settings;
use mcp_coord::store::Store;

use crate::support::daemon::test_settings;
use crate::support::redis::RedisServer;

mod audit;
mod basics;
mod bindings;
mod claims;
mod force_release;
pub(crate) mod locks;
mod messages;
mod sessions;
mod tasks;
mod tokens;

/// A Redis store on `redis`, with `tweak` applied to the settings.
pub async fn redis_store(redis: &RedisServer, tweak: impl FnOnce(&mut Settings)) -> Arc<dyn Store> {
    let mut s = test_settings();
    s.store.redis_url = redis.url();
    tweak(&mut s);
    mcp_coord::store::open(&s).await.expect("redis store opens")
}

/// A fresh embedded store, with `tweak` applied to the settings.
pub async fn embedded_store(tweak: impl FnOnce(&mut Settings)) -> Arc<dyn Store> {
    let mut s = test_settings();
    tweak(&mut s);
    mcp_coord::store::open(&s)
        .await
        .expect("embedded store opens")
}

/// Runs each listed `async fn(Arc<dyn Store>)` (optionally with a settings tweak
/// `fn(&mut Settings)`) against both stores.
#[macro_export]
macro_rules! conformance {
    ($($name:ident $(with $tweak:path)?),* $(,)?) => {
        mod on_redis {
            $(
                #[tokio::test]
                async fn $name() {
                    let redis = $crate::support::redis::RedisServer::start();
                    #[allow(unused_mut, unused_assignments)]
                    let mut tweak: fn(&mut mcp_coord::config::Settings) = |_| {};
                    $( tweak = $tweak; )?
                    let store = $crate::conformance::redis_store(&redis, tweak).await;
                    super::$name(store).await;
                }
            )*
        }
        mod on_embedded {
            $(
                #[tokio::test]
                async fn $name() {
                    #[allow(unused_mut, unused_assignments)]
                    let mut tweak: fn(&mut mcp_coord::config::Settings) = |_| {};
                    $( tweak = $tweak; )?
                    let store = $crate::conformance::embedded_store(tweak).await;
                    super::$name(store).await;
                }
            )*
        }
    };
}
