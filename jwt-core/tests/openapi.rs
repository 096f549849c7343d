//! The OpenAPI security the route table writes is the security the engine enforces: a utoipa
//! document gets it, an independent validator (Python's `openapi-spec-validator`) accepts the
//! result, and for every protected operation a token holding exactly the documented scopes is
//! let in while a token missing any one of them is refused.
#![cfg(feature = "utoipa")]

use std::time::{SystemTime, UNIX_EPOCH};

use jwt_core::openapi::{MismatchKind, OpenApiSecurity};
use jwt_core::{Algorithm, EncodingKey, JwtAuth, RouteTable, SimpleRequest, StaticKeys, mint};
use serde_json::{Value, json};
use utoipa::OpenApi as _;

const SECRET: &[u8] = b"openapi-test-secret-of-at-least-32-bytes";

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

fn document() -> Value {
    let mut doc = api::Doc::openapi();
    security().apply_to_utoipa(&table(), &mut doc).unwrap();
    serde_json::to_value(&doc).unwrap()
}

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

#[tokio::test]
async fn openapi_every_protected_operation_documents_exactly_the_enforced_scopes() {
    let auth = JwtAuth::builder()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .scopes(table())
        .build()
        .unwrap();
    let doc = document();
    let mut protected = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
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
            let alternatives = op["security"].as_array().unwrap();
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
    assert_eq!(
        protected, 5,
        "every scope of every protected operation was left out once"
    );
}

#[test]
fn openapi_generated_document_passes_an_independent_validator() {
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
    let dir = std::env::temp_dir().join(format!("jwt-core-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, doc) in [("utoipa", document()), ("plain", plain)] {
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
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
