//! DPoP (RFC 9449) through the engine: a bound token with a fresh proof passes; every way a
//! proof can be wrong is refused with its RFC 9449 error; modes, nonces, the cache and the
//! metadata document. Proofs are signed here with the fixture keys; the same checks against a
//! real client and identity provider are in `conformance/tests/suite/dpop_clients.rs`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jwt_core::{
    Algorithm, AuthError, AuthErrorKind, Dpop, DpopNonces, DpopRejection, EncodingKey,
    ErrorResponse, HtuOrigin, InvalidToken, JwtAuth, Outcome, ProtectedResourceMetadata,
    SimpleRequest, StaticKeys, jwk_thumbprint, mint,
};
use serde_json::{Value, json};

const SECRET: &[u8] = b"dpop-tests-secret-0123456789abcdef!!";
const ORIGIN: &str = "https://api.example.com";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A client's proof key: the fixture P-256 key and its public JWK.
pub(crate) struct ProofKey {
    key: EncodingKey,
    alg: Algorithm,
    pub(crate) jwk: Value,
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

pub(crate) fn p256() -> ProofKey {
    let public = pem_der(include_str!("../fixtures/p256.pub.pem"));
    // The SubjectPublicKeyInfo ends with the uncompressed point 04 || x || y.
    let point = &public[public.len() - 64..];
    ProofKey {
        key: EncodingKey::from_ec_pem(include_bytes!("../fixtures/p256.key")).unwrap(),
        alg: Algorithm::ES256,
        jwk: json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[..32]),
            "y": URL_SAFE_NO_PAD.encode(&point[32..]),
        }),
    }
}

pub(crate) fn ed25519() -> ProofKey {
    let public = pem_der(include_str!("../fixtures/ed25519.pub.pem"));
    ProofKey {
        key: EncodingKey::from_ed_pem(include_bytes!("../fixtures/ed25519.key")).unwrap(),
        alg: Algorithm::EdDSA,
        jwk: json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(&public[public.len() - 32..]),
        }),
    }
}

fn ath(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

static JTI: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A proof for `method url` over `token`; `edit` changes its claims.
pub(crate) fn proof(
    key: &ProofKey,
    method: &str,
    url: &str,
    token: &str,
    edit: impl FnOnce(&mut Value),
) -> String {
    let header = json!({"typ": "dpop+jwt", "alg": format!("{:?}", key.alg), "jwk": key.jwk});
    let jti = JTI.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut claims = json!({
        "jti": format!("jti-{jti}-{}", now()), "htm": method, "htu": url,
        "iat": now(), "ath": ath(token),
    });
    edit(&mut claims);
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    mint::sign_input(key.alg, &key.key, &input).unwrap()
}

fn bound_token(key: &ProofKey) -> String {
    let jkt = jwk_thumbprint(&key.jwk).unwrap();
    mint::hs256(
        SECRET,
        &json!({"sub": "agent-1", "exp": now() + 600, "cnf": {"jkt": jkt}}),
    )
    .unwrap()
}

fn plain_token() -> String {
    mint::hs256(SECRET, &json!({"sub": "alice", "exp": now() + 600})).unwrap()
}

fn auth(dpop: Dpop) -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .dpop(dpop.origin(HtuOrigin::Fixed(ORIGIN.into())))
        .build()
        .unwrap()
}

async fn send(
    auth: &JwtAuth,
    method: &str,
    path: &str,
    authorization: &str,
    proof: Option<&str>,
) -> Result<Outcome, AuthError> {
    let mut req = SimpleRequest::new(method, path).header("Authorization", authorization);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    auth.authenticate(&req).await
}

fn rejection(result: Result<Outcome, AuthError>) -> (DpopRejection, String) {
    let err = result.unwrap_err();
    let challenge = err.www_authenticate();
    match err.kind() {
        AuthErrorKind::InvalidDpopProof(why) => (*why, challenge),
        other => panic!("expected invalid_dpop_proof, got {other:?} / {challenge}"),
    }
}

