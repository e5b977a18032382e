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
    /// Run a scenario and write summary.json, events.jsonl and events.txt.
    Run {
        scenario: PathBuf,
        /// Master seed (overrides the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated time to run for, e.g. 90s, 2h, 7d (overrides the scenario's `duration`).
        #[arg(long, value_parser = parse_duration)]
        until: Option<SimDuration>,
        /// Output folder (default: out/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Stop after this many events.
        #[arg(long)]
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
    },
    /// Run the scenario's `compare:` variants on the same seeds and compare them side by side.
    Compare {
        scenario: PathBuf,
        /// Number of seeds, 1 to 1000 (the scenario's seed and the ones after it); overrides
        /// `compare.seeds`.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000))]
        seeds: Option<u64>,
        /// Output folder for compare.json and compare.csv (default: out/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Parallel runs (default: the number of CPUs). Results do not depend on it.
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Validate a scenario and the manifests it uses without running it.
    Check { scenario: PathBuf },
    /// A pod's or a node's whole life in the run, in time order, with a summary; for a pod,
    /// also why it is where it is (or pending): every node's filter verdict and scores.
    /// The group makes `--pod` and `--node` exclusive; "neither" is reported by `main`, as
    /// clap's own message for a missing group lists the flags on lines a one-line error drops.
    #[command(group(ArgGroup::new("subject").multiple(false).args(["pod", "node"])))]
    Explain {
        scenario: PathBuf,
        /// Pod name (`name` or `namespace/name`), as it appears in the event log.
        #[arg(long)]
        pod: Option<String>,
        /// Node name: its Ready transitions, faults, evictions, pods and allocation.
        #[arg(long)]
        node: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, value_parser = parse_duration)]
        until: Option<SimDuration>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
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
        } => {
            let options = RunOptions {
                seed,
                until,
                max_events,
                explain_pod: None,
                check_invariants,
            };
            cmd_run(
                &scenario,
                &options,
                out,
                check_determinism,
                fail_on_expect,
                quiet,
            )
        }
        Command::Check { scenario } => cmd_check(&scenario),
        Command::Compare {
            scenario,
            seeds,
            out,
            jobs,
        } => cmd_compare(&scenario, seeds, out, jobs),
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

fn cmd_check(path: &Path) -> i32 {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Err(d) = models::run::build_scheduler(&scenario, &models::policies::registry()) {
        return report(&d);
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
    let control = RunControl {
        events: EventSink::Stream {
            stream,
            // The invariant checkers read the Events as they come.
            keep: options.check_invariants,
        },
        interrupt: Some(&interrupt),
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
    let world = outcome.simulation.world();
    if let Err(e) = reports::write_run_outputs(
        set.staging(),
        &outcome.summary,
        total_events,
        &world.samples,
        &models::summary::pods_over_time(world, outcome.simulation.now(), 200),
        &reports::plot::run_markers(world),
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
    if !quiet {
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
            if !quiet {
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
                let names = store.pods.iter().map(|p| p.pod.name.as_str());
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
                Format::Json => serde_json::to_string_pretty(&explanation).map(|s| s + "\n"),
                Format::Text => Ok(explanation.to_text()),
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
                Format::Json => serde_json::to_string_pretty(&life).map(|s| s + "\n"),
                Format::Text => Ok(life.to_text()),
            }
        }
    };
    match rendered {
        Ok(s) => print!("{s}"),
        Err(e) => {
            eprintln!("cannot render JSON: {e}");
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

fn cmd_compare(path: &Path, seeds: Option<u64>, out: Option<PathBuf>, jobs: Option<usize>) -> i32 {
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
    let workers =
        jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
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
    print!("{}", report.to_text());
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
    ] {
        if let Err(e) = reports::write_atomic(&dir.join(name), &bytes) {
            eprintln!("{}: cannot write {name}: {e}", dir.display());
            return EXIT_FAILURE;
        }
    }
    println!("\nwrote {}", dir.join("compare.csv").display());
    0
}
