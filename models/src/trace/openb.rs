//! The openb traces (Alibaba GPU cluster, the FGD paper's data; `UPSTREAM_README.md` of
//! `hkust-adsl/kubernetes-scheduler-simulator/data`):
//!
//! - nodes: `sn,cpu_milli,memory_mib,gpu,model`
//! - pods: `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,
//!   deletion_time,scheduled_time`, times in seconds.
//!
//! How the columns become kubesim objects, and why:
//!
//! - Node allocatable: `cpu_milli`, `memory_mib` × 2^20 bytes, `nvidia.com/gpu` = `gpu` devices
//!   of `model`; labels `kubernetes.io/hostname` and `kubesim.io/gpu-model`. The trace records
//!   no pod limit, so `pods` is [`TRACE_NODE_MAX_PODS`], far above any trace's pod count: it
//!   can never be what stops a pod.
//! - Pod requests: `cpu_milli`, `memory_mib` × 2^20, and a [`GpuRequest`] of `num_gpu` ×
//!   `gpu_milli` restricted to the `|`-separated `gpu_spec` models (order and repeats do not
//!   matter; `nan` or empty means any). `gpu_milli` is read only when `num_gpu > 0`, as the
//!   upstream converter (`pod_csv_to_yaml.py`) does. No `nvidia.com/gpu` request: GPUShare is
//!   the GPU fit check.
//! - Priority 0 for every pod: upstream's converter drops `qos`, and the FGD simulator has no
//!   priorities or preemption. The QoS is kept as the label `kubesim.io/qos`.
//! - Times relative to the earliest `creation_time`. An empty `deletion_time` means the pod
//!   stays to the end. A pod whose deletion is not after its creation (one in the default
//!   trace) still arrives and departs at once, so it is counted — as never scheduled.
//! - `pod_phase` is not used; `scheduled_time` is kept as
//!   [`TracePod::recorded_scheduled`] for comparison.
//!
//! Pandas writes missing values as `nan`; text and time fields accept it as empty. A bad row
//! is an error at `file:line:column` of the offending field.

use std::collections::BTreeMap;
use std::path::Path;

use csv::StringRecord;
use sim_core::SimDuration;

use super::{Trace, TracePod};
use crate::api::{LABEL_HOSTNAME, Labels, Node, Pod, ResourceList, ResourceName};
use crate::gpu::{GPU_RESOURCE, GpuRequest, LABEL_GPU_MODEL, MAX_DEVICES_PER_NODE};
use crate::scenario::Diagnostic;

/// Pods a trace node accepts: the trace records no limit, and this is far above the pod count
/// of any trace (8152 in openb), so it never binds.
pub const TRACE_NODE_MAX_PODS: i64 = 1_000_000;
/// Label carrying the trace's QoS class (`LS`, `BE`, `Burstable`, `Guaranteed`).
pub const LABEL_QOS: &str = "kubesim.io/qos";
/// Upstream `schedutil.DefaultMilliCPURequest` / `DefaultMemoryRequest`: what a request of zero
/// counts for scoring.
const DEFAULT_MILLI_CPU: i64 = 100;
const DEFAULT_MEMORY: i64 = 200 * 1024 * 1024;
/// Times beyond this many seconds (about 317 years) are certainly not a trace's.
const MAX_TRACE_SECONDS: u64 = 10_000_000_000;

/// Reads a node list and a pod list.
pub fn load_openb(nodes_csv: &Path, pods_csv: &Path) -> Result<Trace, Diagnostic> {
    let (nodes_label, pods_label) = (
        nodes_csv.display().to_string(),
        pods_csv.display().to_string(),
    );
    let nodes = parse_nodes(&nodes_label, &read(nodes_csv, &nodes_label)?)?;
    let pods = parse_pods(&pods_label, &read(pods_csv, &pods_label)?)?;
    Ok(Trace { nodes, pods })
}

