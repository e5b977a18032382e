//! `GpuPacking`: a best-fit GPU packing score, one of the baseline policies of GPU-sharing
//! cluster studies (e.g. the openb trace's paper, "Beware of Fragmentation", ATC '23).
//!
//! The idea: GPUs are the scarce, expensive resource, and a GPU left partly used by a small
//! share can no longer host a whole-GPU job. So
//! - a GPU pod prefers the node whose GPUs end up fullest once it is placed (using the same
//!   device assignment as binding, `gpu::assign`), which fills partly used GPUs first;
//! - a pod without GPUs prefers nodes without GPUs, keeping GPU nodes' CPU and memory for GPU
//!   pods.
//!
//! Scores are 0..=100 already, so no normalisation is needed. Enable it with a weight that
//! dominates the default scores (e.g. 10) to see its effect.

use crate::api::Pod;
use crate::gpu;
use crate::scheduler::framework::{ExtensionPoints, Plugin, Snapshot, Status};
use crate::store::NodeInfo;

pub const NAME: &str = "GpuPacking";

pub struct GpuPacking;

impl Plugin for GpuPacking {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::SCORE
    }

    fn score(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Result<i64, Status> {
        Ok(gpu_packing_score(pod.gpu.as_ref(), &node.gpu_free))
    }
}

/// The score of placing a pod with `request` on a node whose devices have `free` milli-GPUs.
pub fn gpu_packing_score(request: Option<&gpu::GpuRequest>, free: &[u32]) -> i64 {
    let capacity = u64::from(gpu::MILLI_PER_GPU) * free.len() as u64;
    let Some(request) = request.filter(|r| r.count > 0) else {
        // No GPU asked for: a node without GPUs is the right place.
        return if free.is_empty() { 100 } else { 0 };
    };
    let Some(devices) = gpu::assign(free, request) else {
        // Filter (GPUShare) rejects such nodes; score them last anyway.
        return 0;
    };
    let free_after: u64 = free.iter().map(|&f| u64::from(f)).sum::<u64>()
        - devices.len() as u64 * u64::from(request.milli);
    // The fuller the node's GPUs after placement, the better: 100 × used / capacity.
    ((capacity - free_after) * 100 / capacity.max(1)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::GpuRequest;

    #[test]
    fn shares_go_to_the_fullest_node_that_holds_them() {
        let half = GpuRequest::shared(500);
        // Node A: 2 GPUs, one 600 free (400 used) and one idle → after: 100 + 1000 free of 2000
        // → 45. Node B: 2 idle GPUs → after: 500 + 1000 free → 25.
        assert_eq!(gpu_packing_score(Some(&half), &[600, 1000]), 45);
        assert_eq!(gpu_packing_score(Some(&half), &[1000, 1000]), 25);
        assert_eq!(
            gpu_packing_score(Some(&half), &[400, 300]),
            0,
            "does not fit"
        );
    }

    #[test]
    fn whole_gpu_pods_and_cpu_pods() {
        assert_eq!(
            gpu_packing_score(Some(&GpuRequest::whole(2)), &[1000, 1000, 1000, 0]),
            75
        );
        assert_eq!(gpu_packing_score(None, &[]), 100);
        assert_eq!(gpu_packing_score(None, &[1000]), 0);
    }
}
