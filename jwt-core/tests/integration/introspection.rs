//! Opaque tokens checked by introspection (RFC 7662), against the real OpenID provider
//! (panva/oidc-provider with its introspection and revocation features) and, for answers no
//! real server sends, a scripted authorization server on a loopback port: the client
//! authentication methods, the answer cache (one call per token per TTL, one call for many
//! concurrent requests, shared through Redis), revocation seen once the TTL has passed, an
//! outage (503 within the timeout, back after a restart), malformed answers (401) and
//! unreadable ones (503).

#![cfg(all(feature = "introspection", feature = "redis"))]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jwt_core::{
    Algorithm, AuthError, ByShape, ClientAuth, EncodingKey, Introspection, JwtAuth, Outcome,
    RedisStore, RemoteJwks, RouteTable, SimpleRequest, StandardClaims, Verifier,
};

use crate::oidc_provider::{OPAQUE_AUDIENCE, Provider, RS_CLIENT, RS_JWT_CLIENT, RS_POST_CLIENT};
use crate::redis_server::{RedisServer, redis_ready};
use crate::scripted_server::{self, Scripted};

fn basic() -> ClientAuth {
    ClientAuth::client_secret_basic(RS_CLIENT.0, RS_CLIENT.1)
}

fn auth_with(verifier: impl Verifier + 'static, audience: &str) -> JwtAuth {
    JwtAuth::builder()
        .verifier(verifier)
        .audience(audience)
        .claims(StandardClaims::default().user_id_claim("client_id"))
        .scopes(RouteTable::agent_os().build().unwrap())
        .build()
        .unwrap()
}

