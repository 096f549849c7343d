//! MCP differential: the `mcp` profile's engine in front of four real servers (axum,
//! actix-web, poem, warp behind `jwt_warp::serve`) whose MCP endpoint handler reads the JSON-RPC
//! body the way a lenient server does (`serde_json::Value`: the last of two equal members wins)
//! and answers which operations it would run. A generated corpus of bodies (single messages,
//! batches, duplicate and escaped members, malformed ones) × tokens × `Mcp-Method` / `Mcp-Name`
//! headers is sent to each over raw TCP.
//!
//! - a **bypass** is an operation the handler ran that the token may not run, by an oracle
//!   written here from the table's rows (not from the engine);
//! - a **disagreement** is two servers answering the same request differently.
//!
//! It prints `mcp differential: N requests, B bypasses, D disagreements` (N cases, each sent to
//! all four servers) and asserts `B == 0`, `D == 0` and `N >= 2000`.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::differential::app::{Running, Stop};
use crate::differential::wire;

/// What the handler ran: each message's method and target, as a lenient server reads them.
fn ran(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return json!({ "ran": [] }).to_string();
    };
    let one = |m: &Value| {
        let method = m.get("method").and_then(Value::as_str).unwrap_or("");
        let params = m.get("params");
        let target = params
            .and_then(|p| p.get("name").or_else(|| p.get("uri")))
            .and_then(Value::as_str);
        let agent = params
            .and_then(|p| p.get("arguments"))
            .and_then(|a| a.get("agent_id"))
            .and_then(Value::as_str);
        json!([method, target, agent])
    };
    let ops: Vec<Value> = match &v {
        Value::Array(items) => items.iter().map(one).collect(),
        other => vec![one(other)],
    };
    json!({ "ran": ops }).to_string()
}

mod servers {
    use super::*;
    use jwt_axum::JwtAuthExt as _;
    use jwt_core::JwtAuth;
    use poem::EndpointExt as _;
    use warp::Filter as _;

    /// With `auth` the layer guards the endpoint; without, nothing does (the control that
    /// proves the oracle finds bypasses).
    pub(super) async fn axum(auth: Option<&JwtAuth>) -> Running {
        async fn handler(body: axum::body::Bytes) -> ([(&'static str, &'static str); 1], String) {
            ([("content-type", "application/json")], ran(&body))
        }
        let app = axum::Router::new().route(
            "/mcp",
            axum::routing::post(handler).get(handler).delete(handler),
        );
        let (app, name) = match auth {
            Some(auth) => (app.layer(auth.layer()), "axum"),
            None => (app, "unprotected"),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (signal, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("axum server");
        });
        Running {
            name,
            addr,
            stop: Stop::Task(signal, task),
        }
    }

