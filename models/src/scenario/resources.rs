//! A pod's effective requests, computed as the API server and kube-scheduler do.
//!
//! Amounts are kept in thousandths of a unit: the API server rounds every quantity up to milli
//! precision when it defaults a ResourceList (`SetDefaults_ResourceList`:
//! `val.RoundUp(milliScale)`), and upstream sums exact quantities before taking `MilliValue()`
//! (CPU) or `Value()` (everything else). Summing milli-units and converting at the end gives
//! the same integers.
//!
//! A key that is present with amount 0 is different from an absent key: upstream's non-zero
//! defaults apply only to absent requests ("If the requests for those resources are explicitly
//! set, even if zero, they will not be modified").

use std::collections::BTreeMap;

use crate::api::{ResourceList, ResourceName};

pub(crate) type Amounts = BTreeMap<ResourceName, i128>;

/// One container's requests after API-server defaulting, and whether it is a sidecar.
pub(crate) struct ContainerRequests {
    pub requests: Amounts,
    /// An init container with `restartPolicy: Always`.
    pub sidecar: bool,
}

/// Upstream `schedutil.DefaultMilliCPURequest` (100, "0.1 core") in milli-units.
const DEFAULT_MILLI_CPU_REQUEST: i128 = 100;
/// Upstream `schedutil.DefaultMemoryRequest` (200 * 1024 * 1024, "200 MB") in milli-units.
const DEFAULT_MEMORY_REQUEST_MILLI: i128 = 200 * 1024 * 1024 * 1000;

fn add_into(acc: &mut Amounts, other: &Amounts) {
    for (name, amount) in other {
        let slot = acc.entry(name.clone()).or_insert(0);
        *slot = slot.saturating_add(*amount);
    }
}

fn max_into(acc: &mut Amounts, other: &Amounts) {
    for (name, amount) in other {
        let slot = acc.entry(name.clone()).or_insert(*amount);
        *slot = (*slot).max(*amount);
    }
}

/// Upstream `applyNonMissing`: absent requests take the given defaults.
fn apply_non_missing(requests: &Amounts, non_missing: &Amounts) -> Amounts {
    let mut out = requests.clone();
    for (name, amount) in non_missing {
        out.entry(name.clone()).or_insert(*amount);
    }
    out
}

/// Upstream `aggregateContainerResourcesByFn` (component-helpers/resource/helpers.go) for spec
/// requests:
///
/// ```go
/// for _, container := range pod.Spec.Containers { ... addResourceList(result, containerResources) }
/// // `InitContainerUse(i) = sum(Resources of restartable init containers with index < i)
/// //   + Resources of i-th init container`.
/// for _, container := range pod.Spec.InitContainers {
///     if isRestartableInitContainer(&container) {
///         addResourceList(result, containerResources)
///         addResourceList(restartableInitContainerResources, containerResources)
///         containerResources = restartableInitContainerResources
///     } else {
///         combinedResources := containerResources + restartableInitContainerResources
///         containerResources = combinedResources
///     }
///     maxResourceList(initContainerResources, containerResources)
/// }
/// maxResourceList(result, initContainerResources)
/// ```
///
/// `applyNonMissing` is applied to every container, init containers included, before use.
pub(crate) fn aggregate(
    containers: &[ContainerRequests],
    init: &[ContainerRequests],
    non_missing: &Amounts,
) -> Amounts {
    let mut result = Amounts::new();
    for c in containers {
        add_into(&mut result, &apply_non_missing(&c.requests, non_missing));
    }
    let mut restartable = Amounts::new();
    let mut init_max = Amounts::new();
    for c in init {
        let requests = apply_non_missing(&c.requests, non_missing);
        let in_use = if c.sidecar {
            add_into(&mut result, &requests);
            add_into(&mut restartable, &requests);
            restartable.clone()
        } else {
            let mut combined = requests;
            add_into(&mut combined, &restartable);
            combined
        };
        max_into(&mut init_max, &in_use);
    }
    max_into(&mut result, &init_max);
    result
}

/// Resources that pod-level `spec.resources` may set (upstream `IsSupportedPodLevelResource`:
/// cpu, memory and hugepages-*).
pub(crate) fn pod_level_supported(name: &ResourceName) -> bool {
    match name {
        ResourceName::Cpu | ResourceName::Memory => true,
        ResourceName::Extended(n) => n.starts_with("hugepages-"),
        _ => false,
    }
}

/// The inputs of upstream `PodRequests` for a pod that has not started (no status resources).
pub(crate) struct PodResourceSpec {
    pub containers: Vec<ContainerRequests>,
    pub init_containers: Vec<ContainerRequests>,
    /// `spec.resources.requests` after `defaultPodRequests`, supported resources only.
    pub pod_level_requests: Amounts,
    pub overhead: Amounts,
}

