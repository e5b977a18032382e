//! The command line. Bad input of any kind exits with code 2 and a located message; a failure
//! to write outputs exits with 1.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{ArgGroup, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use models::run::{EventSink, RunControl, RunOptions, check_determinism, run, run_with};
use models::scenario::{self, Diagnostic, Scenario};
use sim_core::SimDuration;

const EXIT_BAD_INPUT: i32 = 2;
const EXIT_FAILURE: i32 = 1;
/// A checked invariant or expectation did not hold.
const EXIT_ASSERTION: i32 = 3;
/// Stopped by SIGINT or SIGTERM (the shell's 128 + SIGINT).
const EXIT_INTERRUPTED: i32 = 130;

#[derive(Parser, Debug)]
#[command(
    name = "kubesim",
    version,
    about = "Deterministic discrete-event simulator of Kubernetes clusters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario and write its outputs: summary.json, events.jsonl and events.txt,
    /// pods.jsonl and nodes.jsonl, charts/ and report.html.
    #[command(after_help = RUN_EXAMPLES)]
    Run {
        /// The scenario file (YAML).
        scenario: PathBuf,
        /// Master seed, 0 to 18446744073709551615 (overrides the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated time to run for, 0s to about 213503d, e.g. 90s, 2h, 7d (overrides the
        /// scenario's `duration`).
        #[arg(long, value_parser = parse_duration)]
        until: Option<SimDuration>,
        /// Output folder (default: out/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Stop after this many events, 1 to 18446744073709551615.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        max_events: Option<u64>,
        /// Run the scenario twice and name the first event where the runs diverge.
        #[arg(long)]
        check_determinism: bool,
        /// Check the cluster's invariants after every event (rollout surge and availability,
        /// PDBs on eviction, no node over-committed); exit 3 if one is broken.
        #[arg(long)]
        check_invariants: bool,
        /// Exit 3 if an expectation of the scenario's `expect:` was missed.
        #[arg(long)]
        fail_on_expect: bool,
        /// No progress bar and no table, only errors.
        #[arg(long, short)]
        quiet: bool,
        /// Record no time series (no metrics.csv, metrics.json or their charts), whatever
        /// the scenario's `metrics:` says.
        #[arg(long)]
        no_metrics: bool,
        /// How to print the result: a table (text), or the summary as json or yaml.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// Run the scenario's `compare:` variants on the same seeds and compare them side by side.
    #[command(after_help = COMPARE_EXAMPLES)]
    Compare {
        /// The scenario file, with a `compare:` section naming the variants.
        scenario: PathBuf,
        /// Number of seeds, 1 to 1000 (the scenario's seed and the ones after it); overrides
        /// `compare.seeds`.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000))]
        seeds: Option<u64>,
        /// Output folder for compare.csv, compare.json and compare.html (default:
        /// out/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Parallel runs, 1 to 1024 (default: the number of CPUs). Results do not depend on it.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
        jobs: Option<u16>,
        /// How to print the comparison: a table (text), json or yaml.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// Validate a scenario and the manifests it uses without running it.
    #[command(after_help = CHECK_EXAMPLES)]
    Check {
        /// The scenario file (YAML).
        scenario: PathBuf,
        /// How to print the result: text, json or yaml.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// List a run's pods or nodes as `kubectl get` does, at the end of the run or at any
    /// simulated time.
    #[command(after_help = GET_EXAMPLES)]
    Get {
        /// What to list: pods or nodes.
        #[arg(value_enum)]
        resource: Resource,
        /// A run's output folder (as written by `kubesim run`).
        outdir: PathBuf,
        /// Output format: wide (adds NODE, NOMINATED NODE, READINESS GATES for pods; ZONE and
        /// POOL for nodes), json or yaml (the rows of pods.jsonl / nodes.jsonl shown).
        #[arg(short = 'o', long = "output", value_enum)]
        output: Option<GetFormat>,
        /// Show the placement at this simulated time, 0s to about 213503d (e.g. 90s, 2h30m,
        /// 3d); default: the end.
        #[arg(long, value_parser = parse_duration)]
        at: Option<SimDuration>,
        /// Pods of this namespace only (default: `default`, as kubectl).
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        /// Pods of every namespace, with a NAMESPACE column.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
    },
    /// Print a run's Events as `kubectl events -A` does: LAST SEEN as the age at the end of
    /// the run, repeated Events with their count.
    #[command(after_help = EVENTS_EXAMPLES)]
    Events {
        /// A run's output folder (reads its events.jsonl), or a scenario file (runs it now and
        /// writes nothing).
        source: PathBuf,
        /// Only the Events of this object: `kind/name` (`pod/web-1`, `node/n1`) or a name.
        #[arg(long = "for", value_name = "OBJECT")]
        for_object: Option<String>,
        /// Only Events of this type.
        #[arg(long = "type", value_enum, ignore_case = true)]
        event_type: Option<EventKind>,
        /// Output format: the table (text), or the Events as json or yaml.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
        output: Format,
        /// Master seed, 0 to 18446744073709551615, when SOURCE is a scenario.
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated time to run for, 0s to about 213503d, when SOURCE is a scenario.
        #[arg(long, value_parser = parse_duration)]
        until: Option<SimDuration>,
    },
    /// Redraw report.html from a run's written outputs (summary.json, report-data.json,
    /// events.jsonl, pods.jsonl, nodes.jsonl).
    #[command(after_help = REPORT_EXAMPLES)]
    Report {
        /// A run's output folder (as written by `kubesim run`).
        outdir: PathBuf,
    },
    /// A pod's or a node's whole life in the run, in time order, with a summary; for a pod,
    /// also why it is where it is (or pending): every node's filter verdict and scores.
    /// The group makes `--pod` and `--node` exclusive; "neither" is reported by `main`, as
    /// clap's own message for a missing group lists the flags on lines a one-line error drops.
    #[command(
        group(ArgGroup::new("subject").multiple(false).args(["pod", "node"])),
        after_help = EXPLAIN_EXAMPLES
    )]
    Explain {
        /// The scenario file; it is run again (same seed, same run) to explain.
        scenario: PathBuf,
        /// Pod name (`name` or `namespace/name`), as it appears in the event log.
        #[arg(long)]
        pod: Option<String>,
        /// Node name: its Ready transitions, faults, evictions, pods and allocation.
        #[arg(long)]
        node: Option<String>,
        /// How to print the answer: text, json or yaml (`--format` is the older name).
        #[arg(short = 'o', long = "output", alias = "format", value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Master seed, 0 to 18446744073709551615 (overrides the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated time to run for, 0s to about 213503d (overrides the scenario's
        /// `duration`).
        #[arg(long, value_parser = parse_duration)]
        until: Option<SimDuration>,
    },
}

