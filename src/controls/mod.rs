//! The controls a connector's test suite drives (issue "A connector's integration-test
//! target"): a request journal, AWS-like throttling, fault injection, and seed / reset / export
//! of a tenant. The journal, the throttle buckets, the fault rules and the remembered seeds are
//! per-process state: behind a load balancer each instance keeps its own.

pub mod faults;
pub mod fixtures;
pub mod journal;
pub mod throttle;

pub use faults::Faults;
pub use fixtures::Seeds;
pub use journal::Journal;
pub use throttle::Throttle;

/// Every control's state.
#[derive(Default)]
pub struct Controls {
    pub journal: Journal,
    pub throttle: Throttle,
    pub faults: Faults,
    pub seeds: Seeds,
}
