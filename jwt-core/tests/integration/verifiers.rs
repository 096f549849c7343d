//! Key formats, every algorithm, JWK Sets, the environment, API keys and the insecure verifier,
//! exercised through the public engine.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use jwt_core::{
    Algorithm, ApiKeys, AuthError, ConfigError, EncodingKey, InvalidToken, JwkDefaults, Jwks,
    JwtAuth, KeyChain, Outcome, SimpleRequest, StaticKeys, TokenKind, VerificationKey, Verified,
    Verifier, VerifyError, mint,
};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims() -> Value {
    json!({"sub": "alice", "exp": now() + 600, "scopes": ["agents:read"]})
}

fn signing_key(alg: Algorithm, file: &str) -> EncodingKey {
    let pem = read(file);
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => EncodingKey::from_rsa_pem(&pem).unwrap(),
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&pem).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem).unwrap(),
        _ => unreachable!(),
    }
}

fn token(alg: Algorithm, file: &str, kid: Option<&str>, claims: &Value) -> String {
    mint::sign(alg, &signing_key(alg, file), kid, Some("JWT"), claims).unwrap()
}

async fn run(auth: &JwtAuth, token: &str) -> Result<Outcome, AuthError> {
    let header = format!("Bearer {token}");
    let req = SimpleRequest::new("GET", "/anything").header("Authorization", &header);
    auth.authenticate(&req).await
}

fn auth(verifier: impl Verifier + 'static) -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(verifier)
        .build()
        .unwrap()
}

async fn user_of(auth: &JwtAuth, token: &str) -> Result<String, u16> {
    match run(auth, token).await {
        Ok(o) => Ok(o.context().unwrap().user_id().unwrap().to_owned()),
        Err(e) => Err(e.status()),
    }
}

const ASYM: [(Algorithm, &str, &str); 9] = [
    (Algorithm::RS256, "rsa2048.key", "rsa2048.pub.pem"),
    (Algorithm::RS384, "rsa2048.key", "rsa2048.pub.pem"),
    (Algorithm::RS512, "rsa2048.key", "rsa2048.pub.pem"),
    (Algorithm::PS256, "rsa2048.key", "rsa2048.pub.pem"),
    (Algorithm::PS384, "rsa2048.key", "rsa2048.pub.pem"),
    (Algorithm::PS512, "rsa2048.key", "rsa2048.pub.pem"),
    (Algorithm::ES256, "p256.key", "p256.pub.pem"),
    (Algorithm::ES384, "p384.key", "p384.pub.pem"),
    (Algorithm::EdDSA, "ed25519.key", "ed25519.pub.pem"),
];

#[tokio::test]
async fn every_asymmetric_algorithm_verifies_from_pem() {
    for (alg, private, public) in ASYM {
        let a = auth(StaticKeys::pem(alg, read(public)).unwrap());
        let t = token(alg, private, None, &claims());
        assert_eq!(user_of(&a, &t).await, Ok("alice".into()), "{alg:?}");
    }
}

#[tokio::test]
async fn every_hmac_algorithm_verifies() {
    for (alg, len) in [
        (Algorithm::HS256, 32),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        let secret = vec![0x42u8; len];
        let a = auth(StaticKeys::hmac(alg, &secret).unwrap());
        let t = mint::sign(
            alg,
            &EncodingKey::from_secret(&secret),
            None,
            None,
            &claims(),
        )
        .unwrap();
        assert_eq!(user_of(&a, &t).await, Ok("alice".into()), "{alg:?}");
        let short = vec![0x42u8; len - 1];
        assert!(
            matches!(StaticKeys::hmac(alg, &short), Err(ConfigError::WeakHmacSecret { min, .. }) if min == len)
        );
    }
}

#[tokio::test]
async fn a_key_verifies_only_its_own_algorithm() {
    let a = auth(StaticKeys::pem(Algorithm::RS256, read("rsa2048.pub.pem")).unwrap());
    for alg in [Algorithm::RS384, Algorithm::PS256] {
        let t = token(alg, "rsa2048.key", None, &claims());
        let err = run(&a, &t).await.unwrap_err();
        assert_eq!(err.status(), 401);
        assert_eq!(
            err.kind(),
            &jwt_core::AuthErrorKind::InvalidToken(InvalidToken::AlgorithmNotAllowed)
        );
    }
}

