//! The Archway data plane.
//!
//! Owns: listeners (HTTP/1.1, h2c, TLS with ALPN and SNI), the compiled [`Snapshot`] and its
//! route tries, the request pipeline ([`pipeline`], one module per phase), integrations, the
//! pooled upstream client, gateway responses ([`respond`]) and the access log.
//!
//! Must never: write model state (the control plane is the only writer), read the mutable
//! working definition of an API (stages serve frozen deployments), build an error response
//! outside [`respond`], or panic on anything a client sends.

pub mod access_log;
pub mod body;
pub mod clock;
pub mod context;
pub mod error;
mod framing;
pub mod headers;
pub mod http1;
mod idle;
pub mod integrate;
pub mod path;
pub mod phase;
pub mod pipeline;
pub mod respond;
pub mod router;
pub mod server;
pub mod snapshot;
mod spin;
pub mod splice;
pub mod tls;
pub mod upstream;
pub mod usage;

pub use server::{Server, ServerOptions};
pub use snapshot::Snapshot;

use access_log::AccessLog;
use arc_swap::ArcSwap;
use std::sync::Arc;
use upstream::Upstream;
use usage::UsageState;

/// State shared by every worker: the current snapshot, the upstream pool, the access log,
/// and the throttling and quota state that outlives snapshots.
pub struct Gateway {
    snapshot: ArcSwap<Snapshot>,
    upstream: Upstream,
    access_log: AccessLog,
    /// Local Lambda functions (`AWS_PROXY` integrations), when any are declared.
    functions: arc_swap::ArcSwapOption<archway_functions::Functions>,
    usage: UsageState,
}

impl Gateway {
    pub fn new(snapshot: Snapshot) -> Result<Gateway, rustls::Error> {
        let access_log = AccessLog::default();
        if let Err(e) = access_log.set_destination(snapshot.access_log.as_ref()) {
            tracing::error!(error = %e, "cannot open the access log");
        }
        let usage = UsageState::default();
        attach(&usage, &snapshot);
        Ok(Gateway {
            snapshot: ArcSwap::from_pointee(snapshot),
            upstream: Upstream::new()?,
            access_log,
            functions: arc_swap::ArcSwapOption::empty(),
            usage,
        })
    }

    /// Sets the host of the local Lambda functions that `AWS_PROXY` integrations invoke.
    pub fn set_functions(&self, functions: Option<Arc<archway_functions::Functions>>) {
        self.functions.store(functions);
    }

    /// Token buckets and quota counters, by id.
    pub fn usage(&self) -> &UsageState {
        &self.usage
    }

    /// The snapshot in force now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Swaps in a new snapshot. Requests in flight finish on the one they started with.
    pub fn swap(&self, snapshot: Snapshot) {
        if let Err(e) = self
            .access_log
            .set_destination(snapshot.access_log.as_ref())
        {
            tracing::error!(error = %e, "cannot open the access log; keeping the old one");
        }
        attach(&self.usage, &snapshot);
        self.snapshot.store(Arc::new(snapshot));
    }
}

fn attach(usage: &UsageState, snapshot: &Snapshot) {
    let (buckets, counters) = snapshot.usage_slots();
    usage.attach(buckets.into_iter(), counters.into_iter());
}
