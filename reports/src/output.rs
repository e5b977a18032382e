//! Output files, each written to a temporary sibling and renamed into place.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use models::events::EventRecord;
use models::summary::Summary;

/// Writes `contents` to `path` atomically: a reader sees the old file or the new one, whole.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let tmp = dir.join(format!(".{file_name}.tmp"));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// Writes `events.jsonl`, `events.txt`, `timeseries.csv` (trace runs), `report.html` and
/// `summary.json` into `dir`; returns the paths.
pub fn write_run_outputs(
    dir: &Path,
    summary: &Summary,
    events: &[EventRecord],
    samples: &[models::trace::Sample],
    pods_over_time: &[(f64, u64, u64)],
) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();

    let mut jsonl = Vec::with_capacity(events.len() * 128);
    for e in events {
        serde_json::to_writer(&mut jsonl, e)?;
        jsonl.push(b'\n');
    }
    let path = dir.join("events.jsonl");
    write_atomic(&path, &jsonl)?;
    written.push(path);

    let mut text = format!(
        "{:<10} {:<8} {:<18} {:<40} {}\n",
        "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"
    );
    for e in events {
        text.push_str(&e.to_text_line());
        text.push('\n');
    }
    let path = dir.join("events.txt");
    write_atomic(&path, text.as_bytes())?;
    written.push(path);

    if !samples.is_empty() {
        let mut csv = Vec::new();
        models::trace::write_timeseries_csv(samples, &mut csv).map_err(io::Error::other)?;
        let path = dir.join("timeseries.csv");
        write_atomic(&path, &csv)?;
        written.push(path);
    }

    let path = dir.join("report.html");
    write_atomic(
        &path,
        crate::html::run_report(summary, events, pods_over_time, samples).as_bytes(),
    )?;
    written.push(path);

    // The summary goes last: its presence says the run's outputs are complete.
    let mut json = serde_json::to_vec_pretty(summary)?;
    json.push(b'\n');
    let path = dir.join("summary.json");
    write_atomic(&path, &json)?;
    written.push(path);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("kubesim-reports-{}", std::process::id()));
        let path = dir.join("x.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let leftovers: Vec<_> = fs::read_dir(&dir).unwrap().filter_map(Result::ok).collect();
        assert_eq!(leftovers.len(), 1, "only the final file remains");
        fs::remove_dir_all(&dir).unwrap();
    }
}
