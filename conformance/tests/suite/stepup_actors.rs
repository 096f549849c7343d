//! RFC 9470 step-up and RFC 8693 actors through all four adapters (in-process, the case suite's
//! harnesses): the exact challenges of a refused step-up, a `max_age` that is checked again on
//! every request (never answered from a kept context), the `act` chain reaching handlers through
//! each adapter's `ActorChain` extractor, and the delegation rules of a route.

use std::time::Duration;

use crate::harness::on_every_adapter;
use conformance::{EXTRACT_ACTORS, EXTRACT_HEADER, HS_SECRET, HttpRequest, HttpResponse, Profile};
use jwt_core::{Actors, JwtAuth, RouteTable, StaticKeys, StepUp, mint};
use serde_json::{Value, json};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn token(extra: Value) -> String {
    let mut claims =
        json!({"sub": "alice", "exp": now() + 600, "scopes": ["admin:read", "runs:write", "pay"]});
    for (k, v) in extra.as_object().expect("object") {
        claims[k] = v.clone();
    }
    mint::hs256(HS_SECRET, &claims).expect("mint")
}

fn profile() -> Profile {
    let table = RouteTable::builder()
        .route("GET /admin", ["admin:read"])
        .step_up(
            "GET /admin",
            StepUp::acr(["urn:example:mfa", "urn:example:hwk"]),
        )
        .route("POST /payments", ["pay"])
        .step_up("POST /payments", StepUp::new().max_age(2))
        .route("POST /runs", ["runs:write"])
        .actors(
            "POST /runs",
            Actors::required()
                .allow_subjects(["agent-svc"])
                .allow_clients(["agents-app"]),
        )
        .route("DELETE /account", Vec::<String>::new())
        .actors("DELETE /account", Actors::forbidden())
        .authenticated("GET /me")
        .build()
        .expect("table");
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(HS_SECRET).expect("secret"))
        .scopes(table)
        .build()
        .expect("auth");
    Profile::custom("stepup-actors", auth)
}

fn request(method: &str, path: &str, token: &str, extract: Option<&str>) -> HttpRequest {
    let mut headers = vec![("Authorization".to_owned(), format!("Bearer {token}"))];
    if let Some(value) = extract {
        headers.push((EXTRACT_HEADER.to_owned(), value.to_owned()));
    }
    HttpRequest {
        method: method.into(),
        uri: path.into(),
        headers,
        mount: None,
        layers: 1,
        body: Vec::new(),
    }
}

/// The same request through every adapter; panics unless all answer `status` with
/// `challenge` (when given), and returns the answers.
async fn expect_everywhere(
    profile: &Profile,
    req: &HttpRequest,
    status: u16,
    challenge: Option<&str>,
) -> Vec<(&'static str, HttpResponse)> {
    let answers = on_every_adapter(profile, || req.clone()).await;
    for (adapter, res) in &answers {
        let body = String::from_utf8_lossy(&res.body);
        assert_eq!(
            res.status, status,
            "{adapter} {} {}: {body}",
            req.method, req.uri
        );
        if let Some(challenge) = challenge {
            assert_eq!(
                res.www_authenticate.as_deref(),
                Some(challenge),
                "{adapter}"
            );
        }
    }
    answers
}

const STEP_UP: &str = r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a stronger or more recent authentication is required""#;

