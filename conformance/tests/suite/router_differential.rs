//! Router differential: one `JwtAuth`, five real servers (axum, actix-web, poem, and warp served
//! by `warp::serve` and by `jwt_warp::serve`) that route the same table with their own routers,
//! path parameters and nested mounts, and a generated corpus of path spellings × tokens sent to
//! each over raw TCP.
//!
//! The middleware decides on the path it is handed; each framework's router decides which
//! handler runs and which parameters it gets. Whenever the two read a path differently, a
//! handler can run with parameters the decision never saw. This test finds those cases:
//!
//! - a **bypass** is a handler that ran although its route's required scopes, rendered with the
//!   parameters *the handler* received, are not granted by the token (or without a valid token on a
//!   route that needs one);
//! - a **disagreement** is one adapter running a handler for a request another refused, or two
//!   adapters running different handlers (route or parameters) for it.
//!
//! It prints `router differential: N requests, B bypasses, D disagreements` (N cases, each sent
//! to all four servers) and one line per offending case, and asserts `B == 0`, `D == 0`,
//! `N >= 2000`, and that every server routes the plain spelling of every route (the canaries).
//! Every outcome is also written to `<target>/conformance/router_differential.tsv`
//! ([`conformance::output_dir`]: under `CARGO_TARGET_DIR` when set).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::differential::corpus::{self, Case, Token};
use crate::differential::verdict::{Outcome, bypass, classify, disagreement};
use crate::differential::{actix_app, axum_app, poem_app, warp_app, wire};

/// Requests in flight at once, all servers together.
const IN_FLIGHT: usize = 32;

/// Sends one request and classifies the answer.
async fn outcome(addr: SocketAddr, method: &str, path: &str, token: &Token) -> Outcome {
    match wire::send(addr, method, path, token.header.as_deref()).await {
        Ok(res) => classify(&res),
        Err(why) => Outcome::Failed(why),
    }
}

