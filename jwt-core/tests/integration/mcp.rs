//! MCP endpoints through the engine: per-tool scopes from the JSON-RPC body, batches, the
//! challenges MCP clients read (401 and 403 naming every scope, `resource_metadata`), bodies
//! refused with a JSON-RPC error, `Mcp-Method` / `Mcp-Name` agreement, and the endpoint's
//! `GET` / `DELETE`.

use std::time::{SystemTime, UNIX_EPOCH};

use jwt_core::{
    AuthError, AuthErrorKind, JwtAuth, McpRejection, ProtectedResourceMetadata, RequestBody,
    RouteTable, SimpleRequest, StaticKeys, mint,
};
use serde_json::{Value, json};

const SECRET: &[u8] = b"mcp-tests-secret-0123456789abcdef!!";
const RESOURCE: &str = "https://mcp.example.com/mcp";

fn token(scope: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let t = mint::hs256(
        SECRET,
        &json!({"sub": "agent", "exp": exp, "scope": scope, "aud": RESOURCE}),
    )
    .unwrap();
    format!("Bearer {t}")
}

fn auth() -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .protected_resource(
            ProtectedResourceMetadata::new(RESOURCE).authorization_server("https://idp.example"),
        )
        .scopes(
            RouteTable::builder()
                .mcp("/mcp")
                .route("MCP tools/call {tool}", ["tools:{tool}:call"])
                .route("MCP tools/call run_agent", ["agents:run", "agents:read"])
                .exclude("MCP ping")
                .deny("MCP tools/call shutdown")
                .route("MCP resources/read file:///docs/*", ["docs:read"])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn call(name: &str) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {}}})
        .to_string()
}

async fn post(
    auth: &JwtAuth,
    bearer: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Option<Value>, AuthError> {
    let mut req = SimpleRequest::new("POST", "/mcp").body(RequestBody::Bytes(body.as_bytes()));
    if let Some(b) = bearer {
        req = req.header("Authorization", b);
    }
    for (n, v) in headers {
        req = req.header(n, v);
    }
    auth.authenticate(&req)
        .await
        .map(|o| o.into_context().map(|c| c.to_json()))
}

#[tokio::test]
async fn mcp_each_tool_needs_its_own_scope() {
    let auth = auth();
    let search = token("tools:search:call");
    let ok = post(&auth, Some(&search), &[], &call("search"))
        .await
        .unwrap();
    assert_eq!(ok.unwrap()["required_scopes"], json!(["tools:search:call"]));

    let err = post(&auth, Some(&search), &[], &call("delete"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert_eq!(
        err.www_authenticate(),
        format!(
            r#"Bearer realm="api", error="insufficient_scope", scope="tools:delete:call", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#
        )
    );
    // The more specific row wins, and its 403 names every scope it needs at once.
    let err = post(&auth, Some(&token("agents:run")), &[], &call("run_agent"))
        .await
        .unwrap_err();
    assert!(
        err.www_authenticate()
            .contains(r#"scope="agents:run agents:read""#)
    );
    // Denied outright: even a token with every scope.
    let err = post(
        &auth,
        Some(&token("tools:shutdown:call")),
        &[],
        &call("shutdown"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.reason(), "route_denied");
}

#[tokio::test]
async fn mcp_401_names_every_scope_the_operation_needs() {
    let auth = auth();
    let err = post(&auth, None, &[], &call("run_agent"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 401);
    assert_eq!(
        err.www_authenticate(),
        r#"Bearer realm="api", scope="agents:run agents:read", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#
    );
    let expired = mint::hs256(SECRET, &json!({"sub": "a", "exp": 1000, "aud": RESOURCE})).unwrap();
    let err = post(
        &auth,
        Some(&format!("Bearer {expired}")),
        &[],
        &call("search"),
    )
    .await
    .unwrap_err();
    assert!(
        err.www_authenticate()
            .contains(r#"scope="tools:search:call""#)
    );
    // A protocol method needs a valid token and names no scope.
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#;
    let err = post(&auth, None, &[], init).await.unwrap_err();
    assert!(!err.www_authenticate().contains("scope="));
    assert!(post(&auth, Some(&token("")), &[], init).await.is_ok());
    // `ping` is excluded here: no token needed.
    let ping = r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#;
    assert_eq!(post(&auth, None, &[], ping).await.unwrap(), None);
}

#[tokio::test]
async fn mcp_a_batch_passes_only_if_every_message_does() {
    let auth = auth();
    let bearer = token("tools:search:call");
    let ok = format!(
        "[{},{}]",
        call("search"),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
    );
    assert!(post(&auth, Some(&bearer), &[], &ok).await.is_ok());
    let mixed = format!("[{},{}]", call("search"), call("delete"));
    let err = post(&auth, Some(&bearer), &[], &mixed).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &AuthErrorKind::InsufficientScope {
            required: vec!["tools:search:call".into(), "tools:delete:call".into()]
        }
    );
    // An excluded message does not open the batch for the others.
    let ping_and_call = format!(
        "[{},{}]",
        r#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#,
        call("search")
    );
    assert_eq!(
        post(&auth, None, &[], &ping_and_call)
            .await
            .unwrap_err()
            .status(),
        401
    );
    let unlisted = format!(
        "[{},{}]",
        call("search"),
        r#"{"jsonrpc":"2.0","id":3,"method":"tasks/list"}"#
    );
    assert_eq!(
        post(&auth, Some(&token("tools:search:call")), &[], &unlisted)
            .await
            .unwrap_err()
            .reason(),
        "route_denied"
    );
}

#[tokio::test]
async fn mcp_ambiguous_bodies_are_refused_with_a_jsonrpc_error() {
    let auth = auth();
    let bearer = token("tools:search:call tools:name:call");
    let cases: &[(&str, i64)] = &[
        ("not json", -32700),
        ("[]", -32600),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","name":"delete"}}"#,
            -32600,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}"#,
            -32602,
        ),
        (
            r#"{"id":1,"method":"tools/call","params":{"name":"search"}}"#,
            -32600,
        ),
    ];
    for (body, code) in cases {
        // Refused before the token is even looked at: with one, without one.
        for bearer in [Some(bearer.as_str()), None] {
            let err = post(&auth, bearer, &[], body).await.unwrap_err();
            assert_eq!(err.status(), 400, "{body}");
            let answer: Value = serde_json::from_str(&err.body()).unwrap();
            assert_eq!(answer["jsonrpc"], "2.0");
            assert_eq!(answer["error"]["code"], *code, "{body}");
        }
    }
    // An escaped name is the name JSON reads.
    let escaped = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"na\u006de"}}"#;
    let ctx = post(&auth, Some(&bearer), &[], escaped)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ctx["required_scopes"], json!(["tools:name:call"]));

    let big = SimpleRequest::new("POST", "/mcp")
        .header("Authorization", &bearer)
        .body(RequestBody::TooLarge);
    let err = auth.authenticate(&big).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &AuthErrorKind::InvalidMcpMessage {
            why: McpRejection::TooLarge,
            id: None
        }
    );
    // An adapter that did not read the body: its bug, answered 500, never let through.
    let unread = SimpleRequest::new("POST", "/mcp").header("Authorization", &bearer);
    assert_eq!(auth.authenticate(&unread).await.unwrap_err().status(), 500);
}

