//! Golden files of one line per scenario in `scenarios/`: every scenario is run and its line
//! compared with the recorded one; `KUBESIM_BLESS=1` records them instead. Scenarios that need
//! the openb trace data are skipped (and keep their recorded line) when it is not beside the
//! checkout.

use std::collections::BTreeMap;
use std::path::Path;

/// Checks (or, with `KUBESIM_BLESS`, records) `tests/golden/<golden>`: `line_of(file)` is the
/// line of `scenarios/<file>`; `test` names the test module for the hint.
pub fn check_every_scenario(golden: &str, test: &str, line_of: impl Fn(&str) -> String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden_path = root.join("tests/golden").join(golden);
    let scenarios = root.join("scenarios");
    let bless = std::env::var_os("KUBESIM_BLESS").is_some();
    let recorded: BTreeMap<String, String> = std::fs::read_to_string(&golden_path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(&scenarios)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    let mut actual = BTreeMap::new();
    let mut skipped = Vec::new();
    let trace_data = root.join("../shared/data/openb");
    for f in &files {
        let text = std::fs::read_to_string(scenarios.join(f)).unwrap();
        if text.contains("shared/data/openb") && !trace_data.is_dir() {
            eprintln!(
                "skipping scenarios/{f}: {} is not beside this checkout",
                trace_data.display()
            );
            skipped.push(f.clone());
            continue;
        }
        actual.insert(f.clone(), line_of(f));
    }
    if bless {
        for f in &skipped {
            if let Some(line) = recorded.get(f) {
                actual.insert(f.clone(), line.clone());
            }
        }
        let text: String = actual.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
        std::fs::create_dir_all(golden_path.parent().unwrap()).unwrap();
        std::fs::write(&golden_path, text).unwrap();
        return;
    }
    for (file, line) in &actual {
        let want = recorded.get(file).unwrap_or_else(|| {
            panic!("no recorded line for scenarios/{file}: run KUBESIM_BLESS=1 cargo test --test integration -- {test}::")
        });
        assert_eq!(
            line, want,
            "scenarios/{file} (seed and scenario above reproduce it)"
        );
    }
}