const RUN_EXAMPLES: &str = "Examples:
  kubesim run scenarios/quickstart.yaml
  kubesim run scenarios/preemption.yaml --seed 7 --out /tmp/preemption
  kubesim run scenarios/stochastic-month.yaml --until 2d --quiet
  kubesim run scenarios/rolling-update.yaml --check-invariants --fail-on-expect
  kubesim run scenarios/quickstart.yaml -o json | jq .run

Exit codes: 0 ran, 1 could not write the outputs, 2 bad input, 3 an expectation or invariant
failed (with --fail-on-expect or --check-invariants), 130 interrupted.";

const COMPARE_EXAMPLES: &str = "Examples:
  kubesim compare scenarios/openb-gpu-policies.yaml
  kubesim compare scenarios/capacity-nodes.yaml --seeds 5 --out /tmp/cmp -o json

Each variant of the scenario's `compare:` section may set its own scheduler configuration
(`scheduler: {config: …}`) and override any scenario value with `set:`, a dotted path to a value
(on a list, the element with that `name`, or an index):
  - {name: six-nodes, set: {cluster.nodePools.general.count: 6}}

Writes compare.csv (one row per run and metric), compare.json and compare.html (table and one
chart per metric, means with 95% confidence intervals). Exit codes: 0 ran, 1 could not write
the outputs, 2 bad input.";

const CHECK_EXAMPLES: &str = "Examples:
  kubesim check scenarios/quickstart.yaml
  kubesim check my-cluster.yaml -o json";

const GET_EXAMPLES: &str = "Examples:
  kubesim run scenarios/preemption.yaml --out out/preemption
  kubesim get pods out/preemption -o wide
  kubesim get pods out/preemption -A --at 2m30s
  kubesim get nodes out/preemption -o wide
  kubesim get pods out/preemption -o json";

const EVENTS_EXAMPLES: &str = "Examples:
  kubesim events out/quickstart
  kubesim events out/quickstart --type Warning
  kubesim events out/quickstart --for pod/frontend-6796ff5556-vccld
  kubesim events scenarios/does-not-fit.yaml --type Warning -o json";

const REPORT_EXAMPLES: &str = "Examples:
  kubesim run scenarios/quickstart.yaml --out out/quickstart
  kubesim report out/quickstart";

