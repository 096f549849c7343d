//! `cargo xtask <task>`: project automation that needs nothing but cargo.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

mod bench;
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Project tasks for the jwt-rbac workspace"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run the shared conformance suite against every adapter and compare their responses.
    Conformance,
    /// Build and run the AgentOS demo service; other flags go to the demo (`cargo xtask demo -- --help`).
    Demo {
        /// The framework to run it on.
        #[arg(long, value_parser = ["axum", "actix", "poem", "warp"], default_value = "axum")]
        framework: String,
        /// Demo flags: --alg, --os-id, --verify-audience, --token-source, --cookie-name,
        /// --exclude, --port, --data-dir, --quiet.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Mint a token with the demo's keys: --sub, --scopes, --session-id, --aud, --ttl, --alg.
    Token {
        /// Token flags (`cargo xtask token -- --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// (Re)generate the demo's keys (--data-dir).
    Keys {
        /// Key flags (`cargo xtask keys -- --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Benchmarks: `core` (criterion vs jsonwebtoken), `http` (every framework bare vs behind the
    /// middleware, with wrk), or both (and write BENCHMARKS.md).
    Bench {
        /// `core` or `http`; both when omitted.
        #[arg(value_parser = ["core", "http"])]
        what: Option<String>,
        /// Seconds of measured load per HTTP run (after a 2 s warm-up).
        #[arg(long, default_value_t = 5)]
        seconds: u32,
    },
    /// Run every cargo-fuzz target in fuzz/ for a while (installs cargo-fuzz if missing; stable
    /// toolchain, no sanitizer).
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Only these targets (default: every file in fuzz/fuzz_targets/).
        targets: Vec<String>,
    },
}

/// The adapters whose tests implement the conformance harness.
const ADAPTERS: [(&str, &str); 4] = [
    ("axum", "jwt-axum"),
    ("actix", "jwt-actix"),
    ("poem", "jwt-poem"),
    ("warp", "jwt-warp"),
];

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn conformance() -> Result<(), String> {
    let out_dir = root().join("target/conformance");
    let _ = std::fs::remove_dir_all(&out_dir);
    let mut ok = true;
    let mut summaries = Vec::new();
    for (name, package) in ADAPTERS {
        let output = Command::new(env!("CARGO"))
            .current_dir(root())
            .args([
                "test",
                "--quiet",
                "-p",
                package,
                "--test",
                "conformance",
                "--",
                "--nocapture",
            ])
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut summary = None;
        for line in stdout.lines() {
            if line.starts_with("FAIL ") {
                println!("[{name}] {line}");
            }
            if line.starts_with(&format!("adapter {name}:")) {
                summary = Some(line.to_owned());
            }
            if line.starts_with("catalogue rows covered:") && summaries.is_empty() {
                summaries.push(line.to_owned());
            }
        }
        match summary {
            Some(line) => println!("{line}"),
            None => {
                println!("adapter {name}: 0 passed, 1 failed");
                eprintln!("{}", String::from_utf8_lossy(&output.stderr));
                ok = false;
            }
        }
        ok &= output.status.success();
    }
    for line in summaries {
        println!("{line}");
    }
    // Identical behaviour: every adapter must have answered every case the same way.
    let mut results: BTreeMap<&str, BTreeMap<String, Value>> = BTreeMap::new();
    for (name, _) in ADAPTERS {
        let path = out_dir.join(format!("{name}.json"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let map = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        results.insert(name, map);
    }
    let (first, reference) = results.iter().next().ok_or("no adapter results")?;
    let mut differences = 0;
    for (name, answers) in &results {
        for (case, expected) in reference {
            if answers.get(case) != Some(expected) {
                differences += 1;
                println!(
                    "DIFF {case}: {first} {expected} vs {name} {:?}",
                    answers.get(case)
                );
            }
        }
        if answers.len() != reference.len() {
            differences += 1;
            println!(
                "DIFF case count: {first} {} vs {name} {}",
                reference.len(),
                answers.len()
            );
        }
    }
    println!("adapter differences: {differences}");
    if ok && differences == 0 {
        Ok(())
    } else {
        Err("conformance failed".into())
    }
}

/// Runs one of the demo crate's binaries with `args` from the workspace root.
fn demo_bin(bin: &str, args: &[String]) -> Result<(), String> {
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["run", "--quiet", "-p", "agentos-demo", "--bin", bin, "--"])
        .args(args)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{bin} exited with {status}"))
    }
}

/// Whether `cargo fuzz` runs.
fn has_cargo_fuzz() -> bool {
    Command::new(env!("CARGO"))
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The fuzz targets: one file per target in fuzz/fuzz_targets/.
fn fuzz_targets() -> Result<Vec<String>, String> {
    let dir = root().join("fuzz/fuzz_targets");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|x| x == "rs")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            names.push(stem.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The number after `stat::number_of_executed_units:` in libFuzzer's final statistics.
fn executed_units(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|line| {
        line.strip_prefix("stat::number_of_executed_units:")
            .and_then(|n| n.trim().parse().ok())
    })
}

/// `cargo xtask fuzz`: runs each target for `seconds` and reports libFuzzer's execution counts.
fn fuzz(seconds: u64, only: &[String]) -> Result<(), String> {
    if !has_cargo_fuzz() {
        println!("cargo-fuzz not found: cargo install cargo-fuzz --locked");
        let status = Command::new(env!("CARGO"))
            .args(["install", "cargo-fuzz", "--locked"])
            .status()
            .map_err(|e| format!("cannot run cargo install: {e}"))?;
        if !status.success() || !has_cargo_fuzz() {
            return Err("installing cargo-fuzz failed".into());
        }
    }
    let all = fuzz_targets()?;
    if let Some(unknown) = only.iter().find(|t| !all.contains(t)) {
        return Err(format!(
            "unknown fuzz target {unknown:?} (have: {})",
            all.join(", ")
        ));
    }
    let mut total = 0u64;
    let mut failed = Vec::new();
    for target in all.iter().filter(|t| only.is_empty() || only.contains(t)) {
        println!("fuzz {target}: {seconds} s");
        // `-s none`: no sanitizer, so the stable toolchain suffices.
        let output = Command::new(env!("CARGO"))
            .current_dir(root())
            .args(["fuzz", "run", "-s", "none", target, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .arg("-print_final_stats=1")
            .output()
            .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let runs = executed_units(&stderr);
        total += runs.unwrap_or(0);
        match (output.status.success(), runs) {
            (true, Some(runs)) => println!("fuzz {target}: {runs} executions, no crash"),
            _ => {
                // The end of the report: the panic, the crash input's path, the reproduce hint.
                let lines: Vec<&str> = stderr.lines().collect();
                for line in &lines[lines.len().saturating_sub(40)..] {
                    eprintln!("[{target}] {line}");
                }
                println!("fuzz {target}: FAILED (crash inputs are in fuzz/artifacts/{target}/)");
                failed.push(target.clone());
            }
        }
    }
    println!("fuzz: {total} executions in total");
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets failed: {}", failed.join(", ")))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Conformance => conformance(),
        Task::Demo { framework, args } => demo_bin(&format!("demo-{framework}"), &args),
        Task::Token { args } => demo_bin("demo-token", &args),
        Task::Keys { args } => demo_bin("demo-keys", &args),
        Task::Fuzz { seconds, targets } => fuzz(seconds, &targets),
        Task::Bench { what, seconds } => bench::run(what.as_deref(), seconds),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