#[tokio::test]
async fn dpop_bound_token_with_a_fresh_proof_is_accepted() {
    let auth = auth(Dpop::allowed());
    let key = p256();
    let token = bound_token(&key);
    let p = proof(
        &key,
        "GET",
        "https://api.example.com/agents/a1",
        &token,
        |_| {},
    );
    let ctx = send(
        &auth,
        "GET",
        "/agents/a1",
        &format!("DPoP {token}"),
        Some(&p),
    )
    .await
    .unwrap()
    .into_context()
    .unwrap();
    assert_eq!(ctx.user_id(), Some("agent-1"));
    // The htu comparison normalises scheme and host case, the default port and the query.
    let p = proof(
        &key,
        "GET",
        "HTTPS://API.example.com:443/agents/a1?x=1",
        &token,
        |_| {},
    );
    assert!(
        send(
            &auth,
            "GET",
            "/agents/a1",
            &format!("dpop {token}"),
            Some(&p)
        )
        .await
        .is_ok()
    );
    // An Ed25519 proof key works the same way.
    let ed = ed25519();
    let token = bound_token(&ed);
    let p = proof(&ed, "POST", "https://api.example.com/runs", &token, |_| {});
    assert!(
        send(&auth, "POST", "/runs", &format!("DPoP {token}"), Some(&p))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn dpop_every_wrong_proof_is_refused_with_its_reason() {
    let auth = auth(Dpop::allowed());
    let key = p256();
    let token = bound_token(&key);
    let url = "https://api.example.com/agents/a1";
    let dpop = format!("DPoP {token}");
    let cases: Vec<(&str, String, DpopRejection)> = vec![
        (
            "other url",
            proof(
                &key,
                "GET",
                "https://api.example.com/agents/a2",
                &token,
                |_| {},
            ),
            DpopRejection::UrlMismatch,
        ),
        (
            "other host",
            proof(
                &key,
                "GET",
                "https://evil.example.com/agents/a1",
                &token,
                |_| {},
            ),
            DpopRejection::UrlMismatch,
        ),
        (
            "other scheme",
            proof(
                &key,
                "GET",
                "http://api.example.com/agents/a1",
                &token,
                |_| {},
            ),
            DpopRejection::UrlMismatch,
        ),
        (
            "other method",
            proof(&key, "POST", url, &token, |_| {}),
            DpopRejection::MethodMismatch,
        ),
        (
            "lower-case method",
            proof(&key, "get", url, &token, |_| {}),
            DpopRejection::MethodMismatch,
        ),
        (
            "wrong ath",
            proof(&key, "GET", url, &token, |c| {
                c["ath"] = json!(ath("another-token"))
            }),
            DpopRejection::AthMismatch,
        ),
        (
            "no ath",
            proof(&key, "GET", url, &token, |c| {
                c.as_object_mut().unwrap().remove("ath");
            }),
            DpopRejection::MissingClaim,
        ),
        (
            "no jti",
            proof(&key, "GET", url, &token, |c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            DpopRejection::MissingClaim,
        ),
        (
            "old",
            proof(&key, "GET", url, &token, |c| c["iat"] = json!(now() - 120)),
            DpopRejection::Stale,
        ),
        (
            "future",
            proof(&key, "GET", url, &token, |c| c["iat"] = json!(now() + 60)),
            DpopRejection::Stale,
        ),
        (
            "iat as text",
            proof(&key, "GET", url, &token, |c| c["iat"] = json!("now")),
            DpopRejection::Malformed,
        ),
        (
            "other key",
            proof(&ed25519(), "GET", url, &token, |_| {}),
            DpopRejection::KeyMismatch,
        ),
        (
            "garbage",
            "not-a-proof".to_owned(),
            DpopRejection::Malformed,
        ),
    ];
    for (name, p, want) in cases {
        let (why, challenge) = rejection(send(&auth, "GET", "/agents/a1", &dpop, Some(&p)).await);
        assert_eq!(why, want, "{name}");
        assert!(
            challenge.starts_with(&format!(
                "DPoP error=\"invalid_dpop_proof\", error_description=\"{}\", algs=\"ES256 ES384 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA\"",
                want.description()
            )),
            "{name}: {challenge}"
        );
    }
    let (why, _) = rejection(send(&auth, "GET", "/agents/a1", &dpop, None).await);
    assert_eq!(why, DpopRejection::Missing);
    let p = proof(&key, "GET", url, &token, |_| {});
    let two = SimpleRequest::new("GET", "/agents/a1")
        .header("Authorization", &dpop)
        .header("DPoP", &p)
        .header("DPoP", &p);
    let (why, _) = rejection(auth.authenticate(&two).await);
    assert_eq!(why, DpopRejection::Several);
}

#[tokio::test]
async fn dpop_a_replayed_proof_is_refused_even_on_a_cache_hit() {
    let auth = auth(Dpop::allowed());
    let key = p256();
    let token = bound_token(&key);
    let dpop = format!("DPoP {token}");
    let p = proof(&key, "GET", "https://api.example.com/a", &token, |_| {});
    assert!(send(&auth, "GET", "/a", &dpop, Some(&p)).await.is_ok());
    // The token is now cached; the proof is still checked, and its jti remembered.
    let (why, _) = rejection(send(&auth, "GET", "/a", &dpop, Some(&p)).await);
    assert_eq!(why, DpopRejection::Replayed);
    let fresh = proof(&key, "GET", "https://api.example.com/a", &token, |_| {});
    assert!(send(&auth, "GET", "/a", &dpop, Some(&fresh)).await.is_ok());
    assert!(auth.cache_usage().unwrap().0 >= 1);
}

#[tokio::test]
async fn dpop_bound_token_as_bearer_and_unbound_token_as_dpop_are_refused() {
    let auth = auth(Dpop::allowed());
    let key = p256();
    let token = bound_token(&key);
    let err = send(&auth, "GET", "/a", &format!("Bearer {token}"), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &AuthErrorKind::InvalidToken(InvalidToken::SenderConstrained)
    );
    assert_eq!(
        err.www_authenticate(),
        "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"sender-constrained token sent as bearer\", DPoP algs=\"ES256 ES384 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA\""
    );
    // Even with a valid proof beside it.
    let p = proof(&key, "GET", "https://api.example.com/a", &token, |_| {});
    let err = send(&auth, "GET", "/a", &format!("Bearer {token}"), Some(&p))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &AuthErrorKind::InvalidToken(InvalidToken::SenderConstrained)
    );
    // A plain token with the DPoP scheme: not bound, refused in the DPoP scheme.
    let plain = plain_token();
    let p = proof(&key, "GET", "https://api.example.com/a", &plain, |_| {});
    let err = send(&auth, "GET", "/a", &format!("DPoP {plain}"), Some(&p))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &AuthErrorKind::InvalidToken(InvalidToken::NotDpopBound)
    );
    assert!(
        err.www_authenticate()
            .starts_with("DPoP error=\"invalid_token\"")
    );
    // A plain bearer token with a proof is ambiguous: 400.
    let err = send(&auth, "GET", "/a", &format!("Bearer {plain}"), Some(&p))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    // Without DPoP configured, a bound token is refused whatever the scheme.
    let off = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .build()
        .unwrap();
    let err = send(&off, "GET", "/a", &format!("Bearer {token}"), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &AuthErrorKind::InvalidToken(InvalidToken::SenderConstrained)
    );
    assert_eq!(
        send(&off, "GET", "/a", &format!("DPoP {token}"), Some(&p))
            .await
            .unwrap_err()
            .status(),
        401
    );
    // A `cnf` that is not a lone `jkt` (mTLS binding) stays refused with DPoP on.
    let mtls = mint::hs256(
        SECRET,
        &json!({"sub": "a", "exp": now() + 60, "cnf": {"x5t#S256": "abc"}}),
    )
    .unwrap();
    let p = proof(&key, "GET", "https://api.example.com/a", &mtls, |_| {});
    let err = send(&auth, "GET", "/a", &format!("DPoP {mtls}"), Some(&p))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &AuthErrorKind::InvalidToken(InvalidToken::SenderConstrained)
    );
}

