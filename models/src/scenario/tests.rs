use super::*;
use crate::api::node::*;
use crate::api::{Operator, TaintEffect, TolerationOperator};

fn load_text(text: &str) -> Result<Scenario, Diagnostic> {
    load_str("s.yaml", text, Path::new("."))
}

/// The (line, column) of the first occurrence of `needle` in `text`, 1-based.
fn find(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).expect("needle in text");
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A folder of its own under the system temp folder, emptied first.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kubesim-scenario-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const POOLS: &str = "name: pools
cluster:
  nodePools:
    - name: general
      count: 5
      resources: {cpu: \"4\", memory: 16Gi, nvidia.com/gpu: 2, ephemeral-storage: 100Gi}
      labels: {disk: ssd}
      zones: [zone-a, zone-b]
      instanceType: m5.xlarge
      costPerHour: 0.19
      taints: [{key: gpu, value: \"true\", effect: NoSchedule}]
    - name: small
      count: 1
      resources: {cpu: 500m, memory: 1Gi, pods: 8}
";

#[test]
fn pools_expand_to_named_nodes_with_round_robin_zones() {
    let s = load_text(POOLS).unwrap();
    assert_eq!(s.pools.len(), 2);
    assert_eq!(s.nodes.len(), 6);
    let names: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "general-0",
            "general-1",
            "general-2",
            "general-3",
            "general-4",
            "small-0"
        ]
    );
    let zones: Vec<Option<&str>> = s.nodes.iter().map(|n| n.labels.get(LABEL_ZONE)).collect();
    assert_eq!(
        zones,
        [
            Some("zone-a"),
            Some("zone-b"),
            Some("zone-a"),
            Some("zone-b"),
            Some("zone-a"),
            None
        ]
    );
    let n = &s.nodes[3];
    assert_eq!(n.labels.get(LABEL_HOSTNAME), Some("general-3"));
    assert_eq!(n.labels.get(LABEL_INSTANCE_TYPE), Some("m5.xlarge"));
    assert_eq!(n.labels.get(LABEL_POOL), Some("general"));
    assert_eq!(n.labels.get("disk"), Some("ssd"));
    assert_eq!(n.pool.as_deref(), Some("general"));
    assert_eq!(n.allocatable.cpu_milli, 4000);
    assert_eq!(n.allocatable.memory, 16 << 30);
    assert_eq!(n.allocatable.ephemeral_storage, 100 << 30);
    assert_eq!(n.allocatable.pods, DEFAULT_MAX_PODS);
    assert_eq!(n.allocatable.extended_amount("nvidia.com/gpu"), 2);
    assert_eq!(n.taints.len(), 1);
    assert_eq!(n.taints[0].effect, TaintEffect::NoSchedule);
    let small = &s.nodes[5];
    assert_eq!(
        (small.allocatable.cpu_milli, small.allocatable.pods),
        (500, 8)
    );
    assert_eq!(s.pools[0].cost_per_hour, Some(0.19));
    // Defaults.
    assert_eq!(s.seed, 1);
    assert_eq!(s.duration, SimDuration::from_hours(1));
    assert_eq!(s.pod_startup, DEFAULT_POD_STARTUP);
    assert!(s.scheduler_config.is_none());
}

#[test]
fn scenario_fields_are_parsed() {
    let text = format!("{POOLS}seed: 42\nduration: 1h30m\nbehaviour:\n  podStartup: 500ms..2s\n");
    let s = load_text(&text).unwrap();
    assert_eq!(s.name, "pools");
    assert_eq!(s.seed, 42);
    assert_eq!(s.duration, SimDuration::from_mins(90));
    assert_eq!(
        s.pod_startup,
        (SimDuration::from_millis(500), SimDuration::from_secs(2))
    );
    assert_eq!(s.file, "s.yaml");
}

#[test]
fn unknown_scenario_fields_are_located_with_a_suggestion() {
    let text = POOLS.replace("      count: 1\n", "      cout: 1\n");
    let err = load_text(&text).unwrap_err();
    assert_eq!((err.line, err.column), find(&text, "cout"));
    assert!(
        err.message
            .starts_with("unknown field \"cout\", expected one of name, count, resources"),
        "{}",
        err.message
    );
    assert!(
        err.message.ends_with("(did you mean \"count\"?)"),
        "{}",
        err.message
    );

    let text = format!("{POOLS}sedd: 4\n");
    let err = load_text(&text).unwrap_err();
    assert_eq!((err.line, err.column), find(&text, "sedd"));
    assert!(
        err.message.contains("(did you mean \"seed\"?)"),
        "{}",
        err.message
    );
}

#[test]
fn bad_values_in_the_scenario_are_located() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("count: 5", "count: -5", "-5", "must be between 0 and"),
        (
            "cpu: \"4\"",
            "cpu: 4x",
            "4x",
            "\"4x\" is not a Kubernetes quantity",
        ),
        (
            "effect: NoSchedule",
            "effect: NoSchedul",
            "NoSchedul",
            "did you mean \"NoSchedule\"",
        ),
        (
            "pods: 8",
            "podz: 8",
            "podz",
            "unknown resource \"podz\" (did you mean \"pods\"?)",
        ),
        (
            "costPerHour: 0.19",
            "costPerHour: -1.0",
            "-1.0",
            "must be a non-negative number",
        ),
    ];
    for (from, to, token, message) in cases {
        let text = POOLS.replace(from, to);
        let err = load_text(&text).unwrap_err();
        assert_eq!((err.line, err.column), find(&text, token), "{err}");
        assert!(err.message.contains(message), "{err}");
    }
    let text = format!("{POOLS}duration: 1x\n");
    let err = load_text(&text).unwrap_err();
    assert_eq!((err.line, err.column), find(&text, "1x"));
    assert!(
        err.message.starts_with("duration: unknown unit \"x\""),
        "{err}"
    );
    let text = format!("{POOLS}seed: -3\n");
    let err = load_text(&text).unwrap_err();
    assert_eq!((err.line, err.column), find(&text, "-3"));
    assert!(err.message.contains("seed must be 0 or more"), "{err}");
    let text = POOLS.replace("    - name: small\n", "    - nam: small\n");
    let err = load_text(&text).unwrap_err();
    assert!(err.message.contains("did you mean \"name\""), "{err}");
}

#[test]
fn a_cluster_needs_nodes_and_unique_names() {
    let err = load_text("name: empty\nworkloads: []\n").unwrap_err();
    assert!(err.message.starts_with("the cluster has no nodes"), "{err}");
    let text = "name: dup\ncluster:\n  nodePools:\n    - {name: a, count: 1, resources: {cpu: 1, memory: 1Gi}}\n    - {name: a, count: 1, resources: {cpu: 1, memory: 1Gi}}\n";
    let err = load_text(text).unwrap_err();
    assert_eq!((err.line, err.column), (5, 14));
    assert!(err.message.contains("duplicate node pool name \"a\""));
    let text = format!(
        "{POOLS}workloads:\n  - inline: {{apiVersion: v1, kind: Node, metadata: {{name: small-0}}, status: {{capacity: {{cpu: 1}}}}}}\n"
    );
    let err = load_text(&text).unwrap_err();
    assert_eq!((err.line, err.column), find(&text, "small-0}"));
    assert!(
        err.message
            .starts_with("duplicate node \"small-0\" (first defined at s.yaml:12:13)"),
        "{err}"
    );
}

#[test]
fn a_manifest_is_not_a_scenario() {
    let err = load_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n").unwrap_err();
    assert_eq!((err.line, err.column), (2, 7));
    assert!(err.message.contains("not a kubesim scenario"), "{err}");
    let err = load_text(&format!("{POOLS}---\nname: second\n")).unwrap_err();
    assert!(err.message.contains("one YAML document"), "{err}");
    let err = load_text(&format!(
        "{POOLS}workloads:\n  - apiVersion: v1\n    kind: Pod\n"
    ))
    .unwrap_err();
    assert!(err.message.contains("must go under `inline:`"), "{err}");
}

