//! The OpenAPI security the route table writes is the security the engine enforces: a utoipa
//! document and an aide one get it, an independent validator (Python's `openapi-spec-validator`)
//! accepts the result, and for every protected operation a token holding exactly the documented
//! scopes is let in while a token missing any one of them is refused.
#![cfg(any(feature = "utoipa", feature = "aide"))]

use std::time::{SystemTime, UNIX_EPOCH};

use jwt_core::openapi::{MismatchKind, OpenApiSecurity};
use jwt_core::{Algorithm, EncodingKey, JwtAuth, RouteTable, SimpleRequest, StaticKeys, mint};
use serde_json::{Value, json};
#[cfg(feature = "utoipa")]
use utoipa::OpenApi as _;

const SECRET: &[u8] = b"openapi-test-secret-of-at-least-32-bytes";

#[cfg(feature = "utoipa")]
#[allow(dead_code)]
mod api {
    #[utoipa::path(get, path = "/agents", responses((status = 200, description = "The agents")))]
    pub(crate) fn list_agents() {}

    #[utoipa::path(
        get,
        path = "/agents/{agent_id}",
        params(("agent_id" = String, Path, description = "The agent")),
        responses((status = 200, description = "One agent"))
    )]
    pub(crate) fn get_agent() {}

    #[utoipa::path(
        post,
        path = "/agents/{agent_id}/runs",
        params(("agent_id" = String, Path, description = "The agent")),
        responses((status = 200, description = "A run"))
    )]
    pub(crate) fn run_agent() {}

    #[utoipa::path(
        delete,
        path = "/sessions/{session_id}",
        params(("session_id" = String, Path, description = "The session")),
        responses((status = 204, description = "Deleted"))
    )]
    pub(crate) fn delete_session() {}

    #[utoipa::path(get, path = "/me", responses((status = 200, description = "The caller")))]
    pub(crate) fn me() {}

    #[utoipa::path(get, path = "/feed", responses((status = 200, description = "Public or personal")))]
    pub(crate) fn feed() {}

    #[utoipa::path(get, path = "/health", responses((status = 200, description = "Up")))]
    pub(crate) fn health() {}

    #[derive(utoipa::OpenApi)]
    #[openapi(
        info(title = "agents", version = "1.0.0"),
        paths(list_agents, get_agent, run_agent, delete_session, me, feed, health)
    )]
    pub(crate) struct Doc;
}

fn table() -> RouteTable {
    RouteTable::builder()
        .route("GET /agents", ["agents:read"])
        .route("GET /agents/{agent_id}", ["agents:{agent_id}:read"])
        .route(
            "POST /agents/{agent_id}/runs",
            ["agents:{agent_id}:run", "runs:write"],
        )
        .route(
            "DELETE /sessions/{session_id}",
            ["sessions:{session_id}:delete"],
        )
        .authenticated("GET /me")
        .optional("GET /feed")
        .exclude("GET /health")
        .build()
        .unwrap()
}

fn security() -> OpenApiSecurity {
    OpenApiSecurity::bearer().oauth2_authorization_code(
        "https://idp.example.test/authorize",
        "https://idp.example.test/token",
    )
}

#[cfg(feature = "utoipa")]
fn document() -> Value {
    let mut doc = api::Doc::openapi();
    security().apply_to_utoipa(&table(), &mut doc).unwrap();
    serde_json::to_value(&doc).unwrap()
}

#[cfg(feature = "utoipa")]
#[test]
fn openapi_utoipa_document_carries_the_tables_security() {
    let doc = document();
    let sec = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(
        sec("/agents/{agent_id}/runs", "post"),
        json!([
            {"bearerAuth": ["agents:{agent_id}:run", "runs:write"]},
            {"oauth2": ["agents:{agent_id}:run", "runs:write"]}
        ])
    );
    assert_eq!(sec("/health", "get"), json!([]));
    assert_eq!(
        sec("/me", "get"),
        json!([{"bearerAuth": []}, {"oauth2": []}])
    );
    assert_eq!(
        sec("/feed", "get"),
        json!([{}, {"bearerAuth": []}, {"oauth2": []}])
    );
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["bearerFormat"], "JWT");
    assert!(
        schemes["oauth2"]["flows"]["authorizationCode"]["scopes"]
            .get("agents:read")
            .is_some()
    );
    assert!(security().check(&table(), &doc).is_empty());
}

