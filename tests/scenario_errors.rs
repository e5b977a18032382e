//! Broken scenarios must fail with a diagnostic at the right `file:line:column` and a message
//! that says what is wrong; the valid fixture must load with the expected contents.
//!
//! Expected positions are derived from the fixture text (the offending token is searched
//! for), so editing a fixture's comments does not break the test.

use std::path::{Path, PathBuf};

use models::scenario::{self, Diagnostic};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// 1-based (line, column) of the first occurrence of `token` in `file` outside comment lines,
/// columns in characters.
fn position_of(file: &Path, token: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(at) = line.find(token) {
            return (i + 1, line[..at].chars().count() + 1);
        }
    }
    panic!("{token:?} not found in {}", file.display())
}

fn load_broken(name: &str) -> Diagnostic {
    let path = fixtures().join("broken").join(name);
    match scenario::load(&path) {
        Ok(_) => panic!("{name} loaded, but it is broken on purpose"),
        Err(d) => d,
    }
}

/// Asserts the diagnostic points at `token` in `file` (relative to the broken fixtures) and
/// that its message contains every one of `parts`.
fn assert_diagnostic(d: &Diagnostic, file: &str, token: &str, parts: &[&str]) {
    let path = fixtures().join("broken").join(file);
    assert_eq!(d.file, path.display().to_string(), "wrong file in: {d}");
    assert_eq!(
        (d.line, d.column),
        position_of(&path, token),
        "wrong position in: {d}"
    );
    for part in parts {
        assert!(d.message.contains(part), "message lacks {part:?}: {d}");
    }
    assert_eq!(
        d.to_string(),
        format!("{}:{}:{}: {}", d.file, d.line, d.column, d.message)
    );
}

#[test]
fn typo_in_a_scenario_field() {
    let d = load_broken("scenario-field-typo.yaml");
    assert_diagnostic(
        &d,
        "scenario-field-typo.yaml",
        "cout",
        &[
            "unknown field \"cout\"",
            "expected one of name, count, resources",
            "(did you mean \"count\"?)",
        ],
    );
}

#[test]
fn typo_in_a_deployment_field_is_located_in_the_manifest() {
    let d = load_broken("deployment-typo.yaml");
    assert_diagnostic(
        &d,
        "manifests/typo-replicsa.yaml",
        "replicsa",
        &["unknown field \"replicsa\" in Deployment spec (did you mean \"replicas\"?)"],
    );
}

#[test]
fn bad_quantity_names_the_field_and_the_value() {
    let d = load_broken("bad-quantity.yaml");
    assert_diagnostic(
        &d,
        "bad-quantity.yaml",
        "12xyz",
        &[
            "spec.template.spec.containers[0].resources.requests.cpu",
            "\"12xyz\" is not a Kubernetes quantity",
        ],
    );
}

#[test]
fn negative_replicas() {
    let d = load_broken("negative-replicas.yaml");
    assert_diagnostic(
        &d,
        "manifests/negative-replicas.yaml",
        "-2",
        &["spec.replicas: must be greater than or equal to 0, got -2"],
    );
}

#[test]
fn missing_manifest_file_is_located_at_its_reference() {
    let d = load_broken("missing-file.yaml");
    assert_diagnostic(
        &d,
        "missing-file.yaml",
        "manifests/does-not-exist.yaml",
        &["cannot read manifests/does-not-exist.yaml: No such file or directory"],
    );
}

#[test]
fn binary_bytes_are_not_yaml() {
    let d = load_broken("not-yaml.yaml");
    let path = fixtures().join("broken/not-yaml.yaml");
    assert_eq!(d.file, path.display().to_string());
    assert_eq!((d.line, d.column), (1, 1));
    assert!(d.message.starts_with("not a YAML file: "), "{d}");

    let d = load_broken("binary-manifest.yaml");
    let path = fixtures().join("broken/manifests/binary.yaml");
    assert_eq!(d.file, path.display().to_string());
    assert_eq!((d.line, d.column), (1, 1));
    assert!(d.message.starts_with("not a YAML file: "), "{d}");
}

