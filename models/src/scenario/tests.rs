use super::*;
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
    assert_eq!(p.images, ["fluent-bit", "migrate:1", "app:1", "side:1"]);
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
        "# comment-only document\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: app}\n- apiVersion: apps/v1\n  kind: ReplicaSet\n  metadata: {name: rs}\n  spec:\n    selector: {matchExpressions: [{key: app, operator: In, values: [rs]}]}\n    template:\n      metadata: {labels: {app: rs}}\n      spec: {containers: [{name: c, image: x}]}\n---\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\n",
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
    assert_eq!(kinds, ["ServiceAccount", "Job"]);
    assert!(s.ignored[1].file.ends_with("app.yaml"));
    assert_eq!(s.ignored[1].line, 19);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(s.warnings[0].contains("Job once is not simulated yet"));

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
