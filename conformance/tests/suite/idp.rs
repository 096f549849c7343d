//! Tokens shaped like real identity providers' access tokens, through all four adapters.
//!
//! `cases/98_idp.json` holds, per provider (Keycloak, Auth0, Microsoft Entra ID, Okta, Google,
//! Cognito), tokens with that provider's documented claim layout, signed with the suite's test
//! RSA key (`rsa-1`, RS256), against the `idp_<provider>` profiles (the provider's
//! `StandardClaims` recipe, issuer and audience pinned, a plain route table without an admin
//! scope). `idp_<provider>_allows` runs its `allows-*` cases on axum, actix-web, poem and warp
//! (200, the identity and scopes the handler saw); `idp_<provider>_denies` its `denies-*` cases
//! (403 with the missing scope in the `WWW-Authenticate` challenge). The four adapters must also
//! answer identically. The same cases run in the full suite (`tests/suite/adapters.rs`).
//!
//! `idp_oidc_provider_plain_scopes` gets a token with the plain scope `orders.read` from a real
//! OpenID provider (panva/oidc-provider, `test-support/oidc`) and authorizes it on all four
//! adapters through discovery (`RemoteJwks::discover`). Skipped with a message when Node.js is
//! missing, except under `CI`, where that fails.

use crate::harness::{actix::Actix, axum::Axum, poem::Poem, warp::Warp};
use crate::oidc_provider::{AUDIENCE, CLIENT_ID, Provider};
use conformance::{Case, Harness, HttpRequest, HttpResponse, Profile, Report, load_cases};
use jwt_core::{JwtAuth, RemoteJwks, RouteTable, StandardClaims, Validation};
use serde_json::{Value, json};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The cases named `idp/<provider>/<kind>-*`.
fn cases(provider: &str, kind: &str) -> Vec<Case> {
    let prefix = format!("idp/{provider}/{kind}-");
    let cases: Vec<Case> = load_cases()
        .expect("cases load")
        .into_iter()
        .filter(|c| c.name.starts_with(&prefix))
        .collect();
    assert!(!cases.is_empty(), "no case named {prefix}*");
    cases
}

/// Runs `cases` on the four adapters (warp with and without `jwt_warp::service`): every case
/// passes on each, and they answer alike.
fn run_everywhere(cases: &[Case]) {
    let rt = runtime();
    let axum = rt.block_on(conformance::run_cases(&Axum, cases));
    let actix = actix_web::rt::System::new().block_on(conformance::run_cases(&Actix, cases));
    let poem = rt.block_on(conformance::run_cases(&Poem, cases));
    let warp = rt.block_on(conformance::run_cases(&Warp::FILTERS, cases));
    let warp_service = rt.block_on(conformance::run_cases(&Warp::SERVICE, cases));
    let reports: [Report; 5] = [axum, actix, poem, warp, warp_service];
    for report in &reports {
        assert!(
            report.failures.is_empty(),
            "{}: {:?}",
            report.adapter,
            report.failures
        );
        assert_eq!(report.passed, cases.len(), "{}", report.adapter);
    }
    for other in &reports[1..] {
        assert_eq!(
            other.responses, reports[0].responses,
            "{} answers differently from {}",
            other.adapter, reports[0].adapter
        );
    }
}

/// The `allows-*` cases of `provider`: each expects a 200.
fn allows(provider: &str) {
    let cases = cases(provider, "allows");
    for case in &cases {
        assert_eq!(case.expect.status, 200, "{}", case.name);
    }
    run_everywhere(&cases);
}

/// The `denies-*` cases of `provider`: each expects a 403 naming the missing scope in the
/// `WWW-Authenticate` challenge.
fn denies(provider: &str) {
    let cases = cases(provider, "denies");
    for case in &cases {
        assert_eq!(case.expect.status, 403, "{}", case.name);
        let challenge = case.expect.www_authenticate.as_deref().unwrap_or_default();
        assert!(
            challenge.contains("error=\"insufficient_scope\", scope=\""),
            "{}: {challenge}",
            case.name
        );
    }
    run_everywhere(&cases);
}

#[test]
fn idp_keycloak_allows() {
    allows("keycloak");
}

#[test]
fn idp_keycloak_denies() {
    denies("keycloak");
}

#[test]
fn idp_auth0_allows() {
    allows("auth0");
}

#[test]
fn idp_auth0_denies() {
    denies("auth0");
}

#[test]
fn idp_entra_allows() {
    allows("entra");
}

#[test]
fn idp_entra_denies() {
    denies("entra");
}

#[test]
fn idp_okta_allows() {
    allows("okta");
}

#[test]
fn idp_okta_denies() {
    denies("okta");
}

