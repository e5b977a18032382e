//! GPU sharing: what a pod asks of a node's GPUs, how a node's GPUs are handed out, and how
//! fragmented they are.
//!
//! The model is the one of Alibaba's GPU-sharing scheduler as the openb trace authors simulate
//! it (Open-GPU-Share in `hkust-adsl/kubernetes-scheduler-simulator`): a node has `n` GPU
//! devices of one model, each of 1000 milli-GPUs. A pod asks for `count` GPUs with `milli` of
//! each; a sharing pod (`count == 1`, `milli < 1000`) takes part of one device, a whole-GPU pod
//! takes `count` devices entirely. The devices a pod got are recorded on its `PodRecord`.
//!
//! Kubernetes itself only knows the integer extended resource `nvidia.com/gpu`, which cannot
//! express a share. So a pod with a [`GpuRequest`] does not also request `nvidia.com/gpu`, and
//! the `GPUShare` scheduler plugin (kubesim's own, not upstream) is its GPU fit check.

use serde::Serialize;

/// Milli-GPUs in one device.
pub const MILLI_PER_GPU: u32 = 1000;
/// The extended resource whose allocatable count gives a node's GPU devices.
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";
/// Node label carrying the GPU model, so node selectors and reports can see it.
pub const LABEL_GPU_MODEL: &str = "kubesim.io/gpu-model";
/// Devices a node may have. A bound on the per-node device vector: a manifest announcing a
/// million GPUs must not make the store allocate a million entries.
pub const MAX_DEVICES_PER_NODE: u32 = 1024;

/// What a pod asks of a node's GPUs.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct GpuRequest {
    /// GPUs wanted (`num_gpu` in the openb trace).
    pub count: u32,
    /// Milli-GPUs wanted of each of them, `1..=1000`; 1000 for whole GPUs.
    pub milli: u32,
    /// GPU models the pod can run on (`V100M16|V100M32` in the trace); empty means any.
    pub models: Vec<String>,
}

impl GpuRequest {
    /// `count` whole GPUs of any model.
    pub fn whole(count: u32) -> Self {
        GpuRequest {
            count,
            milli: MILLI_PER_GPU,
            models: Vec::new(),
        }
    }

    /// A share of one GPU of any model.
    pub fn shared(milli: u32) -> Self {
        GpuRequest {
            count: 1,
            milli,
            models: Vec::new(),
        }
    }

    pub fn with_models(mut self, models: &[&str]) -> Self {
        self.models = models.iter().map(|m| (*m).to_string()).collect();
        self
    }

    /// Part of one device (Open-GPU-Share's "share-gpu pod").
    pub fn is_shared(&self) -> bool {
        self.count == 1 && self.milli < MILLI_PER_GPU
    }

    /// Milli-GPUs the pod holds once placed.
    pub fn total_milli(&self) -> u64 {
        u64::from(self.count) * u64::from(self.milli)
    }

    /// Upstream `IsNodeAccessibleToPodByType`: any model when the pod names none, otherwise the
    /// node's model must be one of those named; a node without a model (a CPU node) matches no
    /// named model.
    pub fn allows_model(&self, node_model: Option<&str>) -> bool {
        if self.models.is_empty() {
            return true;
        }
        node_model.is_some_and(|m| self.models.iter().any(|w| w == m))
    }

    /// Why the request is not one a device can serve, if it is not.
    pub fn validate(&self) -> Result<(), String> {
        if self.count == 0 {
            return Err("a GPU request needs at least one GPU".into());
        }
        if self.count > MAX_DEVICES_PER_NODE {
            return Err(format!(
                "{} GPUs is more than any node has (at most {MAX_DEVICES_PER_NODE})",
                self.count
            ));
        }
        if self.milli == 0 || self.milli > MILLI_PER_GPU {
            return Err(format!(
                "{} milli-GPUs per GPU is outside 1..=1000",
                self.milli
            ));
        }
        // Open-GPU-Share panics on this ("the pod requests more than one share gpu"): a share
        // is always of a single device.
        if self.count > 1 && self.milli < MILLI_PER_GPU {
            return Err(format!(
                "a pod asking for {} GPUs must take them whole (milli 1000), not {} each",
                self.count, self.milli
            ));
        }
        Ok(())
    }
}

/// Device count of a node whose allocatable `nvidia.com/gpu` is `amount` (clamped to
/// `0..=MAX_DEVICES_PER_NODE`).
pub fn device_count(amount: i64) -> u32 {
    u32::try_from(amount.clamp(0, i64::from(MAX_DEVICES_PER_NODE))).unwrap_or(0)
}

