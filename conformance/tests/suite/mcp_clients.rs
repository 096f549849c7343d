//! The official MCP SDK clients (TypeScript `@modelcontextprotocol/sdk` in `test-support/mcp`,
//! Python `mcp` from PyPI) against an MCP server behind each adapter (axum, actix-web, poem,
//! warp behind `jwt_warp::serve`), with tokens from a real OpenID provider
//! (`test-support/oidc`, client_credentials):
//!
//! - with a token for `tools:search:call` the client lists the tools (the server shows only
//!   those the token may call, [`AuthContext::retain_callable_tools`]) and calls `search`;
//! - its call of `delete` is refused with 403 `insufficient_scope` naming
//!   `scope="tools:delete:call"` and the metadata URL;
//! - the client reads that scope from the challenge, obtains a token for it, and `delete` runs.
//!
//! The server is the smallest MCP server over Streamable HTTP (JSON answers, no session): it
//! answers `initialize`, `ping`, `tools/list`, `tools/call`, and notifications with 202.
//! Skipped with a message when Node.js or the Python SDK is missing, except under `CI`.

use std::path::{Path, PathBuf};
use std::process::Command;

use jwt_core::{AuthContext, Jwks, JwtAuth, ProtectedResourceMetadata, RouteTable};
use serde_json::{Value, json};

use crate::differential::app::{Running, Stop};
use crate::oidc_provider::{AUDIENCE, CLIENT_ID, Provider};

/// The provider's client secret for [`CLIENT_ID`].
const CLIENT_SECRET: &str = "agent-secret-0123456789";
/// The tools the server has.
const TOOLS: [&str; 2] = ["search", "delete"];

/// The engine: the provider's keys and issuer, its tokens' audience as the protected resource,
/// an MCP endpoint where each tool needs `tools:<name>:call`.
fn auth(issuer: &str, jwks: &str) -> JwtAuth {
    JwtAuth::builder()
        .verifier(Jwks::from_json(jwks).expect("jwks"))
        .issuer(issuer)
        .protected_resource(ProtectedResourceMetadata::new(AUDIENCE).authorization_server(issuer))
        .scopes(
            RouteTable::builder()
                .mcp("/mcp")
                .route("MCP tools/call {tool}", ["tools:{tool}:call"])
                .build()
                .expect("table"),
        )
        .build()
        .expect("auth")
}

/// The MCP server's answer to one POSTed body: status and JSON (empty for 202).
fn answer(body: &[u8], ctx: Option<&AuthContext>) -> (u16, String) {
    let Ok(message) = serde_json::from_slice::<Value>(body) else {
        return (400, String::new());
    };
    let Some(id) = message.get("id").cloned() else {
        return (202, String::new());
    };
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    let result = match message.get("method").and_then(Value::as_str).unwrap_or("") {
        "initialize" => json!({
            "protocolVersion": params.get("protocolVersion").cloned().unwrap_or(json!("2025-06-18")),
            "capabilities": { "tools": { "listChanged": false } },
            "serverInfo": { "name": "jwt-rbac-test", "version": "0.0.0" },
        }),
        "ping" => json!({}),
        "tools/list" => {
            let mut tools: Vec<&str> = TOOLS.to_vec();
            match ctx {
                Some(ctx) => ctx.retain_callable_tools(&mut tools, |t| t),
                None => tools.clear(),
            }
            let tools: Vec<Value> = tools
                .iter()
                .map(|t| json!({ "name": t, "inputSchema": { "type": "object" } }))
                .collect();
            json!({ "tools": tools })
        }
        "tools/call" => {
            let name = params.get("name").and_then(Value::as_str).unwrap_or("");
            json!({ "content": [{ "type": "text", "text": format!("ran {name}") }], "isError": false })
        }
        _ => {
            let error = json!({ "code": -32601, "message": "Method not found" });
            return (
                200,
                json!({ "jsonrpc": "2.0", "id": id, "error": error }).to_string(),
            );
        }
    };
    (
        200,
        json!({ "jsonrpc": "2.0", "id": id, "result": result }).to_string(),
    )
}

