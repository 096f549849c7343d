//! # agentos-demo
//!
//! The AgentOS-style demo service. Everything here is framework-free: configuration, keys,
//! storage and the service operations, each returning a [`Reply`] (status + JSON). The binaries
//! `demo-axum`, `demo-actix`, `demo-poem` and `demo-warp` only wire routes, the auth middleware
//! and extractors of their framework to these operations. No auth decision is taken here: the
//! adapters and `jwt-core` take them; the service only filters what a caller may see and guards
//! its writes (a token naming its user, and the CSRF rule of [`Demo`]'s state-changing routes).
//! Storage work runs on tokio's blocking pool, never on an async worker thread.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod keys;
pub mod store;

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use clap::{Parser, ValueEnum};
use jwt_core::server::{ClientCertificates, TlsConfig};
use jwt_core::{
    Algorithm, AnyOf, AudiencePolicy, AuthContext, AuthError, BearerHeader, CookieToken, Dpop,
    DpopNonces, FailurePolicy, HtuOrigin, JtiDenylist, Jwks, JwtAuth, KeyChain, McpOperation,
    ProtectedResourceMetadata, RedisStore, RequestParts, Revocation, RouteTable, StandardClaims,
    StaticKeys, TokenSource, Validation,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use keys::DemoKeys;
use store::{RunRecord, SessionRecord, Store};

/// Everything that can go wrong while starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file could not be read or written.
    #[error("I/O error: {0}")]
    Io(String),
    /// A key could not be generated, read or used.
    #[error("key error: {0}")]
    Key(String),
    /// The database failed.
    #[error("storage error: {0}")]
    Store(String),
    /// A bad flag or environment variable.
    #[error("configuration error: {0}")]
    Config(String),
    /// The auth configuration was refused by jwt-core.
    #[error("auth configuration error: {0}")]
    Auth(#[from] jwt_core::ConfigError),
}

/// Where the demo reads tokens from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    /// `Authorization: Bearer`.
    Header,
    /// The cookie named by `--cookie-name`.
    Cookie,
    /// Header first, then the cookie.
    Both,
}

/// Whether DPoP-bound tokens (RFC 9449) are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DpopArg {
    /// Bearer tokens and DPoP-bound tokens with their proofs.
    Allowed,
    /// DPoP-bound tokens with their proofs only.
    Required,
}

/// Whether certificate-bound tokens (RFC 8705) are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MtlsArg {
    /// A token bound to a certificate needs it on the connection; unbound tokens pass.
    IfBound,
    /// Every token must be bound to the connection's client certificate.
    Required,
}

/// The algorithms the demo has keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPERCASE")]
pub enum AlgArg {
    /// The HS256 secret.
    Hs256,
    /// The RSA key (in the JWKS).
    Rs256,
    /// The EC P-256 key (in the JWKS).
    Es256,
}

impl AlgArg {
    /// The algorithm.
    pub fn algorithm(self) -> Algorithm {
        match self {
            AlgArg::Hs256 => Algorithm::HS256,
            AlgArg::Rs256 => Algorithm::RS256,
            AlgArg::Es256 => Algorithm::ES256,
        }
    }
}

/// The demo's flags (agno-compatible where agno has an equivalent).
#[derive(Debug, Clone, Parser)]
#[command(about = "AgentOS-style demo service protected by jwt-core")]
pub struct DemoArgs {
    /// Signing algorithm of the demo's own keys (ignored with JWT_VERIFICATION_KEY / JWT_JWKS_FILE).
    #[arg(long, value_enum, default_value = "RS256")]
    pub alg: AlgArg,
    /// The OS id, used as the audience with --verify-audience.
    #[arg(long, default_value = "agentos-demo")]
    pub os_id: String,
    /// Require `aud` to contain the OS id.
    #[arg(long)]
    pub verify_audience: bool,
    /// Where tokens are read from.
    #[arg(long, value_enum, default_value = "both")]
    pub token_source: SourceArg,
    /// The token cookie's name.
    #[arg(long, default_value = "access_token")]
    pub cookie_name: String,
    /// Extra excluded routes, e.g. `--exclude '/public/*'` (repeatable).
    #[arg(long = "exclude")]
    pub exclude: Vec<String>,
    /// Verify with the JWK Set at this URL (https, or http on loopback) instead of the demo keys.
    #[arg(long, conflicts_with = "issuer")]
    pub jwks_url: Option<String>,
    /// Verify tokens of this OpenID / OAuth issuer (discovery; `iss` is pinned to it).
    #[arg(long)]
    pub issuer: Option<String>,
    /// Also accept opaque tokens of --issuer, checked at its introspection endpoint (RFC 7662,
    /// found through discovery) with these resource-server credentials
    /// (`client_secret_basic`); JWTs are still verified locally with the issuer's keys.
    #[arg(long, value_name = "CLIENT_ID:SECRET", requires = "issuer")]
    pub introspection: Option<String>,
    /// Be an OAuth protected resource (RFC 9728) with this identifier, the URL agents and MCP
    /// clients call (e.g. `http://127.0.0.1:7777`): the metadata is served at
    /// `/.well-known/oauth-protected-resource`, every challenge points at it, and tokens must
    /// carry the identifier as their audience (RFC 8707).
    #[arg(long)]
    pub resource: Option<String>,
    /// The authorization server the metadata names (repeatable; default: --issuer).
    #[arg(long = "authorization-server", requires = "resource")]
    pub authorization_servers: Vec<String>,
    /// Accept DPoP-bound tokens (`Authorization: DPoP` with a `DPoP` proof, RFC 9449). Proofs
    /// name the --resource origin, or without it `http://<Host header>` (the demo serves plain
    /// HTTP on loopback).
    #[arg(long, value_enum)]
    pub dpop: Option<DpopArg>,
    /// With --dpop: demand a server nonce in every proof (RFC 9449 §8). A proof without the
    /// current nonce is refused with 401 `use_dpop_nonce` and a `DPoP-Nonce` header, which a
    /// DPoP client retries with. Nonces are stateless HMACs that change every minute; instances
    /// sharing the demo's keys (the same --data-dir) accept each other's.
    #[arg(long, requires = "dpop")]
    pub dpop_nonce: bool,
    /// Keep revocations (and, with --dpop, the DPoP replay cache) in Redis / Valkey at this URL
    /// (`redis://host:port/db`, key prefix `agentos-demo`), shared by every instance started
    /// with the same URL. Without it they live in this process's memory. Either way the check
    /// fails closed: when the store cannot answer, requests get a 503.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// With --tls-cert: ask clients for a certificate chaining to these roots (PEM), i.e.
    /// mutual TLS. A client without one still connects unless --mtls is `required`.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// Accept certificate-bound tokens (RFC 8705: `cnf.x5t#S256` must name the client
    /// certificate of the connection). `if-bound`: unbound tokens pass too; `required`: every
    /// token must be bound, and the TLS handshake requires a client certificate.
    #[arg(long, value_enum, requires = "client_ca")]
    pub mtls: Option<MtlsArg>,
    /// The port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 7777)]
    pub port: u16,
    /// Where keys and the database live.
    #[arg(long, default_value = "demo-data")]
    pub data_dir: PathBuf,
    /// Origins allowed by the CORS layer (outside the auth layer; repeatable) and by the CSRF
    /// rule of writes; the demo's own origin is always allowed too. Other origins are never
    /// reflected.
    #[arg(long = "cors-origin", default_value = "http://localhost:3000")]
    pub cors_origins: Vec<String>,
    /// Print only the `listening on` line (no tokens or curl examples).
    #[arg(long)]
    pub quiet: bool,
}