const PODS: &str = "
workloads:
  - inline:
      apiVersion: v1
      kind: Pod
      metadata: {name: sidecars, labels: {app: a}}
      spec:
        initContainers:
        - {name: log, image: fluent-bit, restartPolicy: Always, resources: {requests: {cpu: 100m, memory: 50Mi}}}
        - {name: migrate, image: migrate:1, resources: {requests: {cpu: \"1\", memory: 1Gi}}}
        containers:
        - {name: app, image: app:1, resources: {requests: {cpu: 500m, memory: 256Mi}}}
        - {name: limits-only, image: side:1, resources: {limits: {cpu: 200m, memory: 128Mi}}}
        overhead: {cpu: 10m, memory: 1Mi}
  - inline:
      apiVersion: v1
      kind: Pod
      metadata: {name: besteffort, namespace: batch}
      spec:
        nodeName: general-0
        priorityClassName: system-node-critical
        schedulerName: my-scheduler
        containers:
        - {name: a, image: busybox}
        - {name: b, image: busybox, resources: {requests: {cpu: \"0\"}}}
        nodeSelector: {disk: ssd}
        tolerations:
        - {key: gpu, operator: Exists, effect: NoSchedule}
        - {operator: Exists}
        - {key: dedicated, value: infra, tolerationSeconds: 60, effect: NoExecute}
        affinity:
          nodeAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
              nodeSelectorTerms:
              - matchExpressions:
                - {key: topology.kubernetes.io/zone, operator: In, values: [zone-a, zone-b]}
                - {key: gen, operator: Gt, values: [\"3\"]}
                matchFields:
                - {key: metadata.name, operator: NotIn, values: [general-4]}
            preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 20
              preference:
                matchExpressions:
                - {key: disk, operator: Exists}
";

fn pods_scenario() -> String {
    format!("{POOLS}{PODS}")
}

#[test]
fn pod_requests_follow_upstream_pod_requests() {
    let s = load_text(&pods_scenario()).unwrap();
    let p = &s.pods[0];
    // Containers: app 500m/256Mi + limits-only (requests defaulted to limits) 200m/128Mi
    //   = 700m/384Mi; sidecar log adds 100m/50Mi → 800m/434Mi.
    // Init: log in use = 100m/50Mi; migrate in use = 1000m+100m / 1Gi+50Mi = 1100m/1074Mi.
    // max(800m, 1100m) = 1100m; max(434Mi, 1074Mi) = 1074Mi; plus overhead 10m/1Mi.
    assert_eq!(p.requests.cpu_milli, 1110);
    assert_eq!(p.requests.memory, 1075 << 20);
    assert_eq!(p.requests.pods, 1);
    // Every container has cpu and memory requests, so non-zero = requests.
    assert_eq!(
        (p.non_zero_cpu_milli, p.non_zero_memory),
        (1110, 1075 << 20)
    );
    assert_eq!(p.images[..], ["fluent-bit", "migrate:1", "app:1", "side:1"]);
    assert_eq!(p.scheduler_name, "default-scheduler");
    assert_eq!((p.priority, p.node_name.as_deref()), (0, None));
}

#[test]
fn best_effort_pods_get_non_zero_defaults_and_scheduling_constraints() {
    let s = load_text(&pods_scenario()).unwrap();
    let p = &s.pods[1];
    assert_eq!(p.key(), "batch/besteffort");
    // Container a: nothing set → 100m, 200Mi. Container b: cpu explicitly 0 → 0, memory absent
    // → 200Mi.
    assert_eq!((p.requests.cpu_milli, p.requests.memory), (0, 0));
    assert_eq!(p.non_zero_cpu_milli, 100);
    assert_eq!(p.non_zero_memory, 2 * 200 * 1024 * 1024);
    assert_eq!(p.node_name.as_deref(), Some("general-0"));
    assert_eq!(p.priority, 2_000_001_000);
    assert_eq!(p.scheduler_name, "my-scheduler");
    assert_eq!(p.node_selector.len(), 1);
    assert_eq!(
        (p.node_selector[0].key.as_str(), p.node_selector[0].operator),
        ("disk", Operator::Equals)
    );
    let t = &p.tolerations;
    assert_eq!(t.len(), 3);
    assert_eq!(
        (t[0].operator, t[0].effect),
        (TolerationOperator::Exists, Some(TaintEffect::NoSchedule))
    );
    assert_eq!((t[1].key.as_str(), t[1].effect), ("", None));
    assert_eq!(
        (t[2].operator, t[2].toleration_seconds),
        (TolerationOperator::Equal, Some(60))
    );
    let na = p.node_affinity.as_ref().unwrap();
    let term = &na.required.as_ref().unwrap().terms[0];
    assert_eq!(term.match_expressions[0].operator, Operator::In);
    assert_eq!(term.match_expressions[0].values, ["zone-a", "zone-b"]);
    assert_eq!(term.match_expressions[1].operator, Operator::Gt);
    assert_eq!(term.match_fields[0].operator, Operator::NotIn);
    assert_eq!(na.preferred[0].weight, 20);
    assert_eq!(
        na.preferred[0].preference.match_expressions[0].operator,
        Operator::Exists
    );
}

#[test]
fn invalid_scheduling_constraints_are_located() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "operator: Exists, effect: NoSchedule}",
            "operator: Exist, effect: NoSchedule}",
            "Exist,",
            "unsupported operator \"Exist\", expected Equal or Exists (did you mean \"Exists\"?)",
        ),
        (
            "effect: NoSchedule}",
            "effect: NoSchedle}",
            "NoSchedle",
            "did you mean \"NoSchedule\"",
        ),
        (
            "{operator: Exists}",
            "{value: x}",
            "{value: x}",
            "operator must be Exists when `key` is empty",
        ),
        (
            "tolerationSeconds: 60, effect: NoExecute",
            "tolerationSeconds: 60, effect: NoSchedule",
            "60, effect",
            "effect must be 'NoExecute'",
        ),
        (
            "operator: In, values: [zone-a, zone-b]",
            "operator: in, values: [zone-a, zone-b]",
            "in, values",
            "(did you mean \"In\"?)",
        ),
        (
            "operator: Gt, values: [\"3\"]",
            "operator: Gt, values: [three]",
            "[three]",
            "must be an integer",
        ),
        (
            "operator: In, values: [zone-a, zone-b]",
            "operator: In, values: []",
            "[]",
            "must be specified when `operator` is 'In' or 'NotIn'",
        ),
        (
            "weight: 20",
            "weight: 200",
            "200\n",
            "must be in the range 1-100",
        ),
        (
            "{key: metadata.name,",
            "{key: metadata.labels,",
            "metadata.labels",
            "only metadata.name",
        ),
    ];
    for (from, to, token, message) in cases {
        let text = pods_scenario().replacen(from, to, 1);
        assert_ne!(text, pods_scenario(), "{from}");
        let err = load_text(&text).unwrap_err();
        assert_eq!((err.line, err.column), find(&text, token), "{err}");
        assert!(err.message.contains(message), "{err}");
    }
}

#[test]
fn invalid_container_resources_are_located() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "requests: {cpu: 500m, memory: 256Mi}",
            "requests: {cpu: -1, memory: 256Mi}",
            "-1,",
            "spec.containers[0].resources.requests.cpu: must be greater than or equal to 0, got \"-1\"",
        ),
        (
            "requests: {cpu: 500m, memory: 256Mi}",
            "requests: {cpus: 1, memory: 256Mi}",
            "cpus",
            "unknown resource \"cpus\" (did you mean \"cpu\"?)",
        ),
        (
            "requests: {cpu: 500m, memory: 256Mi}",
            "requests: {cpu: 500m, memory: 256Mi, gpu: 1}",
            "gpu: 1}",
            "extended resources need a domain prefix",
        ),
        (
            "limits: {cpu: 200m, memory: 128Mi}",
            "limits: {cpu: 200m, memory: 128Mi}, requests: {cpu: 300m}",
            "300m",
            "must be less than or equal to cpu limit of 200m",
        ),
        (
            "requests: {cpu: 500m, memory: 256Mi}",
            "requests: {cpu: 500m, example.com/foo: 1}",
            "1}}}",
            "a limit must be set for example.com/foo",
        ),
        (
            "restartPolicy: Always",
            "restartPolicy: Never",
            "Never",
            "may only be Always",
        ),
        (
            "overhead: {cpu: 10m, memory: 1Mi}",
            "overhead: {cpu: 10q, memory: 1Mi}",
            "10q",
            "spec.overhead.cpu: \"10q\" is not a Kubernetes quantity",
        ),
    ];
    for (from, to, token, message) in cases {
        let text = pods_scenario().replacen(from, to, 1);
        assert_ne!(text, pods_scenario(), "{from}");
        let err = load_text(&text).unwrap_err();
        assert_eq!((err.line, err.column), find(&text, token), "{err}");
        assert!(err.message.contains(message), "{err}");
    }
}

#[test]
fn files_lists_and_ignored_kinds_load_relative_to_the_scenario() {
    let dir = temp_dir("files");
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(
        dir.join("manifests/app.yaml"),
        "# comment-only document\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: app}\n- apiVersion: apps/v1\n  kind: ReplicaSet\n  metadata: {name: rs}\n  spec:\n    selector: {matchExpressions: [{key: app, operator: In, values: [rs]}]}\n    template:\n      metadata: {labels: {app: rs}}\n      spec: {containers: [{name: c, image: x}]}\n---\n---\napiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: once}\nhandler: runsc\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("nodes.yaml"),
        "apiVersion: v1\nkind: NodeList\nitems:\n- metadata: {name: big, labels: {kubernetes.io/hostname: big}}\n  spec: {unschedulable: true, taints: [{key: k, effect: NoExecute}]}\n  status:\n    capacity: {cpu: '64', memory: 256Gi, pods: '250'}\n    allocatable: {cpu: 63500m, memory: 250Gi, pods: '250'}\n    images: [{names: ['nginx:1.27', 'docker.io/library/nginx:1.27'], sizeBytes: 70000000}]\n",
    )
    .unwrap();
    let scenario = "name: files\ncluster:\n  nodes:\n    - file: nodes.yaml\nworkloads:\n  - file: manifests/app.yaml\n";
    std::fs::write(dir.join("scenario.yaml"), scenario).unwrap();
    let s = load(&dir.join("scenario.yaml")).unwrap();
    assert_eq!(s.nodes.len(), 1);
    let big = &s.nodes[0];
    assert!(big.unschedulable);
    assert_eq!(big.allocatable.cpu_milli, 63_500);
    assert_eq!(big.allocatable.memory, 250 << 30);
    assert_eq!(big.pool, None);
    assert_eq!(big.images.len(), 2);
    assert_eq!(big.taints[0].effect, TaintEffect::NoExecute);
    assert_eq!(s.replica_sets.len(), 1);
    assert_eq!(s.replica_sets[0].replicas, 1);
    assert_eq!(s.replica_sets[0].owner, None);
    let kinds: Vec<&str> = s.ignored.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds, ["ServiceAccount", "RuntimeClass"]);
    assert!(s.ignored[1].file.ends_with("app.yaml"));
    assert_eq!(s.ignored[1].line, 19);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(s.warnings[0].contains("RuntimeClass once is not simulated yet"));

    // A missing file is reported at the `file:` value of the scenario.
    let scenario = scenario.replace("manifests/app.yaml", "manifests/nope.yaml");
    std::fs::write(dir.join("scenario.yaml"), &scenario).unwrap();
    let err = load(&dir.join("scenario.yaml")).unwrap_err();
    assert_eq!(err.file, dir.join("scenario.yaml").display().to_string());
    assert_eq!(
        (err.line, err.column),
        find(&scenario, "manifests/nope.yaml")
    );
    assert_eq!(
        err.message,
        format!(
            "cannot read manifests/nope.yaml: No such file or directory (looked for {})",
            dir.join("manifests/nope.yaml").display()
        )
    );

    // A folder loads every manifest in it.
    let scenario = "name: files\ncluster:\n  nodes:\n    - file: nodes.yaml\nworkloads:\n  - file: manifests\n";
    std::fs::write(dir.join("scenario.yaml"), scenario).unwrap();
    assert_eq!(
        load(&dir.join("scenario.yaml")).unwrap().replica_sets.len(),
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scheduler_config_keeps_its_origin_for_located_errors() {
    let text = format!(
        "{POOLS}scheduler:
  config:
    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    profiles:
      - schedulerName: default-scheduler
        pluginConfig:
          - name: NodeResourcesFit
            args:
              scoringStrategy:
                type: MostAlocated
"
    );
    let s = load_text(&text).unwrap();
    let config = s.scheduler_config.as_ref().unwrap();
    assert_eq!(
        config["profiles"][0]["pluginConfig"][0]["args"]["scoringStrategy"]["type"],
        "MostAlocated"
    );
    let origin = s.scheduler_config_origin.as_ref().unwrap();
    assert_eq!(origin.path_in_document(), "scheduler.config");
    let d = origin.locate(
        "profiles[0].pluginConfig[0].args.scoringStrategy.type",
        "unknown scoring strategy",
    );
    assert_eq!(d.file, "s.yaml");
    assert_eq!((d.line, d.column), find(&text, "MostAlocated"));
    assert_eq!(
        d.to_string(),
        format!("s.yaml:{}:{}: unknown scoring strategy", d.line, d.column)
    );

    let bad = text.replace("kind: KubeSchedulerConfiguration", "kind: SchedulerConfig");
    let err = load_text(&bad).unwrap_err();
    assert_eq!((err.line, err.column), find(&bad, "SchedulerConfig\n"));

    let dir = temp_dir("scheduler");
    std::fs::write(
        dir.join("sched.yaml"),
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n  plugins:\n    score:\n      disabled: [{name: ImageLocality}]\n",
    )
    .unwrap();
    let s = load_str(
        "s.yaml",
        &format!("{POOLS}scheduler: {{file: sched.yaml}}\n"),
        &dir,
    )
    .unwrap();
    let origin = s.scheduler_config_origin.unwrap();
    assert!(origin.file.ends_with("sched.yaml"));
    assert_eq!(
        origin.line_column("profiles[0].plugins.score.disabled[0].name"),
        (7, 25)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pods_bound_to_unknown_nodes_warn() {
    let text = pods_scenario().replace("nodeName: general-0", "nodeName: nowhere");
    let s = load_text(&text).unwrap();
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("bound to node nowhere")),
        "{:?}",
        s.warnings
    );
}

// ---------------------------------------------------------------------------------------------
// Deployments, ReplicaSets and ReplicationControllers.

const CLUSTER: &str = "name: t
cluster:
  nodePools:
    - {name: general, count: 3, resources: {cpu: \"4\", memory: 16Gi}, zones: [us-east-1a, us-east-1b]}
";

/// A scenario with one inline manifest (the text is indented under `inline:`).
fn with_manifest(manifest: &str) -> String {
    let indented: String = manifest.lines().map(|l| format!("      {l}\n")).collect();
    format!("{CLUSTER}workloads:\n  - inline:\n{indented}")
}

const WEB: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, team: storefront}
  annotations: {deployment.kubernetes.io/revision: \"4\"}
spec:
  replicas: 4
  minReadySeconds: 10
  progressDeadlineSeconds: 300
  revisionHistoryLimit: 3
  paused: true
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 2, maxUnavailable: 10%}
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {controller.kubernetes.io/pod-deletion-cost: \"-5\"}
    spec:
      initContainers: [{name: migrate, image: migrate:1}]
      containers:
      - {name: app, image: web:1}
      - {name: proxy, image: envoy:1}
";

#[test]
fn deployment_spec_fields_and_metadata_are_read() {
    let s = load_text(&with_manifest(WEB)).unwrap();
    let d = &s.deployments[0];
    assert_eq!(
        d.strategy,
        crate::api::DeploymentStrategy::RollingUpdate {
            max_surge: crate::api::IntOrPercent::Int(2),
            max_unavailable: crate::api::IntOrPercent::Percent(10),
        }
    );
    assert_eq!(d.min_ready_seconds, 10);
    assert_eq!(d.progress_deadline_seconds, Some(300));
    assert_eq!(d.revision_history_limit, 3);
    assert!(d.paused);
    assert_eq!(d.labels.get("team"), Some("storefront"));
    assert_eq!(
        d.annotations
            .get("deployment.kubernetes.io/revision")
            .map(String::as_str),
        Some("4")
    );
    // The template's deletion cost and annotations are what its pods will carry.
    assert_eq!(d.template.pod.deletion_cost, -5);
    assert_eq!(
        d.template
            .pod
            .annotations
            .get("controller.kubernetes.io/pod-deletion-cost")
            .map(String::as_str),
        Some("-5")
    );
}

#[test]
fn deployment_defaults_are_upstream_apps_v1() {
    let minimal = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: web:1}]}
";
    let s = load_text(&with_manifest(minimal)).unwrap();
    let d = &s.deployments[0];
    // SetDefaults_Deployment: replicas 1, RollingUpdate 25%/25%, deadline 600, history 10.
    assert_eq!(d.replicas, 1);
    assert_eq!(d.strategy, crate::api::DeploymentStrategy::default());
    assert_eq!(d.progress_deadline_seconds, Some(600));
    assert_eq!(d.revision_history_limit, 10);
    assert_eq!((d.min_ready_seconds, d.paused), (0, false));
    // Recreate takes no rollingUpdate defaults.
    let recreate = minimal.replace(
        "spec:\n  selector",
        "spec:\n  strategy: {type: Recreate}\n  selector",
    );
    let s = load_text(&with_manifest(&recreate)).unwrap();
    assert_eq!(
        s.deployments[0].strategy,
        crate::api::DeploymentStrategy::Recreate
    );
}

#[test]
fn invalid_deployment_specs_are_located_with_upstream_messages() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "{maxSurge: 2, maxUnavailable: 10%}",
            "{maxSurge: 0, maxUnavailable: 0%}",
            "0%",
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0%: may not be 0 when `maxSurge` is 0",
        ),
        (
            "{maxSurge: 2, maxUnavailable: 10%}",
            "{maxSurge: 2, maxUnavailable: 150%}",
            "150%",
            "must not be greater than 100%",
        ),
        (
            "{maxSurge: 2, maxUnavailable: 10%}",
            "{maxSurge: -1, maxUnavailable: 10%}",
            "-1, max",
            "spec.strategy.rollingUpdate.maxSurge: must be greater than or equal to 0, got -1",
        ),
        (
            "{maxSurge: 2, maxUnavailable: 10%}",
            "{maxSurge: \"-5%\", maxUnavailable: 10%}",
            "\"-5%\"",
            "a valid percent string must be a numeric string followed by an ending '%'",
        ),
        (
            "{maxSurge: 2, maxUnavailable: 10%}",
            "{maxSurge: \"3\", maxUnavailable: 10%}",
            "\"3\"",
            "a valid percent string",
        ),
        (
            "type: RollingUpdate",
            "type: Recreate",
            "rollingUpdate:",
            "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
        ),
        (
            "type: RollingUpdate",
            "type: Rolling",
            "Rolling\n",
            "Unsupported value: \"Rolling\": supported values: \"Recreate\", \"RollingUpdate\"",
        ),
        (
            "progressDeadlineSeconds: 300",
            "progressDeadlineSeconds: 7",
            "7\n",
            "spec.progressDeadlineSeconds: Invalid value: 7: must be greater than minReadySeconds (10)",
        ),
        (
            "revisionHistoryLimit: 3",
            "revisionHistoryLimit: -1",
            "-1\n",
            "spec.revisionHistoryLimit: must be greater than or equal to 0, got -1",
        ),
        (
            "minReadySeconds: 10",
            "minReadySeconds: -10",
            "-10\n",
            "spec.minReadySeconds: must be greater than or equal to 0, got -10",
        ),
        (
            "pod-deletion-cost: \"-5\"",
            "pod-deletion-cost: \"+5\"",
            "\"+5\"",
            "Invalid value: \"+5\": must be a 32bit integer",
        ),
    ];
    for (from, to, token, message) in cases {
        let manifest = WEB.replacen(from, to, 1);
        assert_ne!(manifest, WEB, "{from}");
        let text = with_manifest(&manifest);
        let err = load_text(&text).unwrap_err();
        assert_eq!(err.count(), 1, "{err}");
        assert_eq!((err.line, err.column), find(&text, token), "{err}");
        assert!(err.message.contains(message), "{err}");
    }
    // The deadline is checked after defaulting: minReadySeconds 600 alone is refused.
    let manifest = WEB
        .replace("  progressDeadlineSeconds: 300\n", "")
        .replace("minReadySeconds: 10", "minReadySeconds: 600");
    let text = with_manifest(&manifest);
    let err = load_text(&text).unwrap_err();
    assert_eq!((err.line, err.column), find(&text, "600"));
    assert!(
        err.message
            .starts_with("spec.progressDeadlineSeconds: Invalid value: 600 (the default"),
        "{err}"
    );
}

