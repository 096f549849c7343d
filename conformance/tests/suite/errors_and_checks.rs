//! Error rendering hooks and per-request checks through all four adapters (in-process, the same
//! harnesses as the case suite): a custom renderer changes the body and its media type but never
//! the status or the challenge, and a revoked token is refused on the very next request even
//! though the first one put it in the validated-token cache.

use crate::harness::on_every_adapter;
use conformance::{HS_SECRET, HttpRequest, Profile};
use jwt_core::{
    AuthErrorKind, JtiDenylist, JwtAuth, ProblemJson, RenderedBody, RouteTable, StaticKeys, mint,
};
use serde_json::{Value, json};

fn request(path: &str, token: Option<&str>) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        uri: path.into(),
        headers: token
            .map(|t| vec![("Authorization".to_owned(), format!("Bearer {t}"))])
            .unwrap_or_default(),
        mount: None,
        layers: 1,
        body: Vec::new(),
    }
}

fn token(claims: Value) -> String {
    mint::hs256(HS_SECRET, &claims).expect("mint")
}

fn exp() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 600
}

fn builder() -> jwt_core::JwtAuthBuilder {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(HS_SECRET).expect("secret"))
        .scopes(
            RouteTable::builder()
                .route("GET /orders", ["orders:read"])
                .build()
                .expect("table"),
        )
}

#[tokio::test]
async fn problem_json_keeps_status_and_challenge_on_every_adapter() {
    let auth = builder()
        .error_renderer(ProblemJson::new())
        .build()
        .expect("auth");
    let profile = Profile::custom("problem-json", auth);
    let denied = token(json!({"sub": "alice", "exp": exp(), "scopes": ["orders:write"]}));
    for (adapter, res) in on_every_adapter(&profile, || request("/orders", None)).await {
        assert_eq!(res.status, 401, "{adapter}");
        assert_eq!(
            res.content_type.as_deref(),
            Some("application/problem+json"),
            "{adapter}"
        );
        assert_eq!(
            res.www_authenticate.as_deref(),
            Some(r#"Bearer realm="api""#),
            "{adapter}"
        );
        let body: Value = serde_json::from_slice(&res.body).expect("json body");
        assert_eq!(
            (body["status"].as_u64(), body["reason"].as_str()),
            (Some(401), Some("missing_token")),
            "{adapter}"
        );
        assert_eq!(body["title"], "Unauthorized", "{adapter}");
    }
    for (adapter, res) in on_every_adapter(&profile, || request("/orders", Some(&denied))).await {
        assert_eq!(res.status, 403, "{adapter}");
        assert_eq!(
            res.content_type.as_deref(),
            Some("application/problem+json"),
            "{adapter}"
        );
        assert_eq!(
            res.www_authenticate.as_deref(),
            Some(r#"Bearer realm="api", error="insufficient_scope", scope="orders:read""#),
            "{adapter}"
        );
        let body: Value = serde_json::from_slice(&res.body).expect("json body");
        assert_eq!(body["code"], "insufficient_scope", "{adapter}");
        assert_eq!(
            body["detail"], "Insufficient permissions. Required scope(s): orders:read",
            "{adapter}"
        );
    }
}

#[tokio::test]
async fn a_closure_renders_its_own_body_on_every_adapter() {
    let auth = builder()
        .render_errors_with(|err| {
            let kind = matches!(err.kind(), AuthErrorKind::MissingToken(_));
            RenderedBody::new(
                "text/plain; charset=utf-8",
                format!("denied: {} {kind}", err.reason()),
            )
        })
        .build()
        .expect("auth");
    let profile = Profile::custom("closure", auth);
    for (adapter, res) in on_every_adapter(&profile, || request("/orders", None)).await {
        assert_eq!(res.status, 401, "{adapter}");
        assert_eq!(
            res.content_type.as_deref(),
            Some("text/plain; charset=utf-8"),
            "{adapter}"
        );
        assert_eq!(res.body, b"denied: missing_token true", "{adapter}");
        assert!(res.www_authenticate.is_some(), "{adapter}");
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused_on_the_next_request_even_when_cached() {
    let deny = JtiDenylist::new();
    let auth = builder().check(deny.clone()).build().expect("auth");
    let profile = Profile::custom("revocation", auth.clone());
    let good =
        token(json!({"sub": "alice", "exp": exp(), "jti": "t-1", "scopes": ["orders:read"]}));
    for (adapter, res) in on_every_adapter(&profile, || request("/orders", Some(&good))).await {
        assert_eq!(res.status, 200, "{adapter}: before revocation");
    }
    assert_eq!(
        auth.cache_usage().map(|(entries, _)| entries),
        Some(1),
        "the token is cached"
    );
    deny.revoke("t-1", exp());
    for (adapter, res) in on_every_adapter(&profile, || request("/orders", Some(&good))).await {
        assert_eq!(res.status, 401, "{adapter}: after revocation");
        let body: Value = serde_json::from_slice(&res.body).expect("json body");
        assert_eq!(body["detail"], "Token has been revoked", "{adapter}");
        assert_eq!(
            res.www_authenticate.as_deref(),
            Some(r#"Bearer realm="api", error="invalid_token", error_description="token revoked""#),
            "{adapter}"
        );
    }
    // Another token of the same subject is unaffected; revoking the subject ends it too.
    let other = token(
        json!({"sub": "alice", "exp": exp(), "jti": "t-2", "iat": exp() - 600, "scopes": ["orders:read"]}),
    );
    for (adapter, res) in on_every_adapter(&profile, || request("/orders", Some(&other))).await {
        assert_eq!(res.status, 200, "{adapter}");
    }
    deny.revoke_subject_before("alice", exp());
    for (adapter, res) in on_every_adapter(&profile, || request("/orders", Some(&other))).await {
        assert_eq!(res.status, 401, "{adapter}: subject revoked");
    }
}
