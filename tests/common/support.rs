//! What the CLI suites share: running the built `kubesim` from the repository root, and a
//! fresh scratch folder per test.

use std::path::PathBuf;
use std::process::{Command, Output};

/// `kubesim ARGS…` run from the repository root (scenario paths are relative to it).
pub fn kubesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("kubesim runs")
}

/// An empty folder for one test of `theme`, unique to this process.
pub fn scratch(theme: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kubesim-{theme}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}
