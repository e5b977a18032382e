//! Deleted pods folded into what the run's outputs need, so that a long run's memory follows
//! its live pods rather than every pod it ever had.
//!
//! A run that writes its outputs ([`crate::store::Store::retire_pods`]) keeps the whole record
//! of its most recent deletions only (as workload collections do: plugins and controllers may
//! still read a pod shortly after its deletion). An older deleted pod is *retired*: its
//! `pods.jsonl` row is appended to a file in the output set, the times the pods-over-time chart
//! reads go to a second one, the summary's figures are folded into the aggregates here, and its
//! slot in the store keeps only where its row is. Runs that do not retire (tests, `explain`)
//! keep every record, as before.
//!
//! Every aggregate is exact: the summary gives the same figures, byte for byte, whether or not
//! pods were retired.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sim_core::SimTime;

use crate::api::{PodId, PodPhase};
use crate::store::{PodRecord, Store};

/// How many deleted pods keep their whole record: the scheduler's placement log keeps as many
/// changes, so no incremental index can still need an older one.
pub const KEEP_RECENT_DELETIONS: usize = 1024;

/// Writes a pod's `pods.jsonl` line, newline included.
pub type RowWriter = fn(&Store, &PodRecord, &mut Vec<u8>);

/// Name of the file of retired pods' rows, in the output set while it is written.
pub const ROWS_FILE: &str = ".pods.jsonl.retired";
/// Name of the file of retired pods' times (four little-endian u64 nanoseconds a pod: created,
/// left pending, running, deleted; `u64::MAX` for none).
pub const TIMES_FILE: &str = ".pods.times.retired";

/// Where retired pods go.
pub struct Retirement {
    rows_path: PathBuf,
    times_path: PathBuf,
    rows: BufWriter<File>,
    times: BufWriter<File>,
    rows_at: u64,
    row: RowWriter,
    keep_recent: usize,
    scratch: Vec<u8>,
    /// The first write error; the run goes on and the error is reported when it ends.
    error: Option<io::Error>,
}

impl std::fmt::Debug for Retirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retirement")
            .field("rows_path", &self.rows_path)
            .field("rows_at", &self.rows_at)
            .field("keep_recent", &self.keep_recent)
            .finish_non_exhaustive()
    }
}

impl Retirement {
    /// Retires into `dir` (the output set being written), keeping the whole record of the
    /// `keep_recent` most recent deletions.
    pub fn create(dir: &Path, row: RowWriter, keep_recent: usize) -> io::Result<Self> {
        let rows_path = dir.join(ROWS_FILE);
        let times_path = dir.join(TIMES_FILE);
        Ok(Retirement {
            rows: BufWriter::with_capacity(1 << 16, File::create(&rows_path)?),
            times: BufWriter::with_capacity(1 << 16, File::create(&times_path)?),
            rows_path,
            times_path,
            rows_at: 0,
            row,
            keep_recent,
            scratch: Vec::new(),
            error: None,
        })
    }

    pub fn rows_path(&self) -> &Path {
        &self.rows_path
    }

    pub fn times_path(&self) -> &Path {
        &self.times_path
    }

    /// Flushes both files; the first error met while retiring, if any.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.rows.flush()?;
        self.times.flush()
    }

    /// Writes `record`'s row and times; where its row starts.
    fn write(&mut self, store: &Store, record: &PodRecord) -> u64 {
        let at = self.rows_at;
        self.scratch.clear();
        (self.row)(store, record, &mut self.scratch);
        self.rows_at += self.scratch.len() as u64;
        let times = pod_times(record).map(|t| t.map_or(u64::MAX, SimTime::as_nanos));
        let mut bytes = [0u8; 32];
        for (chunk, t) in bytes.chunks_exact_mut(8).zip(times) {
            chunk.copy_from_slice(&t.to_le_bytes());
        }
        let written = self
            .rows
            .write_all(&self.scratch)
            .and_then(|()| self.times.write_all(&bytes));
        if let Err(e) = written
            && self.error.is_none()
        {
            self.error = Some(e);
        }
        at
    }
}

