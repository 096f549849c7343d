//! `cargo xtask bench [core|http] [--check]`: criterion benches of the core, HTTP throughput of
//! every framework bare vs behind our middleware, and the token cache's measured memory, each
//! checked against [`TARGETS`] and written to BENCHMARKS.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::{root, target_dir};

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
}

impl Unit {
    fn show(self, v: f64) -> String {
        match self {
            Self::Ratio => format!("{v:.3}×"),
            Self::Percent => format!("{:.1} %", v * 100.0),
            Self::Bytes => format!("{v:.0} B"),
            Self::KiB => format!("{v:.0} KiB"),
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
    what: "HS256 verify + claims + route + scopes, cache off, time ÷ `jsonwebtoken::decode`",
    bound: Bound::AtMost(1.10),
    unit: Unit::Ratio,
};
const CORE_CACHE_HIT: Target = Target {
    id: "core-cache-hit",
    what: "the same on a token-cache hit, time ÷ `jsonwebtoken::decode` (every alg)",
    bound: Bound::AtMost(0.25),
    unit: Unit::Ratio,
};
const HTTP_CACHE_ON: Target = Target {
    id: "http-cache-on",
    what: "req/s behind the middleware with the cache on ÷ bare req/s (every framework, HS256 and RS256)",
    bound: Bound::AtLeast(0.90),
    unit: Unit::Percent,
};
/// Below the cache's byte budget per entry at its default limits (32 MiB / 10 000 = 3 355 B),
/// so a full cache of these tokens really stays inside its byte limit.
const MEMORY_PER_ENTRY: Target = Target {
    id: "memory-per-entry",
    what: "measured RSS growth per entry the token cache holds, after 100 000 distinct HS256 tokens (default limits)",
    bound: Bound::AtMost(3072.0),
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
const TARGETS: [&Target; 5] = [
    &CORE_HS256_CACHE_OFF,
    &CORE_CACHE_HIT,
    &HTTP_CACHE_ON,
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

/// One wrk measurement.
#[derive(Debug, Clone, Copy)]
struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

const FRAMEWORKS: [&str; 4] = ["axum", "actix", "poem", "warp"];
/// (label, --mode, --no-cache)
const MODES: [(&str, &str, bool); 5] = [
    ("bare", "bare", false),
    ("HS256 cache on", "hs256", false),
    ("HS256 cache off", "hs256", true),
    ("RS256 cache on", "rs256", false),
    ("RS256 cache off", "rs256", true),
];

fn cargo(args: &[&str]) -> Result<(), String> {
    let mut command = Command::new(env!("CARGO"));
    // A relative CARGO_TARGET_DIR handed on as is would be read by criterion from the bench's
    // own directory (jwt-core/): hand on the absolute path `target_dir` reads results from.
    if std::env::var_os("CARGO_TARGET_DIR").is_some_and(|d| !d.is_empty()) {
        command.env("CARGO_TARGET_DIR", target_dir());
    }
    let status = command
        .current_dir(root())
        .args(args)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("cargo {} failed", args.join(" ")))
}

/// Criterion's mean for one bench, refusing a result older than `since` (left over from an
/// earlier run).
fn estimate_ns(group: &str, bench: &str, since: SystemTime) -> Result<f64, String> {
    let path = target_dir().join(format!("criterion/{group}/{bench}/new/estimates.json"));
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

/// Core results: per algorithm (jsonwebtoken, ours no cache, ours cache hit) in ns.
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
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &Path, framework: &str, mode: &str, no_cache: bool) -> Result<Server, String> {
    let mut cmd = Command::new(bin);
    cmd.current_dir(root())
        .args(["--framework", framework, "--mode", mode, "--port", "0"])
        .stdout(Stdio::piped());
    if no_cache {
        cmd.arg("--no-cache");
    }
    let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", bin.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let port = lines
        .next()
        .and_then(Result::ok)
        .and_then(|l| l.rsplit(':').next().and_then(|p| p.parse().ok()))
        .ok_or("bench-server did not start")?;
    let token = lines
        .next()
        .and_then(Result::ok)
        .and_then(|l| l.strip_prefix("token ").map(str::to_owned))
        .filter(|t| t != "-");
    Ok(Server { child, port, token })
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

fn wrk(server: &Server, seconds: u32) -> Result<Load, String> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "-c32", &format!("-d{seconds}s"), "--latency"]);
    if let Some(token) = &server.token {
        cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    let out = cmd
        .arg(format!("http://127.0.0.1:{}/hello", server.port))
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        return Err(format!("non-2xx responses:\n{text}"));
    }
    let mut load = Load {
        rps: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
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
    if load.rps.is_nan() {
        return Err(format!("cannot read wrk output:\n{text}"));
    }
    Ok(load)
}

/// Per framework, each mode's label and load.
type HttpResults = BTreeMap<String, Vec<(String, Load)>>;

/// What `bench http` measured. `Err` in a field: why that part could not be measured.
struct HttpReport {
    loads: Result<HttpResults, String>,
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

fn http(seconds: u32) -> Result<HttpReport, String> {
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
    if let Err(why) = ensure_wrk() {
        println!("http: not measured: {why}");
        return Ok(HttpReport {
            loads: Err(why),
            memory,
        });
    }
    let mut results = BTreeMap::new();
    for framework in FRAMEWORKS {
        let mut rows = Vec::new();
        for (label, mode, no_cache) in MODES {
            let server = start(&bin, framework, mode, no_cache)?;
            wrk(&server, 2)?; // warm-up
            let load = wrk(&server, seconds)?;
            println!(
                "{framework:6} {label:16} {:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms",
                load.rps, load.p50_ms, load.p99_ms
            );
            rows.push((label.to_owned(), load));
        }
        results.insert(framework.to_owned(), rows);
    }
    Ok(HttpReport {
        loads: Ok(results),
        memory,
    })
}

/// The core targets, from criterion's figures.
fn core_checks(core: &BTreeMap<String, [f64; 3]>) -> Vec<Check> {
    let mut checks = Vec::new();
    let us = |ns: f64| format!("{:.2} µs", ns / 1000.0);
    for alg in ["hs256", "rs256", "es256", "eddsa"] {
        let name = alg.to_uppercase();
        let Some(&[jwt, ours, hit]) = core.get(alg) else {
            checks.push(Check::unmeasured(
                &CORE_CACHE_HIT,
                name,
                "no criterion result".into(),
            ));
            continue;
        };
        if alg == "hs256" {
            checks.push(Check::new(
                &CORE_HS256_CACHE_OFF,
                name.clone(),
                Figure {
                    measured: ours / jwt,
                    bound: CORE_HS256_CACHE_OFF.bound.value(),
                    detail: format!("{} vs {}", us(ours), us(jwt)),
                },
            ));
        }
        checks.push(Check::new(
            &CORE_CACHE_HIT,
            name,
            Figure {
                measured: hit / jwt,
                bound: CORE_CACHE_HIT.bound.value(),
                detail: format!("{} vs {}", us(hit), us(jwt)),
            },
        ));
    }
    checks
}

/// The HTTP throughput targets: every cache-on mode of every framework against its bare run.
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
    let mut checks = Vec::new();
    for (framework, rows) in http {
        let bare = rows
            .iter()
            .find(|(label, _)| label == "bare")
            .map_or(f64::NAN, |(_, l)| l.rps);
        for (label, load) in rows.iter().filter(|(l, _)| l.ends_with("cache on")) {
            checks.push(Check::new(
                &HTTP_CACHE_ON,
                format!("{framework} {label}"),
                Figure {
                    measured: load.rps / bare,
                    bound: HTTP_CACHE_ON.bound.value(),
                    detail: format!("{:.0} vs bare {bare:.0} req/s", load.rps),
                },
            ));
        }
    }
    checks
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

pub(crate) fn run(what: Option<&str>, seconds: u32, check: bool) -> Result<(), String> {
    let core_results = match what {
        None | Some("core") => Some(core()?),
        _ => None,
    };
    let http_report = match what {
        None | Some("http") => Some(http(seconds)?),
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
        md.push_str("\n## Core (criterion, per token: verify + claims + route + scopes)\n\n| alg | `jsonwebtoken::decode` | ours, cache off | ratio | ours, cache hit | ratio |\n|---|---:|---:|---:|---:|---:|\n");
        for alg in ["hs256", "rs256", "es256", "eddsa"] {
            if let Some([jwt, ours, hit]) = core.get(alg) {
                md.push_str(&format!(
                    "| {} | {:.2} µs | {:.2} µs | {:.2}× | {:.2} µs | {:.2}× |\n",
                    alg.to_uppercase(),
                    jwt / 1000.0,
                    ours / 1000.0,
                    ours / jwt,
                    hit / 1000.0,
                    hit / jwt
                ));
            }
        }
        if let Some([jwt, ours, hit]) = core.get("hs256") {
            core_ratio = ours / jwt;
            hit_ratio = hit / jwt;
        }
        checks.extend(core_checks(core));
    }
    let mut http_min = f64::NAN;
    if let Some(report) = &http_report {
        md.push_str("\n## HTTP (wrk -t1 -c32, 2 s warm-up, loopback; load generator on the same 2 cores)\n\n");
        match &report.loads {
            Ok(http) => {
                md.push_str("| framework | mode | req/s | p50 | p99 | vs bare |\n|---|---|---:|---:|---:|---:|\n");
                for (framework, rows) in http {
                    let bare = rows.first().map(|(_, l)| l.rps).unwrap_or(f64::NAN);
                    for (label, load) in rows {
                        let ratio = load.rps / bare;
                        if label.ends_with("cache on") {
                            http_min = if http_min.is_nan() {
                                ratio
                            } else {
                                http_min.min(ratio)
                            };
                        }
                        md.push_str(&format!(
                            "| {framework} | {label} | {:.0} | {:.2} ms | {:.2} ms | {:.0} % |\n",
                            load.rps,
                            load.p50_ms,
                            load.p99_ms,
                            ratio * 100.0
                        ));
                    }
                }
            }
            Err(why) => md.push_str(&format!("Not measured: {why}\n")),
        }
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
    if what.is_none() {
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
        Load {
            rps,
            p50_ms: 0.1,
            p99_ms: 1.0,
        }
    }

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
                Bound::AtMost(_) => b * 1.01,
                Bound::AtLeast(_) => b * 0.99,
            };
            assert!(!t.bound.holds(worse, b), "{}", t.id);
            assert!(!t.bound.holds(f64::NAN, b), "{}", t.id);
        }
    }

    #[test]
    fn core_ratios_past_their_bounds_are_missed() {
        let jwt = 5000.0;
        let slow = jwt * CORE_HS256_CACHE_OFF.bound.value() * 1.02;
        let fast_hit = jwt * CORE_CACHE_HIT.bound.value() * 0.5;
        let slow_hit = jwt * CORE_CACHE_HIT.bound.value() * 1.02;
        let mut core = BTreeMap::new();
        core.insert("hs256".to_owned(), [jwt, slow, fast_hit]);
        core.insert("rs256".to_owned(), [jwt, jwt, slow_hit]);
        let checks = core_checks(&core);
        // HS256 cache off, HS256 hit, RS256 hit, then ES256 and EdDSA without results.
        assert_eq!(
            verdicts(&checks),
            [
                Verdict::Missed,
                Verdict::Ok,
                Verdict::Missed,
                Verdict::NotMeasured,
                Verdict::NotMeasured
            ]
        );
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
        http.insert(
            "axum".into(),
            vec![
                ("bare".into(), load(bare)),
                ("HS256 cache on".into(), load(bare * (bound + 0.01))),
                ("HS256 cache off".into(), load(bare * 0.1)),
                ("RS256 cache on".into(), load(bare * (bound - 0.01))),
            ],
        );
        let checks = http_checks(&Ok(http));
        assert_eq!(verdicts(&checks), [Verdict::Ok, Verdict::Missed]);
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
        let ok = memory_checks(&Ok(memory_run(10_000, 20_000, true))).unwrap();
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
        assert!(memory_checks(&Ok(memory_run(10_000, 20_000, false))).is_err());
        assert!(memory_checks(&Ok(memory_run(0, 100, true))).is_err());
    }
}
