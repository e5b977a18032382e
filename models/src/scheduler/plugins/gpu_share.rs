//! GPUShare: kubesim's own plugin (not an upstream kube-scheduler plugin) for pods that ask for
//! GPUs or shares of one ([`crate::gpu::GpuRequest`]). It plays the Filter role of
//! Open-GPU-Share, the plugin the openb trace authors simulate GPU sharing with
//! (`pkg/simulator/plugin/open_gpu_share.go` in `hkust-adsl/kubernetes-scheduler-simulator`):
//! a node fits when its GPU model is one the pod allows and enough of its devices have the
//! pod's per-GPU share free. The devices themselves are picked at bind time
//! ([`crate::gpu::assign`], best fit), as Open-GPU-Share's Reserve does.
//!
//! Pods without a GPU request are skipped at PreFilter, so enabling the plugin changes nothing
//! for them. It is registered in [`Registry::default_plugins`](crate::scheduler::Registry) but
//! not part of the default profile, which stays upstream's; trace replays enable it (see
//! `crate::trace::with_gpu_share`). Scoring is off unless the plugin's args ask for it:
//!
//! ```yaml
//! pluginConfig:
//!   - name: GPUShare
//!     args: {scoring: MostAllocated}   # pack GPUs; LeastAllocated spreads them
//! ```

use serde::Deserialize;
use serde_json::Value;

use crate::api::{NodeId, Pod};
use crate::gpu::{self, GpuRequest, MILLI_PER_GPU};
use crate::scheduler::framework::{ExtensionPoints, MAX_NODE_SCORE, Plugin, Snapshot, Status};
use crate::store::NodeInfo;

pub const NAME: &str = "GPUShare";
/// The node has no GPU, too few of them, or too few with the pod's share free.
pub const ERR_INSUFFICIENT_GPU: &str = "Insufficient GPU";
/// The pod names GPU models and the node's is not one of them.
pub const ERR_GPU_MODEL: &str = "node(s) didn't match GPU model";

/// How GPUShare scores feasible nodes, if at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum GpuScoring {
    /// Prefer nodes whose GPUs would be the most used after placing the pod (packing).
    MostAllocated,
    /// Prefer nodes whose GPUs would be the least used (spreading).
    LeastAllocated,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GpuShareArgs {
    #[serde(rename = "apiVersion")]
    _api_version: Option<String>,
    #[serde(rename = "kind")]
    _kind: Option<String>,
    scoring: Option<GpuScoring>,
}

#[derive(Debug, Default)]
pub struct GpuShare {
    scoring: Option<GpuScoring>,
}

impl GpuShare {
    pub fn new(scoring: Option<GpuScoring>) -> Self {
        GpuShare { scoring }
    }

    pub fn factory(args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        let args: GpuShareArgs = match args {
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
            None => GpuShareArgs::default(),
        };
        Ok(Box::new(GpuShare::new(args.scoring)))
    }
}

/// The GPU verdict for one node (the Filter body, shared with tests and explanations).
pub fn gpu_fit(request: &GpuRequest, node: &NodeInfo) -> Status {
    let devices = &node.gpu_free;
    if devices.is_empty() {
        // A CPU node cannot grow GPUs: preemption would not help.
        return Status::unresolvable(ERR_INSUFFICIENT_GPU);
    }
    if !request.allows_model(node.node.gpu_model.as_deref()) {
        return Status::unresolvable(ERR_GPU_MODEL);
    }
    if (devices.len() as u64) < u64::from(request.count) {
        return Status::unresolvable(ERR_INSUFFICIENT_GPU);
    }
    if gpu::fits(devices, request) {
        Status::success()
    } else {
        Status::unschedulable(ERR_INSUFFICIENT_GPU)
    }
}

