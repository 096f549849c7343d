//! End to end against a real OpenID provider (panva/oidc-provider 9.13.3 on Node.js, started from
//! `test-support/oidc`): discovery, RFC 9068 access tokens from the client_credentials grant in
//! RS256, ES256 and EdDSA, issuer pinning, several issuers, and a provider restart with new keys.
//!
//! Skipped with a message when Node.js is missing, except under `CI`, where that fails.

#![cfg(feature = "remote-jwks")]

use std::time::{SystemTime, UNIX_EPOCH};

use crate::oidc_provider::{AUDIENCE, CLIENT_ID, Provider};
use crate::paused_clock::{hold_clock, ready_now};
use jwt_core::{
    Algorithm, AuthError, DEFAULT_UNKNOWN_KID_COOLDOWN, EncodingKey, InvalidToken, Issuers,
    JwtAuth, KeyChain, Outcome, RemoteJwks, RouteTable, SimpleRequest, StandardClaims, Validation,
    Verifier, VerifyError, mint,
};
use serde_json::json;

fn auth(verifier: impl Verifier + 'static) -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(verifier)
        .validation(Validation::default().audience([AUDIENCE]).rfc9068(true))
        .claims(StandardClaims::default().scope_claims(["scope"]))
        .scopes(RouteTable::agent_os().build().unwrap())
        .build()
        .unwrap()
}