#[cfg(feature = "utoipa")]
#[test]
fn openapi_check_flags_what_the_table_does_not_enforce() {
    let mut doc = api::Doc::openapi();
    let raw = serde_json::to_value(&doc).unwrap();
    let undocumented = security().check(&table(), &raw);
    assert_eq!(undocumented.len(), 7, "{undocumented:?}");
    assert!(
        undocumented
            .iter()
            .all(|m| m.kind == MismatchKind::Undocumented)
    );

    security().apply_to_utoipa(&table(), &mut doc).unwrap();
    let mut wrong = serde_json::to_value(&doc).unwrap();
    wrong["paths"]["/agents"]["get"]["security"] = json!([{"bearerAuth": ["agents:write"]}]);
    let found = security().check(&table(), &wrong);
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].method.as_str(), found[0].path.as_str()),
        ("GET", "/agents")
    );
    assert_eq!(found[0].kind, MismatchKind::Differs);

    // An operation the (fail-closed) table does not list is flagged, whatever it documents.
    let stricter = RouteTable::builder()
        .route("GET /agents", ["agents:read"])
        .build()
        .unwrap();
    let denied = security().check(&stricter, &serde_json::to_value(&doc).unwrap());
    assert!(
        denied
            .iter()
            .any(|m| m.path == "/health" && m.kind == MismatchKind::Denied)
    );
}

fn token(scopes: &[String]) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = json!({"sub": "u1", "exp": exp, "scopes": scopes});
    mint::sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET),
        None,
        None,
        &claims,
    )
    .unwrap()
}

async fn status(auth: &JwtAuth, method: &str, path: &str, token: Option<&str>) -> u16 {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut req = SimpleRequest::new(method, path);
    if let Some(b) = &bearer {
        req = req.header("Authorization", b);
    }
    match auth.authenticate(&req).await {
        Ok(_) => 200,
        Err(e) => e.status(),
    }
}

#[cfg(feature = "utoipa")]
#[tokio::test]
async fn openapi_every_protected_operation_documents_exactly_the_enforced_scopes() {
    assert_eq!(
        documented_scopes_are_enforced(&document()).await,
        5,
        "every scope of every protected operation was left out once"
    );
}

/// For every operation of `doc`: without a token it is let in exactly when its security allows
/// no authentication; with a token holding exactly the documented scopes it is let in, and with
/// one missing any of them it is refused. An operation without `security` has the document's,
/// else none (aide leaves an empty list out). Returns how many scopes were left out in all.
async fn documented_scopes_are_enforced(doc: &Value) -> usize {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .scopes(table())
        .build()
        .unwrap();
    let none = json!([]);
    let mut protected = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            // Fill each `{param}` with a value, in the path and in the documented scopes.
            let fill = |s: &str| {
                let mut out = s.to_owned();
                for p in ["agent_id", "session_id"] {
                    out = out.replace(&format!("{{{p}}}"), &format!("{p}-7"));
                }
                out
            };
            let path = fill(template);
            let method = method.to_ascii_uppercase();
            let alternatives = op
                .get("security")
                .or(doc.get("security"))
                .unwrap_or(&none)
                .as_array()
                .unwrap();
            if alternatives.is_empty() {
                assert_eq!(
                    status(&auth, &method, &path, None).await,
                    200,
                    "{method} {path}"
                );
                continue;
            }
            if alternatives
                .iter()
                .any(|a| a.as_object().unwrap().is_empty())
            {
                assert_eq!(
                    status(&auth, &method, &path, None).await,
                    200,
                    "{method} {path}"
                );
            } else {
                assert_eq!(
                    status(&auth, &method, &path, None).await,
                    401,
                    "{method} {path}"
                );
            }
            let documented: Vec<String> = alternatives
                .iter()
                .find_map(|a| a.get("bearerAuth"))
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .map(|s| fill(s.as_str().unwrap()))
                .collect();
            let exact = token(&documented);
            assert_eq!(
                status(&auth, &method, &path, Some(&exact)).await,
                200,
                "{method} {path} with {documented:?}"
            );
            for left_out in 0..documented.len() {
                protected += 1;
                let mut fewer = documented.clone();
                fewer.remove(left_out);
                assert_eq!(
                    status(&auth, &method, &path, Some(&token(&fewer))).await,
                    403,
                    "{method} {path} without {}",
                    documented[left_out]
                );
            }
        }
    }
    protected
}