impl PodResourceSpec {
    /// Upstream `defaultPodRequests` (pkg/apis/core/v1/defaults.go), applied when pod-level
    /// limits are set: requests missing at pod level default first to the containers'
    /// aggregate (for overcommittable resources: cpu, memory), then to the pod-level limit.
    pub(crate) fn default_pod_level_requests(&mut self, pod_level_limits: &Amounts) {
        if pod_level_limits.is_empty() {
            return;
        }
        let aggregate = aggregate(&self.containers, &self.init_containers, &Amounts::new());
        for (name, amount) in &aggregate {
            if matches!(name, ResourceName::Cpu | ResourceName::Memory) {
                self.pod_level_requests
                    .entry(name.clone())
                    .or_insert(*amount);
            }
        }
        for (name, amount) in pod_level_limits {
            if pod_level_supported(name) {
                self.pod_level_requests
                    .entry(name.clone())
                    .or_insert(*amount);
            }
        }
    }

    fn pod_level_set(&self) -> bool {
        self.pod_level_requests.keys().any(pod_level_supported)
    }

    /// Upstream `PodRequests` with the default options plus `NonMissingContainerRequests`.
    fn pod_requests(&self, non_missing: &Amounts) -> Amounts {
        let mut requests = aggregate(&self.containers, &self.init_containers, non_missing);
        if self.pod_level_set() {
            for (name, amount) in &self.pod_level_requests {
                if pod_level_supported(name) {
                    requests.insert(name.clone(), *amount);
                }
            }
        }
        add_into(&mut requests, &self.overhead);
        requests
    }

    /// The pod's requests (counting one pod) and its non-zero CPU (millicores) and memory
    /// (bytes), as kube-scheduler's `calculateResource` (pkg/scheduler/framework/types.go)
    /// computes them:
    ///
    /// ```go
    /// requests := resourcehelper.PodRequests(pod, ...)
    /// nonMissingContainerRequests := getNonMissingContainerRequests(requests, isPodLevelResourcesSet)
    /// non0Requests := requests
    /// if len(nonMissingContainerRequests) > 0 {
    ///     non0Requests = resourcehelper.PodRequests(pod, {NonMissingContainerRequests: nonMissingContainerRequests})
    /// }
    /// non0CPU.MilliValue(), non0Mem.Value()
    /// ```
    ///
    /// where `getNonMissingContainerRequests` returns both defaults (100m CPU, 200Mi memory)
    /// when pod-level requests are not set, and otherwise only those whose resource is absent
    /// from `requests`. So the default is per container, missing-only, overhead included, and
    /// init containers follow the same max rule as real requests.
    pub(crate) fn compute(&self) -> Result<(ResourceList, i64, i64), String> {
        let requests = self.pod_requests(&Amounts::new());
        let mut non_missing = Amounts::new();
        for (name, amount) in [
            (ResourceName::Cpu, DEFAULT_MILLI_CPU_REQUEST),
            (ResourceName::Memory, DEFAULT_MEMORY_REQUEST_MILLI),
        ] {
            if !self.pod_level_set() || !requests.contains_key(&name) {
                non_missing.insert(name, amount);
            }
        }
        let non_zero = if non_missing.is_empty() {
            requests.clone()
        } else {
            self.pod_requests(&non_missing)
        };
        let mut list = to_resource_list(&requests)?;
        list.pods = 1;
        let non_zero_cpu = units(
            &ResourceName::Cpu,
            non_zero.get(&ResourceName::Cpu).copied().unwrap_or(0),
        )?;
        let non_zero_memory = units(
            &ResourceName::Memory,
            non_zero.get(&ResourceName::Memory).copied().unwrap_or(0),
        )?;
        Ok((list, non_zero_cpu, non_zero_memory))
    }
}

/// Milli-units to upstream's integer for the resource: `MilliValue()` for CPU, `Value()`
/// (rounded up) for everything else.
fn units(name: &ResourceName, milli: i128) -> Result<i64, String> {
    let value = match name {
        ResourceName::Cpu => milli,
        _ => milli.div_euclid(1000) + i128::from(milli.rem_euclid(1000) != 0),
    };
    i64::try_from(value).map_err(|_| format!("the total {name} request is too large"))
}