const RS_AND_RC: &str = "
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: app, image: web:1}]}
  - inline:
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata:
        name: web-5d8f7
        labels: {app: web, pod-template-hash: 5d8f7}
        annotations: {deployment.kubernetes.io/revision: \"3\"}
        ownerReferences:
        - {apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true, blockOwnerDeletion: true}
      spec:
        replicas: 2
        minReadySeconds: 5
        selector: {matchLabels: {app: web, pod-template-hash: 5d8f7}}
        template:
          metadata: {labels: {app: web, pod-template-hash: 5d8f7}}
          spec: {containers: [{name: app, image: web:1}]}
  - inline:
      apiVersion: v1
      kind: ReplicationController
      metadata: {name: legacy}
      spec:
        replicas: 2
        template:
          metadata: {labels: {app: legacy}}
          spec: {containers: [{name: app, image: legacy:1}]}
";

#[test]
fn replica_sets_keep_owner_metadata_and_replication_controllers_load() {
    let text = format!("{CLUSTER}workloads:{RS_AND_RC}");
    let s = load_text(&text).unwrap();
    assert_eq!(s.replica_sets.len(), 2);
    let rs = &s.replica_sets[0];
    assert_eq!(rs.kind, crate::api::OwnerKind::ReplicaSet);
    let owner = rs.owner.as_ref().unwrap();
    assert_eq!(
        (owner.kind, owner.name.as_str(), owner.id),
        (
            crate::api::OwnerKind::Deployment,
            "web",
            crate::api::WorkloadId::UNRESOLVED
        )
    );
    assert_eq!(rs.min_ready_seconds, 5);
    assert_eq!(rs.labels.get("pod-template-hash"), Some("5d8f7"));
    assert_eq!(
        rs.annotations
            .get("deployment.kubernetes.io/revision")
            .map(String::as_str),
        Some("3")
    );
    let rc = &s.replica_sets[1];
    assert_eq!(rc.kind, crate::api::OwnerKind::ReplicationController);
    assert_eq!((rc.name.as_str(), rc.replicas), ("legacy", 2));
    // SetDefaults_ReplicationController: selector and labels from the template's labels.
    let mut labels = Labels::new();
    labels.insert("app", "legacy");
    assert!(rc.selector.matches(&labels));
    assert_eq!(rc.labels.get("app"), Some("legacy"));
    assert!(s.ignored.is_empty(), "{:?}", s.ignored);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    // An RC whose selector does not match its template is refused, as upstream does.
    let bad = text.replacen(
        "      spec:\n        replicas: 2\n        template:\n          metadata: {labels: {app: legacy}}",
        "      spec:\n        replicas: 2\n        selector: {app: old}\n        template:\n          metadata: {labels: {app: legacy}}",
        1,
    );
    assert_ne!(bad, text);
    let err = load_text(&bad).unwrap_err();
    assert!(
        err.message
            .contains("`selector` does not match template `labels`"),
        "{err}"
    );
}

#[test]
fn owners_no_manifest_defines_are_dropped_with_a_warning() {
    let text = format!("{CLUSTER}workloads:{RS_AND_RC}")
        .replace("name: web, uid: u1", "name: gone, uid: u1");
    let s = load_text(&text).unwrap();
    assert_eq!(s.replica_sets[0].owner, None);
    let line = find(&text, "web-5d8f7").0;
    assert!(
        s.warnings
            .iter()
            .any(|w| w.starts_with(&format!("s.yaml:{line}:"))
                && w.contains("controlled by Deployment gone, which no manifest defines")),
        "{:?}",
        s.warnings
    );
    // A controller that kubesim does not simulate (Argo Rollouts): no owner, and a warning.
    let text = format!("{CLUSTER}workloads:{RS_AND_RC}").replace(
        "apiVersion: apps/v1, kind: Deployment, name: web",
        "apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web",
    );
    let s = load_text(&text).unwrap();
    assert_eq!(s.replica_sets[0].owner, None);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("controlled by Rollout web (argoproj.io/v1alpha1)")),
        "{:?}",
        s.warnings
    );
    // Two controllers are refused (upstream ValidateOwnerReferences).
    let text = format!("{CLUSTER}workloads:{RS_AND_RC}").replace(
        "        - {apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true, blockOwnerDeletion: true}\n",
        "        - {apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true}\n        - {apiVersion: apps/v1, kind: Deployment, name: web2, uid: u2, controller: true}\n",
    );
    let err = load_text(&text).unwrap_err();
    assert!(
        err.message
            .contains("only one reference can have Controller set to true"),
        "{err}"
    );
    assert_eq!(err.line, find(&text, "name: web2").0);
}