#[cfg(feature = "utoipa")]
#[test]
fn openapi_generated_document_passes_an_independent_validator() {
    // The utoipa document, and a plain JSON one through `apply` with the cookie, the
    // client-credentials flow and an operation the table refuses.
    let mut plain = json!({
        "openapi": "3.1.0",
        "info": {"title": "plain", "version": "1"},
        "paths": {
            "/agents": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/admin": {"delete": {"responses": {"204": {"description": "gone"}}}}
        }
    });
    OpenApiSecurity::bearer()
        .cookie("access_token")
        .oauth2_client_credentials("https://idp.example.test/token")
        .apply(&table(), &mut plain);
    assert_eq!(plain["paths"]["/admin"]["delete"]["x-jwt-access"], "denied");
    validate(&[("utoipa", document()), ("plain", plain)]);
}

/// Python's `openapi-spec-validator` accepts each `(name, document)`. Without it the check is
/// skipped, except in CI (`CI` set), where it fails.
fn validate(documents: &[(&str, Value)]) {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = std::process::Command::new(&python)
        .args(["-c", "import openapi_spec_validator"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        let why = format!(
            "{python} with openapi-spec-validator is needed (pip install openapi-spec-validator)"
        );
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipped: {why}");
        return;
    }
    // One directory per call: the tests calling this run in parallel.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("jwt-core-openapi-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, doc) in documents {
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
        let out = std::process::Command::new(&python)
            .args(["-m", "openapi_spec_validator"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "validator refused the {name} document:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same API as [`api`], built with aide's axum router: the operations and their path
/// parameters come from the handlers, as in an aide application.
#[cfg(feature = "aide")]
mod aide_api {
    use aide::axum::ApiRouter;
    use aide::axum::routing::{delete, get, post};
    use axum::extract::Path;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    pub(crate) struct AgentPath {
        /// The agent.
        agent_id: String,
    }

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    pub(crate) struct SessionPath {
        /// The session.
        session_id: String,
    }

    async fn list_agents() -> &'static str {
        "agents"
    }

    async fn get_agent(Path(p): Path<AgentPath>) -> String {
        p.agent_id
    }

    async fn run_agent(Path(p): Path<AgentPath>) -> String {
        p.agent_id
    }

    async fn delete_session(Path(p): Path<SessionPath>) -> String {
        p.session_id
    }

    async fn me() -> &'static str {
        "me"
    }

    async fn feed() -> &'static str {
        "feed"
    }

    async fn health() -> &'static str {
        "up"
    }

    /// The router's operations; `GET /metrics` is an axum route aide does not document.
    pub(crate) fn router() -> ApiRouter {
        ApiRouter::new()
            .api_route("/agents", get(list_agents))
            .api_route("/agents/{agent_id}", get(get_agent))
            .api_route("/agents/{agent_id}/runs", post(run_agent))
            .api_route("/sessions/{session_id}", delete(delete_session))
            .api_route("/me", get(me))
            .api_route("/feed", get(feed))
            .api_route("/health", get(health))
            .route("/metrics", axum::routing::get(|| async { "" }))
    }

    /// The router's document without any security.
    pub(crate) fn bare() -> aide::openapi::OpenApi {
        let mut api = aide::openapi::OpenApi {
            info: aide::openapi::Info {
                title: "agents".to_owned(),
                version: "1.0.0".to_owned(),
                ..Default::default()
            },
            ..Default::default()
        };
        let _app: axum::Router = router().finish_api(&mut api);
        api
    }
}

/// The aide document with `security` applied through `ApiRouter::finish_api_with`.
#[cfg(feature = "aide")]
fn aide_document(security: &OpenApiSecurity) -> aide::openapi::OpenApi {
    let mut api = aide::openapi::OpenApi {
        info: aide::openapi::Info {
            title: "agents".to_owned(),
            version: "1.0.0".to_owned(),
            ..Default::default()
        },
        ..Default::default()
    };
    let table = table();
    let _app: axum::Router =
        aide_api::router().finish_api_with(&mut api, security.aide_transform(&table));
    api
}

