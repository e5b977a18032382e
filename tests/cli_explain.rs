//! `kubesim explain`, end to end: a pod's and a node's whole life in a run with faults, image
//! pull failures and a pod bound by spec.nodeName, and the errors for names that do not exist.

use crate::support::kubesim;
use std::process::Output;

const SCENARIO: &str = "tests/fixtures/explain/life.yaml";

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&stdout(&kubesim(&all))).expect("explain prints JSON")
}

/// The run's events, to find the generated pod names the faults hit.
fn events(test: &str) -> Vec<serde_json::Value> {
    let dir =
        std::env::temp_dir().join(format!("kubesim-cli-explain-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    stdout(&kubesim(&[
        "run",
        SCENARIO,
        "--out",
        dir.to_str().unwrap(),
        "-q",
    ]));
    let text = std::fs::read_to_string(dir.join("events.jsonl")).expect("events.jsonl written");
    let _ = std::fs::remove_dir_all(&dir);
    text.lines()
        .map(|l| serde_json::from_str(l).expect("an event per line"))
        .collect()
}

/// The pod named by the first event with this reason whose message contains `what`.
fn pod_hit_by(events: &[serde_json::Value], reason: &str, what: &str) -> String {
    events
        .iter()
        .filter(|e| e["reason"] == reason && e["message"].as_str().unwrap().contains(what))
        .filter_map(|e| e["object"].as_str().unwrap().strip_prefix("pod/"))
        .next()
        .unwrap_or_else(|| panic!("no pod event {reason} {what}"))
        .to_string()
}

