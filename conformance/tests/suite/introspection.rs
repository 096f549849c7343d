//! Opaque tokens of the real OpenID provider (panva/oidc-provider, introspection and revocation
//! on) through all four adapters: the answer decides identically everywhere, one introspection
//! call serves every adapter's requests, and a revocation at the provider is refused everywhere
//! once the answer's TTL has passed.

use std::time::{Duration, Instant};

use crate::harness::on_every_adapter;
use crate::oidc_provider::{OPAQUE_AUDIENCE, Provider, RS_CLIENT};
use conformance::{HttpRequest, HttpResponse, Profile};
use jwt_core::{ClientAuth, Introspection, JwtAuth, RouteTable, StandardClaims};
use serde_json::Value;

fn request(method: &str, path: &str, token: &str) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        uri: path.into(),
        headers: vec![("Authorization".to_owned(), format!("Bearer {token}"))],
        mount: None,
        layers: 1,
        body: Vec::new(),
    }
}

fn expect(answers: &[(&str, HttpResponse)], status: u16, challenge: Option<&str>) {
    for (adapter, res) in answers {
        let body = String::from_utf8_lossy(&res.body);
        assert_eq!(res.status, status, "{adapter}: {body}");
        assert_eq!(res.www_authenticate.as_deref(), challenge, "{adapter}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_opaque_tokens_through_every_adapter() {
    let Some(idp) = tokio::task::block_in_place(|| Provider::start("RS256")) else {
        return;
    };
    let ttl = Duration::from_secs(2);
    let opaque = Introspection::discovery_builder(
        &idp.issuer,
        ClientAuth::client_secret_basic(RS_CLIENT.0, RS_CLIENT.1),
    )
    .cache_ttl(ttl)
    .build()
    .expect("introspection");
    let auth = JwtAuth::builder()
        .verifier(opaque.clone())
        .audience(OPAQUE_AUDIENCE)
        .claims(StandardClaims::default().user_id_claim("client_id"))
        .scopes(RouteTable::agent_os().build().expect("table"))
        .build()
        .expect("auth");
    let profile = Profile::custom("introspection", auth);
    let token = idp.opaque_token("agents:read");
    let before = idp.introspections();
    let started = Instant::now();

    let allowed = on_every_adapter(&profile, || request("GET", "/agents", &token)).await;
    expect(&allowed, 200, None);
    for (adapter, res) in &allowed {
        let body: Value = serde_json::from_slice(&res.body).expect("JSON");
        assert_eq!(body["user_id"], "agent-svc", "{adapter}");
    }
    let denied = on_every_adapter(&profile, || request("POST", "/agents/a1/runs", &token)).await;
    let challenge = denied[0].1.www_authenticate.clone();
    assert!(
        challenge
            .as_deref()
            .is_some_and(|c| c.contains(r#"error="insufficient_scope""#)),
        "{challenge:?}"
    );
    expect(&denied, 403, challenge.as_deref());
    println!("two requests on five adapters in {:?}", started.elapsed());
    assert_eq!(
        idp.introspections() - before,
        1,
        "one call for every adapter's requests"
    );
    assert_eq!(opaque.calls(), 1);

    tokio::task::block_in_place(|| idp.revoke(&token));
    let revoked = Instant::now();
    let inactive =
        r#"Bearer realm="api", error="invalid_token", error_description="token not active""#;
    loop {
        let answers = on_every_adapter(&profile, || request("GET", "/agents", &token)).await;
        if answers.iter().all(|(_, r)| r.status == 401) {
            expect(&answers, 401, Some(inactive));
            break;
        }
        // Until the TTL passes, every adapter still gets the kept answer.
        expect(&answers, 200, None);
        assert!(
            revoked.elapsed() < ttl + Duration::from_secs(1),
            "still accepted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "revoked at the provider: refused on every adapter after {:?} (TTL {ttl:?})",
        revoked.elapsed()
    );
}
