//! A mutation fuzzer for the loaders that builds with the stable toolchain (cargo-fuzz needs
//! nightly): it mutates the repository's own scenarios, manifests and a slice of the openb
//! trace, and checks the contract of `kubesim_fuzz::Target::check` on each input, plus two
//! limits: no input may take over 5 s, and no allocation may take the process over 1 GiB.
//!
//! `fuzz-stable --seconds 3600 [--target all|scenario|manifest|trace] [--seed N]`
//!
//! Findings go to `fuzz/artifacts/<target>-<kind>-<hash>/`, laid out as regression cases; inputs that fail (or run) in a way not seen
//! before go to `fuzz/corpus/<target>/`, and are also mutated further.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kubesim_fuzz::{Outcome, Target};

const ALLOCATION_CAP: usize = 1 << 30;
const SLOW: Duration = Duration::from_secs(5);

/// Counts live heap bytes and stops the process past the cap (the input is still in the
/// target's scratch file; `fuzz/run` keeps it).
struct Capped;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size() > ALLOCATION_CAP {
            eprintln!("FINDING: live heap over 1 GiB (allocating {} bytes)", layout.size());
            std::process::abort();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

/// xorshift64*: the fuzzer's own stream, seeded from the command line.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// Pieces of YAML, Kubernetes and CSV that break parsers and converters.
const TOKENS: &[&str] = &[
    "[", "]", "{", "}", ": ", "- ", "\n", "\n  ", "\t", "\"", "'", "&a ", "*a", "<<: *a\n", "!!binary ",
    "!!str ", "? ", "|\n", ">-\n", "~", "null", ".inf", "-.inf", ".nan", "1e309", "-1", "0",
    "18446744073709551615", "9223372036854775808", "-9223372036854775809", "999999999Ei", "1Ei",
    "0.0001m", "1e-9", "0x7f", "1_000", "\u{feff}", "\u{0}", "é", "replicas: ", "count: ",
    "cpu: ", "memory: ", "pods: ", "duration: ", "1000000d", "at: ", "nodeSelector: ",
    "tolerations: ", "affinity: ", "topologySpreadConstraints: ", "kind: ", "apiVersion: ",
    "metadata: ", "spec: ", "matchLabels: ", ",", ",,", "\r\n", "\"\"", "---\n", "...\n",
];

fn mutate(rng: &mut Rng, input: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        let at = rng.below(len + 1);
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 | 2 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                out.splice(at..at, t.iter().copied());
            }
            3 if len > 0 => {
                let end = (at + 1 + rng.below(64)).min(len);
                out.drain(at.min(len - 1)..end);
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(256)).min(len);
                let piece = out[start..end].to_vec();
                let most = if rng.below(8) == 0 { 2000 } else { 4 };
                let times = 1 + rng.below(most);
                for _ in 0..times {
                    out.splice(at..at, piece.iter().copied());
                }
            }
            5 if !pool.is_empty() => {
                let other = &pool[rng.below(pool.len())];
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + 1 + rng.below(512)).min(other.len());
                    out.splice(at..at, other[start..end].iter().copied());
                }
            }
            6 => {
                // A digit run replaced by an extreme number.
                if let Some(i) = (at..len).find(|&i| out[i].is_ascii_digit()) {
                    let mut j = i;
                    while j < len && out[j].is_ascii_digit() {
                        j += 1;
                    }
                    let t = ["0", "-1", "4294967296", "18446744073709551616", "1e308"]
                        [rng.below(5)];
                    out.splice(i..j, t.bytes());
                }
            }
            _ => {
                let b = b"[{:-\n \"'&*!#%@`|>,"[rng.below(18)];
                out.insert(at.min(out.len()), b);
            }
        }
    }
    out.truncate(4 << 20);
    out
}

fn hash(bytes: &[u8]) -> String {
    // FNV-1a: a stable file name for an input.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A finding, laid out as a regression case (`tests/fixtures/fuzz/<name>/scenario.yaml`).
fn keep_finding(dir: &Path, target: Target, prefix: &str, bytes: &[u8]) {
    let case = dir.join(format!("{}-{prefix}{}", target.name(), hash(bytes)));
    let _ = std::fs::create_dir_all(&case);
    target.lay_out(&case, bytes);
}

fn keep(dir: &Path, prefix: &str, bytes: &[u8]) {
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(dir.join(format!("{prefix}{}", hash(bytes))), bytes);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: u64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 = arg("--seed").and_then(|s| s.parse().ok()).unwrap_or(1) | 1;
    let root = PathBuf::from(arg("--root").unwrap_or_else(|| "..".into()));
    let targets: Vec<Target> = match arg("--target").as_deref() {
        None | Some("all") => Target::ALL.to_vec(),
        Some(name) => Target::ALL.into_iter().filter(|t| t.name() == name).collect(),
    };
    if targets.is_empty() {
        eprintln!("--target must be one of all, scenario, manifest, trace");
        std::process::exit(2);
    }
    // Panics are findings, reported below; the default hook's backtrace noise is not needed.
    std::panic::set_hook(Box::new(|info| eprintln!("FINDING: panic: {info}")));
    let here = root.join("fuzz");
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let share = Duration::from_secs(seconds) / targets.len() as u32;
    let (mut runs, mut findings) = (0u64, 0u64);
    for (k, target) in targets.iter().enumerate() {
        let mut pool = target.seeds(&root);
        let corpus = here.join("corpus").join(target.name());
        if let Ok(it) = std::fs::read_dir(&corpus) {
            let mut kept: Vec<PathBuf> = it.filter_map(|e| e.ok().map(|e| e.path())).collect();
            kept.sort();
            pool.extend(kept.iter().filter_map(|p| std::fs::read(p).ok()));
        }
        if pool.is_empty() {
            pool.push(Vec::new());
        }
        let mut seen: BTreeSet<Outcome> = BTreeSet::new();
        let until = (deadline - share * (targets.len() - 1 - k) as u32).min(deadline);
        while Instant::now() < until {
            let parent = &pool[rng.below(pool.len())];
            let input = mutate(&mut rng, parent, &pool);
            let started = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| target.check(&input)));
            let took = started.elapsed();
            runs += 1;
            match outcome {
                Err(_) => {
                    findings += 1;
                    keep_finding(&here.join("artifacts"), *target, "crash-", &input);
                }
                Ok(_) if took > SLOW => {
                    findings += 1;
                    eprintln!("FINDING: {} input took {took:?}", target.name());
                    keep_finding(&here.join("artifacts"), *target, "slow-", &input);
                }
                Ok(o) => {
                    if seen.insert(o) {
                        keep(&corpus, "", &input);
                        pool.push(input);
                    }
                }
            }
        }
        eprintln!(
            "{}: {} distinct outcomes, pool {}",
            target.name(),
            seen.len(),
            pool.len()
        );
    }
    println!("{runs} inputs, {findings} findings");
    if findings > 0 {
        std::process::exit(1);
    }
}