async fn call(auth: &JwtAuth, path: &str, token: &str) -> Result<Outcome, AuthError> {
    let header = format!("Bearer {token}");
    let req = SimpleRequest::new("GET", path).header("Authorization", &header);
    auth.authenticate(&req).await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn start(env: &[(&str, &str)]) -> Option<Provider> {
    tokio::task::block_in_place(|| Provider::start_with("RS256", env))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_opaque_tokens_of_the_real_provider() {
    let Some(p) = start(&[]) else { return };
    let auth = auth_with(
        Introspection::discover(&p.issuer, basic()).unwrap(),
        OPAQUE_AUDIENCE,
    );
    let token = p.opaque_token("agents:read");
    let ctx = call(&auth, "/agents", &token)
        .await
        .unwrap()
        .into_context()
        .unwrap();
    assert_eq!(ctx.user_id(), Some("agent-svc"));
    assert_eq!(ctx.scopes(), ["agents:read"]);
    assert_eq!(
        ctx.claim("iss").and_then(|v| v.as_str()),
        Some(p.issuer.as_str())
    );
    assert_eq!(
        ctx.claim("aud").and_then(|v| v.as_str()),
        Some(OPAQUE_AUDIENCE)
    );
    // The scope the answer carries decides: no `agents:write`, no POST.
    let bearer = format!("Bearer {token}");
    let req = SimpleRequest::new("POST", "/agents/a1/runs").header("Authorization", &bearer);
    assert_eq!(auth.authenticate(&req).await.unwrap_err().status(), 403);
    // Another audience configured: the answer's `aud` is checked like a JWT's.
    let elsewhere = auth_with(
        Introspection::discover(&p.issuer, basic()).unwrap(),
        "https://another.api.test",
    );
    let err = call(&elsewhere, "/agents", &token).await.unwrap_err();
    assert_eq!((err.status(), err.reason()), (401, "invalid_audience"));
    // An unknown token: inactive.
    let err = call(&auth, "/agents", "not-a-token-the-provider-issued")
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.reason()), (401, "inactive"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_client_secret_post_and_private_key_jwt() {
    let (name, key) = Provider::rs_key_env();
    let Some(p) = start(&[(name, &key)]) else {
        return;
    };
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/p256.key"
    ))
    .unwrap();
    let methods = [
        ClientAuth::client_secret_post(RS_POST_CLIENT.0, RS_POST_CLIENT.1),
        ClientAuth::private_key_jwt(
            RS_JWT_CLIENT,
            Algorithm::ES256,
            EncodingKey::from_ec_pem(&pem).unwrap(),
        )
        .with_kid("api-rs-jwt-1"),
        basic(),
    ];
    let token = p.opaque_token("agents:read");
    for method in methods {
        let label = format!("{method:?}");
        let opaque = Introspection::discover(&p.issuer, method).unwrap();
        let auth = auth_with(opaque.clone(), OPAQUE_AUDIENCE);
        let ctx = call(&auth, "/agents", &token).await;
        assert!(ctx.is_ok(), "{label}: {:?}", ctx.err());
        assert_eq!(opaque.calls(), 1, "{label}");
    }
    // A wrong secret: the provider refuses the resource server (401): 503, never an allow.
    let wrong = Introspection::discover(
        &p.issuer,
        ClientAuth::client_secret_basic(RS_CLIENT.0, "wrong"),
    )
    .unwrap();
    let err = call(&auth_with(wrong, OPAQUE_AUDIENCE), "/agents", &token)
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.reason()), (503, "keys_unavailable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_one_call_per_token_within_the_ttl() {
    let Some(p) = start(&[]) else { return };
    for cache_tokens in [true, false] {
        let opaque = Introspection::discover(&p.issuer, basic()).unwrap();
        let auth = JwtAuth::builder()
            .verifier(opaque.clone())
            .audience(OPAQUE_AUDIENCE)
            .cache_tokens(cache_tokens)
            .scopes(RouteTable::agent_os().build().unwrap())
            .build()
            .unwrap();
        let token = p.opaque_token("agents:read");
        let before = p.introspections();
        for _ in 0..1000 {
            call(&auth, "/agents", &token).await.unwrap();
        }
        let made = p.introspections() - before;
        println!("token cache {cache_tokens}: 1000 requests, {made} introspection call(s)");
        assert_eq!((made, opaque.calls()), (1, 1), "token cache {cache_tokens}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_64_concurrent_cold_requests_make_one_call() {
    // Every answer takes 300 ms: the 64 requests all arrive while the first call is out.
    let Some(p) = start(&[("INTROSPECTION_DELAY_MS", "300")]) else {
        return;
    };
    let auth = Arc::new(auth_with(
        Introspection::discover(&p.issuer, basic()).unwrap(),
        OPAQUE_AUDIENCE,
    ));
    let token = Arc::new(p.opaque_token("agents:read"));
    let before = p.introspections();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (auth, token) = (auth.clone(), token.clone());
            tokio::spawn(async move { call(&auth, "/agents", &token).await.map(|_| ()) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(p.introspections() - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_revoked_token_is_refused_once_the_ttl_has_passed() {
    let Some(p) = start(&[]) else { return };
    let ttl = Duration::from_secs(2);
    let opaque = Introspection::discovery_builder(&p.issuer, basic())
        .cache_ttl(ttl)
        .build()
        .unwrap();
    let auth = auth_with(opaque, OPAQUE_AUDIENCE);
    let token = p.opaque_token("agents:read");
    call(&auth, "/agents", &token).await.unwrap();
    tokio::task::block_in_place(|| p.revoke(&token));
    let revoked = Instant::now();
    // Within the TTL the kept answer serves; once it has passed, the provider's says inactive.
    let refused_after = loop {
        match call(&auth, "/agents", &token).await {
            Ok(_) => assert!(
                revoked.elapsed() < ttl + Duration::from_secs(1),
                "still accepted"
            ),
            Err(e) => {
                assert_eq!((e.status(), e.reason()), (401, "inactive"));
                break revoked.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!("revoked at the provider: refused after {refused_after:?} (TTL {ttl:?})");
    assert!(
        refused_after <= ttl + Duration::from_secs(1),
        "{refused_after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_provider_down_is_503_within_the_timeout_then_back() {
    let Some(p) = start(&[]) else { return };
    let (port, issuer) = (p.port, p.issuer.clone());
    let timeout = Duration::from_millis(800);
    let pause = Duration::from_millis(300);
    let opaque = Introspection::discovery_builder(&issuer, basic())
        .timeout(timeout)
        .pause_after_failure(pause)
        .build()
        .unwrap();
    let auth = auth_with(opaque, OPAQUE_AUDIENCE);
    let kept = p.opaque_token("agents:read");
    let unseen = p.opaque_token("agents:read");
    call(&auth, "/agents", &kept).await.unwrap();
    drop(p);
    let started = Instant::now();
    let err = call(&auth, "/agents", &unseen).await.unwrap_err();
    let took = started.elapsed();
    println!("provider down: 503 after {took:?} (timeout {timeout:?})");
    assert_eq!(err.status(), 503);
    assert!(err.retry_after().is_some());
    assert!(took <= timeout + Duration::from_millis(200), "{took:?}");
    // While paused: refused at once, without a call.
    let started = Instant::now();
    assert_eq!(
        call(&auth, "/agents", &unseen).await.unwrap_err().status(),
        503
    );
    assert!(started.elapsed() < Duration::from_millis(100));
    // A kept answer still serves.
    call(&auth, "/agents", &kept).await.unwrap();
    // Back: a restarted provider's tokens are accepted once the pause is over.
    let p = tokio::task::block_in_place(|| Provider::start_on(port, "RS256", &[]));
    tokio::time::sleep(pause).await;
    let fresh = p.opaque_token("agents:read");
    call(&auth, "/agents", &fresh).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_two_instances_share_answers_through_redis() {
    if !redis_ready() {
        return;
    }
    let Some(p) = start(&[]) else { return };
    let redis = RedisServer::start();
    let url = redis.url();
    let instance = || {
        let store = Arc::new(RedisStore::open(&url).unwrap().prefix("introspect-test"));
        let opaque = Introspection::discovery_builder(&p.issuer, basic())
            .shared_cache(store)
            .build()
            .unwrap();
        (auth_with(opaque.clone(), OPAQUE_AUDIENCE), opaque)
    };
    let (a, a_calls) = instance();
    let (b, b_calls) = instance();
    let token = p.opaque_token("agents:read");
    let before = p.introspections();
    for _ in 0..10 {
        call(&a, "/agents", &token).await.unwrap();
        call(&b, "/agents", &token).await.unwrap();
    }
    assert_eq!((a_calls.calls(), b_calls.calls()), (1, 0));
    assert_eq!(p.introspections() - before, 1);
    // Redis down: each instance asks the provider itself, never allows on its own.
    drop(redis);
    let (c, c_calls) = instance();
    call(&c, "/agents", &token).await.unwrap();
    assert_eq!(c_calls.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_jwt_and_opaque_tokens_side_by_side() {
    let Some(p) = start(&[]) else { return };
    let verifier = ByShape::new(
        RemoteJwks::discover(&p.issuer).unwrap(),
        Introspection::discover(&p.issuer, basic()).unwrap(),
    );
    let auth = JwtAuth::builder()
        .verifier(verifier)
        .audience(OPAQUE_AUDIENCE)
        .audience(crate::oidc_provider::AUDIENCE)
        .claims(StandardClaims::default().user_id_claim("client_id"))
        .scopes(RouteTable::agent_os().build().unwrap())
        .build()
        .unwrap();
    let jwt = p.token_with_scope("agents:read");
    let opaque = p.opaque_token("agents:read");
    let before = p.introspections();
    for token in [&jwt, &opaque] {
        let ctx = call(&auth, "/agents", token)
            .await
            .unwrap()
            .into_context()
            .unwrap();
        assert_eq!(ctx.user_id(), Some("agent-svc"));
    }
    assert_eq!(
        p.introspections() - before,
        1,
        "the JWT is verified locally"
    );
}

/// The scripted server answering each token from `answers` (`{"active":false}` otherwise).
async fn scripted(answers: HashMap<&'static str, (u16, String)>) -> Scripted {
    scripted_server::start(move |token| {
        answers
            .get(token)
            .cloned()
            .unwrap_or((200, r#"{"active":false}"#.to_owned()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_malformed_answers_are_refused() {
    let exp = now() + 300;
    let good = format!(
        r#"{{"active":true,"client_id":"c","scope":"agents:read","aud":"https://api","exp":{exp}}}"#
    );
    let answers = HashMap::from([
        ("good", (200, good.clone())),
        ("no-active", (200, good.replace(r#""active":true,"#, ""))),
        (
            "active-string",
            (200, good.replace(r#""active":true"#, r#""active":"true""#)),
        ),
        (
            "wrong-aud",
            (200, good.replace("https://api", "https://elsewhere")),
        ),
        (
            "past-exp",
            (
                200,
                good.replace(&exp.to_string(), &(now() - 3600).to_string()),
            ),
        ),
        (
            "refresh",
            (
                200,
                good.replace(
                    r#""active":true"#,
                    r#""active":true,"token_type":"refresh_token""#,
                ),
            ),
        ),
        (
            "bound",
            (
                200,
                good.replace(r#""active":true"#, r#""active":true,"cnf":{"jkt":"abc"}"#),
            ),
        ),
        ("not-json", (200, "<html>".to_owned())),
        ("array", (200, "[]".to_owned())),
        (
            "twice",
            (200, r#"{"active":true,"active":false}"#.to_owned()),
        ),
        ("error", (500, "{}".to_owned())),
    ]);
    let server = scripted(answers).await;
    let auth_for = || {
        let opaque = Introspection::builder(&server.url, basic())
            .issuer("https://as.test")
            .pause_after_failure(Duration::ZERO)
            .build()
            .unwrap();
        auth_with(opaque, "https://api")
    };
    let auth = auth_for();
    let ctx = call(&auth, "/agents", "good")
        .await
        .unwrap()
        .into_context()
        .unwrap();
    assert_eq!(
        ctx.claim("iss").and_then(|v| v.as_str()),
        Some("https://as.test"),
        "filled in"
    );
    for (token, status, reason) in [
        ("no-active", 401, "inactive"),
        ("active-string", 401, "inactive"),
        ("unknown", 401, "inactive"),
        ("wrong-aud", 401, "invalid_audience"),
        ("past-exp", 401, "expired"),
        ("refresh", 401, "wrong_type"),
        ("bound", 401, "sender_constrained"),
        ("not-json", 503, "keys_unavailable"),
        ("array", 503, "keys_unavailable"),
        ("twice", 503, "keys_unavailable"),
        ("error", 503, "keys_unavailable"),
    ] {
        let err = call(&auth, "/agents", token).await.unwrap_err();
        assert_eq!((err.status(), err.reason()), (status, reason), "{token}");
    }
    // Inactive answers are asked again (negative TTL 0 by default)...
    let before = server.calls.load(Ordering::SeqCst);
    call(&auth, "/agents", "unknown").await.unwrap_err();
    assert_eq!(server.calls.load(Ordering::SeqCst) - before, 1);
    // ...and remembered for the negative TTL when one is set.
    let remembering = auth_with(
        Introspection::builder(&server.url, basic())
            .issuer("https://as.test")
            .negative_ttl(Duration::from_secs(30))
            .build()
            .unwrap(),
        "https://api",
    );
    let before = server.calls.load(Ordering::SeqCst);
    for _ in 0..5 {
        call(&remembering, "/agents", "unknown").await.unwrap_err();
    }
    assert_eq!(server.calls.load(Ordering::SeqCst) - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stepup_and_actors_read_an_introspection_answer_like_jwt_claims() {
    let exp = now() + 300;
    let answer = |extra: &str| {
        (
            200,
            format!(r#"{{"active":true,"client_id":"c","scope":"pay","exp":{exp}{extra}}}"#),
        )
    };
    let recent = now() - 10;
    let answers = HashMap::from([
        (
            "mfa",
            answer(&format!(r#","acr":"mfa","auth_time":{recent}"#)),
        ),
        (
            "pwd",
            answer(&format!(r#","acr":"pwd","auth_time":{recent}"#)),
        ),
        ("old", answer(r#","acr":"mfa","auth_time":1000"#)),
        ("none", answer("")),
        (
            "agent",
            answer(r#","acr":"mfa","auth_time":1,"act":{"sub":"agent-svc"}"#),
        ),
        ("bad-act", answer(r#","act":"agent-svc""#)),
    ]);
    let server = scripted(answers).await;
    let table = RouteTable::builder()
        .route("POST /payments", ["pay"])
        .step_up(
            "POST /payments",
            jwt_core::StepUp::acr(["mfa"]).max_age(600),
        )
        .route("GET /me", Vec::<String>::new())
        .actors("GET /me", jwt_core::Actors::forbidden())
        .build()
        .unwrap();
    let auth = JwtAuth::builder()
        .verifier(
            Introspection::builder(&server.url, basic())
                .issuer("https://as.test")
                .build()
                .unwrap(),
        )
        .scopes(table)
        .build()
        .unwrap();
    let send = |method: &'static str, path: &'static str, token: &'static str| {
        let auth = auth.clone();
        async move {
            let header = format!("Bearer {token}");
            auth.authenticate(&SimpleRequest::new(method, path).header("Authorization", &header))
                .await
        }
    };
    send("POST", "/payments", "mfa").await.unwrap();
    for token in ["pwd", "old", "none"] {
        let err = send("POST", "/payments", token).await.unwrap_err();
        assert_eq!(
            (err.status(), err.reason()),
            (401, "insufficient_user_authentication"),
            "{token}"
        );
        assert!(
            err.www_authenticate()
                .ends_with(r#"acr_values="mfa", max_age="600""#),
            "{token}"
        );
    }
    let ctx = send("POST", "/payments", "agent").await;
    assert_eq!(
        ctx.unwrap_err().reason(),
        "insufficient_user_authentication",
        "auth_time 1 is too old"
    );
    let err = send("GET", "/me", "agent").await.unwrap_err();
    assert_eq!((err.status(), err.reason()), (403, "actor_forbidden"));
    let err = send("GET", "/me", "bad-act").await.unwrap_err();
    assert_eq!((err.status(), err.reason()), (401, "invalid_claim"));
    let ctx = send("GET", "/me", "mfa")
        .await
        .unwrap()
        .into_context()
        .unwrap();
    assert!(ctx.actors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_dpop_bound_answer_needs_its_proof() {
    let key = crate::dpop::p256();
    let jkt = jwt_core::jwk_thumbprint(&key.jwk).unwrap();
    let exp = now() + 300;
    let bound = format!(
        r#"{{"active":true,"client_id":"c","exp":{exp},"token_type":"DPoP","cnf":{{"jkt":"{jkt}"}}}}"#
    );
    let server = scripted(HashMap::from([("bound-opaque", (200, bound))])).await;
    let auth = JwtAuth::builder()
        .verifier(
            Introspection::builder(&server.url, basic())
                .issuer("https://as.test")
                .build()
                .unwrap(),
        )
        .dpop(
            jwt_core::Dpop::allowed()
                .origin(jwt_core::HtuOrigin::Fixed("https://api.example.com".into())),
        )
        .build()
        .unwrap();
    let send = |scheme: &'static str, proof: Option<String>| {
        let auth = auth.clone();
        async move {
            let header = format!("{scheme} bound-opaque");
            let mut req = SimpleRequest::new("GET", "/me").header("Authorization", &header);
            if let Some(p) = &proof {
                req = req.header("DPoP", p);
            }
            auth.authenticate(&req).await.map(|_| ())
        }
    };
    let proof = |key: &crate::dpop::ProofKey| {
        crate::dpop::proof(
            key,
            "GET",
            "https://api.example.com/me",
            "bound-opaque",
            |_| {},
        )
    };
    // The answer's `cnf.jkt` binds the opaque token like a JWT's: its proof is needed.
    send("DPoP", Some(proof(&key))).await.unwrap();
    let err = send("Bearer", None).await.unwrap_err();
    assert_eq!((err.status(), err.reason()), (401, "sender_constrained"));
    let err = send("DPoP", Some(proof(&crate::dpop::ed25519())))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 401);
    assert!(
        err.www_authenticate()
            .starts_with(r#"DPoP error="invalid_dpop_proof""#),
        "{}",
        err.www_authenticate()
    );
    assert_eq!(
        server.calls.load(Ordering::SeqCst),
        1,
        "one answer served every request"
    );
}
