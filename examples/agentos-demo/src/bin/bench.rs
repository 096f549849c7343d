//! `bench-server`: the HTTP benchmark target of `cargo xtask bench http`. One handler
//! (`GET /hello` → `Hello, World!`), bare or behind the framework's jwt adapter (HS256 or RS256,
//! token cache on or off), or (axum only, `--mode handrolled`) behind the middleware a user would
//! write by hand around `jsonwebtoken::decode`, with the same key, audience, issuer, leeway and
//! required scope as `--mode hs256`. Every server also answers `GET /health` without a token
//! (excluded from authentication), the contract the peers in `xtask/peers` serve too.
//! `--memory` instead feeds 100 000 distinct tokens through the core (token cache on, default
//! limits) and checks the process's measured resident memory (VmRSS) against the bounds it is
//! given: exit 0 when they hold, 3 when one is exceeded, 1 when it cannot measure (2 is clap's
//! usage error). `--mint-tokens N --tokens-out FILE` instead writes N distinct HS256 tokens,
//! each valid for `--mode hs256`, one per line and all of the same length, for the
//! many-distinct-tokens run (every request a token the server has never seen).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use agentos_demo::keys::DemoKeys;
use clap::{Parser, ValueEnum};
use jwt_core::{
    Algorithm, DEFAULT_LEEWAY_SECS, Jwks, JwtAuth, RouteTable, SimpleRequest, StaticKeys,
    TokenCacheConfig,
};
use serde_json::json;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Framework {
    Axum,
    Actix,
    Poem,
    Warp,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Bare,
    Hs256,
    Rs256,
    /// axum only: a hand-rolled `jsonwebtoken::decode` middleware (HS256), no jwt adapter.
    #[value(name = "handrolled")]
    HandRolled,
    /// warp only: HS256 with the filter deciding by itself, served by `warp::serve` (the `hs256`
    /// and `rs256` modes serve warp with `jwt_warp::serve`, the service deciding in front).
    #[value(name = "hs256-filters")]
    Hs256Filters,
}

#[derive(Parser)]
struct Args {
    #[arg(long, value_enum, default_value = "axum")]
    framework: Framework,
    #[arg(long, value_enum, default_value = "bare")]
    mode: Mode,
    /// Turn the validated-token cache off.
    #[arg(long)]
    no_cache: bool,
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where the bench keys live (generated on first use). Default: `bench-keys` in the cargo
    /// target directory (`CARGO_TARGET_DIR` when set, else `<workspace>/target`).
    #[arg(long)]
    keys_dir: Option<PathBuf>,
    /// Run the cache memory check instead of serving.
    #[arg(long)]
    memory: bool,
    /// Memory check: the most RSS growth allowed per entry the cache holds, in bytes
    /// (`cargo xtask bench` passes the value from its target table).
    #[arg(long, value_name = "BYTES", required_if_eq("memory", "true"))]
    max_growth_per_entry: Option<u64>,
    /// Memory check: the RSS growth allowed on top of the cache's configured byte limit, in KiB
    /// (`cargo xtask bench` passes the value from its target table).
    #[arg(long, value_name = "KIB", required_if_eq("memory", "true"))]
    overhead_allowance_kib: Option<u64>,
    /// Write this many distinct HS256 tokens to `--tokens-out` instead of serving.
    #[arg(long, value_name = "N", requires = "tokens_out")]
    mint_tokens: Option<u32>,
    /// Where `--mint-tokens` writes its tokens.
    #[arg(long, value_name = "FILE", requires = "mint_tokens")]
    tokens_out: Option<PathBuf>,
}

/// The `aud` and `iss` of the served token, checked by every authenticating mode.
const AUDIENCE: &str = "agentos";
const ISSUER: &str = "https://idp.example.test";
/// The scope `GET /hello` requires.
const HELLO_SCOPE: &str = "hello:read";

/// The workspace root (this crate is `examples/agentos-demo`).
fn workspace_root() -> PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map_or_else(|| manifest.to_path_buf(), std::path::Path::to_path_buf)
}

/// `--keys-dir`, else `bench-keys` in the cargo target directory (`CARGO_TARGET_DIR`, a relative
/// value taken from the workspace root as cargo and xtask do, else `<workspace>/target`): never
/// in the source tree, whatever the working directory.
fn keys_dir(args: &Args) -> PathBuf {
    if let Some(dir) = &args.keys_dir {
        return dir.clone();
    }
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    };
    target.join("bench-keys")
}

