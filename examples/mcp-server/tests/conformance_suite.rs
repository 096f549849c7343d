//! The official MCP conformance suite (`@modelcontextprotocol/conformance` 0.1.16, pinned in
//! `test-support/mcp`) runs every one of its server scenarios against this crate's rmcp server
//! behind `jwt_axum`:
//!
//! - through `test-support/mcp/inject-token.mjs`, a proxy that adds a valid token (scope
//!   `mcp:all`) to each request, no scenario may fail: the layer (which reads every MCP
//!   message's body to authorize it) changes nothing in real MCP traffic, SSE streams,
//!   sessions, server-to-client requests and stream resumption included;
//! - pointed straight at the server, without a token, every scenario fails, each failure
//!   carrying the layer's 401 answer: the layer is in the path.
//!
//! Prints one line per scenario and the summary `mcp conformance suite: N scenarios, F failed`.
//! Skipped with a message when Node.js is missing, except under `CI`, where that fails.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

const SECRET: &[u8] = b"mcp-conformance-suite-secret-0123456789";
/// Longest a runner invocation may take (the whole suite takes a few seconds).
const RUNNER_TIMEOUT: Duration = Duration::from_secs(180);

fn support_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-support/mcp")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Writes past the test harness's output capture: the results must be seen.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Node.js is there and the runner installed (`npm ci` when it is missing). `false` (with a
/// message) only when Node.js is missing and `CI` is not set.
fn runner_ready() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        assert!(
            !in_ci(),
            "CI is set but `node` is not installed: the MCP conformance suite needs Node.js \
             and `npm ci --prefix test-support/mcp` (see .ci/run)"
        );
        report(
            "SKIPPED: Node.js (`node`) not found; the MCP conformance suite \
             (test-support/mcp) is skipped. Install Node.js >= 20 to run it \
             (with CI set, this is an error).",
        );
        return false;
    }
    let dir = support_dir();
    let installed = ["@modelcontextprotocol/conformance", "glob"]
        .iter()
        .all(|name| {
            dir.join(format!("node_modules/{name}/package.json"))
                .is_file()
        });
    if !installed {
        report(&format!(
            "installing the conformance runner: npm ci in {}",
            dir.display()
        ));
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "`npm ci` in {} failed; run it by hand to see why",
            dir.display()
        );
    }
    true
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the token-injecting proxy in front of `upstream`; its port.
fn start_proxy(upstream: &str, token: &str) -> (Killed, u16) {
    let mut child = Command::new("node")
        .arg("inject-token.mjs")
        .arg(upstream)
        .arg(token)
        .current_dir(support_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start inject-token.mjs");
    let stdout = child.stdout.take().expect("proxy stdout");
    let child = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the proxy's port");
    let port = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line from inject-token.mjs: {line:?}"));
    (child, port)
}

/// What one runner invocation left: exit status, stdout, and each scenario's checks.
struct Run {
    status: ExitStatus,
    stdout: String,
    scenarios: Vec<(String, Vec<Value>)>,
}

/// The scenario names `list --server` prints.
fn listed_scenarios() -> Vec<String> {
    let out = Command::new("node")
        .args(["run-conformance.mjs", "list", "--server"])
        .current_dir(support_dir())
        .output()
        .expect("run the conformance runner's list");
    assert!(out.status.success(), "list --server: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|l| l.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

/// Runs every server scenario (`--suite all`: the active ones and the pending ones) against
/// `url`, each scenario's checks saved under `out`.
fn run_suite(url: &str, out: &Path) -> Run {
    std::fs::create_dir_all(out).expect("create the results directory");
    let log = out.join("runner.log");
    let child = Command::new("node")
        .args([
            "run-conformance.mjs",
            "server",
            "--url",
            url,
            "--suite",
            "all",
        ])
        .arg("--output-dir")
        .arg(out)
        .current_dir(support_dir())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).expect("runner log"))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the conformance runner");
    let mut child = Killed(child);
    let deadline = Instant::now() + RUNNER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait for the runner") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the conformance runner took longer than {RUNNER_TIMEOUT:?} against {url}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&log).unwrap_or_default();
    let mut scenarios: Vec<(String, Vec<Value>)> = std::fs::read_dir(out)
        .expect("read the results directory")
        .filter_map(Result::ok)
        .filter_map(|entry| {
            // `server-<scenario>-<timestamp>/checks.json`
            let dir = entry.file_name().to_string_lossy().into_owned();
            let name = strip_timestamp(dir.strip_prefix("server-")?)?;
            let checks = std::fs::read_to_string(entry.path().join("checks.json")).ok()?;
            let checks: Vec<Value> = serde_json::from_str(&checks).ok()?;
            Some((name.to_owned(), checks))
        })
        .collect();
    scenarios.sort_by(|a, b| a.0.cmp(&b.0));
    Run {
        status,
        stdout,
        scenarios,
    }
}

/// `<scenario>-<ISO timestamp with ':' and '.' as '-'>` → `<scenario>`: the timestamp starts
/// at the last `-YYYY-MM-DDT`.
fn strip_timestamp(dir: &str) -> Option<&str> {
    let t = dir.rfind('T')?;
    // "-YYYY-MM-DD" is 11 characters before the 'T'.
    dir.get(..t.checked_sub(11)?)
}

fn failures(checks: &[Value]) -> Vec<&Value> {
    checks.iter().filter(|c| c["status"] == "FAILURE").collect()
}

fn count(checks: &[Value], status: &str) -> usize {
    checks.iter().filter(|c| c["status"] == status).count()
}

/// An `initialize` POSTed to `addr` without a token: the status line and the body.
fn untokened_initialize(addr: std::net::SocketAddr) -> (String, String) {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": { "name": "probe", "version": "1" }
        }
    })
    .to_string();
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (head.to_owned(), body.to_owned())
}