pub(crate) fn to_resource_list(amounts: &Amounts) -> Result<ResourceList, String> {
    let mut list = ResourceList::default();
    for (name, milli) in amounts {
        list.set(name, units(name, *milli)?);
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: i128 = 1024 * 1024 * 1000;

    fn amounts(cpu_milli: Option<i128>, memory_mi: Option<i128>) -> Amounts {
        let mut a = Amounts::new();
        if let Some(c) = cpu_milli {
            a.insert(ResourceName::Cpu, c);
        }
        if let Some(m) = memory_mi {
            a.insert(ResourceName::Memory, m * MI);
        }
        a
    }

    fn c(cpu: Option<i128>, mem: Option<i128>) -> ContainerRequests {
        ContainerRequests {
            requests: amounts(cpu, mem),
            sidecar: false,
        }
    }

    fn sidecar(cpu: Option<i128>, mem: Option<i128>) -> ContainerRequests {
        ContainerRequests {
            requests: amounts(cpu, mem),
            sidecar: true,
        }
    }

    fn spec(containers: Vec<ContainerRequests>, init: Vec<ContainerRequests>) -> PodResourceSpec {
        PodResourceSpec {
            containers,
            init_containers: init,
            pod_level_requests: Amounts::new(),
            overhead: Amounts::new(),
        }
    }

    #[test]
    fn sidecars_add_and_regular_init_containers_take_the_max() {
        // Example from KEP-753 "Resources calculation for scheduling and pod admission":
        // init containers: sidecar 100m, regular 500m, sidecar 200m; app container 300m.
        // InitContainerUse: 100, 100+500=600, 100+200=300; app use = 300 + 100 + 200 = 600.
        // max(600, 600) = 600.
        let s = spec(
            vec![c(Some(300), None)],
            vec![
                sidecar(Some(100), None),
                c(Some(500), None),
                sidecar(Some(200), None),
            ],
        );
        let (list, cpu, _) = s.compute().unwrap();
        assert_eq!(list.cpu_milli, 600);
        assert_eq!(cpu, 600);
        // A big regular init container dominates: 100 + 2000 = 2100 > 300 + 100.
        let s = spec(
            vec![c(Some(300), None)],
            vec![sidecar(Some(100), None), c(Some(2000), None)],
        );
        assert_eq!(s.compute().unwrap().0.cpu_milli, 2100);
    }

    #[test]
    fn non_zero_defaults_apply_per_container_to_absent_requests_only() {
        // Two containers: one with cpu 250m and no memory, one with explicit zero cpu.
        // Non-zero cpu: 250 + 0 = 250 (explicit 0 stays 0); memory: 200Mi + 200Mi.
        let s = spec(vec![c(Some(250), None), c(Some(0), None)], vec![]);
        let (list, cpu, mem) = s.compute().unwrap();
        assert_eq!((list.cpu_milli, list.memory), (250, 0));
        assert_eq!((cpu, mem), (250, 2 * 200 * 1024 * 1024));
        // No requests at all: one default per container.
        let s = spec(vec![c(None, None), c(None, None)], vec![]);
        assert_eq!(s.compute().unwrap().1, 200);
        // An init container without requests also counts 100m, within the max rule:
        // max(100 + 100, 100) = 200.
        let s = spec(vec![c(None, None), c(None, None)], vec![c(None, None)]);
        assert_eq!(s.compute().unwrap().1, 200);
    }

    #[test]
    fn overhead_is_added_to_requests_and_non_zero() {
        let mut s = spec(vec![c(Some(100), Some(64))], vec![]);
        s.overhead = amounts(Some(250), Some(120));
        let (list, cpu, mem) = s.compute().unwrap();
        assert_eq!(
            (list.cpu_milli, list.memory, list.pods),
            (350, 184 * 1024 * 1024, 1)
        );
        assert_eq!((cpu, mem), (350, 184 * 1024 * 1024));
    }

    #[test]
    fn pod_level_requests_override_and_limit_defaulting() {
        // Pod-level cpu request 1 overrides the containers' 300m; memory stays aggregate.
        let mut s = spec(vec![c(Some(300), Some(64))], vec![]);
        s.pod_level_requests = amounts(Some(1000), None);
        let (list, cpu, mem) = s.compute().unwrap();
        assert_eq!((list.cpu_milli, list.memory), (1000, 64 * 1024 * 1024));
        // Pod-level set and both resources present in requests: no defaults.
        assert_eq!((cpu, mem), (1000, 64 * 1024 * 1024));

        // Limits only at pod level, containers request cpu: pod cpu request defaults to the
        // containers' aggregate, memory to the pod-level limit.
        let mut s = spec(vec![c(Some(300), None)], vec![]);
        s.default_pod_level_requests(&amounts(Some(2000), Some(512)));
        let (list, cpu, mem) = s.compute().unwrap();
        assert_eq!((list.cpu_milli, list.memory), (300, 512 * 1024 * 1024));
        assert_eq!((cpu, mem), (300, 512 * 1024 * 1024));
    }

    #[test]
    fn memory_is_rounded_up_to_whole_bytes_after_summing() {
        // 0.5 + 0.5 bytes = 1 byte (Value() of the sum), not 1 + 1.
        let mut a = Amounts::new();
        a.insert(ResourceName::Memory, 500);
        let s = spec(
            vec![
                ContainerRequests {
                    requests: a.clone(),
                    sidecar: false,
                },
                ContainerRequests {
                    requests: a,
                    sidecar: false,
                },
            ],
            vec![],
        );
        assert_eq!(s.compute().unwrap().0.memory, 1);
    }
}