fn read(path: &Path, label: &str) -> Result<String, Diagnostic> {
    let bytes =
        crate::scenario::read_input(path, crate::scenario::InputKind::Trace).map_err(|why| {
            Diagnostic::new(label, 1, 1, format!("cannot read the trace file: {why}"))
        })?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Diagnostic::new(
            label,
            1,
            1,
            format!("not a CSV trace: the bytes are not UTF-8 text (invalid byte at offset {at})"),
        )
    })
}

/// Parses `openb_node_list_*.csv` text; `file` names it in errors.
pub fn parse_nodes(file: &str, text: &str) -> Result<Vec<Node>, Diagnostic> {
    let mut table = Table::new(
        file,
        text,
        &["sn", "cpu_milli", "memory_mib", "gpu"],
        &["model"],
    )?;
    let mut nodes = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(row) = table.next_row()? {
        let name = row.required_text(0)?.to_string();
        if let Some(first) = seen.insert(name.clone(), row.line) {
            return Err(row.error(
                0,
                format!("duplicate node {name:?} (first on line {first})"),
            ));
        }
        let cpu = row.int(1)?;
        let memory = row.mib(2)?;
        let gpus = row.number(3)?;
        if gpus > u64::from(MAX_DEVICES_PER_NODE) {
            return Err(row.error(3, format!("{gpus} GPUs on one node is more than kubesim models (at most {MAX_DEVICES_PER_NODE})")));
        }
        let model = row.text(4).map(str::to_string);
        let mut labels = Labels::new();
        labels.insert(LABEL_HOSTNAME, name.as_str());
        if let Some(m) = &model {
            labels.insert(LABEL_GPU_MODEL, m.as_str());
        }
        let mut allocatable = ResourceList {
            cpu_milli: cpu,
            memory,
            pods: TRACE_NODE_MAX_PODS,
            ..Default::default()
        };
        if gpus > 0 {
            allocatable.set(
                &ResourceName::Extended(GPU_RESOURCE.to_string()),
                i64::try_from(gpus).unwrap_or(0),
            );
        }
        nodes.push(Node {
            name,
            labels,
            allocatable,
            gpu_model: model,
            ..Node::default()
        });
    }
    Ok(nodes)
}

/// A pod row before times are made relative to the trace start.
struct RawPod {
    pod: Pod,
    created: u64,
    deleted: Option<u64>,
    scheduled: Option<u64>,
}

/// Parses `openb_pod_list_*.csv` text; `file` names it in errors.
pub fn parse_pods(file: &str, text: &str) -> Result<Vec<TracePod>, Diagnostic> {
    let mut table = Table::new(
        file,
        text,
        &[
            "name",
            "cpu_milli",
            "memory_mib",
            "num_gpu",
            "gpu_milli",
            "creation_time",
            "deletion_time",
        ],
        &["gpu_spec", "qos", "scheduled_time"],
    )?;
    let mut raw = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(row) = table.next_row()? {
        let name = row.required_text(0)?.to_string();
        if let Some(first) = seen.insert(name.clone(), row.line) {
            return Err(row.error(0, format!("duplicate pod {name:?} (first on line {first})")));
        }
        let cpu = row.int(1)?;
        let memory = row.mib(2)?;
        let num_gpu = row.number(3)?;
        let gpu = if num_gpu == 0 {
            None
        } else {
            let count = u32::try_from(num_gpu).unwrap_or(u32::MAX);
            let milli = row.number(4)?;
            let milli = u32::try_from(milli).unwrap_or(u32::MAX);
            let mut models: Vec<String> = row
                .text(7)
                .unwrap_or("")
                .split('|')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect();
            models.sort();
            models.dedup();
            let request = GpuRequest {
                count,
                milli,
                models,
            };
            if let Err(e) = request.validate() {
                let column = if (count > 1 && milli < 1000) || milli == 0 || milli > 1000 {
                    4
                } else {
                    3
                };
                return Err(row.error(column, e));
            }
            Some(request)
        };
        let created = row
            .time(5)?
            .ok_or_else(|| row.error(5, "creation_time is empty"))?;
        let deleted = row.time(6)?;
        let scheduled = row.time(9)?;
        let mut labels = Labels::new();
        if let Some(qos) = row.text(8) {
            labels.insert(LABEL_QOS, qos);
        }
        let pod = Pod {
            name,
            labels,
            requests: ResourceList {
                cpu_milli: cpu,
                memory,
                pods: 1,
                ..Default::default()
            },
            non_zero_cpu_milli: if cpu == 0 { DEFAULT_MILLI_CPU } else { cpu },
            non_zero_memory: if memory == 0 { DEFAULT_MEMORY } else { memory },
            gpu,
            ..Pod::default()
        };
        raw.push(RawPod {
            pod,
            created,
            deleted,
            scheduled,
        });
    }
    let origin = raw.iter().map(|r| r.created).min().unwrap_or(0);
    let rel = |t: u64| SimDuration::from_secs(t.saturating_sub(origin));
    Ok(raw
        .into_iter()
        .map(|r| TracePod {
            arrival: rel(r.created),
            departure: r.deleted.map(rel),
            recorded_scheduled: r.scheduled.map(rel),
            pod: r.pod,
        })
        .collect())
}

