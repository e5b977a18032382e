//! Inputs the fuzzer found worth keeping (`fuzz/README.md`), each a folder laid out as the
//! fuzz target loads it: `kubesim check` accepts it or refuses it with a located message
//! (exit 2), and a bounded `kubesim run` of an accepted one ends normally — never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/fixtures/fuzz exists")
        .filter_map(|e| e.ok().map(|e| e.path().join("scenario.yaml")))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn every_kept_fuzz_input_is_accepted_or_refused_with_a_place() {
    let cases = cases();
    assert!(
        cases.len() >= 3,
        "the regression corpus is there: {cases:?}"
    );
    let out_root = std::env::temp_dir().join(format!("kubesim-fuzz-corpus-{}", std::process::id()));
    for (i, case) in cases.iter().enumerate() {
        let check = Command::new(env!("CARGO_BIN_EXE_kubesim"))
            .arg("check")
            .arg(case)
            .output()
            .expect("kubesim runs");
        let stderr = String::from_utf8_lossy(&check.stderr);
        let code = check.status.code();
        assert!(
            matches!(code, Some(0) | Some(2)),
            "{}: check exited {code:?}: {stderr}",
            case.display()
        );
        assert!(!stderr.contains("panicked"), "{}: {stderr}", case.display());
        if code == Some(2) {
            let first = stderr.lines().next().unwrap_or("");
            let mut parts = first.splitn(4, ':');
            let (_, line, col) = (parts.next(), parts.next(), parts.next());
            assert!(
                line.is_some_and(|l| l.trim().parse::<u32>().is_ok())
                    && col.is_some_and(|c| c.trim().parse::<u32>().is_ok()),
                "{}: a refusal names file:line:column: {first}",
                case.display()
            );
            continue;
        }
        let run = Command::new(env!("CARGO_BIN_EXE_kubesim"))
            .args([
                "run",
                "--quiet",
                "--max-events",
                "20000",
                "--until",
                "1h",
                "--out",
            ])
            .arg(out_root.join(i.to_string()))
            .arg(case)
            .output()
            .expect("kubesim runs");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            matches!(run.status.code(), Some(0) | Some(2)),
            "{}: run exited {:?}: {stderr}",
            case.display(),
            run.status.code()
        );
        assert!(!stderr.contains("panicked"), "{}: {stderr}", case.display());
    }
    let _ = std::fs::remove_dir_all(out_root);
}
