//! StatefulSets, DaemonSets, Jobs, CronJobs and the storage and namespace policy objects load
//! from unmodified public manifests, with the API server's defaults.

use std::path::Path;

use models::api::apps::{
    DaemonSetUpdateStrategy, PodManagementPolicy, PvcRetentionPolicy, StatefulSetUpdateStrategy,
};
use models::api::batch::{CompletionMode, ConcurrencyPolicy};
use models::api::pod::RestartPolicy;
use models::api::storage::{AccessMode, VolumeBindingMode};
use models::api::{IntOrPercent, TolerationOperator};
use models::scenario::{self, Diagnostic, Scenario};

const HEADER: &str = "name: kinds\ncluster:\n  nodePools:\n  - {name: general, count: 2, resources: {cpu: '8', memory: 32Gi}}\n";

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/public"
    ))
}

fn with_files(files: &[&str]) -> Result<Scenario, Diagnostic> {
    let mut text = HEADER.to_string();
    text.push_str("workloads:\n");
    for f in files {
        text.push_str(&format!("- file: {f}\n"));
    }
    scenario::load_str("kinds.yaml", &text, fixtures())
}

fn inline(manifest: &str) -> Result<Scenario, Diagnostic> {
    let mut text = HEADER.to_string();
    text.push_str("workloads:\n- inline:\n");
    for line in manifest.lines() {
        text.push_str("    ");
        text.push_str(line);
        text.push('\n');
    }
    scenario::load_str("kinds.yaml", &text, Path::new("."))
}