#[tokio::test]
async fn rsa_key_formats_pkcs1_spki_der_and_jwk_are_equivalent() {
    let t = token(Algorithm::RS256, "rsa2048.key", None, &claims());
    let pkcs1 =
        VerificationKey::from_pem(Algorithm::RS256, &read("rsa2048.pkcs1.pub.pem")).unwrap();
    let der = VerificationKey::from_der(Algorithm::RS256, &read("rsa2048.pub.der")).unwrap();
    let jwks: Value = serde_json::from_slice(&read("jwks.json")).unwrap();
    let jwk = VerificationKey::from_jwk(&jwks["keys"][0], JwkDefaults::default(), false).unwrap();
    assert_eq!(jwk.kid(), Some("rsa-1"));
    for key in [pkcs1, der, jwk] {
        let a = auth(StaticKeys::new(vec![key]).unwrap());
        assert_eq!(user_of(&a, &t).await, Ok("alice".into()));
    }
}

#[test]
fn weak_or_wrong_keys_are_config_errors() {
    assert!(matches!(
        StaticKeys::pem(Algorithm::RS256, read("rsa1024.pub.pem")),
        Err(ConfigError::WeakRsaKey { bits: 1024 })
    ));
    let weak: Value = serde_json::from_slice(&read("rsa1024.jwk.json")).unwrap();
    assert!(VerificationKey::from_jwk(&weak, JwkDefaults::default(), false).is_err());
    // A P-384 key for ES256, an EC key for RS256, garbage, a private key.
    assert!(StaticKeys::pem(Algorithm::ES256, read("p384.pub.pem")).is_err());
    assert!(StaticKeys::pem(Algorithm::RS256, read("p256.pub.pem")).is_err());
    assert!(StaticKeys::pem(Algorithm::EdDSA, b"not a pem").is_err());
    assert!(StaticKeys::pem(Algorithm::RS256, read("rsa2048.key")).is_err());
    assert!(matches!(
        StaticKeys::pem(Algorithm::HS256, read("rsa2048.pub.pem")),
        Err(ConfigError::KeyAlgorithmMismatch { .. })
    ));
    assert!(matches!(
        VerificationKey::hmac(Algorithm::RS256, &[0; 64]),
        Err(ConfigError::KeyAlgorithmMismatch { .. })
    ));
    assert!(matches!(
        StaticKeys::pem_file(Algorithm::RS256, "/nonexistent/key.pem"),
        Err(ConfigError::Io { .. })
    ));
    assert!(matches!(
        StaticKeys::new(vec![]),
        Err(ConfigError::NoKeySource)
    ));
}

#[test]
fn mixing_hmac_and_asymmetric_keys_is_refused() {
    let keys = vec![
        VerificationKey::hmac(Algorithm::HS256, &[1; 32]).unwrap(),
        VerificationKey::from_pem(Algorithm::RS256, &read("rsa2048.pub.pem")).unwrap(),
    ];
    assert!(matches!(
        StaticKeys::new(keys),
        Err(ConfigError::MixedAlgorithmFamilies)
    ));
}

#[tokio::test]
async fn static_keys_try_kid_first_then_in_order() {
    let old = VerificationKey::hmac(Algorithm::HS256, &[1; 32])
        .unwrap()
        .with_kid("old");
    let new = VerificationKey::hmac(Algorithm::HS256, &[2; 32])
        .unwrap()
        .with_kid("new");
    let a = auth(StaticKeys::new(vec![old, new]).unwrap());
    let sign = |secret: u8, kid: Option<&str>| {
        mint::sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(&[secret; 32]),
            kid,
            None,
            &claims(),
        )
        .unwrap()
    };
    assert!(run(&a, &sign(2, Some("new"))).await.is_ok());
    assert!(
        run(&a, &sign(2, None)).await.is_ok(),
        "no kid: tried in order"
    );
    assert!(
        run(&a, &sign(1, Some("unknown"))).await.is_ok(),
        "unknown kid: in order"
    );
    // A kid names exactly one key: the other key's secret does not verify under it.
    assert_eq!(
        run(&a, &sign(1, Some("new"))).await.unwrap_err().status(),
        401
    );
    assert_eq!(run(&a, &sign(3, None)).await.unwrap_err().status(), 401);
}

