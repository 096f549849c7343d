//! DPoP (RFC 9449) end to end, with nothing simulated: a real OpenID provider
//! (`test-support/oidc/server.mjs`, panva oidc-provider) issues DPoP-bound access tokens to a
//! real client (`test-support/oidc/dpop-client.mjs`: panva oauth4webapi and `dpop`), which
//! calls `GET /agents/a1` on four real servers on 127.0.0.1 (axum, actix-web, poem, warp, each
//! behind its adapter, each with its own `JwtAuth` verifying the provider's keys discovered
//! from the issuer), once correctly and then with deliberately bad proofs.
//!
//! Every adapter must give the same answer to every scenario, and the answer must be the one
//! RFC 9449 asks for: 200 for a good proof, 401 with a `DPoP` challenge naming the reason
//! (`invalid_dpop_proof`) for a replayed proof, a proof for another URL or method, with another
//! token's hash or signed by another key, or no proof at all, and 401 `invalid_token` for the
//! bound token sent as a bearer token. With `Dpop::required()` a plain bearer token of the same
//! provider is refused; with `Dpop::allowed()` it is still accepted; with server nonces the
//! client's one retry on `use_dpop_nonce` gets through.
//!
//! Skipped with a message when Node.js is missing, except under `CI`, where that fails.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::oidc_provider::{AUDIENCE, CLIENT_ID, Provider};
use actix_web::{App, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_axum::JwtAuthExt as _;
use jwt_core::{
    AuthContext, Dpop, DpopNonces, HtuOrigin, JwtAuth, RemoteJwks, RouteTable, Validation,
};
use poem::EndpointExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use warp::Filter as _;

/// The `algs` every challenge advertises (the default proof algorithms, in this order).
const ALGS: &str = "ES256 ES384 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA";
/// The client of the provider whose tokens are always DPoP-bound.
const DPOP_CLIENT_ID: &str = "dpop-agent";
/// The protected resource every client calls.
const RESOURCE_PATH: &str = "/agents/a1";
/// The secret of the nonce-enabled servers (all four share it, as instances of one API would).
const NONCE_SECRET: [u8; 32] = [9u8; 32];
/// How long the DPoP client may take.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);
/// What dpop-client.mjs runs per URL, in order.
const SCENARIOS: [&str; 9] = [
    "accepted",
    "as_bearer",
    "replay_first",
    "replayed",
    "other_url",
    "other_method",
    "wrong_ath",
    "other_key",
    "no_proof",
];

// --- the servers -------------------------------------------------------------------------------

/// The verifier of every server: the provider's keys through discovery, its issuer and the
/// API's audience checked, RFC 9068 access tokens, `GET /agents/{agent_id}` needing
/// `agents:read` (everything else denied), DPoP with the `htu` origin from the `Host` header.
fn auth(issuer: &str, dpop: &Dpop) -> JwtAuth {
    JwtAuth::builder()
        .verifier(RemoteJwks::discover(issuer).expect("a discovery verifier"))
        .issuer(issuer)
        .audience(AUDIENCE)
        .validation(Validation::default().rfc9068(true))
        .scopes(
            RouteTable::builder()
                .route("GET /agents/{agent_id}", ["agents:read"])
                .build()
                .expect("route table"),
        )
        .dpop(dpop.clone().origin(HtuOrigin::Host("http".into())))
        .build()
        .expect("JwtAuth")
}

/// The handlers' answer: who called (`sub`), for which agent, bound to which key (`cnf.jkt`).
fn identity(ctx: &AuthContext, agent_id: &str) -> String {
    let jkt = ctx
        .claims()
        .get("cnf")
        .and_then(|cnf| cnf.get("jkt"))
        .cloned()
        .unwrap_or(Value::Null);
    json!({ "user_id": ctx.user_id(), "agent_id": agent_id, "jkt": jkt }).to_string()
}

/// How to stop a server.
enum Stop {
    /// A server task on the test's runtime: signal it, then wait for it.
    Task(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ),
    /// actix-web on its own thread and system.
    Actix(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>),
}

/// A server listening on 127.0.0.1; stopped by [`Server::shutdown`], or (abruptly) when dropped.
struct Server {
    name: &'static str,
    addr: SocketAddr,
    stop: Option<Stop>,
}

impl Server {
    fn url(&self) -> String {
        format!("http://{}{RESOURCE_PATH}", self.addr)
    }

    async fn shutdown(mut self) {
        match self.stop.take() {
            Some(Stop::Task(signal, task)) => {
                let _ = signal.send(());
                task.await.expect("server task");
            }
            Some(Stop::Actix(handle, thread)) => {
                handle.stop(false).await;
                tokio::task::spawn_blocking(move || thread.join())
                    .await
                    .expect("join task")
                    .expect("actix thread");
            }
            None => {}
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match self.stop.take() {
            Some(Stop::Task(signal, task)) => {
                let _ = signal.send(());
                task.abort();
            }
            // The command is sent at once; the thread ends when the server has stopped.
            Some(Stop::Actix(handle, _thread)) => drop(handle.stop(false)),
            None => {}
        }
    }
}

async fn start_axum(auth: JwtAuth) -> Server {
    use axum::extract::Path;
    async fn agent(Path(agent_id): Path<String>, jwt_axum::Auth(ctx): jwt_axum::Auth) -> String {
        identity(&ctx, &agent_id)
    }
    let app = axum::Router::new()
        .route("/agents/{agent_id}", axum::routing::get(agent))
        .layer(auth.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (signal, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .expect("axum server");
    });
    Server {
        name: "axum",
        addr,
        stop: Some(Stop::Task(signal, task)),
    }
}

fn start_actix(auth: JwtAuth) -> Server {
    async fn agent(agent_id: web::Path<String>, jwt_actix::Auth(ctx): jwt_actix::Auth) -> String {
        identity(&ctx, &agent_id)
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new().service(
                    web::scope("")
                        .wrap(jwt_actix::JwtAuthExt::middleware(&auth))
                        .route("/agents/{agent_id}", web::get().to(agent)),
                )
            })
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)
            .expect("listen")
            .run();
            handle_tx.send(server.handle()).expect("send handle");
            server.await.expect("actix server");
        });
    });
    let handle = handle_rx.recv().expect("actix started");
    Server {
        name: "actix",
        addr,
        stop: Some(Stop::Actix(handle, thread)),
    }
}

