//! `cargo xtask bench [core|http] [--check] [--seconds N] [--repeats N] [--framework NAME]`:
//! criterion benches of the core (per algorithm, and against the token's scope count), HTTP
//! throughput and server CPU per request of every framework bare vs behind our middleware, of
//! the peers beside their own bare frameworks (axum-jwt-auth, jwt-authorizer, actix-web-httpauth
//! from `xtask/peers`, and on axum a hand-rolled `jsonwebtoken::decode` middleware), of the
//! cache on when every request carries a new token, and the token cache's measured memory, each
//! checked against [`TARGETS`] and written to BENCHMARKS.md.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::{root, target_dir};

mod peers;
mod tokens;

use tokens::{Cursor, TokenPool};

/// Which side of its bound a measured figure must lie on.
#[derive(Debug, Clone, Copy)]
enum Bound {
    AtMost(f64),
    AtLeast(f64),
}

impl Bound {
    fn value(self) -> f64 {
        match self {
            Self::AtMost(v) | Self::AtLeast(v) => v,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Self::AtMost(_) => "≤",
            Self::AtLeast(_) => "≥",
        }
    }

    /// Whether `measured` meets `bound` (this bound's direction); never for a non-finite figure.
    fn holds(self, measured: f64, bound: f64) -> bool {
        measured.is_finite()
            && match self {
                Self::AtMost(_) => measured <= bound,
                Self::AtLeast(_) => measured >= bound,
            }
    }
}

/// How a target's figures print.
#[derive(Debug, Clone, Copy)]
enum Unit {
    /// A time ratio, `0.23×`.
    Ratio,
    /// A throughput fraction, printed as a percentage.
    Percent,
    Bytes,
    KiB,
    /// A count per operation, `2.0`.
    Count,
}

impl Unit {
    fn show(self, v: f64) -> String {
        match self {
            Self::Ratio => format!("{v:.3}×"),
            Self::Percent => format!("{:.1} %", v * 100.0),
            Self::Bytes => format!("{v:.0} B"),
            Self::KiB => format!("{v:.0} KiB"),
            Self::Count => format!("{v:.1}"),
        }
    }
}

/// One performance target.
#[derive(Debug)]
struct Target {
    id: &'static str,
    /// What is measured.
    what: &'static str,
    bound: Bound,
    unit: Unit,
}

const CORE_HS256_CACHE_OFF: Target = Target {
    id: "core-hs256-cache-off",
    what: "HS256 verify + claims + route + scopes, cache off, time ÷ `jsonwebtoken::decode` of the same token",
    bound: Bound::AtMost(0.60),
    unit: Unit::Ratio,
};
/// The signature is the floor of an asymmetric decision (and of `decode`): BENCHMARKS.md prints
/// ours above aws-lc's verification alone, in µs.
const CORE_ASYM_CACHE_OFF: Target = Target {
    id: "core-asym-cache-off",
    what: "RS256, ES256 and EdDSA: the same, cache off, time ÷ `jsonwebtoken::decode` of the same token",
    bound: Bound::AtMost(0.95),
    unit: Unit::Ratio,
};
const CORE_CACHE_HIT: Target = Target {
    id: "core-cache-hit",
    what: "the same on a token-cache hit, time ÷ `jsonwebtoken::decode` (every alg)",
    bound: Bound::AtMost(0.25),
    unit: Unit::Ratio,
};
const CORE_SCOPES_CACHE_OFF: Target = Target {
    id: "core-scopes-cache-off",
    what: "HS256, one route, tokens with 1, 25 and 100 scopes, cache off, time ÷ `jsonwebtoken::decode` of the same token",
    bound: Bound::AtMost(0.60),
    unit: Unit::Ratio,
};
const CORE_SCOPES_HIT_GROWTH: Target = Target {
    id: "core-scopes-hit-growth",
    what: "HS256, one route, cache hit with a 100-scope token ÷ cache hit with a 1-scope token",
    bound: Bound::AtMost(1.25),
    unit: Unit::Ratio,
};
const ALLOC_HIT: Target = Target {
    id: "alloc-hit",
    what: "heap allocations per decision on a token-cache hit (HS256, one scope; counted by a global allocator)",
    bound: Bound::AtMost(0.0),
    unit: Unit::Count,
};
const ALLOC_COLD: Target = Target {
    id: "alloc-cold",
    what: "heap allocations per decision with the cache off (the same token: verify, claims, authorize)",
    bound: Bound::AtMost(8.0),
    unit: Unit::Count,
};
const INTROSPECTION_HIT: Target = Target {
    id: "introspection-hit",
    what: "a decision on a token-cache hit for an introspected (opaque) token ÷ the same for an HS256 JWT with the same claims",
    bound: Bound::AtMost(1.5),
    unit: Unit::Ratio,
};
const INTROSPECTION_CALLS: Target = Target {
    id: "introspection-calls",
    what: "introspection calls the authorization server gets for 1,000 requests of one token (TTL 60 s)",
    bound: Bound::AtMost(1.0),
    unit: Unit::Count,
};
const HTTP_CACHE_ON: Target = Target {
    id: "http-cache-on",
    what: "req/s behind the middleware with the cache on ÷ bare req/s (every framework, HS256 and RS256)",
    bound: Bound::AtLeast(0.90),
    unit: Unit::Percent,
};
const HTTP_DISTINCT_TOKENS: Target = Target {
    id: "http-distinct-tokens",
    what: "req/s with the cache on when every request carries a token the server never saw ÷ req/s with the cache off, the same tokens, paired (every framework, HS256)",
    bound: Bound::AtLeast(1.0),
    unit: Unit::Percent,
};
const PEERS_AHEAD: Target = Target {
    id: "peers-ahead",
    what: "per framework with a peer, cache on and cache off: our req/s ÷ bare ÷ the best peer's req/s ÷ its own bare, the lower of HS256 and RS256",
    bound: Bound::AtLeast(1.0),
    unit: Unit::Ratio,
};
/// A typical token's entry in 1 KiB: a third of the cache's byte budget per entry at its
/// default limits (32 MiB / 10 000 = 3 355 B), so a full cache of such tokens stays well inside
/// its byte limit.
const MEMORY_PER_ENTRY: Target = Target {
    id: "memory-per-entry",
    what: "measured RSS growth per entry the token cache holds, after 100 000 distinct HS256 tokens (default limits)",
    bound: Bound::AtMost(1024.0),
    unit: Unit::Bytes,
};
/// The bound is the allowance on top of the cache's configured byte limit (runtime, allocator
/// slack from 100 000 mint/verify rounds, the cache's table).
const MEMORY_TOTAL: Target = Target {
    id: "memory-total",
    what: "measured RSS growth in the same run, against the cache's byte limit + this allowance",
    bound: Bound::AtMost(8192.0),
    unit: Unit::KiB,
};

/// Every performance target the bench checks: the one place their values are written down (the
/// printed report, BENCHMARKS.md and bench-server's memory bounds all come from here).
const TARGETS: [&Target; 14] = [
    &CORE_HS256_CACHE_OFF,
    &CORE_ASYM_CACHE_OFF,
    &CORE_CACHE_HIT,
    &CORE_SCOPES_CACHE_OFF,
    &CORE_SCOPES_HIT_GROWTH,
    &ALLOC_HIT,
    &ALLOC_COLD,
    &INTROSPECTION_HIT,
    &INTROSPECTION_CALLS,
    &HTTP_CACHE_ON,
    &HTTP_DISTINCT_TOKENS,
    &PEERS_AHEAD,
    &MEMORY_PER_ENTRY,
    &MEMORY_TOTAL,
];

/// A measured figure and the bound it is held to.
#[derive(Debug)]
struct Figure {
    measured: f64,
    /// Usually the target's own bound; for `memory-total` the cache limit plus the allowance.
    bound: f64,
    /// The raw numbers behind `measured`.
    detail: String,
}

/// One target checked for one subject (an alg, a framework and mode, …).
#[derive(Debug)]
struct Check {
    target: &'static Target,
    subject: String,
    /// `Err`: why it could not be measured.
    figure: Result<Figure, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Missed,
    NotMeasured,
}

impl Check {
    fn new(target: &'static Target, subject: impl Into<String>, figure: Figure) -> Self {
        Self {
            target,
            subject: subject.into(),
            figure: Ok(figure),
        }
    }

    fn unmeasured(target: &'static Target, subject: impl Into<String>, why: String) -> Self {
        Self {
            target,
            subject: subject.into(),
            figure: Err(why),
        }
    }

    fn verdict(&self) -> Verdict {
        match &self.figure {
            Err(_) => Verdict::NotMeasured,
            Ok(f) if !f.measured.is_finite() => Verdict::NotMeasured,
            Ok(f) if self.target.bound.holds(f.measured, f.bound) => Verdict::Ok,
            Ok(_) => Verdict::Missed,
        }
    }

    fn bound_text(&self) -> String {
        let t = self.target;
        let bound = match &self.figure {
            Ok(f) => f.bound,
            Err(_) => t.bound.value(),
        };
        format!("{} {}", t.bound.symbol(), t.unit.show(bound))
    }

    fn measured_text(&self) -> String {
        match &self.figure {
            Ok(f) if f.measured.is_finite() => {
                format!("{} ({})", self.target.unit.show(f.measured), f.detail)
            }
            Ok(f) => format!("no figure ({})", f.detail),
            Err(why) => format!("not measured: {why}"),
        }
    }

    fn line(&self) -> String {
        let verdict = match self.verdict() {
            Verdict::Ok => "ok",
            Verdict::Missed => "MISSED",
            Verdict::NotMeasured => "NOT MEASURED",
        };
        let subject = if self.subject.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.subject)
        };
        format!(
            "target {}{subject}: {} vs target {}: {verdict}",
            self.target.id,
            self.measured_text(),
            self.bound_text()
        )
    }
}

/// How `bench http` runs (from the command line).
#[derive(Debug, Clone)]
pub(crate) struct HttpPlan {
    /// Seconds of measured load per run (after [`WARM_UP_SECONDS`]).
    pub(crate) seconds: u32,
    /// Measured runs per (framework, mode), each paired with a bare run.
    pub(crate) repeats: u32,
    /// Only this framework (a quick look).
    pub(crate) framework: Option<String>,
}

/// wrk's warm-up before every measured run, on the same server.
const WARM_UP_SECONDS: u32 = 1;

/// One wrk measurement and the server's CPU time over it.
#[derive(Debug, Clone, Copy)]
struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Requests wrk completed ("N requests in …").
    requests: u64,
    /// Server CPU time (user + system, every thread) per request, in µs; NaN when unreadable.
    cpu_us: f64,
}

const FRAMEWORKS: [&str; 4] = ["axum", "actix", "poem", "warp"];
const BARE: &str = "bare";
const HAND_ROLLED: &str = "hand-rolled jsonwebtoken::decode HS256";
const HS256_CACHE_OFF: &str = "HS256 cache off";
const RS256_CACHE_OFF: &str = "RS256 cache off";
const DISTINCT_TOKENS: &str = "HS256 cache on, a new token every request";

/// What a mode's server is, and what it is measured beside.
#[derive(Debug, Clone, Copy)]
enum Subject {
    /// bench-server `--mode`, beside bench-server bare.
    Ours { mode: &'static str, no_cache: bool },
    /// bench-server `--mode hs256` with the token cache on, every request a token the server
    /// never saw (cache misses only), beside bench-server `--mode hs256 --no-cache` sent the same
    /// tokens: whether the cache costs anything when it never hits.
    DistinctTokens,
    /// `peer-server --peer --mode`, beside the same peer bare (its own framework version).
    Peer {
        peer: &'static str,
        mode: &'static str,
    },
}

/// A server to start: a binary and its arguments (`--port 0 --keys-dir` are added).
struct Launch<'a> {
    bin: &'a Path,
    args: Vec<&'a str>,
}

