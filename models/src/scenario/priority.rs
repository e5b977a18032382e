//! PriorityClass and PodDisruptionBudget manifests, the priority admission every pod and pod
//! template goes through once all manifests are read (a class may be declared after the pods
//! that use it), and workloads that arrive later (`workloads: [{at: 2m, file: …}]`).

use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::api::scheduling::v1 as scheduling;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_yaml::Value;
use sim_core::SimDuration;

use super::Collected;
use super::convert::{self, Ctx};
use super::diagnostic::{Diagnostic, did_you_mean};
use super::source::{At, Seg, SourceRef};
use crate::api::{
    Deployment, IntOrPercent, Pod, PodDisruptionBudget, PreemptionPolicy, PriorityClass,
    PriorityClasses, ReplicaSet,
};

/// Which collected object an admission check is for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    Pod(usize),
    ReplicaSet(usize),
    Deployment(usize),
    StatefulSet(usize),
    DaemonSet(usize),
    Job(usize),
    CronJob(usize),
}

/// What a pod spec says about priority, and where, for admission after loading.
#[derive(Clone, Debug)]
pub(crate) struct AdmissionRef {
    pub target: Target,
    pub class_name: Option<String>,
    pub priority: Option<i32>,
    pub policy: Option<PreemptionPolicy>,
    /// Where errors point: `priorityClassName` if given, else `priority`, else the spec.
    pub at: Diagnostic,
}

/// Notes a pod spec for admission; `spec_path` is where the spec sits in the manifest.
pub(crate) fn note_spec(
    out: &mut Collected,
    src: &SourceRef,
    target: Target,
    spec: &k8s_openapi::api::core::v1::PodSpec,
    spec_path: &[Seg],
) {
    let field = if spec
        .priority_class_name
        .as_deref()
        .is_some_and(|c| !c.is_empty())
    {
        "priorityClassName"
    } else if spec.priority.is_some() {
        "priority"
    } else {
        ""
    };
    let mut path = spec_path.to_vec();
    if !field.is_empty() {
        path.push(Seg::key(field));
    }
    out.admission.push(AdmissionRef {
        target,
        class_name: spec.priority_class_name.clone().filter(|c| !c.is_empty()),
        priority: spec.priority,
        policy: spec
            .preemption_policy
            .as_deref()
            .and_then(PreemptionPolicy::parse),
        at: src.at(&path, At::Value, String::new()),
    });
}

/// Checks `spec.preemptionPolicy` (validation: "supported values: Never, PreemptLowerPriority").
pub(crate) fn preemption_policy(
    src: &SourceRef,
    value: Option<&str>,
    spec_path: &[Seg],
) -> Result<PreemptionPolicy, Diagnostic> {
    match value {
        None => Ok(PreemptionPolicy::PreemptLowerPriority),
        Some(text) => PreemptionPolicy::parse(text).ok_or_else(|| {
            let mut path = spec_path.to_vec();
            path.push(Seg::key("preemptionPolicy"));
            src.at(
                &path,
                At::Value,
                format!(
                    "preemptionPolicy: Unsupported value: \"{text}\": supported values: \"Never\", \"PreemptLowerPriority\"{}",
                    did_you_mean(text, ["Never", "PreemptLowerPriority"])
                ),
            )
        }),
    }
}

pub(crate) fn priority_class(
    ctx: &Ctx<'_>,
    c: &scheduling::PriorityClass,
    serial: usize,
) -> Result<PriorityClass, Diagnostic> {
    let name = convert::object_name(ctx, &c.metadata, "PriorityClass", serial)?;
    let preemption_policy = preemption_policy(ctx.src, c.preemption_policy.as_deref(), &[])?;
    Ok(PriorityClass {
        name,
        value: c.value,
        global_default: c.global_default.unwrap_or(false),
        preemption_policy,
    })
}

