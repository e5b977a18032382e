//! What a fault is, as a scenario states it: a verb, its targets and how long it lasts.
//! The names follow Chaos Mesh and LitmusChaos where those have one.

use sim_core::SimDuration;

use crate::api::Labels;

/// The fault verbs of the timeline (and of stochastic `faults:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultVerb {
    /// Machines go down with their containers; back after `recoverAfter` (else at
    /// `recoverNodes` or `heal`).
    CrashNodes,
    /// Machines restart: down, then up after `for` (default 1m).
    RebootNodes,
    /// Crashed machines boot.
    RecoverNodes,
    /// Kubelets hang: containers keep running, nothing is reported.
    StallKubelet,
    /// Every machine of a zone goes down.
    ZoneOutage,
    /// Nodes lose the control plane; their containers keep running.
    Partition,
    /// Pods are deleted (grace period 0 unless given), as Chaos Mesh's pod-kill.
    KillPods,
    /// Containers of the targeted pods crash (exit 137), once or at a rate.
    CrashContainers,
    /// Image pulls on the targeted nodes take longer.
    SlowImagePulls,
    /// The API server refuses every request.
    ApiServerOutage,
    /// The scheduler (its leader, or every replica) is down.
    SchedulerOutage,
    /// The controller manager (its leader, or every replica) is down.
    ControllerManagerOutage,
    /// Spot instances are reclaimed: a notice, then the machine goes for good.
    ReclaimSpot,
    /// Ends every fault.
    Heal,
}

impl FaultVerb {
    pub const ALL: [FaultVerb; 14] = [
        FaultVerb::CrashNodes,
        FaultVerb::RebootNodes,
        FaultVerb::RecoverNodes,
        FaultVerb::StallKubelet,
        FaultVerb::ZoneOutage,
        FaultVerb::Partition,
        FaultVerb::KillPods,
        FaultVerb::CrashContainers,
        FaultVerb::SlowImagePulls,
        FaultVerb::ApiServerOutage,
        FaultVerb::SchedulerOutage,
        FaultVerb::ControllerManagerOutage,
        FaultVerb::ReclaimSpot,
        FaultVerb::Heal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultVerb::CrashNodes => "crashNodes",
            FaultVerb::RebootNodes => "rebootNodes",
            FaultVerb::RecoverNodes => "recoverNodes",
            FaultVerb::StallKubelet => "stallKubelet",
            FaultVerb::ZoneOutage => "zoneOutage",
            FaultVerb::Partition => "partition",
            FaultVerb::KillPods => "killPods",
            FaultVerb::CrashContainers => "crashContainers",
            FaultVerb::SlowImagePulls => "slowImagePulls",
            FaultVerb::ApiServerOutage => "apiServerOutage",
            FaultVerb::SchedulerOutage => "schedulerOutage",
            FaultVerb::ControllerManagerOutage => "controllerManagerOutage",
            FaultVerb::ReclaimSpot => "reclaimSpot",
            FaultVerb::Heal => "heal",
        }
    }

    pub fn parse(name: &str) -> Option<FaultVerb> {
        FaultVerb::ALL.into_iter().find(|v| v.as_str() == name)
    }

    /// Verbs whose targets are nodes.
    pub fn targets_nodes(self) -> bool {
        matches!(
            self,
            FaultVerb::CrashNodes
                | FaultVerb::RebootNodes
                | FaultVerb::RecoverNodes
                | FaultVerb::StallKubelet
                | FaultVerb::ZoneOutage
                | FaultVerb::Partition
                | FaultVerb::SlowImagePulls
                | FaultVerb::ReclaimSpot
        )
    }

    /// Verbs whose targets are pods.
    pub fn targets_pods(self) -> bool {
        matches!(self, FaultVerb::KillPods | FaultVerb::CrashContainers)
    }
}

/// How many of the matching targets a fault takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Amount {
    All,
    Count(u32),
    /// A percentage of the matching targets, rounded up (at least one when any match).
    Percent(f64),
}

impl Amount {
    /// How many of `matching` targets to take.
    pub fn of(self, matching: usize) -> usize {
        match self {
            Amount::All => matching,
            Amount::Count(c) => (c as usize).min(matching),
            Amount::Percent(p) => {
                let n = (p / 100.0 * matching as f64).ceil();
                (n.max(0.0) as usize).min(matching)
            }
        }
    }
}

/// A workload named by a fault (`deployment: web`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadTarget {
    /// `Deployment`, `StatefulSet`, `DaemonSet`, `Job`, `ReplicaSet`.
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
}

/// Which targets a fault selects; every given criterion must hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Targets {
    pub pool: Option<String>,
    pub zone: Option<String>,
    pub nodes: Vec<String>,
    /// Labels the node (for node faults) or the pod (for pod faults) must carry.
    pub selector: Labels,
    /// Pod faults: the pods of this workload.
    pub workload: Option<WorkloadTarget>,
    /// Pod faults: the namespace of the pods (any when `None`).
    pub namespace: Option<String>,
    pub amount: Amount,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            pool: None,
            zone: None,
            nodes: Vec::new(),
            selector: Labels::new(),
            workload: None,
            namespace: None,
            amount: Amount::All,
        }
    }
}