/// The binaries and token pool `bench http` runs with. `Err`: why that part is not measured.
struct Bins {
    bench_server: std::path::PathBuf,
    peer_server: Result<std::path::PathBuf, String>,
    pool: Result<TokenPool, String>,
}

impl Subject {
    /// What the mode's row is compared with, as the report names it.
    fn baseline(self) -> &'static str {
        match self {
            Self::Ours { .. } => BARE,
            Self::DistinctTokens => HS256_CACHE_OFF,
            Self::Peer { .. } => "the peer's framework, bare",
        }
    }

    /// The tested server, its baseline and the token pool both are sent from (else their
    /// `token` line).
    fn launches<'a>(
        self,
        framework: &'a str,
        bins: &'a Bins,
    ) -> Result<(Launch<'a>, Launch<'a>, Option<&'a TokenPool>), String> {
        let ours = |args: Vec<&'a str>| Launch {
            bin: &bins.bench_server,
            args: [vec!["--framework", framework], args].concat(),
        };
        Ok(match self {
            Self::Ours { mode, no_cache } => {
                let mut args = vec!["--mode", mode];
                if no_cache {
                    args.push("--no-cache");
                }
                (ours(args), ours(vec!["--mode", BARE]), None)
            }
            Self::DistinctTokens => (
                ours(vec!["--mode", "hs256"]),
                ours(vec!["--mode", "hs256", "--no-cache"]),
                Some(bins.pool.as_ref().map_err(Clone::clone)?),
            ),
            Self::Peer { peer, mode } => {
                let bin = bins.peer_server.as_ref().map_err(Clone::clone)?;
                let launch = |mode| Launch {
                    bin,
                    args: vec!["--peer", peer, "--mode", mode],
                };
                (launch(mode), launch(BARE), None)
            }
        })
    }
}

/// One measured configuration besides bare.
struct Mode {
    label: &'static str,
    subject: Subject,
    /// Only on this framework.
    only: Option<&'static str>,
    /// One of the `http-cache-on` targets: run `--repeats` times; the other rows are shown for
    /// comparison and run [`COMPARISON_REPEATS`] times.
    target: bool,
}

/// Runs of a row that is not a target (cache off, the hand-rolled baseline).
const COMPARISON_REPEATS: u32 = 3;

impl Mode {
    /// How many paired runs this mode gets.
    fn repeats(&self, repeats: u32) -> u32 {
        if self.target {
            repeats
        } else {
            repeats.min(COMPARISON_REPEATS)
        }
    }
}

const MODES: [Mode; 13] = [
    Mode {
        label: "HS256 cache on",
        subject: Subject::Ours {
            mode: "hs256",
            no_cache: false,
        },
        only: None,
        target: true,
    },
    Mode {
        label: HS256_CACHE_OFF,
        subject: Subject::Ours {
            mode: "hs256",
            no_cache: true,
        },
        only: None,
        target: false,
    },
    Mode {
        label: "RS256 cache on",
        subject: Subject::Ours {
            mode: "rs256",
            no_cache: false,
        },
        only: None,
        target: true,
    },
    Mode {
        label: RS256_CACHE_OFF,
        subject: Subject::Ours {
            mode: "rs256",
            no_cache: true,
        },
        only: None,
        target: false,
    },
    Mode {
        label: DISTINCT_TOKENS,
        subject: Subject::DistinctTokens,
        only: None,
        target: false,
    },
    // The baseline a user would write themselves: not one of the cache-on targets.
    Mode {
        label: HAND_ROLLED,
        subject: Subject::Ours {
            mode: "handrolled",
            no_cache: false,
        },
        only: Some("axum"),
        target: false,
    },
    // warp's cache-on rows run `jwt_warp::serve` (the service decides before the filters);
    // this row is the filter alone under `warp::serve`, for comparison.
    Mode {
        label: "HS256 cache on, filters alone (warp::serve)",
        subject: Subject::Ours {
            mode: "hs256-filters",
            no_cache: false,
        },
        only: Some("warp"),
        target: false,
    },
    peer_mode("peer axum-jwt-auth HS256", "axum-jwt-auth", "axum", "hs256"),
    peer_mode("peer axum-jwt-auth RS256", "axum-jwt-auth", "axum", "rs256"),
    peer_mode(
        "peer jwt-authorizer HS256",
        "jwt-authorizer",
        "axum",
        "hs256",
    ),
    peer_mode(
        "peer jwt-authorizer RS256",
        "jwt-authorizer",
        "axum",
        "rs256",
    ),
    peer_mode(
        "peer actix-web-httpauth HS256",
        "actix-web-httpauth",
        "actix",
        "hs256",
    ),
    peer_mode(
        "peer actix-web-httpauth RS256",
        "actix-web-httpauth",
        "actix",
        "rs256",
    ),
];

/// A peer's row, on `framework`'s rows.
const fn peer_mode(
    label: &'static str,
    peer: &'static str,
    framework: &'static str,
    mode: &'static str,
) -> Mode {
    Mode {
        label,
        subject: Subject::Peer { peer, mode },
        only: Some(framework),
        target: false,
    }
}

fn modes_of(framework: &str) -> impl Iterator<Item = &'static Mode> {
    MODES
        .iter()
        .filter(move |m| m.only.is_none_or(|only| only == framework))
}

/// The median of the finite values (the mean of the middle two for an even count); NaN when
/// there is none.
fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Every repeat of one (framework, mode).
#[derive(Debug, Clone)]
struct Row {
    label: String,
    /// What it was measured beside ([`Subject::baseline`]).
    baseline: &'static str,
    loads: Vec<Load>,
    /// The baseline's loads, run for run.
    baseline_loads: Vec<Load>,
    /// Per repeat: req/s ÷ the req/s of the baseline measured beside it (empty for bare
    /// itself).
    ratios: Vec<f64>,
    /// Why the row was not measured.
    unmeasured: Option<String>,
}

/// A row's medians.
#[derive(Debug, Clone, Copy)]
struct Summary {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us: f64,
    /// The row's CPU per request minus its baseline's in the same runs (medians); NaN for bare.
    added_cpu_us: f64,
    /// Median of the per-repeat ratios vs the baseline; 1 for bare.
    ratio: f64,
}

impl Row {
    fn new(label: &str, baseline: &'static str) -> Self {
        Self {
            label: label.to_owned(),
            baseline,
            loads: Vec::new(),
            baseline_loads: Vec::new(),
            ratios: Vec::new(),
            unmeasured: None,
        }
    }

    fn summary(&self) -> Summary {
        let of = |f: fn(&Load) -> f64| median(&self.loads.iter().map(f).collect::<Vec<_>>());
        Summary {
            rps: of(|l| l.rps),
            p50_ms: of(|l| l.p50_ms),
            p99_ms: of(|l| l.p99_ms),
            cpu_us: of(|l| l.cpu_us),
            added_cpu_us: of(|l| l.cpu_us)
                - median(
                    &self
                        .baseline_loads
                        .iter()
                        .map(|l| l.cpu_us)
                        .collect::<Vec<_>>(),
                ),
            ratio: if self.label == BARE {
                1.0
            } else {
                median(&self.ratios)
            },
        }
    }
}

/// Whether the server and wrk get a core each.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pinning {
    /// Server on CPU 0, wrk on CPU 1, with `taskset`.
    Pinned,
    /// Why not.
    Unpinned(String),
}

impl Pinning {
    fn detect() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        if cores < 2 {
            return Self::Unpinned(format!("{cores} core available"));
        }
        match Command::new("taskset")
            .args(["-c", "0,1", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(s) if s.success() => Self::Pinned,
            Ok(_) => Self::Unpinned("taskset cannot use CPUs 0 and 1".into()),
            Err(_) => Self::Unpinned("no taskset".into()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Pinned => "server pinned to CPU 0, wrk to CPU 1".into(),
            Self::Unpinned(why) => format!("unpinned ({why}): server and wrk share the cores"),
        }
    }

    /// `program`, under `taskset -c cpu` when pinned.
    fn command(&self, cpu: u8, program: impl AsRef<OsStr>) -> Command {
        match self {
            Self::Pinned => {
                let mut cmd = Command::new("taskset");
                cmd.args(["-c", &cpu.to_string()]).arg(program);
                cmd
            }
            Self::Unpinned(_) => Command::new(program),
        }
    }
}

/// The first field of a `/proc/<pid>/task/<tid>/schedstat`: time on CPU, in ns.
fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat`, in clock ticks. The command name
/// (field 2, in parentheses) may hold spaces and parentheses: fields are counted after its last
/// `)`.
fn parse_stat_ticks(text: &str) -> Option<u64> {
    let (_, rest) = text.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The "N requests in 3.00s, …" count of wrk's report.
fn parse_requests(wrk_output: &str) -> Option<u64> {
    wrk_output
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`, else the usual 100).
fn clk_tck() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// A process's CPU time so far.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CpuSample {
    /// Per thread (tid → ns), from `/proc/<pid>/task/*/schedstat`. The process-wide
    /// `/proc/<pid>/schedstat` covers its main thread only, and the servers work on others.
    Threads(BTreeMap<u32, u64>),
    /// utime + stime of every thread in clock ticks, from `/proc/<pid>/stat`.
    Ticks(u64),
}

impl CpuSample {
    fn read(pid: u32) -> Option<Self> {
        let mut threads = BTreeMap::new();
        if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for entry in dir.flatten() {
                let tid = entry.file_name().to_str().and_then(|t| t.parse().ok());
                let ns = std::fs::read_to_string(entry.path().join("schedstat"))
                    .ok()
                    .and_then(|t| parse_schedstat(&t));
                if let (Some(tid), Some(ns)) = (tid, ns) {
                    threads.insert(tid, ns);
                }
            }
        }
        if !threads.is_empty() {
            return Some(Self::Threads(threads));
        }
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|t| parse_stat_ticks(&t))
            .map(Self::Ticks)
    }

    /// CPU time from `before` to `self`, in ns. Per thread: the growth of every thread alive at
    /// the end (a thread started in between counts whole; one that ended in between is lost).
    fn ns_since(&self, before: &Self, clk_tck: u64) -> Option<f64> {
        match (before, self) {
            (Self::Threads(b), Self::Threads(a)) => Some(
                a.iter()
                    .map(|(tid, ns)| ns.saturating_sub(b.get(tid).copied().unwrap_or(0)))
                    .sum::<u64>() as f64,
            ),
            (Self::Ticks(b), Self::Ticks(a)) => {
                Some(a.saturating_sub(*b) as f64 * 1e9 / clk_tck as f64)
            }
            _ => None,
        }
    }

    fn source(&self) -> &'static str {
        match self {
            Self::Threads(_) => "per-thread `/proc/<pid>/task/*/schedstat` (ns)",
            Self::Ticks(_) => "`/proc/<pid>/stat` utime + stime (clock ticks)",
        }
    }
}

/// The multi-instance figures: the `redis_` tests of jwt-axum in release, one at a time, and the
/// `redis: ...` lines they print (a real `redis-server` must be installed).
fn instances() -> Result<Vec<String>, String> {
    let mut command = Command::new(env!("CARGO"));
    if std::env::var_os("CARGO_TARGET_DIR").is_some_and(|d| !d.is_empty()) {
        command.env("CARGO_TARGET_DIR", target_dir());
    }
    let out = command
        .current_dir(root())
        .args([
            "test",
            "--release",
            "-p",
            "jwt-axum",
            "--test",
            "suite",
            "--",
            "redis_instances::",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("the redis_ tests failed:\n{text}"));
    }
    // The harness prints `test <name> ... ` before a test runs, so a figure may follow it on
    // the same line.
    let lines: Vec<String> = text
        .lines()
        .filter_map(|l| l.find("redis: ").map(|at| l[at..].to_owned()))
        .collect();
    if lines.is_empty() {
        return Err("no figures: redis-server is not installed (the tests were skipped)".into());
    }
    Ok(lines)
}