const EXPLAIN_EXAMPLES: &str = "Examples:
  kubesim explain scenarios/does-not-fit.yaml --pod cache
  kubesim explain scenarios/preemption.yaml --pod default/batch-0 -o json
  kubesim explain scenarios/node-dies.yaml --node worker-1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Resource {
    #[value(alias = "pod", alias = "po")]
    Pods,
    #[value(alias = "node", alias = "no")]
    Nodes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum GetFormat {
    Wide,
    Json,
    Yaml,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EventKind {
    #[value(name = "Normal")]
    Normal,
    #[value(name = "Warning")]
    Warning,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Yaml,
}

/// `value` as JSON or YAML, for `-o json|yaml`.
fn structured<T: serde::Serialize>(value: &T, format: Format) -> Result<String, String> {
    match format {
        Format::Yaml => serde_yaml::to_string(value).map_err(|e| e.to_string()),
        _ => serde_json::to_string_pretty(value)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
    }
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    s.parse::<SimDuration>().map_err(|e| e.to_string())
}

/// Clap's own errors, whole, as `command line:1:COLUMN: message`, the offending argument's
/// column in the command line as typed.
fn command_line_error(args: &[OsString], err: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    // The program as the user typed it is unknown (a path, an alias): count it as `kubesim`.
    let line: Vec<String> = std::iter::once("kubesim".to_string())
        .chain(
            args.iter()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned()),
        )
        .collect();
    let offending = [
        ContextKind::InvalidValue,
        ContextKind::InvalidArg,
        ContextKind::InvalidSubcommand,
    ]
    .iter()
    .find_map(|k| match err.get(*k) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    });
    let mut column = 1;
    if let Some(bad) = offending {
        let mut offset = 1;
        for (i, a) in line.iter().enumerate() {
            if i > 0 && (a == &bad || a.starts_with(bad.split_whitespace().next().unwrap_or(&bad)))
            {
                column = offset;
                break;
            }
            offset += a.chars().count() + 1;
        }
    }
    // Clap's whole message: the first line says what is wrong, the lines after it name the
    // missing arguments, the allowed values, tips and the usage. Only its pointer to `--help`
    // goes, replaced by ours.
    let rendered = err.render().to_string();
    let mut lines = rendered.lines();
    let first = lines
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ");
    let mut msg = format!("command line:1:{column}: {first}");
    for l in lines {
        if l.trim().is_empty() || l.starts_with("For more information") {
            continue;
        }
        msg.push('\n');
        msg.push_str(l.trim_end());
    }
    msg.push_str("\n(run `kubesim --help` for usage)");
    msg
}

pub fn main(args: Vec<OsString>) -> i32 {
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            if matches!(
                err.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) {
                print!("{}", err.render());
                return 0;
            }
            if err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                eprint!("{}", err.render());
                return EXIT_BAD_INPUT;
            }
            eprintln!("{}", command_line_error(&args, &err));
            return EXIT_BAD_INPUT;
        }
    };
    match cli.command {
        Command::Run {
            scenario,
            seed,
            until,
            out,
            max_events,
            check_determinism,
            check_invariants,
            fail_on_expect,
            quiet,
            no_metrics,
            output,
        } => {
            let options = RunOptions {
                seed,
                until,
                max_events,
                explain_pod: None,
                check_invariants,
                no_metrics,
            };
            cmd_run(
                &scenario,
                &options,
                out,
                check_determinism,
                fail_on_expect,
                quiet,
                output,
            )
        }
        Command::Check { scenario, output } => cmd_check(&scenario, output),
        Command::Compare {
            scenario,
            seeds,
            out,
            jobs,
            output,
        } => cmd_compare(&scenario, seeds, out, jobs, output),
        Command::Get {
            resource,
            outdir,
            output,
            at,
            namespace,
            all_namespaces,
        } => {
            let namespaces = match (all_namespaces, namespace) {
                (true, _) => reports::placement::Namespaces::All,
                (false, Some(ns)) => reports::placement::Namespaces::One(ns),
                (false, None) => reports::placement::Namespaces::One("default".into()),
            };
            cmd_get(resource, &outdir, output, at, &namespaces)
        }
        Command::Events {
            source,
            for_object,
            event_type,
            output,
            seed,
            until,
        } => {
            let filter = reports::event_log::Filter {
                object: for_object,
                event_type: event_type.map(|t| format!("{t:?}")),
            };
            let options = RunOptions {
                seed,
                until,
                ..RunOptions::default()
            };
            cmd_events(&source, &filter, output, &options)
        }
        Command::Report { outdir } => cmd_report(&outdir),
        Command::Explain {
            scenario,
            pod,
            node,
            format,
            seed,
            until,
        } => {
            let subject = match (pod, node) {
                (Some(pod), _) => Subject::Pod(pod),
                (None, Some(node)) => Subject::Node(node),
                (None, None) => {
                    eprintln!(
                        "command line:1:1: explain needs one of --pod NAME or --node NAME\n(run `kubesim explain --help` for usage)"
                    );
                    return EXIT_BAD_INPUT;
                }
            };
            let options = RunOptions {
                seed,
                until,
                max_events: None,
                explain_pod: match &subject {
                    Subject::Pod(pod) => Some(pod.clone()),
                    Subject::Node(_) => None,
                },
                check_invariants: false,
                // `explain` writes no series.
                no_metrics: true,
            };
            cmd_explain(&scenario, &options, &subject, format)
        }
    }
}

