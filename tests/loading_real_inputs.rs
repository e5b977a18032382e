//! Real inputs load: a `kubectl get all -o yaml` dump, an operator bundle full of CRDs and
//! custom resources, pool nodes labelled as a kubelet and a cloud provider label them, every
//! timeline action, and a scenario with several problems, each reported at its place.
//!
//! The fixtures are under `tests/fixtures/real/`; expected positions are derived from the
//! fixture text (the offending token is searched for), so editing comments does not break them.

use std::path::{Path, PathBuf};

use models::api::node::{
    LABEL_ARCH, LABEL_ARCH_BETA, LABEL_INSTANCE_TYPE, LABEL_INSTANCE_TYPE_BETA, LABEL_OS,
    LABEL_OS_BETA, LABEL_REGION, LABEL_REGION_BETA, LABEL_ZONE_BETA,
};
use models::api::{
    DeploymentStrategy, IntOrPercent, LABEL_HOSTNAME, LABEL_ZONE, OwnerKind, PodPhase, WorkloadId,
};
use models::scenario::{self, Action, ObjectKind, Propagation, Scenario};
use sim_core::SimDuration;

fn real(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real")
        .join(name)
}

fn load(name: &str) -> Scenario {
    scenario::load(&real(name)).unwrap_or_else(|d| panic!("{name} does not load:\n{d}"))
}

/// 1-based (line, column) of the first occurrence of `token` in `file` outside comment lines.
fn position_of(file: &str, token: &str) -> (usize, usize) {
    let path = real(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(at) = line.find(token) {
            return (i + 1, line[..at].chars().count() + 1);
        }
    }
    panic!("{token:?} not found in {file}")
}