/// A CSV file with named columns, read row by row with located errors.
struct Table<'a> {
    file: &'a str,
    text: &'a str,
    reader: csv::Reader<&'a [u8]>,
    /// Column index in the file of each wanted column (required first, then optional).
    index: Vec<Option<usize>>,
    names: Vec<&'static str>,
    record: StringRecord,
}

impl<'a> Table<'a> {
    fn new(
        file: &'a str,
        text: &'a str,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Self, Diagnostic> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let header = reader.headers().map_err(|e| csv_error(file, &e))?.clone();
        let columns: Vec<&str> = header.iter().map(str::trim).collect();
        let find = |name: &str| columns.iter().position(|c| *c == name);
        let mut index = Vec::new();
        for name in required {
            match find(name) {
                Some(i) => index.push(Some(i)),
                None => {
                    return Err(Diagnostic::new(
                        file,
                        1,
                        1,
                        format!(
                            "missing column {name:?} (the header has: {})",
                            columns.join(", ")
                        ),
                    ));
                }
            }
        }
        index.extend(optional.iter().map(|name| find(name)));
        let names = required.iter().chain(optional).copied().collect();
        Ok(Table {
            file,
            text,
            reader,
            index,
            names,
            record: StringRecord::new(),
        })
    }

    fn next_row(&mut self) -> Result<Option<Row<'_, 'a>>, Diagnostic> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let (line, byte) = self
                    .record
                    .position()
                    .map_or((1, 0), |p| (p.line(), p.byte()));
                Ok(Some(Row {
                    table: self,
                    line,
                    byte,
                }))
            }
            Err(e) => Err(csv_error(self.file, &e)),
        }
    }
}

fn csv_error(file: &str, e: &csv::Error) -> Diagnostic {
    let line = e.position().map_or(1, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("this row has {len} fields but the header has {expected_len}")
        }
        _ => format!("not valid CSV: {e}"),
    };
    Diagnostic::new(
        file,
        usize::try_from(line).unwrap_or(usize::MAX),
        1,
        message,
    )
}

/// One record of a [`Table`].
struct Row<'t, 'a> {
    table: &'t Table<'a>,
    line: u64,
    byte: u64,
}

impl Row<'_, '_> {
    /// The raw field of wanted column `k`; `None` when an optional column is absent.
    fn raw(&self, k: usize) -> Option<&str> {
        self.table.index[k].and_then(|i| self.table.record.get(i))
    }

    /// A text field; empty and pandas' `nan` are `None`.
    fn text(&self, k: usize) -> Option<&str> {
        self.raw(k).map(str::trim).filter(|s| !is_missing(s))
    }

    fn required_text(&self, k: usize) -> Result<&str, Diagnostic> {
        self.text(k)
            .ok_or_else(|| self.error(k, format!("{} is empty", self.table.names[k])))
    }

