//! Zonal storage end to end, through the library's public path: claims bound or provisioned
//! by the persistent-volume controller, the scheduler's volume plugins keeping pods in their
//! volumes' zones, and the kubelet starting a pod only once its claims are bound. Every run
//! checks the invariants after each event (including the volume-zone checker).

use std::path::Path;

use models::api::storage::{AccessMode, VolumeBindingMode};
use models::api::{
    PersistentVolume, PersistentVolumeClaim, Pod, PodPhase, PodVolume, ResourceList, StorageClass,
};
use models::run::{RunOptions, RunOutcome, run};
use models::scenario::{Scenario, load_str};
use models::scheduler::Registry;

const GI: i64 = 1 << 30;

/// Two zones, one node pool each; zone-b's node is small (1 CPU).
const CLUSTER: &str = r#"
name: storage-test
seed: 7
duration: 2m
cluster:
  nodePools:
    - name: a
      count: 2
      resources: {cpu: "8", memory: 32Gi, pods: 110}
      zones: [zone-a]
    - name: b
      count: 1
      resources: {cpu: "1", memory: 4Gi, pods: 110}
      zones: [zone-b]
"#;

fn scenario() -> Scenario {
    load_str("storage-test.yaml", CLUSTER, Path::new(".")).unwrap_or_else(|d| panic!("{d}"))
}

fn claim(name: &str, class: Option<&str>) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        name: name.into(),
        namespace: "default".into(),
        storage_class: class.map(str::to_string),
        request_bytes: 10 * GI,
        access_mode: AccessMode::ReadWriteOnce,
        volume_name: None,
        owner: None,
    }
}

fn pod(name: &str, claim: &str, cpu_milli: i64) -> Pod {
    Pod {
        name: name.into(),
        requests: ResourceList {
            cpu_milli,
            pods: 1,
            ..ResourceList::default()
        },
        volumes: vec![PodVolume::Claim {
            name: claim.into(),
            read_only: false,
        }],
        ..Pod::default()
    }
}

fn run_scenario(s: &Scenario) -> RunOutcome {
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let o =
        run(s, &Registry::default_plugins(), &options, |_, _| {}).unwrap_or_else(|d| panic!("{d}"));
    let checkers = o.simulation.world().checkers.as_ref().expect("checkers on");
    assert!(
        checkers.violations.is_empty(),
        "{:#?}",
        &checkers.violations[..checkers.violations.len().min(5)]
    );
    o
}

fn events<'a>(o: &'a RunOutcome, object: &str) -> Vec<(&'static str, &'a str)> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.object == object)
        .map(|e| (e.reason, e.message.as_str()))
        .collect()
}

/// The pod's phase and the zone of its node.
fn placement(o: &RunOutcome, name: &str) -> (PodPhase, Option<String>) {
    let store = &o.simulation.world().api.store;
    let id = store.pod_id(name).expect("pod exists");
    let r = store.pod(id);
    let zone = r.node.and_then(|n| {
        store
            .node(n)
            .node
            .labels
            .get("topology.kubernetes.io/zone")
            .map(str::to_string)
    });
    (r.phase, zone)
}

fn zone_b_volume() -> PersistentVolume {
    PersistentVolume {
        name: "disk-b".into(),
        storage_class: "standard".into(),
        capacity_bytes: 20 * GI,
        zone: Some("zone-b".into()),
        access_mode: AccessMode::ReadWriteOnce,
        claim: Some(("default".into(), "data".into())),
        dynamic: false,
    }
}