#[test]
fn a_kubectl_get_all_dump_replays_with_owners_and_status() {
    let s = load("dump.yaml");
    // Deployment, its two ReplicaSets (current and revision 1 at zero replicas), five pods.
    assert_eq!(s.deployments.len(), 1);
    let d = &s.deployments[0];
    assert_eq!(
        (d.namespace.as_str(), d.name.as_str(), d.replicas),
        ("shop", "web", 3)
    );
    assert_eq!(
        d.strategy,
        DeploymentStrategy::RollingUpdate {
            max_surge: IntOrPercent::Percent(25),
            max_unavailable: IntOrPercent::Percent(25),
        }
    );
    assert_eq!(
        d.annotations
            .get("deployment.kubernetes.io/revision")
            .map(String::as_str),
        Some("2")
    );
    let rs: Vec<(&str, i32, Option<&str>)> = s
        .replica_sets
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.replicas,
                r.annotations
                    .get("deployment.kubernetes.io/revision")
                    .map(String::as_str),
            )
        })
        .collect();
    assert_eq!(
        rs,
        [
            ("web-7b9d5c8f4", 0, Some("1")),
            ("web-6d4cf56db6", 3, Some("2"))
        ]
    );
    for r in &s.replica_sets {
        let owner = r
            .owner
            .as_ref()
            .expect("a Deployment's ReplicaSet has its owner");
        assert_eq!(
            (owner.kind, owner.name.as_str(), owner.id),
            (OwnerKind::Deployment, "web", WorkloadId::UNRESOLVED)
        );
        assert_eq!(r.kind, OwnerKind::ReplicaSet);
    }
    assert_eq!(
        s.replica_sets[1].labels.get("pod-template-hash"),
        Some("6d4cf56db6")
    );

    assert_eq!(s.pods.len(), 5);
    let pod = |name: &str| {
        s.pods
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no pod {name}"))
    };
    // The dump's moment is the latest time it records: web-…-q7m4d turned Ready at 09:40:05
    // (the terminating pod's deletionTimestamp, 09:40:35, is a deadline, not a record).
    let first = pod("web-6d4cf56db6-8xk2p");
    let owner = first.owner.as_ref().unwrap();
    assert_eq!(
        (owner.kind, owner.name.as_str()),
        (OwnerKind::ReplicaSet, "web-6d4cf56db6")
    );
    assert_eq!(first.node_name.as_deref(), Some("general-0"));
    let d = first.dumped.as_deref().unwrap();
    // 09:40:05 − 09:12:31 = 27m34s = 1654s.
    assert_eq!(d.start_time_offset_secs, Some(-1654));
    assert_eq!(d.creation_offset_secs, Some(-1654));
    assert_eq!(
        (d.phase, d.ready, d.terminating, d.restarts),
        (Some(PodPhase::Running), true, false, 0)
    );

    let restarted = pod("web-6d4cf56db6-q7m4d");
    assert_eq!(restarted.deletion_cost, -100);
    let d = restarted.dumped.as_deref().unwrap();
    assert_eq!(
        (d.start_time_offset_secs, d.restarts, d.ready),
        (Some(-1649), 2, true)
    );

    let terminating = pod("web-6d4cf56db6-zz9tk").dumped.as_deref().unwrap();
    assert!(terminating.terminating);
    assert!(!terminating.ready);
    assert_eq!(terminating.start_time_offset_secs, Some(-1645));

    let gated = pod("gated-import");
    assert_eq!(gated.scheduling_gates, ["example.com/quota-check"]);
    assert_eq!(gated.node_name, None);
    let d = gated.dumped.as_deref().unwrap();
    assert_eq!(
        (d.phase, d.start_time_offset_secs, d.creation_offset_secs),
        (Some(PodPhase::Pending), None, Some(-125))
    );

    // A finished Job pod is loaded (it takes no resources), owned by its Job.
    let job_pod = pod("nightly-28595520-xk7pq");
    assert_eq!(
        job_pod.owner.as_ref().map(|o| (o.kind, o.name.as_str())),
        Some((models::api::OwnerKind::Job, "nightly-28595520"))
    );
    let d = job_pod.dumped.as_deref().unwrap();
    // 09:40:05 − 08:00:00 = 1h40m05s = 6005s.
    assert_eq!(
        (d.phase, d.start_time_offset_secs),
        (Some(PodPhase::Succeeded), Some(-6005))
    );

    // The Service and the Job are simulated; nothing is left over.
    let ignored: Vec<String> = s.ignored.iter().map(ToString::to_string).collect();
    assert!(ignored.is_empty(), "{ignored:?}");
    assert_eq!(s.network.services.len(), 1);
    assert_eq!(s.jobs.len(), 1);
    assert_eq!(s.jobs[0].name, "nightly-28595520");
    assert_eq!(
        s.service_selectors
            .get(&("shop".to_string(), "web".to_string()))
            .and_then(|l| l.get("app")),
        Some("web")
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn crds_and_custom_resources_are_listed_as_ignored_with_their_location() {
    let s = load("operators.yaml");
    assert_eq!(s.deployments.len(), 1);
    assert_eq!(s.deployments[0].name, "prometheus-operator");
    let ignored: Vec<String> = s.ignored.iter().map(ToString::to_string).collect();
    assert_eq!(
        ignored,
        [
            "CustomResourceDefinition/servicemonitors.monitoring.coreos.com",
            "ServiceAccount/prometheus-operator",
            "ClusterRole/prometheus-operator",
            "Prometheus/k8s",
            "ServiceMonitor/web",
            "VirtualService/reviews",
            "Gateway/edge",
            "Certificate/shop-tls",
            "DestinationRule/reviews",
        ]
    );
    let at = |kind: &str| s.ignored.iter().find(|i| i.kind == kind).unwrap();
    let prometheus = at("Prometheus");
    assert!(
        prometheus.file.ends_with("operator-bundle.yaml"),
        "{}",
        prometheus.file
    );
    assert_eq!(
        prometheus.line,
        position_of(
            "operator-bundle.yaml",
            "apiVersion: monitoring.coreos.com/v1"
        )
        .0
    );
    assert_eq!(prometheus.namespace.as_deref(), Some("monitoring"));
    assert_eq!(
        at("Gateway").line,
        // The document's first line, just above its kind.
        position_of("operator-bundle.yaml", "kind: Gateway").0 - 1
    );
    // The HTTPRoute routes traffic, so it is simulated, not listed.
    assert_eq!(s.network.http_routes.len(), 1);
    // Custom resources are not a warning: nothing is missing from the simulation.
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn pool_nodes_are_labelled_like_real_nodes() {
    let s = load("pools.yaml");
    let node = |name: &str| s.nodes.iter().find(|n| n.name == name).unwrap();
    let n = node("general-3");
    let expect = [
        (LABEL_HOSTNAME, "general-3"),
        (LABEL_OS, "linux"),
        (LABEL_OS_BETA, "linux"),
        (LABEL_ARCH, "amd64"),
        (LABEL_ARCH_BETA, "amd64"),
        (LABEL_ZONE, "us-east-1b"),
        (LABEL_ZONE_BETA, "us-east-1b"),
        (LABEL_REGION, "us-east-1"),
        (LABEL_REGION_BETA, "us-east-1"),
        (LABEL_INSTANCE_TYPE, "m6i.2xlarge"),
        (LABEL_INSTANCE_TYPE_BETA, "m6i.2xlarge"),
        ("kubesim.io/pool", "general"),
    ];
    for (label, value) in expect {
        assert_eq!(n.labels.get(label), Some(value), "{label}");
    }
    assert_eq!(n.allocatable.ephemeral_storage, 100 << 30);
    // The graviton pool overrides the arch and instance type; the beta forms follow.
    let g = node("graviton-1");
    assert_eq!(g.labels.get(LABEL_ARCH), Some("arm64"));
    assert_eq!(g.labels.get(LABEL_ARCH_BETA), Some("arm64"));
    assert_eq!(g.labels.get(LABEL_INSTANCE_TYPE), Some("m7g.large-custom"));
    assert_eq!(
        g.labels.get(LABEL_INSTANCE_TYPE_BETA),
        Some("m7g.large-custom")
    );
    assert_eq!(g.labels.get(LABEL_REGION), Some("eu-west-1"));
    assert_eq!(g.labels.get(LABEL_ZONE), Some("eu-west-1a"));
    assert_eq!(g.allocatable.ephemeral_storage, 50 << 30);
    // The pod's node selector can be met: the labels it asks for exist on graviton nodes only.
    let pod = &s.pods[0];
    let fits = |labels: &models::api::Labels| {
        pod.node_selector
            .iter()
            .all(|r| labels.get(&r.key) == r.values.first().map(String::as_str))
    };
    assert!(fits(&g.labels));
    assert!(!fits(&n.labels));
}

#[test]
fn every_timeline_action_loads() {
    let s = load("timeline.yaml");
    let verbs: Vec<&str> = s
        .timeline
        .iter()
        .map(|a| match &a.action {
            Action::AddNodes { .. } => "addNodes",
            Action::Rollout { .. } => "rollout",
            Action::Scale { .. } => "scale",
            Action::Rollback { .. } => "rollback",
            Action::Pause { .. } => "pause",
            Action::Resume { .. } => "resume",
            Action::Suspend { suspend: true, .. } => "suspend",
            Action::Suspend { .. } => "unsuspend",
            Action::Apply(_) => "apply",
            Action::Delete { .. } => "delete",
            Action::Cordon { .. } => "cordon",
            Action::Uncordon { .. } => "uncordon",
            Action::Drain { .. } => "drain",
            Action::Fault(f) => f.verb.as_str(),
        })
        .collect();
    assert_eq!(
        verbs,
        [
            "rollout", "rollout", "scale", "scale", "pause", "resume", "rollback", "apply",
            "scale", "addNodes", "cordon", "drain", "uncordon", "delete", "delete", "apply"
        ]
    );
    match &s.timeline[0].action {
        Action::Rollout {
            target,
            image,
            container,
            ..
        } => {
            assert_eq!(
                (target.kind, target.namespace.as_str(), target.name.as_str()),
                (ObjectKind::Deployment, "shop", "frontend")
            );
            assert_eq!(image.as_deref(), Some("frontend:v2"));
            assert_eq!(*container, Some(0));
        }
        other => panic!("{other:?}"),
    }
    match &s.timeline[1].action {
        Action::Rollout {
            image,
            template_annotations,
            ..
        } => {
            assert_eq!(*image, None);
            assert_eq!(
                template_annotations,
                &[(
                    scenario::ANNOTATION_RESTARTED_AT.to_string(),
                    "10m".to_string()
                )]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &s.timeline[3].action,
        Action::Scale { target, replicas: 0 } if target.kind == ObjectKind::ReplicationController
    ));
    match &s.timeline[7].action {
        Action::Apply(w) => {
            assert_eq!(w.at, SimDuration::from_mins(35));
            assert_eq!(w.deployments[0].name, "search");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &s.timeline[11].action,
        Action::Drain { node, timeout: Some(t) } if node == "general-5" && *t == SimDuration::from_mins(10)
    ));
    assert!(matches!(
        &s.timeline[14].action,
        Action::Delete {
            propagation: Propagation::Foreground,
            ..
        }
    ));
    // The scenario's other new keys.
    assert_eq!(s.control_plane.api_latency.hi, SimDuration::ZERO);
    assert_eq!(
        s.control_plane.watch_latency.lo,
        SimDuration::from_millis(20)
    );
    assert!(s.behaviour.workloads["checkout"].never_ready);
    assert!(s.behaviour.failing_images.contains("frontend:v2-typo"));
    assert_eq!(s.replica_sets[0].kind, OwnerKind::ReplicationController);
    // The traffic keys are read (they used to be accepted with a warning).
    let serving = s.behaviour.workloads["frontend"]
        .traffic
        .as_ref()
        .expect("cpuPerRequest and concurrency read");
    assert_eq!(serving.concurrency, 50);
    assert!(
        !s.warnings
            .iter()
            .any(|w| w.contains("behaviour.frontend.cpuPerRequest")),
        "{:?}",
        s.warnings
    );
    assert!(s.ignored.iter().any(|i| i.name == "search-config"));
}

#[test]
fn every_problem_of_a_broken_scenario_is_reported_at_its_place() {
    let d = scenario::load(&real("broken.yaml")).expect_err("broken on purpose");
    let problems = d.problems();
    let expected: [(&str, &str, &str); 9] = [
        (
            "broken/shop.yaml",
            "0}",
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
        ),
        (
            "broken/shop.yaml",
            "Deploymnet",
            "unknown kind \"Deploymnet\" (did you mean \"Deployment\"?)",
        ),
        (
            "broken/shop.yaml",
            "true, uid",
            "only one reference can have Controller set to true",
        ),
        (
            "broken/shop.yaml",
            "{template:",
            "spec.selector: Required value",
        ),
        ("broken/not-yaml.yaml", "", "invalid YAML"),
        ("broken.yaml", "fast", "controlPlane.watchLatency"),
        ("broken.yaml", "sometimes", "expected `never`"),
        ("broken.yaml", "general-9", "no node named \"general-9\""),
        (
            "broken.yaml",
            "genral",
            "no node pool named \"genral\" (did you mean \"general\"?)",
        ),
    ];
    assert_eq!(problems.len(), expected.len(), "{d}");
    for (line, (file, token, message)) in problems.iter().zip(expected) {
        let path = real(file).display().to_string();
        assert!(line.starts_with(&format!("{path}:")), "{line}");
        if !token.is_empty() {
            let (l, c) = position_of(file, token);
            assert!(line.starts_with(&format!("{path}:{l}:{c}: ")), "{line}");
        }
        assert!(line.contains(message), "{line}");
    }
    // The primary location is the first problem's.
    assert_eq!(d.file, real("broken/shop.yaml").display().to_string());
    assert_eq!((d.line, d.column), position_of("broken/shop.yaml", "0}"));
    // References to objects that failed to load are not reported again: the rollout names the
    // broken frontend, the scale the misspelt checkout.
    assert!(!d.to_string().contains("no Deployment named"), "{d}");
}