impl DemoArgs {
    /// `https` with --tls-cert, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls_cert.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// The methods the CORS layer of every framework allows for the configured origins.
pub const CORS_METHODS: [&str; 5] = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"];
/// The request headers the CORS layer of every framework allows: what the middleware reads
/// ([`jwt_core::CORS_ALLOW_HEADERS`]: `authorization`, `dpop`) and `content-type`.
pub const CORS_HEADERS: [&str; 3] = [
    jwt_core::CORS_ALLOW_HEADERS[0],
    jwt_core::CORS_ALLOW_HEADERS[1],
    "content-type",
];
/// The response headers the CORS layer of every framework exposes to scripts: the middleware's
/// challenge and DPoP nonce ([`jwt_core::CORS_EXPOSE_HEADERS`]).
pub const CORS_EXPOSE: [&str; 2] = jwt_core::CORS_EXPOSE_HEADERS;
/// How long a browser may cache a preflight's answer, the same on every framework.
pub const CORS_MAX_AGE_SECS: u64 = 600;

/// A response: status and JSON body (`{"detail": ...}` for errors).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
    /// A `Set-Cookie` value to send, if any.
    pub set_cookie: Option<String>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body,
            set_cookie: None,
        }
    }

    fn error(status: u16, detail: &str) -> Self {
        Self {
            status,
            body: json!({ "detail": detail }),
            set_cookie: None,
        }
    }

    /// The body as bytes.
    pub fn body_bytes(&self) -> Vec<u8> {
        self.body.to_string().into_bytes()
    }
}

impl From<DemoError> for Reply {
    fn from(e: DemoError) -> Self {
        Reply::error(500, &e.to_string())
    }
}

/// The request headers the service reads (`Origin`, `Referer`, `Authorization`, `Cookie`,
/// `Content-Type`), copied by each binary from its framework's request.
#[derive(Debug, Clone, Default)]
pub struct RequestHeaders {
    headers: Vec<(String, String)>,
}

impl RequestHeaders {
    const READ: [&'static str; 5] = [
        "origin",
        "referer",
        "authorization",
        "cookie",
        "content-type",
    ];

    /// Keeps, from `(name, value)` pairs, the headers the service reads. Names match in any case;
    /// a value that is not UTF-8 is kept lossily (so it matches no allowed origin).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let headers = pairs
            .into_iter()
            .filter_map(|(name, value)| {
                let name = name.to_ascii_lowercase();
                Self::READ
                    .contains(&name.as_str())
                    .then(|| (name, String::from_utf8_lossy(value).into_owned()))
            })
            .collect();
        Self { headers }
    }

    /// The same headers with `Content-Type` replaced (an MCP tool call runs the REST
    /// operation with a JSON body).
    fn with_content_type(&self, content_type: &str) -> Self {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| n != "content-type")
            .cloned()
            .collect();
        headers.push(("content-type".into(), content_type.into()));
        Self { headers }
    }

    fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.trim())
    }

    /// The value of a header sent exactly once (`None` when absent or repeated).
    fn single<'s>(&'s self, name: &'s str) -> Option<&'s str> {
        let mut values = self.all(name);
        let first = values.next();
        if values.next().is_some() { None } else { first }
    }

    /// The (first) `Content-Type`.
    pub fn content_type(&self) -> Option<&str> {
        self.all("content-type").next()
    }

    /// The token of a single `Authorization: Bearer` or `Authorization: DPoP` header: a
    /// credential the client attached itself, which a browser never does on its own.
    fn header_token(&self) -> Option<&str> {
        let (scheme, token) = self.single("authorization")?.split_once(' ')?;
        (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop"))
            .then(|| token.trim_start_matches(' '))
    }

    /// The token of a single `Authorization: Bearer` header.
    fn bearer(&self) -> Option<&str> {
        let (scheme, token) = self.single("authorization")?.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim_start_matches(' '))
    }

    /// Whether a non-empty cookie `name` is sent.
    fn has_cookie(&self, name: &str) -> bool {
        self.all("cookie").any(|raw| {
            raw.split(';').any(|pair| {
                pair.split_once('=').is_some_and(|(n, v)| {
                    n.trim() == name && !v.trim().trim_matches('"').is_empty()
                })
            })
        })
    }
}

/// The secret of the demo's DPoP nonces: derived from its HS256 secret (so instances sharing
/// a --data-dir accept each other's nonces), or random for keys it does not hold.
fn nonce_secret(keys: Option<&DemoKeys>) -> Result<[u8; 32], DemoError> {
    match keys {
        Some(keys) => {
            let mut input = b"agentos-demo dpop nonces ".to_vec();
            input.extend_from_slice(keys.hs_secret());
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input);
            let mut secret = [0u8; 32];
            secret.copy_from_slice(digest.as_ref());
            Ok(secret)
        }
        None => {
            use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
            let mut secret = [0u8; 32];
            SystemRandom::new()
                .fill(&mut secret)
                .map_err(|_| DemoError::Key("no randomness".into()))?;
            Ok(secret)
        }
    }
}

/// The origin (`scheme://host[:port]`, lowercased) of an absolute URL such as a `Referer`.
fn url_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if scheme.is_empty() || authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{scheme}://{authority}").to_ascii_lowercase())
}

/// The path of the cookie-login route (its token source is the bearer header only).
const SET_COOKIE_PATH: &str = "/set-auth-cookie";
/// The MCP endpoint (Streamable HTTP).
pub const MCP_PATH: &str = "/mcp";
/// The MCP protocol revision the demo answers with when the client names none it knows.
const MCP_PROTOCOL_VERSION: &str = "2025-06-18";

/// The demo's token source: the configured location (`--token-source`), except on
/// `POST /set-auth-cookie`, which reads only the `Authorization: Bearer` header: the cookie is what
/// that route sets, never what it accepts (a cookie cannot renew itself).
#[derive(Debug)]
struct DemoTokenSource {
    configured: Box<dyn TokenSource>,
    bearer: BearerHeader,
}

impl TokenSource for DemoTokenSource {
    fn extract<'r>(&self, req: &'r dyn RequestParts) -> Result<Option<&'r str>, AuthError> {
        if req.method() == "POST" && req.path() == SET_COOKIE_PATH {
            self.bearer.extract(req)
        } else {
            self.configured.extract(req)
        }
    }

    fn missing_detail(&self) -> Cow<'static, str> {
        self.configured.missing_detail()
    }

    fn describe(&self) -> String {
        self.configured.describe()
    }
}