/// Created, left pending (`min(scheduled, running, deleted)`), running and deleted: what the
/// pods-over-time chart reads of a pod.
pub fn pod_times(p: &PodRecord) -> [Option<SimTime>; 4] {
    let left_pending = [p.scheduled_at, p.running_at, p.deleted_at]
        .into_iter()
        .flatten()
        .min();
    [Some(p.created_at), left_pending, p.running_at, p.deleted_at]
}

/// Reads the times written for retired pods, in retirement order.
pub fn read_times(
    path: &Path,
) -> io::Result<impl Iterator<Item = io::Result<[Option<SimTime>; 4]>> + use<>> {
    let mut input = io::BufReader::with_capacity(1 << 16, File::open(path)?);
    Ok(std::iter::from_fn(move || {
        let mut bytes = [0u8; 32];
        match input.read_exact(&mut bytes) {
            Ok(()) => {
                let mut times = [None; 4];
                for (t, chunk) in times.iter_mut().zip(bytes.chunks_exact(8)) {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(chunk);
                    let ns = u64::from_le_bytes(b);
                    *t = (ns != u64::MAX).then(|| SimTime::from_nanos(ns));
                }
                Some(Ok(times))
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => None,
            Err(e) => Some(Err(e)),
        }
    }))
}

/// The utilisation sweep of `summary::run_utilization` (requested cpu, memory and
/// milli-GPUs over time), run ahead over the instants no pod still kept can change.
#[derive(Clone, Debug, Default)]
pub struct UtilizationSweep {
    /// Held at the last instant swept.
    pub held: [i64; 3],
    /// The last instant swept (nanoseconds).
    pub last: u64,
    pub area: [f64; 3],
    pub peak: [f64; 3],
    /// Retired pods' changes not swept yet: instant → net change. An instant stays even when
    /// its changes cancel, since the sweep's area is summed instant by instant.
    pub pending: BTreeMap<u64, [i64; 3]>,
}

impl UtilizationSweep {
    /// One instant of the sweep: area up to it at what was held, then its changes, then the
    /// peak.
    pub fn step(&mut self, t: u64, change: [i64; 3]) {
        let span = (t - self.last.min(t)) as f64;
        for (a, h) in self.area.iter_mut().zip(self.held) {
            *a += h as f64 * span;
        }
        self.last = self.last.max(t);
        for (h, d) in self.held.iter_mut().zip(change) {
            *h += d;
        }
        for (p, h) in self.peak.iter_mut().zip(self.held) {
            *p = p.max(h as f64);
        }
    }

    /// Sweeps the retired changes before `frontier`: every pod still kept was created at or
    /// after it, so no change before it is still to come.
    fn advance(&mut self, frontier: u64) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() >= frontier {
                break;
            }
            let (t, change) = entry.remove_entry();
            self.step(t, change);
        }
    }
}

/// What the outputs need of the retired pods.
#[derive(Clone, Debug, Default)]
pub struct RetiredPods {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub ever_scheduled: u64,
    /// Time from creation to scheduling of each retired pod that was scheduled, as the bits
    /// of its seconds (non-negative, so ordered as the values) → how many.
    pub schedule_waits: BTreeMap<u64, u64>,
    pub utilization: UtilizationSweep,
    /// Pods outside `default` by name → (id, namespace), the latest created of a name, for
    /// `events.txt`'s NAMESPACE column.
    pub namespaces: BTreeMap<String, (u32, String)>,
}

/// A retired pod's changes to what is requested, as `summary::run_utilization` counts them.
pub fn utilization_changes(p: &PodRecord) -> Option<(u64, Option<u64>, [i64; 3])> {
    let from = p.scheduled_at?;
    let released = if p.released { p.finished_at } else { None };
    let to = [p.deleted_at, released].into_iter().flatten().min();
    let milli = i64::from(crate::gpu::MILLI_PER_GPU);
    let r = &p.pod.requests;
    let gpus = r.extended_amount(crate::gpu::GPU_RESOURCE) * milli
        + p.pod
            .gpu
            .as_ref()
            .map_or(0, |g| i64::try_from(g.total_milli()).unwrap_or(i64::MAX));
    Some((
        from.as_nanos(),
        to.map(SimTime::as_nanos),
        [r.cpu_milli, r.memory, gpus],
    ))
}