    pub(super) fn actix(auth: &JwtAuth) -> Running {
        async fn handler(body: actix_web::web::Bytes) -> actix_web::HttpResponse {
            actix_web::HttpResponse::Ok()
                .content_type("application/json")
                .body(ran(&body))
        }
        let auth = auth.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = actix_web::HttpServer::new(move || {
                    actix_web::App::new()
                        .wrap(jwt_actix::JwtAuthExt::middleware(&auth))
                        .route("/mcp", actix_web::web::post().to(handler))
                        .route("/mcp", actix_web::web::get().to(handler))
                })
                .workers(1)
                .disable_signals()
                .shutdown_timeout(1)
                .listen(listener)
                .expect("listen")
                .run();
                handle_tx.send(server.handle()).expect("send handle");
                server.await.expect("actix server");
            });
        });
        let handle = handle_rx.recv().expect("actix started");
        Running {
            name: "actix",
            addr,
            stop: Stop::Actix(handle, thread),
        }
    }

    pub(super) async fn poem(auth: &JwtAuth) -> Running {
        #[poem::handler]
        fn handler(body: Vec<u8>) -> poem::Response {
            poem::Response::builder()
                .content_type("application/json")
                .body(ran(&body))
        }
        let app = poem::Route::new()
            .at("/mcp", poem::post(handler).get(handler))
            .with(jwt_poem::JwtAuthExt::middleware(auth));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).expect("acceptor");
        let (signal, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    app,
                    async move {
                        let _ = stopped.await;
                    },
                    Some(std::time::Duration::from_secs(1)),
                )
                .await
                .expect("poem server");
        });
        Running {
            name: "poem",
            addr,
            stop: Stop::Task(signal, task),
        }
    }

    pub(super) async fn warp(auth: &JwtAuth) -> Running {
        let app = warp::path("mcp")
            .and(warp::path::end())
            .and(jwt_warp::with_auth(auth))
            .and(warp::body::bytes())
            .map(|_: Option<jwt_core::AuthContext>, body: bytes::Bytes| {
                warp::reply::with_header(ran(&body), "content-type", "application/json")
            })
            .recover(jwt_warp::recover);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (signal, stopped) = tokio::sync::oneshot::channel::<()>();
        let auth = auth.clone();
        let task = tokio::spawn(async move {
            tokio::select! {
                () = jwt_warp::serve(&auth, warp::service(app), listener) => {}
                _ = stopped => {}
            }
        });
        Running {
            name: "warp-service",
            addr,
            stop: Stop::Task(signal, task),
        }
    }
}

/// A token of the corpus: its `Authorization` value, whether it is valid, its scopes.
struct Token {
    name: &'static str,
    header: Option<String>,
    valid: bool,
    scopes: Vec<&'static str>,
}

fn tokens() -> Vec<Token> {
    let mint = |scope: &str, secret: &[u8]| {
        let claims = json!({
            "sub": "agent", "exp": 4_000_000_000u64,
            "aud": conformance::PROTECTED_RESOURCE, "scope": scope,
        });
        format!(
            "Bearer {}",
            jwt_core::mint::hs256(secret, &claims).expect("mint")
        )
    };
    let mut out = vec![
        Token {
            name: "none",
            header: None,
            valid: false,
            scopes: vec![],
        },
        Token {
            name: "forged",
            header: Some(mint("tools:delete:call", conformance::HS_OTHER)),
            valid: false,
            scopes: vec![],
        },
    ];
    for (name, scopes) in [
        ("no-scope", vec![]),
        ("lookup", vec!["tools:lookup:call"]),
        ("delete", vec!["tools:delete:call"]),
        ("agents-run", vec!["agents:run"]),
        ("agent-a1", vec!["agents:a1:run"]),
        ("search", vec!["search"]),
        ("prompt", vec!["prompts:p:get"]),
        ("docs", vec!["docs:read"]),
        (
            "many",
            vec![
                "tools:lookup:call",
                "tools:delete:call",
                "prompts:p:get",
                "docs:read",
            ],
        ),
    ] {
        out.push(Token {
            name,
            header: Some(mint(&scopes.join(" "), conformance::HS_SECRET)),
            valid: true,
            scopes,
        });
    }
    out
}

/// What the `mcp` profile's rows demand of an operation, written from the rows themselves.
enum Need {
    Nothing,
    Token,
    Scopes(Vec<String>),
    Never,
}

fn need(method: &str, target: Option<&str>, agent: Option<&str>) -> Need {
    match (method, target) {
        ("ping", _) => Need::Nothing,
        (
            ""
            | "initialize"
            | "tools/list"
            | "resources/list"
            | "resources/templates/list"
            | "prompts/list"
            | "completion/complete"
            | "logging/setLevel",
            _,
        ) => Need::Token,
        (m, _) if m.starts_with("notifications/") => Need::Token,
        ("tools/call", Some("run_agent")) => match agent {
            Some(a) => Need::Scopes(vec![format!("agents:{a}:run")]),
            None => Need::Never,
        },
        ("tools/call", Some("shutdown")) => Need::Never,
        ("tools/call", Some(t)) if t.starts_with("search_") => Need::Scopes(vec!["search".into()]),
        ("tools/call", Some(t)) => Need::Scopes(vec![format!("tools:{t}:call")]),
        ("prompts/get", Some(p)) => Need::Scopes(vec![format!("prompts:{p}:get")]),
        ("resources/read", Some(u)) if u.starts_with("file:///docs/") => {
            Need::Scopes(vec!["docs:read".into()])
        }
        _ => Need::Never,
    }
}