#[cfg(feature = "aide")]
#[test]
fn openapi_aide_router_document_carries_the_tables_security() {
    let api = aide_document(&security());
    assert!(security().check_aide(&table(), &api).is_empty());
    let doc = serde_json::to_value(&api).unwrap();
    let sec = |path: &str, method: &str| doc["paths"][path][method].get("security").cloned();
    assert_eq!(
        sec("/agents/{agent_id}/runs", "post"),
        Some(json!([
            {"bearerAuth": ["agents:{agent_id}:run", "runs:write"]},
            {"oauth2": ["agents:{agent_id}:run", "runs:write"]}
        ]))
    );
    assert_eq!(
        sec("/agents/{agent_id}", "get"),
        Some(json!([
            {"bearerAuth": ["agents:{agent_id}:read"]},
            {"oauth2": ["agents:{agent_id}:read"]}
        ]))
    );
    assert_eq!(
        sec("/sessions/{session_id}", "delete"),
        Some(json!([
            {"bearerAuth": ["sessions:{session_id}:delete"]},
            {"oauth2": ["sessions:{session_id}:delete"]}
        ]))
    );
    assert_eq!(
        sec("/me", "get"),
        Some(json!([{"bearerAuth": []}, {"oauth2": []}]))
    );
    assert_eq!(
        sec("/feed", "get"),
        Some(json!([{}, {"bearerAuth": []}, {"oauth2": []}]))
    );
    // Excluded: aide leaves an empty `security` out, and there is no document-wide one.
    assert_eq!(sec("/health", "get"), None);
    assert!(doc.get("security").is_none());
    assert!(doc["paths"].get("/metrics").is_none());
    // The path parameter is documented, from the handler's `Path<AgentPath>`.
    assert_eq!(
        doc["paths"]["/agents/{agent_id}"]["get"]["parameters"][0]["name"],
        "agent_id"
    );
    // The JSON `check` (for documents that can write `[]`) sees the excluded operation as
    // undocumented, and nothing else.
    let json_check: Vec<_> = security()
        .check(&table(), &doc)
        .into_iter()
        .map(|m| (m.path, m.kind, m.enforced))
        .collect();
    assert_eq!(
        json_check,
        [("/health".to_owned(), MismatchKind::Undocumented, json!([]))]
    );
}

#[cfg(feature = "aide")]
#[test]
fn openapi_aide_check_flags_a_tampered_operation() {
    // Before: every operation that needs a token is undocumented; the excluded one is fine.
    let bare = aide_api::bare();
    let before = security().check_aide(&table(), &bare);
    assert_eq!(before.len(), 6, "{before:?}");
    assert!(before.iter().all(|m| m.kind == MismatchKind::Undocumented));
    assert!(before.iter().all(|m| m.path != "/health"));

    let mut api = aide_document(&security());
    assert!(security().check_aide(&table(), &api).is_empty());
    fn op<'a>(api: &'a mut aide::openapi::OpenApi, path: &str) -> &'a mut aide::openapi::Operation {
        match api.paths.as_mut().unwrap().paths.get_mut(path).unwrap() {
            aide::openapi::ReferenceOr::Item(item) => {
                item.get.as_mut().or(item.post.as_mut()).unwrap()
            }
            aide::openapi::ReferenceOr::Reference { .. } => unreachable!(),
        }
    }
    // A scope edited by hand.
    op(&mut api, "/agents").security = vec![
        [("bearerAuth".to_owned(), vec!["agents:write".to_owned()])]
            .into_iter()
            .collect(),
    ];
    // The requirement dropped from an operation that needs a token.
    op(&mut api, "/me").security.clear();
    let found: Vec<_> = security()
        .check_aide(&table(), &api)
        .into_iter()
        .map(|m| (m.method, m.path, m.kind))
        .collect();
    assert_eq!(
        found,
        [
            (
                "GET".to_owned(),
                "/agents".to_owned(),
                MismatchKind::Differs
            ),
            (
                "GET".to_owned(),
                "/me".to_owned(),
                MismatchKind::Undocumented
            ),
        ]
    );
    let shown = security().check_aide(&table(), &api)[0].to_string();
    assert!(shown.contains("agents:write"), "{shown}");

    // A document-wide requirement: the excluded operation inherits it (aide cannot write its
    // `[]`), so it is flagged; applying again removes it.
    let mut api = aide_document(&security());
    api.security = vec![
        [("bearerAuth".to_owned(), Vec::new())]
            .into_iter()
            .collect(),
    ];
    let found = security().check_aide(&table(), &api);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].path.as_str(), found[0].kind),
        ("/health", MismatchKind::Differs)
    );
    security().apply_to_aide(&table(), &mut api);
    assert!(api.security.is_empty());
    assert!(security().check_aide(&table(), &api).is_empty());

    // An operation the (fail-closed) table does not list: flagged, and marked when applied.
    let stricter = RouteTable::builder()
        .route("GET /agents", ["agents:read"])
        .build()
        .unwrap();
    let denied = security().check_aide(&stricter, &api);
    assert!(
        denied
            .iter()
            .any(|m| m.path == "/health" && m.kind == MismatchKind::Denied)
    );
    security().apply_to_aide(&stricter, &mut api);
    assert_eq!(op(&mut api, "/health").extensions["x-jwt-access"], "denied");
}