    /// A non-negative whole number.
    fn number(&self, k: usize) -> Result<u64, Diagnostic> {
        let s = self.raw(k).unwrap_or("").trim();
        s.parse::<u64>().map_err(|_| {
            let found = if s.is_empty() {
                "nothing".to_string()
            } else {
                format!("{s:?}")
            };
            self.error(
                k,
                format!(
                    "{}: expected a whole number ≥ 0, found {found}",
                    self.table.names[k]
                ),
            )
        })
    }

    fn int(&self, k: usize) -> Result<i64, Diagnostic> {
        let n = self.number(k)?;
        i64::try_from(n)
            .map_err(|_| self.error(k, format!("{}: {n} is too large", self.table.names[k])))
    }

    /// MiB as bytes.
    fn mib(&self, k: usize) -> Result<i64, Diagnostic> {
        let n = self.int(k)?;
        n.checked_mul(1 << 20)
            .ok_or_else(|| self.error(k, format!("{}: {n} MiB is too large", self.table.names[k])))
    }

    /// Seconds, or `None` if empty / `nan`.
    fn time(&self, k: usize) -> Result<Option<u64>, Diagnostic> {
        if self.text(k).is_none() {
            return Ok(None);
        }
        let secs = self.number(k)?;
        if secs > MAX_TRACE_SECONDS {
            return Err(self.error(
                k,
                format!("{}: {secs} s is beyond any trace", self.table.names[k]),
            ));
        }
        Ok(Some(secs))
    }

    /// An error at the start of wanted column `k` of this row.
    fn error(&self, k: usize, message: impl Into<String>) -> Diagnostic {
        let (line, column) = match self.table.index[k] {
            Some(field) => field_position(self.table.text, self.byte, field),
            None => (0, 1),
        };
        let line = self.line.saturating_add(line);
        Diagnostic::new(
            self.table.file,
            usize::try_from(line).unwrap_or(usize::MAX),
            column,
            message,
        )
    }
}

fn is_missing(s: &str) -> bool {
    s.is_empty() || s.eq_ignore_ascii_case("nan") || s == "None"
}