/// Whether running `op` ([method, target]) for `token` breaks the rows.
fn forbidden(op: &Value, token: &Token) -> bool {
    let method = op.get(0).and_then(Value::as_str).unwrap_or("");
    let target = op.get(1).and_then(Value::as_str);
    let agent = op.get(2).and_then(Value::as_str);
    match need(method, target, agent) {
        Need::Nothing => false,
        Need::Token => !token.valid,
        Need::Scopes(s) => !token.valid || !s.iter().all(|s| token.scopes.contains(&s.as_str())),
        Need::Never => true,
    }
}

/// A JSON string literal for `s`, plain or with every character `\u`-escaped.
fn lit(s: &str, escaped: bool) -> String {
    if escaped {
        let inner: String = s.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
        format!("\"{inner}\"")
    } else {
        serde_json::to_string(s).expect("string")
    }
}

fn call(method: &str, member: &str, target: &str, id: u32) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":{},"params":{{{}:{},"arguments":{{}}}}}}"#,
        lit(method, false),
        lit(member, false),
        lit(target, false)
    )
}

/// A body, and the method and target a client mirroring it into headers would send.
struct Body {
    text: String,
    mirror: Option<(String, Option<String>)>,
}

fn bodies() -> Vec<Body> {
    let tools = [
        "lookup",
        "delete",
        "run_agent",
        "search_docs",
        "search_",
        "shutdown",
        "Lookup",
        "look up",
        "",
        "lookup\u{0}",
        "dele\u{301}te",
        "tools:lookup:call",
    ];
    let mut out = Vec::new();
    let mirror = |m: &str, t: Option<&str>| Some((m.to_owned(), t.map(str::to_owned)));
    for t in tools {
        out.push(Body {
            text: call("tools/call", "name", t, 1),
            mirror: mirror("tools/call", Some(t)),
        });
        // The same member spelled with escapes, in the key and in the value.
        out.push(Body {
            text: format!(
                r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{{}:{}}}}}"#,
                lit("name", true),
                lit(t, true)
            ),
            mirror: mirror("tools/call", Some(t)),
        });
    }
    // Two spellings of the member the decision reads: the first and the last disagree.
    for (a, b) in [
        ("lookup", "delete"),
        ("delete", "lookup"),
        ("search_x", "shutdown"),
    ] {
        for key in [lit("name", false), lit("name", true)] {
            out.push(Body {
                text: format!(
                    r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"{a}",{key}:"{b}"}}}}"#
                ),
                mirror: mirror("tools/call", Some(a)),
            });
        }
        out.push(Body {
            text: format!(
                r#"{{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{{"name":"{a}"}},"params":{{"name":"{b}"}}}}"#
            ),
            mirror: mirror("tools/call", Some(a)),
        });
        out.push(Body {
            text: format!(
                r#"{{"jsonrpc":"2.0","id":5,"method":"tools/list","method":"tools/call","params":{{"name":"{b}"}}}}"#
            ),
            mirror: mirror("tools/list", None),
        });
        // A batch: each element must pass.
        out.push(Body {
            text: format!(
                "[{},{}]",
                call("tools/call", "name", a, 6),
                call("tools/call", "name", b, 7)
            ),
            mirror: None,
        });
    }
    for (method, member, target) in [
        ("prompts/get", "name", "p"),
        ("prompts/get", "name", "other"),
        ("resources/read", "uri", "file:///docs/a.md"),
        ("resources/read", "uri", "file:///docs/../etc/passwd"),
        ("resources/read", "uri", "file:///etc/passwd"),
        ("resources/read", "uri", "FILE:///docs/a.md"),
        ("resources/read", "name", "file:///docs/a.md"),
        ("tools/call", "uri", "lookup"),
        ("Tools/Call", "name", "lookup"),
        ("tools/call ", "name", "lookup"),
        ("tools\u{2215}call", "name", "lookup"),
    ] {
        out.push(Body {
            text: call(method, member, target, 8),
            mirror: mirror(method, Some(target)),
        });
    }
    for method in [
        "initialize",
        "ping",
        "tools/list",
        "notifications/initialized",
        "logging/setLevel",
        "tasks/list",
        "sampling/createMessage",
        "",
    ] {
        out.push(Body {
            text: format!(
                r#"{{"jsonrpc":"2.0","id":9,"method":{}}}"#,
                lit(method, false)
            ),
            mirror: mirror(method, None),
        });
        out.push(Body {
            text: format!(r#"{{"jsonrpc":"2.0","method":{}}}"#, lit(method, true)),
            mirror: mirror(method, None),
        });
    }
    // A scope that names a call argument: `run_agent` needs `agents:{agent_id}:run`.
    for args in [
        r#"{"agent_id":"a1"}"#,
        r#"{"agent_id":"a2"}"#,
        r#"{"agent\u005fid":"a\u0031"}"#,
        r#"{"agent_id":"a1","agent_id":"a2"}"#,
        r#"{"agent_id":"a2","agent\u005fid":"a1"}"#,
        r#"{"agent_id":1}"#,
        r#"{"agent_id":["a1"]}"#,
        r#"{"agent_id":"{agent_id}"}"#,
        r#"{"agent_id":"a1:run agents:a2"}"#,
        r#"{}"#,
        r#"[]"#,
        r#"{"nested":{"agent_id":"a1"}}"#,
    ] {
        out.push(Body {
            text: format!(
                r#"{{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{{"name":"run_agent","arguments":{args}}}}}"#
            ),
            mirror: mirror("tools/call", Some("run_agent")),
        });
    }
    for raw in [
        r#"{"jsonrpc":"2.0","id":"s","result":{}}"#,
        r#"{"jsonrpc":"2.0","id":"s","error":{"code":1,"message":"x"}}"#,
        r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete"}}]"#,
        r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
        "[]",
        "{}",
        "null",
        "not json",
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup"}} trailing"#,
        "\u{feff}{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["delete"]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["delete"]}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":{"x":"delete"}}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"name":"delete"}}}"#,
        r#"{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"delete"}}"#,
        r#"{"id":1,"method":"tools/call","params":{"name":"delete"}}"#,
        r#"{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{"name":"delete"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup","arguments":{"name":"delete","name":"x"}}}"#,
    ] {
        out.push(Body {
            text: raw.to_owned(),
            mirror: None,
        });
    }
    out
}