#[test]
fn idp_google_allows() {
    allows("google");
}

#[test]
fn idp_google_denies() {
    denies("google");
}

#[test]
fn idp_cognito_allows() {
    allows("cognito");
}

#[test]
fn idp_cognito_denies() {
    denies("cognito");
}

#[test]
fn idp_cases_are_all_run_by_a_provider_test() {
    let providers = ["keycloak", "auth0", "entra", "okta", "google", "cognito"];
    for case in load_cases().expect("cases load") {
        if case.profile.starts_with("idp_") || case.name.starts_with("idp/") {
            let known = providers.iter().any(|p| {
                ["allows-", "denies-"]
                    .iter()
                    .any(|k| case.name.starts_with(&format!("idp/{p}/{k}")))
            });
            assert!(known, "{} is run by no idp_ test", case.name);
            assert_eq!(
                case.profile.strip_prefix("idp_"),
                case.name.split('/').nth(1),
                "{}",
                case.name
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A real OpenID provider issuing a plain scope.
// ---------------------------------------------------------------------------------------------

/// An API with plain scopes, keys and issuer found by discovery.
fn discovered_profile(issuer: &str) -> Profile {
    let table = RouteTable::builder()
        .route("GET /orders", ["orders.read"])
        .route("POST /orders", ["orders.write"])
        .no_admin_scope()
        .build()
        .expect("table");
    let auth = JwtAuth::builder()
        .verifier(RemoteJwks::discover(issuer).expect("discovery url"))
        .validation(Validation::default().audience([AUDIENCE]).rfc9068(true))
        .claims(StandardClaims::default())
        .scopes(table)
        .build()
        .expect("auth");
    Profile::new("oidc_plain_scopes", auth)
}

fn request(method: &str, uri: &str, token: &str) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        uri: uri.into(),
        headers: vec![("Authorization".into(), format!("Bearer {token}"))],
        mount: None,
        layers: 1,
        body: Vec::new(),
    }
}

/// (status, `WWW-Authenticate`, JSON body) of the allowed and the denied request on one adapter,
/// with a fresh key set (a `RemoteJwks` belongs to the runtime it first fetched on).
async fn exchange<H: Harness>(harness: &H, issuer: &str, token: &str) -> [(u16, Value, Value); 2] {
    let profile = discovered_profile(issuer);
    let mut out = Vec::new();
    for (method, uri) in [("GET", "/orders"), ("POST", "/orders")] {
        let res: HttpResponse = harness.send(&profile, request(method, uri, token)).await;
        let mut body: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
        if let Some(obj) = body.as_object_mut() {
            obj.remove("claims");
        }
        out.push((res.status, json!(res.www_authenticate), body));
    }
    [out[0].clone(), out[1].clone()]
}

#[test]
fn idp_oidc_provider_plain_scopes() {
    let Some(provider) = Provider::start("RS256") else {
        return;
    };
    let token = provider.token_with_scope("orders.read");
    let claims: Value = {
        let payload = token.split('.').nth(1).expect("a JWS");
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON claims")
    };
    assert_eq!(claims["scope"], "orders.read", "{claims}");
    let issuer = provider.issuer.clone();

    let rt = runtime();
    let answers = [
        ("axum", rt.block_on(exchange(&Axum, &issuer, &token))),
        (
            "actix",
            actix_web::rt::System::new().block_on(exchange(&Actix, &issuer, &token)),
        ),
        ("poem", rt.block_on(exchange(&Poem, &issuer, &token))),
        (
            "warp",
            rt.block_on(exchange(&Warp::FILTERS, &issuer, &token)),
        ),
        (
            "warp-service",
            rt.block_on(exchange(&Warp::SERVICE, &issuer, &token)),
        ),
    ];
    for (adapter, [allowed, denied]) in &answers {
        assert_eq!(allowed.0, 200, "{adapter}: {allowed:?}");
        assert_eq!(allowed.2["user_id"], CLIENT_ID, "{adapter}");
        assert_eq!(allowed.2["scopes"], json!(["orders.read"]), "{adapter}");
        assert_eq!(
            allowed.2["required_scopes"],
            json!(["orders.read"]),
            "{adapter}"
        );
        assert_eq!(denied.0, 403, "{adapter}: {denied:?}");
        assert_eq!(
            denied.1,
            json!(r#"Bearer realm="api", error="insufficient_scope", scope="orders.write""#),
            "{adapter}"
        );
        assert_eq!(
            denied.2,
            json!({"detail": "Insufficient permissions. Required scope(s): orders.write"}),
            "{adapter}"
        );
    }
    for (adapter, answer) in &answers[1..] {
        assert_eq!(answer, &answers[0].1, "{adapter} differs from axum");
    }
}
