//! Hostile inputs are refused before they cost time or memory, with a located message and exit
//! 2: devices, FIFOs and folders where a file is expected, files over the byte caps, YAML
//! nested 100,000 deep, numbers that do not fit or would allocate without bound.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use models::scenario;

const POOL: &str = "name: hostile\ncluster:\n  nodePools: [{name: a, count: 2, resources: {cpu: \"4\", memory: 8Gi}}]\n";

/// A fresh folder for one test.
fn folder(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kubesim-hostile-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

fn kubesim(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubesim"));
    cmd.args(args)
        .env_remove(scenario::MAX_YAML_MIB_VAR)
        .env_remove(scenario::MAX_TRACE_MIB_VAR)
        .env_remove(scenario::MAX_FOLDER_MIB_VAR);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("kubesim runs")
}

/// `kubesim check` must refuse the scenario with exit 2; its first line of stderr.
fn refused(path: &Path, env: &[(&str, &str)]) -> String {
    let out = kubesim(&["check", path.to_str().unwrap()], env);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    stderr
}

fn load_err(path: &Path) -> scenario::Diagnostic {
    match scenario::load(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(d) => d,
    }
}

#[cfg(unix)]
#[test]
fn a_device_is_not_read_as_a_scenario_a_manifest_or_a_trace() {
    let d = load_err(Path::new("/dev/zero"));
    assert_eq!((d.file.as_str(), d.line, d.column), ("/dev/zero", 1, 1));
    assert!(d.message.contains("not a regular file"), "{d}");

    let dir = folder("device");
    let text = format!("{POOL}workloads:\n  - file: /dev/zero\n");
    let path = write(&dir, "s.yaml", &text);
    let d = load_err(&path);
    assert_eq!((d.line, d.column), (5, 11), "{d}");
    assert!(
        d.message
            .starts_with("cannot read /dev/zero: it is not a regular file"),
        "{d}"
    );

    let text = format!(
        "{POOL}workloads:\n  - trace: {{format: openb, nodes: /dev/zero, pods: /dev/zero}}\n"
    );
    let path = write(&dir, "t.yaml", &text);
    let d = load_err(&path);
    assert_eq!(d.file, "/dev/zero", "{d}");
    assert!(d.message.contains("not a regular file"), "{d}");
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = folder("fifo");
    let fifo = dir.join("pipe.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return; // no mkfifo here: nothing to test
    }
    let text = format!("{POOL}workloads:\n  - file: pipe.yaml\n");
    let path = write(&dir, "s.yaml", &text);
    let stderr = refused(&path, &[]);
    assert!(
        stderr.contains(":5:11: cannot read pipe.yaml: it is not a regular file"),
        "{stderr}"
    );
}

#[test]
fn a_folder_is_not_a_scenario() {
    let dir = folder("dir");
    let d = load_err(&dir);
    assert!(d.message.contains("it is a folder, not a file"), "{d}");
}

#[test]
fn a_manifest_folder_over_its_total_cap_is_refused_before_it_is_read() {
    let dir = folder("folder-cap");
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(&manifests).expect("manifest folder");
    // Three files of 900 KiB of comments after one Pod each: each under a 1 MiB file cap,
    // 2.6 MiB together.
    let padding = "# padding padding padding padding padding padding padding padding\n"
        .repeat((900 << 10) / 66);
    for i in 0..3 {
        write(
            &manifests,
            &format!("p{i}.yaml"),
            &format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec: {{containers: [{{name: c, image: x}}]}}\n{padding}"
            ),
        );
    }
    let path = write(
        &dir,
        "s.yaml",
        &format!("{POOL}workloads:\n  - file: manifests\n"),
    );
    // Four times the per-file cap by default.
    let stderr = refused(&path, &[(scenario::MAX_YAML_MIB_VAR, "0")]);
    assert!(stderr.contains("KUBESIM_MAX_INPUT_MIB=\"0\""), "{stderr}");
    let out = kubesim(
        &["check", path.to_str().unwrap()],
        &[(scenario::MAX_YAML_MIB_VAR, "1")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = refused(&path, &[(scenario::MAX_FOLDER_MIB_VAR, "2")]);
    assert!(
        stderr.contains("s.yaml:5:11: cannot read manifests: its 3 manifest files hold 2.6 MiB together, over the 2 MiB limit for one manifest folder (raise the limit with KUBESIM_MAX_FOLDER_MIB=<MiB>)"),
        "{stderr}"
    );
    let out = kubesim(
        &["check", path.to_str().unwrap()],
        &[(scenario::MAX_FOLDER_MIB_VAR, "3")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(scenario::FOLDER_CAP_FILES, 4);
}

#[test]
fn a_file_over_the_cap_is_refused_unless_the_cap_is_raised() {
    let dir = folder("cap");
    // 2 MiB of comments after a valid scenario.
    let padding = "# padding padding padding padding padding padding padding padding\n"
        .repeat((2 << 20) / 66 + 1);
    let path = write(&dir, "s.yaml", &format!("{POOL}{padding}"));
    let stderr = refused(&path, &[(scenario::MAX_YAML_MIB_VAR, "1")]);
    assert!(
        stderr.contains("s.yaml:1:1: cannot read")
            && stderr.contains("over the 1 MiB limit for a YAML input")
            && stderr.contains("KUBESIM_MAX_INPUT_MIB=<MiB>"),
        "{stderr}"
    );
    let out = kubesim(
        &["check", path.to_str().unwrap()],
        &[(scenario::MAX_YAML_MIB_VAR, "3")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A cap that is not a number is named, not ignored.
    let stderr = refused(&path, &[(scenario::MAX_YAML_MIB_VAR, "lots")]);
    assert!(
        stderr.contains("KUBESIM_MAX_INPUT_MIB=\"lots\" is not a number of MiB"),
        "{stderr}"
    );
    // The default cap is what the README states.
    assert_eq!(scenario::MAX_YAML_BYTES, 64 << 20);
    assert_eq!(scenario::MAX_TRACE_BYTES, 256 << 20);
}

#[test]
fn a_trace_over_its_cap_is_refused() {
    let dir = folder("trace-cap");
    let nodes = format!(
        "sn,cpu_milli,memory_mib,gpu,model\n{}",
        "n0,1000,1024,0,\n".repeat(80_000)
    );
    write(&dir, "n.csv", &nodes);
    write(
        &dir,
        "p.csv",
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n",
    );
    let text =
        format!("{POOL}workloads:\n  - trace: {{format: openb, nodes: n.csv, pods: p.csv}}\n");
    let path = write(&dir, "s.yaml", &text);
    let stderr = refused(&path, &[(scenario::MAX_TRACE_MIB_VAR, "1")]);
    assert!(
        stderr.contains("n.csv:1:1: cannot read the trace file: it is 1.2 MiB, over the 1 MiB limit for a trace file")
            && stderr.contains("KUBESIM_MAX_TRACE_MIB"),
        "{stderr}"
    );
}

/// 100,000 nested `[`: refused at the bracket that crosses the limit, by a scan linear in the
/// text (before the change the YAML scanner took ~48 s to reach its own recursion limit).
#[test]
fn nesting_100_000_deep_is_refused_where_it_crosses_the_limit() {
    let dir = folder("nesting");
    let deep = "[".repeat(100_000);
    let path = write(&dir, "s.yaml", &format!("{POOL}workloads: {deep}\n"));
    let d = load_err(&path);
    // `workloads: ` is 11 characters; the mapping is one level, so the 64th `[` crosses.
    assert_eq!(
        (d.line, d.column),
        (4, 11 + scenario::MAX_YAML_NESTING),
        "{d}"
    );
    assert!(
        d.message
            .contains("lists and mappings nested more than 64 deep")
            && d.message.contains("bracket left unclosed"),
        "{d}"
    );

    // The same inside a manifest, reported in the manifest.
    write(&dir, "deep.yaml", &format!("items: {deep}\n"));
    let path = write(
        &dir,
        "m.yaml",
        &format!("{POOL}workloads:\n  - file: deep.yaml\n"),
    );
    let d = load_err(&path);
    assert!(d.file.ends_with("deep.yaml"), "{d}");
    assert_eq!(
        (d.line, d.column),
        (1, 7 + scenario::MAX_YAML_NESTING),
        "{d}"
    );

    // Block nesting: `- - - …` and ever deeper indentation.
    let dashes = format!("{POOL}workloads:\n  {}x\n", "- ".repeat(100_000));
    let d = load_err(&write(&dir, "dashes.yaml", &dashes));
    assert!(d.message.contains("is the indentation right?"), "{d}");
}

#[test]
fn integers_wider_than_64_bits_are_explained() {
    let dir = folder("wide");
    let path = write(
        &dir,
        "s.yaml",
        &format!("{POOL}seed: 99999999999999999999999\n"),
    );
    let d = load_err(&path);
    assert_eq!((d.line, d.column), (4, 7), "{d}");
    assert!(
        d.message.contains(
            "seed: the number 99999999999999999999999 is too large: whole numbers must lie between"
        ),
        "{d}"
    );
    assert!(!d.message.contains("u128"), "{d}");
}

#[test]
fn a_mapping_where_a_name_is_expected_is_explained_at_the_field() {
    let dir = folder("tagged");
    let text =
        format!("{POOL}workloads:\n  - trace: {{format: {{a: 1}}, nodes: n.csv, pods: p.csv}}\n");
    let d = load_err(&write(&dir, "s.yaml", &text));
    assert_eq!((d.line, d.column), (5, 21), "{d}");
    assert_eq!(
        d.message,
        "workloads[0].trace.format: expected a name (a string), found a mapping"
    );
}

fn deployment(name: &str, replicas: u64) -> String {
    format!(
        "  - inline: {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: {name}}}, spec: {{replicas: {replicas}, selector: {{matchLabels: {{app: {name}}}}}, template: {{metadata: {{labels: {{app: {name}}}}}, spec: {{containers: [{{name: c, image: i}}]}}}}}}}}\n"
    )
}

#[test]
fn pod_counts_are_capped_per_workload_and_in_all() {
    let dir = folder("pods");
    let text = format!("{POOL}workloads:\n{}", deployment("web", 2_000_000_000));
    let d = load_err(&write(&dir, "one.yaml", &text));
    assert!(
        d.message
            .contains("spec.replicas: must be at most 1000000 (kubesim's limit on pods in a cluster), got 2000000000"),
        "{d}"
    );

    let text = format!(
        "{POOL}workloads:\n{}{}",
        deployment("a", 600_000),
        deployment("b", 600_000)
    );
    let d = load_err(&write(&dir, "sum.yaml", &text));
    assert_eq!((d.line, d.column), (4, 1), "{d}");
    assert!(
        d.message.contains(
            "the workloads ask for 1200000 pods at the start, more than kubesim's limit of 1000000"
        ),
        "{d}"
    );

    let text = format!(
        "{POOL}workloads:\n{}timeline:\n  - {{at: 1m, scale: {{deployment: a, replicas: 5000000}}}}\n",
        deployment("a", 1)
    );
    let d = load_err(&write(&dir, "scale.yaml", &text));
    assert!(
        d.message
            .contains("timeline[0].scale.replicas: must be at most 1000000"),
        "{d}"
    );
}

#[test]
fn compare_seed_lists_and_percentages_have_ranges() {
    let dir = folder("ranges");
    let seeds: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    let text = format!(
        "{POOL}compare: {{seeds: [{}], variants: [{{name: a}}, {{name: b}}]}}\n",
        seeds.join(",")
    );
    let d = load_err(&write(&dir, "seeds.yaml", &text));
    assert_eq!(
        d.message,
        "1001 seeds listed: a comparison runs on 1 to 1000 seeds"
    );

    write(&dir, "n.csv", "sn,cpu_milli,memory_mib,gpu,model\n");
    write(
        &dir,
        "p.csv",
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n",
    );
    let text = format!(
        "{POOL}workloads:\n  - trace: {{format: openb, nodes: n.csv, pods: p.csv, typicalPodThreshold: 500}}\n"
    );
    let d = load_err(&write(&dir, "threshold.yaml", &text));
    assert_eq!(
        d.message,
        "typicalPodThreshold is a percentage from 0 to 100, got 500"
    );
}