mod servers {
    use super::*;
    use jwt_axum::JwtAuthExt as _;
    use poem::EndpointExt as _;
    use warp::Filter as _;

    async fn spawn_task<F>(
        name: &'static str,
        serve: impl FnOnce(tokio::net::TcpListener, tokio::sync::oneshot::Receiver<()>) -> F,
    ) -> Running
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (signal, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, stopped));
        Running {
            name,
            addr,
            stop: Stop::Task(signal, task),
        }
    }

    pub(super) async fn axum(auth: JwtAuth) -> Running {
        async fn post(
            auth: Option<jwt_axum::Auth>,
            body: axum::body::Bytes,
        ) -> axum::response::Response {
            use axum::response::IntoResponse as _;
            let (status, json) = answer(&body, auth.as_ref().map(|a| &a.0));
            let status = axum::http::StatusCode::from_u16(status).expect("status");
            (status, [("content-type", "application/json")], json).into_response()
        }
        let app = axum::Router::new()
            .route(
                "/mcp",
                axum::routing::post(post)
                    .get(|| async { axum::http::StatusCode::METHOD_NOT_ALLOWED }),
            )
            .layer(auth.layer());
        spawn_task("axum", |listener, stopped| async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("axum server");
        })
        .await
    }

    pub(super) fn actix(issuer: String, jwks: String) -> Running {
        async fn post(
            auth: Option<jwt_actix::Auth>,
            body: actix_web::web::Bytes,
        ) -> actix_web::HttpResponse {
            let (status, json) = answer(&body, auth.as_ref().map(|a| &a.0));
            actix_web::HttpResponse::build(
                actix_web::http::StatusCode::from_u16(status).expect("status"),
            )
            .content_type("application/json")
            .body(json)
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let auth = super::auth(&issuer, &jwks);
                let server = actix_web::HttpServer::new(move || {
                    actix_web::App::new()
                        .wrap(jwt_actix::JwtAuthExt::middleware(&auth))
                        .route("/mcp", actix_web::web::post().to(post))
                        .route(
                            "/mcp",
                            actix_web::web::get().to(|| async {
                                actix_web::HttpResponse::MethodNotAllowed().finish()
                            }),
                        )
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

    pub(super) async fn poem(auth: JwtAuth) -> Running {
        #[poem::handler]
        fn post(auth: Option<jwt_poem::Auth>, body: Vec<u8>) -> poem::Response {
            let (status, json) = answer(&body, auth.as_ref().map(|a| &a.0));
            poem::Response::builder()
                .status(poem::http::StatusCode::from_u16(status).expect("status"))
                .content_type("application/json")
                .body(json)
        }
        #[poem::handler]
        fn get() -> poem::http::StatusCode {
            poem::http::StatusCode::METHOD_NOT_ALLOWED
        }
        let app = poem::Route::new()
            .at("/mcp", poem::post(post).get(get))
            .with(jwt_poem::JwtAuthExt::middleware(&auth));
        spawn_task("poem", |listener, stopped| async move {
            let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).expect("acceptor");
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
        })
        .await
    }

    pub(super) async fn warp(auth: JwtAuth) -> Running {
        let post = warp::post()
            .and(jwt_warp::with_auth(&auth))
            .and(warp::body::bytes())
            .map(|ctx: Option<AuthContext>, body: bytes::Bytes| {
                let (status, json) = answer(&body, ctx.as_ref());
                warp::http::Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(json)
                    .expect("response")
            });
        let get = warp::get().map(|| warp::http::StatusCode::METHOD_NOT_ALLOWED);
        let app = warp::path("mcp")
            .and(warp::path::end())
            .and(
                post.map(warp::Reply::into_response)
                    .or(get.map(warp::Reply::into_response))
                    .unify(),
            )
            .recover(jwt_warp::recover);
        spawn_task("warp-service", |listener, stopped| async move {
            tokio::select! {
                () = jwt_warp::serve(&auth, warp::service(app), listener) => {}
                _ = stopped => {}
            }
        })
        .await
    }
}

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-support/mcp")
}

/// Node and the TypeScript SDK are there (installing it with `npm ci` when missing).
fn ts_sdk_ready() -> bool {
    if !crate::oidc_provider::node_ready() {
        return false;
    }
    let dir = sdk_dir();
    if !dir
        .join("node_modules/@modelcontextprotocol/sdk/package.json")
        .is_file()
    {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "`npm ci` in {} failed",
            dir.display()
        );
    }
    true
}