fn reasons(timeline: &serde_json::Value) -> Vec<String> {
    timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_crashed_container_s_pod_tells_its_restart_and_keeps_the_scheduling_explanation() {
    let events = events("crash");
    let pod = pod_hit_by(&events, "FaultInjected", "crashContainers");
    let v = json(&["explain", SCENARIO, "--pod", &pod]);
    // The scheduler's last attempt stays where it was.
    assert_eq!(v["pod"], format!("default/{pod}"));
    assert!(v["selected"].is_string());
    assert!(!v["nodes"].as_array().unwrap().is_empty());
    let life = &v["life"];
    assert_eq!(life["pod"], format!("default/{pod}"));
    assert_eq!(life["boundBy"], "scheduler");
    assert_eq!(life["restarts"], 1);
    assert_eq!(life["lastRestartReason"], "fault crashContainers");
    assert!(
        life["owner"]
            .as_str()
            .unwrap()
            .starts_with("replicaset/web-")
    );
    let reasons = reasons(&life["timeline"]);
    let at = |r: &str| {
        reasons
            .iter()
            .position(|x| x == r)
            .unwrap_or_else(|| panic!("{r} in {reasons:?}"))
    };
    assert!(at("created") < at("SuccessfulCreate") || at("created") == 0);
    assert!(at("Scheduled") < at("Started"));
    assert!(at("Started") < at("FaultInjected"));
    // The first crash restarts at once (upstream's back-off starts with the second): the
    // container starts again after the fault.
    let last_start = reasons.iter().rposition(|x| x == "Started").unwrap();
    assert!(at("FaultInjected") < last_start);
    let fault = &life["timeline"][at("FaultInjected")];
    assert_eq!(fault["at"], "4m");
    assert_eq!(fault["atNs"], 240_000_000_000u64);
    assert_eq!(fault["type"], "Warning");
    assert_eq!(fault["source"], "event");
    assert!(fault["meaning"].is_string());
    let text = stdout(&kubesim(&["explain", SCENARIO, "--pod", &pod]));
    let summary = text.lines().next().unwrap();
    assert!(
        summary.starts_with(&format!("pod default/{pod} was created by replicaset/web-")),
        "{summary}"
    );
    assert!(
        summary.contains("restarted 1 time(s) (last: fault crashContainers)"),
        "{summary}"
    );
    assert!(summary.contains("crashContainers at 4m"), "{summary}");
    assert!(text.contains("TIME  TYPE     REASON"), "{text}");
    // The timeline's columns line up: every row's reason starts where the header's does.
    let header = text
        .lines()
        .find(|l| l.trim_start().starts_with("TIME"))
        .unwrap();
    let column = header.find("REASON").unwrap();
    let row = text
        .lines()
        .find(|l| l.contains("fault crashContainers injected"))
        .unwrap();
    assert_eq!(row.find("FaultInjected"), Some(column), "{text}");
    assert!(
        text.contains("scheduling attempt 1 at"),
        "the scheduling explanation stays:\n{text}"
    );
}

#[test]
fn a_killed_pod_ends_deleted_and_a_pod_on_a_crashed_node_names_the_crash() {
    let events = events("kill");
    let killed = pod_hit_by(&events, "FaultInjected", "killPods");
    let life = &json(&["explain", SCENARIO, "--pod", &killed])["life"];
    assert_eq!(life["deletedAt"], "3m");
    assert!(life["summary"].as_str().unwrap().contains("killPods at 3m"));
    assert!(
        life["summary"]
            .as_str()
            .unwrap()
            .contains("no longer exists")
    );
    assert_eq!(
        reasons(&life["timeline"]).last().map(String::as_str),
        Some("deleted")
    );

    // A pod on the crashed node: the node's crash and its kubelet's start are in its story.
    let node = json(&["explain", SCENARIO, "--node", "general-0"]);
    let on_node = node["pods"][0]["pod"]
        .as_str()
        .unwrap()
        .trim_start_matches("default/")
        .to_string();
    let life = &json(&["explain", SCENARIO, "--pod", &on_node])["life"];
    let timeline = life["timeline"].as_array().unwrap();
    assert!(timeline.iter().any(|e| e["object"] == "node/general-0"
        && e["reason"] == "FaultInjected"
        && e["at"] == "2m"));
    assert!(
        timeline
            .iter()
            .any(|e| e["object"] == "node/general-0" && e["reason"] == "Starting")
    );
    assert_eq!(life["node"], "general-0");
}

#[test]
fn a_pod_bound_by_node_name_gets_its_life_without_a_scheduling_attempt() {
    let v = json(&["explain", SCENARIO, "--pod", "pinned"]);
    assert!(v.get("selected").is_none(), "no attempt to explain: {v}");
    let life = &v["life"];
    assert_eq!(life["boundBy"], "spec.nodeName");
    assert_eq!(life["node"], "general-2");
    assert_eq!(life["schedulingAttempts"], 0);
    assert_eq!(reasons(&life["timeline"])[..2], ["created", "bound"]);
    let text = stdout(&kubesim(&["explain", SCENARIO, "--pod", "pinned"]));
    assert!(
        text.starts_with(
            "pod default/pinned was created at 0s, bound to general-2 at 0s by spec.nodeName"
        ),
        "{text}"
    );
    assert!(
        text.contains("the scheduler never tried to place this pod"),
        "{text}"
    );
}

#[test]
fn an_image_that_cannot_be_pulled_is_in_the_story_with_its_meaning() {
    let life = &json(&["explain", SCENARIO, "--pod", "default/broken"])["life"];
    assert_eq!(life["phase"], "Pending");
    assert!(
        life["summary"]
            .as_str()
            .unwrap()
            .contains("failed to pull its image")
    );
    let timeline = life["timeline"].as_array().unwrap();
    let pull = timeline
        .iter()
        .find(|e| e["message"] == "Error: ErrImagePull")
        .expect("the pull failure is listed");
    assert_eq!(pull["reason"], "Failed");
    assert!(pull["meaning"].as_str().unwrap().contains("ErrImagePull"));
    assert!(
        timeline.iter().any(|e| e["reason"] == "BackOff"
            && e["meaning"].as_str().unwrap().contains("ImagePullBackOff"))
    );
}

#[test]
fn a_node_tells_its_faults_its_pods_and_its_allocation() {
    let v = json(&["explain", SCENARIO, "--node", "general-0"]);
    assert_eq!(v["node"], "general-0");
    assert_eq!(v["pool"], "general");
    assert_eq!(v["zone"], "zone-a");
    assert_eq!(v["exists"], true);
    assert_eq!(v["ready"], "True");
    let timeline = v["timeline"].as_array().unwrap();
    let find = |reason: &str| {
        timeline
            .iter()
            .find(|e| e["reason"] == reason && e["object"] == "node/general-0")
            .unwrap_or_else(|| panic!("{reason} in {timeline:?}"))
    };
    assert_eq!(find("registered")["at"], "0s");
    assert_eq!(
        find("FaultInjected")["message"],
        "fault crashNodes injected: machine down"
    );
    assert_eq!(find("FaultInjected")["at"], "2m");
    assert_eq!(find("Starting")["at"], "7m");
    let pods = v["pods"].as_array().unwrap();
    assert!(!pods.is_empty());
    assert_eq!(
        v["podsStillBound"],
        pods.iter().filter(|p| p["state"] == "bound").count()
    );
    let cpu = v["allocation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["resource"] == "cpu")
        .expect("cpu allocation");
    assert_eq!(cpu["allocatable"], 8000);
    assert_eq!(
        cpu["requested"],
        500 * pods.iter().filter(|p| p["state"] == "bound").count()
    );

    let text = stdout(&kubesim(&["explain", SCENARIO, "--node", "general-0"]));
    assert!(
        text.starts_with("node general-0 (pool general, zone zone-a) was registered at 0s, saw fault crashNodes at 2m, NotReady at 2m55s, kubelet started at 7m, Ready at 7m"),
        "{text}"
    );
    assert!(text.contains("requested cpu "), "{text}");
    assert!(text.contains("pods that ran on general-0:"), "{text}");
}

#[test]
fn explain_needs_exactly_one_of_pod_and_node() {
    for args in [
        vec!["explain", SCENARIO],
        vec![
            "explain",
            SCENARIO,
            "--pod",
            "pinned",
            "--node",
            "general-0",
        ],
    ] {
        let out = kubesim(&args);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("command line:1:"), "{stderr}");
        assert!(
            stderr.contains("--pod") && stderr.contains("--node"),
            "{stderr}"
        );
    }
}

#[test]
fn names_that_do_not_exist_exit_2_with_close_names() {
    let out = kubesim(&["explain", SCENARIO, "--pod", "pinnde"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "{SCENARIO}: no pod named \"pinnde\" in this run (did you mean \"pinned\"?)"
        )),
        "{stderr}"
    );
    // A generated name's prefix finds the pods it starts.
    let out = kubesim(&["explain", SCENARIO, "--pod", "web"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did you mean \"web-"), "{stderr}");

    let out = kubesim(&["explain", SCENARIO, "--node", "general-9"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no node named \"general-9\""), "{stderr}");
    assert!(stderr.contains("\"general-0\""), "{stderr}");
}