async fn start_poem(auth: JwtAuth) -> Server {
    use poem::web::Path;
    #[poem::handler]
    fn agent(Path(agent_id): Path<String>, jwt_poem::Auth(ctx): jwt_poem::Auth) -> String {
        identity(&ctx, &agent_id)
    }
    let app = poem::Route::new()
        .at("/agents/:agent_id", poem::get(agent))
        .with(jwt_poem::JwtAuthExt::middleware(&auth));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).expect("acceptor");
    let (signal, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        poem::Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                app,
                async move {
                    let _ = stopped.await;
                },
                Some(Duration::from_secs(1)),
            )
            .await
            .expect("poem server");
    });
    Server {
        name: "poem",
        addr,
        stop: Some(Stop::Task(signal, task)),
    }
}

async fn start_warp(auth: JwtAuth) -> Server {
    use warp::filters::path::{end, path};
    let agent = warp::get()
        .and(path("agents"))
        .and(jwt_warp::param::<String>())
        .and(end());
    let app = jwt_warp::with_auth(&auth)
        .and(agent)
        .map(|ctx: Option<AuthContext>, agent_id: String| match ctx {
            Some(ctx) => identity(&ctx, &agent_id),
            None => "anonymous".to_owned(),
        })
        .recover(jwt_warp::recover);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (signal, stopped) = tokio::sync::oneshot::channel::<()>();
    // DPoP needs one decision per request: the engine in front of the filters.
    let task = tokio::spawn(async move {
        tokio::select! {
            () = jwt_warp::serve(&auth, warp::service(app), listener) => {}
            _ = stopped => {}
        }
    });
    Server {
        name: "warp",
        addr,
        stop: Some(Stop::Task(signal, task)),
    }
}