fn int_or_percent(
    ctx: &Ctx<'_>,
    value: &IntOrString,
    field: &str,
) -> Result<IntOrPercent, Diagnostic> {
    let path = [Seg::key("spec"), Seg::key(field)];
    let err = |m: String| ctx.src.at(&path, At::Value, format!("spec.{field}: {m}"));
    // Upstream ValidatePodDisruptionBudgetSpec → ValidatePositiveIntOrPercent and
    // IsNotMoreThan100Percent.
    match value {
        IntOrString::Int(n) if *n < 0 => Err(err(format!(
            "Invalid value: {n}: must be greater than or equal to 0"
        ))),
        IntOrString::Int(n) => Ok(IntOrPercent::Int(*n)),
        IntOrString::String(text) => match IntOrPercent::parse_percent(text) {
            Some(IntOrPercent::Percent(p)) if !(0..=100).contains(&p) => Err(err(format!(
                "Invalid value: \"{text}\": must be no more than 100% and not negative"
            ))),
            Some(v) => Ok(v),
            None => Err(err(format!(
                "Invalid value: \"{text}\": must be an integer or percentage (e.g '5%')"
            ))),
        },
    }
}

pub(crate) fn pdb(
    ctx: &Ctx<'_>,
    p: &policy::PodDisruptionBudget,
    serial: usize,
) -> Result<PodDisruptionBudget, Diagnostic> {
    let name = convert::object_name(ctx, &p.metadata, "PodDisruptionBudget", serial)?;
    let namespace = p
        .metadata
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_string());
    let spec = p.spec.clone().unwrap_or_default();
    let min_available = spec
        .min_available
        .as_ref()
        .map(|v| int_or_percent(ctx, v, "minAvailable"))
        .transpose()?;
    let max_unavailable = spec
        .max_unavailable
        .as_ref()
        .map(|v| int_or_percent(ctx, v, "maxUnavailable"))
        .transpose()?;
    if min_available.is_some() && max_unavailable.is_some() {
        return Err(ctx.src.at(
            &[Seg::key("spec")],
            At::Value,
            "spec: Invalid value: minAvailable and maxUnavailable cannot be both set",
        ));
    }
    let selector = match &spec.selector {
        Some(s) => Some(convert::label_selector(
            ctx,
            s,
            &[Seg::key("spec"), Seg::key("selector")],
        )?),
        None => None,
    };
    Ok(PodDisruptionBudget {
        name,
        namespace,
        selector,
        min_available,
        max_unavailable,
    })
}

fn pod_of(out: &mut Collected, target: Target) -> Option<&mut Pod> {
    match target {
        Target::Pod(i) => out.pods.get_mut(i).map(|(p, _)| p),
        Target::ReplicaSet(i) => out
            .replica_sets
            .get_mut(i)
            .map(|(r, _)| &mut r.template.pod),
        Target::Deployment(i) => out.deployments.get_mut(i).map(|(d, _)| &mut d.template.pod),
        Target::StatefulSet(i) => out
            .stateful_sets
            .get_mut(i)
            .map(|(x, _)| &mut x.template.pod),
        Target::DaemonSet(i) => out.daemon_sets.get_mut(i).map(|(x, _)| &mut x.template.pod),
        Target::Job(i) => out.jobs.get_mut(i).map(|(x, _)| &mut x.template.pod),
        Target::CronJob(i) => out
            .cron_jobs
            .get_mut(i)
            .map(|(x, _)| &mut x.job_template.template.pod),
    }
}

/// Builds the cluster's PriorityClasses and admits every pod and template, as the API
/// server's priority admission plugin does on create. Problems go to `out.errors`.
pub(crate) fn admit(out: &mut Collected) -> PriorityClasses {
    let mut classes = PriorityClasses::default();
    for (class, at) in &out.priority_classes {
        if let Err(m) = classes.add(class.clone()) {
            out.errors.push(Diagnostic {
                message: format!("PriorityClass {}: {m}", class.name),
                ..at.clone()
            });
        }
    }
    admit_with(&classes, out);
    classes
}