/// The schemes and requirements aide serializes are what `apply` writes into the same document
/// as JSON: nothing is lost in aide's types (utoipa's JSON form of OAuth2 flows lost
/// `tokenUrl`), for both flows and the cookie. Two differences, both from aide's serde: the
/// excluded operation's `security: []`, which aide leaves out, and `refreshUrl`, which aide
/// writes as `null` when missing, so `apply_to_aide` sets it to the token URL. A JSON round
/// trip through aide's types shows both, which is why `apply_to_aide` works on aide's types.
#[cfg(feature = "aide")]
#[test]
fn openapi_aide_keeps_every_scheme_field() {
    for security in [
        security(),
        OpenApiSecurity::bearer()
            .cookie("access_token")
            .oauth2_client_credentials("https://idp.example.test/token"),
    ] {
        let mut reference = serde_json::to_value(aide_api::bare()).unwrap();
        security.apply(&table(), &mut reference);
        let doc = serde_json::to_value(aide_document(&security)).unwrap();
        let flow_of = |doc: &Value| -> Value {
            let flows = &doc["components"]["securitySchemes"]["oauth2"]["flows"];
            flows
                .get("authorizationCode")
                .or(flows.get("clientCredentials"))
                .unwrap()
                .clone()
        };
        let flow = flow_of(&doc);
        assert_eq!(flow["tokenUrl"], "https://idp.example.test/token");
        assert_eq!(flow["refreshUrl"], flow["tokenUrl"]);
        assert!(flow["scopes"].get("runs:write").is_some(), "{flow}");
        if let Some(url) = flow.get("authorizationUrl") {
            assert_eq!(url, "https://idp.example.test/authorize");
        }

        // Equal to the JSON `apply`, but for the two differences.
        let mut expected = reference.clone();
        expected["paths"]["/health"]["get"]
            .as_object_mut()
            .unwrap()
            .remove("security");
        let flows = expected["components"]["securitySchemes"]["oauth2"]["flows"]
            .as_object_mut()
            .unwrap();
        for flow in flows.values_mut() {
            flow["refreshUrl"] = flow["tokenUrl"].clone();
        }
        assert_eq!(doc, expected);

        // The JSON round trip through aide's types (from text: aide's `openapi` version field
        // does not deserialize from a `serde_json::Value`): the `[]` is gone, and
        // `refreshUrl: null` (refused by OpenAPI validators) appears.
        assert!(serde_json::from_value::<aide::openapi::OpenApi>(reference.clone()).is_err());
        let round_trip: aide::openapi::OpenApi =
            serde_json::from_str(&reference.to_string()).unwrap();
        let round_trip = serde_json::to_value(&round_trip).unwrap();
        assert_eq!(reference["paths"]["/health"]["get"]["security"], json!([]));
        assert!(
            round_trip["paths"]["/health"]["get"]
                .get("security")
                .is_none()
        );
        assert!(flow_of(&reference).get("refreshUrl").is_none());
        assert!(!flow_of(&round_trip)["refreshUrl"].is_string());
    }
}

#[cfg(feature = "aide")]
#[tokio::test]
async fn openapi_aide_every_protected_operation_documents_exactly_the_enforced_scopes() {
    let doc = serde_json::to_value(aide_document(&security())).unwrap();
    assert_eq!(documented_scopes_are_enforced(&doc).await, 5);
}

#[cfg(feature = "aide")]
#[test]
fn openapi_aide_document_passes_an_independent_validator() {
    let cookie = OpenApiSecurity::bearer()
        .cookie("access_token")
        .oauth2_client_credentials("https://idp.example.test/token");
    let mut denied = aide_api::bare();
    let stricter = RouteTable::builder()
        .route("GET /agents", ["agents:read"])
        .exclude("GET /health")
        .build()
        .unwrap();
    cookie.apply_to_aide(&stricter, &mut denied);
    let denied = serde_json::to_value(denied).unwrap();
    assert_eq!(denied["paths"]["/me"]["get"]["x-jwt-access"], "denied");
    validate(&[
        (
            "aide",
            serde_json::to_value(aide_document(&security())).unwrap(),
        ),
        (
            "aide-cookie",
            serde_json::to_value(aide_document(&cookie)).unwrap(),
        ),
        ("aide-denied", denied),
    ]);
}
