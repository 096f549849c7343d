//! Starts and stops the real OpenID provider in `test-support/oidc` (panva/oidc-provider on
//! Node.js) for the `oidc` tests. Shared by jwt-core and jwt-axum tests via `#[path]`.
//!
//! Node missing: the test is skipped with a message, except when `CI` is set, where it fails.
//! Node present but `node_modules` missing: `npm ci` is run once (CI runs it in `.ci/run`).

#![allow(dead_code, unreachable_pub)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The audience the provider puts in `aud`.
pub const AUDIENCE: &str = "https://api.agentos.test";
/// The audience of opaque tokens: a token requested for this resource is opaque, checked only
/// by introspection.
pub const OPAQUE_AUDIENCE: &str = "https://opaque.agentos.test";
/// The client of the client_credentials grant.
pub const CLIENT_ID: &str = "agent-svc";
/// The resource server that introspects (`client_secret_basic`), and its secret.
pub const RS_CLIENT: (&str, &str) = ("api-rs", "api-rs-secret-0123456789");
/// The resource server that introspects with `client_secret_post`, and its secret.
pub const RS_POST_CLIENT: (&str, &str) = ("api-rs-post", "api-rs-post-secret-0123456789");
/// The resource server that introspects with `private_key_jwt` (ES256, kid `api-rs-jwt-1`):
/// its private key is `jwt-core/tests/fixtures/p256.key` (start the provider with
/// [`Provider::RS_KEY_ENV`]).
pub const RS_JWT_CLIENT: &str = "api-rs-jwt";
/// `Basic base64("agent-svc:agent-secret-0123456789")`.
const BASIC_AUTH: &str = "Basic YWdlbnQtc3ZjOmFnZW50LXNlY3JldC0wMTIzNDU2Nzg5";

/// `test-support/oidc` in the workspace root, found from whichever crate includes this file.
pub fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("test-support/oidc"))
        .find(|dir| dir.join("package.json").is_file())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-support/oidc"))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

static INSTALL: Mutex<Option<bool>> = Mutex::new(None);

/// Whether the provider can run here. `false` (with a message) only when Node.js is missing and
/// `CI` is not set; panics in CI, or when the npm dependencies cannot be installed.
pub fn node_ready() -> bool {
    let mut done = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(ready) = *done {
        if !ready {
            let _ = writeln!(std::io::stderr(), "SKIPPED: Node.js not found (see above)");
        }
        return ready;
    }
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        if in_ci() {
            panic!(
                "CI is set but `node` is not installed: the oidc tests need Node.js and \
                 `npm ci --prefix test-support/oidc` (see .ci/run)"
            );
        }
        // Straight to stderr, past the test harness's output capture: a skip must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: Node.js (`node`) not found; the oidc tests against the real provider \
             (test-support/oidc) are skipped. Install Node.js >= 20 to run them \
             (with CI set, this is an error)."
        );
        *done = Some(false);
        return false;
    }
    let dir = provider_dir();
    // Every package the provider and the DPoP client (dpop-client.mjs) import: a node_modules
    // installed before one was added is brought up to date.
    let installed = ["oidc-provider", "oauth4webapi", "dpop"]
        .iter()
        .all(|name| {
            dir.join(format!("node_modules/{name}/package.json"))
                .is_file()
        });
    if !installed {
        eprintln!(
            "installing the provider's npm dependencies: npm ci in {}",
            dir.display()
        );
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => panic!(
                "`npm ci` in {} failed ({other:?}); run it by hand to see why",
                dir.display()
            ),
        }
    }
    *done = Some(true);
    true
}

/// A running provider; killed when dropped.
pub struct Provider {
    child: Child,
    pub port: u16,
    pub issuer: String,
    pub alg: String,
    log: PathBuf,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Provider {
    /// The environment that registers [`RS_JWT_CLIENT`]'s public key.
    pub fn rs_key_env() -> (&'static str, String) {
        let key = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("jwt-core/tests/fixtures/p256.pub.pem"))
            .find(|path| path.is_file())
            .expect("jwt-core/tests/fixtures/p256.pub.pem");
        ("RS_CLIENT_KEY", key.display().to_string())
    }

    /// Starts a provider signing access tokens with `alg` (RS256, ES256, EdDSA) on a free port.
    /// `None` when Node.js is missing outside CI.
    pub fn start(alg: &str) -> Option<Self> {
        Self::start_with(alg, &[])
    }