/// Admits every pod and template of `out` against `classes` (objects applied by the timeline
/// are admitted against the scenario's classes). Problems go to `out.errors`.
pub(crate) fn admit_with(classes: &PriorityClasses, out: &mut Collected) {
    let refs = std::mem::take(&mut out.admission);
    for r in &refs {
        let admitted = classes
            .admit(r.class_name.as_deref(), r.priority, r.policy)
            .map_err(|m| {
                let hint = match &r.class_name {
                    Some(c) if classes.get(c).is_none() => {
                        let names: Vec<String> = classes.iter().map(|c| c.name.clone()).collect();
                        let hint = did_you_mean(c, names.iter().map(String::as_str));
                        if hint.is_empty() {
                            " (declare it with a scheduling.k8s.io/v1 PriorityClass manifest)"
                                .to_string()
                        } else {
                            hint
                        }
                    }
                    _ => String::new(),
                };
                Diagnostic {
                    message: format!("pods \"forbidden\": {m}{hint}"),
                    ..r.at.clone()
                }
            });
        match admitted {
            Ok(admitted) => {
                if let Some(pod) = pod_of(out, r.target) {
                    pod.priority = admitted.priority;
                    pod.preemption_policy = admitted.preemption_policy;
                    pod.priority_class_name = admitted.class_name;
                }
            }
            Err(d) => out.errors.push(d),
        }
    }
}

/// Workloads that arrive `at` after the start (delayed `workloads:` entries, and the timeline's
/// `apply`). `replica_sets` holds ReplicationControllers too (see `ReplicaSet::kind`).
#[derive(Clone, Debug, Default)]
pub struct Workloads {
    pub at: SimDuration,
    pub pods: Vec<Pod>,
    pub replica_sets: Vec<ReplicaSet>,
    pub deployments: Vec<Deployment>,
    pub stateful_sets: Vec<crate::api::StatefulSet>,
    pub daemon_sets: Vec<crate::api::DaemonSet>,
    pub jobs: Vec<crate::api::Job>,
    pub cron_jobs: Vec<crate::api::CronJob>,
    pub claims: Vec<crate::api::PersistentVolumeClaim>,
    pub volumes: Vec<crate::api::PersistentVolume>,
    /// PodDisruptionBudgets created then (only `apply` fills this; the PDBs of delayed
    /// `workloads:` entries exist from the start).
    pub pdbs: Vec<PodDisruptionBudget>,
    /// HorizontalPodAutoscalers (those of the start only).
    pub hpas: Vec<crate::api::autoscaling::HorizontalPodAutoscaler>,
    /// Services, Ingresses and HTTPRoutes created then.
    pub network: super::network::NetworkManifests,
}

/// How many objects had been collected when a workloads entry started.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pods: usize,
    replica_sets: usize,
    deployments: usize,
    stateful_sets: usize,
    daemon_sets: usize,
    jobs: usize,
    cron_jobs: usize,
    claims: usize,
    volumes: usize,
    network: [usize; 3],
}

impl Collected {
    pub(crate) fn counts(&self) -> Counts {
        Counts {
            pods: self.pods.len(),
            replica_sets: self.replica_sets.len(),
            deployments: self.deployments.len(),
            stateful_sets: self.stateful_sets.len(),
            daemon_sets: self.daemon_sets.len(),
            jobs: self.jobs.len(),
            cron_jobs: self.cron_jobs.len(),
            claims: self.claims.len(),
            volumes: self.volumes.len(),
            network: self.network.counts(),
        }
    }
}

