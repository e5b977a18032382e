//! The API server: the one source of truth (objects, admission, resourceVersion and a watch
//! log). Every component reads it and writes through it; none calls another.

pub mod latency;

pub use latency::{ControlPlaneTiming, Latency};
