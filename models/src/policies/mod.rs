//! Research scheduling policies that ship with kubesim: plugins that are not upstream, enabled
//! from a `KubeSchedulerConfiguration` by name like any upstream plugin.
//!
//! To add your own: write a type implementing [`crate::scheduler::framework::Plugin`] in a file
//! here (see `gpu_packing.rs`, about sixty lines), add a `register` line below, and enable it:
//!
//! ```yaml
//! scheduler:
//!   config:
//!     profiles:
//!       - plugins:
//!           multiPoint:
//!             enabled: [{name: GpuPacking, weight: 10}]
//! ```
//!
//! Outside this crate, build a registry with [`registry`] and call `Registry::register` on it.

pub mod gpu_packing;

use crate::scheduler::Registry;

/// Upstream's in-tree plugins plus kubesim's research policies: what the CLI schedules with.
pub fn registry() -> Registry {
    let mut r = Registry::default_plugins();
    r.register(gpu_packing::NAME, |_args| {
        Ok(Box::new(gpu_packing::GpuPacking))
    });
    r
}