/// A runtime and, on it, the MCP server behind jwt-axum on a free loopback port (stopped when
/// both are dropped).
fn serve() -> (tokio::runtime::Runtime, mcp_server::Running) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let auth = mcp_server::auth(SECRET).unwrap();
    let server = runtime.block_on(mcp_server::spawn(&auth, 0)).unwrap();
    (runtime, server)
}

/// A token for `sub` with `scope`, valid for ten minutes.
fn token(sub: &str, scope: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    jwt_core::mint::hs256(SECRET, &json!({ "sub": sub, "scope": scope, "exp": exp })).unwrap()
}

fn results_dir(label: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "mcp-conformance-{label}-{}-{nanos}",
        std::process::id()
    ))
}

#[test]
fn mcp_conformance_suite_passes_behind_jwt_axum() {
    if !runner_ready() {
        return;
    }
    let started = Instant::now();
    let (_runtime, server) = serve();
    let token = token("conformance-runner", mcp_server::SCOPE);
    let (_proxy, proxy_port) = start_proxy(&format!("http://{}", server.addr()), &token);
    let listed = listed_scenarios();
    assert!(listed.len() >= 30, "list --server: {listed:?}");

    // With a valid token on every request.
    let out = results_dir("token");
    let run = run_suite(&format!("http://127.0.0.1:{proxy_port}/mcp"), &out);
    let names: Vec<&str> = run.scenarios.iter().map(|(n, _)| n.as_str()).collect();
    let mut expected: Vec<&str> = listed.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(
        names, expected,
        "every listed scenario ran once; runner output:\n{}",
        run.stdout
    );
    let mut failed = Vec::new();
    for (name, checks) in &run.scenarios {
        let failures = failures(checks);
        report(&format!(
            "  {} {name}: {} checks passed, {} failed, {} warnings",
            if failures.is_empty() { "ok  " } else { "FAIL" },
            count(checks, "SUCCESS"),
            failures.len(),
            count(checks, "WARNING"),
        ));
        for check in &failures {
            report(&format!(
                "       {}: {}",
                check["name"], check["errorMessage"]
            ));
        }
        if !failures.is_empty() {
            failed.push(name.clone());
        }
    }
    report(&format!(
        "mcp conformance suite: {} scenarios, {} failed",
        run.scenarios.len(),
        failed.len()
    ));
    assert!(
        failed.is_empty() && run.status.success(),
        "scenarios failed behind jwt-axum: {failed:?} (runner {:?}); checks in {}; runner \
         output:\n{}",
        run.status,
        out.display(),
        run.stdout
    );
    let _ = std::fs::remove_dir_all(&out);

    // Without a token: the layer answers 401 before rmcp sees anything.
    let (head, refusal) = untokened_initialize(server.addr());
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    let refusal = refusal.trim();
    assert!(!refusal.is_empty(), "the 401 has a body");
    let out = results_dir("no-token");
    let run = run_suite(&server.url(), &out);
    assert!(
        !run.status.success(),
        "the runner must fail without a token"
    );
    assert_eq!(run.scenarios.len(), listed.len(), "{}", run.stdout);
    for (name, checks) in &run.scenarios {
        let failures = failures(checks);
        assert!(
            !failures.is_empty(),
            "{name} passed without a token: {checks:?}"
        );
        for check in failures {
            let message = check["errorMessage"].as_str().unwrap_or("");
            assert!(
                message.contains(refusal) || message.contains("got 401"),
                "{name}: a failure without a token that is not the layer's 401: {check}"
            );
        }
    }
    report(&format!(
        "mcp conformance suite without a token: {} scenarios, {} failed (401 from the layer)",
        run.scenarios.len(),
        run.scenarios.len()
    ));
    let _ = std::fs::remove_dir_all(&out);
    report(&format!(
        "mcp conformance suite took {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}

/// `tools/list` through the official TypeScript SDK: a token with the tools' scope sees them
/// all; a valid token without it sees none (the server filters its list with
/// `jwt_axum::rmcp::retain_callable`), and its call is refused by the layer (403, naming the
/// scope it lacks).
#[test]
fn mcp_rmcp_tools_list_shows_only_what_the_token_may_call() {
    if !runner_ready() {
        return;
    }
    let (_runtime, server) = serve();
    let url = format!("http://{}/mcp", server.addr());
    let list = |scope: &str| -> Value {
        let token = token("lister", scope);
        let out = Command::new("node")
            .arg(support_dir().join("list-tools.mjs"))
            .args([url.as_str(), token.as_str(), "test_simple_text"])
            .output()
            .expect("run list-tools.mjs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "list-tools.mjs: {stdout}");
        serde_json::from_str(stdout.trim()).expect("list-tools.mjs prints JSON")
    };
    let all = list(mcp_server::SCOPE);
    let names = all["tools"].as_array().expect("tools");
    assert!(names.contains(&json!("test_simple_text")), "{all}");
    assert_eq!(all["call"], "ok", "{all}");
    let none = list("other:scope");
    assert_eq!(none["tools"], json!([]), "{none}");
    // The SDK reports the refusal with the layer's body, which names the missing scope.
    let refused = none["call"].as_str().unwrap_or_default();
    assert!(
        refused.contains(&format!("Required scope(s): {}", mcp_server::SCOPE)),
        "{none}"
    );
    drop(server);
}