/// `cargo <args>` at the workspace root, on the target directory the bench reads results from.
fn cargo_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO"));
    // A relative CARGO_TARGET_DIR handed on as is would be read by criterion from the bench's
    // own directory (jwt-core/): hand on the absolute path `target_dir` reads results from.
    if std::env::var_os("CARGO_TARGET_DIR").is_some_and(|d| !d.is_empty()) {
        command.env("CARGO_TARGET_DIR", target_dir());
    }
    command.current_dir(root()).args(args);
    command
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let status = cargo_command(args)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("cargo {} failed", args.join(" ")))
}

/// Criterion's mean for one bench under `criterion` (its output directory), refusing a result
/// older than `since` (left over from an earlier run).
fn estimate_ns(
    criterion: &Path,
    group: &str,
    bench: &str,
    since: SystemTime,
) -> Result<f64, String> {
    let path = criterion.join(format!("{group}/{bench}/new/estimates.json"));
    let modified = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if modified + Duration::from_secs(2) < since {
        return Err(format!(
            "{}: not written by this run (stale result)",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    v["mean"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no mean", path.display()))
}

/// The token sizes of the `scopes_{n}` criterion groups (HS256, one route, `n` scopes).
const SCOPE_COUNTS: [u32; 3] = [1, 25, 100];

/// Core results: per algorithm, and per `scopes_{n}` group, (jsonwebtoken, ours no cache, ours
/// cache hit) in ns.
fn core() -> Result<BTreeMap<String, [f64; 3]>, String> {
    let since = SystemTime::now();
    cargo(&[
        "bench",
        "-p",
        "jwt-core",
        "--bench",
        "core",
        "--",
        "--warm-up-time",
        "1",
        "--measurement-time",
        "3",
    ])?;
    let mut figures = core_figures(&target_dir().join("criterion"), since)?;
    match allocations() {
        Ok((hit, cold)) => {
            figures.insert(ALLOCATIONS.to_owned(), [hit, cold, f64::NAN]);
        }
        Err(why) => println!("core: {why}"),
    }
    match introspection() {
        Ok((opaque, jwt, calls)) => {
            figures.insert(INTROSPECTION.to_owned(), [opaque, jwt, calls]);
        }
        Err(why) => println!("core: {why}"),
    }
    Ok(figures)
}

/// The key of the introspection figures in the core figures: `[opaque hit ns, JWT hit ns,
/// calls per 1,000 requests]`.
const INTROSPECTION: &str = "introspection";

/// Runs `jwt-core/benches/introspection.rs` and reads its two lines.
fn introspection() -> Result<(f64, f64, f64), String> {
    let stdout = plain_bench("introspection", &["--features", "introspection"])?;
    parse_introspection(&stdout).ok_or_else(|| "the introspection bench printed no figures".into())
}

/// Runs one of jwt-core's plain (`harness = false`) benches with `extra` cargo arguments,
/// shows what it printed, and returns it.
fn plain_bench(name: &str, extra: &[&str]) -> Result<String, String> {
    let mut args = vec!["bench", "-p", "jwt-core"];
    args.extend_from_slice(extra);
    args.extend(["--bench", name]);
    let out = cargo_command(&args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{stdout}");
    if !out.status.success() {
        return Err(format!("the {name} bench failed"));
    }
    Ok(stdout)
}

/// `opaque O ns, jwt J ns` and the calls from the introspection bench's output.
fn parse_introspection(stdout: &str) -> Option<(f64, f64, f64)> {
    let hit = stdout
        .lines()
        .find_map(|l| l.strip_prefix("introspection cache hit: opaque "))?;
    let (opaque, rest) = hit.split_once(" ns, jwt ")?;
    let (jwt, _) = rest.split_once(" ns")?;
    let calls = stdout
        .lines()
        .find_map(|l| l.strip_prefix("introspection calls per 1000 requests of one token: "))?;
    Some((
        opaque.trim().parse().ok()?,
        jwt.trim().parse().ok()?,
        calls.trim().parse().ok()?,
    ))
}

/// The introspection targets, from the introspection bench's figures.
fn introspection_checks(core: &BTreeMap<String, [f64; 3]>) -> Vec<Check> {
    let Some(&[opaque, jwt, calls]) = core.get(INTROSPECTION) else {
        return [&INTROSPECTION_HIT, &INTROSPECTION_CALLS]
            .into_iter()
            .map(|t| Check::unmeasured(t, "opaque token", "no introspection figures".into()))
            .collect();
    };
    vec![
        ratio_check(
            &INTROSPECTION_HIT,
            "opaque token vs HS256 JWT",
            Some((opaque, jwt)),
            "no introspection figures",
        ),
        Check::new(
            &INTROSPECTION_CALLS,
            "one token, 1,000 requests",
            Figure {
                measured: calls,
                bound: INTROSPECTION_CALLS.bound.value(),
                detail: format!("{calls:.0} call(s)"),
            },
        ),
    ]
}

/// The key of the allocation counts in the core figures: `[hit, cold, -]`.
const ALLOCATIONS: &str = "allocations";

/// Runs `jwt-core/benches/allocations.rs` and reads its line `allocations per decision: hit H,
/// cold C`.
fn allocations() -> Result<(f64, f64), String> {
    let stdout = plain_bench("allocations", &[])?;
    parse_allocations(&stdout).ok_or_else(|| "the allocations bench printed no counts".into())
}

/// `hit H, cold C` from the allocations bench's output.
fn parse_allocations(stdout: &str) -> Option<(f64, f64)> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("allocations per decision: "))?;
    let (hit, cold) = line.split_once(", ")?;
    let hit = hit.strip_prefix("hit ")?.trim().parse().ok()?;
    let cold = cold.strip_prefix("cold ")?.trim().parse().ok()?;
    Some((hit, cold))
}

/// The key of an algorithm's signature floor in the core figures: `[aws-lc's verification of
/// the signature alone, ns, -, -]`.
fn floor_key(alg: &str) -> String {
    format!("{alg} signature")
}

/// Reads [`core()`]'s figures from criterion's output directory.
fn core_figures(criterion: &Path, since: SystemTime) -> Result<BTreeMap<String, [f64; 3]>, String> {
    let estimate_ns = |group: &str, bench: &str, since| estimate_ns(criterion, group, bench, since);
    let mut out = BTreeMap::new();
    for alg in ["hs256", "rs256", "es256", "eddsa"] {
        out.insert(
            alg.to_owned(),
            [
                estimate_ns(alg, "jsonwebtoken_decode", since)?,
                estimate_ns(alg, "ours_no_cache", since)?,
                estimate_ns(alg, "ours_cache_hit", since)?,
            ],
        );
        // The floor is printed, not checked: a missing one leaves its columns empty.
        match estimate_ns(alg, "signature_only", since) {
            Ok(floor) => {
                out.insert(floor_key(alg), [floor, f64::NAN, f64::NAN]);
            }
            Err(why) => println!("core: {why}"),
        }
    }
    // Missing groups are reported as unmeasured by `scope_checks`, not fatal.
    for n in SCOPE_COUNTS {
        let group = format!("scopes_{n}");
        let figures = ["jsonwebtoken_decode", "ours_no_cache", "ours_cache_hit"]
            .map(|bench| estimate_ns(&group, bench, since));
        match figures {
            [Ok(jwt), Ok(ours), Ok(hit)] => {
                out.insert(group, [jwt, ours, hit]);
            }
            [a, b, c] => {
                for why in [a, b, c].into_iter().filter_map(Result::err) {
                    println!("core: {why}");
                }
            }
        }
    }
    out.insert(
        "route_match_agent_os (5 paths)".into(),
        [
            estimate_ns("route_match_agent_os", ".", since)
                .or_else(|_| estimate_ns(".", "route_match_agent_os", since))
                .unwrap_or(f64::NAN),
            f64::NAN,
            f64::NAN,
        ],
    );
    Ok(out)
}

fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    println!("installing wrk (apt-get)");
    let ok = Command::new("sh")
        .args(["-c", "apt-get update -qq && apt-get install -y -qq wrk"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok && Command::new("wrk").arg("--version").output().is_ok() {
        Ok(())
    } else {
        Err("wrk is missing and could not be installed (apt-get install wrk)".into())
    }
}

struct Server {
    child: Child,
    port: u16,
    token: Option<String>,
    /// Where it is in the distinct-token pool, when it is sent from one.
    cursor: Option<Cursor>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// bench-server's keys: in the target directory, never the source tree.
fn keys_dir() -> std::path::PathBuf {
    target_dir().join("bench-keys")
}

fn start(pinning: &Pinning, launch: &Launch<'_>) -> Result<Server, String> {
    // `taskset` execs the server: the child's pid is the server's.
    let mut cmd = pinning.command(0, launch.bin);
    cmd.current_dir(root())
        .args(&launch.args)
        .args(["--port", "0"])
        .arg("--keys-dir")
        .arg(keys_dir())
        .stdout(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: {e}", launch.bin.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let port = lines
        .next()
        .and_then(Result::ok)
        .and_then(|l| l.rsplit(':').next().and_then(|p| p.parse().ok()));
    let token = lines
        .next()
        .and_then(Result::ok)
        .and_then(|l| l.strip_prefix("token ").map(str::to_owned))
        .filter(|t| t != "-");
    let Some(port) = port else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "{} {} did not start",
            launch.bin.display(),
            launch.args.join(" ")
        ));
    };
    Ok(Server {
        child,
        port,
        token,
        cursor: None,
    })
}

fn ms(value: &str) -> f64 {
    let (num, factor) = if let Some(v) = value.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = value.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = value.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (value, 1.0)
    };
    num.parse::<f64>().map(|n| n * factor).unwrap_or(f64::NAN)
}

/// Reads wrk's report (`--latency`); `cpu_us` is left NaN.
fn parse_wrk(text: &str) -> Result<Load, String> {
    if text.contains("Non-2xx") {
        return Err(format!("non-2xx responses:\n{text}"));
    }
    let mut load = Load {
        rps: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        requests: parse_requests(text).unwrap_or(0),
        cpu_us: f64::NAN,
    };
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(v)) => load.rps = v.parse().unwrap_or(f64::NAN),
            (Some("50%"), Some(v)) => load.p50_ms = ms(v),
            (Some("99%"), Some(v)) => load.p99_ms = ms(v),
            _ => {}
        }
    }
    if load.rps.is_nan() || load.requests == 0 {
        return Err(format!("cannot read wrk output:\n{text}"));
    }
    Ok(load)
}

/// One wrk run on the server's `/hello`: with its token, or from `pool` the next window of
/// tokens the server was never sent.
fn wrk(
    server: &mut Server,
    pinning: &Pinning,
    seconds: u32,
    pool: Option<&TokenPool>,
) -> Result<Load, String> {
    let mut cmd = pinning.command(1, "wrk");
    cmd.args(["-t1", "-c32", &format!("-d{seconds}s"), "--latency"]);
    let url = format!("http://127.0.0.1:{}/hello", server.port);
    match pool {
        Some(pool) => {
            let cursor = server.cursor.get_or_insert_default();
            let (options, script_args) = pool.wrk_args(cursor, seconds)?;
            cmd.args(options).arg(url).args(script_args);
        }
        None => {
            if let Some(token) = &server.token {
                cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
            }
            cmd.arg(url);
        }
    }
    let out = cmd.output().map_err(|e| format!("wrk: {e}"))?;
    let load = parse_wrk(&String::from_utf8_lossy(&out.stdout))?;
    if let Some(cursor) = &mut server.cursor {
        TokenPool::advance(cursor, load.requests)?;
    }
    Ok(load)
}

/// Seconds of one measured slice of a paired run.
const SLICE_SECONDS: u32 = 1;

/// One side of a paired run: a running server and what its slices measured.
struct Side {
    server: Server,
    requests: u64,
    seconds: f64,
    cpu_ns: Option<f64>,
    p50_ms: Vec<f64>,
    p99_ms: Vec<f64>,
}

