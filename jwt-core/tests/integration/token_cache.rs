//! The validated-token cache through the engine: hits skip verification, `exp` is re-checked on
//! every hit, a key-set change invalidates entries, and the cache can be turned off.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use jwt_core::{
    JwtAuth, SimpleRequest, StaticKeys, TokenCacheConfig, Verified, Verifier, VerifyError, mint,
};
use serde_json::json;

const SECRET: [u8; 32] = [0x61; 32];

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Counts verifications and exposes a settable key generation; with `waits`, each
/// verification's first poll waits once (as a key fetch in flight would).
#[derive(Debug)]
struct Counting {
    inner: StaticKeys,
    calls: AtomicUsize,
    generation: AtomicU64,
    waits: bool,
}

#[async_trait]
impl Verifier for Counting {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.waits {
            tokio::task::yield_now().await;
        }
        self.inner.verify(token).await
    }

    fn key_generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

fn counting() -> Arc<Counting> {
    counting_with(false)
}

fn counting_with(waits: bool) -> Arc<Counting> {
    Arc::new(Counting {
        inner: StaticKeys::hs256(SECRET).unwrap(),
        calls: AtomicUsize::new(0),
        generation: AtomicU64::new(0),
        waits,
    })
}

async fn call(auth: &JwtAuth, token: &str) -> Result<String, u16> {
    let bearer = format!("Bearer {token}");
    let req = SimpleRequest::new("GET", "/x").header("Authorization", &bearer);
    auth.authenticate(&req)
        .await
        .map(|o| o.into_context().unwrap().user_id().unwrap().to_owned())
        .map_err(|e| e.status())
}