impl Plugin for GpuShare {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        let filter = ExtensionPoints::PRE_FILTER | ExtensionPoints::FILTER;
        match self.scoring {
            Some(_) => filter | ExtensionPoints::PRE_SCORE | ExtensionPoints::SCORE,
            None => filter,
        }
    }

    fn pre_filter(&mut self, pod: &Pod, _snapshot: &Snapshot) -> Status {
        match &pod.gpu {
            Some(r) if r.count > 0 => Status::success(),
            _ => Status::skip(),
        }
    }

    fn filter(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        match &pod.gpu {
            Some(request) if request.count > 0 => gpu_fit(request, node),
            _ => Status::success(),
        }
    }

    fn pre_score(&mut self, pod: &Pod, _feasible: &[NodeId], _snapshot: &Snapshot) -> Status {
        match &pod.gpu {
            Some(r) if r.count > 0 => Status::success(),
            _ => Status::skip(),
        }
    }

    /// Share of the node's GPU milli in use once the pod is placed, 0–100 (integer arithmetic,
    /// as upstream's resource scorers).
    fn score(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Result<i64, Status> {
        let (Some(scoring), Some(request)) = (self.scoring, &pod.gpu) else {
            return Ok(0);
        };
        let capacity = node.gpu_free.len() as u64 * u64::from(MILLI_PER_GPU);
        if capacity == 0 {
            return Ok(0);
        }
        let used: u64 = node
            .gpu_free
            .iter()
            .map(|&f| u64::from(MILLI_PER_GPU - f.min(MILLI_PER_GPU)))
            .sum();
        let after = (used + request.total_milli()).min(capacity);
        let most = i64::try_from(after * MAX_NODE_SCORE.unsigned_abs() / capacity)
            .unwrap_or(MAX_NODE_SCORE);
        Ok(match scoring {
            GpuScoring::MostAllocated => most,
            GpuScoring::LeastAllocated => MAX_NODE_SCORE - most,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Node, ResourceList, ResourceName};
    use crate::scheduler::Code;
    use crate::store::Store;
    use sim_core::SimTime;

    fn gpu_node(name: &str, gpus: i64, model: Option<&str>) -> Node {
        let mut allocatable = ResourceList {
            cpu_milli: 32_000,
            memory: 64 << 30,
            pods: 110,
            ..Default::default()
        };
        if gpus > 0 {
            allocatable.set(&ResourceName::Extended(gpu::GPU_RESOURCE.into()), gpus);
        }
        Node {
            name: name.into(),
            allocatable,
            gpu_model: model.map(str::to_string),
            ..Node::default()
        }
    }

    fn gpu_pod(request: GpuRequest) -> Pod {
        Pod {
            name: "p".into(),
            gpu: Some(request),
            ..Pod::default()
        }
    }

    /// A store with one node of `gpus` devices of `model`, and sharing pods bound to it.
    fn store_with(gpus: i64, model: Option<&str>, shares: &[u32]) -> Store {
        let mut store = Store::new();
        let node = store.add_node(gpu_node("n", gpus, model));
        for (i, &milli) in shares.iter().enumerate() {
            let id = store.add_pod(
                Pod {
                    name: format!("s{i}"),
                    ..gpu_pod(GpuRequest::shared(milli))
                },
                SimTime::ZERO,
            );
            store.bind(id, node, SimTime::ZERO);
        }
        store
    }

    #[test]
    fn pods_without_gpus_are_skipped() {
        let mut plugin = GpuShare::default();
        let store = store_with(0, None, &[]);
        assert!(plugin.pre_filter(&Pod::default(), &store).is_skip());
        assert!(
            plugin
                .filter(&Pod::default(), &store.nodes[0], &store)
                .is_success()
        );
        assert!(
            plugin
                .pre_filter(&gpu_pod(GpuRequest::shared(10)), &store)
                .is_success()
        );
    }

    #[test]
    fn filter_checks_devices_shares_and_models() {
        let plugin = GpuShare::default();
        // A CPU node.
        let mut cpu = Store::new();
        cpu.add_node(Node {
            name: "c".into(),
            allocatable: ResourceList {
                pods: 110,
                ..Default::default()
            },
            ..Node::default()
        });
        assert_eq!(
            plugin.filter(&gpu_pod(GpuRequest::shared(100)), &cpu.nodes[0], &cpu),
            Status::unresolvable(ERR_INSUFFICIENT_GPU)
        );
        // Two T4s, one 700 used: free 300 and 1000.
        let store = store_with(2, Some("T4"), &[700]);
        let node = &store.nodes[0];
        assert_eq!(node.gpu_free, vec![300, 1000]);
        assert!(
            plugin
                .filter(&gpu_pod(GpuRequest::shared(300)), node, &store)
                .is_success()
        );
        assert!(
            plugin
                .filter(&gpu_pod(GpuRequest::whole(1)), node, &store)
                .is_success()
        );
        // Two whole GPUs: only one device is fully free, but the node has two: resolvable.
        let two = plugin.filter(&gpu_pod(GpuRequest::whole(2)), node, &store);
        assert_eq!(
            (two.code, two.reasons.clone()),
            (Code::Unschedulable, vec![ERR_INSUFFICIENT_GPU.to_string()])
        );
        // Four GPUs: more than the node has, ever.
        assert_eq!(
            plugin.filter(&gpu_pod(GpuRequest::whole(4)), node, &store),
            Status::unresolvable(ERR_INSUFFICIENT_GPU)
        );
        // Models.
        let v100 = GpuRequest::shared(100).with_models(&["V100M16", "V100M32"]);
        assert_eq!(
            plugin.filter(&gpu_pod(v100), node, &store),
            Status::unresolvable(ERR_GPU_MODEL)
        );
        let t4 = GpuRequest::shared(100).with_models(&["P100", "T4"]);
        assert!(plugin.filter(&gpu_pod(t4), node, &store).is_success());
    }

    #[test]
    fn scoring_is_off_by_default_and_measures_gpu_use_when_on() {
        assert!(
            !GpuShare::default()
                .extension_points()
                .contains(ExtensionPoints::SCORE)
        );
        let args = serde_json::json!({"scoring": "MostAllocated"});
        let most = GpuShare::factory(Some(&args)).unwrap();
        assert!(most.extension_points().contains(ExtensionPoints::SCORE));
        assert!(GpuShare::factory(Some(&serde_json::json!({"scorin": "MostAllocated"}))).is_err());
        // Two GPUs, 700 used; a 500 share makes 1200 of 2000 → 60 (packing), 40 (spreading).
        let store = store_with(2, Some("T4"), &[700]);
        let pod = gpu_pod(GpuRequest::shared(500));
        assert_eq!(most.score(&pod, &store.nodes[0], &store), Ok(60));
        let least = GpuShare::new(Some(GpuScoring::LeastAllocated));
        assert_eq!(least.score(&pod, &store.nodes[0], &store), Ok(40));
    }

    #[test]
    fn bind_assigns_best_fit_devices_and_delete_frees_them() {
        // Shares 700 then 600 on two devices: 700 → device 0 (both 1000, lowest index);
        // 600 → device 1 (device 0 has only 300).
        let mut store = store_with(2, None, &[700, 600]);
        assert_eq!(store.nodes[0].gpu_free, vec![300, 400]);
        assert_eq!(store.pods[0].gpu_devices, vec![0]);
        assert_eq!(store.pods[1].gpu_devices, vec![1]);
        // A 250 share goes to the tightest device: 300 free on device 0.
        let id = store.add_pod(gpu_pod(GpuRequest::shared(250)), SimTime::ZERO);
        store.bind(id, NodeId(0), SimTime::ZERO);
        assert_eq!(store.nodes[0].gpu_free, vec![50, 400]);
        store.delete_pod(store.pods[0].id, SimTime::ZERO);
        assert_eq!(store.nodes[0].gpu_free, vec![750, 400]);
        // Deleting twice frees once.
        store.delete_pod(store.pods[0].id, SimTime::ZERO);
        assert_eq!(store.nodes[0].gpu_free, vec![750, 400]);
    }
}
