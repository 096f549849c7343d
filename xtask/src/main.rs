//! `cargo xtask <task>`: project automation that needs nothing but cargo.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use clap::{Parser, Subcommand};

mod api;
mod bench;
mod features;
mod harnessless;
mod structure;

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
    /// Run the shared conformance suite on every adapter (and compare their responses) and the
    /// router differential (real servers, generated path spellings).
    Conformance,
    /// Build and run the AgentOS demo service; other flags go to the demo (`cargo xtask demo -- --help`).
    ///
    /// With `--instances N`, N demo processes of the framework on consecutive ports from
    /// `--port` (each on a free port with `--port 0`), all with the same other flags (so the
    /// same `--data-dir` keys, and with `--redis URL` the same revocations and DPoP replay
    /// cache); each URL is printed, and all stop on Ctrl-C or when one exits.
    Demo {
        /// The framework to run it on.
        #[arg(long, value_parser = ["axum", "actix", "poem", "warp"], default_value = "axum")]
        framework: String,
        /// How many demo processes to start (e.g. `--instances 2 --redis redis://127.0.0.1:6379/`).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=32))]
        instances: u16,
        /// Demo flags: --alg, --os-id, --verify-audience, --token-source, --cookie-name,
        /// --exclude, --port, --data-dir, --redis, --dpop, --quiet.
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
    /// middleware, the peers from `xtask/peers` beside their own bare frameworks, with wrk, and
    /// the token cache's measured memory), or both (and write BENCHMARKS.md). Every target is
    /// checked and printed `ok`, `MISSED` or `NOT MEASURED`.
    ///
    /// HTTP: bench-server (or peer-server) on CPU 0 and wrk on CPU 1 (taskset, when there are 2
    /// cores); each cache-on mode (the targets) is run --repeats times, the other modes 3 times,
    /// each run beside its baseline (a bare server sent the same token; for the distinct-token
    /// mode the cache off sent the same tokens): 1 s of warm-up each, then --seconds one-second
    /// slices each, alternating mode and baseline (ABBA); the table shows medians and the
    /// server's CPU time per request. The whole HTTP part takes about 200 × (1 + seconds) s at 5
    /// repeats: ~20 min at the defaults.
    Bench {
        /// `core`, `http` or `instances` (two instances on a real Redis); all when omitted.
        #[arg(value_parser = ["core", "http", "instances"])]
        what: Option<String>,
        /// Exit non-zero when a target is missed or cannot be measured (otherwise only printed).
        #[arg(long)]
        check: bool,
        /// Seconds of measured load per HTTP run and server, in 1 s slices (after a 1 s warm-up).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
        seconds: u32,
        /// HTTP: paired runs per (framework, cache-on mode), the targets (at least 3); the
        /// other modes get at most 3.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(3..))]
        repeats: u32,
        /// HTTP: only this framework (a quick look; BENCHMARKS.md is then not written).
        #[arg(long, value_parser = ["axum", "actix", "poem", "warp"])]
        framework: Option<String>,
    },
    /// Print the public API of every library crate (or, with --bless, write `api/<crate>.txt`,
    /// which a test keeps current so API changes show in review).
    Api {
        /// Rewrite the snapshots instead of printing.
        #[arg(long)]
        bless: bool,
    },
    /// Print a crate's module tree with each module's imports and its import cycles (exit 1 when
    /// there is one).
    Structure {
        /// The crate's folder.
        #[arg(default_value = "jwt-core")]
        krate: String,
    },
    /// Check every feature of every library crate alone (no default features, that one on),
    /// and each crate with none: a feature that only builds beside another fails here.
    Features,
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

/// The adapters the conformance test binary runs, in the order it reports them.
const ADAPTERS: [&str; 4] = ["axum", "actix", "poem", "warp"];

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The cargo target directory: `CARGO_TARGET_DIR` when set (a relative value is taken from the
/// workspace root), else `<workspace>/target`.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// `cargo xtask conformance`: runs the conformance crate's `adapters` test (every case on all
/// four adapters in one binary, compared case by case), its `router_differential` test (four
/// real servers, generated path spellings × tokens) and its `mcp_differential` test (four real
/// servers, generated JSON-RPC bodies × tokens × headers), prints their failure lines and summary
/// lines, and fails when either test fails or a summary line is missing.
fn conformance() -> Result<(), String> {
    // What went wrong, case by case (no such line when all is well).
    const DETAIL: [&str; 6] = [
        "FAIL ",
        "DIFF ",
        "BYPASS ",
        "DISAGREE ",
        "CANARY ",
        "FAILED ",
    ];
    let output = Command::new(env!("CARGO"))
        .current_dir(root())
        // Not `--quiet`: it would make the test binaries print progress dots in front of lines.
        .args([
            "test",
            "-p",
            "conformance",
            "--all-features",
            "--test",
            "suite",
            "--",
            "adapters::",
            "router_differential::",
            "mcp_differential::",
            "--nocapture",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut adapters: BTreeMap<&str, String> = BTreeMap::new();
    let (mut differences, mut rows, mut differential, mut mcp) = (None, None, None, None);
    for line in stdout.lines() {
        if DETAIL.iter().any(|p| line.starts_with(p)) {
            println!("{line}");
        } else if let Some(name) = ADAPTERS
            .iter()
            .find(|n| line.starts_with(&format!("adapter {n}: ")))
        {
            adapters.insert(name, line.to_owned());
        } else if line.starts_with("adapter differences: ") {
            differences = Some(line.to_owned());
        } else if line.starts_with("catalogue rows covered: ") {
            rows.get_or_insert_with(|| line.to_owned());
        } else if line.starts_with("router differential: ") && line.ends_with(" disagreements") {
            differential = Some(line.to_owned());
        } else if line.starts_with("mcp differential: ") && line.ends_with(" disagreements") {
            mcp = Some(line.to_owned());
        }
    }
    let mut missing = Vec::new();
    for name in ADAPTERS {
        match adapters.get(name) {
            Some(line) => println!("{line}"),
            None => missing.push(format!("adapter {name}")),
        }
    }
    for (line, what) in [
        (differences, "adapter differences"),
        (rows, "catalogue rows covered"),
        (differential, "router differential"),
        (mcp, "mcp differential"),
    ] {
        match line {
            Some(line) => println!("{line}"),
            None => missing.push(what.to_owned()),
        }
    }
    if !output.status.success() || !missing.is_empty() {
        // Build errors and panics land on stderr.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        for line in &lines[lines.len().saturating_sub(40)..] {
            eprintln!("{line}");
        }
    }
    if !missing.is_empty() {
        return Err(format!("no summary line for: {}", missing.join(", ")));
    }
    third_party_adapter()?;
    if output.status.success() {
        Ok(())
    } else {
        Err("conformance failed".into())
    }
}

/// The adapter written outside the shipped four (`examples/hyper-adapter`, from jwt-core's
/// public API only), certified through the conformance crate's public harness: its summary
/// line, and its answers compared case by case with axum's (both written by
/// `conformance::run` to `<target>/conformance/<adapter>.json`).
fn third_party_adapter() -> Result<(), String> {
    let output = Command::new(env!("CARGO"))
        .current_dir(root())
        .args([
            "test",
            "-p",
            "hyper-adapter",
            "--test",
            "conformance",
            "--",
            "--nocapture",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines().filter(|l| l.starts_with("FAIL ")) {
        println!("{line}");
    }
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("adapter hyper: "))
        .ok_or("no summary line for: adapter hyper")?;
    println!("{summary}");
    let read = |adapter: &str| -> Result<BTreeMap<String, serde_json::Value>, String> {
        let path = target_dir()
            .join("conformance")
            .join(format!("{adapter}.json"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let (ours, theirs) = (read("axum")?, read("hyper")?);
    let names: std::collections::BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    let differences: Vec<&&String> = names
        .iter()
        .filter(|name| ours.get(name.as_str()) != theirs.get(name.as_str()))
        .collect();
    for name in &differences {
        println!("DIFF {name}: axum and hyper answer differently");
    }
    println!("adapter hyper differences from axum: {}", differences.len());
    if !output.status.success() || !differences.is_empty() {
        return Err("the hyper adapter does not conform".into());
    }
    Ok(())
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

/// The demo's default `--port`.
const DEMO_PORT: u16 = 7777;

/// Takes the value of `--name V` / `--name=V` out of `args` (the last one wins, like clap);
/// `Ok(None)` when absent.
fn take_flag(args: &mut Vec<String>, name: &str) -> Result<Option<String>, String> {
    let mut value = None;
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--" {
            break;
        }
        if args[i] == name {
            if i + 1 >= args.len() {
                return Err(format!("{name} needs a value"));
            }
            value = Some(args.remove(i + 1));
            args.remove(i);
        } else if let Some(v) = args[i].strip_prefix(&format!("{name}=")) {
            value = Some(v.to_owned());
            args.remove(i);
        } else {
            i += 1;
        }
    }
    Ok(value)
}

/// `cargo xtask demo`: one demo process through `cargo run`, or with `--instances N` (also
/// accepted among the demo flags), N of them (see [`demo_instances`]).
fn demo(framework: &str, instances: u16, args: &[String]) -> Result<(), String> {
    let bin = format!("demo-{framework}");
    let mut args = args.to_vec();
    let instances = match take_flag(&mut args, "--instances")? {
        Some(n) => n
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=32).contains(n))
            .ok_or_else(|| format!("--instances {n}: expected 1 to 32"))?,
        None => instances,
    };
    if instances == 1 {
        demo_bin(&bin, &args)
    } else {
        demo_instances(&bin, instances, args)
    }
}

/// A started demo instance, killed on drop (so an early return stops the ones started).
struct Instance {
    child: Child,
    url: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds `bin` once, then starts `instances` of it one after the other (each waits for the
/// previous one's `listening on` line, so the first generates the keys the others read), on
/// consecutive ports from `--port` (every one on a free port with `--port 0`). The first prints
/// its banner (tokens, curl lines), the others run `--quiet`. Waits until one exits (Ctrl-C
/// reaches every process of the terminal's foreground group), then stops the others.
fn demo_instances(bin: &str, instances: u16, mut args: Vec<String>) -> Result<(), String> {
    let port = match take_flag(&mut args, "--port")? {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("--port {p}: not a port number"))?,
        None => DEMO_PORT,
    };
    if port != 0 && u32::from(port) + u32::from(instances) - 1 > u32::from(u16::MAX) {
        return Err(format!(
            "--port {port}: no room for {instances} consecutive ports"
        ));
    }
    let shared = args
        .iter()
        .any(|a| a == "--redis" || a.starts_with("--redis="));
    if !shared {
        eprintln!(
            "xtask: no --redis: each instance keeps its own revocations and DPoP replay cache \
             (a revocation made on one is not seen by the others)"
        );
    }
    let quiet = args.iter().any(|a| a == "--quiet");
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["build", "--quiet", "-p", "agentos-demo", "--bin", bin])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building {bin} failed"));
    }
    let exe = target_dir()
        .join("debug")
        .join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    let mut running: Vec<Instance> = Vec::new();
    for i in 0..instances {
        let mut cmd = Command::new(&exe);
        cmd.current_dir(root())
            .args(&args)
            .arg("--port")
            .arg(if port == 0 { 0 } else { port + i }.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if i > 0 && !quiet {
            cmd.arg("--quiet");
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let stdout = child.stdout.take();
        let mut instance = Instance {
            child,
            url: String::new(),
        };
        let mut reader = BufReader::new(stdout.ok_or("no stdout")?);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        instance.url = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("{bin} instance {} did not start", i + 1))?
            .to_owned();
        println!("{bin} instance {}: listening on {}", i + 1, instance.url);
        // The rest of its output (the first instance's banner), as it comes.
        let prefix = if i == 0 {
            String::new()
        } else {
            format!("[{}] ", i + 1)
        };
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                println!("{prefix}{line}");
            }
        });
        running.push(instance);
    }
    let urls: Vec<&str> = running.iter().map(|r| r.url.as_str()).collect();
    println!(
        "\n{instances} instances of {bin}{}: {} (Ctrl-C stops them all)",
        if shared { " sharing one Redis" } else { "" },
        urls.join(" ")
    );
    let _ = std::io::stdout().flush();
    loop {
        for (i, instance) in running.iter_mut().enumerate() {
            if let Some(status) = instance
                .child
                .try_wait()
                .map_err(|e| format!("instance {}: {e}", i + 1))?
            {
                // Dropping `running` stops the others.
                return Err(format!(
                    "{bin} instance {} ({}) exited with {status}: stopping the others",
                    i + 1,
                    instance.url
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
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
        Task::Api { bless } => api::run(&root(), bless),
        Task::Structure { krate } => {
            structure::run(&root().join(krate)).and_then(|()| harnessless::run(&root()))
        }
        Task::Features => features::run(&root()),
        Task::Demo {
            framework,
            instances,
            args,
        } => demo(&framework, instances, &args),
        Task::Token { args } => demo_bin("demo-token", &args),
        Task::Keys { args } => demo_bin("demo-keys", &args),
        Task::Fuzz { seconds, targets } => fuzz(seconds, &targets),
        Task::Bench {
            what,
            check,
            seconds,
            repeats,
            framework,
        } => bench::run(
            what.as_deref(),
            &bench::HttpPlan {
                seconds,
                repeats,
                framework,
            },
            check,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