/// The provider and the four servers of one test. Dropped: servers stopped, provider killed.
struct Stack {
    idp: Provider,
    servers: Vec<Server>,
}

impl Stack {
    /// Starts the provider (`None`: Node.js missing outside CI, the test is skipped) and the
    /// four servers, each with its own `JwtAuth` (own replay cache) built from `dpop`.
    async fn start(dpop: Dpop) -> Option<Self> {
        let idp = tokio::task::block_in_place(|| Provider::start("RS256"))?;
        let servers = vec![
            start_axum(auth(&idp.issuer, &dpop)).await,
            start_actix(auth(&idp.issuer, &dpop)),
            start_poem(auth(&idp.issuer, &dpop)).await,
            start_warp(auth(&idp.issuer, &dpop)).await,
        ];
        Some(Self { idp, servers })
    }

    fn urls(&self) -> Vec<String> {
        self.servers.iter().map(Server::url).collect()
    }

    /// The adapter listening at `url`'s origin.
    fn adapter_of(&self, url: &str) -> &'static str {
        self.servers
            .iter()
            .find(|s| url.starts_with(&format!("http://{}/", s.addr)))
            .map_or("?", |s| s.name)
    }

    /// A plain bearer token of the provider's `agent-svc` client (client_credentials, no DPoP).
    fn bearer_token(&self) -> String {
        tokio::task::block_in_place(|| self.idp.token())
    }

    async fn shutdown(mut self) {
        for server in self.servers.drain(..) {
            server.shutdown().await;
        }
    }
}

// --- the DPoP client ---------------------------------------------------------------------------

/// What dpop-client.mjs printed.
#[derive(Debug, Deserialize)]
struct Report {
    token_type: String,
    jkt: String,
    access_token: String,
    results: Vec<Exchange>,
}

/// One request of the client and what it got back.
#[derive(Debug, Clone, Deserialize)]
struct Exchange {
    url: String,
    scenario: String,
    status: u16,
    www_authenticate: Option<String>,
    dpop_nonce: Option<String>,
    body: String,
    proof: Option<String>,
}

/// A child process killed (and reaped) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A finished client run: the report and its debug log (each proof's header and payload).
struct ClientRun {
    report: Report,
    stderr: String,
}

/// Runs `node dpop-client.mjs <issuer> <urls..>` with `DPOP_CLIENT_DEBUG=1`.
async fn run_dpop_client(issuer: &str, urls: &[String]) -> ClientRun {
    let started = Instant::now();
    let mut child = Command::new("node")
        .arg("dpop-client.mjs")
        .arg(issuer)
        .args(urls)
        .current_dir(crate::oidc_provider::provider_dir())
        .env("DPOP_CLIENT_DEBUG", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node dpop-client.mjs");
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let mut child = Killed(child);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait for the DPoP client") {
            break status;
        }
        if started.elapsed() > CLIENT_TIMEOUT {
            drop(child);
            panic!(
                "dpop-client.mjs did not finish within {CLIENT_TIMEOUT:?}; its stderr:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    assert!(
        status.success(),
        "dpop-client.mjs failed ({status}):\nstderr:\n{stderr}\nstdout:\n{stdout}"
    );
    let report: Report = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("dpop-client.mjs printed no report ({e}):\n{stdout}\nstderr:\n{stderr}")
    });
    eprintln!(
        "dpop-client.mjs: {} requests in {:.1?}",
        report.results.len(),
        started.elapsed()
    );
    ClientRun { report, stderr }
}

/// The payload of a compact JWS (a DPoP proof).
fn jws_payload(jws: &str) -> Value {
    let part = jws.split('.').nth(1).expect("a compact JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url payload"))
        .expect("JSON payload")
}

/// The payloads of the proofs the client's `accepted` request to `url` sent, in order (one per
/// attempt), from its debug log.
fn accepted_attempts(stderr: &str, url: &str) -> Vec<Value> {
    let label = format!("[debug] accepted {url} proof ");
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix(&label))
        .map(|rest| {
            let payload = rest.split_once("payload=").expect("payload=").1;
            serde_json::from_str(payload).expect("logged payload is JSON")
        })
        .collect()
}

