//! End to end through the axum adapter (tower `oneshot`) with access tokens from a real OpenID
//! provider (panva/oidc-provider, `test-support/oidc`), keys found by discovery: RS256, ES256 and
//! EdDSA, RFC 9068 `at+jwt`, `scope` as a space-delimited string, AgentOS routes.
//!
//! Skipped with a message when Node.js is missing, except under `CI`, where that fails.

use crate::oidc_provider::{AUDIENCE, CLIENT_ID, Provider};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{delete, get};
use jwt_axum::{Auth, JwtAuthExt as _};
use jwt_core::{JwtAuth, RemoteJwks, RouteTable, StandardClaims, Validation};
use tower::ServiceExt as _;

async fn whoami(Auth(ctx): Auth) -> String {
    format!(
        "{} {} {}",
        ctx.user_id().unwrap_or("?"),
        ctx.claims()["iss"].as_str().unwrap_or("?"),
        ctx.scopes().join(",")
    )
}

fn app(keys: RemoteJwks) -> Router {
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(keys)
        .validation(Validation::default().audience([AUDIENCE]).rfc9068(true))
        .claims(StandardClaims::default().scope_claims(["scope"]))
        .scopes(RouteTable::agent_os().build().unwrap())
        .build()
        .unwrap();
    Router::new()
        .route("/agents", get(whoami))
        .route("/agents/{id}", delete(whoami))
        .layer(auth.layer())
}

struct Answer {
    status: StatusCode,
    www_authenticate: Option<String>,
    body: String,
}

async fn send(app: &Router, method: &str, path: &str, token: Option<&str>) -> Answer {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let www_authenticate = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        www_authenticate,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

#[tokio::test]
async fn oidc_axum_end_to_end_rs256_es256_eddsa() {
    let mut providers = Vec::new();
    for alg in ["RS256", "ES256", "EdDSA"] {
        let Some(p) = Provider::start(alg) else {
            return;
        };
        providers.push(p);
    }
    for p in &providers {
        let app = app(RemoteJwks::discover(&p.issuer).unwrap());
        let token = p.token();

        let ok = send(&app, "GET", "/agents", Some(&token)).await;
        assert_eq!(ok.status, StatusCode::OK, "{}: {}", p.alg, ok.body);
        assert_eq!(
            ok.body,
            format!("{CLIENT_ID} {} agents:read,agents:write", p.issuer)
        );

        // Valid token, missing scope: 403 with the scope in WWW-Authenticate.
        let denied = send(&app, "DELETE", "/agents/a1", Some(&token)).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        assert_eq!(
            denied.www_authenticate.as_deref(),
            Some(r#"Bearer realm="api", error="insufficient_scope", scope="agents:a1:delete""#)
        );

        // No token, and a token of this provider with its signature broken: 401.
        let missing = send(&app, "GET", "/agents", None).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        let (head, sig) = token.rsplit_once('.').unwrap();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        let broken = format!("{head}.{flipped}{}", &sig[1..]);
        let refused = send(&app, "GET", "/agents", Some(&broken)).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.www_authenticate.unwrap().contains("invalid_token"));
    }
}

#[tokio::test]
async fn oidc_axum_provider_unreachable_before_first_fetch_is_503() {
    let Some(p) = Provider::start("ES256") else {
        return;
    };
    let token = p.token();
    let issuer = p.issuer.clone();
    drop(p); // the provider is gone before the service ever fetched its keys
    let keys = RemoteJwks::discovery_builder(&issuer)
        .connect_timeout(std::time::Duration::from_millis(500))
        .build()
        .unwrap();
    let app = app(keys);
    let answer = send(&app, "GET", "/agents", Some(&token)).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.www_authenticate, None);
    assert_eq!(
        answer.body,
        r#"{"detail":"Authentication is temporarily unavailable"}"#
    );
}