impl Side {
    fn new(server: Server) -> Self {
        Self {
            server,
            requests: 0,
            seconds: 0.0,
            cpu_ns: Some(0.0),
            p50_ms: Vec::new(),
            p99_ms: Vec::new(),
        }
    }

    /// One measured slice, with the server's CPU time read just before and after it.
    fn slice(
        &mut self,
        pinning: &Pinning,
        clk_tck: u64,
        pool: Option<&TokenPool>,
    ) -> Result<Option<&'static str>, String> {
        let pid = self.server.child.id();
        let before = CpuSample::read(pid);
        let load = wrk(&mut self.server, pinning, SLICE_SECONDS, pool)?;
        let after = CpuSample::read(pid);
        self.requests += load.requests;
        self.seconds += load.requests as f64 / load.rps;
        self.p50_ms.push(load.p50_ms);
        self.p99_ms.push(load.p99_ms);
        let ns = match (&before, &after) {
            (Some(b), Some(a)) => a.ns_since(b, clk_tck),
            _ => None,
        };
        self.cpu_ns = self.cpu_ns.zip(ns).map(|(sum, ns)| sum + ns);
        Ok(after.as_ref().map(CpuSample::source))
    }

    fn load(&self) -> Load {
        Load {
            rps: self.requests as f64 / self.seconds,
            p50_ms: median(&self.p50_ms),
            p99_ms: median(&self.p99_ms),
            requests: self.requests,
            cpu_us: self
                .cpu_ns
                .map_or(f64::NAN, |ns| ns / 1000.0 / self.requests as f64),
        }
    }
}

/// One paired run: the mode's server and its baseline side by side (fresh processes, each
/// warmed up), then `seconds` one-second slices each, alternating mode/baseline in an ABBA order
/// (mode, baseline, baseline, mode, …) so that the machine's drift over the run weighs on both
/// alike. Returns the mode's load, the baseline's load and where the CPU time was read from.
fn measure(
    pinning: &Pinning,
    clk_tck: u64,
    (launch, baseline, pool): (Launch<'_>, Launch<'_>, Option<&TokenPool>),
    seconds: u32,
) -> Result<(Load, Load, Option<&'static str>), String> {
    let server = start(pinning, &launch)?;
    let mut baseline = start(pinning, &baseline)?;
    // A bare baseline is sent the same `Authorization` header as the mode it is paired with (and
    // ignores it), so both parse requests of the same size: the ratio is the middleware's cost
    // alone. From a pool, both are sent the same tokens.
    baseline.token.clone_from(&server.token);
    let (mut tested, mut base) = (Side::new(server), Side::new(baseline));
    wrk(&mut tested.server, pinning, WARM_UP_SECONDS, pool)?;
    wrk(&mut base.server, pinning, WARM_UP_SECONDS, pool)?;
    let mut source = None;
    for slice in 0..seconds.div_ceil(SLICE_SECONDS) {
        let order = if slice % 2 == 0 {
            [&mut tested, &mut base]
        } else {
            [&mut base, &mut tested]
        };
        for side in order {
            source = side.slice(pinning, clk_tck, pool)?.or(source);
        }
    }
    Ok((tested.load(), base.load(), source))
}

/// Per framework, its rows: bare first, then its modes in [`MODES`] order.
type HttpResults = BTreeMap<String, Vec<Row>>;

/// What `bench http` measured. `Err` in a field: why that part could not be measured.
struct HttpReport {
    loads: Result<HttpResults, String>,
    /// The load generator and where it and the server ran, for the HTTP heading.
    heading: String,
    /// How the runs were made, under the heading.
    conditions: String,
    memory: Result<MemoryRun, String>,
}

/// bench-server's memory check: its printed lines and the raw figures in them.
struct MemoryRun {
    lines: Vec<String>,
    entries: u64,
    limit_bytes: u64,
    rss_before_kib: u64,
    rss_after_kib: u64,
    /// bench-server's own verdict (exit 0; 3 means a bound was exceeded).
    server_passed: bool,
}

/// Runs bench-server's memory check with the bounds of [`MEMORY_PER_ENTRY`] and
/// [`MEMORY_TOTAL`]. `Err`: it could not measure (why).
fn memory(bin: &Path) -> Result<MemoryRun, String> {
    let out = Command::new(bin)
        .current_dir(root())
        .arg("--keys-dir")
        .arg(keys_dir())
        .args(["--memory", "--max-growth-per-entry"])
        .arg(format!("{:.0}", MEMORY_PER_ENTRY.bound.value()))
        .arg("--overhead-allowance-kib")
        .arg(format!("{:.0}", MEMORY_TOTAL.bound.value()))
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    for line in &lines {
        println!("{line}");
    }
    let server_passed = match out.status.code() {
        Some(0) => true,
        Some(3) => false,
        _ => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "bench-server --memory exited with {}: {}",
                out.status,
                stderr.trim()
            ));
        }
    };
    let figures: BTreeMap<&str, u64> = lines
        .iter()
        .find_map(|l| l.strip_prefix("memory: "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
                .collect()
        })
        .unwrap_or_default();
    let get = |key: &str| {
        figures
            .get(key)
            .copied()
            .ok_or_else(|| format!("bench-server printed no {key} figure"))
    };
    Ok(MemoryRun {
        entries: get("cache_entries")?,
        limit_bytes: get("cache_limit_bytes")?,
        rss_before_kib: get("rss_before_kib")?,
        rss_after_kib: get("rss_after_kib")?,
        lines,
        server_passed,
    })
}

/// The memory targets for one run; an error when bench-server's own verdict (from the same
/// bounds) disagrees with them.
fn memory_checks(memory: &Result<MemoryRun, String>) -> Result<Vec<Check>, String> {
    let run = match memory {
        Ok(run) => run,
        Err(why) => {
            return Ok(vec![
                Check::unmeasured(&MEMORY_PER_ENTRY, "", why.clone()),
                Check::unmeasured(&MEMORY_TOTAL, "", why.clone()),
            ]);
        }
    };
    let growth_kib = run.rss_after_kib.saturating_sub(run.rss_before_kib);
    let per_entry = if run.entries == 0 {
        Check::unmeasured(
            &MEMORY_PER_ENTRY,
            "",
            "the cache held no entry, nothing to divide the growth by".into(),
        )
    } else {
        Check::new(
            &MEMORY_PER_ENTRY,
            "",
            Figure {
                measured: (growth_kib * 1024) as f64 / run.entries as f64,
                bound: MEMORY_PER_ENTRY.bound.value(),
                detail: format!(
                    "VmRSS {} → {} KiB, {growth_kib} KiB / {} entries",
                    run.rss_before_kib, run.rss_after_kib, run.entries
                ),
            },
        )
    };
    let limit_kib = run.limit_bytes.div_ceil(1024) as f64;
    let allowance = MEMORY_TOTAL.bound.value();
    let total = Check::new(
        &MEMORY_TOTAL,
        "",
        Figure {
            measured: growth_kib as f64,
            bound: limit_kib + allowance,
            detail: format!(
                "VmRSS growth; bound = cache byte limit {limit_kib:.0} KiB + allowance {allowance:.0} KiB"
            ),
        },
    );
    let checks = vec![per_entry, total];
    let passed = checks.iter().all(|c| c.verdict() == Verdict::Ok);
    if passed != run.server_passed {
        return Err(format!(
            "bench-server's memory verdict ({}) disagrees with the target table's ({})",
            if run.server_passed { "ok" } else { "missed" },
            if passed { "ok" } else { "missed" },
        ));
    }
    Ok(checks)
}

/// The HTTP server runs one framework gets: its modes × repeats, each beside a bare server.
fn runs_of(framework: &str, repeats: u32) -> u32 {
    modes_of(framework).map(|m| m.repeats(repeats)).sum::<u32>() * 2
}

/// What the planned frameworks' modes need besides bench-server: `peer-server` when a peer is
/// on them, the token pool when the distinct-token mode is. A part that cannot be had is
/// reported on its rows, not fatal.
fn bins(bench_server: std::path::PathBuf, frameworks: &[&str], seconds: u32) -> Bins {
    let planned = |f: fn(&Subject) -> bool| {
        frameworks
            .iter()
            .any(|fw| modes_of(fw).any(|m| f(&m.subject)))
    };
    let peer_server = if planned(|s| matches!(s, Subject::Peer { .. })) {
        let built = peers::build();
        if let Err(why) = &built {
            println!("http: peers not measured: {why}");
        }
        built
    } else {
        Err("no peer on the planned frameworks".into())
    };
    let pool = if planned(|s| matches!(s, Subject::DistinctTokens)) {
        let count = TokenPool::size(seconds, WARM_UP_SECONDS, SLICE_SECONDS);
        println!("http: minting {count} distinct HS256 tokens");
        TokenPool::mint(
            &bench_server,
            &keys_dir(),
            &target_dir().join("bench-tokens"),
            count,
        )
    } else {
        Err("not planned".into())
    };
    Bins {
        bench_server,
        peer_server,
        pool,
    }
}

/// One framework's rows: bare first, then its modes in [`MODES`] order, each run `repeats`
/// times (fewer for a row that is not a target) beside its baseline.
fn framework_rows(
    framework: &str,
    bins: &Bins,
    (pinning, clk_tck): (&Pinning, u64),
    (seconds, repeats): (u32, u32),
    sources: &mut Vec<&'static str>,
) -> Result<Vec<Row>, String> {
    let modes: Vec<&Mode> = modes_of(framework).collect();
    let mut bare_row = Row::new(BARE, BARE);
    let mut rows: Vec<Row> = modes
        .iter()
        .map(|m| Row::new(m.label, m.subject.baseline()))
        .collect();
    for repeat in 1..=repeats {
        for (mode, row) in modes.iter().zip(&mut rows) {
            let runs = mode.repeats(repeats);
            if repeat > runs || row.unmeasured.is_some() {
                continue;
            }
            let launches = match mode.subject.launches(framework, bins) {
                Ok(launches) => launches,
                Err(why) => {
                    row.unmeasured = Some(why);
                    continue;
                }
            };
            let (load, base, source) = measure(pinning, clk_tck, launches, seconds)?;
            if let Some(s) = source
                && !sources.contains(&s)
            {
                sources.push(s);
            }
            let ratio = load.rps / base.rps;
            println!(
                "{framework:6} {:42} {repeat}/{runs} {:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  cpu {:.2} µs/req  ({} {:.0} req/s, cpu {:.2} µs/req) {:.0} %",
                mode.label,
                load.rps,
                load.p50_ms,
                load.p99_ms,
                load.cpu_us,
                row.baseline,
                base.rps,
                base.cpu_us,
                ratio * 100.0
            );
            if matches!(mode.subject, Subject::Ours { .. }) {
                bare_row.loads.push(base);
            }
            row.loads.push(load);
            row.baseline_loads.push(base);
            row.ratios.push(ratio);
        }
    }
    rows.insert(0, bare_row);
    Ok(rows)
}