// --- expectations ------------------------------------------------------------------------------

/// Which DPoP mode the servers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Allowed,
    Required,
}

/// A `DPoP` challenge.
fn dpop_challenge(error: &str, description: &str) -> String {
    format!(r#"DPoP error="{error}", error_description="{description}", algs="{ALGS}""#)
}

/// The refusal of a bad proof.
fn bad_proof(description: &str) -> Option<String> {
    Some(dpop_challenge("invalid_dpop_proof", description))
}

/// What RFC 9449 (and jwt-core's rules) ask for, per scenario of dpop-client.mjs.
fn expected(mode: Mode, scenario: &str) -> (u16, Option<String>) {
    const SENT_AS_BEARER: &str = "sender-constrained token sent as bearer";
    match scenario {
        "accepted" | "replay_first" => (200, None),
        // Allowed: the Bearer challenge (the request used Bearer), then the DPoP one.
        "as_bearer" if mode == Mode::Allowed => (
            401,
            Some(format!(
                r#"Bearer realm="api", error="invalid_token", error_description="{SENT_AS_BEARER}", DPoP algs="{ALGS}""#
            )),
        ),
        // Required: every refusal is a DPoP challenge.
        "as_bearer" => (401, Some(dpop_challenge("invalid_token", SENT_AS_BEARER))),
        "replayed" => (401, bad_proof("DPoP proof replayed")),
        "other_url" => (401, bad_proof("DPoP proof htu mismatch")),
        "other_method" => (401, bad_proof("DPoP proof htm mismatch")),
        "wrong_ath" => (401, bad_proof("DPoP proof ath mismatch")),
        "other_key" => (401, bad_proof("DPoP key binding mismatch")),
        "no_proof" => (401, bad_proof("DPoP proof missing")),
        other => panic!("unknown scenario {other:?}"),
    }
}

/// Prints every exchange as a table (shown on failure, or with `--nocapture`).
fn print_table(title: &str, stack: &Stack, results: &[Exchange]) {
    println!("{title}:");
    for r in results {
        println!(
            "  {:<6} {:<13} {} {:<100} nonce={}",
            stack.adapter_of(&r.url),
            r.scenario,
            r.status,
            r.www_authenticate.as_deref().unwrap_or("-"),
            r.dpop_nonce.as_deref().unwrap_or("-"),
        );
    }
}

/// Checks the client's run against the servers in `mode`: every scenario on every adapter as
/// expected, a 200 body naming the DPoP client and its key, and the four adapters identical per
/// scenario. One message per failure.
fn check_run(stack: &Stack, mode: Mode, report: &Report) -> Vec<String> {
    let mut failures = Vec::new();
    if report.token_type != "DPoP" {
        failures.push(format!("token_type {:?}, not DPoP", report.token_type));
    }
    // The token as issued: bound to the client's key.
    let claims = jws_payload(&report.access_token);
    if claims["cnf"]["jkt"] != report.jkt.as_str() {
        failures.push(format!(
            "the access token's cnf.jkt {} is not the client's key {}",
            claims["cnf"], report.jkt
        ));
    }
    // scenario -> adapter -> (status, challenge)
    let mut verdicts: BTreeMap<&str, BTreeMap<&str, (u16, Option<String>)>> = BTreeMap::new();
    for server in &stack.servers {
        let url = server.url();
        for scenario in SCENARIOS {
            let found: Vec<&Exchange> = report
                .results
                .iter()
                .filter(|r| r.url == url && r.scenario == scenario)
                .collect();
            let [r] = found[..] else {
                failures.push(format!(
                    "[{}] {scenario}: {} results for {url}, expected 1",
                    server.name,
                    found.len()
                ));
                continue;
            };
            let got = (r.status, r.www_authenticate.clone());
            let want = expected(mode, scenario);
            if got != want {
                failures.push(format!(
                    "[{}] {scenario}: expected {} {:?}\n      got {} {:?} (body {:?}, proof payload {})",
                    server.name,
                    want.0,
                    want.1,
                    got.0,
                    got.1,
                    r.body,
                    r.proof.as_deref().map_or(Value::Null, jws_payload)
                ));
            }
            if r.status == 200 {
                let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
                let want_body = json!({
                    "user_id": DPOP_CLIENT_ID, "agent_id": "a1", "jkt": report.jkt
                });
                if body != want_body {
                    failures.push(format!(
                        "[{}] {scenario}: body {:?}, expected {want_body}",
                        server.name, r.body
                    ));
                }
            }
            verdicts
                .entry(scenario)
                .or_default()
                .insert(server.name, got);
        }
    }
    for (scenario, by_adapter) in &verdicts {
        let mut distinct: Vec<&(u16, Option<String>)> = by_adapter.values().collect();
        distinct.dedup();
        if distinct.len() > 1 {
            failures.push(format!("{scenario}: the adapters disagree: {by_adapter:?}"));
        }
    }
    failures
}

fn assert_no_failures(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{what}: {} failure(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

// --- a raw HTTP/1.1 client for the Rust-side requests ------------------------------------------

/// A response.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    /// The value of header `name` (lower case), when it is there exactly once.
    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self.headers.iter().filter(|(n, _)| n == name);
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Some(v),
            _ => None,
        }
    }

    fn challenge(&self) -> Option<String> {
        self.header("www-authenticate").map(str::to_owned)
    }
}