/// Distinct tokens the memory check feeds through the engine.
const MEMORY_TOKENS: u32 = 100_000;
/// The memory check's exit status when a bound is exceeded (`cargo xtask bench` reads it).
const MEMORY_BOUND_EXCEEDED: u8 = 3;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What guards `GET /hello`.
enum Guard {
    Bare,
    Adapter(JwtAuth),
    HandRolled(HandRolled),
}

/// The claims of a served token: `sub` tells tokens apart (`--mint-tokens` gives each its own).
fn claims(sub: &str) -> serde_json::Value {
    json!({"sub": sub, "aud": AUDIENCE, "iss": ISSUER,
        "exp": now() + 3600, "iat": now(), "scopes": [HELLO_SCOPE]})
}

/// `--mint-tokens N --tokens-out FILE`: N distinct HS256 tokens for `--mode hs256`, one per
/// line. Every `sub` has the same width, so every line has the same length and a reader can
/// seek to the n-th token.
fn mint_tokens(args: &Args, count: u32, out: &std::path::Path) -> Result<(), String> {
    let keys = DemoKeys::load_or_generate(&keys_dir(args)).map_err(|e| e.to_string())?;
    let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut file = std::io::BufWriter::new(file);
    let mut width = None;
    for n in 0..count {
        let token = keys
            .mint(Algorithm::HS256, &claims(&format!("user-{n:010}")))
            .map_err(|e| e.to_string())?;
        if *width.get_or_insert(token.len()) != token.len() {
            return Err("minted tokens differ in length".into());
        }
        writeln!(file, "{token}").map_err(|e| format!("{}: {e}", out.display()))?;
    }
    file.flush().map_err(|e| format!("{}: {e}", out.display()))
}

fn setup(args: &Args) -> Result<(Guard, Option<String>), String> {
    let keys = DemoKeys::load_or_generate(&keys_dir(args)).map_err(|e| e.to_string())?;
    let claims = claims("bench");
    let (builder, alg) = match args.mode {
        Mode::Bare => return Ok((Guard::Bare, None)),
        Mode::HandRolled => {
            if args.framework != Framework::Axum {
                return Err("--mode handrolled exists for --framework axum only".into());
            }
            let token = keys
                .mint(Algorithm::HS256, &claims)
                .map_err(|e| e.to_string())?;
            return Ok((
                Guard::HandRolled(HandRolled::new(keys.hs_secret())),
                Some(token),
            ));
        }
        Mode::Hs256Filters if args.framework != Framework::Warp => {
            return Err("--mode hs256-filters exists for --framework warp only".into());
        }
        Mode::Hs256 | Mode::Hs256Filters => (
            JwtAuth::builder()
                .verifier(StaticKeys::hs256(keys.hs_secret()).map_err(|e| e.to_string())?),
            Algorithm::HS256,
        ),
        Mode::Rs256 => (
            JwtAuth::builder()
                .verifier(Jwks::from_file(keys.jwks_path()).map_err(|e| e.to_string())?),
            Algorithm::RS256,
        ),
    };
    let table = RouteTable::builder()
        .route("GET /hello", [HELLO_SCOPE])
        .exclude("GET /health")
        .build()
        .map_err(|e| e.to_string())?;
    let auth = builder
        .audience(AUDIENCE)
        .issuer(ISSUER)
        .leeway(DEFAULT_LEEWAY_SECS)
        .scopes(table)
        .cache_tokens(!args.no_cache)
        .build()
        .map_err(|e| e.to_string())?;
    let token = keys.mint(alg, &claims).map_err(|e| e.to_string())?;
    Ok((Guard::Adapter(auth), Some(token)))
}

/// The middleware a user would write around `jsonwebtoken::decode` instead of using the adapter:
/// `Authorization: Bearer`, HS256 with the same key, audience, issuer and leeway as
/// `--mode hs256`, the required scope looked up in the `scopes` claim, the claims put in the
/// request's extensions; 401 without a valid token, 403 without the scope.
#[derive(Clone)]
struct HandRolled {
    key: std::sync::Arc<jsonwebtoken::DecodingKey>,
    validation: std::sync::Arc<jsonwebtoken::Validation>,
}

impl HandRolled {
    fn new(secret: &[u8]) -> Self {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = DEFAULT_LEEWAY_SECS;
        Self {
            key: std::sync::Arc::new(jsonwebtoken::DecodingKey::from_secret(secret)),
            validation: std::sync::Arc::new(validation),
        }
    }
}