/// Upstream `CanNodeHostPodOnGpuMemory`: at least `count` devices each have `milli` free.
/// This is the whole GPU fit check: whole-GPU requests need fully free devices because their
/// `milli` is 1000.
pub fn fits(free: &[u32], request: &GpuRequest) -> bool {
    if request.count == 0 {
        return true;
    }
    let mut wanted = request.count;
    for &f in free {
        if f >= request.milli {
            wanted -= 1;
            if wanted == 0 {
                return true;
            }
        }
    }
    false
}

/// The devices a request gets on a node with `free` milli-GPUs per device, or `None` if it
/// does not fit. Open-GPU-Share's best-fit allocation (`allocateGpuIdBasedOnBestFit`, the
/// default `gpuSelMethod` of the openb experiments):
///
/// - a sharing pod takes the device with the least free milli that still holds it, the lowest
///   index among equals (`milliGpuLeft < left[candidate]` is a strict comparison upstream);
/// - a whole-GPU pod takes the lowest-indexed fully free devices (`AllocateExclusiveGpuId`);
/// - anything else (several GPUs of less than 1000 milli, which the trace never has and
///   [`GpuRequest::validate`] rejects) takes the lowest-indexed devices with room.
pub fn assign(free: &[u32], request: &GpuRequest) -> Option<Vec<u32>> {
    if request.count == 0 {
        return Some(Vec::new());
    }
    if request.is_shared() {
        let mut best: Option<(usize, u32)> = None;
        for (i, &f) in free.iter().enumerate() {
            if f >= request.milli && best.is_none_or(|(_, b)| f < b) {
                best = Some((i, f));
            }
        }
        return best
            .and_then(|(i, _)| u32::try_from(i).ok())
            .map(|i| vec![i]);
    }
    let wanted = request.count as usize;
    let devices: Vec<u32> = free
        .iter()
        .enumerate()
        .filter(|&(_, &f)| f >= request.milli)
        .filter_map(|(i, _)| u32::try_from(i).ok())
        .take(wanted)
        .collect();
    (devices.len() == wanted).then_some(devices)
}

/// A request shape of the workload, weighted by how often it occurs: the unit of the
/// fragmentation measure. Memory is not part of it, as in upstream `PodResource`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MixEntry {
    pub cpu_milli: i64,
    pub gpu: GpuRequest,
    /// Pods of this shape.
    pub weight: u64,
}

/// The workload's typical GPU requests (upstream `GetTypicalPods`, CPU-only pods excluded as
/// with upstream's default `isInvolvedCpuPods: false`): request shapes by decreasing
/// popularity, taken ten at a time until they cover `threshold_percent` of the GPU pods
/// (upstream's default 60 %, `DefaultTypicalPodPopularityThreshold`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TypicalMix {
    pub entries: Vec<MixEntry>,
}

/// Upstream `DefaultTypicalPodIncreaseStep`.
const TYPICAL_POD_INCREASE_STEP: usize = 10;
/// Upstream `DefaultTypicalPodPopularityThreshold`.
pub const DEFAULT_TYPICAL_POD_THRESHOLD_PERCENT: u32 = 60;