/// `GET path` on `addr` with `headers`, over a fresh connection (`Connection: close`).
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {path} on {addr} timed out"))
        .unwrap_or_else(|e| panic!("GET {path} on {addr}: {e}"));
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Decodes a chunked body (extensions and trailers ignored).
fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size =
            usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        body.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    body
}

/// Sends the same request to every server; `(adapter, reply)` in order.
async fn get_all(stack: &Stack, headers: &[(&str, &str)]) -> Vec<(&'static str, Reply)> {
    let mut replies = Vec::new();
    for server in &stack.servers {
        replies.push((server.name, get(server.addr, RESOURCE_PATH, headers).await));
    }
    replies
}

/// Checks each adapter's reply with `check` (a message on failure) and that all four gave the
/// same status and challenge. One message per failure, labelled with `what`.
fn check_replies(
    what: &str,
    replies: &[(&'static str, Reply)],
    check: impl Fn(&Reply) -> Result<(), String>,
    failures: &mut Vec<String>,
) {
    for (adapter, reply) in replies {
        println!(
            "  {adapter:<6} {what:<28} {} {}",
            reply.status,
            reply.challenge().as_deref().unwrap_or("-")
        );
        if let Err(why) = check(reply) {
            failures.push(format!(
                "[{adapter}] {what}: {why}\n      got {} {:?} (body {:?})",
                reply.status,
                reply.challenge(),
                reply.body
            ));
        }
    }
    let mut distinct: Vec<(u16, Option<String>)> = replies
        .iter()
        .map(|(_, r)| (r.status, r.challenge()))
        .collect();
    distinct.dedup();
    if distinct.len() > 1 {
        let all: Vec<String> = replies
            .iter()
            .map(|(a, r)| format!("{a}: {} {:?}", r.status, r.challenge()))
            .collect();
        failures.push(format!("{what}: the adapters disagree: {}", all.join("; ")));
    }
}

/// `Ok` when `reply` is `status` with exactly `challenge`.
fn is(reply: &Reply, status: u16, challenge: Option<&str>) -> Result<(), String> {
    if reply.status == status && reply.challenge().as_deref() == challenge {
        Ok(())
    } else {
        Err(format!("expected {status} {challenge:?}"))
    }
}

// --- the tests ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_real_client_through_every_adapter() {
    let started = Instant::now();
    let Some(stack) = Stack::start(Dpop::allowed()).await else {
        return;
    };
    let run = run_dpop_client(&stack.idp.issuer, &stack.urls()).await;
    print_table("Dpop::allowed()", &stack, &run.report.results);
    let mut failures = check_run(&stack, Mode::Allowed, &run.report);
    // No server nonce: the client's accepted request got through at its first attempt.
    for server in &stack.servers {
        let attempts = accepted_attempts(&run.stderr, &server.url());
        if attempts.len() != 1 {
            failures.push(format!(
                "[{}] accepted: {} attempts, expected 1: {attempts:?}",
                server.name,
                attempts.len()
            ));
        }
    }
    stack.shutdown().await;
    assert_no_failures("DPoP client, Dpop::allowed()", &failures);
    eprintln!(
        "dpop_real_client_through_every_adapter: {:.1?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_required_mode_refuses_bearer_tokens_of_the_same_provider() {
    let started = Instant::now();
    let Some(stack) = Stack::start(Dpop::required()).await else {
        return;
    };
    let run = run_dpop_client(&stack.idp.issuer, &stack.urls()).await;
    print_table("Dpop::required()", &stack, &run.report.results);
    // The DPoP client is served as in allowed mode (its bound token as Bearer: a DPoP challenge).
    let mut failures = check_run(&stack, Mode::Required, &run.report);

    let bearer = stack.bearer_token();
    let claims = jws_payload(&bearer);
    assert!(
        claims.get("cnf").is_none() && claims["client_id"] == CLIENT_ID,
        "agent-svc's token should be a plain bearer token: {claims}"
    );
    println!("Dpop::required(), Rust-side requests:");
    let authorization = format!("Bearer {bearer}");
    let replies = get_all(&stack, &[("Authorization", &authorization)]).await;
    let refused = dpop_challenge("invalid_token", "DPoP required");
    check_replies(
        "agent-svc bearer token",
        &replies,
        |r| is(r, 401, Some(&refused)),
        &mut failures,
    );
    // No credentials at all: the challenge is DPoP's only.
    let replies = get_all(&stack, &[]).await;
    let bare = format!(r#"DPoP algs="{ALGS}""#);
    check_replies(
        "no token",
        &replies,
        |r| is(r, 401, Some(&bare)),
        &mut failures,
    );
    stack.shutdown().await;
    assert_no_failures("Dpop::required()", &failures);
    eprintln!(
        "dpop_required_mode_refuses_bearer_tokens_of_the_same_provider: {:.1?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_allowed_mode_still_accepts_plain_bearer_tokens() {
    let started = Instant::now();
    let Some(stack) = Stack::start(Dpop::allowed()).await else {
        return;
    };
    let bearer = stack.bearer_token();
    let mut failures = Vec::new();
    println!("Dpop::allowed(), Rust-side requests:");

    // The plain bearer token of agent-svc: served, no key binding.
    let authorization = format!("Bearer {bearer}");
    let replies = get_all(&stack, &[("Authorization", &authorization)]).await;
    check_replies(
        "agent-svc bearer token",
        &replies,
        |r| {
            is(r, 200, None)?;
            let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            let want = json!({ "user_id": CLIENT_ID, "agent_id": "a1", "jkt": null });
            if body == want {
                Ok(())
            } else {
                Err(format!("body should be {want}"))
            }
        },
        &mut failures,
    );

    // Refusals of Bearer requests: the Bearer challenge, then `DPoP algs`.
    let dpop_algs = format!(r#", DPoP algs="{ALGS}""#);
    let bearer_then_dpop = |error: Option<(&str, &str)>| match error {
        Some((code, description)) => format!(
            r#"Bearer realm="api", error="{code}", error_description="{description}"{dpop_algs}"#
        ),
        None => format!(r#"Bearer realm="api"{dpop_algs}"#),
    };
    let replies = get_all(&stack, &[]).await;
    let want = bearer_then_dpop(None);
    check_replies(
        "no token",
        &replies,
        |r| {
            is(r, 401, Some(&want))?;
            match r.challenge() {
                Some(c) if c.ends_with(&dpop_algs) => Ok(()),
                _ => Err(format!("challenge should end with {dpop_algs:?}")),
            }
        },
        &mut failures,
    );
    // One signature character changed, well inside the signature (the last character of an
    // RS256 signature carries padding bits: changing it may make the token malformed instead).
    let at = bearer.rfind('.').expect("a JWS") + 10;
    let swapped = if bearer.as_bytes()[at] == b'A' {
        "B"
    } else {
        "A"
    };
    let mut tampered = bearer.clone();
    tampered.replace_range(at..=at, swapped);
    let authorization = format!("Bearer {tampered}");
    let replies = get_all(&stack, &[("Authorization", &authorization)]).await;
    let want = bearer_then_dpop(Some(("invalid_token", "invalid signature")));
    check_replies(
        "tampered bearer token",
        &replies,
        |r| is(r, 401, Some(&want)),
        &mut failures,
    );
    // A bearer token with a DPoP proof beside it: a malformed request (RFC 9449 §7.2).
    let authorization = format!("Bearer {bearer}");
    let replies = get_all(
        &stack,
        &[("Authorization", &authorization), ("DPoP", "not.a.proof")],
    )
    .await;
    let want = bearer_then_dpop(Some((
        "invalid_request",
        "A DPoP proof was sent with a bearer token",
    )));
    check_replies(
        "bearer token plus DPoP header",
        &replies,
        |r| is(r, 400, Some(&want)),
        &mut failures,
    );
    // The unbound token with the DPoP scheme: not DPoP-bound, a DPoP challenge.
    let authorization = format!("DPoP {bearer}");
    let replies = get_all(&stack, &[("Authorization", &authorization)]).await;
    let want = dpop_challenge("invalid_token", "token not DPoP-bound");
    check_replies(
        "unbound token as DPoP",
        &replies,
        |r| is(r, 401, Some(&want)),
        &mut failures,
    );

    // And the DPoP client, on the same servers, beside the bearer client.
    let run = run_dpop_client(&stack.idp.issuer, &stack.urls()).await;
    print_table("Dpop::allowed(), DPoP client", &stack, &run.report.results);
    failures.extend(check_run(&stack, Mode::Allowed, &run.report));

    stack.shutdown().await;
    assert_no_failures("Dpop::allowed()", &failures);
    eprintln!(
        "dpop_allowed_mode_still_accepts_plain_bearer_tokens: {:.1?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_server_nonce_retry_by_the_real_client() {
    let started = Instant::now();
    let nonces = || DpopNonces::new(NONCE_SECRET, Duration::from_secs(300)).expect("nonces");
    let Some(stack) = Stack::start(Dpop::allowed().nonces(nonces())).await else {
        return;
    };
    let run = run_dpop_client(&stack.idp.issuer, &stack.urls()).await;
    print_table("Dpop::allowed().nonces(..)", &stack, &run.report.results);
    // Every scenario ends as without nonces: the client retries once with the server's nonce
    // (accepted, replay_first; bad proofs carry it and fail for their own reason).
    let mut failures = check_run(&stack, Mode::Allowed, &run.report);
    let verifier = nonces();
    for server in &stack.servers {
        // The accepted request: a first proof without a nonce (refused with use_dpop_nonce and a
        // DPoP-Nonce header, the only place the client can learn one), then one with this
        // server's nonce, which got the 200 checked above.
        let attempts = accepted_attempts(&run.stderr, &server.url());
        let nonces_sent: Vec<Option<&str>> = attempts
            .iter()
            .map(|p| p.get("nonce").and_then(Value::as_str))
            .collect();
        match nonces_sent[..] {
            [None, Some(nonce)] if verifier.accepts(nonce) => {}
            _ => failures.push(format!(
                "[{}] accepted: expected a proof without nonce, then one with a nonce of this \
                 server; the proofs' nonces were {nonces_sent:?}",
                server.name
            )),
        }
        // The proofs the client built itself carry the nonce it remembered.
        for r in run.report.results.iter().filter(|r| r.url == server.url()) {
            let Some(proof) = &r.proof else { continue };
            let nonce = jws_payload(proof)
                .get("nonce")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if !nonce.as_deref().is_some_and(|n| verifier.accepts(n)) {
                failures.push(format!(
                    "[{}] {}: the proof carries no nonce of this server: {nonce:?}",
                    server.name, r.scenario
                ));
            }
        }
    }
    stack.shutdown().await;
    assert_no_failures("Dpop::allowed() with server nonces", &failures);
    eprintln!(
        "dpop_server_nonce_retry_by_the_real_client: {:.1?}",
        started.elapsed()
    );
}
