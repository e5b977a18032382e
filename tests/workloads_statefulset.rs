//! The StatefulSet controller end to end (scenario → run), with the invariant checkers on:
//! ordered creation and deletion, parallel creation, rolling updates with a partition, claims
//! from `volumeClaimTemplates` kept across a pod's re-creation, and determinism.

use std::path::Path;

use models::api::{
    LabelSelector, Labels, PersistentVolumeClaim, Pod, PodManagementPolicy, PodTemplate, PodVolume,
    StatefulSet, StatefulSetUpdateStrategy,
};
use models::apiserver::StatefulSetStatus;
use models::run::{RunOptions, RunOutcome, run};
use models::scenario::{
    Action, ObjectKind, ObjectRef, Propagation, Scenario, TimelineAction, Workloads, load_str,
};
use models::scheduler::Registry;
use models::store::PodRecord;
use sim_core::{SimDuration, SimTime};

const CLUSTER: &str = r#"
name: statefulset-test
seed: 7
duration: 10m
cluster:
  nodePools: [{name: general, count: 3, resources: {cpu: "8", memory: 32Gi, pods: 110}}]
behaviour:
  podStartup: 2s..8s
"#;

fn scenario(timeline: &str) -> Scenario {
    let text = format!("{CLUSTER}{timeline}");
    load_str("statefulset-test.yaml", &text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"))
}

fn web(replicas: i32) -> StatefulSet {
    let mut labels = Labels::new();
    labels.insert("app", "web");
    let template = PodTemplate {
        pod: Pod {
            name: "web".into(),
            namespace: "default".into(),
            labels,
            images: vec!["nginx:1".into()].into(),
            ..Pod::default()
        },
    };
    StatefulSet::new(
        "web",
        "default",
        replicas,
        LabelSelector::from_match_labels([("app", "web")]),
        template,
    )
}

/// Replaces the set's spec at `at` (as `kubectl apply` would).
fn apply_at(s: &mut Scenario, at: SimDuration, set: StatefulSet) {
    s.timeline.push(TimelineAction {
        at,
        action: Action::Apply(Box::new(Workloads {
            at,
            stateful_sets: vec![set],
            ..Workloads::default()
        })),
    });
    s.timeline.sort_by_key(|a| a.at);
}

fn go(s: &Scenario) -> RunOutcome {
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let o =
        run(s, &Registry::default_plugins(), &options, |_, _| {}).unwrap_or_else(|d| panic!("{d}"));
    let checkers = o
        .simulation
        .world()
        .checkers
        .as_ref()
        .expect("checkers enabled");
    assert!(
        checkers.violations.is_empty(),
        "{:#?}",
        &checkers.violations[..checkers.violations.len().min(5)]
    );
    o
}

/// Every pod record of the run named `name`, in creation order.
fn records<'a>(o: &'a RunOutcome, name: &str) -> Vec<&'a PodRecord> {
    o.simulation
        .world()
        .api
        .store
        .pods
        .iter()
        .map(|r| &**r)
        .filter(|r| r.pod.name == name)
        .collect()
}

fn only<'a>(o: &'a RunOutcome, name: &str) -> &'a PodRecord {
    let r = records(o, name);
    assert_eq!(r.len(), 1, "{name}: {} pods", r.len());
    r[0]
}

fn status(o: &RunOutcome) -> StatefulSetStatus {
    let api = &o.simulation.world().api;
    let id = api
        .object_id::<StatefulSet>("default", "web")
        .expect("set exists");
    api.object::<StatefulSet>(id).status.clone()
}

fn messages(o: &RunOutcome, reason: &str) -> Vec<String> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.reason == reason && e.object == "statefulset/web")
        .map(|e| e.message.clone())
        .collect()
}

fn active_names(o: &RunOutcome) -> Vec<String> {
    let api = &o.simulation.world().api;
    let id = api
        .object_id::<StatefulSet>("default", "web")
        .expect("set exists");
    api.object::<StatefulSet>(id)
        .pods
        .iter()
        .map(|p| api.store.pod(*p))
        .filter(|r| r.is_active() && r.deletion_timestamp.is_none())
        .map(|r| r.pod.name.clone())
        .collect()
}