async fn call(auth: &JwtAuth, method: &str, path: &str, token: &str) -> Result<Outcome, AuthError> {
    let header = format!("Bearer {token}");
    let req = SimpleRequest::new(method, path).header("Authorization", &header);
    auth.authenticate(&req).await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn oidc_discovery_rs256_es256_eddsa_through_core() {
    let mut providers = Vec::new();
    for alg in ["RS256", "ES256", "EdDSA"] {
        let Some(p) = Provider::start(alg) else {
            return;
        };
        providers.push(p);
    }
    for p in &providers {
        let keys = RemoteJwks::discover(&p.issuer).unwrap();
        assert_eq!(keys.issuer(), Some(p.issuer.as_str()));
        let auth = auth(keys.clone());
        let token = p.token();

        // Straight through the verifier: header as the provider wrote it.
        let verified = keys.verify(&token).await.unwrap();
        let header = verified.header.as_ref().unwrap();
        let expected = match p.alg.as_str() {
            "RS256" => (Algorithm::RS256, "rs-1"),
            "ES256" => (Algorithm::ES256, "es-1"),
            _ => (Algorithm::EdDSA, "ed-1"),
        };
        assert_eq!(
            (header.alg, header.kid.as_deref()),
            (expected.0, Some(expected.1))
        );
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(verified.claims["scope"], "agents:read agents:write");

        // Through the engine: RFC 9068 mode, audience, scope string, AgentOS routes.
        let ctx = call(&auth, "GET", "/agents", &token)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", p.alg))
            .into_context()
            .unwrap();
        assert_eq!(ctx.user_id(), Some(CLIENT_ID));
        assert_eq!(ctx.scopes(), ["agents:read", "agents:write"]);
        assert_eq!(ctx.claims()["iss"], p.issuer.as_str());
        assert!(call(&auth, "POST", "/agents", &token).await.is_ok());
        let denied = call(&auth, "DELETE", "/agents/a1", &token)
            .await
            .unwrap_err();
        assert_eq!(denied.status(), 403);

        // A narrower token from the same grant.
        let read_only = p.token_with_scope("agents:read");
        assert!(call(&auth, "GET", "/agents", &read_only).await.is_ok());
        assert_eq!(
            call(&auth, "POST", "/agents", &read_only)
                .await
                .unwrap_err()
                .status(),
            403
        );

        // Tampering is refused; one discovery + one JWKS fetch served everything.
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(
            call(&auth, "GET", "/agents", &tampered)
                .await
                .unwrap_err()
                .status(),
            401
        );
        let status = keys.status();
        assert_eq!(status.fetches_ok, 1, "{status:?}");
        assert_eq!(
            status.jwks_url.as_deref(),
            Some(format!("{}/jwks", p.issuer).as_str())
        );
        let mut kids = status.kids.clone();
        kids.sort();
        assert_eq!(kids, ["ed-1", "es-1", "rs-1"]);
    }
}

#[tokio::test]
async fn oidc_issuer_is_pinned_by_discovery() {
    let Some(p) = Provider::start("ES256") else {
        return;
    };
    let token = p.token();

    // The discovery document names http://127.0.0.1:<port>; "localhost" is another issuer.
    let other_name = RemoteJwks::discover(format!("http://localhost:{}", p.port)).unwrap();
    assert!(matches!(
        other_name.refresh().await,
        Err(jwt_core::FetchError::IssuerMismatch { .. })
    ));
    assert_eq!(
        other_name.verify(&token).await.unwrap_err(),
        VerifyError::Unavailable
    );

    // The same keys from the JWKS URL, pinned to another issuer: signature fine, `iss` refused.
    let pinned = RemoteJwks::builder(format!("{}/jwks", p.issuer))
        .issuer("https://someone-else.example")
        .build()
        .unwrap();
    assert_eq!(
        pinned.verify(&token).await.unwrap_err(),
        VerifyError::Invalid(InvalidToken::InvalidIssuer)
    );
    // Unpinned JWKS URL: accepted (the engine's Validation may still check `iss`).
    let unpinned = RemoteJwks::new(format!("{}/jwks", p.issuer)).unwrap();
    assert!(unpinned.verify(&token).await.is_ok());
}

#[tokio::test]
async fn oidc_two_issuers_never_share_keys() {
    let keys_dir = std::env::temp_dir().join(format!("jwt-rbac-oidc-keys-{}", std::process::id()));
    std::fs::create_dir_all(&keys_dir).unwrap();
    let Some(a) = Provider::start("RS256") else {
        return;
    };
    let b = Provider::start_with("RS256", &[("KEYS_OUT", keys_dir.to_str().unwrap())]).unwrap();

    let issuers = Issuers::new()
        .discover(&a.issuer)
        .unwrap()
        .discover(&b.issuer)
        .unwrap();
    let auth = auth(issuers);
    for p in [&a, &b] {
        let ctx = call(&auth, "GET", "/agents", &p.token())
            .await
            .unwrap()
            .into_context()
            .unwrap();
        assert_eq!(ctx.claims()["iss"], p.issuer.as_str());
    }

    // B's real private key (kid rs-1, like A's) signs a token that claims to be A's.
    let b_key = std::fs::read(keys_dir.join("rs-1.pem")).unwrap();
    let b_key = EncodingKey::from_rsa_pem(&b_key).unwrap();
    let claims = |iss: &str| {
        json!({
            "iss": iss, "sub": CLIENT_ID, "aud": AUDIENCE, "client_id": CLIENT_ID,
            "iat": now(), "exp": now() + 300, "jti": "forged-1", "scope": "agents:read",
        })
    };
    let as_a = mint::sign(
        Algorithm::RS256,
        &b_key,
        Some("rs-1"),
        Some("at+jwt"),
        &claims(&a.issuer),
    )
    .unwrap();
    let as_b = mint::sign(
        Algorithm::RS256,
        &b_key,
        Some("rs-1"),
        Some("at+jwt"),
        &claims(&b.issuer),
    )
    .unwrap();
    assert!(
        call(&auth, "GET", "/agents", &as_b).await.is_ok(),
        "B's key is good for B"
    );
    let err = call(&auth, "GET", "/agents", &as_a).await.unwrap_err();
    assert_eq!(
        (err.status(), err.detail().into_owned()),
        (401, "Invalid token: signature verification failed".into())
    );

    // An issuer nobody configured: refused before any key is looked at.
    let unknown = mint::sign(
        Algorithm::RS256,
        &b_key,
        Some("rs-1"),
        Some("at+jwt"),
        &claims("https://evil.example"),
    )
    .unwrap();
    let err = call(&auth, "GET", "/agents", &unknown).await.unwrap_err();
    assert_eq!(err.detail(), "Invalid token issuer");

    // Why per-issuer routing matters: one pooled key set (both JWKS, no routing) accepts the
    // forged token, since B's key verifies it.
    let pooled = KeyChain::new()
        .with(RemoteJwks::new(format!("{}/jwks", a.issuer)).unwrap())
        .with(RemoteJwks::new(format!("{}/jwks", b.issuer)).unwrap());
    assert!(pooled.verify(&as_a).await.is_ok());
    let _ = std::fs::remove_dir_all(&keys_dir);
}

#[tokio::test(start_paused = true)]
async fn oidc_provider_restart_with_new_keys_is_picked_up() {
    let Some(first) = Provider::start_with("EdDSA", &[("KID_PREFIX", "v1-")]) else {
        return;
    };
    // tokio's clock is paused and held: the unknown-kid cooldown passes when the test says so,
    // not while node starts.
    let _clock = hold_clock();
    let (port, issuer) = (first.port, first.issuer.clone());
    let keys = RemoteJwks::discover(&issuer).unwrap();
    let auth = auth(keys.clone());
    let old = first.token();
    assert!(call(&auth, "GET", "/agents", &old).await.is_ok());

    // Provider down: the cached keys keep working, answered at once (nothing waits on the
    // network).
    drop(first);
    assert!(matches!(
        ready_now(call(&auth, "GET", "/agents", &old)),
        Some(Ok(_))
    ));

    // Back with new keys (new kids). Within the unknown-kid cooldown (30 s) after the last fetch
    // a token signed by a new key is refused at once; after it, the first such token waits for
    // one refetch and is accepted, without restarting anything.
    let second = Provider::start_on(port, "EdDSA", &[("KID_PREFIX", "v2-")]);
    let new = second.token();
    let refused = ready_now(call(&auth, "GET", "/agents", &new))
        .expect("refused at once")
        .unwrap_err();
    assert_eq!(refused.status(), 401, "{refused:?}");
    tokio::time::advance(DEFAULT_UNKNOWN_KID_COOLDOWN).await;
    assert!(call(&auth, "GET", "/agents", &new).await.is_ok());
    let status = keys.status();
    assert_eq!(status.fetches_ok, 2, "{status:?}");
    assert!(
        status.kids.iter().all(|k| k.starts_with("v2-")),
        "{status:?}"
    );
    // The old key is gone from the provider's JWKS, so its tokens are refused now.
    let err = call(&auth, "GET", "/agents", &old).await.unwrap_err();
    assert_eq!(err.status(), 401);
}