/// Runs storage work (blocking SQLite calls) on the blocking thread pool of the tokio runtime
/// that every framework here runs on, never on an async worker thread. actix-web's
/// `web::block` is this same `tokio::task::spawn_blocking` (actix-rt is tokio).
async fn blocking(work: impl FnOnce() -> Reply + Send + 'static) -> Reply {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Reply::error(500, "storage task failed"))
}

/// 403 on a write by a token without `sub` (a client-credentials token, say).
pub const SUB_REQUIRED: &str =
    "This operation needs a token that names a user (sub claim); a token without sub cannot write";
/// 403 on a state-changing request whose `Origin` is not allowed.
pub const CROSS_SITE: &str = "Cross-site request refused: Origin not allowed";
/// 403 on a state-changing, cookie-authenticated request without an allowed `Origin`/`Referer`.
pub const COOKIE_NEEDS_ORIGIN: &str = "Cookie-authenticated request refused: it must carry an Origin (or Referer) of an allowed origin";
/// 503 when a revocation cannot be recorded (the revocation store did not answer).
pub const REVOCATION_STORE_UNAVAILABLE: &str =
    "Revocation store unavailable: nothing was revoked, try again";
/// The scope the revocation routes need (the AgentOS admin scope).
pub const ADMIN_SCOPE: &str = "agent_os:admin";
/// The claims whose "issued before" cut-offs the demo's revocation check applies.
pub const REVOCATION_CLAIMS: [&str; 2] = ["sub", "session_id"];
/// The key prefix of the demo's entries in Redis (`--redis`).
pub const REDIS_PREFIX: &str = "agentos-demo";

/// The three kinds of runnable components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/agents`.
    Agents,
    /// `/teams`.
    Teams,
    /// `/workflows`.
    Workflows,
}

impl Kind {
    /// Every kind, in route order.
    pub const ALL: [Kind; 3] = [Kind::Agents, Kind::Teams, Kind::Workflows];

    /// The path segment and scope resource (`agents`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Agents => "agents",
            Kind::Teams => "teams",
            Kind::Workflows => "workflows",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Agents => "Agent",
            Kind::Teams => "Team",
            Kind::Workflows => "Workflow",
        }
    }

    fn id_field(self) -> &'static str {
        match self {
            Kind::Agents => "agent_id",
            Kind::Teams => "team_id",
            Kind::Workflows => "workflow_id",
        }
    }

    fn registry(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Agents => &[("agent-1", "Echo Agent One"), ("agent-2", "Echo Agent Two")],
            Kind::Teams => &[("team-1", "Echo Team")],
            Kind::Workflows => &[("workflow-1", "Echo Workflow")],
        }
    }
}

/// The run request: form or JSON fields.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunInput {
    /// The message to echo.
    #[serde(default)]
    pub message: Option<String>,
    /// The client's session id (the token's wins).
    #[serde(default)]
    pub session_id: Option<String>,
    /// The client's user id: parsed for agno compatibility, never used (the user is always the
    /// token's `sub`).
    #[serde(default)]
    pub user_id: Option<String>,
}

impl RunInput {
    /// Parses a JSON or `application/x-www-form-urlencoded` body.
    ///
    /// # Errors
    /// A 400/415 [`Reply`].
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, Reply> {
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        if ct.starts_with("application/json") {
            return serde_json::from_slice(body)
                .map_err(|_| Reply::error(400, "Invalid JSON body"));
        }
        if ct.starts_with("application/x-www-form-urlencoded")
            || (ct.is_empty() && !body.is_empty())
        {
            let mut input = RunInput::default();
            for pair in String::from_utf8_lossy(body).split('&') {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let v = form_decode(v);
                match k {
                    "message" => input.message = Some(v),
                    "session_id" => input.session_id = Some(v),
                    "user_id" => input.user_id = Some(v),
                    _ => {}
                }
            }
            return Ok(input);
        }
        if body.is_empty() {
            return Ok(RunInput::default());
        }
        Err(Reply::error(415, "Use a JSON or form body"))
    }
}

fn form_decode(v: &str) -> String {
    let spaced = v.replace('+', " ");
    let bytes = spaced.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = spaced
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The route-table entries of the revocation routes (the `{id}` name matches the preset's
/// `/sessions/{id}` entries).
const REVOKE_SESSION_ROUTE: &str = "POST /sessions/{id}/revoke";
/// See [`REVOKE_SESSION_ROUTE`].
const REVOKE_USER_ROUTE: &str = "POST /users/{id}/revoke";

/// The `--redis` store. [`RedisStore::open`] spawns onto the current Tokio runtime (and panics
/// outside one): refuse cleanly instead.
fn open_redis(url: &str) -> Result<Arc<RedisStore>, DemoError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(DemoError::Config(
            "--redis needs a Tokio runtime: start the demo from inside one".into(),
        ));
    }
    let store = RedisStore::open(url).map_err(|e| DemoError::Config(format!("--redis: {e}")))?;
    Ok(Arc::new(store.prefix(REDIS_PREFIX)))
}

fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    let _ = SystemRandom::new().fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

/// The running demo: auth configuration, keys (when it holds them) and storage.
///
/// # Writes
///
/// Every state-changing operation (a run, a cancel, a session delete, a revocation, cookie login
/// and logout) first applies the CSRF rule: an `Origin` header, when sent, must be one of
/// [`Demo::allowed_origins`] (else 403 [`CROSS_SITE`]); a cookie-authenticated request (the token
/// the middleware verified is not the request's `Authorization: Bearer` one) must also carry an
/// allowed `Origin` or, without `Origin`, a `Referer` of an allowed origin (else 403
/// [`COOKIE_NEEDS_ORIGIN`]). A run, a cancel and a session delete then need a token naming its
/// user (`sub`; else 403 [`SUB_REQUIRED`]): the client's ids never stand in for it.
#[derive(Debug, Clone)]
pub struct Demo {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    args: DemoArgs,
    auth: JwtAuth,
    keys: Option<DemoKeys>,
    store: Store,
    /// The revocation check installed in `auth`, and the handle the admin routes revoke with.
    revocation: Revocation,
    /// The demo's own origins, once the binary knows its port ([`Demo::listening_on`]).
    own_origins: OnceLock<[String; 2]>,
}

impl Demo {
    /// Builds the demo from flags and the process environment.
    ///
    /// # Errors
    /// Key, storage or configuration errors.
    pub fn start(args: DemoArgs) -> Result<Self, DemoError> {
        Self::start_with_env(args, |name| std::env::var(name).ok())
    }

