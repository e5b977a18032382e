//! The run digest covers what makes runs differ, names and messages included, not only the
//! kinds, times and ids of events: two runs that differ only in what things are called must
//! not share a digest, or `--check-determinism` could not see that kind of divergence.

use std::path::Path;

use models::run::{RunOptions, check_determinism, run};
use models::scenario::load_str;
use models::scheduler::Registry;

fn scenario(deployment: &str) -> String {
    format!(
        r#"
name: digest
seed: 3
duration: 2m
cluster:
  nodePools:
    - {{name: pool, count: 3, resources: {{cpu: "4", memory: 16Gi}}}}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {{name: {deployment}}}
      spec:
        replicas: 4
        selector: {{matchLabels: {{app: web}}}}
        template:
          metadata: {{labels: {{app: web}}}}
          spec: {{containers: [{{name: c, image: web, resources: {{requests: {{cpu: 100m}}}}}}]}}
"#
    )
}

fn digest_of(text: &str) -> (String, u64) {
    let s = load_str("digest.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    let o = run(
        &s,
        &Registry::default_plugins(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"));
    (o.summary.digest.clone(), o.summary.events_processed)
}

#[test]
fn runs_that_differ_only_in_names_have_different_digests() {
    let (web, web_events) = digest_of(&scenario("web"));
    let (shop, shop_events) = digest_of(&scenario("shop"));
    // Same events, same times, same ids: only the names (and so the messages) differ.
    assert_eq!(web_events, shop_events);
    assert_ne!(web, shop, "the digest must see the names");
    // And a run is still its own twin.
    assert_eq!(digest_of(&scenario("web")).0, web);
}

#[test]
fn the_determinism_check_still_passes_a_deterministic_run() {
    let s =
        load_str("digest.yaml", &scenario("web"), Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    let result = check_determinism(&s, &Registry::default_plugins(), &RunOptions::default())
        .unwrap_or_else(|d| panic!("{d}"));
    let (digest, events) = result.expect("two runs agree");
    assert!(events > 0);
    assert_eq!(digest.to_string(), digest_of(&scenario("web")).0);
}