/// Which replicas of a control-plane component a fault takes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replicas {
    /// Only the current leader (a standby takes over once the Lease expires).
    Leader,
    All,
}

/// One fault, as the timeline (or a stochastic fault's draw) states it.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub verb: FaultVerb,
    pub targets: Targets,
    /// How long it lasts (`for:` / `recoverAfter:`); `None`: until `heal` (or, for node
    /// crashes, `recoverNodes`).
    pub duration: Option<SimDuration>,
    /// `crashContainers`: crashes per hour over the targeted pods (a Poisson process);
    /// `None`: each targeted pod's containers crash once.
    pub rate_per_hour: Option<f64>,
    /// `killPods`: the grace period of the deletion (default 0, as pod-kill).
    pub grace_period: Option<SimDuration>,
    /// `slowImagePulls`: pulls take this many times longer, plus `extra`.
    pub factor: f64,
    pub extra: SimDuration,
    /// `reclaimSpot`: time between the interruption notice and the machine's end
    /// (default 2m, as EC2 spot interruptions).
    pub notice: SimDuration,
    /// `schedulerOutage` / `controllerManagerOutage`.
    pub replicas: Replicas,
}

impl Fault {
    pub fn new(verb: FaultVerb) -> Self {
        Fault {
            verb,
            targets: Targets::default(),
            duration: None,
            rate_per_hour: None,
            grace_period: None,
            factor: 1.0,
            extra: SimDuration::ZERO,
            notice: DEFAULT_SPOT_NOTICE,
            replicas: Replicas::All,
        }
    }
}

/// EC2 gives a spot instance two minutes' notice before reclaiming it.
pub const DEFAULT_SPOT_NOTICE: SimDuration = SimDuration::from_mins(2);
/// How long a `rebootNodes` machine stays down unless `for:` says.
pub const DEFAULT_REBOOT_TIME: SimDuration = SimDuration::from_mins(1);

/// A distribution of durations, for stochastic faults' time between failures and time to
/// repair.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    Fixed(SimDuration),
    Exponential {
        mean: SimDuration,
    },
    /// Weibull with shape k and scale λ (mean λ·Γ(1+1/k)).
    Weibull {
        shape: f64,
        scale: SimDuration,
    },
}

impl Distribution {
    /// One draw, by inversion of the CDF from `u` uniform in [0, 1).
    pub fn sample(self, u: f64) -> SimDuration {
        let u = u.clamp(0.0, 1.0 - f64::EPSILON);
        let secs = match self {
            Distribution::Fixed(d) => return d,
            Distribution::Exponential { mean } => -mean.as_secs_f64() * (1.0 - u).ln(),
            Distribution::Weibull { shape, scale } => {
                scale.as_secs_f64() * (-(1.0 - u).ln()).powf(1.0 / shape)
            }
        };
        SimDuration::from_nanos((secs * 1e9).clamp(0.0, u64::MAX as f64 / 2.0) as u64)
    }
}

/// A fault that strikes its targets at random (`faults:`): each target independently fails
/// after a time drawn from `mtbf` and recovers after one drawn from `mttr`, for the targets'
/// whole life (node faults) or as a process over the targets (pod faults), between `from`
/// and `until`.
#[derive(Clone, Debug, PartialEq)]
pub struct StochasticFault {
    pub fault: Fault,
    pub mtbf: Distribution,
    pub mttr: Distribution,
    pub from: SimDuration,
    pub until: Option<SimDuration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_take_at_least_one_when_any_match() {
        assert_eq!(Amount::All.of(7), 7);
        assert_eq!(Amount::Count(3).of(7), 3);
        assert_eq!(Amount::Count(30).of(7), 7);
        assert_eq!(Amount::Percent(10.0).of(7), 1);
        assert_eq!(Amount::Percent(50.0).of(7), 4);
        assert_eq!(Amount::Percent(0.0).of(7), 0);
        assert_eq!(Amount::Percent(100.0).of(0), 0);
    }

    #[test]
    fn distributions_invert_their_cdf() {
        let mean = SimDuration::from_hours(2);
        // Median of an exponential is mean·ln 2.
        let median = Distribution::Exponential { mean }.sample(0.5);
        assert!((median.as_secs_f64() - 7200.0 * std::f64::consts::LN_2).abs() < 1e-3);
        // Weibull with shape 1 is exponential with mean = scale.
        let w = Distribution::Weibull {
            shape: 1.0,
            scale: mean,
        }
        .sample(0.5);
        assert!((w.as_secs_f64() - median.as_secs_f64()).abs() < 1e-3);
        // Median of a Weibull is λ(ln 2)^(1/k).
        let w2 = Distribution::Weibull {
            shape: 2.0,
            scale: mean,
        }
        .sample(0.5);
        assert!((w2.as_secs_f64() - 7200.0 * std::f64::consts::LN_2.sqrt()).abs() < 1e-3);
        assert_eq!(Distribution::Fixed(mean).sample(0.9), mean);
    }
}
