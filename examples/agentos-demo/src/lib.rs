//! # agentos-demo
//!
//! The AgentOS-style demo service. Everything here is framework-free: configuration, keys,
//! storage and the service operations, each returning a [`Reply`] (status + JSON). The binaries
//! `demo-axum`, `demo-actix`, `demo-poem` and `demo-warp` only wire routes, the auth middleware
//! and extractors of their framework to these operations. No auth decision is taken here: the
//! adapters and `jwt-core` take them; the service only filters what a caller may see.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod keys;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use clap::{Parser, ValueEnum};
use jwt_core::{
    Algorithm, AudiencePolicy, AuthContext, Jwks, JwtAuth, KeyChain, RouteTable, StandardClaims,
    StaticKeys, TokenLocation, Validation,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use keys::DemoKeys;
use store::{RunRecord, Store};

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
    /// The port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 7777)]
    pub port: u16,
    /// Where keys and the database live.
    #[arg(long, default_value = "demo-data")]
    pub data_dir: PathBuf,
    /// Origins allowed by the CORS layer (outside the auth layer; repeatable). Other origins are
    /// never reflected.
    #[arg(long = "cors-origin", default_value = "http://localhost:3000")]
    pub cors_origins: Vec<String>,
    /// Print only the `listening on` line (no tokens or curl examples).
    #[arg(long)]
    pub quiet: bool,
}

/// The methods and request headers the CORS layer allows for the configured origins.
pub const CORS_METHODS: [&str; 5] = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"];
/// See [`CORS_METHODS`].
pub const CORS_HEADERS: [&str; 2] = ["authorization", "content-type"];

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
    /// The client's user id (the token's wins).
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

fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    let _ = SystemRandom::new().fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

/// The running demo: auth configuration, keys (when it holds them) and storage.
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
}