    /// Builds the demo reading environment variables through `env`.
    ///
    /// # Errors
    /// As [`Demo::start`].
    pub fn start_with_env(
        args: DemoArgs,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, DemoError> {
        std::fs::create_dir_all(&args.data_dir)
            .map_err(|e| DemoError::Io(format!("{}: {e}", args.data_dir.display())))?;
        let external = ["JWT_VERIFICATION_KEY", "JWT_JWKS_FILE", "JWT_JWKS"]
            .iter()
            .any(|v| env(v).is_some_and(|s| !s.trim().is_empty()));
        let remote = match (&args.jwks_url, &args.issuer) {
            (Some(url), _) => Some(jwt_core::RemoteJwks::new(url.clone())),
            (None, Some(issuer)) => Some(jwt_core::RemoteJwks::discover(issuer.clone())),
            (None, None) => None,
        };
        let (builder, keys) = if let Some(remote) = remote {
            let remote = remote.map_err(|e| DemoError::Config(e.to_string()))?;
            match (&args.introspection, &args.issuer) {
                (Some(credentials), Some(issuer)) => {
                    let opaque = introspection(issuer, credentials)?;
                    let by_shape = jwt_core::ByShape::new(remote, opaque);
                    (JwtAuth::builder().verifier(by_shape), None)
                }
                _ => (JwtAuth::builder().verifier(remote), None),
            }
        } else if external {
            (
                JwtAuth::builder().verifier(KeyChain::from_lookup(&env)?),
                None,
            )
        } else {
            let keys = DemoKeys::load_or_generate(&args.data_dir)?;
            let builder = match args.alg {
                AlgArg::Hs256 => JwtAuth::builder().verifier(StaticKeys::hs256(keys.hs_secret())?),
                AlgArg::Rs256 | AlgArg::Es256 => {
                    JwtAuth::builder().verifier(Jwks::from_file(keys.jwks_path())?)
                }
            };
            (builder, Some(keys))
        };
        // Cookie login exchanges a valid token (any scope) for a cookie holding that same token;
        // logout needs none (an expired cookie can still be cleared). Neither mints anything.
        // Revocation (admin only): every token of a session, or of a user, issued up to now.
        let mut table = RouteTable::agent_os()
            // The MCP endpoint: each tool needs the AgentOS scope its REST route needs.
            .mcp(MCP_PATH)
            .route("MCP tools/call list_agents", ["agents:read"])
            .route("MCP tools/call get_agent", ["agents:{agent_id}:read"])
            .route("MCP tools/call run_agent", ["agents:{agent_id}:run"])
            .authenticated(&format!("POST {SET_COOKIE_PATH}"))
            .exclude("POST /clear-auth-cookie")
            .route(REVOKE_SESSION_ROUTE, [ADMIN_SCOPE])
            .route(REVOKE_USER_ROUTE, [ADMIN_SCOPE]);
        for pattern in &args.exclude {
            table = table.exclude(pattern);
        }
        let validation = if args.verify_audience {
            Validation::default().audience([args.os_id.clone()])
        } else {
            // agno checks `aud` only with verify_audience.
            Validation::default().audience_policy(AudiencePolicy::DangerousIgnore)
        };
        let configured: Box<dyn TokenSource> = match args.token_source {
            SourceArg::Header => Box::new(BearerHeader::new()),
            SourceArg::Cookie => Box::new(CookieToken::new(args.cookie_name.clone())),
            SourceArg::Both => Box::new(AnyOf::header_then_cookie(args.cookie_name.clone())),
        };
        let builder = match &args.resource {
            Some(resource) => {
                let servers = if args.authorization_servers.is_empty() {
                    args.issuer.iter().cloned().collect()
                } else {
                    args.authorization_servers.clone()
                };
                let metadata = servers.into_iter().fold(
                    ProtectedResourceMetadata::new(resource).resource_name("AgentOS demo"),
                    ProtectedResourceMetadata::authorization_server,
                );
                builder.protected_resource(metadata)
            }
            None => builder,
        };
        // One Redis store (`--redis`) for the revocations and the DPoP replay cache, shared by
        // every instance on that server; otherwise this process's memory.
        let redis = match &args.redis {
            Some(url) => Some(open_redis(url)?),
            None => None,
        };
        let revocation = match &redis {
            Some(redis) => Revocation::shared(redis.clone()),
            None => Revocation::new(JtiDenylist::new()),
        }
        .claims(REVOCATION_CLAIMS)
        .failure_policy(FailurePolicy::Closed);
        let builder = match args.dpop {
            Some(mode) => {
                let dpop = match mode {
                    DpopArg::Allowed => Dpop::allowed(),
                    DpopArg::Required => Dpop::required(),
                };
                let dpop = match &redis {
                    Some(redis) => dpop.shared_replay_store(redis.clone()),
                    None => dpop,
                };
                let dpop = if args.dpop_nonce {
                    dpop.nonces(DpopNonces::new(
                        nonce_secret(keys.as_ref())?,
                        std::time::Duration::from_secs(60),
                    )?)
                } else {
                    dpop
                };
                builder.dpop(match &args.resource {
                    Some(_) => dpop,
                    None => dpop.origin(HtuOrigin::Host(args.scheme().into())),
                })
            }
            None => builder,
        };
        let builder = match args.mtls {
            Some(MtlsArg::IfBound) => builder.mtls(jwt_core::Mtls::if_bound()),
            Some(MtlsArg::Required) => builder.mtls(jwt_core::Mtls::required()),
            None => builder,
        };
        let auth = builder
            .scopes(table.build()?)
            .claims(
                StandardClaims::agent_os()
                    .scope_claims(["scopes", "scope", "scp"])
                    .dependencies_claims(["name", "email", "roles", "org"])
                    .session_state_claims(["session_state"]),
            )
            .validation(validation)
            .check(revocation.clone())
            .token_source(DemoTokenSource {
                configured,
                bearer: BearerHeader::new(),
            })
            // The raw token: what `POST /set-auth-cookie` puts in the cookie, and how a write
            // tells a bearer-authenticated request from a cookie-authenticated one.
            .keep_token(true)
            .realm("agentos")
            // agno checks no issuer; `--issuer` pins one (through discovery).
            .dangerous_any_issuer()
            .build()?;
        let store = Store::open(&args.data_dir.join("demo.sqlite3"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                args,
                auth,
                keys,
                store,
                revocation,
                own_origins: OnceLock::new(),
            }),
        })
    }

    /// The configured middleware (hand it to an adapter).
    pub fn auth(&self) -> &JwtAuth {
        &self.inner.auth
    }

    /// The flags it runs with.
    pub fn args(&self) -> &DemoArgs {
        &self.inner.args
    }

    /// Records the port the binary listens on (call it once, before serving): the demo's own
    /// origins, `http://127.0.0.1:{port}` and `http://localhost:{port}`, join
    /// [`Demo::allowed_origins`].
    pub fn listening_on(&self, port: u16) {
        let scheme = self.inner.args.scheme();
        let _ = self.inner.own_origins.set([
            format!("{scheme}://127.0.0.1:{port}"),
            format!("{scheme}://localhost:{port}"),
        ]);
    }

    /// The rustls configuration of `--tls-cert/--tls-key` (with `--client-ca`: client
    /// certificates asked for, and required with `--mtls required`), or `None` for plain HTTP.
    ///
    /// # Errors
    /// [`DemoError::Io`] when a file cannot be read, [`DemoError::Config`] when it holds no
    /// usable certificate or key.
    pub fn tls(&self) -> Result<Option<Arc<rustls::ServerConfig>>, DemoError> {
        let args = &self.inner.args;
        let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
            return Ok(None);
        };
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|e| DemoError::Io(format!("{}: {e}", path.display())))
        };
        let (cert, key) = (read(cert)?, read(key)?);
        let roots = args.client_ca.as_ref().map(read).transpose()?;
        let mut config = TlsConfig::new(&cert, &key);
        if let Some(roots) = &roots {
            let mode = match args.mtls {
                Some(MtlsArg::Required) => ClientCertificates::Required,
                _ => ClientCertificates::Optional,
            };
            config = config.client_certificates(mode, roots);
        }
        config
            .build()
            .map(Some)
            .map_err(|e| DemoError::Config(e.to_string()))
    }

    /// The origins a browser request may come from: the `--cors-origin`s, then the demo's own
    /// origins (once [`Demo::listening_on`] ran). The CORS layer of every binary allows exactly
    /// these, and the CSRF rule of writes (see [`Demo`]) accepts exactly these.
    pub fn allowed_origins(&self) -> Vec<String> {
        self.allowed().map(str::to_owned).collect()
    }

    fn allowed(&self) -> impl Iterator<Item = &str> {
        self.inner
            .args
            .cors_origins
            .iter()
            .map(|o| o.trim_end_matches('/'))
            .chain(
                self.inner
                    .own_origins
                    .get()
                    .into_iter()
                    .flatten()
                    .map(String::as_str),
            )
    }

    /// Mints a token with the demo's keys, or `None` when the demo does not hold them.
    ///
    /// # Errors
    /// Signing errors.
    pub fn mint(&self, sub: &str, scopes: &[&str], ttl: u64) -> Result<Option<String>, DemoError> {
        let Some(keys) = &self.inner.keys else {
            return Ok(None);
        };
        let claims = json!({
            "sub": sub, "aud": self.inner.args.os_id, "iat": now(), "exp": now() + ttl as i64,
            "scopes": scopes,
        });
        keys.mint(self.inner.args.alg.algorithm(), &claims)
            .map(Some)
    }

    /// What the binary prints once listening: the ready line, then tokens and `curl` lines.
    pub fn banner(&self, port: u16) -> String {
        let scheme = self.inner.args.scheme();
        let mut out = format!("listening on {scheme}://127.0.0.1:{port}\n");
        if self.inner.args.quiet {
            return out;
        }
        let admin = self.mint("admin", &["agent_os:admin"], 3600).ok().flatten();
        let limited = self
            .mint(
                "alice",
                &["agents:read", "agents:agent-1:run", "sessions:read"],
                3600,
            )
            .ok()
            .flatten();
        match (admin, limited) {
            (Some(admin), Some(limited)) => {
                let base = format!("{scheme}://127.0.0.1:{port}");
                out.push_str(&format!(
                    "\nadmin token (agent_os:admin):\n  {admin}\n\
                     limited token (alice: agents:read agents:agent-1:run sessions:read):\n  {limited}\n\n\
                     try:\n  export TOKEN={limited}\n  \
                     curl -s {base}/agents -H \"Authorization: Bearer $TOKEN\"\n  \
                     curl -s -X POST {base}/agents/agent-1/runs -H \"Authorization: Bearer $TOKEN\" -d message=hello\n  \
                     curl -s {base}/agents/agent-2/runs -H \"Authorization: Bearer $TOKEN\"   # 403: no run scope on agent-2\n\n\
                     cookie login (browsers): exchange a token for an HttpOnly cookie holding that same token\n  \
                     curl -si -X POST {base}/set-auth-cookie -H \"Authorization: Bearer $TOKEN\"\n  \
                     (cookie-authenticated writes need an Origin or Referer of {base} or a --cors-origin;\n   \
                     POST /clear-auth-cookie logs out; more tokens: cargo xtask token --sub bob --scopes \"agents:read\")\n"
                ));
            }
            _ => out.push_str("\n(external keys configured: mint tokens with your own issuer)\n"),
        }
        out
    }

    // ---- public routes -------------------------------------------------------------------

    /// `GET /`.
    pub fn root(&self) -> Reply {
        Reply::ok(json!({
            "name": "AgentOS demo",
            "os_id": self.inner.args.os_id,
            "docs": "https://github.com/ (see the workspace README)",
        }))
    }

    /// `GET /health`.
    pub fn health(&self) -> Reply {
        Reply::ok(json!({ "status": "ok" }))
    }

    /// `GET /info`.
    pub fn info(&self) -> Reply {
        Reply::ok(json!({
            "os_id": self.inner.args.os_id,
            "authorization": true,
            "agents": Kind::Agents.registry().len(),
            "teams": Kind::Teams.registry().len(),
            "workflows": Kind::Workflows.registry().len(),
        }))
    }

    /// `GET /config` (needs `config:read`, checked by the middleware).
    pub fn config(&self) -> Reply {
        let ids = |k: Kind| k.registry().iter().map(|(id, _)| *id).collect::<Vec<_>>();
        Reply::ok(json!({
            "os_id": self.inner.args.os_id,
            "agents": ids(Kind::Agents),
            "teams": ids(Kind::Teams),
            "workflows": ids(Kind::Workflows),
        }))
    }

    /// `GET /memories`: the demo stores none.
    pub fn memories(&self) -> Reply {
        Reply::ok(json!([]))
    }

    // ---- MCP -------------------------------------------------------------------------------

    /// `POST /mcp`: the demo's MCP server, the same agents as the REST routes (Streamable HTTP
    /// with JSON answers and no session; the demo serves the JSON-RPC itself on all four
    /// frameworks, where an MCP SDK could serve it only under some). The middleware already
    /// decided on the body: each tool needs the AgentOS scope of its REST route
    /// (`run_agent` → `agents:{agent_id}:run`). `tools/list` shows only what this token may
    /// call. A notification (no `id`) is answered 202.
    pub async fn mcp(&self, ctx: &AuthContext, req: &RequestHeaders, body: &[u8]) -> Reply {
        let Ok(message) = serde_json::from_slice::<Value>(body) else {
            return Reply::error(400, "not JSON");
        };
        let Some(id) = message.get("id").cloned() else {
            return Reply {
                status: 202,
                body: Value::Null,
                set_cookie: None,
            };
        };
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        let answer = |result: Result<Value, (i64, String)>| {
            Reply::ok(match result {
                Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
                Err((code, msg)) => json!({
                    "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": msg },
                }),
            })
        };
        let result = match message.get("method").and_then(Value::as_str).unwrap_or("") {
            "initialize" => Ok(json!({
                "protocolVersion": params.get("protocolVersion").cloned()
                    .unwrap_or_else(|| json!(MCP_PROTOCOL_VERSION)),
                "capabilities": { "tools": { "listChanged": false } },
                "serverInfo": { "name": "agentos-demo", "version": env!("CARGO_PKG_VERSION") },
            })),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(json!({ "tools": Self::mcp_tools(ctx) })),
            "tools/call" => return answer(self.mcp_call(ctx, req, &params).await),
            other => Err((-32601, format!("Method not found: {other}"))),
        };
        answer(result)
    }

    /// The tools this caller may call: `run_agent` and `get_agent` when it may use at least
    /// one agent (their scopes name the `agent_id` argument).
    fn mcp_tools(ctx: &AuthContext) -> Vec<Value> {
        let agent_tool = |tool: &str| {
            Kind::Agents.registry().iter().any(|(id, _)| {
                ctx.may_call(
                    &McpOperation::new("tools/call", Some(tool)).with_argument("agent_id", *id),
                )
            })
        };
        let id_schema = json!({
            "type": "object",
            "properties": {
                "agent_id": { "type": "string" },
                "message": { "type": "string" },
            },
            "required": ["agent_id"],
        });
        [
            ("list_agents", "The agents this caller may see", json!({ "type": "object" })),
            ("get_agent", "One agent", id_schema.clone()),
            ("run_agent", "Runs an agent with a message", id_schema),
        ]
        .into_iter()
        .filter(|(name, ..)| ctx.may_call_tool(name) || agent_tool(name))
        .map(|(name, description, schema)| {
            json!({ "name": name, "description": description, "inputSchema": schema })
        })
        .collect()
    }

    /// A `tools/call`: the REST handler of the same operation, its answer as the tool result
    /// (an error status is a tool error the model can read, not a protocol error).
    async fn mcp_call(
        &self,
        ctx: &AuthContext,
        req: &RequestHeaders,
        params: &Value,
    ) -> Result<Value, (i64, String)> {
        let arg = |name: &str| {
            params
                .get("arguments")
                .and_then(|a| a.get(name))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let reply = match params.get("name").and_then(Value::as_str).unwrap_or("") {
            "list_agents" => {
                let items: Vec<Value> = Kind::Agents
                    .registry()
                    .iter()
                    .filter(|(id, _)| ctx.can(&format!("agents:{id}:read")))
                    .map(|(id, name)| json!({ "id": id, "name": name }))
                    .collect();
                Reply::ok(Value::Array(items))
            }
            "get_agent" => self.get(Kind::Agents, &arg("agent_id")),
            "run_agent" => {
                let input = json!({ "message": arg("message") }).to_string();
                let json_request = req.with_content_type("application/json");
                self.run(
                    Kind::Agents,
                    &arg("agent_id"),
                    ctx,
                    &json_request,
                    input.as_bytes(),
                )
                .await
            }
            other => return Err((-32602, format!("Unknown tool: {other}"))),
        };
        Ok(json!({
            "content": [{ "type": "text", "text": reply.body.to_string() }],
            "isError": reply.status >= 400,
        }))
    }

    // ---- agents, teams, workflows ------------------------------------------------------------

    /// `GET /agents` (and teams, workflows): what the caller may see (agno §11).
    pub fn list(&self, kind: Kind, ctx: &AuthContext) -> Reply {
        let visible = ctx.listing_ids(kind.plural());
        if visible.is_empty() {
            return Reply::error(
                403,
                &format!(
                    "Insufficient permissions. Required scope(s): {}:read",
                    kind.plural()
                ),
            );
        }
        let items: Vec<Value> = kind
            .registry()
            .iter()
            .filter(|(id, _)| visible.contains(id))
            .map(|(id, name)| json!({ "id": id, "name": name }))
            .collect();
        Reply::ok(Value::Array(items))
    }

    fn find(kind: Kind, id: &str) -> Option<&'static (&'static str, &'static str)> {
        kind.registry().iter().find(|(i, _)| *i == id)
    }

    fn not_found(kind: Kind) -> Reply {
        Reply::error(404, &format!("{} not found", kind.noun()))
    }

    /// `GET /agents/{id}`.
    pub fn get(&self, kind: Kind, id: &str) -> Reply {
        match Self::find(kind, id) {
            Some((id, name)) => Reply::ok(json!({ "id": id, "name": name })),
            None => Self::not_found(kind),
        }
    }

    /// `POST /agents/{id}/runs` (form or JSON body): the user is the token's `sub`, never the
    /// body's `user_id` (ignored); the session is the token's `session_id`, else the body's, else
    /// a new one, and joining an existing session another user owns is a 404 (admins excepted).
    /// The token's `dependencies` / `session_state` replace the client's (agno §10). A write:
    /// the checks of [`Demo`]'s writes come first.
    pub async fn run(
        &self,
        kind: Kind,
        id: &str,
        ctx: &AuthContext,
        req: &RequestHeaders,
        body: &[u8],
    ) -> Reply {
        let user = match self.writer(ctx, req) {
            Ok(user) => user.to_owned(),
            Err(r) => return r,
        };
        let Some((id, name)) = Self::find(kind, id) else {
            return Self::not_found(kind);
        };
        let input = match RunInput::parse(req.content_type(), body) {
            Ok(input) => input,
            Err(r) => return r,
        };
        let Some(message) = input.message.filter(|m| !m.is_empty()) else {
            return Reply::error(400, "message is required");
        };
        let session_id = ctx
            .session_id()
            .map(str::to_owned)
            .or(input.session_id)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| random_id("session"));
        let mut content = format!("{name} echoes: {message}");
        if let Some(Value::String(who)) = ctx.dependencies().get("name") {
            content.push_str(&format!(" (for {who})"));
        }
        let admin = ctx.is_admin();
        let run = RunRecord {
            run_id: random_id("run"),
            kind: kind.plural().to_owned(),
            component_id: (*id).to_owned(),
            user_id: Some(user.clone()),
            session_id,
            content,
            status: "completed".into(),
        };
        let this = self.clone();
        blocking(move || {
            let may_use = |s: &SessionRecord| admin || s.user_id.as_deref() == Some(user.as_str());
            match this.inner.store.record_run(&run, now(), may_use) {
                Ok(true) => Reply::ok(run_json(kind, &run)),
                Ok(false) => Reply::error(404, "Session not found"),
                Err(e) => e.into(),
            }
        })
        .await
    }

    /// Whose rows a read returns: `Some(None)` = everyone's (admins), `Some(Some(user))` = the
    /// caller's, `None` = nobody's (a token without `sub` owns nothing).
    fn user_filter(ctx: &AuthContext) -> Option<Option<String>> {
        if ctx.is_admin() {
            Some(None)
        } else {
            ctx.user_id()
                .filter(|u| !u.is_empty())
                .map(|u| Some(u.to_owned()))
        }
    }

    /// `GET /agents/{id}/runs`: the caller's runs (all runs for admins).
    pub async fn list_runs(&self, kind: Kind, id: &str, ctx: &AuthContext) -> Reply {
        if Self::find(kind, id).is_none() {
            return Self::not_found(kind);
        }
        let Some(user) = Self::user_filter(ctx) else {
            return Reply::ok(json!([]));
        };
        let (this, id) = (self.clone(), id.to_owned());
        blocking(
            move || match this.inner.store.runs(kind.plural(), &id, user.as_deref()) {
                Ok(runs) => Reply::ok(Value::Array(
                    runs.iter().map(|r| run_json(kind, r)).collect(),
                )),
                Err(e) => e.into(),
            },
        )
        .await
    }

    /// `POST /agents/{id}/runs/{run_id}/cancel`: the caller's own run (any run for admins);
    /// 404 for another user's. A write: the checks of [`Demo`]'s writes come first.
    pub async fn cancel(
        &self,
        kind: Kind,
        id: &str,
        run_id: &str,
        ctx: &AuthContext,
        req: &RequestHeaders,
    ) -> Reply {
        let user = match self.writer(ctx, req) {
            Ok(user) => user.to_owned(),
            Err(r) => return r,
        };
        let admin = ctx.is_admin();
        let (this, id, run_id) = (self.clone(), id.to_owned(), run_id.to_owned());
        blocking(move || {
            let may_cancel = |r: &RunRecord| {
                r.kind == kind.plural()
                    && r.component_id == id
                    && (admin || r.user_id.as_deref() == Some(user.as_str()))
            };
            match this.inner.store.cancel(&run_id, may_cancel) {
                Ok(true) => Reply::ok(
                    json!({ "run_id": run_id, kind.id_field(): id, "status": "cancelled" }),
                ),
                Ok(false) => Reply::error(404, "Run not found"),
                Err(e) => e.into(),
            }
        })
        .await
    }

    // ---- sessions -----------------------------------------------------------------------------

    /// `GET /sessions`: non-admins see only their own user's sessions.
    pub async fn sessions(&self, ctx: &AuthContext) -> Reply {
        let Some(user) = Self::user_filter(ctx) else {
            return Reply::ok(json!({ "data": [] }));
        };
        let this = self.clone();
        blocking(move || match this.inner.store.sessions(user.as_deref()) {
            Ok(list) => Reply::ok(json!({ "data": list })),
            Err(e) => e.into(),
        })
        .await
    }

    /// `GET /sessions/{id}`: 404 for another user's session (and for every session when the
    /// token has no `sub`: absent owners never match).
    pub async fn session(&self, id: &str, ctx: &AuthContext) -> Reply {
        let Some(user) = Self::user_filter(ctx) else {
            return Reply::error(404, "Session not found");
        };
        let (this, id) = (self.clone(), id.to_owned());
        blocking(move || match this.inner.store.session(&id) {
            Ok(Some(s)) if owns(user.as_deref(), &s) => Reply::ok(json!(s)),
            Ok(_) => Reply::error(404, "Session not found"),
            Err(e) => e.into(),
        })
        .await
    }

    /// `DELETE /sessions/{id}`: the caller's own session (any for admins); 404 otherwise. A
    /// write: the checks of [`Demo`]'s writes come first.
    pub async fn delete_session(&self, id: &str, ctx: &AuthContext, req: &RequestHeaders) -> Reply {
        let user = match self.writer(ctx, req) {
            Ok(user) => user.to_owned(),
            Err(r) => return r,
        };
        let filter = if ctx.is_admin() { None } else { Some(user) };
        let (this, id) = (self.clone(), id.to_owned());
        blocking(move || {
            match this
                .inner
                .store
                .delete_session(&id, |s| owns(filter.as_deref(), s))
            {
                Ok(true) => Reply::ok(json!({ "deleted": id })),
                Ok(false) => Reply::error(404, "Session not found"),
                Err(e) => e.into(),
            }
        })
        .await
    }

    // ---- revocation (admin) -------------------------------------------------------------------

    /// `POST /sessions/{id}/revoke` (`agent_os:admin`, checked by the middleware): revokes every
    /// token whose `session_id` claim is `id` issued up to now, on every instance sharing the
    /// revocation store (`--redis`). 200 `{"revoked_session": id, "issued_before": t}`: tokens
    /// of that session with an `iat` before `t` are refused (401 `Token has been revoked`);
    /// 503 when the store cannot record it. A write: the CSRF rule of [`Demo`] applies (no
    /// `sub` is needed: nothing is recorded in the caller's name).
    pub async fn revoke_session(&self, id: &str, ctx: &AuthContext, req: &RequestHeaders) -> Reply {
        self.revoke_issued_before("session_id", id, "revoked_session", ctx, req)
            .await
    }

    /// `POST /users/{id}/revoke` (`agent_os:admin`): revokes every token of the subject `id`
    /// issued up to now, like [`Demo::revoke_session`]; 200
    /// `{"revoked_user": id, "issued_before": t}`.
    pub async fn revoke_user(&self, id: &str, ctx: &AuthContext, req: &RequestHeaders) -> Reply {
        self.revoke_issued_before("sub", id, "revoked_user", ctx, req)
            .await
    }

    async fn revoke_issued_before(
        &self,
        claim: &str,
        value: &str,
        field: &str,
        ctx: &AuthContext,
        req: &RequestHeaders,
    ) -> Reply {
        if let Err(r) = self.same_site(req, self.cookie_borne(Some(ctx), req)) {
            return r;
        }
        // `iat` has whole seconds: `now + 1` covers every token issued up to this second
        // (including one issued later in this same second).
        let before = u64::try_from(now()).unwrap_or(0) + 1;
        match self
            .inner
            .revocation
            .revoke_issued_before(claim, value, before)
            .await
        {
            Ok(()) => Reply::ok(json!({ field: value, "issued_before": before })),
            Err(e) => {
                eprintln!("agentos-demo: revoking {claim}={value:?} failed: {e}");
                Reply::error(503, REVOCATION_STORE_UNAVAILABLE)
            }
        }
    }

    /// The revocation handle the middleware's check uses (clones share it): for revoking from
    /// code, e.g. a single token by `jti`.
    pub fn revocation(&self) -> &Revocation {
        &self.inner.revocation
    }

    // ---- writes: CSRF and subject checks ------------------------------------------------------

    /// Whether `origin` (an `Origin` value, or a `Referer`'s origin) is one of
    /// [`Demo::allowed_origins`] (ASCII case-insensitively; nothing else is normalised).
    fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed()
            .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }

    /// Whether the browser's cookie, not an `Authorization` header, carries this request's
    /// credential: the token the middleware verified is not the `Authorization: Bearer` (or
    /// `DPoP`) one; without a
    /// verified token (an excluded route), whether the auth cookie is sent and could be read.
    fn cookie_borne(&self, ctx: Option<&AuthContext>, req: &RequestHeaders) -> bool {
        match ctx.and_then(AuthContext::token) {
            Some(token) => req.header_token() != Some(token),
            None => self.reads_cookie() && req.has_cookie(&self.inner.args.cookie_name),
        }
    }

    /// The CSRF rule of every state-changing route (runs, cancel, session delete, revocations,
    /// cookie login and logout). 1. An `Origin` header, whenever sent, must be an allowed origin (a
    /// cross-site page, `null` or several values: 403). 2. A cookie-authenticated request must
    /// also prove where it comes from: an allowed `Origin`, or, without `Origin`, a `Referer`
    /// whose origin is allowed; neither: 403. A bearer-header request without `Origin` (curl, a
    /// server) passes: browsers never attach a bearer header on their own.
    fn same_site(&self, req: &RequestHeaders, cookie_borne: bool) -> Result<(), Reply> {
        let mut origins = req.all("origin");
        match (origins.next(), origins.next()) {
            (Some(origin), None) if self.origin_allowed(origin) => Ok(()),
            (Some(_), _) => Err(Reply::error(403, CROSS_SITE)),
            (None, _) if !cookie_borne => Ok(()),
            (None, _) => match req.single("referer").and_then(url_origin) {
                Some(origin) if self.origin_allowed(&origin) => Ok(()),
                _ => Err(Reply::error(403, COOKIE_NEEDS_ORIGIN)),
            },
        }
    }

    /// The checks of every write, in order: [`Demo::same_site`] (CSRF), then a subject: the
    /// token must name its user (`sub`); without one the write is a 403, never a fallback to
    /// ids sent by the client. Returns the user id.
    fn writer<'c>(&self, ctx: &'c AuthContext, req: &RequestHeaders) -> Result<&'c str, Reply> {
        self.same_site(req, self.cookie_borne(Some(ctx), req))?;
        ctx.user_id()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Reply::error(403, SUB_REQUIRED))
    }

    // ---- cookie login -------------------------------------------------------------------------

    /// Whether the middleware reads the auth cookie (`--token-source cookie` or `both`).
    fn reads_cookie(&self) -> bool {
        self.inner.args.token_source != SourceArg::Header
    }

    fn cookie_login_enabled(&self) -> Result<(), Reply> {
        if self.reads_cookie() {
            Ok(())
        } else {
            Err(Reply::error(
                404,
                "Cookie login is disabled: the demo reads no cookie (--token-source header)",
            ))
        }
    }

    /// `POST /set-auth-cookie` (any valid token, checked by the middleware, which reads only
    /// the `Authorization: Bearer` header on this route): sets an HttpOnly, Secure,
    /// SameSite=Strict cookie holding exactly the presented token, expiring with it. Nothing is
    /// minted: the cookie grants what the bearer token grants, no more. The CSRF rule of [`Demo`]
    /// applies; a token not sent as a bearer header is a 400. 404 with `--token-source header`.
    pub fn set_auth_cookie(&self, ctx: &AuthContext, req: &RequestHeaders) -> Reply {
        if let Err(r) = self.cookie_login_enabled() {
            return r;
        }
        if let Err(r) = self.same_site(req, self.cookie_borne(Some(ctx), req)) {
            return r;
        }
        let Some(token) = ctx.token().filter(|t| req.bearer() == Some(*t)) else {
            return Reply::error(
                400,
                "POST /set-auth-cookie exchanges the token of the Authorization: Bearer header",
            );
        };
        let max_age = ctx
            .claim("exp")
            .and_then(|exp| exp.as_i64().or_else(|| exp.as_f64().map(|f| f as i64)))
            .map(|exp| format!(" Max-Age={};", (exp - now()).max(0)))
            .unwrap_or_default();
        let name = &self.inner.args.cookie_name;
        Reply {
            status: 200,
            body: json!({
                "message": "Authentication cookie set successfully",
                "cookie_name": name,
                "user_id": ctx.user_id(),
                "security_features": ["httponly", "secure", "samesite=strict"],
            }),
            set_cookie: Some(format!(
                "{name}={token}; Path=/;{max_age} HttpOnly; Secure; SameSite=Strict"
            )),
        }
    }

    /// `POST /clear-auth-cookie` (no token needed: an expired cookie can be cleared too):
    /// expires the cookie. The CSRF rule of [`Demo`] applies when the request carries the cookie.
    pub fn clear_auth_cookie(&self, req: &RequestHeaders) -> Reply {
        if let Err(r) = self.cookie_login_enabled() {
            return r;
        }
        if let Err(r) = self.same_site(req, self.cookie_borne(None, req)) {
            return r;
        }
        let name = &self.inner.args.cookie_name;
        Reply {
            status: 200,
            body: json!({ "message": "Authentication cookie cleared successfully" }),
            set_cookie: Some(format!(
                "{name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
            )),
        }
    }
}