#[test]
fn ordered_ready_creates_each_pod_after_the_previous_is_ready() {
    let mut s = scenario("");
    let mut set = web(3);
    set.service_name = "nginx".into();
    s.stateful_sets.push(set);
    let o = go(&s);
    let pods: Vec<&PodRecord> = ["web-0", "web-1", "web-2"]
        .iter()
        .map(|n| only(&o, n))
        .collect();
    for w in pods.windows(2) {
        let ready = w[0].ready_since.expect("previous pod ready");
        assert!(
            w[1].created_at >= ready && w[1].created_at > w[0].created_at,
            "{} created at {:?}, {} ready since {ready:?}",
            w[1].pod.name,
            w[1].created_at,
            w[0].pod.name
        );
    }
    for p in &pods {
        assert_eq!(
            p.pod.labels.get("statefulset.kubernetes.io/pod-name"),
            Some(p.pod.name.as_str())
        );
        assert!(p.pod.labels.get("controller-revision-hash").is_some());
        // Upstream `initIdentity`: hostname and subdomain give `web-0.nginx`.
        assert_eq!(p.pod.hostname.as_deref(), Some(p.pod.name.as_str()));
        assert_eq!(p.pod.subdomain.as_deref(), Some("nginx"));
    }
    assert_eq!(
        pods[2].pod.labels.get("apps.kubernetes.io/pod-index"),
        Some("2")
    );
    let checks = &o.simulation.world().checkers.as_ref().expect("on");
    assert_eq!(checks.stateful_set_checks.creations_checked, 3);
    assert_eq!(
        messages(&o, "SuccessfulCreate"),
        [
            "create Pod web-0 in StatefulSet web successful",
            "create Pod web-1 in StatefulSet web successful",
            "create Pod web-2 in StatefulSet web successful",
        ]
    );
    let st = status(&o);
    assert_eq!(
        (st.replicas, st.ready_replicas, st.available_replicas),
        (3, 3, 3)
    );
    assert_eq!((st.current_replicas, st.updated_replicas), (3, 3));
    assert_eq!(st.current_revision, st.update_revision);
    assert!(st.update_revision.starts_with("web-"));
    assert_eq!(st.observed_generation, 1);
}

#[test]
fn parallel_creates_every_pod_in_one_sync() {
    let mut s = scenario("");
    let mut set = web(3);
    set.pod_management_policy = PodManagementPolicy::Parallel;
    s.stateful_sets.push(set);
    let o = go(&s);
    let created: Vec<SimTime> = ["web-0", "web-1", "web-2"]
        .iter()
        .map(|n| only(&o, n).created_at)
        .collect();
    assert!(created.iter().all(|t| *t == created[0]), "{created:?}");
    assert_eq!(status(&o).ready_replicas, 3);
}

#[test]
fn scale_down_deletes_from_the_highest_ordinal() {
    let mut s = scenario("");
    s.stateful_sets.push(web(3));
    apply_at(&mut s, SimDuration::from_secs(120), web(1));
    let o = go(&s);
    assert_eq!(
        messages(&o, "SuccessfulDelete"),
        [
            "delete Pod web-2 in StatefulSet web successful",
            "delete Pod web-1 in StatefulSet web successful",
        ]
    );
    // web-1 is only deleted once web-2 is gone.
    let gone = only(&o, "web-2").deleted_at.expect("web-2 deleted");
    let next = only(&o, "web-1").deletion_timestamp.expect("web-1 deleted");
    assert!(next >= gone);
    assert_eq!(active_names(&o), ["web-0"]);
    assert_eq!(status(&o).replicas, 1);
}

fn image_of(r: &PodRecord) -> &str {
    r.pod.images.first().map(String::as_str).unwrap_or("")
}

#[test]
fn rolling_update_replaces_pods_from_the_highest_ordinal_down() {
    let mut s = scenario("");
    s.stateful_sets.push(web(3));
    let mut v2 = web(3);
    v2.template.pod.images = vec!["nginx:2".into()].into();
    apply_at(&mut s, SimDuration::from_secs(120), v2);
    let o = go(&s);
    assert_eq!(
        messages(&o, "SuccessfulDelete"),
        [
            "delete Pod web-2 in StatefulSet web successful",
            "delete Pod web-1 in StatefulSet web successful",
            "delete Pod web-0 in StatefulSet web successful",
        ]
    );
    for n in ["web-0", "web-1", "web-2"] {
        let r = records(&o, n);
        assert_eq!(r.len(), 2, "{n}");
        assert_eq!(image_of(r[1]), "nginx:2");
        // The name is reused only once the old pod is gone.
        assert!(r[1].created_at >= r[0].deleted_at.expect("old pod gone"));
    }
    let st = status(&o);
    assert_eq!(st.current_revision, st.update_revision);
    assert_eq!((st.updated_replicas, st.current_replicas), (3, 3));
    assert_eq!(st.observed_generation, 2);
}

#[test]
fn rolling_update_with_a_partition_keeps_lower_ordinals() {
    let mut s = scenario("");
    let mut v1 = web(3);
    v1.update_strategy = StatefulSetUpdateStrategy::RollingUpdate {
        partition: 1,
        max_unavailable: models::api::IntOrPercent::Int(1),
    };
    s.stateful_sets.push(v1.clone());
    let mut v2 = v1.clone();
    v2.template.pod.images = vec!["nginx:2".into()].into();
    apply_at(&mut s, SimDuration::from_secs(120), v2);
    let o = go(&s);
    assert_eq!(image_of(only(&o, "web-0")), "nginx:1");
    for n in ["web-1", "web-2"] {
        assert_eq!(image_of(records(&o, n)[1]), "nginx:2", "{n}");
    }
    let st = status(&o);
    assert_ne!(st.current_revision, st.update_revision);
    assert_eq!((st.current_replicas, st.updated_replicas), (1, 2));
}

