//! The loaders' contract, checked on arbitrary bytes: a scenario, a manifest or a trace either
//! loads (and then runs a bounded while without panicking) or is refused with a located
//! diagnostic (`file:line:column`, a message). A panic anywhere is a finding; so is a
//! diagnostic without a place.
//!
//! Each target writes the bytes into a scratch folder as the file it stands for, beside
//! fixed companions (a scenario naming the manifest, a trace's other CSV), and loads through
//! the library's public path (`scenario::load`), as `kubesim check` does.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use models::run::{RunOptions, run};
use models::scenario;
use sim_core::SimDuration;

/// Events a loaded input may run for: enough to schedule, start and fail pods, little enough
/// that one input costs milliseconds.
const RUN_EVENTS: u64 = 20_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The bytes are a scenario file.
    Scenario,
    /// The bytes are a manifest file named by a fixed scenario.
    Manifest,
    /// The bytes are an openb pod list named by a fixed trace scenario.
    Trace,
}

/// What one input did (for the runner's notion of an interesting input).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Loaded and ran; the stop reason's kind.
    Ran(String),
    /// Refused; the message with its numbers and quoted parts blanked, so inputs that fail
    /// the same way count once.
    Refused(String),
}

const POOL: &str = "cluster:\n  nodePools: [{name: pool, count: 3, resources: {cpu: \"8\", memory: 32Gi, pods: 110}, zones: [a, b]}]\n";

const NODES_CSV: &str = "sn,cpu_milli,memory_mib,gpu,model\nopenb-node-0000,64000,262144,2,V100M32\nopenb-node-0001,96000,786432,8,G3\nopenb-node-0002,32000,131072,0,\n";

impl Target {
    pub const ALL: [Target; 3] = [Target::Scenario, Target::Manifest, Target::Trace];

    pub fn name(self) -> &'static str {
        match self {
            Target::Scenario => "scenario",
            Target::Manifest => "manifest",
            Target::Trace => "trace",
        }
    }

    /// Writes the bytes into `dir` as the file they stand for, beside the fixed companions;
    /// returns the scenario to load. A finding kept this way is a whole regression case.
    pub fn lay_out(self, dir: &Path, data: &[u8]) -> PathBuf {
        let write = |name: &str, bytes: &[u8]| {
            std::fs::write(dir.join(name), bytes).expect("the scratch folder is writable");
        };
        match self {
            Target::Scenario => {
                write("scenario.yaml", data);
            }
            Target::Manifest => {
                write("manifest.yaml", data);
                write(
                    "scenario.yaml",
                    format!("name: fuzz\nduration: 10m\n{POOL}workloads:\n  - file: manifest.yaml\n")
                        .as_bytes(),
                );
            }
            Target::Trace => {
                write("pods.csv", data);
                write("nodes.csv", NODES_CSV.as_bytes());
                write(
                    "scenario.yaml",
                    b"name: fuzz\ncluster: {nodePools: []}\nworkloads:\n  - trace: {format: openb, nodes: nodes.csv, pods: pods.csv}\n",
                );
            }
        }
        dir.join("scenario.yaml")
    }

    /// Checks the contract on `data`; panics (a finding) when it is broken.
    pub fn check(self, data: &[u8]) -> Outcome {
        let dir = scratch(self);
        let path = self.lay_out(&dir, data);
        match scenario::load(&path) {
            Err(d) => {
                assert!(
                    d.line >= 1 && d.column >= 1 && !d.message.trim().is_empty(),
                    "a refusal without a place or a message: {d:?}"
                );
                Outcome::Refused(shape(&d.message))
            }
            Ok(s) => {
                let options = RunOptions {
                    until: Some(s.duration.min(SimDuration::from_secs(3600))),
                    max_events: Some(RUN_EVENTS),
                    ..RunOptions::default()
                };
                match run(&s, &models::policies::registry(), &options, |_, _| {}) {
                    Ok(out) => Outcome::Ran(format!("{:?}", std::mem::discriminant(&out.stop))),
                    Err(d) => {
                        assert!(d.line >= 1 && !d.message.is_empty(), "{d:?}");
                        Outcome::Refused(shape(&d.message))
                    }
                }
            }
        }
    }

    /// Starting inputs: the repository's own scenarios, manifests and a slice of the openb
    /// trace, read from `root` (the repository).
    pub fn seeds(self, root: &Path) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = Vec::new();
        let list = |dir: &Path, ext: &str| -> Vec<PathBuf> {
            let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|it| {
                    it.filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == ext))
                        .collect()
                })
                .unwrap_or_default();
            v.sort();
            v
        };
        match self {
            Target::Scenario => {
                files.extend(list(&root.join("scenarios"), "yaml"));
                files.extend(list(&root.join("tests/fixtures/valid"), "yaml"));
            }
            Target::Manifest => {
                files.extend(list(&root.join("scenarios/manifests"), "yaml"));
                files.extend(list(&root.join("tests/fixtures/real/manifests"), "yaml"));
            }
            Target::Trace => {}
        }
        let mut seeds: Vec<Vec<u8>> = files
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .filter(|b| b.len() < 256 * 1024)
            .collect();
        if self == Target::Trace {
            let pods = root.join("../shared/data/openb/openb_pod_list_default.csv");
            let text = std::fs::read_to_string(pods).unwrap_or_else(|_| {
                "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\nopenb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0\n".into()
            });
            let head: String = text.lines().take(40).flat_map(|l| [l, "\n"]).collect();
            seeds.push(head.into_bytes());
        }
        seeds
    }
}

/// One scratch folder per target and process.
fn scratch(target: Target) -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    let root = ROOT.get_or_init(|| {
        std::env::temp_dir().join(format!("kubesim-fuzz-{}", std::process::id()))
    });
    let dir = root.join(target.name());
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// The message's shape: digits and quoted parts blanked.
fn shape(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                out.push('"');
            }
            _ if quoted => {}
            '0'..='9' => {
                if !out.ends_with('#') {
                    out.push('#');
                }
            }
            _ => out.push(c),
        }
    }
    out.chars().take(120).collect()
}
