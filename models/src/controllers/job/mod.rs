//! Job controller (upstream `pkg/controller/job`): its pure algorithms, as functions over small views.

pub mod arith;
pub mod backoff;
pub mod controller;
pub mod failure_policy;
pub mod indexed;