fn claim_template(name: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        name: name.into(),
        namespace: "default".into(),
        storage_class: None,
        request_bytes: 1 << 30,
        access_mode: Default::default(),
        volume_name: None,
        owner: None,
    }
}

#[test]
fn claims_are_created_and_kept_when_a_pod_is_recreated() {
    let mut s = scenario(
        r#"
timeline:
  - {at: 3m, delete: {kind: Pod, name: web-1}}
"#,
    );
    let mut set = web(3);
    set.volume_claim_templates = vec![claim_template("data")];
    s.stateful_sets.push(set);
    let o = go(&s);
    let storage = &o.simulation.world().api.store.storage;
    for n in ["data-web-0", "data-web-1", "data-web-2"] {
        let id = storage.claim_id("default", n).expect("claim exists");
        assert_eq!(
            storage.claims.iter().filter(|c| c.claim.name == n).count(),
            1
        );
        assert!(!storage.claim(id).deleted);
    }
    let web1 = records(&o, "web-1");
    assert_eq!(web1.len(), 2, "web-1 recreated");
    for r in &web1 {
        assert!(r.pod.volumes.contains(&PodVolume::Claim {
            name: "data-web-1".into(),
            read_only: false
        }));
    }
    assert!(web1[1].ready);
    assert!(
        messages(&o, "SuccessfulCreate")
            .contains(&"create Claim data-web-0 Pod web-0 in StatefulSet web success".to_string())
    );
}

#[test]
fn scaled_away_claims_go_under_when_scaled_delete() {
    let mut s = scenario("");
    let mut set = web(3);
    set.volume_claim_templates = vec![claim_template("data")];
    set.pvc_retention.when_scaled_delete = true;
    s.stateful_sets.push(set.clone());
    let mut smaller = set;
    smaller.replicas = 1;
    apply_at(&mut s, SimDuration::from_secs(120), smaller);
    let o = go(&s);
    let storage = &o.simulation.world().api.store.storage;
    assert!(storage.claim_id("default", "data-web-0").is_some());
    assert!(storage.claim_id("default", "data-web-1").is_none());
    assert!(storage.claim_id("default", "data-web-2").is_none());
}

#[test]
fn same_scenario_same_digest() {
    let build = || {
        let mut s = scenario(
            r#"
timeline:
  - {at: 3m, delete: {kind: Pod, name: web-1}}
"#,
        );
        let mut set = web(3);
        set.volume_claim_templates = vec![claim_template("data")];
        s.stateful_sets.push(set);
        let mut v2 = web(3);
        v2.volume_claim_templates = vec![claim_template("data")];
        v2.template.pod.images = vec!["nginx:2".into()].into();
        apply_at(&mut s, SimDuration::from_secs(300), v2);
        s
    };
    let a = go(&build());
    let b = go(&build());
    assert_eq!(a.summary.digest, b.summary.digest);
    assert_eq!(
        messages(&a, "SuccessfulCreate"),
        messages(&b, "SuccessfulCreate")
    );
}

#[test]
fn claims_follow_the_set_under_when_deleted_delete() {
    for delete in [true, false] {
        let mut s = scenario("");
        s.timeline.push(TimelineAction {
            at: SimDuration::from_secs(180),
            action: Action::Delete {
                target: ObjectRef {
                    kind: ObjectKind::StatefulSet,
                    namespace: "default".into(),
                    name: "web".into(),
                },
                propagation: Propagation::Background,
            },
        });
        let mut set = web(2);
        set.volume_claim_templates = vec![claim_template("data")];
        set.pvc_retention.when_deleted_delete = delete;
        s.stateful_sets.push(set);
        let o = go(&s);
        let api = &o.simulation.world().api;
        assert!(api.object_id::<StatefulSet>("default", "web").is_none());
        assert!(records(&o, "web-0").iter().all(|r| !r.is_active()));
        for n in ["data-web-0", "data-web-1"] {
            assert_eq!(
                api.store.storage.claim_id("default", n).is_none(),
                delete,
                "{n}, whenDeleted Delete: {delete}"
            );
        }
    }
}

/// The checker sees an out-of-order pod: one made behind the controller's back, claiming
/// ordinal 2 of an OrderedReady set whose pod 1 does not exist yet.
#[test]
fn checker_flags_a_pod_created_out_of_order() {
    let mut s = scenario("");
    let set = web(3);
    let mut stray = set.template.pod.clone();
    stray.name = "web-2".into();
    stray.owner = Some(models::api::OwnerRef {
        kind: models::api::OwnerKind::StatefulSet,
        name: "web".into(),
        id: models::api::WorkloadId::UNRESOLVED,
    });
    s.stateful_sets.push(set);
    s.pods.push(stray);
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let o = run(&s, &Registry::default_plugins(), &options, |_, _| {})
        .unwrap_or_else(|d| panic!("{d}"));
    let checkers = o.simulation.world().checkers.as_ref().expect("on");
    assert!(
        checkers
            .violations
            .iter()
            .any(|v| v.invariant == "statefulset-ordered-creation" && v.detail.contains("web-2")),
        "{:#?}",
        checkers.violations
    );
}
