//! The official MCP TypeScript SDK (`test-support/mcp`, `@modelcontextprotocol/sdk`) runs its
//! OAuth discovery against an MCP endpoint protected by the axum layer: it reads the 401
//! challenge, fetches the RFC 9728 metadata (validated by the SDK's own schema) and finds the
//! authorization server, a real OpenID provider (`test-support/oidc`).
//!
//! Skipped with a message when Node.js is missing, except under `CI`, where that fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::oidc_provider::Provider;
use axum::Router;
use axum::routing::post;
use jwt_axum::JwtAuthExt as _;
use jwt_core::{JwtAuth, ProtectedResourceMetadata, RouteTable, StaticKeys};
use serde_json::Value;

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-support/mcp")
}

/// Node and the SDK are there (installing the SDK with `npm ci` when missing).
fn sdk_ready() -> bool {
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

/// An MCP endpoint (`POST /mcp`, needing `mcp:tools`) behind the layer, described as the
/// protected resource `http://127.0.0.1:<port>/mcp` whose authorization server is `issuer`.
async fn serve(issuer: &str) -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(b"mcp-test-secret-of-at-least-32-bytes!!").unwrap())
        .scopes(
            RouteTable::builder()
                .route("POST /mcp", ["mcp:tools"])
                .build()
                .unwrap(),
        )
        .protected_resource(
            ProtectedResourceMetadata::new(&resource)
                .authorization_server(issuer)
                .resource_name("jwt-rbac test MCP server"),
        )
        .build()
        .unwrap();
    let app = Router::new()
        .route("/mcp", post(|| async { "{}" }))
        .layer(auth.layer());
    tokio::spawn(async move { axum::serve(listener, app).await });
    resource
}

/// Runs the SDK's discovery against `server` in `mode`; its JSON report.
async fn discover(server: &str, mode: &str) -> Value {
    let dir = sdk_dir();
    let (server, mode) = (server.to_owned(), mode.to_owned());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("discover.mjs"))
            .args([&server, &mode])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the MCP SDK's discovery failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_sdk_follows_the_401_challenge_to_the_authorization_server() {
    if !sdk_ready() {
        return;
    }
    let Some(idp) = Provider::start("RS256") else {
        return;
    };
    let resource = serve(&idp.issuer).await;
    let report = discover(&resource, "challenge").await;
    assert_eq!(report["status"], 401);
    let metadata_url = resource.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    assert_eq!(report["resourceMetadataUrl"], metadata_url.as_str());
    assert!(
        report["challenge"]
            .as_str()
            .unwrap()
            .contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{report}"
    );
    let metadata = &report["metadata"];
    assert_eq!(metadata["resource"], resource.as_str());
    assert_eq!(metadata["authorization_servers"][0], idp.issuer.as_str());
    assert_eq!(
        metadata["scopes_supported"],
        serde_json::json!(["mcp:tools"])
    );
    assert_eq!(
        metadata["bearer_methods_supported"],
        serde_json::json!(["header"])
    );
    assert_eq!(report["authorizationServer"]["issuer"], idp.issuer.as_str());
    assert!(
        report["authorizationServer"]["token_endpoint"]
            .as_str()
            .is_some_and(|t| t.starts_with(&idp.issuer)),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_sdk_finds_the_path_suffixed_metadata_without_a_challenge() {
    if !sdk_ready() {
        return;
    }
    let Some(idp) = Provider::start("RS256") else {
        return;
    };
    let resource = serve(&idp.issuer).await;
    let report = discover(&resource, "well-known").await;
    assert_eq!(report["metadata"]["resource"], resource.as_str());
    assert_eq!(report["authorizationServer"]["issuer"], idp.issuer.as_str());
}

#[tokio::test]
async fn mcp_metadata_is_served_without_a_token_and_cacheable() {
    let resource = serve("https://idp.example.test").await;
    let url = resource.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    let port: u16 = resource
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/mcp")
        .parse()
        .unwrap();
    let (status, headers, body) = get(
        port,
        url.trim_start_matches(&format!("http://127.0.0.1:{port}")),
    )
    .await;
    assert_eq!(status, 200, "{headers}\n{body}");
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("cache-control: public, max-age=3600")
    );
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["resource"], resource.as_str());
    // The root well-known path is not this resource's document: refused like any unlisted path.
    let (status, headers, _) = get(port, "/.well-known/oauth-protected-resource").await;
    assert_eq!(status, 401, "{headers}");
}

/// A raw HTTP/1.1 GET on 127.0.0.1: status, header block, body.
async fn get(port: u16, path: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}