    /// As [`Provider::start`], with extra environment (`KID_PREFIX`, `KEYS_OUT`).
    pub fn start_with(alg: &str, env: &[(&str, &str)]) -> Option<Self> {
        if !node_ready() {
            return None;
        }
        let mut last = String::new();
        for _ in 0..3 {
            match Self::spawn(free_port(), alg, env) {
                Ok(p) => return Some(p),
                Err(e) => last = e,
            }
        }
        panic!("the OpenID provider did not start:\n{last}");
    }

    /// Starts a provider on `port` (to restart one in place). Panics when it cannot.
    pub fn start_on(port: u16, alg: &str, env: &[(&str, &str)]) -> Self {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::spawn(port, alg, env) {
                Ok(p) => return p,
                Err(e) => {
                    last = e;
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        panic!("the OpenID provider did not start on port {port}:\n{last}");
    }

    fn spawn(port: u16, alg: &str, env: &[(&str, &str)]) -> Result<Self, String> {
        static STARTS: AtomicU64 = AtomicU64::new(0);
        let log = std::env::temp_dir().join(format!(
            "jwt-rbac-oidc-{}-{port}-{}.log",
            std::process::id(),
            STARTS.fetch_add(1, Ordering::Relaxed)
        ));
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("node")
            .arg("server.mjs")
            .current_dir(provider_dir())
            .env("PORT", port.to_string())
            .env("ALG", alg)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot run node: {e}"))?;
        let mut provider = Provider {
            child,
            port,
            issuer: format!("http://127.0.0.1:{port}"),
            alg: alg.to_owned(),
            log,
        };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = provider.child.try_wait() {
                return Err(format!(
                    "node exited with {status}:\n{}",
                    provider.log_text()
                ));
            }
            if provider
                .get("/.well-known/openid-configuration")
                .is_ok_and(|(status, _)| status == 200)
            {
                return Ok(provider);
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("not ready after 30 s:\n{}", provider.log_text()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The provider's output so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A plain HTTP/1.0 GET.
    pub fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        http(self.port, "GET", path, &[], "")
    }

    /// The JSON answer of a client_credentials token request for `scope`.
    pub fn token_response(&self, scope: &str) -> serde_json::Value {
        let scope = scope.replace(':', "%3A").replace(' ', "%20");
        let body = format!(
            "grant_type=client_credentials&scope={scope}&resource=https%3A%2F%2Fapi.agentos.test"
        );
        let (status, text) = http(
            self.port,
            "POST",
            "/token",
            &[
                ("Authorization", BASIC_AUTH),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &body,
        )
        .expect("token request");
        assert_eq!(status, 200, "token endpoint answered {status}: {text}");
        serde_json::from_str(&text).expect("token response is JSON")
    }

    /// An opaque access token with `scope`, for [`OPAQUE_AUDIENCE`].
    pub fn opaque_token(&self, scope: &str) -> String {
        let scope = scope.replace(':', "%3A").replace(' ', "%20");
        let body = format!(
            "grant_type=client_credentials&scope={scope}&resource=https%3A%2F%2Fopaque.agentos.test"
        );
        let (status, text) = self.post_form("/token", &body);
        assert_eq!(status, 200, "token endpoint answered {status}: {text}");
        let answer: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let token = answer["access_token"].as_str().expect("access_token");
        assert_eq!(token.matches('.').count(), 0, "an opaque token: {token}");
        token.to_owned()
    }

    /// Revokes `token` at the provider (RFC 7009, as its client).
    pub fn revoke(&self, token: &str) {
        let (status, text) = self.post_form("/token/revocation", &format!("token={token}"));
        assert_eq!(status, 200, "revocation endpoint answered {status}: {text}");
    }

    /// The introspection requests the provider received so far.
    pub fn introspections(&self) -> u64 {
        let (status, text) = self.get("/test/introspections").expect("count");
        assert_eq!(status, 200, "{text}");
        let count: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        count["count"].as_u64().expect("count")
    }

    /// A form POST as the token client.
    fn post_form(&self, path: &str, body: &str) -> (u16, String) {
        http(
            self.port,
            "POST",
            path,
            &[
                ("Authorization", BASIC_AUTH),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body,
        )
        .expect("provider request")
    }

    /// An access token (a JWT, RFC 9068) with `agents:read agents:write`.
    pub fn token(&self) -> String {
        self.token_with_scope("agents:read agents:write")
    }

    /// An access token with `scope`.
    pub fn token_with_scope(&self, scope: &str) -> String {
        let answer = self.token_response(scope);
        answer["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
}

/// One HTTP/1.0 exchange with 127.0.0.1:`port` (the provider answers without chunking).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status line"))?;
    Ok((status, body.to_owned()))
}