impl TypicalMix {
    /// From the `(cpu_milli, gpu request)` of every pod of the workload; pods without GPUs are
    /// skipped. Shapes of equal popularity are ordered by shape (upstream sorts a Go map, whose
    /// order is random), so the cut is deterministic.
    pub fn from_requests<'a>(
        requests: impl IntoIterator<Item = (i64, &'a GpuRequest)>,
        threshold_percent: u32,
    ) -> Self {
        let mut counts: std::collections::BTreeMap<(i64, &'a GpuRequest), u64> =
            std::collections::BTreeMap::new();
        for (cpu, gpu) in requests {
            if gpu.count > 0 {
                *counts.entry((cpu, gpu)).or_default() += 1;
            }
        }
        let total: u64 = counts.values().sum();
        let mut shapes: Vec<MixEntry> = counts
            .into_iter()
            .map(|((cpu_milli, gpu), weight)| MixEntry {
                cpu_milli,
                gpu: gpu.clone(),
                weight,
            })
            .collect();
        // Stable sort: equal weights keep the BTreeMap's shape order.
        shapes.sort_by_key(|s| std::cmp::Reverse(s.weight));
        // Upstream: `for cum < expected { podResNum += step; take shapes up to podResNum }`.
        let expected = u128::from(total) * u128::from(threshold_percent.min(100));
        let mut taken = 0;
        let mut covered: u128 = 0;
        while covered * 100 < expected && taken < shapes.len() {
            let upto = (taken + TYPICAL_POD_INCREASE_STEP).min(shapes.len());
            covered += shapes[taken..upto]
                .iter()
                .map(|s| u128::from(s.weight))
                .sum::<u128>();
            taken = upto;
        }
        shapes.truncate(taken);
        TypicalMix { entries: shapes }
    }

    pub fn total_weight(&self) -> u64 {
        self.entries.iter().map(|e| e.weight).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Fragmentation of one node's GPUs with respect to a mix, as weighted sums (divide by the
/// mix's total weight for milli-GPUs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeFrag {
    /// The FGD paper's measure (upstream `NodeGpuShareFragAmountScore`): for each shape, if the
    /// node cannot take it (GPU model not allowed, not enough GPU, or not enough CPU) every
    /// free milli-GPU of the node is fragment; if it can, the free milli on devices too small
    /// for the shape's per-GPU share is.
    pub fgd: u64,
    /// The simpler measure: for each shape the node cannot take, the free milli on its
    /// partly used devices (fully free devices are not counted).
    pub partial: u64,
}

/// [`NodeFrag`] of a node with per-device free milli `free`, GPU model `model` and `cpu_free`
/// millicores left.
pub fn node_frag(free: &[u32], model: Option<&str>, cpu_free: i64, mix: &TypicalMix) -> NodeFrag {
    let free_total: u64 = free.iter().map(|&f| u64::from(f)).sum();
    if free_total == 0 {
        return NodeFrag::default();
    }
    let partly_used: u64 = free
        .iter()
        .filter(|&&f| f > 0 && f < MILLI_PER_GPU)
        .map(|&f| u64::from(f))
        .sum();
    let mut out = NodeFrag::default();
    for e in &mix.entries {
        let takes = e.gpu.allows_model(model) && cpu_free >= e.cpu_milli && fits(free, &e.gpu);
        let (fgd, partial) = if takes {
            let too_small: u64 = free
                .iter()
                .filter(|&&f| f < e.gpu.milli)
                .map(|&f| u64::from(f))
                .sum();
            (too_small, 0)
        } else {
            (free_total, partly_used)
        };
        out.fgd = out.fgd.saturating_add(fgd.saturating_mul(e.weight));
        out.partial = out.partial.saturating_add(partial.saturating_mul(e.weight));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_pods_take_the_tightest_device_lowest_index_first() {
        // Free 1000, 300, 500, 300: a 250 share fits devices 1, 2, 3 and 0; the least free
        // that fits is 300, first at index 1.
        assert_eq!(
            assign(&[1000, 300, 500, 300], &GpuRequest::shared(250)),
            Some(vec![1])
        );
        // 400 fits only 1000 and 500: best fit is device 2.
        assert_eq!(
            assign(&[1000, 300, 500, 300], &GpuRequest::shared(400)),
            Some(vec![2])
        );
        // An exact fit is the best fit.
        assert_eq!(
            assign(&[1000, 400, 500], &GpuRequest::shared(400)),
            Some(vec![1])
        );
        assert_eq!(assign(&[100, 200], &GpuRequest::shared(300)), None);
        assert_eq!(assign(&[], &GpuRequest::shared(1)), None);
    }

    #[test]
    fn whole_gpu_pods_take_fully_free_devices_lowest_index_first() {
        assert_eq!(
            assign(&[1000, 999, 1000, 1000], &GpuRequest::whole(2)),
            Some(vec![0, 2])
        );
        assert_eq!(
            assign(&[1000, 999, 1000, 1000], &GpuRequest::whole(3)),
            Some(vec![0, 2, 3])
        );
        assert_eq!(
            assign(&[1000, 999, 1000, 1000], &GpuRequest::whole(4)),
            None
        );
        // One whole GPU is the 1-GPU best-fit path upstream: every candidate has 1000 free.
        assert_eq!(
            assign(&[500, 1000, 1000], &GpuRequest::whole(1)),
            Some(vec![1])
        );
        assert_eq!(assign(&[1000], &GpuRequest::default()), Some(vec![]));
    }

    #[test]
    fn fits_counts_devices_with_room() {
        assert!(fits(&[1000, 1000], &GpuRequest::whole(2)));
        assert!(!fits(&[1000, 999], &GpuRequest::whole(2)));
        assert!(fits(&[10, 600], &GpuRequest::shared(600)));
        assert!(!fits(&[10, 599], &GpuRequest::shared(600)));
        assert!(fits(&[], &GpuRequest::default()));
    }

    #[test]
    fn model_constraints_follow_upstream() {
        let any = GpuRequest::shared(100);
        assert!(any.allows_model(None) && any.allows_model(Some("T4")));
        let v100 = GpuRequest::shared(100).with_models(&["V100M16", "V100M32"]);
        assert!(v100.allows_model(Some("V100M32")));
        assert!(!v100.allows_model(Some("T4")));
        assert!(!v100.allows_model(None));
    }

    #[test]
    fn validation_rejects_what_a_device_cannot_serve() {
        assert!(GpuRequest::shared(1).validate().is_ok());
        assert!(GpuRequest::whole(8).validate().is_ok());
        assert!(GpuRequest::shared(0).validate().is_err());
        assert!(GpuRequest::shared(1001).validate().is_err());
        assert!(
            GpuRequest {
                count: 2,
                milli: 500,
                models: vec![]
            }
            .validate()
            .is_err()
        );
        assert!(GpuRequest::default().validate().is_err());
    }

    #[test]
    fn typical_mix_takes_popular_shapes_ten_at_a_time() {
        // 12 shapes: shape k (k = 0..12) occurs 12 - k times; 78 pods in all.
        let reqs: Vec<GpuRequest> = (0..12).map(|k| GpuRequest::shared(100 + k)).collect();
        let mut pods = Vec::new();
        for (k, r) in reqs.iter().enumerate() {
            for _ in 0..(12 - k) {
                pods.push((1000, r));
            }
        }
        // 60 % of 78 = 46.8; the first ten shapes cover 12+…+3 = 75 ≥ 46.8, so ten are kept.
        let mix = TypicalMix::from_requests(pods.iter().copied(), 60);
        assert_eq!(mix.entries.len(), 10);
        assert_eq!(mix.entries[0].gpu.milli, 100);
        assert_eq!(mix.entries[0].weight, 12);
        assert_eq!(mix.total_weight(), 75);
        // 100 %: 75 < 78 after ten, so the next step takes the remaining two.
        assert_eq!(
            TypicalMix::from_requests(pods.iter().copied(), 100)
                .entries
                .len(),
            12
        );
        // CPU-only pods are not part of the GPU mix.
        let none = GpuRequest::default();
        assert!(TypicalMix::from_requests([(1000, &none)], 60).is_empty());
    }

    #[test]
    fn fragmentation_matches_the_fgd_definition() {
        // Node: 4 devices free 1000, 1000, 300, 0 (total 2300, partly used 300), 8 CPUs free.
        let free = [1000, 1000, 300, 0];
        let mix = |cpu: i64, gpu: GpuRequest| TypicalMix {
            entries: vec![MixEntry {
                cpu_milli: cpu,
                gpu,
                weight: 1,
            }],
        };
        // A 500 share fits: the 300 and 0 devices are too small → FGD 300; simple 0.
        assert_eq!(
            node_frag(&free, Some("T4"), 8000, &mix(1000, GpuRequest::shared(500))),
            NodeFrag {
                fgd: 300,
                partial: 0
            }
        );
        // A 200 share fits: only the 0 device is too small → 0.
        assert_eq!(
            node_frag(&free, Some("T4"), 8000, &mix(1000, GpuRequest::shared(200))),
            NodeFrag { fgd: 0, partial: 0 }
        );
        // 3 whole GPUs do not fit: everything free is fragment (FGD), the partly used 300 (simple).
        assert_eq!(
            node_frag(&free, Some("T4"), 8000, &mix(1000, GpuRequest::whole(3))),
            NodeFrag {
                fgd: 2300,
                partial: 300
            }
        );
        // Not enough CPU counts as not fitting (FGD's Q4 "lack CPU").
        assert_eq!(
            node_frag(&free, Some("T4"), 500, &mix(1000, GpuRequest::shared(500))),
            NodeFrag {
                fgd: 2300,
                partial: 300
            }
        );
        // A model the pod cannot use (FGD's "no access").
        let v100 = GpuRequest::shared(500).with_models(&["V100M32"]);
        assert_eq!(
            node_frag(&free, Some("T4"), 8000, &mix(1000, v100)),
            NodeFrag {
                fgd: 2300,
                partial: 300
            }
        );
        // Weights multiply; a node without free GPU has no fragment.
        let two = TypicalMix {
            entries: vec![
                MixEntry {
                    cpu_milli: 0,
                    gpu: GpuRequest::shared(500),
                    weight: 3,
                },
                MixEntry {
                    cpu_milli: 0,
                    gpu: GpuRequest::whole(3),
                    weight: 1,
                },
            ],
        };
        assert_eq!(
            node_frag(&free, None, 0, &two),
            NodeFrag {
                fgd: 3 * 300 + 2300,
                partial: 300
            }
        );
        assert_eq!(node_frag(&[0, 0], None, 0, &two), NodeFrag::default());
    }
}