async fn hand_rolled_auth(
    axum::extract::State(auth): axum::extract::State<HandRolled>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse as _;
    let Some(token) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let claims = match jsonwebtoken::decode::<serde_json::Value>(token, &auth.key, &auth.validation)
    {
        Ok(data) => data.claims,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    let allowed = claims["scopes"]
        .as_array()
        .is_some_and(|scopes| scopes.iter().any(|s| s.as_str() == Some(HELLO_SCOPE)));
    if !allowed {
        return StatusCode::FORBIDDEN.into_response();
    }
    request.extensions_mut().insert(claims);
    next.run(request).await
}

/// The process's resident set size (VmRSS) in KiB, as the kernel reports it.
fn rss_kib() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| {
        format!("cannot read /proc/self/status ({e}): the memory check needs Linux procfs")
    })?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "no VmRSS line in /proc/self/status".to_owned())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

/// Feeds 100 000 distinct valid tokens through the engine, each twice (cache on, default limits), measures
/// the RSS growth and checks it: per entry the cache holds (at most `--max-growth-per-entry`
/// bytes) and in total (at most the cache's byte limit plus `--overhead-allowance-kib`).
/// `Ok(false)` when a bound is exceeded.
async fn memory(args: &Args) -> Result<bool, String> {
    let (Some(max_per_entry), Some(allowance_kib)) =
        (args.max_growth_per_entry, args.overhead_allowance_kib)
    else {
        return Err("--memory needs --max-growth-per-entry and --overhead-allowance-kib".into());
    };
    let keys = DemoKeys::load_or_generate(&keys_dir(args)).map_err(|e| e.to_string())?;
    let config = TokenCacheConfig::default();
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(keys.hs_secret()).map_err(|e| e.to_string())?)
        .token_cache(config)
        .build()
        .map_err(|e| e.to_string())?;
    let before = rss_kib()?;
    for n in 0..MEMORY_TOKENS {
        let claims = json!({"sub": format!("user-{n}"), "exp": now() + 3600,
            "scopes": ["agents:read", "agents:agent-1:run", "sessions:read"],
            "name": "Bench User", "email": "bench@example.test"});
        let token = keys
            .mint(Algorithm::HS256, &claims)
            .map_err(|e| e.to_string())?;
        let bearer = format!("Bearer {token}");
        let req = SimpleRequest::new("GET", "/x").header("Authorization", &bearer);
        // Twice: the cache keeps a token from its second verification on.
        for _ in 0..2 {
            auth.authenticate(&req).await.map_err(|e| e.to_string())?;
        }
    }
    let after = rss_kib()?;
    let (entries, estimate) = auth
        .cache_usage()
        .ok_or("the token cache is off: nothing to measure")?;
    let entries = entries as u64;
    let limit_bytes = config.bytes() as u64;
    let growth_kib = after.saturating_sub(before);
    println!(
        "memory: tokens={MEMORY_TOKENS} cache_entries={entries} cache_limit_entries={} cache_limit_bytes={limit_bytes} cache_estimate_bytes={estimate} rss_before_kib={before} rss_after_kib={after} rss_growth_kib={growth_kib}",
        config.entries()
    );
    let per_entry_ok = if entries == 0 {
        println!(
            "memory check: RSS growth per cached entry: the cache holds no entry after {MEMORY_TOKENS} tokens, so there is nothing to measure it on: MISSED"
        );
        false
    } else {
        // Exact: growth (bytes) ≤ bound × entries, no rounding in our favour.
        let ok = growth_kib * 1024 <= max_per_entry * entries;
        println!(
            "memory check: RSS growth per cached entry {:.0} B ({growth_kib} KiB / {entries} entries), bound ≤ {max_per_entry} B: {}",
            (growth_kib * 1024) as f64 / entries as f64,
            verdict(ok)
        );
        ok
    };
    let limit_kib = limit_bytes.div_ceil(1024);
    let total_ok = growth_kib <= limit_kib + allowance_kib;
    println!(
        "memory check: RSS growth {growth_kib} KiB, bound ≤ {} KiB (cache byte limit {limit_kib} KiB + allowance {allowance_kib} KiB): {}",
        limit_kib + allowance_kib,
        verdict(total_ok)
    );
    println!(
        "memory check: the cache's own estimate: {estimate} B for {entries} entries (printed for comparison, not a criterion)"
    );
    Ok(per_entry_ok && total_ok)
}

fn ready(port: u16, token: &Option<String>) {
    println!("listening on http://127.0.0.1:{port}");
    println!("token {}", token.as_deref().unwrap_or("-"));
    let _ = std::io::stdout().flush();
}

const HELLO: &str = "Hello, World!";
/// `GET /health`'s answer (no token needed).
const HEALTHY: &str = "ok";