#[tokio::test]
async fn mcp_headers_must_agree_with_the_body() {
    let auth = auth();
    let bearer = token("tools:search:call");
    let agree = [("Mcp-Method", "tools/call"), ("Mcp-Name", "search")];
    assert!(
        post(&auth, Some(&bearer), &agree, &call("search"))
            .await
            .is_ok()
    );
    let lie = [("Mcp-Method", "tools/call"), ("Mcp-Name", "search")];
    let err = post(&auth, Some(&bearer), &lie, &call("delete"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(
        err.body(),
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32020,"message":"Invalid MCP message: the Mcp-Method or Mcp-Name header does not match the body"}}"#
    );
    let err = post(
        &auth,
        None,
        &[("Mcp-Method", "tools/list")],
        &call("search"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.reason(), "mcp_header_mismatch");
}

#[tokio::test]
async fn mcp_endpoint_stream_and_session_end_need_a_token() {
    let auth = auth();
    for method in ["GET", "DELETE"] {
        let err = auth
            .authenticate(&SimpleRequest::new(method, "/mcp"))
            .await
            .unwrap_err();
        assert_eq!(err.status(), 401);
        let bearer = token("");
        let req = SimpleRequest::new(method, "/mcp").header("Authorization", &bearer);
        assert!(auth.authenticate(&req).await.is_ok());
    }
    assert_eq!(
        auth.body_limit(&SimpleRequest::new("POST", "/mcp/")),
        Some(1 << 20)
    );
    // The metadata answers whatever protocol version an older client names.
    let meta = SimpleRequest::new("GET", "/.well-known/oauth-protected-resource/mcp")
        .header("MCP-Protocol-Version", "2024-11-05");
    assert!(matches!(
        auth.authenticate(&meta).await,
        Ok(jwt_core::Outcome::ResourceMetadata(_))
    ));
}

#[tokio::test]
async fn mcp_context_answers_what_the_token_may_call() {
    let auth = auth();
    let bearer = token("tools:search:call docs:read");
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let req = SimpleRequest::new("POST", "/mcp")
        .header("Authorization", &bearer)
        .body(RequestBody::Bytes(list.as_bytes()));
    let ctx = auth
        .authenticate(&req)
        .await
        .unwrap()
        .into_context()
        .unwrap();
    let mut tools = vec!["search", "delete", "run_agent", "shutdown"];
    ctx.retain_callable_tools(&mut tools, |t| t);
    assert_eq!(tools, ["search"]);
    assert!(ctx.may_read_resource("file:///docs/a/b.md"));
    assert!(!ctx.may_read_resource("file:///etc/passwd"));
    assert!(!ctx.may_get_prompt("any"));
}

#[test]
fn mcp_rows_need_an_endpoint_and_the_endpoint_is_not_a_route() {
    let err = RouteTable::builder()
        .route("MCP tools/call x", ["x"])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains(".mcp("), "{err}");
    let err = RouteTable::builder()
        .mcp("/mcp")
        .route("POST /mcp", ["x"])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("MCP endpoint"), "{err}");
}