fn http(plan: &HttpPlan) -> Result<HttpReport, String> {
    cargo(&[
        "build",
        "--release",
        "-p",
        "agentos-demo",
        "--bin",
        "bench-server",
    ])?;
    let bin = target_dir().join("release/bench-server");
    let memory = memory(&bin);
    if let Err(why) = &memory {
        println!("memory: not measured: {why}");
    }
    let pinning = Pinning::detect();
    let (seconds, repeats) = (plan.seconds, plan.repeats);
    let heading = format!("wrk -t1 -c32, loopback; {}", pinning.describe());
    let mut conditions = format!(
        "Every cache-on mode (the targets) is run {repeats} times, every other mode {} times, each run beside its baseline (for most rows a bare server of its framework, sent the same requests, token included): two fresh servers, {WARM_UP_SECONDS} s of warm-up each, then {seconds} s measured on each in {SLICE_SECONDS}-second slices alternating mode and baseline in ABBA order (mode, baseline, baseline, mode, …), so that the machine's drift weighs on both alike; the run's ratio is the mode's requests per second over the baseline's.",
        repeats.min(COMPARISON_REPEATS)
    );
    if let Err(why) = ensure_wrk() {
        println!("http: not measured: {why}");
        return Ok(HttpReport {
            loads: Err(why),
            heading,
            conditions,
            memory,
        });
    }
    let frameworks: Vec<&str> = FRAMEWORKS
        .into_iter()
        .filter(|f| plan.framework.as_deref().is_none_or(|only| only == *f))
        .collect();
    let bins = bins(bin, &frameworks, seconds);
    let runs: u32 = frameworks.iter().map(|f| runs_of(f, repeats)).sum();
    println!(
        "http: {runs} runs × ({WARM_UP_SECONDS} s warm-up + {seconds} s) ≈ {:.1} min; {}",
        f64::from(runs * (WARM_UP_SECONDS + seconds)) / 60.0,
        pinning.describe()
    );
    let clk_tck = clk_tck();
    let mut sources = Vec::new();
    let mut results = BTreeMap::new();
    for framework in frameworks {
        let rows = framework_rows(
            framework,
            &bins,
            (&pinning, clk_tck),
            (seconds, repeats),
            &mut sources,
        )?;
        results.insert(framework.to_owned(), rows);
    }
    conditions.push_str(&if sources.is_empty() {
        " Server CPU could not be read (no procfs).".to_owned()
    } else {
        format!(
            " Server CPU (user + system, every thread) is read from {} just before and after every slice and divided by the requests wrk completed.",
            sources.join(" and ")
        )
    });
    Ok(HttpReport {
        loads: Ok(results),
        heading,
        conditions,
        memory,
    })
}

fn core_checks(core: &BTreeMap<String, [f64; 3]>) -> Vec<Check> {
    let mut checks = Vec::new();
    for alg in ["hs256", "rs256", "es256", "eddsa"] {
        let name = alg.to_uppercase();
        let figures = core.get(alg);
        let cold = if alg == "hs256" {
            &CORE_HS256_CACHE_OFF
        } else {
            &CORE_ASYM_CACHE_OFF
        };
        checks.push(ratio_check(
            cold,
            &name,
            figures.map(|&[jwt, ours, _]| (ours, jwt)),
            "no criterion result",
        ));
        checks.push(ratio_check(
            &CORE_CACHE_HIT,
            &name,
            figures.map(|&[jwt, _, hit]| (hit, jwt)),
            "no criterion result",
        ));
    }
    checks
}

/// The allocation targets, from the allocations bench's counts.
fn allocation_checks(core: &BTreeMap<String, [f64; 3]>) -> Vec<Check> {
    let counts = core.get(ALLOCATIONS);
    [
        (&ALLOC_HIT, "HS256, cache hit", 0),
        (&ALLOC_COLD, "HS256, cache off", 1),
    ]
    .into_iter()
    .map(|(target, subject, i)| match counts {
        Some(c) => Check::new(
            target,
            subject,
            Figure {
                measured: c[i],
                bound: target.bound.value(),
                detail: format!("{:.1} allocations per decision", c[i]),
            },
        ),
        None => Check::unmeasured(target, subject, "no allocation count".into()),
    })
    .collect()
}

/// The targets on the token's size, from the `scopes_{n}` groups: at every N, cache off
/// against `jsonwebtoken::decode`; at 100 scopes, the cache hit against the cache hit at 1.
fn scope_checks(core: &BTreeMap<String, [f64; 3]>) -> Vec<Check> {
    let (one, hundred) = (core.get("scopes_1"), core.get("scopes_100"));
    let mut checks: Vec<Check> = SCOPE_COUNTS
        .iter()
        .map(|n| {
            ratio_check(
                &CORE_SCOPES_CACHE_OFF,
                &format!("HS256, {n} scope(s)"),
                core.get(&format!("scopes_{n}"))
                    .map(|&[jwt, ours, _]| (ours, jwt)),
                "no criterion result for this scope count",
            )
        })
        .collect();
    let growth = ratio_check(
        &CORE_SCOPES_HIT_GROWTH,
        "HS256, 100 vs 1 scope",
        one.zip(hundred)
            .map(|(&[_, _, hit_1], &[_, _, hit_100])| (hit_100, hit_1)),
        "no criterion result for scopes_1 and scopes_100",
    );
    checks.push(growth);
    checks
}

/// The core table: per algorithm, `decode`, ours cache off and on, and the signature alone
/// (aws-lc's verification, the key parsed beforehand) with ours above it.
fn core_markdown(core: &BTreeMap<String, [f64; 3]>) -> String {
    let mut md = String::from(
        "\n## Core (criterion, per token: verify + claims + route + scopes)\n\n| alg | `jsonwebtoken::decode` | ours, cache off | ratio | ours, cache hit | ratio | signature alone | ours, cache off, above it |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for alg in ["hs256", "rs256", "es256", "eddsa"] {
        let Some([jwt, ours, hit]) = core.get(alg) else {
            continue;
        };
        let (floor, above) = match core.get(&floor_key(alg)) {
            Some([floor, ..]) => (
                format!("{:.2} µs", floor / 1000.0),
                format!("{:.2} µs", (ours - floor) / 1000.0),
            ),
            None => ("not measured".to_owned(), "not measured".to_owned()),
        };
        let _ = writeln!(
            md,
            "| {} | {:.2} µs | {:.2} µs | {:.2}× | {:.2} µs | {:.2}× | {floor} | {above} |",
            alg.to_uppercase(),
            jwt / 1000.0,
            ours / 1000.0,
            ours / jwt,
            hit / 1000.0,
            hit / jwt
        );
    }
    md
}

/// The "cost against the token's size" table (rows for the `scopes_{n}` groups measured).
fn scopes_markdown(core: &BTreeMap<String, [f64; 3]>) -> String {
    let mut md = String::from(
        "\n### Cost against the token's size (HS256, one route, N scopes)\n\n| N | `jsonwebtoken::decode` | ours, cache off | ratio | ours, cache hit | hit ÷ hit at N=1 |\n|---:|---:|---:|---:|---:|---:|\n",
    );
    let hit_1 = core.get("scopes_1").map_or(f64::NAN, |r| r[2]);
    for n in SCOPE_COUNTS {
        if let Some(&[jwt, ours, hit]) = core.get(&format!("scopes_{n}")) {
            let _ = writeln!(
                md,
                "| {n} | {:.2} µs | {:.2} µs | {:.2}× | {:.2} µs | {:.2}× |",
                jwt / 1000.0,
                ours / 1000.0,
                ours / jwt,
                hit / 1000.0,
                hit / hit_1
            );
        }
    }
    let _ = writeln!(
        md,
        "\nTargets: at every N, cache off {} `jsonwebtoken::decode` of the same token; cache hit at N=100 {} the cache hit at N=1.",
        Check::unmeasured(&CORE_SCOPES_CACHE_OFF, "", String::new()).bound_text(),
        Check::unmeasured(&CORE_SCOPES_HIT_GROWTH, "", String::new()).bound_text(),
    );
    md
}

/// `measured ÷ reference` against `target`'s bound, or not measured (`missing`).
fn ratio_check(
    target: &'static Target,
    subject: &str,
    figures: Option<(f64, f64)>,
    missing: &str,
) -> Check {
    let us = |ns: f64| format!("{:.2} µs", ns / 1000.0);
    match figures {
        Some((measured, reference)) => Check::new(
            target,
            subject,
            Figure {
                measured: measured / reference,
                bound: target.bound.value(),
                detail: format!("{} vs {}", us(measured), us(reference)),
            },
        ),
        None => Check::unmeasured(target, subject, missing.into()),
    }
}

/// The HTTP throughput targets: every cache-on mode of every framework against its bare runs
/// (the median of the per-repeat ratios).
fn http_checks(loads: &Result<HttpResults, String>) -> Vec<Check> {
    let http = match loads {
        Ok(http) => http,
        Err(why) => {
            return vec![Check::unmeasured(
                &HTTP_CACHE_ON,
                "every framework",
                why.clone(),
            )];
        }
    };
    let mut checks = distinct_token_checks(http);
    checks.extend(peer_checks(http));
    for (framework, rows) in http {
        let bare = rows
            .iter()
            .find(|r| r.label == BARE)
            .map_or(f64::NAN, |r| r.summary().rps);
        for row in rows.iter().filter(|r| r.label.ends_with("cache on")) {
            let s = row.summary();
            checks.push(Check::new(
                &HTTP_CACHE_ON,
                format!("{framework} {}", row.label),
                Figure {
                    measured: s.ratio,
                    bound: HTTP_CACHE_ON.bound.value(),
                    detail: format!(
                        "median of {} paired runs; {:.0} vs bare {bare:.0} req/s",
                        row.ratios.len(),
                        s.rps
                    ),
                },
            ));
        }
    }
    checks
}

/// The lowest median ratio vs bare over the cache-on modes (`http_min_ratio`); NaN when none.
fn http_min_ratio(http: &HttpResults) -> f64 {
    http.values()
        .flatten()
        .filter(|r| r.label.ends_with("cache on"))
        .map(|r| r.summary().ratio)
        .filter(|r| r.is_finite())
        .reduce(f64::min)
        .unwrap_or(f64::NAN)
}

/// `http-distinct-tokens`: every framework's distinct-token row, against cache off.
fn distinct_token_checks(http: &HttpResults) -> Vec<Check> {
    let mut checks = Vec::new();
    for (framework, rows) in http {
        let Some(row) = rows.iter().find(|r| r.label == DISTINCT_TOKENS) else {
            continue;
        };
        let subject = format!("{framework} HS256");
        checks.push(match &row.unmeasured {
            Some(why) => Check::unmeasured(&HTTP_DISTINCT_TOKENS, subject, why.clone()),
            None => {
                let base = median(&row.baseline_loads.iter().map(|l| l.rps).collect::<Vec<_>>());
                let s = row.summary();
                Check::new(
                    &HTTP_DISTINCT_TOKENS,
                    subject,
                    Figure {
                        measured: s.ratio,
                        bound: HTTP_DISTINCT_TOKENS.bound.value(),
                        detail: format!(
                            "median of {} paired runs; {:.0} vs cache off {base:.0} req/s",
                            row.ratios.len(),
                            s.rps
                        ),
                    },
                )
            }
        });
    }
    checks
}

/// One framework's standing against its peers on one path.
struct Standing {
    /// The lower of the algorithms' ours ÷ best peer.
    ratio: f64,
    /// Per algorithm: ours, the best peer and its name.
    detail: String,
}

/// Ours ÷ the best peer (ratios vs each one's own bare) on the cache-on or cache-off path, the
/// lower over HS256 and RS256; `None` when the framework has no peer row. `Err`: a peer row that
/// was not measured.
fn standing(rows: &[Row], cache_on: bool) -> Option<Result<Standing, String>> {
    let is_peer = |r: &&Row| r.label.starts_with("peer ") || r.label == HAND_ROLLED;
    if !rows.iter().any(|r| is_peer(&r)) {
        return None;
    }
    if let Some(why) = rows
        .iter()
        .filter(is_peer)
        .find_map(|r| r.unmeasured.clone())
    {
        return Some(Err(why));
    }
    let mut ratio = f64::INFINITY;
    let mut detail = Vec::new();
    for alg in ["HS256", "RS256"] {
        let path = if cache_on { "cache on" } else { "cache off" };
        let ours = rows
            .iter()
            .find(|r| r.label == format!("{alg} {path}"))
            .map_or(f64::NAN, |r| r.summary().ratio);
        let best = rows
            .iter()
            .filter(is_peer)
            .filter(|r| r.label.ends_with(alg))
            .map(|r| (r.summary().ratio, r.label.trim_start_matches("peer ")))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let Some((peer, name)) = best else { continue };
        ratio = ratio.min(ours / peer);
        detail.push(format!(
            "{alg}: ours {:.1} % of bare, best peer {name} {:.1} % of its bare",
            ours * 100.0,
            peer * 100.0
        ));
    }
    Some(Ok(Standing {
        ratio: if ratio.is_finite() { ratio } else { f64::NAN },
        detail: detail.join("; "),
    }))
}