/// Whether `user` (`None` = an admin: everyone) owns `session`; an absent owner never matches.
fn owns(user: Option<&str>, session: &SessionRecord) -> bool {
    match user {
        None => true,
        Some(user) => session.user_id.as_deref() == Some(user),
    }
}

fn run_json(kind: Kind, run: &RunRecord) -> Value {
    let mut obj = Map::new();
    obj.insert("run_id".into(), json!(run.run_id));
    obj.insert(kind.id_field().into(), json!(run.component_id));
    obj.insert("user_id".into(), json!(run.user_id));
    obj.insert("session_id".into(), json!(run.session_id));
    obj.insert("content".into(), json!(run.content));
    obj.insert("status".into(), json!(run.status));
    Value::Object(obj)
}

/// The introspection verifier of `--introspection CLIENT_ID:SECRET` for `issuer`.
fn introspection(issuer: &str, credentials: &str) -> Result<jwt_core::Introspection, DemoError> {
    let Some((id, secret)) = credentials.split_once(':') else {
        return Err(DemoError::Config(
            "--introspection takes CLIENT_ID:SECRET".to_owned(),
        ));
    };
    let auth = jwt_core::ClientAuth::client_secret_basic(id, secret);
    jwt_core::Introspection::discover(issuer, auth).map_err(|e| DemoError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_input_parses_json_and_forms() {
        let j = RunInput::parse(
            Some("application/json"),
            br#"{"message":"hi","user_id":"u"}"#,
        )
        .unwrap();
        assert_eq!(
            (j.message.as_deref(), j.user_id.as_deref()),
            (Some("hi"), Some("u"))
        );
        let f = RunInput::parse(
            Some("application/x-www-form-urlencoded"),
            b"message=hello+there%21&session_id=s1",
        )
        .unwrap();
        assert_eq!(f.message.as_deref(), Some("hello there!"));
        assert_eq!(f.session_id.as_deref(), Some("s1"));
        assert_eq!(
            RunInput::parse(Some("application/json"), b"{")
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            RunInput::parse(Some("text/plain"), b"x")
                .unwrap_err()
                .status,
            415
        );
    }
}
