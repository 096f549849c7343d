//! Several instances behind one Redis: two axum servers on 127.0.0.1, each with its own
//! `JwtAuth`, its own `RedisStore` connection and its own local caches, sharing one real
//! `redis-server` (started here; skipped without it outside CI). Revocations and DPoP proofs
//! seen by one instance hold on the other; an outage fails closed (or open, as configured) and
//! service resumes when Redis is back; a bounded load test counts revoked tokens let through.

#[path = "../../../jwt-core/tests/support/redis_server.rs"]
mod redis_server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jwt_axum::{Auth, JwtAuthExt as _};
use jwt_core::{
    Algorithm, Dpop, EncodingKey, FailurePolicy, HtuOrigin, JwtAuth, RedisStore, Revocation,
    StaticKeys, jwk_thumbprint, mint,
};
use redis_server::{RedisServer, redis_ready};
use serde_json::{Value, json};

const SECRET: &[u8] = b"redis-instances-secret-0123456789abcdef";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn token(claims: Value) -> String {
    let mut claims = claims;
    claims["exp"] = json!(now() + 600);
    claims["iat"] = json!(now() - 5);
    mint::hs256(SECRET, &claims).unwrap()
}

/// One instance: its server's address, its revocation handle, and its shutdown.
struct Instance {
    addr: SocketAddr,
    revocation: Revocation,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Clone, Copy)]
struct Setup {
    revocation: Option<FailurePolicy>,
    replay: FailurePolicy,
    fresh_for: Duration,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            revocation: Some(FailurePolicy::Closed),
            replay: FailurePolicy::Closed,
            fresh_for: Duration::from_millis(500),
        }
    }
}

/// `GET /agents/{id}` answers the caller's `sub`; `POST /logout` revokes the caller's own
/// token from the handler (the revocation API as a handler uses it).
async fn start(redis_url: &str, setup: Setup) -> Instance {
    let store = Arc::new(
        RedisStore::open(redis_url)
            .unwrap()
            .prefix("instances-test")
            .timeout(Duration::from_millis(200)),
    );
    let revocation = Revocation::shared(store.clone())
        .claims(["sub", "session_id"])
        .fresh_for(setup.fresh_for)
        .failure_policy(setup.revocation.unwrap_or(FailurePolicy::Closed));
    let mut builder = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .dpop(
            Dpop::allowed()
                .origin(HtuOrigin::Host("http".into()))
                .shared_replay_store(store)
                .replay_failure(setup.replay),
        );
    if setup.revocation.is_some() {
        builder = builder.check(revocation.clone());
    }
    let auth = builder.build().unwrap();
    let app = Router::new()
        .route(
            "/agents/{id}",
            get(|Auth(ctx): Auth| async move { ctx.user_id().unwrap_or_default().to_owned() }),
        )
        .route(
            "/logout",
            post(|State(r): State<Revocation>, Auth(ctx): Auth| async move {
                let jti = ctx.claim("jti").and_then(Value::as_str).unwrap_or_default();
                let exp = ctx.claim("exp").and_then(Value::as_u64).unwrap_or_default();
                match r.revoke(jti, exp).await {
                    Ok(()) => "revoked".to_owned(),
                    Err(e) => format!("not revoked: {e}"),
                }
            }),
        )
        .with_state(revocation.clone())
        .layer(auth.layer());
    let (addr, stop) = serve(app).await;
    Instance {
        addr,
        revocation,
        stop: Some(stop),
    }
}

/// Serves `app` on 127.0.0.1, port 0, until the returned sender is used or dropped.
async fn serve(app: Router) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    (addr, stop)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn get_status(c: &reqwest::Client, at: SocketAddr, auth: &str) -> (u16, String) {
    let res = c
        .get(format!("http://{at}/agents/a1"))
        .header("Authorization", auth)
        .send()
        .await
        .expect("response");
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| format!(" retry-after={}", v.to_str().unwrap_or("")))
        .unwrap_or_default();
    (
        status,
        format!("{}{retry}", res.text().await.unwrap_or_default()),
    )
}