#[tokio::test]
async fn jwks_file_selects_by_kid() {
    let jwks = Jwks::from_file(fixture("jwks.json")).unwrap();
    assert_eq!(jwks.kids(), ["rsa-1", "ec-1", "ec-384", "ed-1"]);
    let a = auth(jwks);
    for (alg, private, kid) in [
        (Algorithm::RS256, "rsa2048.key", "rsa-1"),
        (Algorithm::ES256, "p256.key", "ec-1"),
        (Algorithm::ES384, "p384.key", "ec-384"),
        (Algorithm::EdDSA, "ed25519.key", "ed-1"),
    ] {
        let t = token(alg, private, Some(kid), &claims());
        assert_eq!(user_of(&a, &t).await, Ok("alice".into()), "{kid}");
        let unknown = token(alg, private, Some("nope"), &claims());
        assert_eq!(user_of(&a, &unknown).await, Err(401));
    }
    // A kid whose key has another algorithm.
    let t = token(Algorithm::PS256, "rsa2048.key", Some("rsa-1"), &claims());
    assert_eq!(user_of(&a, &t).await, Err(401));
    // No kid: exactly one key per algorithm here, so it is found.
    let t = token(Algorithm::EdDSA, "ed25519.key", None, &claims());
    assert_eq!(user_of(&a, &t).await, Ok("alice".into()));
}

#[tokio::test]
async fn jwks_without_kid_and_two_candidates_is_ambiguous() {
    let set: Value = serde_json::from_slice(&read("jwks.json")).unwrap();
    let other: Value = serde_json::from_slice(&read("rsa2048b.jwk.json")).unwrap();
    let doc = json!({"keys": [set["keys"][0], other]});
    let a = auth(Jwks::from_json(&doc.to_string()).unwrap());
    let t = token(Algorithm::RS256, "rsa2048.key", None, &claims());
    assert_eq!(user_of(&a, &t).await, Err(401));
    let t = token(Algorithm::RS256, "rsa2048b.key", Some("rsa-2"), &claims());
    assert_eq!(user_of(&a, &t).await, Ok("alice".into()));
}

#[tokio::test]
async fn duplicate_kid_in_jwks_matches_nothing() {
    let set: Value = serde_json::from_slice(&read("jwks.json")).unwrap();
    let mut other: Value = serde_json::from_slice(&read("rsa2048b.jwk.json")).unwrap();
    other["kid"] = json!("rsa-1");
    let doc = json!({"keys": [set["keys"][0], other]});
    let a = auth(Jwks::from_json(&doc.to_string()).unwrap());
    for private in ["rsa2048.key", "rsa2048b.key"] {
        let t = token(Algorithm::RS256, private, Some("rsa-1"), &claims());
        assert_eq!(user_of(&a, &t).await, Err(401), "{private}");
    }
}