#[test]
fn unknown_kind_is_located_with_a_suggestion() {
    let d = load_broken("unknown-kind.yaml");
    assert_diagnostic(
        &d,
        "unknown-kind.yaml",
        "Deploymnet",
        &["unknown kind \"Deploymnet\" (did you mean \"Deployment\"?)"],
    );
}

#[test]
fn bad_duration() {
    let d = load_broken("bad-duration.yaml");
    assert_diagnostic(
        &d,
        "bad-duration.yaml",
        "10 minutes",
        &["duration: ", "\"10 minutes\""],
    );
}

#[test]
fn yaml_syntax_errors_are_located() {
    let d = load_broken("yaml-syntax.yaml");
    let path = fixtures().join("broken/yaml-syntax.yaml");
    assert_eq!(d.file, path.display().to_string());
    assert!(d.message.starts_with("invalid YAML: "), "{d}");
    // libyaml notices the unclosed flow mapping on the line after it.
    let (line, _) = position_of(&path, "workloads: []");
    assert_eq!(d.line, line, "{d}");
}

#[test]
fn a_missing_scenario_file_is_reported() {
    let path = fixtures().join("broken/no-such-scenario.yaml");
    let Err(d) = scenario::load(&path) else {
        panic!("loaded a file that does not exist")
    };
    assert_eq!((d.line, d.column), (1, 1));
    assert!(d.message.starts_with("cannot read "), "{d}");
}

#[test]
fn the_valid_fixture_loads_with_every_feature() {
    let dir = fixtures().join("valid");
    let s = scenario::load(&dir.join("scenario.yaml")).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(s.name, "all-features");
    assert_eq!(s.seed, 2024);
    assert_eq!(s.duration.as_secs(), 9000);
    assert_eq!(
        (s.pod_startup.0.as_millis(), s.pod_startup.1.as_millis()),
        (2000, 5000)
    );

    // Nodes: general-0..2, gpu-0, then the Node manifest.
    let names: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        ["general-0", "general-1", "general-2", "gpu-0", "legacy-0"]
    );
    assert_eq!(s.pools.len(), 2);
    let zones: Vec<Option<&str>> = s
        .nodes
        .iter()
        .map(|n| n.labels.get("topology.kubernetes.io/zone"))
        .collect();
    assert_eq!(
        zones,
        [
            Some("zone-a"),
            Some("zone-b"),
            Some("zone-a"),
            Some("zone-a"),
            Some("zone-c")
        ]
    );
    assert_eq!(s.nodes[3].allocatable.extended_amount("nvidia.com/gpu"), 4);
    assert_eq!(s.nodes[3].allocatable.pods, 64);
    assert_eq!(s.nodes[0].allocatable.pods, 110);
    assert_eq!(s.nodes[4].allocatable.cpu_milli, 7910);
    assert!(s.nodes[4].unschedulable);

    // The Deployment's pod, per upstream PodRequests: app containers 250m/128Mi + 50m/32Mi
    // (limits-only: requests default to limits) + sidecar 100m/64Mi = 400m/224Mi; the
    // regular init container needs 1000m/256Mi on top of the sidecar started before it =
    // 1100m/320Mi; the maximum wins.
    assert_eq!(s.deployments.len(), 1);
    let web = &s.deployments[0];
    assert_eq!((web.name.as_str(), web.replicas), ("web", 4));
    assert_eq!(web.template.pod.requests.cpu_milli, 1100);
    assert_eq!(web.template.pod.requests.memory, 320 << 20);
    assert_eq!(web.template.pod.non_zero_cpu_milli, 1100);
    assert!(web.selector.matches(&web.template.pod.labels));

    // The ReplicaSet's pod requests nothing: non-zero defaults 100m / 200Mi.
    assert_eq!(s.replica_sets.len(), 1);
    let batch = &s.replica_sets[0];
    assert_eq!((batch.namespace.as_str(), batch.replicas), ("jobs", 2));
    assert_eq!(batch.template.pod.requests.cpu_milli, 0);
    assert_eq!(
        (
            batch.template.pod.non_zero_cpu_milli,
            batch.template.pod.non_zero_memory
        ),
        (100, 200 << 20)
    );

    let pods: Vec<String> = s.pods.iter().map(|p| p.key()).collect();
    assert_eq!(pods, ["default/pinned", "ml/trainer"]);
    assert_eq!(s.pods[0].node_name.as_deref(), Some("general-1"));
    let trainer = &s.pods[1];
    assert_eq!(trainer.requests.extended_amount("nvidia.com/gpu"), 2);
    assert_eq!(trainer.requests.cpu_milli, 8000);
    assert_eq!(trainer.priority, 1000);
    assert_eq!(trainer.tolerations.len(), 1);
    assert!(trainer.node_affinity.is_some());

    let ignored: Vec<(&str, &str)> = s
        .ignored
        .iter()
        .map(|i| (i.kind.as_str(), i.name.as_str()))
        .collect();
    assert_eq!(
        ignored,
        [("ServiceAccount", "web"), ("ConfigMap", "settings")]
    );
    // The StatefulSet is simulated.
    assert_eq!(s.stateful_sets.len(), 1);
    assert_eq!(s.stateful_sets[0].name, "db");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    // The scheduler configuration keeps where it came from, for the scheduler's own errors.
    let config = s.scheduler_config.as_ref().expect("scheduler config");
    assert_eq!(
        config["profiles"][0]["pluginConfig"][0]["args"]["scoringStrategy"]["type"],
        "MostAllocated"
    );
    let origin = s.scheduler_config_origin.as_ref().expect("origin");
    let d = origin.locate(
        "profiles[0].pluginConfig[0].args.scoringStrategy.type",
        "not supported",
    );
    assert_eq!(d.file, dir.join("scheduler.yaml").display().to_string());
    assert_eq!(
        (d.line, d.column),
        position_of(&dir.join("scheduler.yaml"), "MostAllocated")
    );
}