#[tokio::test]
async fn dpop_modes_allowed_and_required() {
    let allowed = auth(Dpop::allowed());
    let required = auth(Dpop::required());
    let plain = format!("Bearer {}", plain_token());
    assert!(send(&allowed, "GET", "/a", &plain, None).await.is_ok());
    let err = send(&required, "GET", "/a", &plain, None)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &AuthErrorKind::InvalidToken(InvalidToken::DpopRequired)
    );
    assert!(
        err.www_authenticate()
            .starts_with("DPoP error=\"invalid_token\"")
    );
    // No credential: both schemes offered when allowed, only DPoP when required.
    let none = SimpleRequest::new("GET", "/a");
    assert_eq!(
        allowed
            .authenticate(&none)
            .await
            .unwrap_err()
            .www_authenticate(),
        "Bearer realm=\"api\", DPoP algs=\"ES256 ES384 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA\""
    );
    assert_eq!(
        required
            .authenticate(&none)
            .await
            .unwrap_err()
            .www_authenticate(),
        "DPoP algs=\"ES256 ES384 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA\""
    );
    let key = p256();
    let token = bound_token(&key);
    let p = proof(&key, "GET", "https://api.example.com/a", &token, |_| {});
    assert!(
        send(&required, "GET", "/a", &format!("DPoP {token}"), Some(&p))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn dpop_server_nonce_is_demanded_then_accepted() {
    let nonces = DpopNonces::new([3u8; 32], Duration::from_secs(300)).unwrap();
    let auth = auth(Dpop::allowed().nonces(nonces));
    let key = p256();
    let token = bound_token(&key);
    let dpop = format!("DPoP {token}");
    let url = "https://api.example.com/a";
    let err = send(
        &auth,
        "GET",
        "/a",
        &dpop,
        Some(&proof(&key, "GET", url, &token, |_| {})),
    )
    .await
    .unwrap_err();
    let nonce = err.dpop_nonce().expect("a nonce to use").to_owned();
    let res = ErrorResponse::new(&err);
    assert_eq!(res.status(), 401);
    assert!(res.headers().any(|(n, v)| n == "dpop-nonce" && v == nonce));
    assert!(
        err.www_authenticate()
            .starts_with("DPoP error=\"use_dpop_nonce\"")
    );
    // A made-up nonce is answered the same way.
    let forged = proof(&key, "GET", url, &token, |c| {
        c["nonce"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    });
    assert!(matches!(
        send(&auth, "GET", "/a", &dpop, Some(&forged))
            .await
            .unwrap_err()
            .kind(),
        AuthErrorKind::UseDpopNonce(_)
    ));
    let p = proof(&key, "GET", url, &token, |c| c["nonce"] = json!(nonce));
    assert!(send(&auth, "GET", "/a", &dpop, Some(&p)).await.is_ok());
}

#[tokio::test]
async fn dpop_origin_from_the_protected_resource_and_metadata_advertises_algs() {
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .protected_resource(ProtectedResourceMetadata::new(
            "https://api.example.com/mcp",
        ))
        .dpop(Dpop::required().algorithms([Algorithm::ES256, Algorithm::EdDSA]))
        .build()
        .unwrap();
    let doc = auth
        .authenticate(&SimpleRequest::new(
            "GET",
            "/.well-known/oauth-protected-resource/mcp",
        ))
        .await
        .unwrap();
    let Outcome::ResourceMetadata(json) = doc else {
        panic!("no metadata")
    };
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        doc["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA"])
    );
    assert_eq!(doc["dpop_bound_access_tokens_required"], json!(true));
    let key = p256();
    let token = mint::hs256(
        SECRET,
        &json!({"sub": "a", "exp": now() + 60, "aud": "https://api.example.com/mcp",
                "cnf": {"jkt": jwk_thumbprint(&key.jwk).unwrap()}}),
    )
    .unwrap();
    let p = proof(&key, "POST", "https://api.example.com/mcp", &token, |_| {});
    assert!(
        send(&auth, "POST", "/mcp", &format!("DPoP {token}"), Some(&p))
            .await
            .is_ok()
    );
    let err = send(&auth, "POST", "/mcp", &format!("DPoP {token}"), None)
        .await
        .unwrap_err();
    assert!(err.www_authenticate().ends_with(
        "algs=\"ES256 EdDSA\", resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource/mcp\""
    ));
    // ES384 is not in the list.
    let p384 = ProofKey {
        key: EncodingKey::from_ec_pem(include_bytes!("../fixtures/p384.key")).unwrap(),
        alg: Algorithm::ES384,
        jwk: json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}),
    };
    let (why, _) = rejection(
        send(
            &auth,
            "POST",
            "/mcp",
            &format!("DPoP {token}"),
            Some(&proof(
                &p384,
                "POST",
                "https://api.example.com/mcp",
                &token,
                |_| {},
            )),
        )
        .await,
    );
    assert_eq!(why, DpopRejection::AlgorithmNotAllowed);
}

