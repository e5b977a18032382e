//! Controllers, one upstream controller per file. Each is plain state plus a `sync` handler
//! that the world calls when something it watches changed.

pub mod controller_utils;
pub mod deployment;
pub mod names;
pub mod replicaset;
pub mod workqueue;

pub use deployment::DeploymentState;
pub use replicaset::ReplicaSetState;
