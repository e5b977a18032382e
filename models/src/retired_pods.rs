//! Deleted pods folded into what the run's outputs need, so that a long run's memory follows
//! its live pods rather than every pod it ever had.
//!
//! A run that writes its outputs ([`crate::store::Store::retire_pods`]) keeps the whole record
//! of its most recent deletions only (as workload collections do: plugins and controllers may
//! still read a pod shortly after its deletion). An older deleted pod is *retired*: its
//! `pods.jsonl` row is appended to a file in the output set, the times the pods-over-time chart
//! reads go to a second one, its time to schedule to a third (read back for the summary's
//! percentiles), the summary's other figures are folded into the aggregates here, and its slot
//! in the store keeps only where its row is. Runs that do not retire (tests, `explain`)
//! keep every record, as before.
//!
//! Every aggregate is exact: the summary gives the same figures, byte for byte, whether or not
//! pods were retired.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
/// Name of the file of retired pods' times to schedule (the little-endian bits of the seconds
/// from creation to scheduling, a u64 a scheduled pod), for the summary's percentiles.
pub const WAITS_FILE: &str = ".pods.waits.retired";
/// Name of the file of where forgotten pods' rows start in the rows file (a little-endian u64
/// a pod, in id order; see [`crate::store::PodSlots`]).
pub const INDEX_FILE: &str = ".pods.index.retired";

/// Where retired pods go.
pub struct Retirement {
    rows_path: PathBuf,
    times_path: PathBuf,
    waits_path: PathBuf,
    index_path: PathBuf,
    rows: BufWriter<File>,
    times: BufWriter<File>,
    waits: BufWriter<File>,
    index: BufWriter<File>,
    index_scratch: Vec<u8>,
    rows_at: u64,
    row: RowWriter,
    keep_recent: usize,
    scratch: Vec<u8>,
    /// The first write or read error; the run goes on and the error is reported when it ends.
    /// Behind a lock so that the summary, which reads the waits back from a shared store, can
    /// note one too.
    error: Mutex<Option<io::Error>>,
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
        let waits_path = dir.join(WAITS_FILE);
        let index_path = dir.join(INDEX_FILE);
        Ok(Retirement {
            index: BufWriter::with_capacity(1 << 16, File::create(&index_path)?),
            index_path,
            index_scratch: Vec::new(),
            rows: BufWriter::with_capacity(1 << 16, File::create(&rows_path)?),
            times: BufWriter::with_capacity(1 << 16, File::create(&times_path)?),
            waits: BufWriter::with_capacity(1 << 16, File::create(&waits_path)?),
            rows_path,
            times_path,
            waits_path,
            rows_at: 0,
            row,
            keep_recent,
            scratch: Vec::new(),
            error: Mutex::new(None),
        })
    }

    pub fn rows_path(&self) -> &Path {
        &self.rows_path
    }

    pub fn times_path(&self) -> &Path {
        &self.times_path
    }

    pub fn waits_path(&self) -> &Path {
        &self.waits_path
    }

    pub fn index_path(&self) -> &Path {
        &self.index_path
    }

    fn write_index(&mut self, bytes: &[u8]) {
        if let Err(e) = self.index.write_all(bytes) {
            self.error_mut().get_or_insert(e);
        }
    }

    fn error_mut(&mut self) -> &mut Option<io::Error> {
        // A poisoned lock only means a panic while noting an error; the slot is still valid.
        self.error.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `e` if it is the first error, to be reported when the run ends.
    pub fn note_error(&self, e: io::Error) {
        let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(e);
    }

    /// Flushes the files, so that they can be read back; an error is kept for [`Self::finish`].
    pub fn flush(&mut self) {
        let flushed = self
            .rows
            .flush()
            .and_then(|()| self.times.flush())
            .and_then(|()| self.waits.flush())
            .and_then(|()| self.index.flush());
        if let Err(e) = flushed {
            self.error_mut().get_or_insert(e);
        }
    }

    /// Flushes every file; the first error met while retiring, if any.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error_mut().take() {
            return Err(e);
        }
        self.rows.flush()?;
        self.times.flush()?;
        self.waits.flush()?;
        self.index.flush()
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
        let mut written = self
            .rows
            .write_all(&self.scratch)
            .and_then(|()| self.times.write_all(&bytes));
        if let Some(wait) = schedule_wait(record) {
            written = written.and_then(|()| self.waits.write_all(&wait.to_le_bytes()));
        }
        if let Err(e) = written {
            self.error_mut().get_or_insert(e);
        }
        at
    }
}

/// The bits of a scheduled pod's seconds from creation to scheduling (non-negative, so the
/// bits order as the values).
pub fn schedule_wait(p: &PodRecord) -> Option<u64> {
    p.scheduled_at
        .map(|at| at.since(p.created_at).as_secs_f64().to_bits())
}

/// Reads where the forgotten pods' rows start, in id order.
pub fn read_index(path: &Path) -> io::Result<impl Iterator<Item = io::Result<u64>> + use<>> {
    read_u64s(path)
}

/// Reads the times to schedule written for retired pods (as [`schedule_wait`] gives them).
pub fn read_waits(path: &Path) -> io::Result<impl Iterator<Item = io::Result<u64>> + use<>> {
    read_u64s(path)
}