#[tokio::test]
async fn hits_skip_verification() {
    let v = counting();
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .shared_verifier(v.clone())
        .build()
        .unwrap();
    let token = mint::hs256(&SECRET, &json!({"sub": "a", "exp": now() + 60})).unwrap();
    // A token is kept from its second verification on: the first only marks it as seen.
    assert_eq!(call(&auth, &token).await, Ok("a".into()));
    assert_eq!(auth.cache_usage().map(|(n, _)| n), Some(0));
    for _ in 0..5 {
        assert_eq!(call(&auth, &token).await, Ok("a".into()));
    }
    assert_eq!(v.calls.load(Ordering::SeqCst), 2);
    assert_eq!(auth.cache_usage().map(|(n, _)| n), Some(1));
    // A different token is a miss.
    let other = mint::hs256(&SECRET, &json!({"sub": "b", "exp": now() + 60})).unwrap();
    assert_eq!(call(&auth, &other).await, Ok("b".into()));
    assert_eq!(v.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn failures_are_not_cached() {
    let v = counting();
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .shared_verifier(v.clone())
        .build()
        .unwrap();
    let forged = mint::hs256(&[0u8; 32], &json!({"sub": "a", "exp": now() + 60})).unwrap();
    for _ in 0..3 {
        assert_eq!(call(&auth, &forged).await, Err(401));
    }
    assert_eq!(v.calls.load(Ordering::SeqCst), 3);
    assert_eq!(auth.cache_usage().map(|(n, _)| n), Some(0));
}

#[tokio::test]
async fn a_cached_token_expires_on_time() {
    let v = counting();
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .shared_verifier(v.clone())
        .leeway(0)
        .build()
        .unwrap();
    let token = mint::hs256(&SECRET, &json!({"sub": "a", "exp": now() + 2})).unwrap();
    // Twice: kept from the second verification on.
    assert_eq!(call(&auth, &token).await, Ok("a".into()));
    assert_eq!(call(&auth, &token).await, Ok("a".into()));
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(call(&auth, &token).await, Err(401));
    assert_eq!(
        v.calls.load(Ordering::SeqCst),
        2,
        "refused from the cache's own exp check"
    );
}

#[tokio::test]
async fn a_key_set_change_invalidates_entries() {
    let v = counting();
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .shared_verifier(v.clone())
        .build()
        .unwrap();
    let token = mint::hs256(&SECRET, &json!({"sub": "a", "exp": now() + 60})).unwrap();
    assert_eq!(call(&auth, &token).await, Ok("a".into()));
    v.generation.store(1, Ordering::SeqCst);
    assert_eq!(call(&auth, &token).await, Ok("a".into()));
    assert_eq!(
        v.calls.load(Ordering::SeqCst),
        2,
        "re-verified after rotation"
    );
    assert_eq!(call(&auth, &token).await, Ok("a".into()));
    assert_eq!(v.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_cache_can_be_turned_off_and_bounded() {
    let v = counting();
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .shared_verifier(v.clone())
        .cache_tokens(false)
        .build()
        .unwrap();
    let token = mint::hs256(&SECRET, &json!({"sub": "a", "exp": now() + 60})).unwrap();
    for _ in 0..3 {
        assert_eq!(call(&auth, &token).await, Ok("a".into()));
    }
    assert_eq!(v.calls.load(Ordering::SeqCst), 3);
    assert_eq!(auth.cache_usage(), None);

    let small = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .token_cache(
            TokenCacheConfig::default()
                .max_entries(10)
                .max_bytes(64 * 1024),
        )
        .build()
        .unwrap();
    for n in 0..200 {
        let t = mint::hs256(&SECRET, &json!({"sub": format!("u{n}"), "exp": now() + 60})).unwrap();
        assert_eq!(call(&small, &t).await, Ok(format!("u{n}")));
    }
    let (entries, bytes) = small.cache_usage().unwrap();
    assert!(
        entries <= 10 && bytes <= 64 * 1024,
        "{entries} entries, {bytes} bytes"
    );
    assert!(
        JwtAuth::builder()
            .dangerous_any_issuer()
            .verifier(StaticKeys::hs256(SECRET).unwrap())
            .token_cache(TokenCacheConfig::default().max_entries(0))
            .build()
            .is_err()
    );
}

/// What a decision gave, in full: the refusal (status and body), or the context's JSON view,
/// route, required scopes and listing ids.
async fn decision(auth: &JwtAuth, token: &str, method: &str, path: &str) -> String {
    let bearer = format!("Bearer {token}");
    let req = SimpleRequest::new(method, path).header("Authorization", &bearer);
    match auth.authenticate(&req).await {
        Ok(outcome) => match outcome.into_context() {
            Some(ctx) => format!(
                "ok {} route={:?} required={:?} listing={:?} token={:?}",
                ctx.to_json(),
                ctx.route(),
                ctx.required_scopes(),
                ctx.listing_ids("agents"),
                ctx.token().map(str::len),
            ),
            None => "anonymous".to_owned(),
        },
        Err(e) => format!("refused {} {}", e.status(), e.body()),
    }
}

/// A token-cache hit may hand back a context kept from an earlier request with the same token;
/// every decision must still be exactly the one an engine without the cache makes: other
/// parameters of the same entry, other entries, listings, resource checks and refusals,
/// in any order and repeated.
#[tokio::test]
async fn reused_contexts_decide_exactly_like_fresh_ones() {
    reuse_differential().await;
}

/// The same differential while a DEBUG subscriber listens: which code path a decision takes
/// (the kept context or the full decision) must not depend on whether anyone is tracing.
#[tokio::test]
async fn reused_contexts_decide_exactly_like_fresh_ones_while_traced() {
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _listening = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    assert!(tracing::enabled!(tracing::Level::DEBUG));
    reuse_differential().await;
}

async fn reuse_differential() {
    use jwt_core::RouteTable;
    let table = || {
        RouteTable::builder()
            .route("GET /agents", ["agents:read"])
            .listing("GET /agents", "agents", "read")
            .route("GET /agents/{id}", ["agents:{id}:read"])
            .route("POST /agents/{id}/runs", ["agents:{id}:run", "runs:write"])
            .resource_check("POST /agents/{id}/runs", "agents:{id}:read", "run", "agent")
            .route("GET /teams/{id}", ["teams:{id}:read"])
            .authenticated("GET /me")
            .scope_rules(jwt_core::ScopeRules::agent_os())
            .build()
            .unwrap()
    };
    let engine = |cache: bool, keep_token: bool| {
        JwtAuth::builder()
            .dangerous_any_issuer()
            .verifier(StaticKeys::hs256(SECRET).unwrap())
            .scopes(table())
            .cache_tokens(cache)
            .keep_token(keep_token)
            .build()
            .unwrap()
    };
    let tokens: Vec<String> = [
        json!([
            "agents:a1:read",
            "agents:a1:run",
            "runs:write",
            "agents:a2:run"
        ]),
        json!(["agents:read", "agents:*:run"]),
        json!(["teams:t1:read"]),
        json!(["agent_os:admin"]),
        json!([]),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, scopes)| {
        mint::hs256(
            &SECRET,
            &json!({"sub": format!("user-{n}"), "exp": now() + 600, "scopes": scopes}),
        )
        .unwrap()
    })
    .collect();
    let requests = [
        ("GET", "/agents/a1"),
        ("GET", "/agents/a2"),
        ("GET", "/agents/a1"),
        ("GET", "/agents"),
        ("HEAD", "/agents"),
        ("POST", "/agents/a1/runs"),
        ("POST", "/agents/a2/runs"),
        ("POST", "/agents/a1/runs"),
        ("GET", "/teams/t1"),
        ("GET", "/teams/t2"),
        ("GET", "/me"),
        ("GET", "/agents/a%31"),
        ("GET", "/agents/a2"),
        ("GET", "/nowhere"),
    ];
    for keep_token in [false, true] {
        let (cached, fresh) = (engine(true, keep_token), engine(false, keep_token));
        for round in 0..3 {
            for token in &tokens {
                for (method, path) in requests {
                    assert_eq!(
                        decision(&cached, token, method, path).await,
                        decision(&fresh, token, method, path).await,
                        "round {round}, {method} {path}, keep_token {keep_token}"
                    );
                }
            }
        }
    }
}

/// A mapper whose answers change at run time (rules reloaded): it is not fixed, so a cached
/// token is routed again on every request and follows the new rules at once.
#[derive(Debug)]
struct Reloadable {
    open: jwt_core::RouteTable,
    closed: jwt_core::RouteTable,
    closed_now: Arc<std::sync::atomic::AtomicBool>,
}

impl jwt_core::ScopeMapper for Reloadable {
    fn resolve<'a>(
        &'a self,
        method: &str,
        path: &jwt_core::RequestPath<'a>,
    ) -> Result<jwt_core::RouteMatch<'a>, jwt_core::PathRejection> {
        if self.closed_now.load(Ordering::SeqCst) {
            self.closed.resolve(method, path)
        } else {
            self.open.resolve(method, path)
        }
    }

    fn scope_rules(&self) -> &Arc<jwt_core::ScopeRules> {
        self.open.scope_rules()
    }
}

#[tokio::test]
async fn a_mapper_that_is_not_fixed_is_asked_on_every_request() {
    use jwt_core::{RouteTable, ScopeMapper as _};
    let table = |scope: &str| {
        RouteTable::builder()
            .route("GET /items", [scope])
            .build()
            .unwrap()
    };
    assert!(table("a:read").is_fixed());
    let closed_now = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mapper = Reloadable {
        open: table("items:read"),
        closed: table("items:admin"),
        closed_now: closed_now.clone(),
    };
    assert!(!mapper.is_fixed());
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .scopes(mapper)
        .build()
        .unwrap();
    let token = mint::hs256(
        &SECRET,
        &json!({"sub": "alice", "exp": now() + 600, "scopes": ["items:read"]}),
    )
    .unwrap();
    for _ in 0..3 {
        assert!(
            decision(&auth, &token, "GET", "/items")
                .await
                .starts_with("ok")
        );
    }
    closed_now.store(true, Ordering::SeqCst);
    assert!(
        decision(&auth, &token, "GET", "/items")
            .await
            .starts_with("refused 403"),
        "the reloaded rule applies to a cached token at once"
    );
}

/// The bearer token, counting how often the engine asked for it.
#[derive(Debug, Default)]
struct CountingSource {
    calls: Arc<AtomicUsize>,
}

impl jwt_core::TokenSource for CountingSource {
    fn extract<'r>(
        &self,
        req: &'r dyn jwt_core::RequestParts,
    ) -> Result<Option<&'r str>, jwt_core::AuthError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut found = None;
        req.for_each_header("authorization", &mut |v| found = Some(v));
        Ok(found
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.strip_prefix("Bearer ")))
    }

    fn missing_detail(&self) -> std::borrow::Cow<'static, str> {
        "Not authenticated".into()
    }

    fn describe(&self) -> String {
        "counting bearer".to_owned()
    }
}

