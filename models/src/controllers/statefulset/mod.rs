//! Upstream `pkg/controller/statefulset`: the StatefulSet controller's pure algorithms.

pub mod control;
pub mod controller;
pub mod utils;
