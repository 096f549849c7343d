//! Heap allocations per decision, counted by a global allocator: an HS256 token with one scope
//! on the AgentOS table (`POST /agents/agent-1/runs`, needing `agents:agent-1:run`), decided
//! with the token cache on (a hit: the same request again) and off (cold: verify, claims,
//! authorize). Prints `allocations per decision: hit H, cold C`, which `cargo xtask bench core`
//! reads and checks.

use std::time::{SystemTime, UNIX_EPOCH};

use jwt_core::{JwtAuth, RouteTable, SimpleRequest, StaticKeys, Verdict, mint};
use serde_json::json;

/// Every allocation goes through dhat's allocator, which counts them (`HeapStats`).
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// How many heap blocks have been allocated so far.
fn allocated() -> u64 {
    dhat::HeapStats::get().total_blocks
}

/// Static keys never wait: the decision is ready at its first poll.
fn decide(auth: &JwtAuth, req: &SimpleRequest<'_>) -> Verdict {
    match auth.verdict_now(req) {
        Ok(verdict) => verdict,
        Err(_) => unreachable!("static-key verification never waits"),
    }
}

/// The allocations of one decision, averaged over `rounds` (after two warm-up decisions: the
/// cache filled, as it keeps a token from its second verification on, and the table's lazy
/// indexes built).
fn per_decision(auth: &JwtAuth, req: &SimpleRequest<'_>, rounds: u64) -> f64 {
    for _ in 0..2 {
        let warm = decide(auth, req);
        assert!(matches!(warm, Verdict::Continue(_)), "the token is allowed");
    }
    let before = allocated();
    for _ in 0..rounds {
        let verdict = decide(auth, req);
        drop(std::hint::black_box(verdict));
    }
    (allocated() - before) as f64 / rounds as f64
}

fn main() {
    let secret = [0x42u8; 32];
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let claims = json!({
        "iss": "https://idp.example.test", "sub": "alice", "aud": "agentos",
        "exp": now + 3600, "iat": now, "scopes": ["agents:agent-1:run"],
    });
    let token = mint::hs256(&secret, &claims).expect("mint");
    let bearer = format!("Bearer {token}");
    let req = SimpleRequest::new("POST", "/agents/agent-1/runs").header("Authorization", &bearer);
    let auth = |cache: bool| {
        JwtAuth::builder()
            .verifier(StaticKeys::hs256(secret).expect("key"))
            .audience("agentos")
            .issuer("https://idp.example.test")
            .scopes(RouteTable::agent_os().build().expect("table"))
            .cache_tokens(cache)
            .build()
            .expect("engine")
    };
    // Counting only (no heap profile written).
    let _profiler = dhat::Profiler::builder().testing().build();
    let hit = per_decision(&auth(true), &req, 10_000);
    let cold = per_decision(&auth(false), &req, 10_000);
    println!("allocations per decision: hit {hit:.1}, cold {cold:.1}");
}
