//! Proof that jwt-core never reaches jsonwebtoken's process-wide `CryptoProvider`.
//!
//! jsonwebtoken 11 panics at the first sign/verify when its backend features are both or neither
//! enabled. This test binary installs, as the process default, a provider whose every function
//! panics, then runs key loading, minting, verification and the engine for every algorithm
//! family. Any path of ours that went through the process default would panic here.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::crypto::{CryptoProvider, KeyUtils};
use jwt_core::{
    Algorithm, EncodingKey, Jwks, JwtAuth, SimpleRequest, StaticKeys, VerificationKey, mint,
};
use serde_json::json;

static PANICKING: CryptoProvider = CryptoProvider {
    signer_factory: |_, _| panic!("process-default CryptoProvider used for signing"),
    verifier_factory: |_, _| panic!("process-default CryptoProvider used for verifying"),
    key_utils: KeyUtils::new_unimplemented(),
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

#[tokio::test]
async fn no_path_reaches_the_process_default_provider() {
    PANICKING
        .install_default()
        .expect("this test binary installs the provider first");

    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = json!({"sub": "alice", "exp": exp});

    // HMAC through the builder (which also runs the backend self-test).
    let secret = [3u8; 32];
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(secret).unwrap())
        .build()
        .unwrap();
    let token = mint::hs256(&secret, &claims).unwrap();
    let bearer = format!("Bearer {token}");
    let req = SimpleRequest::new("GET", "/").header("Authorization", &bearer);
    assert!(auth.authenticate(&req).await.is_ok());

    // Every asymmetric family, keys from PEM and from a JWKS.
    let jwks = Jwks::from_json(std::str::from_utf8(&fixture("jwks.json")).unwrap()).unwrap();
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(jwks)
        .build()
        .unwrap();
    for (alg, private, kid, public) in [
        (Algorithm::RS256, "rsa2048.key", "rsa-1", "rsa2048.pub.pem"),
        (Algorithm::ES256, "p256.key", "ec-1", "p256.pub.pem"),
        (Algorithm::EdDSA, "ed25519.key", "ed-1", "ed25519.pub.pem"),
    ] {
        let pem = fixture(private);
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            _ => EncodingKey::from_ed_pem(&pem),
        }
        .unwrap();
        let token = mint::sign(alg, &key, Some(kid), None, &claims).unwrap();
        let bearer = format!("Bearer {token}");
        let req = SimpleRequest::new("GET", "/").header("Authorization", &bearer);
        assert!(auth.authenticate(&req).await.is_ok(), "{alg:?}");
        let from_pem = VerificationKey::from_pem(alg, &fixture(public)).unwrap();
        let static_auth = JwtAuth::builder()
            .dangerous_any_issuer()
            .verifier(StaticKeys::new(vec![from_pem]).unwrap())
            .build()
            .unwrap();
        assert!(static_auth.authenticate(&req).await.is_ok(), "{alg:?} PEM");
    }
}