impl RetiredPods {
    fn fold(&mut self, p: &PodRecord) {
        self.total += 1;
        if let Some(at) = p.scheduled_at {
            let wait = at.since(p.created_at).as_secs_f64();
            *self.schedule_waits.entry(wait.to_bits()).or_default() += 1;
            self.ever_scheduled += 1;
        }
        if p.finished_at.is_some() {
            match p.phase {
                PodPhase::Succeeded => self.succeeded += 1,
                PodPhase::Failed => self.failed += 1,
                _ => {}
            }
        }
        if let Some((from, to, amounts)) = utilization_changes(p) {
            let pending = &mut self.utilization.pending;
            let add = |pending: &mut BTreeMap<u64, [i64; 3]>, t: u64, sign: i64| {
                let e = pending.entry(t).or_default();
                for (h, a) in e.iter_mut().zip(amounts) {
                    *h += sign * a;
                }
            };
            add(pending, from, 1);
            if let Some(to) = to {
                add(pending, to, -1);
            }
        }
        if p.pod.namespace != "default" {
            let e = self
                .namespaces
                .entry(p.pod.name.clone())
                .or_insert((p.id.0, p.pod.namespace.clone()));
            if e.0 <= p.id.0 {
                *e = (p.id.0, p.pod.namespace.clone());
            }
        }
    }
}

/// The store's side of retiring: where retired pods go, the recent deletions still kept whole,
/// and the first pod still kept.
#[derive(Debug, Default)]
pub(crate) struct Retiring {
    pub(crate) to: Option<Retirement>,
    pub(crate) recent: VecDeque<PodId>,
    /// Every pod before this index is retired.
    pub(crate) first_kept: usize,
    pub(crate) retired: RetiredPods,
}

impl Clone for Retiring {
    /// A clone keeps what was retired but retires no more (its future is another run's).
    fn clone(&self) -> Self {
        Retiring {
            to: None,
            recent: self.recent.clone(),
            first_kept: self.first_kept,
            retired: self.retired.clone(),
        }
    }
}

impl Store {
    /// From now on, retires deleted pods beyond the `keep_recent` most recent deletions into
    /// `to` (see the module documentation).
    pub fn retire_pods(&mut self, to: Retirement) {
        self.retiring.to = Some(to);
    }

    /// Where retired pods went, if this run retires them.
    pub fn retirement(&mut self) -> Option<&mut Retirement> {
        self.retiring.to.as_mut()
    }

    pub fn retirement_ref(&self) -> Option<&Retirement> {
        self.retiring.to.as_ref()
    }

    /// The retired pods' aggregates.
    pub fn retired(&self) -> &RetiredPods {
        &self.retiring.retired
    }

    /// Called when `pod` was deleted: retires the oldest deletions beyond the window.
    pub(crate) fn note_deletion(&mut self, pod: PodId, now: SimTime) {
        let Some(keep) = self.retiring.to.as_ref().map(|r| r.keep_recent) else {
            return;
        };
        self.retiring.recent.push_back(pod);
        let mut retired_any = false;
        while self.retiring.recent.len() > keep {
            let Some(old) = self.retiring.recent.pop_front() else {
                break;
            };
            retired_any |= self.retire(old);
        }
        if retired_any {
            let frontier = self
                .pod_slots()
                .get(self.retiring.first_kept..)
                .and_then(|rest| rest.iter().find_map(|s| s.kept()))
                .map_or(now.as_nanos(), |r| r.created_at.as_nanos());
            self.retiring.retired.utilization.advance(frontier);
        }
    }

    fn retire(&mut self, pod: PodId) -> bool {
        let Some(record) = self.take_kept(pod) else {
            return false;
        };
        if record.is_active() {
            self.put_back(pod, record);
            return false;
        }
        let Some(mut to) = self.retiring.to.take() else {
            self.put_back(pod, record);
            return false;
        };
        let row_at = to.write(self, &record);
        self.retiring.to = Some(to);
        self.retiring.retired.fold(&record);
        self.set_retired(pod, row_at);
        let mut first = self.retiring.first_kept;
        while self
            .pod_slots()
            .get(first)
            .is_some_and(|s| s.kept().is_none())
        {
            first += 1;
        }
        self.retiring.first_kept = first;
        true
    }
}