fn load(path: &Path) -> Result<Scenario, i32> {
    scenario::load(path).map_err(|d| report(&d))
}

fn report(d: &Diagnostic) -> i32 {
    eprintln!("{d}");
    EXIT_BAD_INPUT
}

fn cmd_check(path: &Path, output: Format) -> i32 {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Err(d) = models::run::build_scheduler(&scenario, &models::policies::registry()) {
        return report(&d);
    }
    if output != Format::Text {
        let value = serde_json::json!({
            "file": path.display().to_string(),
            "ok": true,
            "scenario": scenario.name,
            "nodes": scenario.nodes.len(),
            "pools": scenario.pools.len(),
            "pods": scenario.pods.len(),
            "deployments": scenario.deployments.len(),
            "replicaSets": scenario.replica_sets.len(),
            "statefulSets": scenario.stateful_sets.len(),
            "daemonSets": scenario.daemon_sets.len(),
            "jobs": scenario.jobs.len(),
            "cronJobs": scenario.cron_jobs.len(),
            "persistentVolumeClaims": scenario.claims.len(),
            "resourceQuotas": scenario.resource_quotas.len(),
            "limitRanges": scenario.limit_ranges.len(),
            "ignoredObjects": scenario.ignored.len(),
            "tracePods": scenario.trace.as_ref().map(|t| t.pods.len()),
            "compareVariants": scenario
                .compare
                .as_ref()
                .map(|c| c.variants.iter().map(|v| v.name.clone()).collect::<Vec<_>>()),
            "warnings": scenario.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        });
        return match structured(&value, output) {
            Ok(text) => {
                print!("{text}");
                0
            }
            Err(e) => {
                eprintln!("cannot render the result: {e}");
                EXIT_FAILURE
            }
        };
    }
    let pods_from_workloads: i64 = scenario
        .deployments
        .iter()
        .map(|d| i64::from(d.replicas))
        .sum::<i64>()
        + scenario
            .replica_sets
            .iter()
            .map(|r| i64::from(r.replicas))
            .sum::<i64>();
    println!(
        "{}: ok — scenario {:?}: {} nodes in {} pool(s), {} pods, {} deployments, {} replicasets ({} replicas), {} ignored object(s)",
        path.display(),
        scenario.name,
        scenario.nodes.len(),
        scenario.pools.len(),
        scenario.pods.len(),
        scenario.deployments.len(),
        scenario.replica_sets.len(),
        pods_from_workloads,
        scenario.ignored.len()
    );
    let kinds: Vec<String> = [
        (scenario.stateful_sets.len(), "statefulset(s)"),
        (scenario.daemon_sets.len(), "daemonset(s)"),
        (scenario.jobs.len(), "job(s)"),
        (scenario.cron_jobs.len(), "cronjob(s)"),
        (scenario.claims.len(), "persistentvolumeclaim(s)"),
        (scenario.resource_quotas.len(), "resourcequota(s)"),
        (scenario.limit_ranges.len(), "limitrange(s)"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if !kinds.is_empty() {
        println!("  also: {}", kinds.join(", "));
    }
    if let Some(trace) = &scenario.trace {
        println!(
            "  trace: {} pods arriving over {}, sampled every {}",
            trace.pods.len(),
            scenario.duration,
            trace.sampling.interval
        );
    }
    if let Some(c) = &scenario.compare {
        let names: Vec<&str> = c.variants.iter().map(|v| v.name.as_str()).collect();
        println!(
            "  compare: {} on {} seeds",
            names.join(" vs "),
            c.seeds.len()
        );
    }
    for w in &scenario.warnings {
        println!("warning: {w}");
    }
    0
}

fn progress_bar(quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{spinner} simulating [{bar:40}] {msg} ({elapsed} wall)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    Some(bar)
}

fn cmd_run(
    path: &Path,
    options: &RunOptions,
    out: Option<PathBuf>,
    determinism: bool,
    fail_on_expect: bool,
    quiet: bool,
    output: Format,
) -> i32 {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let stopwatch = crate::usage::Stopwatch::start();
    let registry = models::policies::registry();
    // An interrupt (SIGINT, SIGTERM) ends the process at once while nothing of ours is on
    // disk; while a temporary exists it only sets `interrupt`, which the run looks at between
    // events, so the temporaries can be removed and the previous outputs left as they were.
    let interrupt = Arc::new(AtomicBool::new(false));
    let nothing_to_clean = Arc::new(AtomicBool::new(true));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ =
            signal_hook::flag::register_conditional_default(signal, Arc::clone(&nothing_to_clean));
        let _ = signal_hook::flag::register(signal, Arc::clone(&interrupt));
    }
    let interrupted = || interrupt.load(Ordering::SeqCst);
    // Find out now, not after a long run, whether the outputs can be written.
    let dir = out.unwrap_or_else(|| Path::new("out").join(&scenario.name));
    nothing_to_clean.store(false, Ordering::SeqCst);
    let writable = check_writable(&dir);
    if interrupted() {
        return EXIT_INTERRUPTED;
    }
    nothing_to_clean.store(true, Ordering::SeqCst);
    if let Err(e) = writable {
        eprintln!(
            "{}: cannot write the run's outputs there: {e} (choose another folder with --out)",
            dir.display()
        );
        return EXIT_BAD_INPUT;
    }
    if !quiet {
        eprintln!(
            "kubesim: scenario {:?}, seed {}, simulating {}",
            scenario.name,
            options.seed(&scenario),
            options.duration(&scenario)
        );
    }
    if determinism {
        match check_determinism(&scenario, &registry, options) {
            Err(d) => return report(&d),
            Ok(Ok((digest, events))) => {
                if !quiet {
                    eprintln!(
                        "determinism check: two runs agree on all {events} events, digest {digest}"
                    );
                }
            }
            Ok(Err(divergence)) => {
                eprintln!("determinism check FAILED: {divergence}");
                return EXIT_FAILURE;
            }
        }
    }
    nothing_to_clean.store(false, Ordering::SeqCst);
    let cannot_write = |e: &dyn std::fmt::Display| {
        eprintln!("{}: cannot write outputs: {e}", dir.display());
        EXIT_FAILURE
    };
    let set = match reports::OutputSet::begin(&dir) {
        Ok(s) => s,
        Err(e) => return cannot_write(&e),
    };
    let stream = match set.event_stream() {
        Ok(s) => s,
        Err(e) => return cannot_write(&e),
    };
    // Deleted pods' rows go to the output set as the run goes, so memory follows live pods.
    let retire_pods = match models::retired_pods::Retirement::create(
        set.staging(),
        reports::placement::write_pod_row,
        models::retired_pods::KEEP_RECENT_DELETIONS,
    ) {
        Ok(r) => r,
        Err(e) => return cannot_write(&e),
    };
    let control = RunControl {
        events: EventSink::Stream {
            stream,
            // The invariant checkers read the Events as they come.
            keep: options.check_invariants,
        },
        interrupt: Some(&interrupt),
        retire_pods: Some(retire_pods),
    };
    let bar = progress_bar(quiet);
    let outcome = run_with(&scenario, &registry, options, control, |now, end| {
        if let Some(bar) = &bar {
            let pos = if end.as_nanos() == 0 {
                1000
            } else {
                (u128::from(now.as_nanos()) * 1000 / u128::from(end.as_nanos())) as u64
            };
            bar.set_position(pos);
            bar.set_message(format!("{now} / {end}"));
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut outcome = match outcome {
        Ok(o) => o,
        Err(d) => return report(&d),
    };
    if outcome.interrupted {
        drop(set);
        eprintln!(
            "interrupted at {}: no outputs written; {} is as it was",
            outcome.simulation.now(),
            dir.display()
        );
        return EXIT_INTERRUPTED;
    }
    let total_events = match outcome.simulation.world_mut().api.events.stream_mut() {
        Some(stream) => match stream.finish() {
            Ok(()) => stream.written(),
            Err(e) => return cannot_write(&e),
        },
        None => 0,
    };
    let now = outcome.simulation.now();
    // The retired pods' times, read back as the chart is drawn (not held in memory).
    let retired_times = match outcome.simulation.world_mut().api.store.retirement() {
        Some(retired) => match retired
            .finish()
            .and_then(|()| models::retired_pods::read_times(retired.times_path()))
        {
            Ok(times) => Some(times),
            Err(e) => return cannot_write(&e),
        },
        None => None,
    };
    let mut times_error = None;
    let retired_times = retired_times.into_iter().flatten().map_while(|t| match t {
        Ok(t) => Some(t),
        Err(e) => {
            times_error = Some(e);
            None
        }
    });
    let world = outcome.simulation.world();
    let pods_over_time = models::summary::pods_over_time_with(world, now, 200, retired_times);
    if let Some(e) = times_error {
        return cannot_write(&e);
    }
    let world = outcome.simulation.world();
    if let Err(e) = reports::write_run_outputs(
        set.staging(),
        &outcome.summary,
        total_events,
        &world.samples,
        &pods_over_time,
        &reports::plot::run_markers(world),
        world.metrics.as_ref(),
    ) {
        return cannot_write(&e);
    }
    if let Err(e) =
        reports::write_run_tables(set.staging(), &world.api.store, outcome.simulation.now())
            .and_then(|()| reports::write_report(set.staging()))
    {
        return cannot_write(&e);
    }
    if interrupted() {
        drop(set);
        eprintln!(
            "interrupted: no outputs written; {} is as it was",
            dir.display()
        );
        return EXIT_INTERRUPTED;
    }
    let written = match set.commit() {
        Ok(w) => w,
        Err(e) => return cannot_write(&e),
    };
    if output != Format::Text {
        match structured(&outcome.summary, output) {
            Ok(text) => print!("{text}"),
            Err(e) => {
                eprintln!("cannot render the summary: {e}");
                return EXIT_FAILURE;
            }
        }
    } else if !quiet {
        let mut stdout = std::io::stdout().lock();
        let _ = write!(stdout, "{}", reports::summary_table(&outcome.summary));
        let _ = writeln!(
            stdout,
            "\nwrote {}",
            written
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !quiet {
        eprintln!(
            "kubesim: ran in {}",
            crate::usage::describe(stopwatch.elapsed(), outcome.summary.events_processed)
        );
    }
    if let Some(checkers) = &outcome.simulation.world().checkers {
        if checkers.violations.is_empty() {
            if !quiet && output == Format::Text {
                println!(
                    "invariants: held after every one of {} events ({} evictions checked against their budgets)",
                    checkers.checks, checkers.evictions_checked
                );
            }
        } else {
            for v in &checkers.violations {
                eprintln!("invariant {} broken at {}: {}", v.invariant, v.at, v.detail);
            }
            eprintln!(
                "{} invariant violation(s); seed {} reproduces them",
                checkers.violations.len(),
                outcome.summary.seed
            );
            return EXIT_ASSERTION;
        }
    }
    let missed: Vec<_> = outcome
        .summary
        .expectations
        .iter()
        .filter(|e| !e.met)
        .collect();
    if fail_on_expect && !missed.is_empty() {
        for e in &missed {
            eprintln!(
                "expectation missed: {} after {} within {}",
                e.condition, e.after, e.within
            );
        }
        eprintln!(
            "{} expectation(s) missed; seed {} reproduces them",
            missed.len(),
            outcome.summary.seed
        );
        return EXIT_ASSERTION;
    }
    0
}

/// What `explain` tells the life of.
enum Subject {
    Pod(String),
    Node(String),
}

/// How many close names a "no such pod/node" message suggests.
const SUGGESTIONS: usize = 5;

/// Creates the output folder and checks a file can be created in it.
fn check_writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".kubesim-write-check-{}", std::process::id()));
    std::fs::File::create(&probe)?;
    std::fs::remove_file(&probe)
}

fn cmd_explain(path: &Path, options: &RunOptions, subject: &Subject, format: Format) -> i32 {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let registry = models::policies::registry();
    let outcome = match run(&scenario, &registry, options, |_, _| {}) {
        Ok(o) => o,
        Err(d) => return report(&d),
    };
    let end = outcome.simulation.now();
    let cluster = outcome.simulation.world();
    let store = &cluster.api.store;
    let events = &cluster.api.events;
    let rendered = match subject {
        Subject::Pod(want) => {
            let Some(id) = reports::life::find_pod(store, want) else {
                let names = store.kept_pods().map(|p| p.pod.name.as_str());
                no_such(path, "pod", want, names, store.pods.len());
                return EXIT_BAD_INPUT;
            };
            let scheduling = cluster
                .explanation()
                .filter(|(attempt, _)| attempt.pod == id)
                .map(|(attempt, _)| reports::explain_report(attempt, store));
            let explanation = reports::PodExplanation {
                scheduling,
                life: reports::pod_life(store, events, id, end),
            };
            match format {
                Format::Text => Ok(explanation.to_text()),
                _ => structured(&explanation, format),
            }
        }
        Subject::Node(want) => {
            let Some(id) = store.node_id(want) else {
                let names = store.nodes.iter().map(|n| n.name());
                no_such(path, "node", want, names, store.nodes.len());
                return EXIT_BAD_INPUT;
            };
            let life = reports::node_life(store, events, id, end);
            match format {
                Format::Text => Ok(life.to_text()),
                _ => structured(&life, format),
            }
        }
    };
    match rendered {
        Ok(s) => print!("{s}"),
        Err(e) => {
            eprintln!("cannot render the answer: {e}");
            return EXIT_FAILURE;
        }
    }
    0
}

/// `scenario.yaml: no pod named "x" in this run (did you mean …?)`, with some names that exist
/// when none is close.
fn no_such<'a>(
    path: &Path,
    kind: &str,
    want: &str,
    names: impl Iterator<Item = &'a str> + Clone,
    count: usize,
) {
    let close = reports::life::similar_names(want, names.clone(), SUGGESTIONS);
    let hint = if !close.is_empty() {
        let quoted: Vec<String> = close.iter().map(|n| format!("{n:?}")).collect();
        format!(" (did you mean {}?)", quoted.join(", "))
    } else if count == 0 {
        format!("; the run has no {kind}s")
    } else {
        let mut some: Vec<&str> = names.collect();
        some.sort_unstable();
        some.dedup();
        let more = if some.len() > SUGGESTIONS {
            ", …"
        } else {
            ""
        };
        some.truncate(SUGGESTIONS);
        format!("; {kind}s include: {}{more}", some.join(", "))
    };
    eprintln!(
        "{}: no {kind} named {want:?} in this run{hint}",
        path.display()
    );
}

fn cmd_compare(
    path: &Path,
    seeds: Option<u64>,
    out: Option<PathBuf>,
    jobs: Option<u16>,
    output: Format,
) -> i32 {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let registry = models::policies::registry();
    let seeds = seeds.map(|n| {
        (0..n.max(1))
            .map(|i| scenario.seed.wrapping_add(i))
            .collect()
    });
    let workers = jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let bar = progress_bar(false);
    if let Some(bar) = &bar {
        bar.set_message("runs".to_string());
    }
    let outcome = models::run::compare(&scenario, &registry, seeds, workers, |done, total| {
        if let Some(bar) = &bar {
            bar.set_position((done * 1000 / total.max(1)) as u64);
            bar.set_message(format!("{done}/{total} runs"));
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let outcome = match outcome {
        Ok(o) => o,
        Err(d) => return report(&d),
    };
    let report = reports::comparison_report(&outcome.seeds, &outcome.variants);
    match output {
        Format::Text => print!("{}", report.to_text()),
        _ => match structured(&report, output) {
            Ok(text) => print!("{text}"),
            Err(e) => {
                eprintln!("cannot render the comparison: {e}");
                return EXIT_FAILURE;
            }
        },
    }
    let dir = out.unwrap_or_else(|| Path::new("out").join(&scenario.name));
    let json = match serde_json::to_vec_pretty(&report) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("cannot render JSON: {e}");
            return EXIT_FAILURE;
        }
    };
    for (name, bytes) in [
        ("compare.csv", report.to_csv().into_bytes()),
        ("compare.json", json),
        (
            "compare.html",
            reports::comparison_html(&scenario.name, &report).into_bytes(),
        ),
    ] {
        if let Err(e) = reports::write_atomic(&dir.join(name), &bytes) {
            eprintln!("{}: cannot write {name}: {e}", dir.display());
            return EXIT_FAILURE;
        }
    }
    let wrote = format!(
        "wrote {}, {} and {}",
        dir.join("compare.csv").display(),
        dir.join("compare.json").display(),
        dir.join("compare.html").display()
    );
    if output == Format::Text {
        println!("\n{wrote}");
    } else {
        eprintln!("{wrote}");
    }
    0
}

/// Reads a JSON-lines output of the run in `outdir`; a missing folder or file is bad input.
fn read_rows<T: for<'de> serde::Deserialize<'de>>(
    outdir: &Path,
    name: &str,
) -> Result<Vec<T>, i32> {
    let path = outdir.join(name);
    let file = std::fs::File::open(&path).map_err(|e| {
        eprintln!(
            "{}: cannot read: {e} (is {} a folder written by `kubesim run`?)",
            path.display(),
            outdir.display()
        );
        EXIT_BAD_INPUT
    })?;
    reports::placement::read_jsonl(std::io::BufReader::new(file)).map_err(|e| {
        eprintln!("{}:{e}", path.display());
        EXIT_BAD_INPUT
    })
}

/// The run's length in seconds, from `summary.json`.
fn run_end_seconds(outdir: &Path) -> Result<f64, i32> {
    let path = outdir.join("summary.json");
    let summary: serde_json::Value = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|e| {
            eprintln!(
                "{}: cannot read: {e} (is {} a folder written by `kubesim run`?)",
                path.display(),
                outdir.display()
            );
            EXIT_BAD_INPUT
        })?;
    summary["simulatedSeconds"].as_f64().ok_or_else(|| {
        eprintln!("{}: no simulatedSeconds", path.display());
        EXIT_BAD_INPUT
    })
}

fn cmd_get(
    resource: Resource,
    outdir: &Path,
    output: Option<GetFormat>,
    at: Option<SimDuration>,
    namespaces: &reports::placement::Namespaces,
) -> i32 {
    use reports::placement as pl;
    let end = match run_end_seconds(outdir) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let t = match at {
        None => end,
        Some(at) if at.as_secs_f64() <= end + 1e-9 => at.as_secs_f64(),
        Some(at) => {
            eprintln!(
                "command line: --at {at} is after the end of the run ({}); choose a time up to it",
                SimDuration::from_nanos((end * 1e9).round() as u64)
            );
            return EXIT_BAD_INPUT;
        }
    };
    let wide = output == Some(GetFormat::Wide);
    let structured_format = match output {
        Some(GetFormat::Json) => Some(Format::Json),
        Some(GetFormat::Yaml) => Some(Format::Yaml),
        _ => None,
    };
    let text = match resource {
        Resource::Pods => {
            let pods: Vec<pl::PodRow> = match read_rows(outdir, "pods.jsonl") {
                Ok(p) => p,
                Err(code) => return code,
            };
            let shown = pl::pods_at(&pods, t, namespaces);
            match structured_format {
                Some(f) => structured(&shown, f),
                None if shown.is_empty() => {
                    let ns = match namespaces {
                        pl::Namespaces::One(ns) => format!(" in {ns} namespace"),
                        pl::Namespaces::All => String::new(),
                    };
                    eprintln!("No resources found{ns}.");
                    return 0;
                }
                None => Ok(pl::pods_table(&shown, t, wide, namespaces)),
            }
        }
        Resource::Nodes => {
            let nodes: Vec<pl::NodeRow> = match read_rows(outdir, "nodes.jsonl") {
                Ok(n) => n,
                Err(code) => return code,
            };
            let shown = pl::nodes_at(&nodes, t);
            match structured_format {
                Some(f) => structured(&shown, f),
                None if shown.is_empty() => {
                    eprintln!("No resources found");
                    return 0;
                }
                None => Ok(pl::nodes_table(&shown, t, wide)),
            }
        }
    };
    match text {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("cannot render the rows: {e}");
            EXIT_FAILURE
        }
    }
}

/// A writer into a shared buffer: the event stream of a scenario run for `events`, read
/// back once the run is over.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut b) => {
                b.extend_from_slice(buf);
                Ok(buf.len())
            }
            Err(_) => Err(std::io::Error::other("event buffer poisoned")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn cmd_events(
    source: &Path,
    filter: &reports::event_log::Filter,
    output: Format,
    options: &RunOptions,
) -> i32 {
    use reports::event_log as log;
    let mut events = Vec::new();
    let (end, namespaces) = if source.is_dir() {
        let end = match run_end_seconds(source) {
            Ok(e) => log::end_from_seconds(e),
            Err(code) => return code,
        };
        let pods: Vec<reports::placement::PodRow> = match read_rows(source, "pods.jsonl") {
            Ok(p) => p,
            Err(code) => return code,
        };
        let namespaces =
            log::Namespaces::of_pods(pods.iter().map(|p| (p.namespace.as_str(), p.name.as_str())));
        let path = source.join("events.jsonl");
        let read = std::fs::File::open(&path).and_then(|f| {
            log::for_each_line(std::io::BufReader::new(f), |e| {
                if filter.keeps(&e) {
                    events.push(e);
                }
            })
        });
        if let Err(e) = read {
            eprintln!("{}: {e}", path.display());
            return EXIT_BAD_INPUT;
        }
        (end, namespaces)
    } else {
        let scenario = match load(source) {
            Ok(s) => s,
            Err(code) => return code,
        };
        let buffer = SharedBuffer::default();
        let control = RunControl {
            events: EventSink::Stream {
                stream: models::events::EventStream::new(
                    Box::new(buffer.clone()),
                    Box::new(std::io::sink()),
                ),
                keep: false,
            },
            interrupt: None,
            retire_pods: None,
        };
        let registry = models::policies::registry();
        let mut outcome = match run_with(&scenario, &registry, options, control, |_, _| {}) {
            Ok(o) => o,
            Err(d) => return report(&d),
        };
        if let Some(stream) = outcome.simulation.world_mut().api.events.stream_mut()
            && let Err(e) = stream.finish()
        {
            eprintln!("cannot collect the events: {e}");
            return EXIT_FAILURE;
        }
        let store = &outcome.simulation.world().api.store;
        let namespaces = log::Namespaces::of_pods(
            store
                .kept_pods()
                .map(|p| (p.pod.namespace.as_str(), p.pod.name.as_str())),
        );
        let bytes = buffer.0.lock().map(|b| b.clone()).unwrap_or_default();
        if let Err(e) = log::for_each_line(bytes.as_slice(), |e| {
            if filter.keeps(&e) {
                events.push(e);
            }
        }) {
            eprintln!("cannot read the events back: {e}");
            return EXIT_FAILURE;
        }
        (outcome.simulation.now(), namespaces)
    };
    let text = match output {
        Format::Text if events.is_empty() => {
            eprintln!("No events found.");
            return 0;
        }
        Format::Text => Ok(log::table(&events, end, &namespaces)),
        _ => structured(&events, output),
    };
    match text {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("cannot render the events: {e}");
            EXIT_FAILURE
        }
    }
}

fn cmd_report(outdir: &Path) -> i32 {
    let html = match reports::render_report(outdir) {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "{e} (is {} a folder written by `kubesim run`?)",
                outdir.display()
            );
            return EXIT_BAD_INPUT;
        }
    };
    let path = outdir.join("report.html");
    if let Err(e) = reports::write_atomic(&path, html.as_bytes()) {
        eprintln!("{}: cannot write: {e}", path.display());
        return EXIT_FAILURE;
    }
    println!("wrote {}", path.display());
    0
}
