//! Real inputs run as a real cluster would: a `kubectl get all -o yaml` dump replays the pods
//! it lists (adopted, not duplicated), and unmodified public manifest sets with CRDs and custom
//! resources (Istio's bookinfo, kube-prometheus) load, list what is not simulated, and run
//! every Deployment pod — including those that select `kubernetes.io/os: linux` nodes — and
//! DaemonSet pod; the Kubernetes website's StatefulSet, DaemonSet, Job and CronJob examples run
//! every pod a real cluster would run.

use std::path::Path;

use models::run::{RunOptions, RunOutcome, run};
use models::scenario::{load, load_str};
use models::scheduler::Registry;

fn run_scenario(s: &models::scenario::Scenario) -> RunOutcome {
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    run(s, &Registry::default_plugins(), &options, |_, _| {}).unwrap_or_else(|d| panic!("{d}"))
}

fn reasons(o: &RunOutcome, reason: &str) -> Vec<(String, String)> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.reason == reason)
        .map(|e| (e.object.clone(), e.message.clone()))
        .collect()
}

#[test]
fn a_dump_replays_exactly_the_pods_it_lists() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/replay-dump.yaml");
    let s = load(&path).unwrap_or_else(|d| panic!("{d}"));
    let o = run_scenario(&s);
    let world = o.simulation.world();
    assert!(world.checkers.as_ref().unwrap().violations.is_empty());
    let api = &world.api;
    let rs = api
        .replica_set_id("shop", "web-6d4cf56db6")
        .expect("the dumped ReplicaSet");
    let rs = api.replica_set(rs);
    // Adopted, not duplicated: the two live dumped pods are still there, and the only pod the
    // ReplicaSet created replaces the one the dump showed terminating.
    let created = reasons(&o, "SuccessfulCreate");
    assert_eq!(created.len(), 1, "{created:?}");
    for name in ["web-6d4cf56db6-8xk2p", "web-6d4cf56db6-q7m4d"] {
        let id = api
            .store
            .pod_id(&format!("shop/{name}"))
            .expect("dumped pod");
        let r = api.store.pod(id);
        assert!(r.is_active() && r.ready, "{name} runs from the start");
        assert!(r.running_at.is_some());
    }
    let gone = api
        .store
        .pods
        .iter()
        .find(|p| p.pod.name == "web-6d4cf56db6-zz9tk")
        .unwrap();
    assert!(
        !gone.is_active(),
        "the terminating pod finished terminating"
    );
    assert_eq!(rs.status.replicas, 3);
    assert_eq!(rs.status.ready_replicas, 3);
    // The Deployment found its ReplicaSets: no new ReplicaSet, no scaling.
    assert!(reasons(&o, "ScalingReplicaSet").is_empty());
    assert_eq!(api.replica_sets.iter().filter(|r| r.exists()).count(), 2);
    // The scheduling gate holds its pod.
    let gated = api
        .store
        .pod(api.store.pod_id("shop/gated-import").unwrap());
    assert!(gated.node.is_none() && gated.is_active());
}

fn public_scenario() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/public");
    let mut s = String::from(
        "name: public\nduration: 5m\ncluster:\n  nodePools: [{name: general, count: 3, resources: {cpu: \"4\", memory: 16Gi}, zones: [a, b, c]}]\nworkloads:\n",
    );
    let mut files: Vec<_> = ["bookinfo", "kube-prometheus", "kube-prometheus/setup"]
        .iter()
        .flat_map(|d| std::fs::read_dir(dir.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for f in files {
        s.push_str(&format!("  - file: {}\n", f.display()));
    }
    s
}

#[test]
fn public_manifest_sets_with_custom_resources_load_and_run() {
    let s = load_str("public.yaml", &public_scenario(), Path::new("."))
        .unwrap_or_else(|d| panic!("{d}"));
    let ignored: Vec<String> = s.ignored.iter().map(|o| o.to_string()).collect();
    for kind in [
        "VirtualService",
        "Gateway",
        "DestinationRule",
        "Prometheus",
        "ServiceMonitor",
        "PrometheusRule",
        "CustomResourceDefinition",
    ] {
        assert!(
            ignored.iter().any(|o| o.starts_with(&format!("{kind}/"))),
            "{kind} listed as ignored: {ignored:?}"
        );
    }
    let o = run_scenario(&s);
    let api = &o.simulation.world().api;
    // bookinfo: 6 Deployments of 1; kube-prometheus: 5 Deployments, 6 replicas in all.
    assert_eq!(api.deployments.len(), 11);
    for d in &api.deployments {
        assert_eq!(
            d.status.available_replicas, d.d.replicas,
            "deployment/{}",
            d.d.name
        );
    }
    let linux = api
        .store
        .active_pods()
        .filter(|p| {
            p.pod
                .node_selector
                .iter()
                .any(|r| r.key == "kubernetes.io/os")
        })
        .count();
    assert!(
        linux >= 6,
        "pods selecting kubernetes.io/os run on pool nodes: {linux}"
    );
    assert_eq!(o.summary.pods.pending, 0);
    // kube-prometheus's node-exporter DaemonSet: one Running pod on each of the 3 nodes.
    let exporter = api
        .object_id::<models::api::DaemonSet>("monitoring", "node-exporter")
        .expect("node-exporter DaemonSet is simulated");
    let obj = api.object::<models::api::DaemonSet>(exporter);
    assert_eq!(obj.status.desired_number_scheduled, 3);
    assert_eq!(obj.status.number_available, 3);
    let mut nodes: Vec<_> = obj
        .pods
        .iter()
        .map(|p| api.store.pod(*p))
        .filter(|r| r.is_active() && r.phase == models::api::PodPhase::Running)
        .map(|r| r.node.expect("running pods are bound"))
        .collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes.len(), 3, "one node-exporter per node");
}