#[test]
fn jwks_documents_are_checked() {
    for bad in [
        "",
        "not json",
        "[]",
        r#"{"keys": {}}"#,
        r#"{"nokeys": []}"#,
        r#"{"keys": [], "keys": []}"#,
    ] {
        assert!(
            matches!(Jwks::from_json(bad), Err(ConfigError::InvalidJwks { .. })),
            "{bad:?}"
        );
    }
    assert!(matches!(
        Jwks::from_json(r#"{"keys": []}"#),
        Err(ConfigError::EmptyJwks)
    ));
    // Unusable keys are skipped; a set with nothing usable is an error.
    let unusable = json!({"keys": [
        {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"},
        {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "Ed448", "x": "AA"},
        {"kty": "AES", "k": "AA"},
        {"kty": "oct", "k": "AAAA"},
        {"no": "kty"}
    ]});
    assert!(matches!(
        Jwks::from_json(&unusable.to_string()),
        Err(ConfigError::EmptyJwks)
    ));
    // Private material refuses the whole set.
    let mut private: Value = serde_json::from_slice(&read("jwks.json")).unwrap();
    private["keys"][1]["d"] = json!("AAAA");
    assert!(matches!(
        Jwks::from_json(&private.to_string()),
        Err(ConfigError::InvalidJwks { .. })
    ));
    assert!(matches!(
        Jwks::from_file("/nonexistent/jwks.json"),
        Err(ConfigError::Io { .. })
    ));
    let msg = Jwks::from_file(fixture("README.md"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("README.md"), "{msg}");
}

#[test]
fn jwk_use_key_ops_and_alg_are_honoured() {
    let base: Value = serde_json::from_slice(&read("jwks.json")).unwrap();
    let rsa = &base["keys"][0];
    let d = JwkDefaults::default();
    let with = |k: &str, v: Value| {
        let mut j = rsa.clone();
        j[k] = v;
        VerificationKey::from_jwk(&j, d, false)
    };
    assert!(with("use", json!("enc")).is_err());
    assert!(with("key_ops", json!(["encrypt"])).is_err());
    assert!(with("key_ops", json!(["verify"])).is_ok());
    assert!(with("alg", json!("RSA-OAEP")).is_err());
    assert!(with("alg", json!("ES256")).is_err());
    assert_eq!(
        with("alg", json!("PS512")).unwrap().algorithm(),
        Algorithm::PS512
    );
    let mut no_alg = rsa.clone();
    no_alg.as_object_mut().unwrap().remove("alg");
    let key = VerificationKey::from_jwk(&no_alg, d.rsa(Algorithm::PS256), false).unwrap();
    assert_eq!(key.algorithm(), Algorithm::PS256);
    // EC: the curve decides, and must agree with `alg`.
    let mut ec = base["keys"][1].clone();
    ec["alg"] = json!("ES384");
    assert!(VerificationKey::from_jwk(&ec, d, false).is_err());
    // oct keys only when allowed, with the HMAC length rule.
    let oct = json!({"kty": "oct", "k": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
    assert!(VerificationKey::from_jwk(&oct, d, false).is_err());
    assert_eq!(
        VerificationKey::from_jwk(&oct, d, true)
            .unwrap()
            .algorithm(),
        Algorithm::HS256
    );
    let short = json!({"kty": "oct", "k": "AAAA"});
    assert!(VerificationKey::from_jwk(&short, d, true).is_err());
}

#[tokio::test]
async fn symmetric_jwks_works_when_the_whole_set_is_oct() {
    let secret = [9u8; 32];
    let k = base64_url(&secret);
    let doc = json!({"keys": [{"kty": "oct", "kid": "s1", "k": k}]});
    let a = auth(Jwks::from_json(&doc.to_string()).unwrap());
    let t = mint::sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(&secret),
        Some("s1"),
        None,
        &claims(),
    )
    .unwrap();
    assert_eq!(user_of(&a, &t).await, Ok("alice".into()));
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn environment_lookup_reads_the_three_variables() {
    let secret = "x".repeat(40);
    let chain =
        KeyChain::from_lookup(|v| (v == "JWT_VERIFICATION_KEY").then(|| secret.clone())).unwrap();
    let a = auth(chain);
    assert!(
        run(&a, &mint::hs256(secret.as_bytes(), &claims()).unwrap())
            .await
            .is_ok()
    );

    let pem = String::from_utf8(read("p256.pub.pem")).unwrap();
    let chain =
        KeyChain::from_lookup(|v| (v == "JWT_VERIFICATION_KEY").then(|| pem.clone())).unwrap();
    let t = token(Algorithm::ES256, "p256.key", None, &claims());
    assert!(run(&auth(chain), &t).await.is_ok(), "PEM type picks ES256");

    let file = fixture("jwks.json").display().to_string();
    let chain = KeyChain::from_lookup(|v| (v == "JWT_JWKS_FILE").then(|| file.clone())).unwrap();
    let t = token(Algorithm::EdDSA, "ed25519.key", Some("ed-1"), &claims());
    assert!(run(&auth(chain), &t).await.is_ok());

    let inline = String::from_utf8(read("jwks.json")).unwrap();
    let chain = KeyChain::from_lookup(|v| (v == "JWT_JWKS").then(|| inline.clone())).unwrap();
    assert!(run(&auth(chain), &t).await.is_ok());

    assert!(matches!(
        KeyChain::from_lookup(|_| None),
        Err(ConfigError::NoKeySource)
    ));
    assert!(matches!(
        KeyChain::from_lookup(|v| (v == "JWT_VERIFICATION_KEY").then(|| "short".to_owned())),
        Err(ConfigError::WeakHmacSecret { .. })
    ));
    assert!(matches!(
        KeyChain::from_lookup(|v| match v {
            "JWT_VERIFICATION_KEY" => Some("y".repeat(40)),
            "JWT_ALGORITHM" => Some("HS999".into()),
            _ => None,
        }),
        Err(ConfigError::Env { .. })
    ));
    assert!(matches!(
        KeyChain::from_lookup(|v| (v == "JWT_JWKS_FILE").then(|| "/nope.json".to_owned())),
        Err(ConfigError::Io { .. })
    ));
}

/// A verifier that gives one fixed answer and counts how often it was asked.
#[derive(Debug)]
struct Fixed {
    answer: Result<(), VerifyError>,
    calls: AtomicUsize,
}

impl Fixed {
    fn accepting() -> Arc<Self> {
        Arc::new(Self {
            answer: Ok(()),
            calls: AtomicUsize::new(0),
        })
    }

    fn refusing(error: impl Into<VerifyError>) -> Arc<Self> {
        Arc::new(Self {
            answer: Err(error.into()),
            calls: AtomicUsize::new(0),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Verifier for Fixed {
    async fn verify(&self, _token: &str) -> Result<Verified, VerifyError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.answer.clone()?;
        let claims = json!({"sub": "fixed", "exp": now() + 600});
        Ok(Verified::new(
            TokenKind::Jwt,
            claims.as_object().unwrap().clone(),
        ))
    }
}

fn chain_of(verifiers: &[&Arc<Fixed>]) -> KeyChain {
    verifiers.iter().fold(KeyChain::new(), |chain, v| {
        chain.with_shared(Arc::clone(v) as _)
    })
}

#[tokio::test]
async fn key_chain_tries_each_verifier_and_stops_on_expired() {
    // Static keys: the chain moves on past a key that does not verify.
    let a_secret = [1u8; 32];
    let b_secret = [2u8; 32];
    let chain = KeyChain::new()
        .with(StaticKeys::hs256(a_secret).unwrap())
        .with(StaticKeys::hs256(b_secret).unwrap());
    let a = auth(chain);
    assert!(
        run(&a, &mint::hs256(&b_secret, &claims()).unwrap())
            .await
            .is_ok()
    );
    let err = run(&a, &mint::hs256(&[3u8; 32], &claims()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.detail(), "Invalid token: signature verification failed");
    // An expired token signed by the first key: the chain verifies the signature, the engine's
    // claim validation refuses it.
    let expired = json!({"sub": "x", "exp": now() - 3600});
    let err = run(&a, &mint::hs256(&a_secret, &expired).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.detail(), "Token has expired");

    // A verifier that reports the token expired (one that checks claims itself; the built-ins
    // leave `exp` to the engine) ends the search, even with a verifier behind it that would
    // accept the token (agno's rule: an expired token whose signature verified is not retried
    // with other keys).
    let expired = Fixed::refusing(InvalidToken::Expired);
    let accepting = Fixed::accepting();
    let chain = chain_of(&[&expired, &accepting]);
    assert_eq!(
        chain.verify("any").await.unwrap_err(),
        VerifyError::Invalid(InvalidToken::Expired)
    );
    assert_eq!((expired.calls(), accepting.calls()), (1, 0));
    // The engine renders it as such.
    let err = run(&auth(chain), &mint::hs256(&a_secret, &claims()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.detail().into_owned()),
        (401, "Token has expired".into())
    );
    assert_eq!(accepting.calls(), 0);

    // Expired also wins over failures before it, which are not reported.
    let bad = Fixed::refusing(InvalidToken::BadSignature);
    let (expired, accepting) = (Fixed::refusing(InvalidToken::Expired), Fixed::accepting());
    assert_eq!(
        chain_of(&[&bad, &expired, &accepting])
            .verify("any")
            .await
            .unwrap_err(),
        VerifyError::Invalid(InvalidToken::Expired)
    );
    assert_eq!((bad.calls(), expired.calls(), accepting.calls()), (1, 1, 0));

    // Every other refusal moves on to the next verifier.
    for refusal in [
        VerifyError::Invalid(InvalidToken::BadSignature),
        VerifyError::Invalid(InvalidToken::UnknownKey),
        VerifyError::Invalid(InvalidToken::AlgorithmNotAllowed),
        VerifyError::Invalid(InvalidToken::NotYetValid),
        VerifyError::Unavailable,
    ] {
        let (first, second) = (Fixed::refusing(refusal.clone()), Fixed::accepting());
        let verified = chain_of(&[&first, &second]).verify("any").await;
        assert!(verified.is_ok(), "{refusal:?}: {verified:?}");
        assert_eq!((first.calls(), second.calls()), (1, 1), "{refusal:?}");
    }

    // Nobody accepts: the most telling failure is reported, whatever the order.
    let refusals = [
        Fixed::refusing(InvalidToken::AlgorithmNotAllowed),
        Fixed::refusing(InvalidToken::UnknownKey),
        Fixed::refusing(VerifyError::Unavailable),
        Fixed::refusing(InvalidToken::BadSignature),
    ];
    let [alg, kid, unavailable, signature] = &refusals;
    for (order, expected) in [
        (vec![alg, kid], InvalidToken::UnknownKey.into()),
        (vec![kid, alg], InvalidToken::UnknownKey.into()),
        (vec![alg, unavailable, kid], VerifyError::Unavailable),
        (
            vec![signature, unavailable, kid, alg],
            InvalidToken::BadSignature.into(),
        ),
        (
            vec![alg, kid, unavailable, signature],
            InvalidToken::BadSignature.into(),
        ),
    ] {
        let got: VerifyError = chain_of(&order).verify("any").await.unwrap_err();
        assert_eq!(got, expected, "{order:?}");
    }
}

#[tokio::test]
async fn api_keys_compare_and_inject_claims() {
    let keys = ApiKeys::new()
        .key(
            "ci-key-0123456789",
            json!({"sub": "ci", "scopes": ["agents:read"]}),
        )
        .unwrap();
    assert!(!format!("{keys:?}").contains("ci-key"));
    let v = keys.verify("ci-key-0123456789").await.unwrap();
    assert_eq!(v.claims["sub"], "ci");
    assert_eq!(
        keys.verify("ci-key-012345678").await.unwrap_err(),
        VerifyError::Invalid(InvalidToken::BadApiKey)
    );
    let a = auth(keys);
    let req = SimpleRequest::new("GET", "/x").header("Authorization", "Bearer ci-key-0123456789");
    let ctx = a.authenticate(&req).await.unwrap().into_context().unwrap();
    assert_eq!(ctx.user_id(), Some("ci"));
    let bad = SimpleRequest::new("GET", "/x").header("Authorization", "Bearer wrong");
    assert_eq!(
        a.authenticate(&bad).await.unwrap_err().detail(),
        "Invalid authentication token"
    );
}

#[tokio::test]
async fn insecure_verifier_skips_only_the_signature() {
    let a = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(jwt_core::dangerous::InsecureNoSignature::new_for_development_only())
        .audience("os")
        .build()
        .unwrap();
    let forged = mint::hs256(
        &[7u8; 32],
        &json!({"sub": "u", "aud": "os", "exp": now() + 60}),
    )
    .unwrap();
    assert!(run(&a, &forged).await.is_ok());
    let expired = mint::hs256(
        &[7u8; 32],
        &json!({"sub": "u", "aud": "os", "exp": now() - 60}),
    )
    .unwrap();
    assert_eq!(
        run(&a, &expired).await.unwrap_err().detail(),
        "Token has expired"
    );
    let wrong_aud = mint::hs256(
        &[7u8; 32],
        &json!({"sub": "u", "aud": "x", "exp": now() + 60}),
    )
    .unwrap();
    assert_eq!(run(&a, &wrong_aud).await.unwrap_err().status(), 401);
    let future = mint::hs256(
        &[7u8; 32],
        &json!({"aud": "os", "exp": now() + 600, "nbf": now() + 300}),
    )
    .unwrap();
    assert_eq!(run(&a, &future).await.unwrap_err().status(), 401);
    for malformed in ["abc", "a.b", "a.b.c", "a.b.c.d"] {
        assert_eq!(
            run(&a, malformed).await.unwrap_err().status(),
            401,
            "{malformed}"
        );
    }
}

#[tokio::test]
async fn verifiers_and_the_engine_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<JwtAuth>();
    let secret = [5u8; 32];
    let a = auth(StaticKeys::hs256(secret).unwrap());
    let mut handles = Vec::new();
    for i in 0..4 {
        let a = a.clone();
        handles.push(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let t =
                mint::hs256(&secret, &json!({"sub": format!("u{i}"), "exp": now() + 60})).unwrap();
            rt.block_on(user_of(&a, &t))
        }));
    }
    let users: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        users,
        [
            Ok("u0".into()),
            Ok("u1".into()),
            Ok("u2".into()),
            Ok("u3".into())
        ]
    );
}

#[test]
fn debug_output_redacts_key_material() {
    let secret = b"super-secret-hmac-key-material-123456";
    let keys = StaticKeys::hs256(secret).unwrap();
    let a = auth(keys.clone());
    for text in [format!("{keys:?}"), format!("{a:?}")] {
        assert!(!text.contains("super-secret"), "{text}");
    }
    let rsa = VerificationKey::from_pem(Algorithm::RS256, &read("rsa2048.pub.pem")).unwrap();
    assert!(format!("{rsa:?}").contains("<redacted>"));
}

#[test]
fn public_key_material_is_never_an_hmac_secret() {
    let pem = read("rsa2048.pub.pem");
    let der = read("rsa2048.pub.der");
    let jwk = serde_json::to_vec(&json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})).unwrap();
    let body: String = String::from_utf8(pem.clone())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let ssh = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@host";
    for (what, secret) in [
        ("PEM", pem.clone()),
        ("DER", der),
        ("JWK", jwk),
        ("PEM body", body.into_bytes()),
        ("OpenSSH", ssh.to_vec()),
    ] {
        assert!(
            matches!(
                VerificationKey::hmac(Algorithm::HS256, &secret),
                Err(ConfigError::InvalidKey { what: "HMAC", .. })
            ),
            "{what}"
        );
    }
    // A JWK in JWT_VERIFICATION_KEY is read as the key it is.
    let jwks: Value = serde_json::from_slice(&read("jwks.json")).unwrap();
    let text = jwks["keys"][3].to_string();
    let chain =
        KeyChain::from_lookup(|v| (v == "JWT_VERIFICATION_KEY").then(|| text.clone())).unwrap();
    assert_eq!(chain.len(), 1);
    // Ordinary secrets are still fine.
    assert!(VerificationKey::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef").is_ok());
    assert!(VerificationKey::hmac(Algorithm::HS256, &[0x30; 40]).is_ok());
}

#[test]
fn ed25519_public_key_der_is_refused_but_random_32_byte_secrets_are_not() {
    let ed_spki = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        String::from_utf8(read("ed25519.pub.pem"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>(),
    )
    .unwrap();
    assert_eq!(ed_spki.len(), 44);
    assert!(VerificationKey::hmac(Algorithm::HS256, &ed_spki).is_err());
    for fill in [0x30u8, b'0', 0xff] {
        assert!(
            VerificationKey::hmac(Algorithm::HS256, &[fill; 32]).is_ok(),
            "{fill}"
        );
    }
}