/// Polls `at` with `auth` every 20 ms until it answers `want`; the time it took.
async fn until_status(
    c: &reqwest::Client,
    at: SocketAddr,
    auth: &str,
    want: u16,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = get_status(c, at, auth).await;
        if status == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "still {status} ({body}) after {:?}, expected {want}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

macro_rules! need_redis {
    () => {
        if !redis_ready() {
            return;
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_revoke_on_instance_a_is_refused_on_instance_b_within_a_second() {
    need_redis!();
    let redis = RedisServer::start();
    let (a, b) = (
        start(&redis.url(), Setup::default()).await,
        start(&redis.url(), Setup::default()).await,
    );
    let c = client();
    let t = format!("Bearer {}", token(json!({"sub": "alice", "jti": "tok-1"})));
    let other = format!("Bearer {}", token(json!({"sub": "alice", "jti": "tok-2"})));
    // Both instances accept it (and B now remembers "not revoked" locally).
    assert_eq!(get_status(&c, a.addr, &t).await.0, 200);
    assert_eq!(get_status(&c, b.addr, &t).await.0, 200);
    // Logout on A: the handler revokes the caller's token.
    let res = c
        .post(format!("http://{}/logout", a.addr))
        .header("Authorization", &t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), "revoked");
    assert_eq!(get_status(&c, a.addr, &t).await.0, 401, "A at once");
    let delay = until_status(&c, b.addr, &t, 401, Duration::from_secs(1)).await;
    println!(
        "redis: a revocation on A took {delay:?} to be enforced on B (bound: fresh_for 500 ms)"
    );
    assert!(delay < Duration::from_secs(1), "{delay:?}");
    let (_, body) = get_status(&c, b.addr, &t).await;
    assert!(body.contains("revoked"), "{body}");
    // Another token of the same subject is untouched; a subject cut-off on B reaches A.
    assert_eq!(get_status(&c, b.addr, &other).await.0, 200);
    b.revocation.revoke_subject("alice", now()).await.unwrap();
    let delay = until_status(&c, a.addr, &other, 401, Duration::from_secs(1)).await;
    println!("redis: a subject cut-off on B took {delay:?} to be enforced on A");
    let fresh = format!(
        "Bearer {}",
        mint::hs256(
            SECRET,
            &json!({"sub": "alice", "iat": now() + 1, "exp": now() + 600})
        )
        .unwrap()
    );
    assert_eq!(
        get_status(&c, a.addr, &fresh).await.0,
        200,
        "issued after the cut-off"
    );
    // Keys are namespaced and expire.
    let keys = redis.command("KEYS instances-test:*").unwrap();
    assert!(keys.contains("instances-test:jti:"), "{keys}");
    assert!(keys.contains("instances-test:cut:sub:"), "{keys}");
    for line in keys.lines().filter(|l| l.starts_with("instances-test:")) {
        let ttl = redis.command(&format!("TTL {line}")).unwrap();
        let ttl: i64 = ttl.trim().trim_start_matches(':').parse().unwrap();
        assert!(ttl > 0, "{line} has TTL {ttl}");
    }
}

/// The P-256 fixture key as a DPoP client's key.
struct ProofKey {
    key: EncodingKey,
    jwk: Value,
}

fn proof_key() -> ProofKey {
    let pem = include_str!("../../../jwt-core/tests/fixtures/p256.pub.pem");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap();
    let point = &der[der.len() - 64..];
    ProofKey {
        key: EncodingKey::from_ec_pem(include_bytes!("../../../jwt-core/tests/fixtures/p256.key"))
            .unwrap(),
        jwk: json!({"kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[..32]), "y": URL_SAFE_NO_PAD.encode(&point[32..])}),
    }
}

static JTI: AtomicU64 = AtomicU64::new(0);

fn proof(key: &ProofKey, url: &str, token: &str) -> String {
    let ath = URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref());
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk});
    let claims = json!({"jti": format!("p-{}-{}", now(), JTI.fetch_add(1, Ordering::Relaxed)),
        "htm": "GET", "htu": url, "iat": now(), "ath": ath});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    mint::sign_input(Algorithm::ES256, &key.key, &input).unwrap()
}

async fn dpop_get(c: &reqwest::Client, at: SocketAddr, token: &str, proof: &str) -> (u16, String) {
    let res = c
        .get(format!("http://{at}/agents/a1"))
        .header("Authorization", format!("DPoP {token}"))
        .header("DPoP", proof)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, challenge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_dpop_proof_accepted_by_a_is_refused_as_a_replay_by_b() {
    need_redis!();
    let redis = RedisServer::start();
    let (a, b) = (
        start(&redis.url(), Setup::default()).await,
        start(&redis.url(), Setup::default()).await,
    );
    let c = client();
    let key = proof_key();
    let bound = token(json!({"sub": "agent", "cnf": {"jkt": jwk_thumbprint(&key.jwk).unwrap()}}));
    // The same request line on both: the proof names the URL, and the `Host` header is the
    // origin (both instances serve http://127.0.0.1:<port>); a proof for A's URL sent to B is
    // refused for its URL, so the replay is shown with B's URL (as a load balancer would
    // forward the same public URL to either instance).
    let url_b = format!("http://{}/agents/a1", b.addr);
    let p = proof(&key, &url_b, &bound);
    assert_eq!(dpop_get(&c, b.addr, &bound, &p).await.0, 200, "B first");
    let (status, challenge) = dpop_get(&c, b.addr, &bound, &p).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("DPoP proof replayed"), "{challenge}");
    // A proof first used on A, replayed on B, where `htu` matches B too: an instance sees the
    // request as its own URL when both sit behind one public origin.
    let shared = Setup::default();
    let front = "http://api.example.test";
    let a2 = start_fixed(&redis.url(), shared, front).await;
    let b2 = start_fixed(&redis.url(), shared, front).await;
    let p = proof(&key, &format!("{front}/agents/a1"), &bound);
    assert_eq!(dpop_get(&c, a2.addr, &bound, &p).await.0, 200, "A accepts");
    let (status, challenge) = dpop_get(&c, b2.addr, &bound, &p).await;
    assert_eq!(status, 401, "B refuses the replay");
    assert!(
        challenge.starts_with(
            "DPoP error=\"invalid_dpop_proof\", error_description=\"DPoP proof replayed\""
        ),
        "{challenge}"
    );
    let fresh = proof(&key, &format!("{front}/agents/a1"), &bound);
    assert_eq!(
        dpop_get(&c, b2.addr, &bound, &fresh).await.0,
        200,
        "a fresh proof on B"
    );
    drop((a, b));
}

/// An instance whose public origin is `origin` (behind one load balancer).
async fn start_fixed(redis_url: &str, setup: Setup, origin: &str) -> Instance {
    let store = Arc::new(
        RedisStore::open(redis_url)
            .unwrap()
            .prefix("instances-test"),
    );
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .dpop(
            Dpop::allowed()
                .origin(HtuOrigin::Fixed(origin.into()))
                .shared_replay_store(store.clone())
                .replay_failure(setup.replay),
        )
        .build()
        .unwrap();
    let app = Router::new()
        .route("/agents/{id}", get(|| async { "ok" }))
        .layer(auth.layer());
    let (addr, stop) = serve(app).await;
    Instance {
        addr,
        revocation: Revocation::shared(store),
        stop: Some(stop),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_run_fails_closed_then_service_resumes() {
    need_redis!();
    let mut redis = RedisServer::start();
    let a = start(&redis.url(), Setup::default()).await;
    let c = client();
    let t = format!(
        "Bearer {}",
        token(json!({"sub": "alice", "jti": "outage-1"}))
    );
    assert_eq!(get_status(&c, a.addr, &t).await.0, 200);
    redis.stop();
    // Past the local "not revoked" memory (500 ms), the check must ask Redis: 503.
    let delay = until_status(&c, a.addr, &t, 503, Duration::from_secs(3)).await;
    let (status, body) = get_status(&c, a.addr, &t).await;
    assert_eq!(status, 503);
    assert!(body.contains("retry-after="), "{body}");
    println!("redis: fail-closed 503 {delay:?} after the outage began");
    // Requests keep being answered (no hang, no panic) while Redis is down.
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(get_status(&c, a.addr, &t).await.0, 503);
    }
    println!(
        "redis: 20 requests during the outage answered in {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    redis.restart();
    let back = until_status(&c, a.addr, &t, 200, Duration::from_secs(10)).await;
    println!("redis: service resumed {back:?} after Redis restarted");
    // Data was lost with the restart (no persistence), so a new revocation is needed and works.
    a.revocation.revoke("outage-1", now() + 600).await.unwrap();
    assert_eq!(get_status(&c, a.addr, &t).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_run_fails_open_when_configured() {
    need_redis!();
    let mut redis = RedisServer::start();
    let setup = Setup {
        revocation: Some(FailurePolicy::DangerousOpen),
        replay: FailurePolicy::DangerousOpen,
        fresh_for: Duration::ZERO,
    };
    let a = start(&redis.url(), setup).await;
    let c = client();
    let t = format!("Bearer {}", token(json!({"sub": "alice", "jti": "open-1"})));
    let key = proof_key();
    let bound = token(json!({"sub": "agent", "cnf": {"jkt": jwk_thumbprint(&key.jwk).unwrap()}}));
    let url = format!("http://{}/agents/a1", a.addr);
    assert_eq!(get_status(&c, a.addr, &t).await.0, 200);
    redis.stop();
    for _ in 0..5 {
        assert_eq!(
            get_status(&c, a.addr, &t).await.0,
            200,
            "revocation fails open"
        );
        let p = proof(&key, &url, &bound);
        assert_eq!(
            dpop_get(&c, a.addr, &bound, &p).await.0,
            200,
            "replay check fails open"
        );
    }
    redis.restart();
    // Back to normal: a replay is caught again.
    let p = proof(&key, &url, &bound);
    until_dpop_ok(&c, a.addr, &bound, &url, &key).await;
    assert_eq!(dpop_get(&c, a.addr, &bound, &p).await.0, 200);
    assert_eq!(dpop_get(&c, a.addr, &bound, &p).await.0, 401);
}

async fn until_dpop_ok(
    c: &reqwest::Client,
    at: SocketAddr,
    bound: &str,
    url: &str,
    key: &ProofKey,
) {
    // Wait until the store answers again (a recorded proof, then its replay refused).
    let started = Instant::now();
    loop {
        let p = proof(key, url, bound);
        let _ = dpop_get(c, at, bound, &p).await;
        if dpop_get(c, at, bound, &p).await.0 == 401 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "Redis not back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `total` requests over `workers` keep-alive connections alternating between the
/// instances; returns (accepted revoked, refused valid, other, elapsed).
async fn load(
    addrs: [SocketAddr; 2],
    tokens: Arc<Vec<(String, bool)>>,
    total: usize,
    workers: usize,
) -> (usize, usize, usize, Duration) {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let tokens = tokens.clone();
        tasks.spawn(async move {
            let c = client();
            let (mut leaked, mut refused, mut other) = (0, 0, 0);
            let mut i = w;
            while i < total {
                let (tok, revoked) = &tokens[i % tokens.len()];
                let at = addrs[i % 2];
                let (status, _) = get_status(&c, at, tok).await;
                match (status, revoked) {
                    (200, true) => leaked += 1,
                    (401, false) => refused += 1,
                    (200, false) | (401, true) => {}
                    _ => other += 1,
                }
                i += workers;
            }
            (leaked, refused, other)
        });
    }
    let (mut leaked, mut refused, mut other) = (0, 0, 0);
    while let Some(r) = tasks.join_next().await {
        let (l, r, o) = r.unwrap();
        leaked += l;
        refused += r;
        other += o;
    }
    (leaked, refused, other, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_load_two_instances_50k_requests_one_percent_revoked() {
    need_redis!();
    let redis = RedisServer::start();
    let (a, b) = (
        start(&redis.url(), Setup::default()).await,
        start(&redis.url(), Setup::default()).await,
    );
    let plain = Setup {
        revocation: None,
        ..Setup::default()
    };
    let (pa, pb) = (
        start(&redis.url(), plain).await,
        start(&redis.url(), plain).await,
    );
    // 2,000 tokens, 20 of them (1 %) revoked, half on each instance.
    let mut tokens = Vec::new();
    for i in 0..2000 {
        let jti = format!("load-{i}");
        let t = format!(
            "Bearer {}",
            token(json!({"sub": format!("user-{}", i % 50), "jti": jti}))
        );
        let revoked = i % 100 == 7;
        if revoked {
            let on = if i % 2 == 0 { &a } else { &b };
            on.revocation.revoke(&jti, now() + 600).await.unwrap();
        }
        tokens.push((t, revoked));
    }
    let tokens = Arc::new(tokens);
    let total = 50_000;
    // Three rounds, each the load with the check then without it; the figures are medians.
    let (mut with_rates, mut without_rates) = (Vec::new(), Vec::new());
    for round in 1..=3 {
        let (leaked, refused, other, with_check) =
            load([a.addr, b.addr], tokens.clone(), total, 16).await;
        println!(
            "redis: round {round}: {total} requests over 2 instances with the Redis revocation check: {:.0} req/s, {leaked} revoked accepted, {refused} valid refused, {other} other",
            total as f64 / with_check.as_secs_f64()
        );
        assert_eq!(leaked, 0, "revoked tokens accepted");
        assert_eq!(refused, 0, "valid tokens refused");
        assert_eq!(other, 0, "unexpected statuses");
        let (_, _, other, without) = load([pa.addr, pb.addr], tokens.clone(), total, 16).await;
        assert_eq!(other, 0);
        with_rates.push(total as f64 / with_check.as_secs_f64());
        without_rates.push(total as f64 / without.as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (with_rate, without_rate) = (median(&mut with_rates), median(&mut without_rates));
    println!(
        "redis: medians of 3 rounds: {with_rate:.0} req/s with the check, {without_rate:.0} req/s without; throughput cost of the Redis check {:.1} % ({:.1} µs per request)",
        (1.0 - with_rate / without_rate) * 100.0,
        (1.0 / with_rate - 1.0 / without_rate) * 1e6
    );
}