/// Checks the canaries on every server: with the admin token each plain route reaches its
/// handler with the expected parameters; without a token only `/health` runs, the rest are
/// refused by the middleware with 401. Returns one message per failure.
async fn canaries(servers: &[(&'static str, SocketAddr)], tokens: &[Token]) -> Vec<String> {
    let none = tokens
        .iter()
        .find(|t| t.header.is_none())
        .expect("no-token");
    let root = tokens
        .iter()
        .find(|t| t.valid && t.scopes == [corpus::ADMIN_SCOPE])
        .expect("admin token");
    let mut failures = Vec::new();
    for canary in corpus::canaries() {
        let expected = Outcome::Handler {
            route: canary.route.to_owned(),
            params: canary
                .params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        let anonymous = if canary.route == corpus::route::HEALTH {
            expected.clone()
        } else {
            Outcome::Refused {
                status: 401,
                core: true,
            }
        };
        for (name, addr) in servers {
            for (token, want) in [(root, &expected), (none, &anonymous)] {
                let got = outcome(*addr, canary.method, canary.path, token).await;
                if got != *want {
                    failures.push(format!(
                        "CANARY {name} {} {} token={}: {got} (expected {want})",
                        canary.method, canary.path, token.name
                    ));
                }
            }
        }
    }
    failures
}

/// Sends every case to every server, `IN_FLIGHT` at a time; `result[case][server]`.
async fn run_corpus(
    servers: &[(&'static str, SocketAddr)],
    cases: &Arc<Vec<Case>>,
    tokens: &Arc<Vec<Token>>,
) -> Vec<Vec<Outcome>> {
    let limit = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut results = vec![vec![Outcome::Failed("not sent".into()); servers.len()]; cases.len()];
    let mut tasks = JoinSet::new();
    let mut record = |done: Result<(usize, usize, Outcome), tokio::task::JoinError>| {
        let (case, server, outcome) = done.expect("request task");
        results[case][server] = outcome;
    };
    for case in 0..cases.len() {
        for (server, &(_, addr)) in servers.iter().enumerate() {
            let permit = limit.clone().acquire_owned().await.expect("semaphore");
            let (cases, tokens) = (cases.clone(), tokens.clone());
            tasks.spawn(async move {
                let c = &cases[case];
                let result = outcome(addr, c.method, &c.path, &tokens[c.token]).await;
                drop(permit);
                (case, server, result)
            });
            while let Some(done) = tasks.try_join_next() {
                record(done);
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        record(done);
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_differential() {
    let started = Instant::now();
    let auth = corpus::auth();
    let tokens = Arc::new(corpus::tokens());
    let cases = Arc::new(corpus::cases(tokens.len()));
    let running = vec![
        axum_app::start(&auth).await,
        actix_app::start(&auth),
        poem_app::start(&auth).await,
        warp_app::start(&auth, false).await,
        warp_app::start(&auth, true).await,
    ];
    let servers: Vec<(&'static str, SocketAddr)> =
        running.iter().map(|r| (r.name, r.addr)).collect();

    let canary_failures = canaries(&servers, &tokens).await;
    let results = run_corpus(&servers, &cases, &tokens).await;
    for server in running {
        server.stop().await;
    }

    let mut table = String::new();
    let mut bypasses = 0;
    let mut disagreements = 0;
    let mut failures = 0;
    for (case, outcomes) in cases.iter().zip(&results) {
        let token = &tokens[case.token];
        let label = format!("{} {} token={}", case.method, case.path, token.name);
        for ((name, _), outcome) in servers.iter().zip(outcomes) {
            if let Some(why) = bypass(outcome, token) {
                bypasses += 1;
                println!("BYPASS {name} {label}: {outcome}: {why}");
            }
            if let Outcome::Failed(why) = outcome {
                failures += 1;
                println!("FAILED {name} {label}: {why}");
            }
        }
        let named: Vec<(&str, &Outcome)> = servers.iter().map(|(n, _)| *n).zip(outcomes).collect();
        let all: Vec<String> = named.iter().map(|(n, o)| format!("{n}: {o}")).collect();
        table.push_str(&format!("{label}\t{}\n", all.join("\t")));
        if let Some(why) = disagreement(&named) {
            disagreements += 1;
            println!("DISAGREE {label}: {why}: {}", all.join("; "));
        }
    }
    // Every outcome, for reading rather than asserting.
    let dump = conformance::output_dir();
    if std::fs::create_dir_all(&dump).is_ok() {
        let _ = std::fs::write(dump.join("router_differential.tsv"), table);
    }
    for (i, (name, _)) in servers.iter().enumerate() {
        let count = |f: fn(&Outcome) -> bool| results.iter().filter(|r| f(&r[i])).count();
        println!(
            "router differential {name}: {} handler, {} refused by the middleware, {} refused \
             otherwise, {} not routed, {} other",
            count(|o| matches!(o, Outcome::Handler { .. })),
            count(|o| matches!(o, Outcome::Refused { core: true, .. })),
            count(|o| matches!(o, Outcome::Refused { core: false, .. })),
            count(|o| matches!(o, Outcome::NotRouted(_))),
            count(|o| matches!(o, Outcome::Other(_) | Outcome::Failed(_))),
        );
    }
    for line in &canary_failures {
        println!("{line}");
    }
    let n = cases.len();
    println!(
        "router differential: {n} requests, {bypasses} bypasses, {disagreements} disagreements"
    );
    println!(
        "router differential: {} HTTP exchanges in {:.1} s",
        n * servers.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(n >= 2000, "only {n} cases");
    assert!(
        canary_failures.is_empty(),
        "{} canary failures",
        canary_failures.len()
    );
    assert_eq!(failures, 0, "requests without an answer");
    assert_eq!(bypasses, 0, "bypasses");
    assert_eq!(disagreements, 0, "disagreements");
}