fn no_not_simulated_warning(s: &Scenario) {
    assert!(
        !s.warnings.iter().any(|w| w.contains("not simulated yet")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn cassandra_stateful_set_and_its_storage_class() {
    let s =
        with_files(&["k8s-website/cassandra-statefulset.yaml"]).unwrap_or_else(|d| panic!("{d}"));
    no_not_simulated_warning(&s);
    assert_eq!(s.stateful_sets.len(), 1);
    let set = &s.stateful_sets[0];
    assert_eq!(
        (set.name.as_str(), set.namespace.as_str()),
        ("cassandra", "default")
    );
    assert_eq!(set.replicas, 3);
    assert_eq!(set.service_name, "cassandra");
    // Upstream SetDefaults_StatefulSet.
    assert_eq!(set.pod_management_policy, PodManagementPolicy::OrderedReady);
    assert_eq!(
        set.update_strategy,
        StatefulSetUpdateStrategy::RollingUpdate {
            partition: 0,
            max_unavailable: IntOrPercent::Int(1)
        }
    );
    assert_eq!(set.revision_history_limit, 10);
    assert_eq!(set.pvc_retention, PvcRetentionPolicy::default());
    assert_eq!(set.template.pod.requests.cpu_milli, 500);
    assert_eq!(set.template.pod.requests.memory, 1 << 30);
    assert_eq!(set.template.pod.termination_grace_period_seconds, 500);
    assert_eq!(set.template.pod.restart_policy, RestartPolicy::Always);
    let resources = set.template.pod.resources.as_deref().expect("resources");
    assert_eq!(resources.containers.len(), 1);
    assert_eq!(resources.containers[0].limits["cpu"].milli_value(), 500);
    assert_eq!(set.volume_claim_templates.len(), 1);
    let claim = &set.volume_claim_templates[0];
    assert_eq!(claim.name, "cassandra-data");
    assert_eq!(claim.storage_class.as_deref(), Some("fast"));
    assert_eq!(claim.request_bytes, 1 << 30);
    assert_eq!(claim.access_mode, AccessMode::ReadWriteOnce);
    // The manifest's class is not marked default, so the built-in default stays.
    let names: Vec<&str> = s.storage_classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["standard", "fast"]);
    let fast = &s.storage_classes[1];
    assert_eq!(fast.provisioner, "k8s.io/minikube-hostpath");
    // Upstream SetDefaults_StorageClass: Immediate binding, reclaimPolicy Delete.
    assert_eq!(fast.binding_mode, VolumeBindingMode::Immediate);
    assert!(fast.reclaim_delete);
    assert!(!fast.is_default);
}

#[test]
fn web_stateful_set_with_its_service() {
    let s = with_files(&["k8s-website/web.yaml"]).unwrap_or_else(|d| panic!("{d}"));
    no_not_simulated_warning(&s);
    let set = &s.stateful_sets[0];
    assert_eq!((set.name.as_str(), set.replicas), ("web", 2));
    assert_eq!(set.service_name, "nginx");
    assert_eq!(set.volume_claim_templates[0].name, "www");
    assert_eq!(set.volume_claim_templates[0].storage_class, None);
    assert_eq!(set.template.pod.images, ["registry.k8s.io/nginx-slim:0.7"]);
    let ignored: Vec<String> = s.ignored.iter().map(ToString::to_string).collect();
    assert!(
        ignored.is_empty(),
        "the headless Service is simulated: {ignored:?}"
    );
    assert_eq!(s.network.services.len(), 1);
}

#[test]
fn fluentd_daemon_set() {
    let s = with_files(&["k8s-website/fluentd-daemonset.yaml"]).unwrap_or_else(|d| panic!("{d}"));
    no_not_simulated_warning(&s);
    let d = &s.daemon_sets[0];
    assert_eq!(
        (d.name.as_str(), d.namespace.as_str()),
        ("fluentd-elasticsearch", "kube-system")
    );
    assert_eq!(
        d.update_strategy,
        DaemonSetUpdateStrategy::RollingUpdate {
            max_unavailable: IntOrPercent::Int(1),
            max_surge: IntOrPercent::Int(0)
        }
    );
    let keys: Vec<&str> = d
        .template
        .pod
        .tolerations
        .iter()
        .map(|t| t.key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "node-role.kubernetes.io/control-plane",
            "node-role.kubernetes.io/master"
        ]
    );
    assert!(
        d.template
            .pod
            .tolerations
            .iter()
            .all(|t| t.operator == TolerationOperator::Exists)
    );
    assert!(!d.template.pod.host_network);
}

#[test]
fn node_exporter_daemon_set_from_kube_prometheus() {
    let s = with_files(&["kube-prometheus/nodeExporter-daemonset.yaml"])
        .unwrap_or_else(|d| panic!("{d}"));
    no_not_simulated_warning(&s);
    let d = &s.daemon_sets[0];
    assert_eq!(
        (d.name.as_str(), d.namespace.as_str()),
        ("node-exporter", "monitoring")
    );
    assert!(d.template.pod.host_network);
}

#[test]
fn pi_job_with_defaults_and_generated_selector() {
    let s = with_files(&["k8s-website/job.yaml"]).unwrap_or_else(|d| panic!("{d}"));
    no_not_simulated_warning(&s);
    let job = &s.jobs[0];
    assert_eq!(job.name, "pi");
    assert_eq!(job.backoff_limit, 4);
    // Upstream SetDefaults_Job: neither set → 1 and 1.
    assert_eq!((job.parallelism, job.completions), (1, Some(1)));
    assert_eq!(job.completion_mode, CompletionMode::NonIndexed);
    assert!(!job.suspend);
    assert_eq!(job.template.pod.restart_policy, RestartPolicy::Never);
    assert_eq!(
        job.template.pod.labels.get("batch.kubernetes.io/job-name"),
        Some("pi")
    );
    assert_eq!(job.template.pod.labels.get("job-name"), Some("pi"));
    assert!(job.selector.matches(&job.template.pod.labels));
}

#[test]
fn hello_cron_job() {
    let s = with_files(&["k8s-website/cronjob.yaml"]).unwrap_or_else(|d| panic!("{d}"));
    no_not_simulated_warning(&s);
    let c = &s.cron_jobs[0];
    assert_eq!(
        (c.name.as_str(), c.schedule.as_str()),
        ("hello", "* * * * *")
    );
    assert_eq!(c.time_zone, None);
    // Upstream SetDefaults_CronJob.
    assert_eq!(c.concurrency_policy, ConcurrencyPolicy::Allow);
    assert_eq!(
        (c.successful_jobs_history_limit, c.failed_jobs_history_limit),
        (3, 1)
    );
    assert!(!c.suspend);
    assert_eq!(
        c.job_template.template.pod.restart_policy,
        RestartPolicy::OnFailure
    );
    assert_eq!(c.job_template.backoff_limit, 6);
}

#[test]
fn job_and_cron_job_names_are_known_to_behaviour_and_timeline() {
    let mut text = HEADER.to_string();
    text.push_str("workloads:\n- file: k8s-website/job.yaml\n- file: k8s-website/cronjob.yaml\n- file: k8s-website/web.yaml\n");
    text.push_str("behaviour:\n  pi: {runFor: 1m}\n");
    text.push_str("timeline:\n- {at: 1m, suspend: {cronJob: hello}}\n- {at: 2m, scale: {statefulSet: web, replicas: 4}}\n- {at: 3m, rollout: {statefulSet: web, image: nginx:1.27}}\n- {at: 4m, delete: {kind: Job, name: pi}}\n");
    let s = scenario::load_str("kinds.yaml", &text, fixtures()).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(s.timeline.len(), 4);
    let err = scenario::load_str(
        "kinds.yaml",
        &text.replace("pi: {runFor", "pie: {runFor"),
        fixtures(),
    )
    .unwrap_err();
    assert!(
        err.message.contains("StatefulSet, DaemonSet, Job, CronJob"),
        "{err}"
    );
}

#[test]
fn start_time_and_default_storage_class_switch() {
    let text =
        format!("{HEADER}startTime: 2025-11-28T00:00:00Z\nstorage: {{defaultClass: false}}\n");
    let s =
        scenario::load_str("kinds.yaml", &text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(s.start_unix_secs, 1_764_288_000);
    assert!(s.storage_classes.is_empty());
}

#[test]
fn quota_limit_range_claim_and_volume() {
    let s = inline(
        "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ResourceQuota
  metadata: {name: compute, namespace: team}
  spec:
    hard: {requests.cpu: '4', pods: '10'}
- apiVersion: v1
  kind: LimitRange
  metadata: {name: defaults, namespace: team}
  spec:
    limits:
    - type: Container
      max: {cpu: '2'}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata: {name: data, namespace: team}
  spec:
    accessModes: [ReadWriteOncePod]
    resources: {requests: {storage: 5Gi}}
- apiVersion: v1
  kind: PersistentVolume
  metadata: {name: pv1}
  spec:
    capacity: {storage: 10Gi}
    accessModes: [ReadWriteOnce]
    storageClassName: manual
    nodeAffinity:
      required:
        nodeSelectorTerms:
        - matchExpressions:
          - {key: topology.kubernetes.io/zone, operator: In, values: [zone-a]}",
    )
    .unwrap_or_else(|d| panic!("{d}"));
    no_not_simulated_warning(&s);
    let (ns, quota) = &s.resource_quotas[0];
    assert_eq!((ns.as_str(), quota.name.as_str()), ("team", "compute"));
    assert_eq!(quota.hard["requests.cpu"].milli_value(), 4000);
    let (_, range) = &s.limit_ranges[0];
    // Upstream SetDefaults_LimitRangeItem: default and defaultRequest from max.
    assert_eq!(range.limits[0].default["cpu"].milli_value(), 2000);
    assert_eq!(range.limits[0].default_request["cpu"].milli_value(), 2000);
    let claim = &s.claims[0];
    assert_eq!(
        (claim.request_bytes, claim.access_mode),
        (5 << 30, AccessMode::ReadWriteOncePod)
    );
    let pv = &s.volumes[0];
    assert_eq!(pv.zone.as_deref(), Some("zone-a"));
    assert_eq!(pv.capacity_bytes, 10 << 30);
    assert!(!pv.dynamic);
}

#[test]
fn bad_cron_schedule_and_time_zone_are_located_errors() {
    let cron = "apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: '61 * * * *'
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: c, image: busybox}]
          restartPolicy: OnFailure";
    let err = inline(cron).unwrap_err();
    assert_eq!(err.file, "kinds.yaml");
    assert_eq!(err.line, 11, "{err}");
    assert!(
        err.message
            .starts_with("spec.schedule: Invalid value: \"61 * * * *\": "),
        "{err}"
    );
    let tz = cron.replace(
        "schedule: '61 * * * *'",
        "schedule: '0 * * * *'\n  timeZone: Mars/Olympus",
    );
    let err = inline(&tz).unwrap_err();
    assert_eq!(err.line, 12, "{err}");
    assert!(
        err.message.starts_with(
            "spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus"
        ),
        "{err}"
    );
}

#[test]
fn a_job_that_restarts_always_is_refused() {
    let job = "apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      containers: [{name: c, image: busybox}]
      restartPolicy: Always";
    let err = inline(job).unwrap_err();
    assert_eq!(err.line, 14, "{err}");
    assert!(
        err.message.starts_with(
            "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
        ),
        "{err}"
    );
    let err = inline(&job.replace(
        "restartPolicy: Always",
        "restartPolicy: Never\n  parallelism: -1",
    ))
    .unwrap_err();
    assert_eq!(
        err.message,
        "spec.parallelism: must be greater than or equal to 0, got -1"
    );
    let indexed = job.replace(
        "restartPolicy: Always",
        "restartPolicy: Never\n  parallelism: 2\n  completionMode: Indexed",
    );
    let err = inline(&indexed).unwrap_err();
    assert!(
        err.message
            .starts_with("spec.completions: Required value: when completion mode is Indexed"),
        "{err}"
    );
}