// ---------------------------------------------------------------------------------------------
// Pods from dumps.

const DUMPED: &str = "
  - inline:
      apiVersion: v1
      kind: List
      items:
      - apiVersion: apps/v1
        kind: ReplicaSet
        metadata: {name: web-5d8f7, creationTimestamp: \"2024-05-14T09:00:00Z\"}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: app, image: web:1}]}
      - apiVersion: v1
        kind: Pod
        metadata:
          name: web-5d8f7-abcde
          creationTimestamp: \"2024-05-14T09:59:00Z\"
          deletionTimestamp: \"2024-05-14T10:00:30Z\"
          annotations: {controller.kubernetes.io/pod-deletion-cost: \"100\"}
          labels: {app: web}
          ownerReferences:
          - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f7, uid: u, controller: true}
        spec:
          nodeName: general-0
          containers: [{name: app, image: web:1}, {name: side, image: side:1}]
        status:
          phase: Running
          startTime: \"2024-05-14T09:59:10Z\"
          conditions:
          - {type: Ready, status: \"True\", lastTransitionTime: \"2024-05-14T10:00:00Z\"}
          containerStatuses:
          - {name: app, image: web:1, imageID: \"\", ready: true, restartCount: 2}
          - {name: side, image: side:1, imageID: \"\", ready: true, restartCount: 1}
      - apiVersion: v1
        kind: Pod
        metadata: {name: gated, creationTimestamp: \"2024-05-14T09:58:00Z\"}
        spec:
          schedulingGates: [{name: example.com/quota}, {name: example.com/review}]
          containers: [{name: app, image: x}]
        status:
          phase: Pending
          nominatedNodeName: general-1
          conditions:
          - {type: PodScheduled, status: \"False\", reason: SchedulingGated}
      - apiVersion: v1
        kind: Pod
        metadata: {name: done, creationTimestamp: \"2024-05-14T08:00:00Z\"}
        spec:
          nodeName: general-2
          restartPolicy: Never
          containers: [{name: app, image: x}]
        status: {phase: Succeeded, startTime: \"2024-05-14T08:00:01Z\"}
      - apiVersion: v1
        kind: Pod
        metadata: {name: plain}
        spec: {containers: [{name: app, image: x}]}
";

#[test]
fn dumped_pods_keep_owner_gates_cost_and_status_relative_to_the_dump() {
    let s = load_text(&format!("{CLUSTER}workloads:{DUMPED}")).unwrap();
    let pod = |name: &str| s.pods.iter().find(|p| p.name == name).unwrap();
    let web = pod("web-5d8f7-abcde");
    let owner = web.owner.as_ref().unwrap();
    assert_eq!(
        (owner.kind, owner.name.as_str()),
        (crate::api::OwnerKind::ReplicaSet, "web-5d8f7")
    );
    assert_eq!(web.deletion_cost, 100);
    assert_eq!(web.annotations.len(), 1);
    let d = web.dumped.as_deref().unwrap();
    // The latest time recorded is the Ready transition at 10:00:00 (the deletionTimestamp,
    // a deadline, is not a record): startTime 09:59:10 is 50s before, creation 60s.
    assert_eq!(d.phase, Some(crate::api::PodPhase::Running));
    assert_eq!(d.start_time_offset_secs, Some(-50));
    assert_eq!(d.creation_offset_secs, Some(-60));
    assert!(d.ready);
    assert!(d.terminating);
    assert_eq!(d.restarts, 3);

    let gated = pod("gated");
    assert_eq!(
        gated.scheduling_gates,
        ["example.com/quota", "example.com/review"]
    );
    assert_eq!(gated.nominated_node_name.as_deref(), Some("general-1"));
    let d = gated.dumped.as_deref().unwrap();
    assert_eq!(
        (d.phase, d.ready, d.terminating, d.start_time_offset_secs),
        (Some(crate::api::PodPhase::Pending), false, false, None)
    );
    assert_eq!(d.creation_offset_secs, Some(-120));

    // Finished pods are loaded too.
    let done = pod("done");
    let d = done.dumped.as_deref().unwrap();
    assert_eq!(d.phase, Some(crate::api::PodPhase::Succeeded));
    assert_eq!(d.start_time_offset_secs, Some(-(2 * 3600) + 1));
    // A pod without status says nothing about its state.
    assert!(pod("plain").dumped.is_none());
    assert_eq!(pod("plain").deletion_cost, 0);
}

#[test]
fn invalid_dumped_pods_are_located() {
    let base = format!("{CLUSTER}workloads:{DUMPED}");
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "phase: Running",
            "phase: Runing",
            "Runing",
            "status.phase: Unsupported value: \"Runing\"",
        ),
        (
            "{name: example.com/review}",
            "{name: example.com/quota}",
            "example.com/quota}]",
            "spec.schedulingGates[1].name: Duplicate value: \"example.com/quota\"",
        ),
        (
            "pod-deletion-cost: \"100\"",
            "pod-deletion-cost: \"lots\"",
            "\"lots\"",
            "must be a 32bit integer",
        ),
        (
            "startTime: \"2024-05-14T09:59:10Z\"",
            "startTime: \"yesterday\"",
            "\"yesterday\"",
            "status.startTime",
        ),
    ];
    for (from, to, token, message) in cases {
        let text = base.replacen(from, to, 1);
        assert_ne!(text, base, "{from}");
        let err = load_text(&text).unwrap_err();
        assert_eq!((err.line, err.column), find(&text, token), "{err}");
        assert!(err.message.contains(message), "{err}");
    }
    // A bad "Phase" is suggested its spelling.
    let err = load_text(&base.replace("phase: Running", "phase: running")).unwrap_err();
    assert!(
        err.message.ends_with("(did you mean \"Running\"?)"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Custom resources, and every problem in one pass.

#[test]
fn custom_resources_are_ignored_with_their_location() {
    let text = format!(
        "{CLUSTER}workloads:
  - inline: {{apiVersion: monitoring.coreos.com/v1, kind: Prometheus, metadata: {{name: k8s, namespace: monitoring}}}}
  - inline: {{apiVersion: networking.istio.io/v1alpha3, kind: VirtualService, metadata: {{name: reviews}}}}
  - inline: {{apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, metadata: {{name: edge}}}}
  - inline: {{apiVersion: apiextensions.k8s.io/v1beta1, kind: CustomResourceDefinition, metadata: {{name: olds.example.com}}}}
  - inline:
      apiVersion: monitoring.coreos.com/v1
      kind: ServiceMonitorList
      items:
      - {{metadata: {{name: a}}}}
      - {{metadata: {{name: b}}}}
"
    );
    let s = load_text(&text).unwrap();
    let names: Vec<String> = s.ignored.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "Prometheus/k8s",
            "VirtualService/reviews",
            "Gateway/edge",
            "CustomResourceDefinition/olds.example.com",
            "ServiceMonitor/a",
            "ServiceMonitor/b"
        ]
    );
    assert_eq!(s.ignored[0].namespace.as_deref(), Some("monitoring"));
    assert_eq!(
        (s.ignored[1].file.as_str(), s.ignored[1].line),
        ("s.yaml", find(&text, "{apiVersion: networking").0)
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn misspelt_built_in_kinds_and_groups_are_still_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "apiVersion: apps/v1, kind: Deploymnet",
            "Deploymnet",
            "unknown kind \"Deploymnet\" (did you mean \"Deployment\"?)",
        ),
        (
            "apiVersion: app/v1, kind: Deployment",
            "app/v1",
            "Deployment is not served at apiVersion \"app/v1\" (use apps/v1)",
        ),
        (
            "apiVersion: apps.k8s.io/v1, kind: Deployment",
            "apps.k8s.io/v1",
            "use apps/v1",
        ),
        (
            "apiVersion: policy.k8s.io/v1, kind: PodDisruptionBudget",
            "policy.k8s.io/v1",
            "use policy/v1",
        ),
        (
            "apiVersion: widgets/v1, kind: Widget",
            "widgets/v1",
            "unknown API group \"widgets\"",
        ),
    ];
    for (head, token, message) in cases {
        let text = format!("{CLUSTER}workloads:\n  - inline: {{{head}, metadata: {{name: x}}}}\n");
        let err = load_text(&text).unwrap_err();
        assert_eq!((err.line, err.column), find(&text, token), "{err}");
        assert!(err.message.contains(message), "{err}");
    }
}

#[test]
fn every_bad_object_and_entry_is_reported_in_one_pass() {
    let text = format!(
        "{CLUSTER}    - {{name: bad, count: 1, resources: {{cpu: 4x, memory: 1Gi}}}}
workloads:
  - inline: {{apiVersion: apps/v1, kind: Deploymnet, metadata: {{name: a}}}}
  - inline:
      apiVersion: v1
      kind: List
      items:
      - {{apiVersion: v1, kind: Pod, metadata: {{name: p1}}, spec: {{containers: [{{name: c, image: x, resources: {{requests: {{cpu: -1}}}}}}]}}}}
      - {{apiVersion: v1, kind: Pod, metadata: {{name: ok}}, spec: {{containers: [{{name: c, image: x}}]}}}}
      - {{apiVersion: v1, kind: Pod, metadata: {{name: p2}}, spec: {{containers: [{{name: c, imgae: x}}]}}}}
  - inline: {{apiVersion: example.com/v1, kind: Widget, metadata: {{name: w}}}}
timeline:
  - {{at: 1m, addNodes: {{pool: bad, count: 1}}}}
  - {{at: 1m, scale: {{deployment: nope, replicas: 1}}}}
"
    );
    let err = load_text(&text).unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), 5, "{err}");
    // The first problem is the primary location; every problem is `file:line:column: message`.
    assert_eq!((err.line, err.column), find(&text, "4x"));
    let expected = [
        (find(&text, "4x"), "\"4x\" is not a Kubernetes quantity"),
        (find(&text, "Deploymnet"), "did you mean \"Deployment\""),
        (find(&text, "-1}"), "must be greater than or equal to 0"),
        (find(&text, "imgae"), "unknown field \"imgae\""),
        (find(&text, "nope"), "no Deployment named \"nope\""),
    ];
    for (line, ((l, c), message)) in problems.iter().zip(expected) {
        assert!(line.starts_with(&format!("s.yaml:{l}:{c}: ")), "{line}");
        assert!(line.contains(message), "{line}");
    }
    // `addNodes` to the bad pool is not reported again.
    assert!(!err.to_string().contains("no node pool named"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Pool nodes.

#[test]
fn pool_nodes_carry_the_labels_every_kubelet_and_cloud_sets() {
    let s = load_text(POOLS).unwrap();
    let n = &s.nodes[1];
    let expect = [
        (LABEL_HOSTNAME, Some("general-1")),
        (LABEL_OS, Some("linux")),
        (LABEL_OS_BETA, Some("linux")),
        (LABEL_ARCH, Some("amd64")),
        (LABEL_ARCH_BETA, Some("amd64")),
        (LABEL_ZONE, Some("zone-b")),
        (LABEL_ZONE_BETA, Some("zone-b")),
        // "zone-b" → region "zone" (a one-letter suffix is the zone within a region).
        (LABEL_REGION, Some("zone")),
        (LABEL_REGION_BETA, Some("zone")),
        (LABEL_INSTANCE_TYPE, Some("m5.xlarge")),
        (LABEL_INSTANCE_TYPE_BETA, Some("m5.xlarge")),
        (LABEL_POOL, Some("general")),
    ];
    for (label, value) in expect {
        assert_eq!(n.labels.get(label), value, "{label}");
    }
    // The small pool has no zones and no instance type: no such labels, and the default disk.
    let small = &s.nodes[5];
    assert_eq!(small.labels.get(LABEL_ZONE), None);
    assert_eq!(small.labels.get(LABEL_REGION), None);
    assert_eq!(small.labels.get(LABEL_INSTANCE_TYPE), None);
    assert_eq!(small.labels.get(LABEL_OS), Some("linux"));
    assert_eq!(
        small.allocatable.ephemeral_storage,
        DEFAULT_POOL_EPHEMERAL_STORAGE
    );

    // A pool's region and labels override the generated ones; beta forms follow GA labels.
    let text = "name: t
cluster:
  nodePools:
    - name: arm
      count: 2
      region: eu-central-1
      zones: [eu-central-1a, eu-central-1b]
      resources: {cpu: \"4\", memory: 16Gi, ephemeral-storage: 20Gi}
      labels: {kubernetes.io/arch: arm64, kubernetes.io/hostname: shared}
    - {name: aws, count: 1, zones: [us-east-1c], resources: {cpu: \"4\", memory: 16Gi}}
";
    let s = load_text(text).unwrap();
    let arm = &s.nodes[1];
    assert_eq!(arm.labels.get(LABEL_ARCH), Some("arm64"));
    assert_eq!(arm.labels.get(LABEL_ARCH_BETA), Some("arm64"));
    assert_eq!(arm.labels.get(LABEL_HOSTNAME), Some("shared"));
    assert_eq!(arm.labels.get(LABEL_REGION), Some("eu-central-1"));
    assert_eq!(arm.labels.get(LABEL_ZONE), Some("eu-central-1b"));
    assert_eq!(arm.allocatable.ephemeral_storage, 20 << 30);
    assert_eq!(s.nodes[2].labels.get(LABEL_REGION), Some("us-east-1"));
    assert_eq!(s.pools[0].region.as_deref(), Some("eu-central-1"));
}

#[test]
fn node_manifests_get_the_kubelet_labels_they_lack() {
    let text = format!(
        "{CLUSTER}workloads:\n  - inline: {{apiVersion: v1, kind: Node, metadata: {{name: big, labels: {{kubernetes.io/arch: arm64}}}}, status: {{capacity: {{cpu: '8', memory: 8Gi}}}}}}\n"
    );
    let s = load_text(&text).unwrap();
    let big = s.nodes.iter().find(|n| n.name == "big").unwrap();
    assert_eq!(big.labels.get(LABEL_HOSTNAME), Some("big"));
    assert_eq!(big.labels.get(LABEL_OS), Some("linux"));
    assert_eq!(big.labels.get(LABEL_ARCH), Some("arm64"));
    assert_eq!(big.labels.get(LABEL_ARCH_BETA), Some("arm64"));
    assert_eq!(big.labels.get(LABEL_ZONE), None);
}

// ---------------------------------------------------------------------------------------------
// controlPlane and behaviour.

#[test]
fn control_plane_latencies_are_read() {
    let s = load_text(CLUSTER).unwrap();
    assert_eq!(
        s.control_plane,
        crate::apiserver::ControlPlaneTiming::default()
    );
    let s = load_text(&format!(
        "{CLUSTER}controlPlane: {{watchLatency: 50ms, apiLatency: 1ms..5ms}}\n"
    ))
    .unwrap();
    let fixed = SimDuration::from_millis(50);
    assert_eq!(
        (
            s.control_plane.watch_latency.lo,
            s.control_plane.watch_latency.hi
        ),
        (fixed, fixed)
    );
    assert_eq!(
        (
            s.control_plane.api_latency.lo,
            s.control_plane.api_latency.hi
        ),
        (SimDuration::from_millis(1), SimDuration::from_millis(5))
    );
    let s = load_text(&format!("{CLUSTER}controlPlane: {{watchLatency: 0s}}\n")).unwrap();
    assert!(s.control_plane.watch_latency.is_zero());
    let text = format!("{CLUSTER}controlPlane: {{watchLatncy: 5ms}}\n");
    let err = load_text(&text).unwrap_err();
    assert_eq!((err.line, err.column), find(&text, "watchLatncy"));
    assert!(
        err.message.contains("did you mean \"watchLatency\""),
        "{err}"
    );
    let text = format!("{CLUSTER}controlPlane: {{apiLatency: 9ms..1ms}}\n");
    let err = load_text(&text).unwrap_err();
    assert_eq!((err.line, err.column), find(&text, "9ms"));
    assert!(err.message.contains("is empty"), "{err}");
}

const BEHAVIOUR_WORKLOADS: &str = "workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: frontend}
      spec:
        selector: {matchLabels: {app: frontend}}
        template:
          metadata: {labels: {app: frontend}}
          spec: {containers: [{name: app, image: frontend:1}]}
  - inline:
      apiVersion: batch/v1
      kind: Job
      metadata: {name: nightly-report}
      spec: {template: {spec: {containers: [{name: r, image: report:1}], restartPolicy: Never}}}
";

#[test]
fn behaviour_is_read_per_workload() {
    let text = format!(
        "{CLUSTER}{BEHAVIOUR_WORKLOADS}behaviour:
  podStartup: 2s..4s
  failingImages: [frontend:v2-typo]
  frontend: {{startup: 5s..20s, ready: never, cpuPerRequest: 20ms, concurrency: 50}}
  nightly-report: {{runFor: 10m..30m, exitCode: 0}}
"
    );
    let s = load_text(&text).unwrap();
    let b = &s.behaviour;
    assert_eq!(
        b.pod_startup,
        (SimDuration::from_secs(2), SimDuration::from_secs(4))
    );
    assert_eq!(s.pod_startup, b.pod_startup);
    assert!(b.failing_images.contains("frontend:v2-typo"));
    let f = &b.workloads["frontend"];
    assert_eq!(
        f.startup,
        Some((SimDuration::from_secs(5), SimDuration::from_secs(20)))
    );
    assert!(f.never_ready);
    // The Job's pods end after runFor; traffic keys are read.
    assert_eq!(
        b.workloads["nightly-report"].run_for,
        Some((SimDuration::from_mins(10), SimDuration::from_mins(30)))
    );
    let serving = f.traffic.as_ref().expect("traffic keys read");
    assert_eq!(
        serving.cpu_per_request,
        crate::traffic::CpuCost::Constant(SimDuration::from_millis(20))
    );
    assert_eq!(serving.concurrency, 50);
}

#[test]
fn behaviour_mistakes_are_located() {
    let base = format!(
        "{CLUSTER}{BEHAVIOUR_WORKLOADS}behaviour:\n  frontend: {{startup: 5s..20s, ready: never}}\n"
    );
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "  frontend: {",
            "  frontnd: {",
            "frontnd",
            "no workload named \"frontnd\" (did you mean \"frontend\"?)",
        ),
        ("ready: never", "ready: nevr", "nevr", "expected `never`"),
        (
            "startup: 5s",
            "startpu: 5s",
            "startpu",
            "unknown field \"startpu\" in behaviour.frontend, expected one of startup, ready, runFor, exitCode, failureProbability, imagePull, liveness, readiness, startupProbe, preStop, crashAfter, initContainers, cpuPerRequest, concurrency, timeout, retries, queueLimit, memory, ephemeralStorage, cpu",
        ),
        (
            "startup: 5s..20s",
            "startup: 20s..5s",
            "20s..5s",
            "is empty",
        ),
        (
            "  frontend: {",
            "  podStartp: 1s\n  frontend: {",
            "podStartp",
            "(did you mean \"podStartup\"?)",
        ),
    ];
    for (from, to, token, message) in cases {
        let text = base.replacen(from, to, 1);
        assert_ne!(text, base, "{from}");
        let err = load_text(&text).unwrap_err();
        assert_eq!((err.line, err.column), find(&text, token), "{err}");
        assert!(err.message.contains(message), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Timeline.

const SHOP: &str = "workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: frontend, namespace: shop}
      spec:
        selector: {matchLabels: {app: frontend}}
        template:
          metadata: {labels: {app: frontend}}
          spec:
            initContainers: [{name: migrate, image: migrate:1}]
            containers: [{name: app, image: frontend:1}, {name: proxy, image: envoy:1}]
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: checkout}
      spec:
        selector: {matchLabels: {app: checkout}}
        template:
          metadata: {labels: {app: checkout}}
          spec: {containers: [{name: app, image: checkout:1}]}
  - inline:
      apiVersion: v1
      kind: ReplicationController
      metadata: {name: legacy}
      spec:
        template:
          metadata: {labels: {app: legacy}}
          spec: {containers: [{name: app, image: legacy:1}]}
  - inline:
      apiVersion: policy/v1
      kind: PodDisruptionBudget
      metadata: {name: checkout}
      spec: {maxUnavailable: 1, selector: {matchLabels: {app: checkout}}}
";

fn timeline_scenario(entries: &str) -> String {
    format!("{CLUSTER}{SHOP}timeline:\n{entries}")
}

fn ns_ref(kind: ObjectKind, namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

#[test]
fn every_timeline_action_is_read() {
    let text = timeline_scenario(
        "  - {at: 9m, drain: {node: general-4, timeout: 5m}}
  - {at: 1m, rollout: {deployment: frontend, namespace: shop, image: frontend:2, container: proxy}}
  - {at: 1m, rollout: {deployment: checkout, annotations: {team: pay}}}
  - {at: 1m, rollout: {deployment: checkout}}
  - {at: 2m, scale: {deployment: checkout, replicas: 5}}
  - {at: 2m, scale: {replicationController: legacy, replicas: 0}}
  - {at: 3m, rollback: {deployment: checkout, toRevision: 2}}
  - {at: 3m, rollback: {deployment: checkout}}
  - {at: 4m, pause: {deployment: checkout}}
  - {at: 5m, resume: {deployment: checkout}}
  - {at: 6m, delete: {kind: Deployment, name: frontend, namespace: shop, propagationPolicy: Orphan}}
  - {at: 6m, delete: {kind: PodDisruptionBudget, name: checkout}}
  - {at: 6m, delete: {kind: Node, name: general-1}}
  - {at: 7m, cordon: {node: general-0}}
  - {at: 8m, uncordon: {node: general-0}}
  - {at: 8m, addNodes: {pool: general, count: 2}}
  - {at: 10m, drain: {node: general-2, timeout: 0s}}
",
    );
    let s = load_text(&text).unwrap();
    let actions: Vec<(u64, &Action)> = s
        .timeline
        .iter()
        .map(|a| (a.at.as_nanos() / 1_000_000_000, &a.action))
        .collect();
    // Sorted by time; same-time entries keep their file order.
    let times: Vec<u64> = actions.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        [
            60, 60, 60, 120, 120, 180, 180, 240, 300, 360, 360, 360, 420, 480, 480, 540, 600
        ]
    );
    let checkout = ns_ref(ObjectKind::Deployment, "default", "checkout");
    match actions[0].1 {
        Action::Rollout {
            target,
            image,
            container,
            template_annotations,
        } => {
            assert_eq!(target, &ns_ref(ObjectKind::Deployment, "shop", "frontend"));
            assert_eq!(image.as_deref(), Some("frontend:2"));
            // `proxy`'s image is the third of the template's images: migrate's, app's, proxy's.
            assert_eq!(*container, Some(2));
            assert!(template_annotations.is_empty());
        }
        other => panic!("{other:?}"),
    }
    match actions[1].1 {
        Action::Rollout {
            image,
            template_annotations,
            ..
        } => {
            assert_eq!(*image, None);
            assert_eq!(
                template_annotations,
                &[("team".to_string(), "pay".to_string())]
            );
        }
        other => panic!("{other:?}"),
    }
    // A rollout with nothing to change is `kubectl rollout restart`.
    match actions[2].1 {
        Action::Rollout {
            template_annotations,
            ..
        } => assert_eq!(
            template_annotations,
            &[(ANNOTATION_RESTARTED_AT.to_string(), "1m".to_string())]
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(actions[3].1, Action::Scale { target, replicas: 5 } if *target == checkout));
    assert!(matches!(
        actions[4].1,
        Action::Scale { target, replicas: 0 }
            if *target == ns_ref(ObjectKind::ReplicationController, "default", "legacy")
    ));
    assert!(matches!(
        actions[5].1,
        Action::Rollback { to_revision: 2, .. }
    ));
    assert!(matches!(
        actions[6].1,
        Action::Rollback { to_revision: 0, .. }
    ));
    assert!(matches!(actions[7].1, Action::Pause { target } if *target == checkout));
    assert!(matches!(actions[8].1, Action::Resume { target } if *target == checkout));
    assert!(matches!(
        actions[9].1,
        Action::Delete { target, propagation: Propagation::Orphan }
            if *target == ns_ref(ObjectKind::Deployment, "shop", "frontend")
    ));
    assert!(matches!(
        actions[10].1,
        Action::Delete { target, propagation: Propagation::Background }
            if target.kind == ObjectKind::PodDisruptionBudget
    ));
    assert!(matches!(
        actions[11].1,
        Action::Delete { target, .. } if *target == ns_ref(ObjectKind::Node, "", "general-1")
    ));
    assert!(matches!(actions[12].1, Action::Cordon { node } if node == "general-0"));
    assert!(matches!(actions[13].1, Action::Uncordon { node } if node == "general-0"));
    assert!(matches!(
        actions[14].1,
        Action::AddNodes { pool: 0, count: 2 }
    ));
    // general-4 exists only once addNodes has run; the check allows it.
    assert!(matches!(
        actions[15].1,
        Action::Drain { node, timeout: Some(t) } if node == "general-4" && *t == SimDuration::from_mins(5)
    ));
    // A timeout of 0 is kubectl's "wait forever".
    assert!(matches!(actions[16].1, Action::Drain { timeout: None, .. }));
    // The image of a two-container Deployment without `container:` goes to the first app
    // container (after the init container's image), with a warning.
    let s = load_text(&timeline_scenario(
        "  - {at: 1m, rollout: {deployment: frontend, namespace: shop, image: frontend:2}}\n",
    ))
    .unwrap();
    assert!(matches!(
        s.timeline[0].action,
        Action::Rollout {
            container: Some(1),
            ..
        }
    ));
    let images = &s.deployments[0].template.pod.images;
    assert_eq!(images[1], "frontend:1");
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("the image goes to its first container, app")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn apply_loads_manifests_for_later() {
    let dir = temp_dir("apply");
    std::fs::write(
        dir.join("v3.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: search}\nspec:\n  selector: {matchLabels: {app: search}}\n  template:\n    metadata: {labels: {app: search}}\n    spec: {containers: [{name: app, image: search:3}]}\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: search}\nspec: {minAvailable: 1, selector: {matchLabels: {app: search}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: search-config}\n",
    )
    .unwrap();
    let text = timeline_scenario(
        "  - {at: 1m, apply: {file: v3.yaml}}
  - {at: 2m, apply: {inline: {apiVersion: v1, kind: Pod, metadata: {name: once}, spec: {containers: [{name: c, image: x}]}}}}
  - {at: 3m, scale: {deployment: search, replicas: 3}}
",
    );
    let s = load_str("s.yaml", &text, &dir).unwrap();
    let Action::Apply(w) = &s.timeline[0].action else {
        panic!("{:?}", s.timeline[0]);
    };
    assert_eq!(w.at, SimDuration::from_mins(1));
    assert_eq!(w.deployments.len(), 1);
    assert_eq!(w.deployments[0].name, "search");
    assert_eq!(w.pdbs.len(), 1);
    let Action::Apply(w) = &s.timeline[1].action else {
        panic!("{:?}", s.timeline[1]);
    };
    assert_eq!(w.pods[0].name, "once");
    // Applied objects are not part of the start state; the ConfigMap is listed as ignored.
    assert!(s.deployments.iter().all(|d| d.name != "search"));
    assert!(s.ignored.iter().any(|i| i.name == "search-config"));
    // Node manifests cannot be applied.
    let text = timeline_scenario(
        "  - {at: 1m, apply: {inline: {apiVersion: v1, kind: Node, metadata: {name: n9}}}}\n",
    );
    let err = load_text(&text).unwrap_err();
    assert_eq!((err.line, err.column), find(&text, "n9"));
    assert!(err.message.contains("cannot apply Node manifests"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn timeline_mistakes_are_located() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "  - {at: 1m, rolout: {deployment: checkout}}\n",
            "rolout",
            "unknown timeline action \"rolout\", expected one of addNodes, rollout, scale, rollback, pause, resume, suspend, unsuspend, apply, delete, cordon, uncordon, drain or a fault (crashNodes, rebootNodes, recoverNodes, stallKubelet, zoneOutage, partition, killPods, crashContainers, slowImagePulls, apiServerOutage, schedulerOutage, controllerManagerOutage, reclaimSpot, heal) (did you mean \"rollout\"?)",
        ),
        (
            "  - {at: 1m, zoneOutage: {for: 1h}}\n",
            "{for",
            "zoneOutage needs `zone:`",
        ),
        (
            "  - {at: 1m, pause: {deployment: checkout}, resume: {deployment: checkout}}\n",
            "resume",
            "a timeline entry holds one action, but this one has `pause` and `resume`",
        ),
        (
            "  - {at: 1m}\n",
            "{at: 1m}",
            "a timeline entry needs an action, one of addNodes, rollout",
        ),
        (
            "  - {pause: {deployment: checkout}}\n",
            "{pause",
            "needs `at:`",
        ),
        (
            "  - {at: soon, pause: {deployment: checkout}}\n",
            "soon",
            "timeline[0].at:",
        ),
        (
            "  - {at: 1m, rollout: {deployment: chekout, image: x}}\n",
            "chekout",
            "no Deployment named \"chekout\" in namespace \"default\" (did you mean \"checkout\"?) (Deployments defined: checkout, shop/frontend)",
        ),
        (
            "  - {at: 1m, rollout: {deployment: frontend, image: x}}\n",
            "frontend, image",
            "(it is in namespace \"shop\": add `namespace: shop`)",
        ),
        (
            "  - {at: 1m, rollout: {deployment: frontend, namespace: shop, image: x, container: prxy}}\n",
            "prxy",
            "Deployment frontend has no container named \"prxy\" (did you mean \"proxy\"?) (containers: app, proxy)",
        ),
        (
            "  - {at: 1m, rollout: {deployment: frontend, namespace: shop, image: x, container: migrate}}\n",
            "migrate}",
            "is an init container",
        ),
        (
            "  - {at: 1m, rollout: {deployment: checkout, imgae: x}}\n",
            "imgae",
            "unknown field \"imgae\", expected one of deployment, statefulSet, daemonSet, namespace, image, container, annotations (did you mean \"image\"?)",
        ),
        (
            "  - {at: 1m, scale: {deployment: checkout, replicationController: legacy, replicas: 1}}\n",
            "replicationController",
            "scale names one object, but this one has `deployment` and `replicationController`",
        ),
        (
            "  - {at: 1m, scale: {replicas: 1}}\n",
            "{replicas",
            "scale needs the object to scale",
        ),
        (
            "  - {at: 1m, scale: {replicaSet: legacy, replicas: 1}}\n",
            "legacy",
            "no ReplicaSet named \"legacy\"",
        ),
        (
            "  - {at: 1m, scale: {deployment: checkout, replicas: -1}}\n",
            "-1",
            "must be greater than or equal to 0, got -1",
        ),
        (
            "  - {at: 1m, rollback: {deployment: checkout, toRevision: -1}}\n",
            "-1",
            "toRevision must be 0 (the previous revision) or more",
        ),
        (
            "  - {at: 1m, delete: {kind: deployment, name: checkout}}\n",
            "deployment,",
            "delete cannot delete kind \"deployment\" (did you mean \"Deployment\"?)",
        ),
        (
            "  - {at: 1m, delete: {kind: Deployment, name: checkout, propagationPolicy: Forground}}\n",
            "Forground",
            "(did you mean \"Foreground\"?)",
        ),
        (
            "  - {at: 1m, delete: {kind: Node, name: general-1, namespace: default}}\n",
            "namespace",
            "a Node belongs to no namespace",
        ),
        (
            "  - {at: 1m, cordon: {node: genral-1}}\n",
            "genral-1",
            "no node named \"genral-1\" (did you mean \"general-1\"?)",
        ),
        (
            "  - {at: 1m, drain: {node: general-3}}\n",
            "general-3",
            "no node named \"general-3\"",
        ),
        (
            "  - {at: 1m, addNodes: {pool: genral, count: 1}}\n",
            "genral",
            "no node pool named \"genral\" (did you mean \"general\"?) (pools: general)",
        ),
        (
            "  - {at: 1m, apply: {fiel: x.yaml}}\n",
            "fiel",
            "did you mean \"file\"",
        ),
    ];
    for (entry, token, message) in cases {
        let text = timeline_scenario(entry);
        let err = load_text(&text).unwrap_err();
        let at = text.find("timeline:").unwrap();
        let (line, column) = find(&text[at..], token);
        let base_line = text[..at].matches('\n').count();
        assert_eq!(
            (err.line, err.column),
            (base_line + line, column),
            "{entry}: {err}"
        );
        assert!(err.message.contains(message), "{entry}: {err}");
        assert_eq!(err.count(), 1, "{err}");
    }
}

#[test]
fn timeline_entries_after_the_end_warn() {
    let text = timeline_scenario("  - {at: 2h, pause: {deployment: checkout}}\n");
    let s = load_text(&text).unwrap();
    let (line, column) = find(&text, "2h");
    assert!(
        s.warnings.iter().any(|w| w
            == &format!(
                "s.yaml:{line}:{column}: this pause happens at 2h, after the run ends (1h), so it never runs"
            )),
        "{:?}",
        s.warnings
    );
    assert_eq!(s.timeline.len(), 1);
}
