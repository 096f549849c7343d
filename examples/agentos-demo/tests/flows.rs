//! The demo's main flows over real HTTP, for each framework's binary: list filtering, a run whose
//! `user_id` comes from the token, session isolation between two users, writes refused without a
//! `sub`, cookie login (a bearer token exchanged for a cookie holding that same token) with its
//! CSRF rule, logout, admin revocation of a session or a user, and sessions surviving a restart.
//! The four transcripts must be identical. The `redis_` tests run several demo processes on one
//! real Redis (revocations shared across instances).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentos_demo::keys::DemoKeys;
use agentos_demo::store::{RunRecord, Store};
use agentos_demo::{COOKIE_NEEDS_ORIGIN, CROSS_SITE, REVOCATION_STORE_UNAVAILABLE, SUB_REQUIRED};
use jwt_core::Algorithm;
use serde_json::{Value, json};

#[path = "../../../jwt-core/tests/support/pki.rs"]
mod pki;

const FRAMEWORKS: [(&str, &str); 4] = [
    ("axum", env!("CARGO_BIN_EXE_demo-axum")),
    ("actix", env!("CARGO_BIN_EXE_demo-actix")),
    ("poem", env!("CARGO_BIN_EXE_demo-poem")),
    ("warp", env!("CARGO_BIN_EXE_demo-warp")),
];

