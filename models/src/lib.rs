//! The Kubernetes cluster model of kubesim: API objects, the object store, the scheduler, the
//! controllers and the kubelet, and scenario loading. It runs on the `sim-core` engine.
//!
//! Entry points: [`scenario::load`] reads a scenario file, [`run::run`] runs it, and
//! [`summary::Summary`] holds the headline figures.

pub mod api;
pub mod apiserver;
pub mod autoscaler;
pub mod checkers;
pub mod cluster;
pub mod controllers;
pub mod controlplane;
pub mod events;
pub mod faults;
pub mod gpu;
pub mod kubelet;
pub mod metrics;
pub mod metrics_server;
pub mod network;
pub mod pod_index;
pub mod policies;
pub mod retired_pods;
pub mod run;
pub mod scenario;
pub mod scheduler;
pub mod slo;
pub mod store;
pub mod summary;
pub mod trace;
pub mod traffic;
