//! DaemonSet controller (upstream `pkg/controller/daemon`): its placement, per-node pod and rolling-update algorithms as pure functions.

pub mod controller;
pub mod placement;
pub mod update;
pub mod util;
