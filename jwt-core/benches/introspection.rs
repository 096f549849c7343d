//! Introspected tokens on the hot path (feature `introspection`): the cost of a decision on a
//! token-cache hit for an opaque token, against the same for an HS256 JWT with the same claims,
//! and the introspection calls 1,000 requests of one token make. The authorization server is a
//! scripted one on a loopback port (the answer's content is what matters here, not the server).
//! Prints `introspection cache hit: opaque O ns, jwt J ns, ratio R` and `introspection calls per
//! 1000 requests of one token: N`, which `cargo xtask bench core` reads and checks.

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jwt_core::{
    ClientAuth, Introspection, JwtAuth, RouteTable, SimpleRequest, StaticKeys, Verdict, mint,
};
use serde_json::json;

#[path = "../tests/support/scripted_server.rs"]
mod scripted_server;

fn decide(auth: &JwtAuth, req: &SimpleRequest<'_>) -> Verdict {
    match auth.verdict_now(req) {
        Ok(verdict) => verdict,
        Err(_) => panic!("a cache hit never waits"),
    }
}

/// Nanoseconds per decision over `rounds`.
fn per_decision(auth: &JwtAuth, req: &SimpleRequest<'_>, rounds: u32) -> f64 {
    let started = Instant::now();
    for _ in 0..rounds {
        drop(black_box(decide(auth, black_box(req))));
    }
    started.elapsed().as_nanos() as f64 / f64::from(rounds)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = json!({
        "iss": "https://idp.example.test", "sub": "alice", "aud": "agentos", "client_id": "agent",
        "exp": now + 3600, "iat": now, "scope": "agents:read agents:agent-1:run teams:read",
    });
    let mut answer = claims.clone();
    answer["active"] = json!(true);
    let answer = answer.to_string();
    let server = runtime.block_on(scripted_server::start(move |_| (200, answer.clone())));
    let endpoint = server.url;

    let table = || RouteTable::agent_os().build().expect("table");
    let opaque_verifier = |ttl: Duration| {
        Introspection::builder(
            &endpoint,
            ClientAuth::client_secret_basic("bench", "secret"),
        )
        .issuer("https://idp.example.test")
        .cache_ttl(ttl)
        .build()
        .expect("introspection")
    };
    let opaque = runtime.block_on(async {
        JwtAuth::builder()
            .verifier(opaque_verifier(Duration::from_secs(600)))
            .audience("agentos")
            .scopes(table())
            .build()
            .expect("engine")
    });
    let secret = [0x42u8; 32];
    let jwt = JwtAuth::builder()
        .verifier(StaticKeys::hs256(secret).expect("key"))
        .audience("agentos")
        .issuer("https://idp.example.test")
        .scopes(table())
        .build()
        .expect("engine");

    let opaque_bearer = "Bearer 2YotnFZFEjr1zCsicMWpAA-an-opaque-access-token".to_owned();
    let jwt_bearer = format!("Bearer {}", mint::hs256(&secret, &claims).expect("mint"));
    let opaque_req =
        SimpleRequest::new("POST", "/agents/agent-1/runs").header("Authorization", &opaque_bearer);
    let jwt_req =
        SimpleRequest::new("POST", "/agents/agent-1/runs").header("Authorization", &jwt_bearer);
    // Warm both: the opaque token's answer fetched and kept, the JWT verified and kept.
    runtime.block_on(async {
        assert!(
            opaque.authenticate(&opaque_req).await.is_ok(),
            "the opaque token is allowed"
        );
    });
    assert!(matches!(decide(&jwt, &jwt_req), Verdict::Continue(_)));
    assert!(
        matches!(decide(&opaque, &opaque_req), Verdict::Continue(_)),
        "a hit, decided in place"
    );

    // Alternating rounds (opaque, jwt, jwt, opaque, ...) so that drift weighs on both alike.
    let (mut o, mut j) = (Vec::new(), Vec::new());
    for round in 0..20 {
        if round % 2 == 0 {
            o.push(per_decision(&opaque, &opaque_req, 50_000));
            j.push(per_decision(&jwt, &jwt_req, 50_000));
        } else {
            j.push(per_decision(&jwt, &jwt_req, 50_000));
            o.push(per_decision(&opaque, &opaque_req, 50_000));
        }
    }
    let (o, j) = (median(o), median(j));
    println!(
        "introspection cache hit: opaque {o:.1} ns, jwt {j:.1} ns, ratio {:.2}",
        o / j
    );

    // 1,000 requests of one token: the calls the authorization server sees.
    let verifier = runtime.block_on(async { opaque_verifier(Duration::from_secs(60)) });
    let counted = JwtAuth::builder()
        .verifier(verifier.clone())
        .audience("agentos")
        .scopes(table())
        .build()
        .expect("engine");
    let other = "Bearer another-opaque-access-token-for-the-count";
    let req = SimpleRequest::new("GET", "/agents").header("Authorization", other);
    runtime.block_on(async {
        for _ in 0..1000 {
            assert!(counted.authenticate(&req).await.is_ok());
        }
    });
    println!(
        "introspection calls per 1000 requests of one token: {}",
        verifier.calls()
    );
}