async fn serve_axum(guard: Guard, port: u16, token: Option<String>) -> std::io::Result<()> {
    use axum::routing::get;
    use jwt_axum::JwtAuthExt as _;
    let hello = axum::Router::new().route("/hello", get(|| async { HELLO }));
    let health = axum::Router::new().route("/health", get(|| async { HEALTHY }));
    let app = match guard {
        Guard::Bare => hello.merge(health),
        // The route table excludes `GET /health`.
        Guard::Adapter(auth) => hello.merge(health).layer(auth.layer()),
        Guard::HandRolled(state) => hello
            .layer(axum::middleware::from_fn_with_state(
                state,
                hand_rolled_auth,
            ))
            .merge(health),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    ready(listener.local_addr()?.port(), &token);
    axum::serve(listener, app).await
}

async fn serve_poem(
    auth: Option<JwtAuth>,
    port: u16,
    token: Option<String>,
) -> std::io::Result<()> {
    use jwt_poem::JwtAuthExt as _;
    use poem::EndpointExt as _;
    use poem::listener::{Acceptor as _, TcpAcceptor};
    #[poem::handler]
    fn hello() -> &'static str {
        HELLO
    }
    #[poem::handler]
    fn health() -> &'static str {
        HEALTHY
    }
    let std = std::net::TcpListener::bind(("127.0.0.1", port))?;
    std.set_nonblocking(true)?;
    let acceptor = TcpAcceptor::from_std(std)?;
    let port = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().map(|s| s.port()))
        .unwrap_or_default();
    ready(port, &token);
    let route = poem::Route::new()
        .at("/hello", poem::get(hello))
        .at("/health", poem::get(health));
    let server = poem::Server::new_with_acceptor(acceptor);
    match auth {
        Some(auth) => server.run(route.with(auth.middleware())).await,
        None => server.run(route).await,
    }
}

async fn serve_warp(
    auth: Option<JwtAuth>,
    filters_alone: bool,
    port: u16,
    token: Option<String>,
) -> std::io::Result<()> {
    use warp::Filter as _;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    ready(listener.local_addr()?.port(), &token);
    let path = warp::path!("hello").and(warp::get());
    let health = warp::path!("health").and(warp::get()).map(|| HEALTHY);
    match auth {
        Some(auth) => {
            let app = health
                .or(path.and(jwt_warp::with_auth(&auth)).map(|_| HELLO))
                .recover(jwt_warp::recover);
            if filters_alone {
                warp::serve(app).incoming(listener).run().await;
            } else {
                jwt_warp::serve(&auth, warp::service(app), listener).await;
            }
        }
        None => {
            warp::serve(health.or(path.map(|| HELLO)))
                .incoming(listener)
                .run()
                .await
        }
    }
    Ok(())
}

fn serve_actix(auth: Option<JwtAuth>, port: u16, token: Option<String>) -> std::io::Result<()> {
    use actix_web::{App, HttpServer, middleware::Condition, web};
    use jwt_actix::JwtAuthExt as _;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    ready(listener.local_addr()?.port(), &token);
    actix_web::rt::System::new().block_on(async move {
        let fallback = JwtAuth::builder()
            .dangerous_any_issuer()
            .verifier(StaticKeys::hs256([7u8; 32]).map_err(std::io::Error::other)?)
            .build()
            .map_err(std::io::Error::other)?;
        HttpServer::new(move || {
            let mw = auth
                .clone()
                .unwrap_or_else(|| fallback.clone())
                .middleware();
            App::new()
                .wrap(Condition::new(auth.is_some(), mw))
                .route("/hello", web::get().to(|| async { HELLO }))
                .route("/health", web::get().to(|| async { HEALTHY }))
        })
        .workers(2)
        .listen(listener)?
        .run()
        .await
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let (Some(count), Some(out)) = (args.mint_tokens, &args.tokens_out) {
        return match mint_tokens(&args, count, out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench-server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.memory {
        return match runtime.block_on(memory(&args)) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => {
                eprintln!(
                    "bench-server: memory check failed: a bound on measured RSS was exceeded"
                );
                ExitCode::from(MEMORY_BOUND_EXCEEDED)
            }
            Err(e) => {
                eprintln!("bench-server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (guard, token) = match setup(&args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("bench-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let auth = match guard {
        Guard::Adapter(ref auth) => Some(auth.clone()),
        _ => None,
    };
    let result = match args.framework {
        Framework::Axum => runtime.block_on(serve_axum(guard, args.port, token)),
        Framework::Poem => runtime.block_on(serve_poem(auth, args.port, token)),
        Framework::Warp => runtime.block_on(serve_warp(
            auth,
            args.mode == Mode::Hs256Filters,
            args.port,
            token,
        )),
        Framework::Actix => serve_actix(auth, args.port, token),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-server: {e}");
            ExitCode::FAILURE
        }
    }
}