#[tokio::test]
async fn stepup_acr_outside_the_set_is_refused_with_acr_values_on_every_adapter() {
    let p = profile();
    let challenge = format!(r#"{STEP_UP}, acr_values="urn:example:mfa urn:example:hwk""#);
    let weak = token(json!({"acr": "urn:example:pwd"}));
    expect_everywhere(
        &p,
        &request("GET", "/admin", &weak, None),
        401,
        Some(&challenge),
    )
    .await;
    let strong = token(json!({"acr": "urn:example:hwk"}));
    expect_everywhere(&p, &request("GET", "/admin", &strong, None), 200, None).await;
    // Another route of the same token: no step-up there.
    expect_everywhere(&p, &request("GET", "/me", &weak, None), 200, None).await;
}

#[tokio::test]
async fn stepup_missing_or_malformed_claims_fail_closed_on_every_adapter() {
    let p = profile();
    let acr = format!(r#"{STEP_UP}, acr_values="urn:example:mfa urn:example:hwk""#);
    let none = token(json!({}));
    expect_everywhere(&p, &request("GET", "/admin", &none, None), 401, Some(&acr)).await;
    let age = format!(r#"{STEP_UP}, max_age="2""#);
    expect_everywhere(
        &p,
        &request("POST", "/payments", &none, None),
        401,
        Some(&age),
    )
    .await;
    let invalid = r#"Bearer realm="api", error="invalid_token", error_description="invalid claim""#;
    let numeric_acr = token(json!({"acr": 2}));
    expect_everywhere(
        &p,
        &request("GET", "/admin", &numeric_acr, None),
        401,
        Some(invalid),
    )
    .await;
    let text_time = token(json!({"auth_time": "yesterday"}));
    expect_everywhere(
        &p,
        &request("POST", "/payments", &text_time, None),
        401,
        Some(invalid),
    )
    .await;
}

#[tokio::test]
async fn stepup_max_age_is_checked_on_every_request_on_every_adapter() {
    let p = profile();
    let challenge = format!(r#"{STEP_UP}, max_age="2""#);
    let old = token(json!({"auth_time": now() - 60}));
    expect_everywhere(
        &p,
        &request("POST", "/payments", &old, None),
        401,
        Some(&challenge),
    )
    .await;
    // Fresh now, too old in three seconds: the same token on the same route is refused then,
    // though its first decisions were kept in the token cache.
    let fresh = token(json!({"auth_time": now()}));
    for _ in 0..2 {
        expect_everywhere(&p, &request("POST", "/payments", &fresh, None), 200, None).await;
    }
    tokio::time::sleep(Duration::from_millis(3100)).await;
    expect_everywhere(
        &p,
        &request("POST", "/payments", &fresh, None),
        401,
        Some(&challenge),
    )
    .await;
}

#[tokio::test]
async fn stepup_challenge_in_the_dpop_scheme_and_with_problem_json_keeps_its_parameters() {
    // The challenge's parameters do not depend on the body's renderer.
    let table = RouteTable::builder()
        .route("GET /admin", ["admin:read"])
        .step_up("GET /admin", StepUp::acr(["urn:example:mfa"]).max_age(300))
        .build()
        .expect("table");
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(HS_SECRET).expect("secret"))
        .scopes(table)
        .error_renderer(jwt_core::ProblemJson::new())
        .build()
        .expect("auth");
    let p = Profile::custom("stepup-problem", auth);
    let challenge = format!(r#"{STEP_UP}, acr_values="urn:example:mfa", max_age="300""#);
    let weak = token(json!({"acr": "urn:example:mfa", "auth_time": now() - 301}));
    for (adapter, res) in expect_everywhere(
        &p,
        &request("GET", "/admin", &weak, None),
        401,
        Some(&challenge),
    )
    .await
    {
        assert_eq!(
            res.content_type.as_deref(),
            Some("application/problem+json"),
            "{adapter}"
        );
    }
}

#[tokio::test]
async fn actor_chain_reaches_the_handler_through_every_adapters_extractor() {
    let p = profile();
    let delegated = token(
        json!({"act": {"sub": "agent-svc", "client_id": "agents", "act": {"sub": "planner"}}}),
    );
    for (adapter, res) in expect_everywhere(
        &p,
        &request("GET", "/me", &delegated, Some(EXTRACT_ACTORS)),
        200,
        None,
    )
    .await
    {
        let body: Value = serde_json::from_slice(&res.body).expect("JSON");
        assert_eq!(
            body,
            json!({"actors": [
                {"sub": "agent-svc", "client_id": "agents", "iss": null},
                {"sub": "planner", "client_id": null, "iss": null},
            ]}),
            "{adapter}"
        );
    }
    let direct = token(json!({}));
    for (adapter, res) in expect_everywhere(
        &p,
        &request("GET", "/me", &direct, Some(EXTRACT_ACTORS)),
        200,
        None,
    )
    .await
    {
        assert_eq!(
            serde_json::from_slice::<Value>(&res.body).expect("JSON"),
            json!({"actors": []}),
            "{adapter}"
        );
    }
}

#[tokio::test]
async fn actor_required_and_allowed_outermost_actor_on_every_adapter() {
    let p = profile();
    let insufficient = r#"Bearer realm="api", error="insufficient_scope""#;
    let direct = token(json!({}));
    let answers = expect_everywhere(
        &p,
        &request("POST", "/runs", &direct, None),
        403,
        Some(insufficient),
    )
    .await;
    for (adapter, res) in answers {
        let body = String::from_utf8_lossy(&res.body);
        assert!(
            body.contains("only accepts a delegated call"),
            "{adapter}: {body}"
        );
    }
    let allowed = token(json!({"act": {"sub": "agent-svc", "act": {"sub": "someone-else"}}}));
    expect_everywhere(&p, &request("POST", "/runs", &allowed, None), 200, None).await;
    // Only the outermost actor counts (RFC 8693 §4.1): a prior actor does not.
    let other = token(json!({"act": {"sub": "someone-else", "act": {"sub": "agent-svc"}}}));
    expect_everywhere(
        &p,
        &request("POST", "/runs", &other, None),
        403,
        Some(insufficient),
    )
    .await;
    let by_client = token(json!({"act": {"client_id": "agents-app"}}));
    expect_everywhere(&p, &request("POST", "/runs", &by_client, None), 200, None).await;
    // Each list reads its own claim: a client named like an allowed subject is not allowed.
    let lookalike = token(json!({"act": {"client_id": "agent-svc"}}));
    expect_everywhere(
        &p,
        &request("POST", "/runs", &lookalike, None),
        403,
        Some(insufficient),
    )
    .await;
}

#[tokio::test]
async fn actor_forbidden_route_refuses_a_delegated_call_on_every_adapter() {
    let p = profile();
    let delegated = token(json!({"act": {"sub": "agent-svc"}}));
    let insufficient = r#"Bearer realm="api", error="insufficient_scope""#;
    let answers = expect_everywhere(
        &p,
        &request("DELETE", "/account", &delegated, None),
        403,
        Some(insufficient),
    )
    .await;
    for (adapter, res) in answers {
        let body = String::from_utf8_lossy(&res.body);
        assert!(
            body.contains("does not accept a delegated call"),
            "{adapter}: {body}"
        );
    }
    expect_everywhere(
        &p,
        &request("DELETE", "/account", &token(json!({})), None),
        200,
        None,
    )
    .await;
}

#[tokio::test]
async fn actor_malformed_or_too_deep_chains_are_refused_on_every_adapter() {
    let p = profile();
    let invalid = r#"Bearer realm="api", error="invalid_token", error_description="invalid claim""#;
    for act in [
        json!("agent-svc"),
        json!(["agent-svc"]),
        json!({"sub": 7}),
        json!({"act": "x"}),
    ] {
        let bad = token(json!({ "act": act }));
        expect_everywhere(&p, &request("GET", "/me", &bad, None), 401, Some(invalid)).await;
    }
    let mut chain = json!({"sub": "a8"});
    for i in (0..8).rev() {
        chain = json!({"sub": format!("a{i}"), "act": chain});
    }
    // Nine actors: one more than the default bound of eight.
    let deep = token(json!({ "act": chain }));
    expect_everywhere(&p, &request("GET", "/me", &deep, None), 401, Some(invalid)).await;
    let eight = token(json!({ "act": chain["act"].clone() }));
    expect_everywhere(&p, &request("GET", "/me", &eight, None), 200, None).await;
}
