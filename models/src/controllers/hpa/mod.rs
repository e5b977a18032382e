//! The horizontal pod autoscaler controller (upstream `pkg/controller/podautoscaler`): the
//! replica calculator, the behavior normalization, and the reconciler that reads the metrics
//! API and writes the target's scale.

pub mod behavior;
pub mod controller;
pub mod replica_calculator;