/// Splits `at:` off a `workloads` entry: the entry without it, and the arrival time.
pub(crate) fn split_arrival(
    src: &SourceRef,
    item: &Value,
    path: &[Seg],
) -> Result<(Value, Option<SimDuration>), Diagnostic> {
    let Value::Mapping(map) = item else {
        return Ok((item.clone(), None));
    };
    let Some(at) = map.get("at") else {
        return Ok((item.clone(), None));
    };
    let mut at_path = path.to_vec();
    at_path.push(Seg::key("at"));
    let parsed = match at {
        Value::String(text) => text
            .trim()
            .parse::<SimDuration>()
            .map_err(|e| e.to_string()),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(SimDuration::ZERO),
        other => Err(format!(
            "expected a duration such as \"2m\", got {}",
            serde_yaml::to_string(other).unwrap_or_default().trim()
        )),
    }
    .map_err(|m| {
        src.at(
            &at_path,
            At::Value,
            format!("{}: {m}", super::source::path_string(&at_path)),
        )
    })?;
    let mut rest = map.clone();
    rest.remove("at");
    Ok((Value::Mapping(rest), Some(parsed)))
}

/// Moves the objects of delayed entries out of `out`, one [`Workloads`] per entry, in file
/// order. `arrivals` holds each delayed entry's time and the counts before and after it.
pub(crate) fn take_delayed(
    out: &mut Collected,
    arrivals: &[(SimDuration, Counts, Counts)],
) -> Vec<Workloads> {
    fn take<T>(items: &mut Vec<(T, Diagnostic)>, ranges: &[(usize, usize)]) -> Vec<Vec<T>> {
        let mut groups: Vec<Vec<T>> = ranges.iter().map(|_| Vec::new()).collect();
        let mut kept = Vec::with_capacity(items.len());
        for (i, item) in std::mem::take(items).into_iter().enumerate() {
            match ranges.iter().position(|(lo, hi)| (*lo..*hi).contains(&i)) {
                Some(g) => groups[g].push(item.0),
                None => kept.push(item),
            }
        }
        *items = kept;
        groups
    }
    let range = |f: fn(&Counts) -> usize| -> Vec<(usize, usize)> {
        arrivals.iter().map(|(_, a, b)| (f(a), f(b))).collect()
    };
    let pods = take(&mut out.pods, &range(|c| c.pods));
    let replica_sets = take(&mut out.replica_sets, &range(|c| c.replica_sets));
    let deployments = take(&mut out.deployments, &range(|c| c.deployments));
    let stateful_sets = take(&mut out.stateful_sets, &range(|c| c.stateful_sets));
    let daemon_sets = take(&mut out.daemon_sets, &range(|c| c.daemon_sets));
    let jobs = take(&mut out.jobs, &range(|c| c.jobs));
    let cron_jobs = take(&mut out.cron_jobs, &range(|c| c.cron_jobs));
    let claims = take(&mut out.claims, &range(|c| c.claims));
    let volumes = take(&mut out.volumes, &range(|c| c.volumes));
    // Later entries first, so each range still holds when it is cut.
    let mut network: Vec<super::network::NetworkManifests> = arrivals
        .iter()
        .rev()
        .map(|(_, a, b)| out.network.take_range(a.network, b.network))
        .collect();
    network.reverse();
    let mut network = network.into_iter();
    let mut groups = (
        pods.into_iter(),
        replica_sets.into_iter(),
        deployments.into_iter(),
        stateful_sets.into_iter(),
        daemon_sets.into_iter(),
        jobs.into_iter(),
        cron_jobs.into_iter(),
        claims.into_iter(),
        volumes.into_iter(),
    );
    arrivals
        .iter()
        .map(|(at, _, _)| Workloads {
            at: *at,
            pods: groups.0.next().unwrap_or_default(),
            replica_sets: groups.1.next().unwrap_or_default(),
            deployments: groups.2.next().unwrap_or_default(),
            stateful_sets: groups.3.next().unwrap_or_default(),
            daemon_sets: groups.4.next().unwrap_or_default(),
            jobs: groups.5.next().unwrap_or_default(),
            cron_jobs: groups.6.next().unwrap_or_default(),
            claims: groups.7.next().unwrap_or_default(),
            volumes: groups.8.next().unwrap_or_default(),
            pdbs: Vec::new(),
            hpas: Vec::new(),
            network: network.next().unwrap_or_default(),
        })
        .collect()
}