fn read_u64s(path: &Path) -> io::Result<impl Iterator<Item = io::Result<u64>> + use<>> {
    let mut input = io::BufReader::with_capacity(1 << 16, File::open(path)?);
    Ok(std::iter::from_fn(move || {
        let mut bytes = [0u8; 8];
        match input.read_exact(&mut bytes) {
            Ok(()) => Some(Ok(u64::from_le_bytes(bytes))),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => None,
            Err(e) => Some(Err(e)),
        }
    }))
}

/// The values at `ranks` (0-based, in ascending order) of a multiset of u64 given as
/// (value, how many), which `values` reads anew for each pass: a most-significant-digit radix
/// selection, eight passes of one byte each, so that memory does not grow with the multiset.
/// A rank beyond the multiset gives 0.
pub fn select_ranks<I>(
    mut values: impl FnMut() -> io::Result<I>,
    ranks: &[u64],
) -> io::Result<Vec<u64>>
where
    I: Iterator<Item = io::Result<(u64, u64)>>,
{
    let mut prefix = vec![0u64; ranks.len()];
    let mut left = ranks.to_vec();
    let mut beyond = vec![false; ranks.len()];
    for pass in 0..8u32 {
        let shift = 56 - 8 * pass;
        let mut counts = vec![[0u64; 256]; ranks.len()];
        for v in values()? {
            let (value, weight) = v?;
            for (c, p) in counts.iter_mut().zip(&prefix) {
                // The digits above this pass's must be the ones chosen so far.
                if pass == 0 || (value ^ p) >> (shift + 8) == 0 {
                    c[((value >> shift) & 0xff) as usize] += weight;
                }
            }
        }
        for (r, c) in counts.iter().enumerate() {
            match c.iter().position(|&n| {
                let here = left[r] < n;
                if !here {
                    left[r] -= n;
                }
                here
            }) {
                Some(digit) => prefix[r] |= (digit as u64) << shift,
                None => beyond[r] = true,
            }
        }
    }
    Ok(prefix
        .into_iter()
        .zip(beyond)
        .map(|(p, b)| if b { 0 } else { p })
        .collect())
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
    /// Also how many times to schedule the waits file holds.
    pub ever_scheduled: u64,
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
        if p.scheduled_at.is_some() {
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
                .since(self.retiring.first_kept)
                .iter()
                .find_map(|s| s.kept())
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
        // Forget the retired slots before the first kept pod once they are as many as the
        // slots still held after them (so that moving those costs O(1) a pod) and more than
        // the recent deletions.
        let slots = &self.pods;
        let retired_prefix = first.saturating_sub(slots.forgotten());
        if retired_prefix > self.retiring.recent.len()
            && retired_prefix >= slots.held().len() - retired_prefix
            && let Some(to) = self.retiring.to.as_mut()
        {
            let mut index = std::mem::take(&mut to.index_scratch);
            index.clear();
            self.pods.forget_until(first, |row_at| {
                index.extend_from_slice(&row_at.to_le_bytes())
            });
            to.write_index(&index);
            to.index_scratch = index;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Percentiles;

    /// Deterministic values with many repeats and a wide spread of bits.
    fn values(n: usize) -> Vec<u64> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..n)
            .map(|i| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let secs = if i % 3 == 0 {
                    1.5
                } else {
                    (x >> 40) as f64 / 1e3
                };
                f64::to_bits(secs)
            })
            .collect()
    }

    #[test]
    fn radix_selection_finds_the_sorted_values() {
        let v = values(5_000);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        let ranks = [0, 1, 2_499, 4_500, 4_949, 4_999, 5_000];
        let found = select_ranks(|| Ok(v.iter().map(|&x| Ok((x, 1)))), &ranks).expect("in memory");
        let want: Vec<u64> = ranks
            .iter()
            .map(|&r| sorted.get(r as usize).copied().unwrap_or(0))
            .collect();
        assert_eq!(found, want);
    }

    #[test]
    fn percentiles_with_waits_in_a_file_are_those_of_all_in_memory() {
        let dir = std::env::temp_dir().join(format!("kubesim-waits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        let path = dir.join(WAITS_FILE);
        let v = values(3_001);
        let (in_file, kept) = v.split_at(2_000);
        let bytes: Vec<u8> = in_file.iter().flat_map(|b| b.to_le_bytes()).collect();
        std::fs::write(&path, bytes).expect("waits file");
        // Kept pods' waits, some still pending (lower bounds) among and above the others.
        let mut kept_map: BTreeMap<(u64, bool), u64> = BTreeMap::new();
        for (i, &b) in kept.iter().enumerate() {
            *kept_map.entry((b, i % 7 == 0)).or_default() += 1;
        }
        for censored in [false, true] {
            let mut map = kept_map.clone();
            if !censored {
                map.retain(|(_, c), _| !c);
            }
            let mut all = map.clone();
            for &b in in_file {
                *all.entry((b, false)).or_default() += 1;
            }
            let from_file = Percentiles::of_counted_and_file(&map, &path, in_file.len() as u64)
                .expect("read back");
            assert_eq!(
                format!("{from_file:?}"),
                format!("{:?}", Percentiles::of_counted(&all))
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