/// The Kubernetes website's examples, unmodified: Cassandra (a StatefulSet of 3 with its own
/// StorageClass, whatever its provisioner), nginx `web` (a StatefulSet of 2 with claims on the
/// default class), fluentd (a DaemonSet that tolerates control-plane nodes), the `pi` Job and
/// the `hello` CronJob. Every pod a real cluster would run, runs.
#[test]
fn kubernetes_website_examples_run_every_pod_a_cluster_would() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/public/k8s-website");
    let mut text = String::from(
        "name: website
duration: 10m
cluster:
  nodePools:
    - {name: general, count: 3, resources: {cpu: \"4\", memory: 16Gi}, zones: [a, b, c]}
    - {name: control, count: 1, resources: {cpu: \"2\", memory: 8Gi}, taints: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]}
workloads:
",
    );
    for f in [
        "cassandra-statefulset.yaml",
        "web.yaml",
        "fluentd-daemonset.yaml",
        "job.yaml",
        "cronjob.yaml",
    ] {
        text.push_str(&format!("  - file: {}\n", dir.join(f).display()));
    }
    let s = load_str("website.yaml", &text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    for kind in ["StatefulSet", "DaemonSet", "Job", "CronJob", "StorageClass"] {
        assert!(
            !s.warnings
                .iter()
                .any(|w| w.contains(kind) && w.contains("not simulated")),
            "{kind} is simulated: {:?}",
            s.warnings
        );
    }
    let o = run_scenario(&s);
    let api = &o.simulation.world().api;
    let running = |ids: &std::collections::BTreeSet<models::api::PodId>| {
        ids.iter()
            .map(|p| api.store.pod(*p))
            .filter(|r| r.is_active() && r.phase == models::api::PodPhase::Running && r.ready)
            .count()
    };
    for (name, replicas) in [("cassandra", 3), ("web", 2)] {
        let id = api
            .object_id::<models::api::StatefulSet>("default", name)
            .unwrap_or_else(|| panic!("StatefulSet {name}"));
        let sts = api.object::<models::api::StatefulSet>(id);
        assert_eq!(running(&sts.pods), replicas, "statefulset/{name}");
        assert_eq!(
            sts.status.ready_replicas as usize, replicas,
            "statefulset/{name}"
        );
    }
    // Each StatefulSet pod's claim is bound to a volume in its node's zone.
    let storage = &api.store.storage;
    let bound = storage
        .claims
        .iter()
        .filter(|c| !c.deleted && c.volume.is_some())
        .count();
    assert_eq!(
        bound, 5,
        "3 cassandra-data claims and 2 www claims are bound"
    );
    assert!(
        storage
            .claims
            .iter()
            .any(|c| c.claim.storage_class.as_deref() == Some("fast")),
        "Cassandra's claims use its own StorageClass"
    );
    let fluentd = api
        .object_id::<models::api::DaemonSet>("kube-system", "fluentd-elasticsearch")
        .expect("fluentd DaemonSet");
    let fluentd = api.object::<models::api::DaemonSet>(fluentd);
    assert_eq!(
        fluentd.status.number_available, 4,
        "fluentd runs on the 3 general nodes and, tolerating it, the control-plane node"
    );
    let pi = api
        .object_id::<models::api::Job>("default", "pi")
        .expect("pi Job");
    let pi = api.object::<models::api::Job>(pi);
    assert!(pi.status.condition("Complete").is_some(), "{:?}", pi.status);
    assert_eq!(pi.status.succeeded, 1);
    let hello = api
        .object_id::<models::api::CronJob>("default", "hello")
        .expect("hello CronJob");
    let hello = api.object::<models::api::CronJob>(hello);
    // `* * * * *` for 10 minutes: runs at minutes 1..=9, the history keeps the last 3.
    assert!(hello.status.last_schedule_time.is_some());
    let runs = reasons(&o, "SuccessfulCreate")
        .iter()
        .filter(|(object, _)| object == "cronjob/hello")
        .count();
    assert_eq!(runs, 9, "one Job a minute");
    assert_eq!(o.summary.pods.pending, 0);
}