#[test]
fn dpop_configuration_errors() {
    let build = |d: Dpop| {
        JwtAuth::builder()
            .dangerous_any_issuer()
            .verifier(StaticKeys::hs256(SECRET).unwrap())
            .dpop(d)
            .build()
            .map(|_| ())
    };
    assert!(build(Dpop::allowed()).is_err(), "no origin");
    assert!(build(Dpop::allowed().origin(HtuOrigin::Fixed("api.example.com".into()))).is_err());
    assert!(build(Dpop::allowed().origin(HtuOrigin::Host("ftp".into()))).is_err());
    assert!(
        build(
            Dpop::allowed()
                .origin(HtuOrigin::TrustedProxy)
                .algorithms([Algorithm::HS256])
        )
        .is_err()
    );
    assert!(
        build(
            Dpop::allowed()
                .origin(HtuOrigin::TrustedProxy)
                .algorithms([])
        )
        .is_err()
    );
    assert!(
        build(
            Dpop::allowed()
                .origin(HtuOrigin::TrustedProxy)
                .proof_lifetime(Duration::ZERO)
        )
        .is_err()
    );
    assert!(build(Dpop::allowed().origin(HtuOrigin::TrustedProxy)).is_ok());
}

/// A store that answers like a remote one: not in place.
#[derive(Debug, Default)]
struct RemoteLike(jwt_core::MemoryReplayStore);