/// A running demo, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(bin: &str, data_dir: &Path) -> Server {
        Self::start_with(bin, data_dir, &[], &[])
    }

    /// Starts `bin` with extra flags and environment variables.
    fn start_with(bin: &str, data_dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Server {
        let mut cmd = Command::new(bin);
        cmd.args(["--port", "0", "--quiet", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env_remove("JWT_VERIFICATION_KEY")
            .env_remove("JWT_JWKS_FILE")
            .env_remove("JWT_JWKS");
        for (name, value) in env {
            cmd.env(name, value);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("demo binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("ready line");
        let port = line
            .trim()
            .strip_prefix("listening on http://127.0.0.1:")
            .or_else(|| line.trim().strip_prefix("listening on https://127.0.0.1:"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Server { child, port }
    }

    fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        request(self.port, method, path, headers, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A tiny HTTP/1.1 client (one request per connection).
fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..pos]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

/// The demo's default `--cors-origin`.
const ALLOWED_ORIGIN: &str = "http://localhost:3000";
/// An origin the demo does not allow.
const EVIL_ORIGIN: &str = "https://evil.example";

/// A token with `claims` plus `exp` and `iat`, signed with the demo's RS256 key.
fn mint(data_dir: &Path, mut claims: Value) -> String {
    let keys = DemoKeys::load_or_generate(data_dir).expect("keys");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    claims["exp"] = json!(now + 600);
    claims["iat"] = json!(now);
    keys.mint(Algorithm::RS256, &claims).expect("mint")
}

fn token(data_dir: &Path, sub: &str, scopes: &[&str], session: Option<&str>) -> String {
    let mut claims = json!({"sub": sub, "scopes": scopes});
    if let Some(s) = session {
        claims["session_id"] = json!(s);
    }
    mint(data_dir, claims)
}

/// Records a step: its status and normalised body.
fn record(log: &mut Vec<Value>, label: &str, r: &Response) {
    log.push(json!({"step": label, "status": r.status, "body": normalise(&r.body)}));
}

/// Records a step by its status only (its body differs between frameworks on purpose).
fn log_status(log: &mut Vec<Value>, label: &str, r: &Response) {
    log.push(json!({"step": label, "status": r.status}));
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "agentos-demo-{name}-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Replaces generated ids so transcripts compare across frameworks.
fn normalise(v: &Value) -> Value {
    match v {
        Value::String(s) if s.starts_with("run-") || s.starts_with("session-") => {
            json!(s.split('-').next().unwrap_or_default())
        }
        Value::Array(a) => Value::Array(a.iter().map(normalise).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), normalise(v))).collect())
        }
        other => other.clone(),
    }
}

/// Runs every flow against one framework; returns the normalised transcript.
fn flows(bin: &str) -> Vec<Value> {
    let dir = temp_dir("flows");
    let mut log = Vec::new();
    let server = Server::start(bin, &dir);
    // The binary generated the demo keys: the secret files are owner-only.
    #[cfg(unix)]
    for name in ["hs256.secret", "rsa.key", "ec.key"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join(name))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{bin}: {name}");
    }
    let bearer = |t: &str| format!("Bearer {t}");
    let admin = bearer(&token(&dir, "admin", &["agent_os:admin"], None));
    let alice_token = token(
        &dir,
        "alice",
        &[
            "agents:agent-1:read",
            "agents:agent-1:run",
            "sessions:read",
            "sessions:delete",
        ],
        None,
    );
    let alice = bearer(&alice_token);
    let bob = bearer(&token(
        &dir,
        "bob",
        &["agents:read", "agents:run", "sessions:read"],
        None,
    ));
    let teams_only = bearer(&token(&dir, "carol", &["teams:read"], None));

    // Public routes and the missing-token error.
    let r = server.call("GET", "/health", &[], "");
    assert_eq!((r.status, &r.body), (200, &json!({"status": "ok"})));
    record(&mut log, "health", &r);
    let r = server.call("GET", "/agents", &[], "");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        json!({"detail": "JWT token missing from both Authorization header and 'access_token' cookie"})
    );
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"agentos\"")
    );
    record(&mut log, "no-token", &r);

    // Route existence is never told before auth: an unknown path or a wrong method without a
    // token is a 401 on every framework (catalogue row 77); with a token the table does not
    // list the route, so it is a 403 (fail closed), admins included.
    for (method, path) in [
        ("GET", "/nowhere"),
        ("PUT", "/agents"),
        ("PATCH", "/config"),
    ] {
        let r = server.call(method, path, &[], "");
        assert_eq!(r.status, 401, "{bin}: {method} {path}");
        record(&mut log, "unknown-no-token", &r);
        let r = server.call(method, path, &[("Authorization", &admin)], "");
        assert_eq!(r.status, 403, "{bin}: {method} {path}");
        assert_eq!(
            r.body,
            json!({"detail": "Access denied: route not permitted"})
        );
        record(&mut log, "unknown-admin", &r);
    }
    // HEAD follows GET on every framework, with GET's authorization.
    for (path, auth, want) in [
        ("/health", None, 200),
        ("/agents", Some(&alice), 200),
        ("/agents/agent-1", Some(&alice), 200),
        ("/config", Some(&alice), 403),
        ("/agents", None, 401),
    ] {
        let headers: Vec<(&str, &str)> = auth
            .map(|a| ("Authorization", a.as_str()))
            .into_iter()
            .collect();
        let r = server.call("HEAD", path, &headers, "");
        assert_eq!(r.status, want, "{bin}: HEAD {path}");
        assert_eq!(r.body, Value::Null, "{bin}: HEAD {path} has no body");
        record(&mut log, "head", &r);
    }

    // List filtering.
    let r = server.call("GET", "/agents", &[("Authorization", &alice)], "");
    assert_eq!(
        (r.status, &r.body),
        (200, &json!([{"id": "agent-1", "name": "Echo Agent One"}]))
    );
    record(&mut log, "list-alice", &r);
    let r = server.call("GET", "/agents", &[("Authorization", &admin)], "");
    assert_eq!(r.body.as_array().map(Vec::len), Some(2));
    record(&mut log, "list-admin", &r);
    let r = server.call("GET", "/agents", &[("Authorization", &teams_only)], "");
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        json!({"detail": "Insufficient permissions. Required scope(s): agents:read"})
    );
    record(&mut log, "list-teams-only", &r);
    let r = server.call("GET", "/agents/agent-9", &[("Authorization", &admin)], "");
    assert_eq!(
        (r.status, &r.body),
        (404, &json!({"detail": "Agent not found"}))
    );
    record(&mut log, "unknown-agent", &r);

    // A run: the token's user id wins over the form's.
    let form = [
        ("Authorization", alice.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let r = server.call(
        "POST",
        "/agents/agent-1/runs",
        &form,
        "message=hello&user_id=mallory&session_id=s-alice",
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["user_id"], "alice");
    assert_eq!(r.body["agent_id"], "agent-1");
    assert_eq!(r.body["session_id"], "s-alice");
    assert_eq!(r.body["content"], "Echo Agent One echoes: hello");
    record(&mut log, "run-alice", &r);
    let r = server.call("POST", "/agents/agent-2/runs", &form, "message=hello");
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        json!({"detail": "Insufficient permissions. Required scope(s): agents:agent-2:run"})
    );
    record(&mut log, "run-forbidden", &r);
    let json_body = [
        ("Authorization", bob.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = server.call(
        "POST",
        "/agents/agent-2/runs",
        &json_body,
        r#"{"message":"hi","session_id":"s-bob"}"#,
    );
    assert_eq!((r.status, &r.body["user_id"]), (200, &json!("bob")));
    record(&mut log, "run-bob", &r);
    let r = server.call(
        "POST",
        "/agents/agent-1/runs",
        &json_body,
        r#"{"message":"steal","session_id":"s-alice"}"#,
    );
    assert_eq!(
        (r.status, &r.body),
        (404, &json!({"detail": "Session not found"}))
    );
    record(&mut log, "run-into-other-session", &r);
    let r = server.call(
        "POST",
        "/agents/agent-1/runs",
        &json_body,
        r#"{"session_id":"x"}"#,
    );
    assert_eq!(
        (r.status, &r.body),
        (400, &json!({"detail": "message is required"}))
    );
    record(&mut log, "run-without-message", &r);

    // Listing runs needs read and run on that agent (agno's route-level check).
    let reader = bearer(&token(&dir, "dave", &["agents:agent-1:read"], None));
    let r = server.call(
        "GET",
        "/agents/agent-1/runs",
        &[("Authorization", &reader)],
        "",
    );
    assert_eq!(
        (r.status, &r.body),
        (403, &json!({"detail": "Access denied to run this agent"}))
    );
    record(&mut log, "runs-need-run", &r);
    let r = server.call(
        "GET",
        "/agents/agent-1/runs",
        &[("Authorization", &alice)],
        "",
    );
    assert_eq!(r.body.as_array().map(Vec::len), Some(1));
    record(&mut log, "runs-alice", &r);
    let run_id = r.body[0]["run_id"].as_str().unwrap_or_default().to_owned();
    let r = server.call(
        "POST",
        &format!("/agents/agent-1/runs/{run_id}/cancel"),
        &[("Authorization", &alice)],
        "",
    );
    assert_eq!((r.status, &r.body["status"]), (200, &json!("cancelled")));
    record(&mut log, "cancel", &r);

    // Session isolation.
    let r = server.call("GET", "/sessions", &[("Authorization", &alice)], "");
    let ids: Vec<&str> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["session_id"].as_str())
        .collect();
    assert_eq!(ids, ["s-alice"]);
    record(&mut log, "sessions-alice", &r);
    let r = server.call("GET", "/sessions", &[("Authorization", &admin)], "");
    assert_eq!(r.body["data"].as_array().map(Vec::len), Some(2));
    record(&mut log, "sessions-admin", &r);
    let r = server.call("GET", "/sessions/s-bob", &[("Authorization", &alice)], "");
    assert_eq!(
        (r.status, &r.body),
        (404, &json!({"detail": "Session not found"}))
    );
    record(&mut log, "session-other-user", &r);
    let r = server.call("GET", "/sessions/s-alice", &[("Authorization", &alice)], "");
    assert_eq!((r.status, &r.body["runs"]), (200, &json!(1)));
    record(&mut log, "session-own", &r);

    // Writes need a subject. A token without `sub` (a client-credentials token, say) is refused
    // on every write, admins included, and never falls back to the ids the client sends; reads
    // show it nothing (absent owners never match).
    let service = bearer(&mint(
        &dir,
        json!({"scopes": ["agents:read", "agents:run", "sessions:read", "sessions:delete"]}),
    ));
    let service_admin = bearer(&mint(&dir, json!({"scopes": ["agent_os:admin"]})));
    for auth in [&service, &service_admin] {
        let r = server.call(
            "POST",
            "/agents/agent-1/runs",
            &[
                ("Authorization", auth),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            "message=hijack&user_id=alice&session_id=s-alice",
        );
        assert_eq!((r.status, &r.body), (403, &json!({"detail": SUB_REQUIRED})));
        record(&mut log, "run-without-sub", &r);
    }
    let r = server.call(
        "POST",
        &format!("/agents/agent-1/runs/{run_id}/cancel"),
        &[("Authorization", &service)],
        "",
    );
    assert_eq!((r.status, &r.body), (403, &json!({"detail": SUB_REQUIRED})));
    record(&mut log, "cancel-without-sub", &r);
    let r = server.call(
        "DELETE",
        "/sessions/s-alice",
        &[("Authorization", &service)],
        "",
    );
    assert_eq!((r.status, &r.body), (403, &json!({"detail": SUB_REQUIRED})));
    record(&mut log, "delete-without-sub", &r);
    let r = server.call("GET", "/sessions", &[("Authorization", &service)], "");
    assert_eq!((r.status, &r.body), (200, &json!({"data": []})));
    record(&mut log, "sessions-without-sub", &r);

    // A legacy row without an owner (written straight into the store): `None == None` never
    // grants, neither to a token without `sub` nor to anyone else.
    let legacy = RunRecord {
        run_id: "run-legacy".into(),
        kind: "agents".into(),
        component_id: "agent-1".into(),
        user_id: None,
        session_id: "s-legacy".into(),
        content: "legacy".into(),
        status: "completed".into(),
    };
    let stored = Store::open(&dir.join("demo.sqlite3"))
        .and_then(|store| store.record_run(&legacy, 0, |_| true))
        .expect("legacy row");
    assert!(stored);
    for auth in [&service, &bob] {
        let r = server.call("GET", "/sessions/s-legacy", &[("Authorization", auth)], "");
        assert_eq!(
            (r.status, &r.body),
            (404, &json!({"detail": "Session not found"}))
        );
        record(&mut log, "legacy-session", &r);
    }
    let r = server.call(
        "POST",
        "/agents/agent-1/runs/run-legacy/cancel",
        &[("Authorization", &bob)],
        "",
    );
    assert_eq!(
        (r.status, &r.body),
        (404, &json!({"detail": "Run not found"}))
    );
    record(&mut log, "legacy-cancel", &r);
    let r = server.call(
        "POST",
        "/agents/agent-1/runs",
        &json_body,
        r#"{"message":"join","session_id":"s-legacy"}"#,
    );
    assert_eq!(
        (r.status, &r.body),
        (404, &json!({"detail": "Session not found"}))
    );
    record(&mut log, "legacy-join", &r);

    // Cookie login. No endpoint mints a token for an anonymous caller: GET is no route (401
    // without a token, 403 with one: the table lists only POST), POST needs a valid bearer.
    for (method, auth, want) in [
        ("GET", None, 401),
        ("POST", None, 401),
        ("GET", Some(alice.as_str()), 403),
        ("POST", Some("Bearer a.b.c"), 401),
    ] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        let r = server.call(method, "/set-auth-cookie", &headers, "");
        assert_eq!(r.status, want, "{bin}: {method} /set-auth-cookie");
        assert_eq!(r.header("set-cookie"), None, "{bin}: {method} set a cookie");
        record(&mut log, "set-cookie-refused", &r);
    }
    // The exchange: a valid bearer token becomes an HttpOnly cookie holding exactly that token
    // (never a new, broader one), expiring with it.
    let r = server.call("POST", "/set-auth-cookie", &[("Authorization", &alice)], "");
    assert_eq!(r.status, 200, "{bin}: {:?}", r.body);
    assert_eq!(r.body["user_id"], "alice");
    let cookie = r.header("set-cookie").expect("cookie set").to_owned();
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=",
    ] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap_or_default().to_owned();
    assert_eq!(
        pair,
        format!("access_token={alice_token}"),
        "{bin}: the cookie holds the presented token"
    );
    record(&mut log, "set-cookie", &r);
    // A cookie cannot renew itself: on this route the middleware reads only the bearer header.
    let r = server.call(
        "POST",
        "/set-auth-cookie",
        &[("Cookie", &pair), ("Origin", ALLOWED_ORIGIN)],
        "",
    );
    assert_eq!(r.status, 401, "{bin}: cookie renewed itself");
    assert_eq!(r.header("set-cookie"), None);
    record(&mut log, "set-cookie-from-cookie", &r);
    // The cookie authenticates with the token's own scopes: alice's listing, no run of agent-2.
    let r = server.call("GET", "/agents", &[("Cookie", &pair)], "");
    assert_eq!(
        (r.status, &r.body),
        (200, &json!([{"id": "agent-1", "name": "Echo Agent One"}]))
    );
    record(&mut log, "cookie-list", &r);
    let own_origin = format!("http://127.0.0.1:{}", server.port);
    let cookie_run = |agent: &str, extra: &[(&str, &str)]| {
        let mut headers = vec![
            ("Cookie", pair.as_str()),
            ("Content-Type", "application/json"),
        ];
        headers.extend_from_slice(extra);
        server.call(
            "POST",
            &format!("/agents/{agent}/runs"),
            &headers,
            r#"{"message":"via cookie"}"#,
        )
    };
    let r = cookie_run("agent-2", &[("Origin", ALLOWED_ORIGIN)]);
    assert_eq!(
        (r.status, &r.body),
        (
            403,
            &json!({"detail": "Insufficient permissions. Required scope(s): agents:agent-2:run"})
        )
    );
    record(&mut log, "cookie-run-agent-2", &r);

    // CSRF. A cookie-authenticated write needs an Origin of an allowed origin (a --cors-origin
    // or the demo's own), or, without Origin, such a Referer.
    let referer = format!("{own_origin}/ui/chat?x=1");
    for (extra, label) in [
        (vec![("Origin", ALLOWED_ORIGIN)], "cookie-run-cors-origin"),
        (
            vec![("Origin", own_origin.as_str())],
            "cookie-run-own-origin",
        ),
        (
            vec![("Referer", referer.as_str())],
            "cookie-run-own-referer",
        ),
    ] {
        let r = cookie_run("agent-1", &extra);
        assert_eq!(r.status, 200, "{bin}: {label}: {:?}", r.body);
        assert_eq!(r.body["user_id"], "alice");
        assert_eq!(r.body["content"], "Echo Agent One echoes: via cookie");
        record(&mut log, label, &r);
    }
    for (extra, label) in [
        (vec![], "cookie-run-no-origin"),
        (
            vec![("Referer", "https://evil.example/page")],
            "cookie-run-cross-site-referer",
        ),
    ] {
        let r = cookie_run("agent-1", &extra);
        assert_eq!(
            (r.status, &r.body),
            (403, &json!({"detail": COOKIE_NEEDS_ORIGIN})),
            "{bin}: {label}"
        );
        record(&mut log, label, &r);
    }
    // A cross-site Origin is a 403 on every write, cookie or bearer. poem's CORS layer answers
    // it itself (403, its own text); axum's, actix's and warp's (tower-http's) let it through to
    // the demo's check (403, `CROSS_SITE`): the transcript keeps the status only.
    let bearer_run = |extra: &[(&str, &str)]| {
        let mut headers = vec![("Authorization", alice.as_str())];
        headers.extend_from_slice(extra);
        server.call("POST", "/agents/agent-1/runs", &headers, "message=x")
    };
    for (r, label) in [
        (
            cookie_run("agent-1", &[("Origin", EVIL_ORIGIN)]),
            "cookie-cross-site",
        ),
        (
            cookie_run("agent-1", &[("Origin", "null")]),
            "cookie-null-origin",
        ),
        (bearer_run(&[("Origin", EVIL_ORIGIN)]), "bearer-cross-site"),
        (
            server.call(
                "POST",
                "/set-auth-cookie",
                &[("Authorization", &alice), ("Origin", EVIL_ORIGIN)],
                "",
            ),
            "set-cookie-cross-site",
        ),
    ] {
        assert_eq!(r.status, 403, "{bin}: {label}: {:?}", r.body);
        assert_eq!(r.header("set-cookie"), None, "{bin}: {label}");
        if bin.contains("axum") || bin.contains("actix") {
            assert_eq!(r.body, json!({"detail": CROSS_SITE}), "{bin}: {label}");
        }
        log_status(&mut log, label, &r);
    }
    // A bearer write needs no Origin (curl, servers; browsers never add the header themselves);
    // an allowed Origin is fine too.
    let r = bearer_run(&[]);
    assert_eq!(r.status, 200, "{bin}: {:?}", r.body);
    record(&mut log, "bearer-run-no-origin", &r);
    let r = server.call(
        "POST",
        "/set-auth-cookie",
        &[("Authorization", &alice), ("Origin", ALLOWED_ORIGIN)],
        "",
    );
    assert_eq!(r.status, 200, "{bin}: {:?}", r.body);
    assert!(r.header("set-cookie").is_some());
    record(&mut log, "set-cookie-allowed-origin", &r);
    // Every other write by cookie follows the same rule; nothing changes when refused.
    let r = server.call(
        "POST",
        &format!("/agents/agent-1/runs/{run_id}/cancel"),
        &[("Cookie", &pair)],
        "",
    );
    assert_eq!(
        (r.status, &r.body),
        (403, &json!({"detail": COOKIE_NEEDS_ORIGIN}))
    );
    record(&mut log, "cookie-cancel-no-origin", &r);
    let r = server.call("DELETE", "/sessions/s-alice", &[("Cookie", &pair)], "");
    assert_eq!(
        (r.status, &r.body),
        (403, &json!({"detail": COOKIE_NEEDS_ORIGIN}))
    );
    record(&mut log, "cookie-delete-no-origin", &r);

    // Logout: POST only (GET is no route), no token needed, the same CSRF rule when the request
    // carries the cookie.
    let r = server.call("GET", "/clear-auth-cookie", &[], "");
    assert_eq!(r.status, 401);
    assert_eq!(r.header("set-cookie"), None);
    record(&mut log, "clear-cookie-get", &r);
    let r = server.call("POST", "/clear-auth-cookie", &[("Cookie", &pair)], "");
    assert_eq!(
        (r.status, &r.body),
        (403, &json!({"detail": COOKIE_NEEDS_ORIGIN}))
    );
    assert_eq!(r.header("set-cookie"), None);
    record(&mut log, "clear-cookie-no-origin", &r);
    let r = server.call(
        "POST",
        "/clear-auth-cookie",
        &[("Cookie", &pair), ("Origin", ALLOWED_ORIGIN)],
        "",
    );
    assert_eq!(r.status, 200);
    let cleared = r.header("set-cookie").unwrap_or_default().to_owned();
    assert!(
        cleared.starts_with("access_token=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    record(&mut log, "clear-cookie", &r);

    // Revocation (admin only; in memory without --redis): every token of a session, or of a
    // user, issued up to now is refused from then on; the CSRF rule of writes applies.
    let in_session =
        |sub: &str, session: &str| bearer(&token(&dir, sub, &["agents:read"], Some(session)));
    let (erin_s1, erin_s2) = (
        in_session("erin", "s-revoke-1"),
        in_session("erin", "s-revoke-2"),
    );
    let frank = in_session("frank", "s-revoke-3");
    let admin_cookie = format!("access_token={}", admin.trim_start_matches("Bearer "));
    for (path, headers, want, label) in [
        (
            "/sessions/s-revoke-1/revoke",
            vec![("Authorization", alice.as_str())],
            403,
            "revoke-session-not-admin",
        ),
        (
            "/users/erin/revoke",
            vec![("Authorization", alice.as_str())],
            403,
            "revoke-user-not-admin",
        ),
        (
            "/sessions/s-revoke-1/revoke",
            vec![],
            401,
            "revoke-session-no-token",
        ),
        (
            "/sessions/s-revoke-1/revoke",
            vec![("Cookie", admin_cookie.as_str())],
            403,
            "revoke-session-cookie-no-origin",
        ),
    ] {
        let r = server.call("POST", path, &headers, "");
        assert_eq!(r.status, want, "{bin}: {label}: {:?}", r.body);
        record(&mut log, label, &r);
    }
    let r = server.call("GET", "/agents", &[("Authorization", &erin_s1)], "");
    assert_eq!(r.status, 200, "{bin}: a refused revocation revoked nothing");
    let before_revoke = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let revoked = |log: &mut Vec<Value>, label: &str, r: &Response, field: &str, id: &str| {
        assert_eq!(r.status, 200, "{bin}: {label}: {:?}", r.body);
        assert_eq!(r.body[field], id, "{bin}: {label}");
        let issued_before = r.body["issued_before"].as_u64().expect("issued_before");
        assert!(
            issued_before > before_revoke,
            "{bin}: {label}: {issued_before}"
        );
        // `issued_before` is a time: the transcript keeps the rest.
        let mut body = r.body.clone();
        body.as_object_mut().map(|o| o.remove("issued_before"));
        log.push(json!({"step": label, "status": r.status, "body": body}));
    };
    let r = server.call(
        "POST",
        "/sessions/s-revoke-1/revoke",
        &[("Authorization", &admin)],
        "",
    );
    revoked(
        &mut log,
        "revoke-session",
        &r,
        "revoked_session",
        "s-revoke-1",
    );
    let r = server.call("GET", "/agents", &[("Authorization", &erin_s1)], "");
    assert_eq!(
        (r.status, &r.body),
        (401, &json!({"detail": "Token has been revoked"})),
        "{bin}"
    );
    record(&mut log, "revoked-session-token", &r);
    let r = server.call("GET", "/agents", &[("Authorization", &erin_s2)], "");
    assert_eq!(r.status, 200, "{bin}: another session of the same user");
    record(&mut log, "other-session-token", &r);
    let r = server.call(
        "POST",
        "/users/frank/revoke",
        &[("Cookie", &admin_cookie), ("Origin", ALLOWED_ORIGIN)],
        "",
    );
    revoked(
        &mut log,
        "revoke-user-by-cookie",
        &r,
        "revoked_user",
        "frank",
    );
    let r = server.call("GET", "/agents", &[("Authorization", &frank)], "");
    assert_eq!(r.status, 401, "{bin}: {:?}", r.body);
    record(&mut log, "revoked-user-token", &r);
    let r = server.call("GET", "/agents", &[("Authorization", &erin_s2)], "");
    assert_eq!(r.status, 200, "{bin}: another user");

    // Restart keeps sessions and runs.
    drop(server);
    let server = Server::start(bin, &dir);
    let r = server.call("GET", "/sessions/s-alice", &[("Authorization", &alice)], "");
    assert_eq!((r.status, &r.body["runs"]), (200, &json!(1)));
    record(&mut log, "after-restart", &r);
    let r = server.call(
        "DELETE",
        "/sessions/s-alice",
        &[("Authorization", &alice)],
        "",
    );
    assert_eq!(r.status, 200);
    let r = server.call("GET", "/sessions/s-alice", &[("Authorization", &alice)], "");
    assert_eq!(r.status, 404);
    record(&mut log, "deleted", &r);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    log
}

#[test]
fn demo_flows_are_identical_on_all_four_frameworks() {
    let transcripts: Vec<(&str, Vec<Value>)> = std::thread::scope(|s| {
        let handles: Vec<_> = FRAMEWORKS
            .iter()
            .map(|(name, bin)| (*name, s.spawn(move || flows(bin))))
            .collect();
        handles
            .into_iter()
            .map(|(name, h)| {
                (
                    name,
                    h.join().unwrap_or_else(|_| panic!("{name} flows failed")),
                )
            })
            .collect()
    });
    let (first, reference) = &transcripts[0];
    for (name, transcript) in &transcripts[1..] {
        for (a, b) in reference.iter().zip(transcript) {
            assert_eq!(a, b, "{first} and {name} differ");
        }
        assert_eq!(reference.len(), transcript.len());
    }
}

#[test]
fn external_keys_generate_nothing_and_cookie_login_mints_nothing() {
    let dir = temp_dir("external");
    let jwks =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../jwt-core/tests/fixtures/jwks.json");
    let server = Server::start_with(FRAMEWORKS[0].1, &dir, &[], &[("JWT_JWKS_FILE", &jwks)]);
    for method in ["GET", "POST"] {
        let r = server.call(method, "/set-auth-cookie", &[], "");
        assert_eq!(
            r.status, 401,
            "{method} /set-auth-cookie needs a valid token"
        );
        assert_eq!(r.header("set-cookie"), None);
    }
    assert!(
        !dir.join("hs256.secret").exists(),
        "no keys generated with external keys"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mcp_demo_with_resource_serves_rfc9728_metadata_on_all_four_frameworks() {
    for (name, bin) in FRAMEWORKS {
        let dir = temp_dir(&format!("prm-{name}"));
        let resource = "http://127.0.0.1:7777";
        let server = Server::start_with(
            bin,
            &dir,
            &[
                "--resource",
                resource,
                "--authorization-server",
                "https://idp.example.test",
            ],
            &[],
        );
        let doc = server.call("GET", "/.well-known/oauth-protected-resource", &[], "");
        assert_eq!(doc.status, 200, "{name}");
        assert_eq!(
            doc.header("cache-control"),
            Some("public, max-age=3600"),
            "{name}"
        );
        let body = &doc.body;
        assert_eq!(body["resource"], resource, "{name}");
        assert_eq!(
            body["authorization_servers"],
            json!(["https://idp.example.test"])
        );
        assert!(
            body["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("agents:read")),
            "{name}: {body}"
        );
        let refused = server.call("GET", "/agents", &[], "");
        assert_eq!(refused.status, 401, "{name}");
        assert!(
            refused.header("www-authenticate").unwrap().contains(
                r#"resource_metadata="http://127.0.0.1:7777/.well-known/oauth-protected-resource""#
            ),
            "{name}"
        );
        // A token for this resource (RFC 8707 audience) is accepted; one without it is not.
        let mut claims = json!({"sub": "alice", "scopes": ["agents:read"], "aud": resource});
        let for_us = mint(&dir, claims.clone());
        let ok = server.call(
            "GET",
            "/agents",
            &[("Authorization", &format!("Bearer {for_us}"))],
            "",
        );
        assert_eq!(ok.status, 200, "{name}: {}", ok.body);
        claims.as_object_mut().unwrap().remove("aud");
        let no_aud = mint(&dir, claims);
        let r = server.call(
            "GET",
            "/agents",
            &[("Authorization", &format!("Bearer {no_aud}"))],
            "",
        );
        assert_eq!(r.status, 401, "{name}");
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn cookie_login_follows_the_token_source() {
    for (name, bin) in FRAMEWORKS {
        // Cookie only: the middleware reads the cookie everywhere except on
        // `POST /set-auth-cookie`, which reads the bearer header it exchanges.
        let dir = temp_dir("cookie-only");
        let server = Server::start_with(bin, &dir, &["--token-source", "cookie"], &[]);
        let raw = token(&dir, "alice", &["agents:read"], None);
        let alice = format!("Bearer {raw}");
        let r = server.call("POST", "/set-auth-cookie", &[("Authorization", &alice)], "");
        assert_eq!(r.status, 200, "{name}: {:?}", r.body);
        let cookie = r.header("set-cookie").unwrap_or_default().to_owned();
        assert!(
            cookie.starts_with(&format!("access_token={raw};")),
            "{name}"
        );
        let r = server.call("GET", "/agents", &[("Authorization", &alice)], "");
        assert_eq!(r.status, 401, "{name}: the header is not read elsewhere");
        let pair = format!("access_token={raw}");
        let r = server.call("GET", "/agents", &[("Cookie", &pair)], "");
        assert_eq!(r.status, 200, "{name}");
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);

        // Header only: no cookie is read, so cookie login is off.
        let dir = temp_dir("header-only");
        let server = Server::start_with(bin, &dir, &["--token-source", "header"], &[]);
        let alice = format!("Bearer {}", token(&dir, "alice", &["agents:read"], None));
        let r = server.call("POST", "/set-auth-cookie", &[("Authorization", &alice)], "");
        assert_eq!(r.status, 404, "{name}: {:?}", r.body);
        assert_eq!(r.header("set-cookie"), None, "{name}");
        // And a cookie does not authenticate.
        let cookie = format!("access_token={}", alice.trim_start_matches("Bearer "));
        let r = server.call("GET", "/agents", &[("Cookie", &cookie)], "");
        assert_eq!(r.status, 401, "{name}");
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn cors_is_outside_auth_and_never_reflects_other_origins() {
    for (name, bin) in FRAMEWORKS {
        let dir = temp_dir("cors");
        let server = Server::start(bin, &dir);
        let preflight = |origin: &str| {
            server.call(
                "OPTIONS",
                "/agents",
                &[
                    ("Origin", origin),
                    ("Access-Control-Request-Method", "GET"),
                    ("Access-Control-Request-Headers", "authorization"),
                ],
                "",
            )
        };
        let ok = preflight("http://localhost:3000");
        assert!(ok.status < 300, "{name}: preflight {}", ok.status);
        assert_eq!(
            ok.header("access-control-allow-origin"),
            Some("http://localhost:3000"),
            "{name}"
        );
        assert_eq!(
            ok.header("access-control-allow-credentials"),
            Some("true"),
            "{name}"
        );
        let evil = preflight("https://evil.example");
        assert_ne!(
            evil.header("access-control-allow-origin"),
            Some("https://evil.example"),
            "{name} reflected another origin"
        );
        assert_ne!(
            evil.header("access-control-allow-origin"),
            Some("*"),
            "{name}"
        );
        // An auth error for an allowed origin still carries the CORS headers.
        let denied = server.call("GET", "/agents", &[("Origin", "http://localhost:3000")], "");
        assert_eq!(denied.status, 401, "{name}");
        assert_eq!(
            denied.header("access-control-allow-origin"),
            Some("http://localhost:3000"),
            "{name}: 401 without CORS headers"
        );
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A header's comma-separated values, lower-cased and sorted (`None`: the header is absent).
fn header_set(r: &Response, name: &str) -> Option<Vec<String>> {
    r.header(name).map(|v| {
        let mut set: Vec<String> = v
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        set.sort();
        set.dedup();
        set
    })
}

#[test]
fn cors_answers_the_same_preflight_the_same_way_on_all_four_frameworks() {
    let mut answers = Vec::new();
    for (name, bin) in FRAMEWORKS {
        let dir = temp_dir("cors-same");
        let server = Server::start_with(bin, &dir, &["--dpop", "allowed"], &[]);
        // A browser client sending a DPoP-bound token: it must be allowed to send both headers.
        let preflight = server.call(
            "OPTIONS",
            "/agents/agent-1/runs",
            &[
                ("Origin", "http://localhost:3000"),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "authorization, dpop, content-type",
                ),
            ],
            "",
        );
        assert!(
            preflight.status < 300,
            "{name}: preflight {}",
            preflight.status
        );
        let allowed = header_set(&preflight, "access-control-allow-headers").unwrap_or_default();
        for needed in jwt_core::CORS_ALLOW_HEADERS {
            assert!(allowed.iter().any(|h| h == needed), "{name}: {allowed:?}");
        }
        // A refusal a script must be able to read: the challenge and the nonce are exposed.
        let denied = server.call("GET", "/agents", &[("Origin", "http://localhost:3000")], "");
        assert_eq!(denied.status, 401, "{name}");
        let exposed = header_set(&denied, "access-control-expose-headers").unwrap_or_default();
        for needed in jwt_core::CORS_EXPOSE_HEADERS {
            assert!(exposed.iter().any(|h| h == needed), "{name}: {exposed:?}");
        }
        answers.push((
            name,
            [
                Some(vec![(preflight.status / 100).to_string()]),
                header_set(&preflight, "access-control-allow-origin"),
                header_set(&preflight, "access-control-allow-credentials"),
                header_set(&preflight, "access-control-allow-methods"),
                Some(allowed),
                header_set(&preflight, "access-control-max-age"),
                Some(exposed),
                header_set(&denied, "access-control-allow-origin"),
            ],
        ));
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (first, expected) = &answers[0];
    for (name, got) in &answers[1..] {
        assert_eq!(got, expected, "{name} answers the preflight unlike {first}");
    }
}

#[test]
fn dpop_demo_writes_need_no_origin_and_nonces_are_opt_in() {
    for (name, bin) in FRAMEWORKS {
        for nonce in [false, true] {
            let dir = temp_dir(&format!("dpop-write-{name}"));
            let args: &[&str] = if nonce {
                &["--dpop", "allowed", "--dpop-nonce"]
            } else {
                &["--dpop", "allowed"]
            };
            let server = Server::start_with(bin, &dir, args, &[]);
            let url = format!("http://127.0.0.1:{}/agents/agent-1/runs", server.port);
            let (_, jkt) = dpop_proof("POST", &url, "", "probe");
            let token = mint(
                &dir,
                json!({"sub": "alice", "scopes": ["agents:agent-1:run"], "cnf": {"jkt": jkt}}),
            );
            let dpop_auth = format!("DPoP {token}");
            let run = |proof: &str| {
                server.call(
                    "POST",
                    "/agents/agent-1/runs",
                    &[("Authorization", dpop_auth.as_str()), ("DPoP", proof)],
                    "message=x",
                )
            };
            let (proof, _) = dpop_proof("POST", &url, &token, &format!("{name}-{nonce}-1"));
            let first = run(&proof);
            if nonce {
                // RFC 9449 §8: the server asks for its nonce; the client retries with it.
                assert_eq!(first.status, 401, "{name}: {}", first.body);
                let challenge = first.header("www-authenticate").unwrap_or_default();
                assert!(challenge.contains("use_dpop_nonce"), "{name}: {challenge}");
                let server_nonce = first
                    .header("dpop-nonce")
                    .unwrap_or_else(|| panic!("{name}: no DPoP-Nonce"))
                    .to_owned();
                let retried = dpop_proof_with_nonce(
                    "POST",
                    &url,
                    &token,
                    &format!("{name}-{nonce}-2"),
                    &server_nonce,
                );
                let ok = run(&retried);
                assert!(ok.status < 300, "{name} (nonce): {} {}", ok.status, ok.body);
            } else {
                // A DPoP-bound token is not cookie-borne: no Origin needed (the CSRF rule is
                // the cookie's), as for a bearer token.
                assert!(
                    first.status < 300,
                    "{name}: {} {}",
                    first.status,
                    first.body
                );
            }
            drop(server);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[path = "../../../jwt-core/tests/support/oidc_provider.rs"]
mod oidc_provider;

#[test]
fn oidc_demo_verifies_tokens_from_a_real_provider_via_issuer() {
    let Some(provider) = oidc_provider::Provider::start("ES256") else {
        return;
    };
    let dir = temp_dir("oidc");
    let server = Server::start_with(FRAMEWORKS[0].1, &dir, &["--issuer", &provider.issuer], &[]);
    let port = server.port;
    // The provider grants `agents:read agents:write` as a space-delimited `scope` string.
    let token = provider.token();
    let bearer = format!("Bearer {token}");
    let r = request(port, "GET", "/agents", &[("Authorization", &bearer)], "");
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body.as_array().map(Vec::len), Some(2));
    let r = request(
        port,
        "POST",
        "/agents/agent-1/runs",
        &[("Authorization", &bearer)],
        "message=x",
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        json!({"detail": "Insufficient permissions. Required scope(s): agents:agent-1:run"})
    );
    let r = request(
        port,
        "GET",
        "/agents",
        &[("Authorization", "Bearer a.b.c")],
        "",
    );
    assert_eq!(r.status, 401);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn introspect_demo_accepts_opaque_tokens_on_all_four_frameworks() {
    let Some(provider) = oidc_provider::Provider::start("RS256") else {
        return;
    };
    let (id, secret) = oidc_provider::RS_CLIENT;
    let credentials = format!("{id}:{secret}");
    let opaque = provider.opaque_token("agents:read");
    let jwt = provider.token_with_scope("agents:read");
    for (name, bin) in FRAMEWORKS {
        let dir = temp_dir(&format!("introspect-{name}"));
        let args = [
            "--issuer",
            &provider.issuer,
            "--introspection",
            &credentials,
        ];
        let server = Server::start_with(bin, &dir, &args, &[]);
        let before = provider.introspections();
        for token in [&opaque, &jwt, &opaque] {
            let bearer = format!("Bearer {token}");
            let r = request(
                server.port,
                "GET",
                "/agents",
                &[("Authorization", &bearer)],
                "",
            );
            assert_eq!(r.status, 200, "{name}: {:?}", r.body);
        }
        // The opaque token asked once (then kept); the JWT verified with the issuer's keys.
        assert_eq!(provider.introspections() - before, 1, "{name}");
        let bearer = "Bearer not-a-token-of-this-provider";
        let r = request(
            server.port,
            "GET",
            "/agents",
            &[("Authorization", bearer)],
            "",
        );
        assert_eq!(r.status, 401, "{name}");
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A DPoP proof (RFC 9449) signed with the P-256 fixture key of jwt-core's tests, and that
/// key's thumbprint (what a bound token carries as `cnf.jkt`).
fn dpop_proof(method: &str, url: &str, token: &str, jti: &str) -> (String, String) {
    dpop_proof_claims(method, url, token, jti, None)
}

/// A proof carrying the server's `nonce`.
fn dpop_proof_with_nonce(method: &str, url: &str, token: &str, jti: &str, nonce: &str) -> String {
    dpop_proof_claims(method, url, token, jti, Some(nonce)).0
}

fn dpop_proof_claims(
    method: &str,
    url: &str,
    token: &str,
    jti: &str,
    nonce: Option<&str>,
) -> (String, String) {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let pem = include_str!("../../../jwt-core/tests/fixtures/p256.pub.pem");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap();
    let point = &der[der.len() - 64..];
    let jwk = json!({"kty": "EC", "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[..32]), "y": URL_SAFE_NO_PAD.encode(&point[32..])});
    let key = jwt_core::EncodingKey::from_ec_pem(include_bytes!(
        "../../../jwt-core/tests/fixtures/p256.key"
    ))
    .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ath = URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref());
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
    let mut claims = json!({"jti": jti, "htm": method, "htu": url, "iat": now, "ath": ath});
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let proof = jwt_core::mint::sign_input(Algorithm::ES256, &key, &input).unwrap();
    (proof, jwt_core::jwk_thumbprint(&jwk).unwrap())
}

#[test]
fn dpop_demo_flag_accepts_bound_tokens_with_fresh_proofs_on_all_four_frameworks() {
    for (name, bin) in FRAMEWORKS {
        let dir = temp_dir(&format!("dpop-{name}"));
        let server = Server::start_with(bin, &dir, &["--dpop", "allowed"], &[]);
        let url = format!("http://127.0.0.1:{}/agents", server.port);
        let (_, jkt) = dpop_proof("GET", &url, "", "probe");
        let token = mint(
            &dir,
            json!({"sub": "alice", "scopes": ["agents:read"], "cnf": {"jkt": jkt}}),
        );
        let dpop_auth = format!("DPoP {token}");
        let (proof, _) = dpop_proof("GET", &url, &token, &format!("{name}-1"));
        let call = |auth: &str, proof: Option<&str>| {
            let mut headers = vec![("Authorization", auth)];
            headers.extend(proof.map(|p| ("DPoP", p)));
            server.call("GET", "/agents", &headers, "")
        };
        let ok = call(&dpop_auth, Some(&proof));
        assert_eq!(ok.status, 200, "{name}: {}", ok.body);
        // The same proof again is a replay.
        let replay = call(&dpop_auth, Some(&proof));
        assert_eq!(replay.status, 401, "{name}");
        let challenge = replay.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with(
                r#"DPoP error="invalid_dpop_proof", error_description="DPoP proof replayed""#
            ),
            "{name}: {challenge}"
        );
        // The bound token as a bearer token, and a proof for another path, are refused.
        let bearer = call(&format!("Bearer {token}"), None);
        assert_eq!(bearer.status, 401, "{name}");
        assert!(
            bearer
                .header("www-authenticate")
                .unwrap_or_default()
                .contains("sender-constrained token sent as bearer"),
            "{name}"
        );
        let other = format!("http://127.0.0.1:{}/teams", server.port);
        let (wrong, _) = dpop_proof("GET", &other, &token, &format!("{name}-2"));
        assert_eq!(call(&dpop_auth, Some(&wrong)).status, 401, "{name}");
        // Plain bearer tokens still work in `allowed` mode.
        let plain = token_for(&dir, "bob");
        assert_eq!(call(&format!("Bearer {plain}"), None).status, 200, "{name}");
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn token_for(dir: &Path, sub: &str) -> String {
    token(dir, sub, &["agents:read"], None)
}

#[path = "../../../jwt-core/tests/support/redis_server.rs"]
mod redis_server;

/// `GET /agents` on `server` with `auth`.
fn agents(server: &Server, auth: &str) -> Response {
    server.call("GET", "/agents", &[("Authorization", auth)], "")
}

/// Calls `GET /agents` on `server` every 20 ms until it answers `status` (at most 5 s); returns
/// how long that took and the last response.
fn poll_until(server: &Server, auth: &str, status: u16) -> (Duration, Response) {
    let start = std::time::Instant::now();
    loop {
        let r = agents(server, auth);
        if r.status == status || start.elapsed() > Duration::from_secs(5) {
            return (start.elapsed(), r);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn redis_demo_two_instances_share_a_session_revocation() {
    if !redis_server::redis_ready() {
        return;
    }
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    // One data dir (so one set of keys: every instance verifies the same tokens), one Redis.
    let dir = temp_dir("redis-shared");
    DemoKeys::load_or_generate(&dir).expect("keys");
    let servers: Vec<(&str, Server)> = FRAMEWORKS
        .iter()
        .map(|(name, bin)| {
            (
                *name,
                Server::start_with(bin, &dir, &["--redis", &url], &[]),
            )
        })
        .collect();
    let admin = format!("Bearer {}", token(&dir, "admin", &["agent_os:admin"], None));
    let mut delays = Vec::new();
    // Each framework revokes once (instance A) and each sees another's revocation (instance B).
    for i in 0..servers.len() {
        let ((a_name, a), (b_name, b)) = (&servers[i], &servers[(i + 1) % servers.len()]);
        let session = format!("s1-{a_name}");
        let user = format!(
            "Bearer {}",
            token(&dir, "alice", &["agents:read"], Some(&session))
        );
        let other = format!(
            "Bearer {}",
            token(&dir, "alice", &["agents:read"], Some("s2"))
        );
        for (name, server) in [(a_name, a), (b_name, b)] {
            assert_eq!(agents(server, &user).status, 200, "{name}: before");
            assert_eq!(agents(server, &other).status, 200, "{name}: before");
        }
        let r = a.call(
            "POST",
            &format!("/sessions/{session}/revoke"),
            &[("Authorization", &admin)],
            "",
        );
        assert_eq!(r.status, 200, "{a_name}: {:?}", r.body);
        assert_eq!(r.body["revoked_session"], session.as_str());
        assert!(r.body["issued_before"].as_u64().is_some(), "{:?}", r.body);
        // B last saw the token fine just now, so it may remember "not revoked" for a while.
        let (delay, refused) = poll_until(b, &user, 401);
        assert_eq!(
            (refused.status, &refused.body),
            (401, &json!({"detail": "Token has been revoked"})),
            "{b_name} after {a_name} revoked {session}"
        );
        assert!(
            refused
                .header("www-authenticate")
                .is_some_and(|c| c.contains("invalid_token")),
            "{b_name}: {:?}",
            refused.headers
        );
        println!(
            "redis revocation: revoked on {a_name}, refused on {b_name} after {} ms",
            delay.as_millis()
        );
        assert!(
            delay < Duration::from_secs(1),
            "{b_name} refused the revoked token only after {delay:?}"
        );
        delays.push(delay);
        // A, which revoked, refuses at once; the other session still works on both.
        assert_eq!(agents(a, &user).status, 401, "{a_name}");
        for (name, server) in [(a_name, a), (b_name, b)] {
            assert_eq!(agents(server, &other).status, 200, "{name}: other session");
        }
    }
    // A user's every token, by `sub`: revoked on one instance, refused on all.
    let mallory = [
        format!("Bearer {}", token(&dir, "mallory", &["agents:read"], None)),
        format!(
            "Bearer {}",
            token(&dir, "mallory", &["agents:read"], Some("s3"))
        ),
    ];
    let r = servers[3].1.call(
        "POST",
        "/users/mallory/revoke",
        &[("Authorization", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["revoked_user"], "mallory");
    for (name, server) in &servers {
        for t in &mallory {
            let (delay, r) = poll_until(server, t, 401);
            assert_eq!(r.status, 401, "{name}");
            assert!(delay < Duration::from_secs(1), "{name}: {delay:?}");
        }
    }
    let max = delays.iter().max().copied().unwrap_or_default();
    println!(
        "redis revocation: slowest cross-instance delay {} ms",
        max.as_millis()
    );
    drop(servers);
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_demo_admin_revoke_needs_the_admin_scope() {
    if !redis_server::redis_ready() {
        return;
    }
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    let dir = temp_dir("redis-admin");
    DemoKeys::load_or_generate(&dir).expect("keys");
    let alice = format!(
        "Bearer {}",
        token(
            &dir,
            "alice",
            &[
                "agents:read",
                "sessions:read",
                "sessions:write",
                "sessions:delete"
            ],
            Some("s1"),
        )
    );
    for (name, bin) in FRAMEWORKS {
        let server = Server::start_with(bin, &dir, &["--redis", &url], &[]);
        for path in ["/sessions/s1/revoke", "/users/alice/revoke"] {
            let r = server.call("POST", path, &[("Authorization", &alice)], "");
            assert_eq!(
                (r.status, &r.body),
                (
                    403,
                    &json!({"detail": "Insufficient permissions. Required scope(s): agent_os:admin"})
                ),
                "{name}: {path}"
            );
            let r = server.call("POST", path, &[], "");
            assert_eq!(r.status, 401, "{name}: {path} without a token");
        }
        // Nothing was revoked.
        assert_eq!(agents(&server, &alice).status, 200, "{name}");
        drop(server);
    }
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_demo_fails_closed_while_redis_is_down_and_recovers() {
    if !redis_server::redis_ready() {
        return;
    }
    let mut redis = redis_server::RedisServer::start();
    let url = redis.url();
    let dir = temp_dir("redis-down");
    DemoKeys::load_or_generate(&dir).expect("keys");
    let servers: Vec<(&str, Server)> = FRAMEWORKS
        .iter()
        .map(|(name, bin)| {
            (
                *name,
                Server::start_with(bin, &dir, &["--redis", &url], &[]),
            )
        })
        .collect();
    let alice = format!(
        "Bearer {}",
        token(&dir, "alice", &["agents:read"], Some("s1"))
    );
    let admin = format!("Bearer {}", token(&dir, "admin", &["agent_os:admin"], None));
    for (name, server) in &servers {
        assert_eq!(agents(server, &alice).status, 200, "{name}");
    }
    // The admin's token was just found "not revoked" on the first instance, which reuses that
    // answer for 500 ms: a revocation sent within them reaches the route, whose store write
    // fails (503, the demo's own detail). Later, the check of the admin's token answers first.
    let warmed = std::time::Instant::now();
    assert_eq!(agents(&servers[0].1, &admin).status, 200);
    redis.stop();
    let r = servers[0].1.call(
        "POST",
        "/sessions/s1/revoke",
        &[("Authorization", &admin)],
        "",
    );
    assert_eq!(r.status, 503, "{:?}", r.body);
    if warmed.elapsed() < Duration::from_millis(500) {
        assert_eq!(
            r.body,
            json!({"detail": REVOCATION_STORE_UNAVAILABLE}),
            "the route's answer"
        );
    } else {
        println!("redis outage: the route's 503 not reached in time (slow machine)");
    }
    for (name, server) in &servers {
        // Once the local "not revoked" memory (500 ms) runs out: 503, never a pass.
        let (_, r) = poll_until(server, &alice, 503);
        assert_eq!(r.status, 503, "{name}: {:?}", r.body);
        assert!(r.header("retry-after").is_some(), "{name}: {:?}", r.headers);
        // A revocation cannot be recorded either (refused by the check of the admin's own
        // token, or by the route when that token was still remembered): 503.
        let r = server.call(
            "POST",
            "/sessions/s1/revoke",
            &[("Authorization", &admin)],
            "",
        );
        assert_eq!(r.status, 503, "{name}: {:?}", r.body);
    }
    redis.restart();
    for (name, server) in &servers {
        let (delay, r) = poll_until(server, &alice, 200);
        assert_eq!(
            r.status, 200,
            "{name}: not back after {delay:?}: {:?}",
            r.body
        );
    }
    drop(servers);
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_demo_dpop_replay_cache_is_shared_across_instances() {
    if !redis_server::redis_ready() {
        return;
    }
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    let dir = temp_dir("redis-dpop");
    DemoKeys::load_or_generate(&dir).expect("keys");
    // One public origin for both instances (as behind a load balancer): the proof's `htu`.
    let resource = "http://127.0.0.1:7777";
    let flags = ["--redis", &url, "--dpop", "allowed", "--resource", resource];
    let a = Server::start_with(FRAMEWORKS[0].1, &dir, &flags, &[]);
    let b = Server::start_with(FRAMEWORKS[1].1, &dir, &flags, &[]);
    let htu = format!("{resource}/agents");
    let (_, jkt) = dpop_proof("GET", &htu, "", "probe");
    let token = mint(
        &dir,
        json!({"sub": "alice", "scopes": ["agents:read"], "aud": resource, "cnf": {"jkt": jkt}}),
    );
    let auth = format!("DPoP {token}");
    let call = |server: &Server, proof: &str| {
        server.call(
            "GET",
            "/agents",
            &[("Authorization", &auth), ("DPoP", proof)],
            "",
        )
    };
    let (first, _) = dpop_proof("GET", &htu, &token, "shared-1");
    assert_eq!(call(&a, &first).status, 200, "axum: a fresh proof");
    // The same proof on the other instance is a replay: the cache is Redis, not the process.
    let replay = call(&b, &first);
    assert_eq!(replay.status, 401, "actix: {:?}", replay.body);
    assert!(
        replay
            .header("www-authenticate")
            .is_some_and(|c| c.contains("DPoP proof replayed")),
        "{:?}",
        replay.headers
    );
    let (second, _) = dpop_proof("GET", &htu, &token, "shared-2");
    assert_eq!(call(&b, &second).status, 200, "actix: a fresh proof");
    assert_eq!(call(&a, &second).status, 401, "axum: replayed from actix");
    drop((a, b, redis));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The demo's MCP endpoint on every framework: each tool needs the AgentOS scope of its REST
/// route (`run_agent` → `agents:{agent_id}:run`, read from the call's `agent_id` argument),
/// `tools/list` shows only what the token may call, and a refusal names every scope it needs.
#[test]
fn mcp_demo_tools_need_the_agent_os_scopes_on_all_four_frameworks() {
    let rpc = |id: u32, method: &str, params: Value| {
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
    };
    let run = |agent: &str| {
        rpc(
            3,
            "tools/call",
            json!({"name": "run_agent", "arguments": {"agent_id": agent, "message": "hi"}}),
        )
    };
    let mut transcripts = Vec::new();
    for (name, bin) in FRAMEWORKS {
        let dir = temp_dir(&format!("mcp-{name}"));
        let server = Server::start(bin, &dir);
        let alice = format!(
            "Bearer {}",
            token(
                &dir,
                "alice",
                &["agents:agent-1:run", "agents:agent-1:read"],
                None
            )
        );
        let auth = [
            ("Authorization", alice.as_str()),
            ("Content-Type", "application/json"),
        ];
        let mut log = Vec::new();
        let init = rpc(
            1,
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "0"}}),
        );
        let r = server.call("POST", "/mcp", &auth, &init);
        assert_eq!(r.status, 200, "{name}: {:?}", r.body);
        record(&mut log, "initialize", &r);
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
        log_status(
            &mut log,
            "initialized",
            &server.call("POST", "/mcp", &auth, &note),
        );
        let r = server.call("POST", "/mcp", &auth, &rpc(2, "tools/list", json!({})));
        let names: Vec<&str> = r.body["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {:?}", r.body))
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        // No `agents:read`: `list_agents` is not offered.
        assert_eq!(names, ["get_agent", "run_agent"], "{name}");
        record(&mut log, "tools/list", &r);
        let r = server.call("POST", "/mcp", &auth, &run("agent-1"));
        assert_eq!(r.status, 200, "{name}: {:?}", r.body);
        let text = r.body["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(text.contains("Echo Agent One echoes: hi"), "{name}: {text}");
        log_status(&mut log, "run agent-1", &r);
        let r = server.call("POST", "/mcp", &auth, &run("agent-2"));
        assert_eq!(r.status, 403, "{name}");
        assert!(
            r.header("www-authenticate")
                .unwrap_or_default()
                .contains(r#"error="insufficient_scope", scope="agents:agent-2:run""#),
            "{name}: {:?}",
            r.header("www-authenticate")
        );
        record(&mut log, "run agent-2", &r);
        let r = server.call(
            "POST",
            "/mcp",
            &[("Content-Type", "application/json")],
            &run("agent-1"),
        );
        assert_eq!(r.status, 401, "{name}");
        assert!(
            r.header("www-authenticate")
                .unwrap_or_default()
                .contains(r#"scope="agents:agent-1:run""#),
            "{name}"
        );
        record(&mut log, "run without a token", &r);
        let list = rpc(
            4,
            "tools/call",
            json!({"name": "list_agents", "arguments": {}}),
        );
        record(
            &mut log,
            "list_agents",
            &server.call("POST", "/mcp", &auth, &list),
        );
        let r = server.call("POST", "/mcp", &auth, "{not json");
        assert_eq!(r.status, 400, "{name}");
        assert_eq!(r.body["error"]["code"], -32700, "{name}");
        record(&mut log, "not json", &r);
        transcripts.push((name, log));
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (first, reference) = &transcripts[0];
    for (name, transcript) in &transcripts[1..] {
        assert_eq!(reference, transcript, "{first} and {name} differ");
    }
}

/// `--tls-cert/--tls-key/--client-ca --mtls if-bound` on every framework: the demo serves
/// HTTPS, and a token bound to a client certificate passes only over a connection presenting it.
#[test]
fn mtls_demo_serves_https_and_checks_certificate_bound_tokens_on_all_four_frameworks() {
    let pki = pki::Pki::new(&["agent-a", "agent-b"]);
    let (a, b) = (&pki.clients[0], &pki.clients[1]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, bin) in FRAMEWORKS {
        let dir = temp_dir(&format!("mtls-{name}"));
        let file = |file: &str, text: &str| {
            let path = dir.join(file);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let (cert, key, ca) = (
            file("server.pem", &pki.server.cert_pem),
            file("server.key", &pki.server.key_pem),
            file("clients-ca.pem", &pki.ca_pem),
        );
        let args = [
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--client-ca",
            &ca,
            "--mtls",
            "if-bound",
        ];
        let server = Server::start_with(bin, &dir, &args, &[]);
        let thumbprint = jwt_core::certificate_thumbprint(&a.der);
        let bound = mint(
            &dir,
            json!({"sub": "u1", "scopes": ["agents:read"], "cnf": {"x5t#S256": thumbprint}}),
        );
        let unbound = token(&dir, "u1", &["agents:read"], None);
        let url = format!("https://localhost:{}/agents", server.port);
        let get = |client: reqwest::Client, token: String| {
            let url = url.clone();
            async move {
                let res = client.get(url).bearer_auth(token).send().await.unwrap();
                let challenge = res
                    .headers()
                    .get("www-authenticate")
                    .map(|v| v.to_str().unwrap().to_owned());
                (res.status().as_u16(), challenge)
            }
        };
        runtime.block_on(async {
            let (status, _) = get(pki.client(Some(a)), bound.clone()).await;
            assert_eq!(status, 200, "{name}");
            let (status, challenge) = get(pki.client(Some(b)), bound.clone()).await;
            assert_eq!(status, 401, "{name}");
            assert!(
                challenge
                    .as_deref()
                    .is_some_and(|c| c.contains("client certificate mismatch")),
                "{name}: {challenge:?}"
            );
            let (status, challenge) = get(pki.client(None), bound.clone()).await;
            assert_eq!(status, 401, "{name}");
            assert!(
                challenge
                    .as_deref()
                    .is_some_and(|c| c.contains("client certificate required")),
                "{name}: {challenge:?}"
            );
            let (status, _) = get(pki.client(None), unbound.clone()).await;
            assert_eq!(status, 200, "{name}: if-bound lets unbound tokens through");
        });
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
