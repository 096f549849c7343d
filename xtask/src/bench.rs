//! `cargo xtask bench [core|http]`: criterion benches of the core, and HTTP throughput of every
//! framework bare vs behind our middleware, written to BENCHMARKS.md.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::root;

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
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(args)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("cargo {} failed", args.join(" ")))
}

fn estimate_ns(group: &str, bench: &str) -> Result<f64, String> {
    let path = root().join(format!(
        "target/criterion/{group}/{bench}/new/estimates.json"
    ));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    v["mean"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no mean", path.display()))
}

/// Core results: per algorithm (jsonwebtoken, ours no cache, ours cache hit) in ns.
fn core() -> Result<BTreeMap<String, [f64; 3]>, String> {
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
                estimate_ns(alg, "jsonwebtoken_decode")?,
                estimate_ns(alg, "ours_no_cache")?,
                estimate_ns(alg, "ours_cache_hit")?,
            ],
        );
    }
    out.insert(
        "route_match_agent_os (5 paths)".into(),
        [
            estimate_ns("route_match_agent_os", ".")
                .or_else(|_| estimate_ns(".", "route_match_agent_os"))
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

/// HTTP results per framework and mode, plus the memory line.
/// Per framework, each mode's label and load.
type HttpResults = BTreeMap<String, Vec<(String, Load)>>;

fn http(seconds: u32) -> Result<(HttpResults, String), String> {
    ensure_wrk()?;
    cargo(&[
        "build",
        "--release",
        "-p",
        "agentos-demo",
        "--bin",
        "bench-server",
    ])?;
    let bin = root().join("target/release/bench-server");
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
    let memory = Command::new(&bin)
        .current_dir(root())
        .arg("--memory")
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let memory_line = String::from_utf8_lossy(&memory.stdout).trim().to_owned();
    if !memory.status.success() {
        return Err(format!("memory check failed: {memory_line}"));
    }
    println!("{memory_line}");
    Ok((results, memory_line))
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

pub(crate) fn run(what: Option<&str>, seconds: u32) -> Result<(), String> {
    let core_results = match what {
        None | Some("core") => Some(core()?),
        _ => None,
    };
    let http_results = match what {
        None | Some("http") => Some(http(seconds)?),
        _ => None,
    };
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
        md.push_str(
            "\nTargets: HS256 without cache ≤ 1.10× `jsonwebtoken::decode`; cache hit ≤ 0.25×.\n",
        );
    }
    let mut http_min = f64::NAN;
    if let Some((http, memory)) = &http_results {
        md.push_str("\n## HTTP (wrk -t1 -c32, 2 s warm-up, loopback; load generator on the same 2 cores)\n\n| framework | mode | req/s | p50 | p99 | vs bare |\n|---|---|---:|---:|---:|---:|\n");
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
        md.push_str(&format!(
            "\nTarget: with the cache on, every framework keeps ≥ 90 % of its bare throughput.\n\n## Cache memory\n\n`{memory}`\n"
        ));
    }
    let line = format!(
        "bench: core_hs256_ratio={core_ratio:.2} cache_hit_ratio={hit_ratio:.2} http_min_ratio={http_min:.2}"
    );
    md.push_str(&format!("\n```\n{line}\n```\n"));
    if what.is_none() {
        std::fs::write(root().join("BENCHMARKS.md"), &md)
            .map_err(|e| format!("BENCHMARKS.md: {e}"))?;
        println!("wrote BENCHMARKS.md");
    }
    println!("{line}");
    Ok(())
}