/// The header variants of a body: none, the mirror of the body, and a lie.
fn header_variants(body: &Body) -> Vec<Vec<(&'static str, String)>> {
    let mut out = vec![Vec::new()];
    if let Some((method, target)) = &body.mirror {
        // A method a header cannot carry as is is left out (the name is base64-encoded).
        let mut agree = Vec::new();
        if method.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            agree.push(("Mcp-Method", method.clone()));
        }
        if let Some(t) = target {
            let encoded = format!(
                "=?base64?{}?=",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, t)
            );
            agree.push(("Mcp-Name", encoded));
        }
        out.push(agree);
    }
    out.push(vec![
        ("Mcp-Method", "tools/call".into()),
        ("Mcp-Name", "lookup".into()),
    ]);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_differential() {
    let profile = conformance::Profile::named("mcp").expect("mcp profile");
    let auth = profile.auth();
    let control = servers::axum(None).await;
    let control_addr = control.addr;
    let servers = vec![
        servers::axum(Some(auth)).await,
        servers::actix(auth),
        servers::poem(auth).await,
        servers::warp(auth).await,
    ];
    let addrs: Arc<Vec<(&'static str, SocketAddr)>> =
        Arc::new(servers.iter().map(|s| (s.name, s.addr)).collect());
    let tokens = Arc::new(tokens());
    let bodies = bodies();
    let limit = Arc::new(Semaphore::new(16));
    let mut jobs = JoinSet::new();
    let mut cases = 0usize;
    for body in &bodies {
        for headers in header_variants(body) {
            for t in 0..tokens.len() {
                cases += 1;
                let (addrs, tokens, limit) = (addrs.clone(), tokens.clone(), limit.clone());
                let text = body.text.clone();
                let headers = headers.clone();
                jobs.spawn(async move {
                    let _slot = limit.acquire_owned().await.expect("semaphore");
                    let token = &tokens[t];
                    let mut sent: Vec<(&str, &str)> =
                        headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                    if let Some(h) = &token.header {
                        sent.push(("Authorization", h));
                    }
                    sent.push(("Content-Type", "application/json"));
                    let mut answers = Vec::new();
                    for (name, addr) in addrs.iter() {
                        let res = wire::send_with(*addr, "POST", "/mcp", &sent, text.as_bytes()).await;
                        answers.push((*name, res));
                    }
                    let unguarded = wire::send_with(control_addr, "POST", "/mcp", &sent, text.as_bytes())
                        .await
                        .ok()
                        .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok())
                        .and_then(|v| v.get("ran").and_then(Value::as_array).cloned())
                        .is_some_and(|ops| ops.iter().any(|op| forbidden(op, token)));
                    let mut bypasses = Vec::new();
                    for (name, res) in &answers {
                        let Ok(res) = res else { continue };
                        if res.status != 200 {
                            continue;
                        }
                        let ran: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
                        let ops = ran.get("ran").and_then(Value::as_array).cloned().unwrap_or_default();
                        if let Some(op) = ops.iter().find(|op| forbidden(op, token)) {
                            bypasses.push(format!(
                                "BYPASS {name} token={} headers={headers:?} body={text:?}: ran {op}",
                                token.name
                            ));
                        }
                    }
                    let seen = |r: &Result<wire::WireResponse, String>| match r {
                        Ok(r) => format!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
                        Err(e) => format!("failed: {e}"),
                    };
                    let first = seen(&answers[0].1);
                    let disagreement = answers.iter().skip(1).find(|(_, r)| seen(r) != first).map(
                        |(name, r)| {
                            format!(
                                "DISAGREE {name} vs {} token={} headers={headers:?} body={text:?}: {} / {first}",
                                answers[0].0,
                                token.name,
                                seen(r)
                            )
                        },
                    );
                    (bypasses, disagreement, unguarded)
                });
            }
        }
    }
    let (mut bypasses, mut disagreements, mut control_bypasses) = (0, 0, 0);
    while let Some(done) = jobs.join_next().await {
        let (b, d, unguarded) = done.expect("case task");
        control_bypasses += usize::from(unguarded);
        for line in &b {
            println!("{line}");
        }
        bypasses += b.len();
        if let Some(line) = d {
            println!("{line}");
            disagreements += 1;
        }
    }
    for server in servers {
        server.stop().await;
    }
    control.stop().await;
    // The same handler with no layer: the oracle must find it running what tokens may not.
    println!("mcp differential control (no middleware): {control_bypasses} bypasses");
    assert!(
        control_bypasses > cases / 4,
        "the oracle finds no bypass without the middleware"
    );
    println!(
        "mcp differential: {cases} requests, {bypasses} bypasses, {disagreements} disagreements"
    );
    assert_eq!(bypasses, 0, "bypasses");
    assert_eq!(disagreements, 0, "disagreements");
    assert!(cases >= 2000, "only {cases} cases");
}