#[async_trait::async_trait]
impl jwt_core::ReplayStore for RemoteLike {
    async fn first_use(
        &self,
        key: &[u8; 32],
        expires_at: u64,
    ) -> Result<bool, jwt_core::StoreError> {
        self.0.first_use(key, expires_at).await
    }
}

#[tokio::test]
async fn dpop_a_remote_replay_store_is_never_written_by_a_dropped_in_place_decision() {
    let key = p256();
    let token = bound_token(&key);
    let dpop = format!("DPoP {token}");
    let p = proof(&key, "GET", "https://api.example.com/a", &token, |_| {});
    let req = SimpleRequest::new("GET", "/a")
        .header("Authorization", &dpop)
        .header("DPoP", &p);
    // In memory: decided in place.
    let local = auth(Dpop::allowed());
    assert!(matches!(
        local.verdict_now(&req),
        Ok(jwt_core::Verdict::Continue(_))
    ));
    // A store that may wait: the adapter is sent to the async path before anything is recorded.
    let remote = auth(Dpop::allowed().replay_store(RemoteLike::default()));
    assert!(remote.verdict_now(&req).is_err());
    assert!(remote.authenticate(&req).await.is_ok());
    let (why, _) = rejection(remote.authenticate(&req).await);
    assert_eq!(why, DpopRejection::Replayed);
}

#[tokio::test]
async fn dpop_unverifiable_or_ambiguous_cnf_is_refused() {
    let auth = auth(Dpop::allowed());
    let key = p256();
    for cnf in [
        json!(null),
        json!({"jkt": 5}),
        json!({"jkt": ""}),
        json!("x"),
        json!({}),
    ] {
        let token =
            mint::hs256(SECRET, &json!({"sub": "a", "exp": now() + 60, "cnf": cnf})).unwrap();
        let p = proof(&key, "GET", "https://api.example.com/a", &token, |_| {});
        for scheme in ["Bearer", "DPoP"] {
            let err = send(&auth, "GET", "/a", &format!("{scheme} {token}"), Some(&p))
                .await
                .unwrap_err();
            assert_eq!(
                err.kind(),
                &AuthErrorKind::InvalidToken(InvalidToken::SenderConstrained),
                "{cnf} {scheme}"
            );
        }
    }
}

#[test]
fn dpop_proof_lifetime_and_skew_are_bounded() {
    let build = |d: Dpop| {
        JwtAuth::builder()
            .dangerous_any_issuer()
            .verifier(StaticKeys::hs256(SECRET).unwrap())
            .dpop(d.origin(HtuOrigin::TrustedProxy))
            .build()
            .map(|_| ())
    };
    assert!(build(Dpop::allowed().proof_lifetime(jwt_core::MAX_DPOP_PROOF_LIFETIME)).is_ok());
    assert!(build(Dpop::allowed().proof_lifetime(Duration::from_secs(301))).is_err());
    assert!(build(Dpop::allowed().clock_skew(Duration::from_secs(61))).is_err());
}