/// The demo user of `/set-auth-cookie` (agno's cookie example) and its scopes.
const COOKIE_USER: &str = "cookie_user_789";

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
            (JwtAuth::builder().verifier(remote), None)
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
        let mut table = RouteTable::agent_os();
        if keys.is_some() {
            table = table
                .exclude("/set-auth-cookie")
                .exclude("/clear-auth-cookie");
        }
        for pattern in &args.exclude {
            table = table.exclude(pattern);
        }
        let validation = if args.verify_audience {
            Validation::default().audience([args.os_id.clone()])
        } else {
            // agno checks `aud` only with verify_audience.
            Validation::default().audience_policy(AudiencePolicy::Ignore)
        };
        let location = match args.token_source {
            SourceArg::Header => TokenLocation::Header,
            SourceArg::Cookie => TokenLocation::Cookie(args.cookie_name.clone()),
            SourceArg::Both => TokenLocation::Both(args.cookie_name.clone()),
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
            .token_location(location)
            .realm("agentos")
            .build()?;
        let store = Store::open(&args.data_dir.join("demo.sqlite3"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                args,
                auth,
                keys,
                store,
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
        let mut out = format!("listening on http://127.0.0.1:{port}\n");
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
                let base = format!("http://127.0.0.1:{port}");
                out.push_str(&format!(
                    "\nadmin token (agent_os:admin):\n  {admin}\n\
                     limited token (alice: agents:read agents:agent-1:run sessions:read):\n  {limited}\n\n\
                     try:\n  export TOKEN={limited}\n  \
                     curl -s {base}/agents -H \"Authorization: Bearer $TOKEN\"\n  \
                     curl -s -X POST {base}/agents/agent-1/runs -H \"Authorization: Bearer $TOKEN\" -d message=hello\n  \
                     curl -s {base}/agents/agent-2/runs -H \"Authorization: Bearer $TOKEN\"   # 403: no run scope on agent-2\n"
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

    /// `POST /agents/{id}/runs`: the token's `user_id` / `session_id` win over the client's, and
    /// its `dependencies` / `session_state` replace the client's (agno §10).
    pub fn run(&self, kind: Kind, id: &str, ctx: &AuthContext, input: RunInput) -> Reply {
        let Some((id, name)) = Self::find(kind, id) else {
            return Self::not_found(kind);
        };
        let Some(message) = input.message.filter(|m| !m.is_empty()) else {
            return Reply::error(400, "message is required");
        };
        let user_id = ctx.user_id().map(str::to_owned).or(input.user_id);
        let session_id = ctx
            .session_id()
            .map(str::to_owned)
            .or(input.session_id)
            .unwrap_or_else(|| random_id("session"));
        match self.inner.store.session(&session_id) {
            Ok(Some(s)) if s.user_id != user_id && !ctx.is_admin() => {
                return Reply::error(404, "Session not found");
            }
            Ok(_) => {}
            Err(e) => return e.into(),
        }
        let mut content = format!("{name} echoes: {message}");
        if let Some(Value::String(who)) = ctx.dependencies().get("name") {
            content.push_str(&format!(" (for {who})"));
        }
        let run = RunRecord {
            run_id: random_id("run"),
            kind: kind.plural().to_owned(),
            component_id: (*id).to_owned(),
            user_id,
            session_id,
            content,
            status: "completed".into(),
        };
        if let Err(e) = self.inner.store.record_run(&run, now()) {
            return e.into();
        }
        Reply::ok(run_json(kind, &run))
    }

    fn user_filter(ctx: &AuthContext) -> Option<Option<&str>> {
        if ctx.is_admin() {
            Some(None)
        } else {
            ctx.user_id().map(Some)
        }
    }

    /// `GET /agents/{id}/runs`: the caller's runs (all runs for admins).
    pub fn list_runs(&self, kind: Kind, id: &str, ctx: &AuthContext) -> Reply {
        if Self::find(kind, id).is_none() {
            return Self::not_found(kind);
        }
        let Some(user) = Self::user_filter(ctx) else {
            return Reply::ok(json!([]));
        };
        match self.inner.store.runs(kind.plural(), id, user) {
            Ok(runs) => Reply::ok(Value::Array(
                runs.iter().map(|r| run_json(kind, r)).collect(),
            )),
            Err(e) => e.into(),
        }
    }

    /// `POST /agents/{id}/runs/{run_id}/cancel`.
    pub fn cancel(&self, kind: Kind, id: &str, run_id: &str, ctx: &AuthContext) -> Reply {
        let run = match self.inner.store.run(run_id) {
            Ok(Some(r)) if r.kind == kind.plural() && r.component_id == id => r,
            Ok(_) => return Reply::error(404, "Run not found"),
            Err(e) => return e.into(),
        };
        if !ctx.is_admin() && run.user_id.as_deref() != ctx.user_id() {
            return Reply::error(404, "Run not found");
        }
        if let Err(e) = self.inner.store.cancel(run_id) {
            return e.into();
        }
        Reply::ok(json!({ "run_id": run_id, kind.id_field(): id, "status": "cancelled" }))
    }

    // ---- sessions -----------------------------------------------------------------------------

    /// `GET /sessions`: non-admins see only their own user's sessions.
    pub fn sessions(&self, ctx: &AuthContext) -> Reply {
        let Some(user) = Self::user_filter(ctx) else {
            return Reply::ok(json!({ "data": [] }));
        };
        match self.inner.store.sessions(user) {
            Ok(list) => Reply::ok(json!({ "data": list })),
            Err(e) => e.into(),
        }
    }

    fn owned_session(&self, id: &str, ctx: &AuthContext) -> Result<store::SessionRecord, Reply> {
        match self.inner.store.session(id) {
            Ok(Some(s))
                if ctx.is_admin()
                    || (s.user_id.is_some() && s.user_id.as_deref() == ctx.user_id()) =>
            {
                Ok(s)
            }
            Ok(_) => Err(Reply::error(404, "Session not found")),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /sessions/{id}`: 404 for another user's session.
    pub fn session(&self, id: &str, ctx: &AuthContext) -> Reply {
        match self.owned_session(id, ctx) {
            Ok(s) => Reply::ok(json!(s)),
            Err(r) => r,
        }
    }

    /// `DELETE /sessions/{id}`.
    pub fn delete_session(&self, id: &str, ctx: &AuthContext) -> Reply {
        if let Err(r) = self.owned_session(id, ctx) {
            return r;
        }
        match self.inner.store.delete_session(id) {
            Ok(()) => Reply::ok(json!({ "deleted": id })),
            Err(e) => e.into(),
        }
    }

    // ---- cookie login (agno's cookie example) -------------------------------------------------

    /// `GET /set-auth-cookie`: mints a token for the demo user and sets it as an HttpOnly,
    /// Secure, SameSite=Strict cookie. 404 when the demo does not hold a signing key.
    pub fn set_auth_cookie(&self) -> Reply {
        let Some(keys) = &self.inner.keys else {
            return Reply::error(
                404,
                "Cookie login is disabled: the demo holds no signing key",
            );
        };
        let claims = json!({
            "sub": COOKIE_USER, "session_id": "cookie_session_123",
            "name": "Jane Smith", "email": "jane.smith@example.com",
            "roles": ["user", "premium"], "org": "Example Corp",
            "aud": self.inner.args.os_id, "iat": now(), "exp": now() + 24 * 3600,
            "scopes": ["agents:read", "agents:run", "sessions:read", "sessions:write", "sessions:delete"],
        });
        let token = match keys.mint(self.inner.args.alg.algorithm(), &claims) {
            Ok(t) => t,
            Err(e) => return e.into(),
        };
        let name = &self.inner.args.cookie_name;
        Reply {
            status: 200,
            body: json!({
                "message": "Authentication cookie set successfully",
                "cookie_name": name,
                "expires_in": "24 hours",
                "security_features": ["httponly", "secure", "samesite=strict"],
            }),
            set_cookie: Some(format!(
                "{name}={token}; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Strict"
            )),
        }
    }

    /// `GET /clear-auth-cookie`.
    pub fn clear_auth_cookie(&self) -> Reply {
        if self.inner.keys.is_none() {
            return Reply::error(
                404,
                "Cookie login is disabled: the demo holds no signing key",
            );
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
