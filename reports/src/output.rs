//! A run's output files, written as one set: into a staging folder beside the target, moved
//! into place whole at the end. A reader of the target sees the previous run's complete set
//! or the new complete set, never a mix and never a half-written file.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use models::events::{EventRecord, EventStream};
use models::summary::Summary;
use sim_core::SimTime;

/// Writes `contents` to `path` atomically: a reader sees the old file or the new one, whole.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let tmp = dir.join(format!(".{file_name}.tmp"));
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// The staging folder of a set of outputs being written for `target`. Dropped without
/// [`OutputSet::commit`] (an error, an interrupt), it removes the staging folder and
/// everything in it.
#[derive(Debug)]
pub struct OutputSet {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

/// The hidden sibling of `target` named `.<name>.<what>-<pid>`.
fn sibling(target: &Path, what: &str) -> io::Result<PathBuf> {
    let name = target.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the output folder needs a name (not `/`, `.` or `..`)",
        )
    })?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(parent.join(format!(
        ".{}.{what}-{}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

impl OutputSet {
    /// Creates an empty staging folder beside `target` (which need not exist yet).
    pub fn begin(target: &Path) -> io::Result<Self> {
        let target = absolute_clean(target)?;
        let staging = sibling(&target, "kubesim-new")?;
        if staging.exists() {
            fs::remove_dir_all(&staging)?;
        }
        fs::create_dir_all(&staging)?;
        Ok(OutputSet {
            target,
            staging,
            committed: false,
        })
    }

    /// Where the files of the new set are written until [`OutputSet::commit`].
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// The folder the set goes to.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// A stream writing `events.jsonl` into the staging folder as Events are recorded.
    /// `events.txt` is written from it at the end ([`write_run_tables`]), when the ages its
    /// LAST SEEN column shows are known.
    pub fn event_stream(&self) -> io::Result<EventStream> {
        let f = fs::File::create(self.staging.join("events.jsonl"))?;
        Ok(EventStream::new(
            Box::new(BufWriter::with_capacity(1 << 16, f)),
            Box::new(io::sink()),
        ))
    }

    /// Moves the new set into place: the target becomes the staging folder in one rename (an
    /// exchange where the system has one), and the previous set is removed after.
    pub fn commit(mut self) -> io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.staging)?
            .filter_map(Result::ok)
            .map(|e| self.target.join(e.file_name()))
            .collect();
        files.sort();
        if let Ok(d) = fs::File::open(&self.staging) {
            let _ = d.sync_all();
        }
        if !self.target.exists() {
            fs::rename(&self.staging, &self.target)?;
        } else if exchange(&self.staging, &self.target).is_ok() {
            // The staging path now holds the previous set.
            let _ = fs::remove_dir_all(&self.staging);
        } else {
            let old = sibling(&self.target, "kubesim-old")?;
            fs::rename(&self.target, &old)?;
            if let Err(e) = fs::rename(&self.staging, &self.target) {
                let _ = fs::rename(&old, &self.target);
                return Err(e);
            }
            let _ = fs::remove_dir_all(&old);
        }
        self.committed = true;
        Ok(files)
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// `target` made absolute and free of `.`/`..` components, so its name and parent are real.
fn absolute_clean(target: &Path) -> io::Result<PathBuf> {
    let abs = std::path::absolute(target)?;
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Swaps two paths in one step (Linux `renameat2(RENAME_EXCHANGE)`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// What the report is drawn from besides `summary.json`, the event files and the placement
/// files, so `kubesim report OUTDIR` redraws it from a run's outputs alone. Every input of the
/// report that no other output holds belongs here.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportData {
    /// Event objects written to `events.jsonl`.
    pub total_events: u64,
    /// (hours, pending, running), sampled over the run.
    pub pods_over_time: Vec<(f64, u64, u64)>,
    /// Faults and timeline actions marked on the charts: (nanoseconds, label).
    pub markers: Vec<(u64, String)>,
    /// A trace replay's samples.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<models::trace::Sample>,
}

/// The file holding [`ReportData`].
pub const REPORT_DATA: &str = "report-data.json";

/// Writes `timeseries.csv` (trace runs), `metrics.csv` and `metrics.json` (when the recorder
/// ran), `report-data.json`, the charts as PNG files in `charts/` and `summary.json` into `dir`,
/// beside the streamed event files; `report.html` is drawn from them by [`write_report`].
/// `markers` (timeline actions, faults) are drawn on every chart.
pub fn write_run_outputs(
    dir: &Path,
    summary: &Summary,
    total_events: u64,
    samples: &[models::trace::Sample],
    pods_over_time: &[(f64, u64, u64)],
    markers: &[crate::plot::Marker],
    metrics: Option<&models::metrics::Recorder>,
) -> io::Result<()> {
    if let Some(rec) = metrics {
        // Straight to the files: a long run's metrics are tens of megabytes, which a buffer
        // would add to the run's peak memory.
        let csv = fs::File::create(dir.join("metrics.csv"))?;
        models::metrics::write_csv(rec, &csv).map_err(io::Error::other)?;
        csv.sync_all()?;
        let mut json =
            BufWriter::with_capacity(1 << 16, fs::File::create(dir.join("metrics.json"))?);
        models::metrics::write_json(rec, &mut json)?;
        json.write_all(b"\n")?;
        json.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    if !samples.is_empty() {
        let mut csv = Vec::new();
        models::trace::write_timeseries_csv(samples, &mut csv).map_err(io::Error::other)?;
        write_file(&dir.join("timeseries.csv"), &csv)?;
    }
    let data = ReportData {
        total_events,
        pods_over_time: pods_over_time.to_vec(),
        markers: markers
            .iter()
            .map(|m| (m.at.as_nanos(), m.label.clone()))
            .collect(),
        samples: samples.to_vec(),
    };
    let mut json = serde_json::to_vec(&data)?;
    json.push(b'\n');
    write_file(&dir.join(REPORT_DATA), &json)?;
    let charts = dir.join("charts");
    fs::create_dir_all(&charts)?;
    crate::plot::write_all_png_charts(&charts, pods_over_time, samples, markers, metrics)?;
    let mut json = serde_json::to_vec_pretty(summary)?;
    json.push(b'\n');
    write_file(&dir.join("summary.json"), &json)
}

fn read_json<T: for<'de> serde::Deserialize<'de>>(path: &Path) -> io::Result<T> {
    let bytes =
        fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

/// Reason strings read back from `events.jsonl`, as the `&'static str` the report's Events
/// carry: each distinct reason is leaked once (a few dozen short strings per process).
fn static_reason(
    reasons: &mut std::collections::BTreeSet<&'static str>,
    r: String,
) -> &'static str {
    match reasons.get(r.as_str()) {
        Some(s) => s,
        None => {
            let s: &'static str = Box::leak(r.into_boxed_str());
            reasons.insert(s);
            s
        }
    }
}

/// Draws `report.html` into `dir` from the outputs written there (`summary.json`,
/// `report-data.json`, `events.jsonl`, `pods.jsonl`, `nodes.jsonl`); the same files give the
/// same page, byte for byte.
pub fn write_report(dir: &Path) -> io::Result<()> {
    write_file(&dir.join("report.html"), render_report(dir)?.as_bytes())
}

/// The report drawn from the outputs in `dir`.
pub fn render_report(dir: &Path) -> io::Result<String> {
    let summary: Summary = read_json(&dir.join("summary.json"))?;
    let data: ReportData = read_json(&dir.join(REPORT_DATA))?;
    let open = |name: &str| {
        let path = dir.join(name);
        fs::File::open(&path)
            .map(io::BufReader::new)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    };
    let mut events = Vec::new();
    let mut reasons = std::collections::BTreeSet::new();
    for line in io::BufRead::lines(open("events.jsonl")?).take(models::events::REPORT_EVENTS) {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let e: crate::event_log::EventLine = serde_json::from_str(&line).map_err(|err| {
            io::Error::new(io::ErrorKind::InvalidData, format!("events.jsonl: {err}"))
        })?;
        events.push(EventRecord {
            time_ns: e.time_ns,
            event_type: if e.event_type == "Warning" {
                models::events::EventType::Warning
            } else {
                models::events::EventType::Normal
            },
            reason: static_reason(&mut reasons, e.reason),
            object: e.object,
            message: e.message,
        });
    }
    let nodes: Vec<crate::placement::NodeRow> = crate::placement::read_jsonl(open("nodes.jsonl")?)?;
    // The view embeds the first pods only, each as its JSON row; the rest are counted.
    let mut view = crate::report_views::PlacementView::new(&nodes);
    let mut total_pods = 0usize;
    for line in io::BufRead::lines(open("pods.jsonl")?) {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        total_pods += 1;
        if view.shown() < crate::report_views::VIEW_PODS {
            let pod: crate::placement::PodRow = serde_json::from_str(&line).map_err(|err| {
                io::Error::new(io::ErrorKind::InvalidData, format!("pods.jsonl: {err}"))
            })?;
            view.push(&pod);
        }
    }
    let markers: Vec<crate::plot::Marker> = data
        .markers
        .iter()
        .map(|(at, label)| crate::plot::Marker {
            at: SimTime::from_nanos(*at),
            label: label.clone(),
        })
        .collect();
    // The recorder's series, read back from the file the run wrote (absent with --no-metrics).
    // Parsed as it is read: a long run's file is tens of megabytes.
    let metrics = match fs::File::open(dir.join("metrics.json")) {
        Ok(f) => Some(
            models::metrics::read_json_from(io::BufReader::with_capacity(1 << 16, f)).map_err(
                |e| io::Error::new(io::ErrorKind::InvalidData, format!("metrics.json: {e}")),
            )?,
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let html = crate::html::run_report_with_markers(
        &summary,
        &events,
        data.total_events,
        &data.pods_over_time,
        &data.samples,
        &markers,
        metrics.as_ref(),
    );
    Ok(match html.find("<h2 id=\"events\">") {
        Some(at) => {
            // The view goes straight into the page: its rows are copied once.
            let mut page = String::with_capacity(html.len() + view.rows_len() + (1 << 16));
            page.push_str(&html[..at]);
            view.write_section(total_pods, &nodes, summary.simulated_seconds, &mut page);
            page.push_str(&html[at..]);
            page
        }
        None => html,
    })
}

/// Writes `pods.jsonl` and `nodes.jsonl` (every pod and node of the run, from the store at
/// `end`) and `events.txt` (from `events.jsonl`, already in `dir`) into `dir`, each streamed.
pub fn write_run_tables(dir: &Path, store: &models::store::Store, end: SimTime) -> io::Result<()> {
    let create = |name: &str| -> io::Result<BufWriter<fs::File>> {
        Ok(BufWriter::with_capacity(
            1 << 16,
            fs::File::create(dir.join(name))?,
        ))
    };
    let mut pods = create("pods.jsonl")?;
    write_pod_rows(&mut pods, store)?;
    pods.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    if let Some(retired) = store.retirement_ref() {
        fs::remove_file(retired.rows_path())?;
        fs::remove_file(retired.times_path())?;
        fs::remove_file(retired.waits_path())?;
        fs::remove_file(retired.index_path())?;
    }
    let mut nodes = create("nodes.jsonl")?;
    crate::placement::write_jsonl(&mut nodes, crate::placement::node_rows(store))?;
    nodes.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    // Retired pods first: they were created before the kept ones of the same name.
    let namespaces = crate::event_log::Namespaces::of_pods(
        store
            .retired()
            .namespaces
            .iter()
            .map(|(name, (_, ns))| (ns.as_str(), name.as_str()))
            .chain(
                store
                    .kept_pods()
                    .map(|p| (p.pod.namespace.as_str(), p.pod.name.as_str())),
            ),
    );
    let mut text = create("events.txt")?;
    crate::event_log::write_text(&dir.join("events.jsonl"), &mut text, end, &namespaces)?;
    text.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Every pod's row in creation order: a kept pod's from its record, a retired one's copied from
/// the file it was retired to (flushed by `Retirement::finish`), found through its slot or, for
/// a forgotten slot, through the index file.
fn write_pod_rows(out: &mut impl Write, store: &models::store::Store) -> io::Result<()> {
    use io::{BufRead, Seek};
    use models::store::PodSlot;
    let slots = store.pod_slots();
    let (mut retired, forgotten) = match store.retirement_ref() {
        Some(r) => (
            Some(io::BufReader::with_capacity(
                1 << 16,
                fs::File::open(r.rows_path())?,
            )),
            Some(models::retired_pods::read_index(r.index_path())?),
        ),
        None => (None, None),
    };
    let forgotten = forgotten
        .into_iter()
        .flatten()
        .take(slots.forgotten())
        .map(|row_at| row_at.map(Err));
    let mut count = 0usize;
    let mut at = 0u64;
    let mut line = Vec::new();
    // A pod's record (Ok) or where its row starts (Err).
    let held = slots.iter().map(|s| {
        Ok(match s {
            PodSlot::Kept(r) => Ok(&**r),
            PodSlot::Retired { row_at } => Err(*row_at),
        })
    });
    for slot in forgotten.chain(held) {
        count += 1;
        match slot? {
            Ok(r) => {
                line.clear();
                crate::placement::write_pod_row(store, r, &mut line);
                out.write_all(&line)?;
            }
            Err(row_at) => {
                let Some(input) = retired.as_mut() else {
                    return Err(io::Error::other("a retired pod without its rows file"));
                };
                if row_at != at {
                    input.seek(io::SeekFrom::Start(row_at))?;
                }
                line.clear();
                let n = input.read_until(b'\n', &mut line)?;
                if n == 0 || line.last() != Some(&b'\n') {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "retired pods' rows end early",
                    ));
                }
                at = row_at + n as u64;
                out.write_all(&line)?;
            }
        }
    }
    if count != slots.len() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "forgotten pods' index ends early",
        ));
    }
    out.flush()
}

fn write_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("kubesim-reports-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temporary() {
        let dir = scratch("atomic");
        let path = dir.join("x.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let leftovers: Vec<_> = fs::read_dir(&dir).unwrap().filter_map(Result::ok).collect();
        assert_eq!(leftovers.len(), 1, "only the final file remains");
        fs::remove_dir_all(&dir).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_committed_set_replaces_the_previous_one_whole() {
        let root = scratch("set");
        let target = root.join("out");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("old-only.txt"), b"old").unwrap();
        fs::write(target.join("summary.json"), b"old").unwrap();
        let set = OutputSet::begin(&target).unwrap();
        fs::write(set.staging().join("summary.json"), b"new").unwrap();
        set.commit().unwrap();
        assert_eq!(names(&target), ["summary.json"]);
        assert_eq!(fs::read(target.join("summary.json")).unwrap(), b"new");
        assert_eq!(names(&root), ["out"], "no staging folder left");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn an_abandoned_set_leaves_the_previous_one_and_no_temporaries() {
        let root = scratch("abandon");
        let target = root.join("out");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("summary.json"), b"old").unwrap();
        {
            let set = OutputSet::begin(&target).unwrap();
            fs::write(set.staging().join("summary.json"), b"new").unwrap();
        }
        assert_eq!(names(&root), ["out"]);
        assert_eq!(fs::read(target.join("summary.json")).unwrap(), b"old");
        fs::remove_dir_all(&root).unwrap();
    }
}