#[test]
fn wait_for_first_consumer_provisions_in_the_nodes_zone() {
    let mut s = scenario();
    s.claims.push(claim("data", None));
    s.pods.push(pod("db", "data", 500));
    let o = run_scenario(&s);
    let (phase, zone) = placement(&o, "db");
    assert_eq!(phase, PodPhase::Running);
    let storage = &o.simulation.world().api.store.storage;
    let c = storage.find_claim("default", "data").expect("claim");
    let v = &storage.volume(c.volume.expect("claim bound")).volume;
    assert!(v.dynamic);
    assert!(v.name.starts_with("pvc-"));
    assert_eq!(v.capacity_bytes, 10 * GI);
    assert_eq!(v.zone, zone);
    let claim_events = events(&o, "persistentvolumeclaim/data");
    let mut reasons: Vec<&str> = claim_events.iter().map(|(r, _)| *r).collect();
    // The controller may see the claim only after the scheduler chose the node (its watch
    // lags), and then has nothing to wait for.
    if reasons.first() == Some(&"WaitForFirstConsumer") {
        reasons.remove(0);
    }
    assert_eq!(
        reasons,
        [
            "ExternalProvisioning",
            "Provisioning",
            "ProvisioningSucceeded"
        ],
        "{claim_events:#?}"
    );
    assert_eq!(
        claim_events.last().map(|e| e.1.to_string()),
        Some(format!("Successfully provisioned volume {}", v.name))
    );
    // The kubelet started the containers only once the volume existed.
    let api = &o.simulation.world().api;
    let created = storage.volume(c.volume.expect("bound")).created;
    let running = api
        .store
        .pod(api.store.pod_id("db").expect("pod"))
        .running_at;
    assert!(
        running.is_some_and(|r| r >= created),
        "{running:?} {created:?}"
    );
}

#[test]
fn a_bound_zonal_volume_keeps_its_pod_in_that_zone() {
    let mut s = scenario();
    s.volumes.push(zone_b_volume());
    let mut c = claim("data", None);
    c.volume_name = Some("disk-b".into());
    s.claims.push(c);
    s.pods.push(pod("db", "data", 500));
    let o = run_scenario(&s);
    assert_eq!(
        placement(&o, "db"),
        (PodPhase::Running, Some("zone-b".into()))
    );
}

#[test]
fn a_zone_b_volume_with_zone_b_full_leaves_the_pod_pending() {
    let mut s = scenario();
    s.volumes.push(zone_b_volume());
    let mut c = claim("data", None);
    c.volume_name = Some("disk-b".into());
    s.claims.push(c);
    // 2 CPUs: only zone-a's nodes have room.
    s.pods.push(pod("db", "data", 2000));
    let o = run_scenario(&s);
    assert_eq!(placement(&o, "db"), (PodPhase::Pending, None));
    let failed: Vec<_> = events(&o, "pod/db")
        .into_iter()
        .filter(|(r, _)| *r == "FailedScheduling")
        .collect();
    let (_, message) = failed.last().expect("FailedScheduling");
    assert!(
        message.contains("0/3 nodes are available")
            && message.contains("1 Insufficient cpu")
            && message.contains("2 node(s) had volume node affinity conflict"),
        "{message}"
    );
}

#[test]
fn an_immediate_class_provisions_at_once() {
    let mut s = scenario();
    s.storage_classes.push(StorageClass {
        name: "fast".into(),
        binding_mode: VolumeBindingMode::Immediate,
        is_default: false,
        ..StorageClass::default_class()
    });
    s.claims.push(claim("scratch", Some("fast")));
    let o = run_scenario(&s);
    let storage = &o.simulation.world().api.store.storage;
    let c = storage.find_claim("default", "scratch").expect("claim");
    let v = &storage
        .volume(c.volume.expect("bound without a consumer"))
        .volume;
    assert!(v.zone.is_some());
    let reasons: Vec<&str> = events(&o, "persistentvolumeclaim/scratch")
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    assert!(!reasons.contains(&"WaitForFirstConsumer"), "{reasons:?}");
    assert!(reasons.contains(&"ProvisioningSucceeded"), "{reasons:?}");
}

#[test]
fn a_missing_claim_is_reported() {
    let mut s = scenario();
    s.pods.push(pod("db", "nope", 500));
    let o = run_scenario(&s);
    assert_eq!(placement(&o, "db"), (PodPhase::Pending, None));
    let failed = events(&o, "pod/db");
    assert!(
        failed.iter().any(|(r, m)| *r == "FailedScheduling"
            && m.contains("persistentvolumeclaim \"nope\" not found")),
        "{failed:#?}"
    );
}

#[test]
fn storage_runs_are_deterministic() {
    let build = || {
        let mut s = scenario();
        for i in 0..4 {
            let name = format!("data-{i}");
            s.claims.push(claim(&name, None));
            s.pods.push(pod(&format!("db-{i}"), &name, 300));
        }
        s
    };
    let a = run_scenario(&build()).summary.digest;
    let b = run_scenario(&build()).summary.digest;
    assert_eq!(a, b);
}