/// `peers-ahead`: per framework with a peer, cache on and cache off.
fn peer_checks(http: &HttpResults) -> Vec<Check> {
    let mut checks = Vec::new();
    for (framework, rows) in http {
        for (cache_on, path) in [(true, "cache-on"), (false, "cache-off")] {
            let subject = format!("{framework} {path}");
            match standing(rows, cache_on) {
                None => {}
                Some(Err(why)) => checks.push(Check::unmeasured(&PEERS_AHEAD, subject, why)),
                Some(Ok(s)) => checks.push(Check::new(
                    &PEERS_AHEAD,
                    subject,
                    Figure {
                        measured: s.ratio,
                        bound: PEERS_AHEAD.bound.value(),
                        detail: s.detail,
                    },
                )),
            }
        }
    }
    checks
}

/// `ahead of peers: <framework> cache-on <ours ÷ best peer>, cache-off <…>`, one line per
/// framework with a peer.
fn peer_lines(http: &HttpResults) -> Vec<String> {
    let show = |s: Option<Result<Standing, String>>| match s {
        Some(Ok(s)) => format!("{:.3}", s.ratio),
        Some(Err(_)) | None => "not measured".to_owned(),
    };
    http.iter()
        .filter(|(_, rows)| standing(rows, true).is_some())
        .map(|(framework, rows)| {
            format!(
                "ahead of peers: {framework} cache-on {}, cache-off {}",
                show(standing(rows, true)),
                show(standing(rows, false))
            )
        })
        .collect()
}

/// The HTTP table (medians), the "ahead of peers" lines and what the rows mean.
fn http_markdown(http: &HttpResults) -> String {
    let mut md = String::from(
        "| framework | mode | req/s | p50 | p99 | vs baseline | server CPU/req | added CPU/req |\n|---|---|---:|---:|---:|---|---:|---:|\n",
    );
    for (framework, rows) in http {
        for row in rows {
            if let Some(why) = &row.unmeasured {
                let _ = writeln!(
                    md,
                    "| {framework} | {} | not measured: {why} ||||||",
                    row.label
                );
                continue;
            }
            let s = row.summary();
            let (vs, added) = if row.label == BARE {
                ("–".to_owned(), "–".to_owned())
            } else {
                (
                    format!("{:.0} % of {}", s.ratio * 100.0, row.baseline),
                    format!("{:+.2} µs", s.added_cpu_us),
                )
            };
            let _ = writeln!(
                md,
                "| {framework} | {} | {:.0} | {:.2} ms | {:.2} ms | {vs} | {:.2} µs | {added} |",
                row.label, s.rps, s.p50_ms, s.p99_ms, s.cpu_us,
            );
        }
    }
    md.push('\n');
    for line in peer_lines(http) {
        let _ = writeln!(md, "    {line}");
    }
    let peers: Vec<String> = peers::PEERS
        .iter()
        .map(|p| format!("`{}`: {}", p.name, p.label))
        .collect();
    let _ = writeln!(
        md,
        "\nThe peers (`xtask/peers`, a workspace of its own with exact versions) serve the contract bench-server serves: HS256 or RS256 with the same keys, audience, issuer, expiry with 10 s of leeway, the scope `hello:read` required on `GET /hello`, `GET /health` excluded. {}. The hand-rolled row is axum around `jsonwebtoken::decode` (jsonwebtoken 11 on aws-lc-rs, as ours). \"ahead of peers\" is, per path, our ratio to bare ÷ the best peer's ratio to its own bare, the lower of HS256 and RS256 (≥ 1: ahead of every peer); a peer has no token cache, so both our paths are set against the same peer rows.",
        peers.join("; ")
    );
    md.push_str(
        "\n\"vs baseline\" is the median over the repeats of req/s ÷ the baseline's req/s in the same run; the other columns are medians; \"added CPU/req\" is the row's server CPU per request minus its baseline's in the same runs. A peer's baseline is its own framework version, bare, from the same build. The distinct-token row is sent a token the server never saw on every request (a pool minted before the runs; each server starts at its first token and never sends one twice), with the cache on, beside the cache off sent the same tokens: what the cache costs when it never hits. The hand-rolled and peer rows are not `http-cache-on` targets. warp's cache-on and cache-off rows serve the app with `jwt_warp::serve` (the engine decides before the filters run and the filters take its decision); its \"filters alone\" row serves the same app with `warp::serve`, each filter deciding by itself, for comparison.\n",
    );
    md
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let date = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores; {date}")
}