/// The Python SDK is importable (CI installs it, see `.ci/run`).
fn python_sdk_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import mcp"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "the Python MCP SDK is missing: python3 -m pip install mcp==1.30.0"
        );
        eprintln!("skipped: the Python MCP SDK is missing (python3 -m pip install mcp==1.30.0)");
    }
    ok
}

/// Starts the provider (issuing `tools:*` scopes) and the four servers; runs `client` (a
/// command line before its arguments) against each and checks what it reports.
async fn run_clients(client: &[&str]) {
    let provider = tokio::task::block_in_place(|| {
        Provider::start_with(
            "RS256",
            &[("SCOPES", "tools:search:call tools:delete:call")],
        )
    });
    let Some(provider) = provider else {
        return;
    };
    let issuer = provider.issuer.clone();
    let (_, config) = provider
        .get("/.well-known/openid-configuration")
        .expect("discovery");
    let config: Value = serde_json::from_str(&config).expect("discovery JSON");
    let jwks_uri = config["jwks_uri"].as_str().expect("jwks_uri");
    let (_, jwks) = provider
        .get(jwks_uri.strip_prefix(&issuer).expect("jwks on the issuer"))
        .expect("jwks");
    let token_endpoint = config["token_endpoint"]
        .as_str()
        .expect("token endpoint")
        .to_owned();
    let servers = vec![
        servers::axum(auth(&issuer, &jwks)).await,
        servers::actix(issuer.clone(), jwks.clone()),
        servers::poem(auth(&issuer, &jwks)).await,
        servers::warp(auth(&issuer, &jwks)).await,
    ];
    let mut failures = Vec::new();
    for server in &servers {
        let url = format!("http://{}/mcp", server.addr);
        let mut cmd = Command::new(client[0]);
        cmd.args(&client[1..]).args([
            url.as_str(),
            &token_endpoint,
            CLIENT_ID,
            CLIENT_SECRET,
            AUDIENCE,
            "tools:search:call",
            "search",
            "delete",
        ]);
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("client runs"))
            .await
            .expect("client task");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
        let expected = json!({
            "listed": ["search"],
            "allowed": "ran search",
            "status": 403,
            "scope": "tools:delete:call",
            "afterStepUp": "ran delete",
        });
        let matches = expected
            .as_object()
            .expect("object")
            .iter()
            .all(|(k, v)| report.get(k) == Some(v));
        let challenge = report["challenge"].as_str().unwrap_or_default();
        let metadata =
            "resource_metadata=\"https://api.agentos.test/.well-known/oauth-protected-resource\"";
        if !out.status.success()
            || !matches
            || !challenge.contains("error=\"insufficient_scope\"")
            || !challenge.contains(metadata)
        {
            failures.push(format!(
                "{} via {}: {stdout}\n{}",
                client.join(" "),
                server.name,
                String::from_utf8_lossy(&out.stderr)
            ));
        } else {
            println!("{} via {}: {stdout}", client[client.len() - 1], server.name);
        }
    }
    for server in servers {
        server.stop().await;
    }
    drop(provider);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_typescript_sdk_client_steps_up_on_all_four_adapters() {
    if !ts_sdk_ready() {
        return;
    }
    let script = sdk_dir().join("client.mjs");
    run_clients(&["node", script.to_str().expect("path")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_python_sdk_client_steps_up_on_all_four_adapters() {
    if !python_sdk_ready() {
        return;
    }
    let script = sdk_dir().join("client.py");
    run_clients(&["python3", script.to_str().expect("path")]).await;
}