#[tokio::test]
async fn a_decision_that_waits_continues_where_it_stopped() {
    let verifier = counting_with(true);
    let located = Arc::new(AtomicUsize::new(0));
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .shared_verifier(verifier.clone())
        .token_source(CountingSource {
            calls: located.clone(),
        })
        .build()
        .unwrap();
    let token = mint::hs256(&SECRET, &json!({"sub": "a", "exp": now() + 60})).unwrap();
    let bearer = format!("Bearer {token}");
    let req = SimpleRequest::new("GET", "/x").header("Authorization", &bearer);

    // The first poll stops at the verification's wait: the decision comes back unfinished.
    let unfinished = match auth.verdict_now(&req) {
        Err(unfinished) => unfinished,
        Ok(verdict) => panic!("decided without waiting: {verdict:?}"),
    };
    assert_eq!(located.load(Ordering::SeqCst), 1);
    // Continued: the token is not located again, and the decision ends as a fresh one would.
    match auth.verdict_after(&req, unfinished).await {
        jwt_core::Verdict::Continue(pass) => {
            assert_eq!(pass.context().and_then(|c| c.user_id()), Some("a"));
        }
        jwt_core::Verdict::Respond(reply) => panic!("refused: {}", reply.status()),
    }
    assert_eq!(located.load(Ordering::SeqCst), 1);
    // The continued decision was the token's first finished verification (the dropped first
    // poll's never finished); the cache keeps a token from its second on.
    assert!(auth.authenticate(&req).await.is_ok());
    assert_eq!(verifier.calls.load(Ordering::SeqCst), 3);
    // Cached now: the next request decides in place, without verifying.
    assert!(matches!(
        auth.verdict_now(&req),
        Ok(jwt_core::Verdict::Continue(_))
    ));
    assert_eq!(verifier.calls.load(Ordering::SeqCst), 3);
    assert_eq!(located.load(Ordering::SeqCst), 3);
}