#[test]
fn every_broken_fixture_fails_cleanly() {
    // Any fixture added to broken/ must produce a diagnostic, never load or panic.
    let dir = fixtures().join("broken");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("broken fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 9);
    for path in names {
        let d = scenario::load(&path).err();
        assert!(d.is_some(), "{} loaded", path.display());
    }
}

#[test]
fn the_cluster_wide_node_limit_is_checked_before_the_run() {
    let limit = scenario::MAX_CLUSTER_NODES;
    // Each addNodes is within its own cap; together they are not.
    let mut text = String::from(
        "name: big\ncluster:\n  nodePools:\n    - {name: p, count: 10, resources: {cpu: \"4\", memory: 16Gi}}\ntimeline:\n",
    );
    for i in 0..3 {
        text.push_str(&format!(
            "  - {{at: {}m, addNodes: {{pool: p, count: 40000}}}}\n",
            i + 1
        ));
    }
    let d = scenario::load_str("big.yaml", &text, Path::new(".")).expect_err("over the limit");
    assert_eq!((d.line, d.column), (8, 41), "{d}");
    assert!(
        d.message.contains(&format!(
            "would have 120010 nodes, more than kubesim's limit of {limit}"
        )),
        "{d}"
    );
    // Pools, each within its own cap, that start the cluster over the limit.
    let mut text = String::from("name: big\ncluster:\n  nodePools:\n");
    for i in 0..3 {
        text.push_str(&format!(
            "    - {{name: p{i}, count: 40000, resources: {{cpu: \"4\", memory: 16Gi}}}}\n"
        ));
    }
    let d = scenario::load_str("big.yaml", &text, Path::new(".")).expect_err("over the limit");
    assert_eq!(d.line, 2, "{d}");
    assert!(d.message.contains("starts with 120000 nodes"), "{d}");
}