pub(crate) fn run(what: Option<&str>, plan: &HttpPlan, check: bool) -> Result<(), String> {
    let core_results = match what {
        None | Some("core") => Some(core()?),
        _ => None,
    };
    let http_report = match what {
        None | Some("http") => Some(http(plan)?),
        _ => None,
    };
    let instances_report = match what {
        None | Some("instances") => Some(instances()),
        _ => None,
    };
    let mut checks = Vec::new();
    let mut md = format!(
        "# Benchmarks\n\nMachine: {}. Produced by `cargo xtask bench`; numbers vary ±10–30 % on this shared VM.\n",
        machine()
    );
    let mut core_ratio = f64::NAN;
    let mut hit_ratio = f64::NAN;
    if let Some(core) = &core_results {
        md.push_str(&core_markdown(core));
        if let Some([jwt, ours, hit]) = core.get("hs256") {
            core_ratio = ours / jwt;
            hit_ratio = hit / jwt;
        }
        md.push_str(&scopes_markdown(core));
        checks.extend(core_checks(core));
        checks.extend(scope_checks(core));
        checks.extend(allocation_checks(core));
        checks.extend(introspection_checks(core));
        if let Some([opaque, jwt, calls]) = core.get(INTROSPECTION) {
            let _ = writeln!(
                md,
                "\n### Introspected tokens (RFC 7662)\n\nA token-cache hit: opaque {opaque:.0} ns, HS256 JWT {jwt:.0} ns ({:.2}×). Introspection calls for 1,000 requests of one token: {calls:.0}.",
                opaque / jwt
            );
        }
        if let Some([hit, cold, _]) = core.get(ALLOCATIONS) {
            let _ = writeln!(
                md,
                "\n### Allocations per decision (HS256, one scope, counted by a global allocator)\n\nCache hit: {hit:.1}. Cache off: {cold:.1}.",
            );
        }
    }
    let mut http_min = f64::NAN;
    // Only a full run replaces BENCHMARKS.md; a partial one prints its HTTP section instead.
    let write_file = what.is_none() && plan.framework.is_none();
    if let Some(report) = &http_report {
        let mut section = format!(
            "\n## HTTP ({})\n\n{}\n\n",
            report.heading, report.conditions
        );
        match &report.loads {
            Ok(http) => {
                section.push_str(&http_markdown(http));
                http_min = http_min_ratio(http);
                for line in peer_lines(http) {
                    println!("{line}");
                }
            }
            Err(why) => section.push_str(&format!("Not measured: {why}\n")),
        }
        if !write_file {
            println!("{section}");
        }
        md.push_str(&section);
        md.push_str("\n## Cache memory (measured VmRSS of bench-server `--memory`)\n\n");
        match &report.memory {
            Ok(run) => {
                md.push_str("```\n");
                for line in &run.lines {
                    md.push_str(line);
                    md.push('\n');
                }
                md.push_str("```\n");
            }
            Err(why) => md.push_str(&format!("Not measured: {why}\n")),
        }
        checks.extend(http_checks(&report.loads));
        checks.extend(memory_checks(&report.memory)?);
    }

    if let Some(report) = &instances_report {
        let mut section = String::from(
            "\n## Several instances on one Redis (`jwt-axum/tests/suite/redis_instances.rs`, release build)\n\n\
             Two axum instances, each with its own `JwtAuth`, `RedisStore` connection and local \
             caches, share one `redis-server` on loopback; the client, both servers and Redis share \
             the machine's cores. Revocation check: `Revocation` over `sub` and `session_id`, \
             \"not revoked\" answers reused for 500 ms. Load: 50,000 requests over 16 keep-alive \
             connections alternating between the instances, 2,000 distinct tokens of which 1 % \
             are revoked; then the same load on two instances without the check.\n\n",
        );
        match report {
            Ok(lines) => {
                section.push_str("```\n");
                for line in lines {
                    section.push_str(line);
                    section.push('\n');
                }
                section.push_str("```\n");
            }
            Err(why) => section.push_str(&format!("Not measured: {why}\n")),
        }
        if !write_file {
            println!("{section}");
        }
        md.push_str(&section);
    }

    let count = |v: Verdict| checks.iter().filter(|c| c.verdict() == v).count();
    let (ok, missed, unmeasured) = (
        count(Verdict::Ok),
        count(Verdict::Missed),
        count(Verdict::NotMeasured),
    );
    let left_out: Vec<&str> = TARGETS
        .iter()
        .filter(|t| !checks.iter().any(|c| c.target.id == t.id))
        .map(|t| t.id)
        .collect();
    md.push_str("\n## Targets\n\n| target | what | bound |\n|---|---|---:|\n");
    for t in TARGETS {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} {} |",
            t.id,
            t.what,
            t.bound.symbol(),
            t.unit.show(t.bound.value())
        );
    }
    md.push_str("\n| target | subject | measured | bound | result |\n|---|---|---|---|---|\n");
    println!();
    for c in &checks {
        println!("{}", c.line());
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} |",
            c.target.id,
            c.subject,
            c.measured_text(),
            c.bound_text(),
            match c.verdict() {
                Verdict::Ok => "ok",
                Verdict::Missed => "**MISSED**",
                Verdict::NotMeasured => "**NOT MEASURED**",
            }
        );
    }
    if !left_out.is_empty() {
        println!(
            "targets not part of this run: {} (`cargo xtask bench` checks them all)",
            left_out.join(", ")
        );
    }
    let summary = format!(
        "targets: {} checked: {ok} ok, {missed} MISSED, {unmeasured} not measured",
        checks.len()
    );
    println!("{summary}");
    let line = format!(
        "bench: core_hs256_ratio={core_ratio:.2} cache_hit_ratio={hit_ratio:.2} http_min_ratio={http_min:.2} targets_ok={ok} targets_missed={missed} targets_not_measured={unmeasured}"
    );
    md.push_str(&format!("\n{summary}\n\n```\n{line}\n```\n"));
    if write_file {
        std::fs::write(root().join("BENCHMARKS.md"), &md)
            .map_err(|e| format!("BENCHMARKS.md: {e}"))?;
        println!("wrote BENCHMARKS.md");
    }
    println!("{line}");
    if missed + unmeasured == 0 {
        Ok(())
    } else if check {
        Err(format!(
            "--check: {missed} target(s) missed, {unmeasured} not measured"
        ))
    } else {
        println!(
            "(exit status 0 without --check; `--check` fails on a missed or unmeasured target)"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(rps: f64) -> Load {
        load_cpu(rps, 10.0)
    }

    fn load_cpu(rps: f64, cpu_us: f64) -> Load {
        Load {
            rps,
            p50_ms: 0.1,
            p99_ms: 1.0,
            requests: (rps * 3.0) as u64,
            cpu_us,
        }
    }

    /// A row measured `loads.len()` times, each paired with a bare run of `bare` req/s.
    fn row(label: &str, loads: &[Load], bare: f64) -> Row {
        let mut row = Row::new(label, BARE);
        row.loads = loads.to_vec();
        if label != BARE {
            row.baseline_loads = loads.iter().map(|_| load(bare)).collect();
            row.ratios = loads.iter().map(|l| l.rps / bare).collect();
        }
        row
    }

    const WRK_SAMPLE: &str = "Running 3s test @ http://127.0.0.1:40123/hello
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   250.31us  120.02us   5.01ms   91.23%
    Req/Sec   121.35k     3.21k  125.00k    70.00%
  Latency Distribution
     50%  231.00us
     75%  280.00us
     90%  350.00us
     99%    1.20ms
  362190 requests in 3.00s, 44.21MB read
Requests/sec: 120716.33
Transfer/sec:     14.74MB
";

    fn verdicts(checks: &[Check]) -> Vec<Verdict> {
        checks.iter().map(Check::verdict).collect()
    }

    fn memory_run(entries: u64, growth_kib: u64, server_passed: bool) -> MemoryRun {
        MemoryRun {
            lines: Vec::new(),
            entries,
            limit_bytes: 32 << 20,
            rss_before_kib: 6000,
            rss_after_kib: 6000 + growth_kib,
            server_passed,
        }
    }

    #[test]
    fn allocation_counts_are_read_and_checked() {
        let out = "warming up\nallocations per decision: hit 0.0, cold 7.5\n";
        assert_eq!(parse_allocations(out), Some((0.0, 7.5)));
        assert_eq!(
            parse_allocations("allocations per decision: hit x, cold 1"),
            None
        );
        assert_eq!(parse_allocations("nothing"), None);
        let mut core = BTreeMap::new();
        core.insert(ALLOCATIONS.to_owned(), [0.0, 7.5, f64::NAN]);
        assert_eq!(
            verdicts(&allocation_checks(&core)),
            [Verdict::Ok, Verdict::Ok]
        );
        core.insert(ALLOCATIONS.to_owned(), [0.5, 9.0, f64::NAN]);
        assert_eq!(
            verdicts(&allocation_checks(&core)),
            [Verdict::Missed, Verdict::Missed]
        );
        assert_eq!(
            verdicts(&allocation_checks(&BTreeMap::new())),
            [Verdict::NotMeasured, Verdict::NotMeasured]
        );
    }

    #[test]
    fn every_target_is_reported_by_id_once() {
        let mut ids: Vec<&str> = TARGETS.iter().map(|t| t.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), TARGETS.len());
    }

    #[test]
    fn a_bound_holds_at_its_value_and_fails_past_it_or_without_a_figure() {
        for t in TARGETS {
            let b = t.bound.value();
            assert!(t.bound.holds(b, b), "{}", t.id);
            let worse = match t.bound {
                // A bound of zero (no allocation at all): one is past it.
                Bound::AtMost(_) if b == 0.0 => 1.0,
                Bound::AtMost(_) => b * 1.01,
                Bound::AtLeast(_) => b * 0.99,
            };
            assert!(!t.bound.holds(worse, b), "{}", t.id);
            assert!(!t.bound.holds(f64::NAN, b), "{}", t.id);
        }
    }

    #[test]
    fn introspection_figures_are_parsed_and_checked() {
        let out = "x\nintrospection cache hit: opaque 276.9 ns, jwt 280.7 ns, ratio 0.99\nintrospection calls per 1000 requests of one token: 1\n";
        assert_eq!(parse_introspection(out), Some((276.9, 280.7, 1.0)));
        assert_eq!(
            parse_introspection("introspection calls per 1000 requests of one token: 1"),
            None
        );
        let mut core = BTreeMap::new();
        core.insert(INTROSPECTION.to_owned(), [300.0, 250.0, 1.0]);
        assert_eq!(
            verdicts(&introspection_checks(&core)),
            [Verdict::Ok, Verdict::Ok]
        );
        core.insert(INTROSPECTION.to_owned(), [400.0, 250.0, 2.0]);
        assert_eq!(
            verdicts(&introspection_checks(&core)),
            [Verdict::Missed, Verdict::Missed]
        );
        assert_eq!(
            verdicts(&introspection_checks(&BTreeMap::new())),
            [Verdict::NotMeasured, Verdict::NotMeasured]
        );
    }

    #[test]
    fn core_ratios_past_their_bounds_are_missed() {
        let jwt = 5000.0;
        let slow = jwt * CORE_HS256_CACHE_OFF.bound.value() * 1.02;
        let fast_hit = jwt * CORE_CACHE_HIT.bound.value() * 0.5;
        let slow_hit = jwt * CORE_CACHE_HIT.bound.value() * 1.02;
        let mut core = BTreeMap::new();
        let asym_fast = jwt * CORE_ASYM_CACHE_OFF.bound.value() * 0.98;
        core.insert("hs256".to_owned(), [jwt, slow, fast_hit]);
        core.insert("rs256".to_owned(), [jwt, asym_fast, slow_hit]);
        let checks = core_checks(&core);
        // Per algorithm, cache off then hit: HS256, RS256, then ES256 and EdDSA without results.
        assert_eq!(
            verdicts(&checks),
            [
                Verdict::Missed,
                Verdict::Ok,
                Verdict::Ok,
                Verdict::Missed,
                Verdict::NotMeasured,
                Verdict::NotMeasured,
                Verdict::NotMeasured,
                Verdict::NotMeasured
            ]
        );
        assert_eq!(checks[2].target.id, CORE_ASYM_CACHE_OFF.id);
        // The asymmetric bound is not the HS256 one: the same ratio passes one and not the other.
        core.insert("rs256".to_owned(), [jwt, slow, slow_hit]);
        assert_eq!(verdicts(&core_checks(&core))[2], Verdict::Ok);
        assert!(
            checks[0].line().ends_with(": MISSED"),
            "{}",
            checks[0].line()
        );
        assert!(checks[1].line().ends_with(": ok"), "{}", checks[1].line());
    }

    #[test]
    fn http_checks_every_cache_on_mode_against_bare() {
        let bare = 100_000.0;
        let bound = HTTP_CACHE_ON.bound.value();
        let mut http = HttpResults::new();
        let good = load(bare * (bound + 0.01));
        let poor = load(bare * (bound - 0.01));
        http.insert(
            "axum".into(),
            vec![
                row(BARE, &[load(bare); 3], bare),
                row("HS256 cache on", &[good; 3], bare),
                row(HS256_CACHE_OFF, &[load(bare * 0.1); 3], bare),
                // One bad repeat of three does not decide: the median does.
                row("RS256 cache on", &[good, poor, good], bare),
                row("RS256 cache off", &[poor, good, poor], bare),
                // Not a target, however slow.
                row(HAND_ROLLED, &[load(bare * 0.1); 3], bare),
            ],
        );
        let mut checks = http_checks(&Ok(http));
        checks.retain(|c| c.target.id == HTTP_CACHE_ON.id);
        assert_eq!(verdicts(&checks), [Verdict::Ok, Verdict::Ok]);
        assert!(checks[0].line().contains("median of 3 paired runs"));
        let mut http = HttpResults::new();
        http.insert(
            "warp".into(),
            vec![
                row(BARE, &[load(bare); 3], bare),
                row("HS256 cache on", &[poor, good, poor], bare),
            ],
        );
        let checks = http_checks(&Ok(http));
        assert_eq!(verdicts(&checks), [Verdict::Missed]);
        let missing = http_checks(&Err("wrk is missing".into()));
        assert_eq!(verdicts(&missing), [Verdict::NotMeasured]);
        assert!(missing[0].line().contains("wrk is missing"));
    }

    #[test]
    fn memory_checks_use_measured_rss() {
        let per_entry = MEMORY_PER_ENTRY.bound.value() as u64;
        let limit_kib = (32u64 << 20) / 1024;
        let allowance = MEMORY_TOTAL.bound.value() as u64;
        // Within both bounds.
        let ok = memory_checks(&Ok(memory_run(10_000, 9_000, true))).unwrap();
        assert_eq!(verdicts(&ok), [Verdict::Ok, Verdict::Ok]);
        // Too much per entry: growth = (bound + 100 B) × entries.
        let fat = memory_checks(&Ok(memory_run(
            1_000,
            (per_entry + 100) * 1_000 / 1024,
            false,
        )))
        .unwrap();
        assert_eq!(verdicts(&fat), [Verdict::Missed, Verdict::Ok]);
        // Too much in total, though little per entry (many entries).
        let total = limit_kib + allowance + 1;
        let big = memory_checks(&Ok(memory_run(total, total, false))).unwrap();
        assert_eq!(verdicts(&big), [Verdict::Ok, Verdict::Missed]);
        // No entry held: nothing to divide by, so not measured.
        let empty = memory_checks(&Ok(memory_run(0, 100, false))).unwrap();
        assert_eq!(verdicts(&empty)[0], Verdict::NotMeasured);
        // bench-server could not measure.
        let none = memory_checks(&Err("no procfs".into())).unwrap();
        assert_eq!(
            verdicts(&none),
            [Verdict::NotMeasured, Verdict::NotMeasured]
        );
        // bench-server and the table disagree: an error, not a pass.
        assert!(memory_checks(&Ok(memory_run(10_000, 9_000, false))).is_err());
        assert!(memory_checks(&Ok(memory_run(0, 100, true))).is_err());
    }

    #[test]
    fn median_of_odd_and_even_counts_ignores_non_finite_values() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[5.0, f64::NAN, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
        assert!(median(&[f64::NAN, f64::INFINITY]).is_nan());
    }

    #[test]
    fn a_row_shows_medians_and_the_median_of_its_paired_ratios() {
        let mut r = Row::new("HS256 cache on", BARE);
        r.loads = vec![
            load_cpu(90.0, 12.0),
            load_cpu(100.0, 10.0),
            load_cpu(80.0, 30.0),
        ];
        r.baseline_loads = vec![
            load_cpu(95.0, 9.0),
            load_cpu(110.0, 8.0),
            load_cpu(100.0, 11.0),
        ];
        // Each against its own bare run: not the ratio of the medians (90 ÷ median bare).
        r.ratios = vec![0.95, 0.91, 0.80];
        let s = r.summary();
        assert_eq!((s.rps, s.cpu_us, s.ratio), (90.0, 12.0, 0.91));
        // Added CPU: the row's median less its baselines' median.
        assert_eq!(s.added_cpu_us, 12.0 - 9.0);
        assert_eq!(row(BARE, &[load(1.0), load(3.0)], 1.0).summary().ratio, 1.0);
    }

    #[test]
    fn wrk_report_gives_requests_throughput_and_latency() {
        assert_eq!(parse_requests(WRK_SAMPLE), Some(362_190));
        let l = parse_wrk(WRK_SAMPLE).unwrap();
        assert_eq!(l.requests, 362_190);
        assert!((l.rps - 120_716.33).abs() < 1e-6);
        assert!((l.p50_ms - 0.231).abs() < 1e-9);
        assert!((l.p99_ms - 1.2).abs() < 1e-9);
        assert!(l.cpu_us.is_nan());
        let failing = WRK_SAMPLE.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 362190\nRequests/sec",
        );
        assert!(parse_wrk(&failing).unwrap_err().contains("non-2xx"));
        assert!(parse_wrk("unable to connect to 127.0.0.1:1").is_err());
        assert_eq!(parse_requests("no report"), None);
    }

    #[test]
    fn proc_figures_parse_from_sample_text() {
        assert_eq!(
            parse_schedstat("465140873 82372231 60\n"),
            Some(465_140_873)
        );
        assert_eq!(parse_schedstat(""), None);
        // The command name may hold spaces and parentheses; utime 250, stime 37.
        let stat = "4242 (bench (x) srv) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 37 0 0 20 0 3 0 1000 200000000 2000 18446744073709551615";
        assert_eq!(parse_stat_ticks(stat), Some(287));
        assert_eq!(parse_stat_ticks("4242 (short) S 1 2"), None);
    }

    #[test]
    fn cpu_time_between_samples_per_thread_or_in_ticks() {
        let before = CpuSample::Threads(BTreeMap::from([(1, 1_000), (2, 5_000), (3, 700)]));
        // Thread 3 ended (lost), thread 4 started (counted whole).
        let after = CpuSample::Threads(BTreeMap::from([(1, 1_500), (2, 8_000), (4, 250)]));
        assert_eq!(after.ns_since(&before, 100), Some(3_750.0));
        let ticks = CpuSample::Ticks(130).ns_since(&CpuSample::Ticks(100), 100);
        assert_eq!(ticks, Some(300_000_000.0));
        assert_eq!(CpuSample::Ticks(1).ns_since(&before, 100), None);
    }

    #[test]
    fn pinned_commands_run_under_taskset() {
        let pinned = Pinning::Pinned.command(1, "wrk");
        assert_eq!(pinned.get_program(), "taskset");
        let args: Vec<_> = pinned.get_args().collect();
        assert_eq!(args, ["-c", "1", "wrk"]);
        let loose = Pinning::Unpinned("no taskset".into());
        assert_eq!(loose.command(0, "wrk").get_program(), "wrk");
        assert!(loose.describe().contains("unpinned (no taskset)"));
        assert_eq!(
            Pinning::Pinned.describe(),
            "server pinned to CPU 0, wrk to CPU 1"
        );
    }

    #[test]
    fn the_full_http_run_stays_bounded() {
        // axum: 4 of ours, distinct tokens, hand-rolled, 2 peers × 2 algorithms.
        assert_eq!(runs_of("axum", 3), 60);
        assert_eq!(runs_of("actix", 3), 42);
        assert_eq!(runs_of("warp", 3), 36);
        assert_eq!(runs_of("poem", 3), 30);
        // Targets 5 times, the other rows 3 times, each run two servers.
        assert_eq!(runs_of("axum", 5), 68);
        assert_eq!(runs_of("actix", 5), 50);
        assert_eq!(runs_of("warp", 5), 44);
        assert_eq!(runs_of("poem", 5), 38);
        let runs: u32 = FRAMEWORKS.iter().map(|f| runs_of(f, 5)).sum();
        assert_eq!(runs, 200, "the count `xtask bench --help` gives");
        // The defaults (5 repeats, 1 s warm-up + 5 s): at most 20 minutes of load.
        assert!(runs * (WARM_UP_SECONDS + 5) <= 20 * 60, "{runs} runs");
    }

    #[test]
    fn http_table_shows_added_cpu_and_sets_hand_rolled_beside_cache_off() {
        let bare = 100_000.0;
        let mut http = HttpResults::new();
        http.insert(
            "axum".into(),
            vec![
                row(
                    BARE,
                    &[
                        load_cpu(bare, 9.0),
                        load_cpu(bare, 10.0),
                        load_cpu(bare, 11.0),
                    ],
                    bare,
                ),
                row("HS256 cache on", &[load_cpu(bare * 0.95, 11.0); 3], bare),
                row(HS256_CACHE_OFF, &[load_cpu(bare * 0.7, 14.5); 3], bare),
                row(HAND_ROLLED, &[load_cpu(bare * 0.6, 16.25); 3], bare),
            ],
        );
        let md = http_markdown(&http);
        assert!(
            md.contains("| axum | bare | 100000 | 0.10 ms | 1.00 ms | – | 10.00 µs | – |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| axum | HS256 cache on | 95000 | 0.10 ms | 1.00 ms | 95 % of bare | 11.00 µs | +1.00 µs |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| axum | hand-rolled jsonwebtoken::decode HS256 | 60000 | 0.10 ms | 1.00 ms | 60 % of bare | 16.25 µs | +6.25 µs |"),
            "{md}"
        );
        // The hand-rolled middleware is axum's one peer here: ours ÷ it, on each path.
        assert!(
            md.contains("ahead of peers: axum cache-on 1.583, cache-off 1.167"),
            "{md}"
        );
        // The hand-rolled row (0.6) is not a cache-on mode.
        assert_eq!(http_min_ratio(&http), 0.95);
        assert!(http_min_ratio(&HttpResults::new()).is_nan());
    }

    #[test]
    fn peers_are_set_against_ours_per_algorithm_and_the_lower_decides() {
        let bare = 100_000.0;
        let mut http = HttpResults::new();
        http.insert(
            "axum".into(),
            vec![
                row(BARE, &[load(bare); 3], bare),
                row("HS256 cache on", &[load(bare * 0.9); 3], bare),
                row(HS256_CACHE_OFF, &[load(bare * 0.5); 3], bare),
                row("RS256 cache on", &[load(bare * 0.9); 3], bare),
                row(RS256_CACHE_OFF, &[load(bare * 0.2); 3], bare),
                row(HAND_ROLLED, &[load(bare * 0.45); 3], bare),
                // Each peer against its own bare server (here 50 000 req/s).
                row("peer axum-jwt-auth HS256", &[load(30_000.0); 3], 50_000.0),
                row("peer axum-jwt-auth RS256", &[load(12_500.0); 3], 50_000.0),
            ],
        );
        http.insert(
            "poem".into(),
            vec![
                row(BARE, &[load(bare); 3], bare),
                row("HS256 cache on", &[load(bare); 3], bare),
            ],
        );
        let checks = peer_checks(&http);
        // Cache on: HS256 0.9 ÷ 0.6, RS256 0.9 ÷ 0.25: the lower is 1.5. Cache off: HS256
        // 0.5 ÷ 0.6 (axum-jwt-auth beats the hand-rolled 0.45), RS256 0.2 ÷ 0.25: 0.8.
        assert_eq!(verdicts(&checks), [Verdict::Ok, Verdict::Missed]);
        let Ok(on) = &checks[0].figure else { panic!() };
        assert!((on.measured - 1.5).abs() < 1e-9, "{}", on.measured);
        assert!(
            on.detail
                .contains("best peer axum-jwt-auth HS256 60.0 % of its bare"),
            "{}",
            on.detail
        );
        let Ok(off) = &checks[1].figure else { panic!() };
        assert!((off.measured - 0.8).abs() < 1e-9, "{}", off.measured);
        // poem has no peer: no check and no line.
        assert_eq!(
            peer_lines(&http),
            ["ahead of peers: axum cache-on 1.500, cache-off 0.800"]
        );
        // A peer that could not be built: its framework's checks are not measured.
        let rows = http.get_mut("axum").unwrap();
        rows[6].unmeasured = Some("cargo build failed".into());
        let checks = peer_checks(&http);
        assert_eq!(
            verdicts(&checks),
            [Verdict::NotMeasured, Verdict::NotMeasured]
        );
        assert!(checks[0].line().contains("cargo build failed"));
    }

    #[test]
    fn distinct_tokens_are_held_to_cache_off() {
        let mut http = HttpResults::new();
        let mut distinct = row(DISTINCT_TOKENS, &[load(49_000.0); 3], 50_000.0);
        distinct.baseline = HS256_CACHE_OFF;
        http.insert("axum".into(), vec![distinct]);
        let mut unmeasured = Row::new(DISTINCT_TOKENS, HS256_CACHE_OFF);
        unmeasured.unmeasured = Some("the pool of 10 distinct tokens is used up".into());
        http.insert("poem".into(), vec![unmeasured]);
        let checks = distinct_token_checks(&http);
        assert_eq!(verdicts(&checks), [Verdict::Missed, Verdict::NotMeasured]);
        assert!(
            checks[0].line().contains("49000 vs cache off 50000 req/s"),
            "{}",
            checks[0].line()
        );
        let md = http_markdown(&http);
        assert!(md.contains("98 % of HS256 cache off"), "{md}");
        assert!(
            md.contains("not measured: the pool of 10 distinct tokens is used up"),
            "{md}"
        );
    }

    #[test]
    fn scope_count_checks_hold_cache_off_and_cache_hit_growth_to_their_bounds() {
        let off_bound = CORE_SCOPES_CACHE_OFF.bound.value();
        let hit_bound = CORE_SCOPES_HIT_GROWTH.bound.value();
        let mut core = BTreeMap::new();
        core.insert(
            "scopes_1".to_owned(),
            [4000.0, 4000.0 * off_bound * 0.9, 1000.0],
        );
        core.insert(
            "scopes_25".to_owned(),
            [6000.0, 6000.0 * off_bound * 1.05, 1050.0],
        );
        core.insert(
            "scopes_100".to_owned(),
            [
                10_000.0,
                10_000.0 * off_bound * 0.99,
                1000.0 * hit_bound * 1.02,
            ],
        );
        // Cache off at N = 1, 25, 100, then the hit growth.
        let checks = scope_checks(&core);
        assert_eq!(
            verdicts(&checks),
            [Verdict::Ok, Verdict::Missed, Verdict::Ok, Verdict::Missed]
        );
        assert!(
            checks[1].line().contains("HS256, 25 scope(s)"),
            "{}",
            checks[1].line()
        );
        let md = scopes_markdown(&core);
        assert!(
            md.contains("| 25 | 6.00 µs | 3.78 µs | 0.63× | 1.05 µs | 1.05× |"),
            "{md}"
        );
        assert!(md.contains("≤ 0.600×") && md.contains("≤ 1.250×"), "{md}");
        core.insert(
            "scopes_100".to_owned(),
            [
                10_000.0,
                10_000.0 * off_bound * 1.02,
                1000.0 * hit_bound * 0.9,
            ],
        );
        assert_eq!(
            verdicts(&scope_checks(&core)),
            [Verdict::Ok, Verdict::Missed, Verdict::Missed, Verdict::Ok]
        );
        core.remove("scopes_1");
        assert_eq!(
            verdicts(&scope_checks(&core)),
            [
                Verdict::NotMeasured,
                Verdict::Missed,
                Verdict::Missed,
                Verdict::NotMeasured
            ]
        );
        assert_eq!(
            verdicts(&scope_checks(&BTreeMap::new())),
            [Verdict::NotMeasured; 4]
        );
    }

    #[test]
    fn core_figures_are_criterion_means_and_scope_groups_are_optional() {
        let dir = std::env::temp_dir().join(format!("xtask-criterion-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let write = |group: &str, bench: &str, mean: f64| {
            let d = dir.join(format!("{group}/{bench}/new"));
            std::fs::create_dir_all(&d).unwrap();
            let json = format!(
                r#"{{"mean":{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0}},"point_estimate":{mean},"standard_error":7.9}},"median":{{"point_estimate":1.0}}}}"#
            );
            std::fs::write(d.join("estimates.json"), json).unwrap();
        };
        let benches = ["jsonwebtoken_decode", "ours_no_cache", "ours_cache_hit"];
        for group in ["hs256", "rs256", "es256", "eddsa", "scopes_1", "scopes_100"] {
            for (i, bench) in benches.iter().enumerate() {
                write(group, bench, 1000.0 + i as f64);
            }
        }
        // scopes_25 lacks its cache-hit figure; only RS256 has its signature floor.
        write("scopes_25", benches[0], 5.0);
        write("scopes_25", benches[1], 6.0);
        write("rs256", "signature_only", 400.0);
        let epoch = SystemTime::UNIX_EPOCH;
        let core = core_figures(&dir, epoch).unwrap();
        assert_eq!(core["hs256"], [1000.0, 1001.0, 1002.0]);
        assert_eq!(core[&floor_key("rs256")][0], 400.0);
        assert!(!core.contains_key(&floor_key("hs256")));
        let md = core_markdown(&core);
        assert!(
            md.contains(
                "| RS256 | 1.00 µs | 1.00 µs | 1.00× | 1.00 µs | 1.00× | 0.40 µs | 0.60 µs |"
            ),
            "{md}"
        );
        assert!(md.contains("| not measured | not measured |"), "{md}");
        assert_eq!(core["scopes_100"], [1000.0, 1001.0, 1002.0]);
        assert!(core.contains_key("scopes_1") && !core.contains_key("scopes_25"));
        // A missing algorithm is an error; so is a result older than the run.
        std::fs::remove_dir_all(dir.join("eddsa")).unwrap();
        assert!(core_figures(&dir, epoch).is_err());
        let later = SystemTime::now() + Duration::from_secs(3600);
        assert!(
            estimate_ns(&dir, "hs256", benches[0], later)
                .unwrap_err()
                .contains("stale")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