/// Where field `field` of the record starting at byte `start` begins: lines after the record's
/// first line (quoted fields may hold newlines) and the 1-based column in characters.
fn field_position(text: &str, start: u64, field: usize) -> (u64, usize) {
    let rest = usize::try_from(start)
        .ok()
        .and_then(|s| text.get(s..))
        .unwrap_or("");
    let (mut lines, mut column, mut index, mut quoted) = (0u64, 1usize, 0usize, false);
    for c in rest.chars() {
        if index == field {
            break;
        }
        column += 1;
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => index += 1,
            '\n' if quoted => {
                lines += 1;
                column = 1;
            }
            '\n' => break,
            _ => {}
        }
    }
    (lines, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ResourceName;

    const NODES: &str = "sn,cpu_milli,memory_mib,gpu,model\n\
        n0,32000,262144,0,\n\
        n1,96000,786432,8,V100M32\n";
    const HEADER: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n";

    fn pods(rows: &str) -> Result<Vec<TracePod>, Diagnostic> {
        parse_pods("pods.csv", &format!("{HEADER}{rows}"))
    }

    #[test]
    fn nodes_become_allocatable_devices_and_labels() {
        let nodes = parse_nodes("nodes.csv", NODES).unwrap();
        assert_eq!(nodes.len(), 2);
        let gpu = &nodes[1];
        assert_eq!(gpu.allocatable.cpu_milli, 96_000);
        assert_eq!(gpu.allocatable.memory, 786_432 << 20);
        assert_eq!(gpu.allocatable.pods, TRACE_NODE_MAX_PODS);
        assert_eq!(
            gpu.allocatable
                .get(&ResourceName::Extended(GPU_RESOURCE.into())),
            8
        );
        assert_eq!(gpu.gpu_model.as_deref(), Some("V100M32"));
        assert_eq!(gpu.labels.get(LABEL_GPU_MODEL), Some("V100M32"));
        assert_eq!(gpu.labels.get(LABEL_HOSTNAME), Some("n1"));
        assert_eq!(nodes[0].gpu_model, None);
        assert!(nodes[0].allocatable.extended.is_empty());
    }

    #[test]
    fn pods_get_requests_gpu_shares_models_and_relative_times() {
        let p = pods(
            "a,88000,327680,8,1000,nan,Burstable,Succeeded,9437497,10769854,9437497\n\
             b,4000,15258,1,220,,BE,Running,9679175,9973826,9679175\n\
             c,16000,32768,1,1000,V100M32|V100M16|V100M32,LS,Running,9967058,9968575,\n\
             d,0,0,0,0,,LS,Pending,9437497,,\n",
        )
        .unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p[0].pod.gpu, Some(GpuRequest::whole(8)));
        assert_eq!(
            (p[0].arrival, p[0].departure),
            (
                SimDuration::ZERO,
                Some(SimDuration::from_secs(10769854 - 9437497))
            )
        );
        assert_eq!(p[1].pod.gpu, Some(GpuRequest::shared(220)));
        assert_eq!(p[1].pod.requests.memory, 15258 << 20);
        assert_eq!(p[1].pod.labels.get(LABEL_QOS), Some("BE"));
        assert_eq!(p[1].pod.priority, 0);
        // Models sorted and deduplicated; an empty scheduled_time is None.
        assert_eq!(
            p[2].pod.gpu,
            Some(GpuRequest::whole(1).with_models(&["V100M16", "V100M32"]))
        );
        assert_eq!(p[2].recorded_scheduled, None);
        // No GPU, no deletion; zero requests count 100m / 200Mi for scoring only.
        assert_eq!((p[3].pod.gpu.clone(), p[3].departure), (None, None));
        assert_eq!(
            (p[3].pod.requests.cpu_milli, p[3].pod.non_zero_cpu_milli),
            (0, 100)
        );
        // No nvidia.com/gpu request: GPUShare is the fit check.
        assert!(p.iter().all(|t| t.pod.requests.extended.is_empty()));
    }

    #[test]
    fn bad_rows_are_located_at_the_field() {
        // Line 3 (header is line 1), field cpu_milli starts at column 3 ("b," is 2 chars).
        let e = pods("a,1000,1024,0,0,,LS,Running,0,10,0\nb,12x,1024,0,0,,LS,Running,0,10,0\n")
            .unwrap_err();
        assert_eq!((e.file.as_str(), e.line, e.column), ("pods.csv", 3, 3));
        assert!(
            e.message.contains("cpu_milli") && e.message.contains("\"12x\""),
            "{e}"
        );
        assert_eq!(e.to_string(), format!("pods.csv:3:3: {}", e.message));
        // A share of two GPUs: located at gpu_milli (column 15 of "c,1000,1024,2,500").
        let e = pods("c,1000,1024,2,500,,LS,Running,0,10,0\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 15));
        // gpu_milli 0 for a GPU pod.
        let e = pods("d,1000,1024,1,0,,LS,Running,0,10,0\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 15));
        // Negative time, at creation_time (after "e,1,1,0,0,,LS,Running,").
        let e = pods("e,1,1,0,0,,LS,Running,-5,10,0\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 23));
        // Quoted fields with commas do not shift the column.
        let e = pods("\"f,g\",1,1,0,0,,LS,Running,x,10,0\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 27));
        // Too few fields; missing column; duplicates.
        let e = pods("h,1,1\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("3 fields"), "{e}");
        let e = parse_pods("p.csv", "name,cpu_milli\na,1\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        assert!(e.message.contains("missing column \"memory_mib\""), "{e}");
        let e = pods("a,1,1,0,0,,LS,Running,0,1,0\na,1,1,0,0,,LS,Running,0,1,0\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        assert!(e.message.contains("first on line 2"), "{e}");
        let e = parse_nodes(
            "n.csv",
            "sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,many,T4\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "n.csv:2:8: gpu: expected a whole number ≥ 0, found \"many\""
        );
    }

    #[test]
    fn missing_files_are_errors_not_panics() {
        let e = load_openb(
            Path::new("/nonexistent/nodes.csv"),
            Path::new("/nonexistent/pods.csv"),
        )
        .unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line, e.column),
            ("/nonexistent/nodes.csv", 1, 1)
        );
    }
}
