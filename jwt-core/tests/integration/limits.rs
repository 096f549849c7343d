//! Limits and redaction: `Debug` of every public configuration type shows no key material or token
//! text, and every bound (token length, header length, JSON nesting, JWKS size) is tested at the
//! limit and just past it.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jwt_core::{
    Algorithm, ApiKeys, AuthError, AuthErrorKind, ConfigError, DEFAULT_MAX_TOKEN_LEN, EncodingKey,
    InvalidToken, Jwks, JwtAuth, KeyChain, Outcome, SimpleRequest, StaticKeys, Validation,
    VerificationKey, mint,
};
use serde_json::{Value, json};

/// The JWKS size bound (`keys::jwk_set::MAX_JWKS_KEYS`, crate-private), for files and remote sets.
const MAX_JWKS_KEYS: usize = 100;

const SECRET: &[u8] = b"limits-secret-0123456789-abcdefghijklmnop";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hs256_auth() -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .build()
        .unwrap()
}

fn sign(claims: &Value) -> String {
    mint::hs256(SECRET, claims).unwrap()
}

async fn with_header(auth: &JwtAuth, value: &str) -> Result<Outcome, AuthError> {
    let req = SimpleRequest::new("GET", "/anything").header("Authorization", value);
    auth.authenticate(&req).await
}

async fn bearer(auth: &JwtAuth, token: &str) -> Result<Outcome, AuthError> {
    with_header(auth, &format!("Bearer {token}")).await
}

fn is_too_long(result: &Result<Outcome, AuthError>) -> bool {
    match result {
        Err(e) => {
            e.status() == 401
                && *e.kind() == AuthErrorKind::InvalidToken(InvalidToken::TooLong)
                && e.detail() == "Invalid token: token is too long"
        }
        Ok(_) => false,
    }
}

/// A validly signed HS256 token of exactly `len` bytes: a filler claim absorbs most of the
/// difference and the `kid` length the rest (base64url lengths skip every value `≡ 1 mod 4`, so
/// the payload alone cannot reach every length).
fn token_of_len(len: usize) -> String {
    let key = EncodingKey::from_secret(SECRET);
    for kid_len in 1..=4 {
        let kid = "k".repeat(kid_len);
        let mut filler = (len * 3 / 4).saturating_sub(120);
        loop {
            let claims = json!({"sub": "alice", "exp": now() + 600, "pad": "p".repeat(filler)});
            let token = mint::sign(Algorithm::HS256, &key, Some(&kid), None, &claims).unwrap();
            if token.len() == len {
                return token;
            }
            if token.len() > len {
                break;
            }
            filler += 1;
        }
    }
    panic!("cannot build a token of {len} bytes");
}

// ---------------------------------------------------------------- redaction

/// Every encoding of `secret` a careless `Debug` could print.
fn encodings(secret: &[u8]) -> Vec<String> {
    let mut out = vec![
        URL_SAFE_NO_PAD.encode(secret),
        STANDARD.encode(secret),
        secret.iter().map(|b| format!("{b:02x}")).collect(),
        // `{:?}` of a byte slice: "[108, 105, ...".
        format!("{:?}", &secret[..secret.len().min(6)])
            .trim_end_matches(']')
            .to_owned(),
    ];
    if let Ok(text) = std::str::from_utf8(secret) {
        out.push(text.to_owned());
    }
    out
}

fn assert_redacted(what: &str, debug: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            s.len() < 8 || !debug.contains(s.as_str()),
            "{what} Debug shows secret text {s:?}: {debug}"
        );
    }
}

/// The secret parts of a token: the whole text and each segment.
fn token_parts(token: &str) -> Vec<String> {
    let mut out = vec![token.to_owned()];
    out.extend(token.split('.').map(str::to_owned));
    out
}

#[tokio::test]
async fn debug_output_shows_no_key_material_or_token() {
    let secrets = encodings(SECRET);

    let key = VerificationKey::hmac(Algorithm::HS256, SECRET)
        .unwrap()
        .with_kid("k1");
    assert_redacted("VerificationKey", &format!("{key:?}"), &secrets);
    assert!(format!("{key:?}").contains("k1"), "kid stays visible");

    let keys = StaticKeys::new(vec![key.clone()]).unwrap();
    assert_redacted("StaticKeys", &format!("{keys:?}"), &secrets);

    // An oct JWK Set and an RSA JWK Set.
    let oct_jwks = Jwks::from_json(
        &json!({"keys": [{"kty": "oct", "kid": "o1", "k": URL_SAFE_NO_PAD.encode(SECRET)}]})
            .to_string(),
    )
    .unwrap();
    assert_redacted("Jwks (oct)", &format!("{oct_jwks:?}"), &secrets);
    let rsa_jwk: Value = serde_json::from_slice(&fixture("rsa2048b.jwk.json")).unwrap();
    let n_b64 = rsa_jwk["n"].as_str().unwrap().to_owned();
    let n = URL_SAFE_NO_PAD.decode(&n_b64).unwrap();
    let mut rsa_material = encodings(&n);
    // Any 16-character window of the modulus text.
    rsa_material.extend(
        (0..n_b64.len() - 16)
            .step_by(16)
            .map(|i| n_b64[i..i + 16].to_owned()),
    );
    let rsa_jwks = Jwks::from_json(&json!({"keys": [rsa_jwk]}).to_string()).unwrap();
    let rsa_debug = format!("{rsa_jwks:?}");
    assert_redacted("Jwks (RSA)", &rsa_debug, &rsa_material);
    let pem_key = VerificationKey::from_pem(Algorithm::RS256, &fixture("rsa2048.pub.pem")).unwrap();
    let pem_body: String = String::from_utf8(fixture("rsa2048.pub.pem"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert_redacted(
        "VerificationKey (PEM)",
        &format!("{pem_key:?}"),
        &[pem_body[..32].to_owned(), pem_body[40..72].to_owned()],
    );

    let api_key = "api-key-super-secret-value-0123";
    let api = ApiKeys::new().key(api_key, json!({"sub": "ci"})).unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, api_key.as_bytes());
    let mut api_secrets = encodings(api_key.as_bytes());
    api_secrets.extend(encodings(digest.as_ref()));
    assert_redacted("ApiKeys", &format!("{api:?}"), &api_secrets);

    let chain = KeyChain::new()
        .with(StaticKeys::hs256(SECRET).unwrap())
        .with(oct_jwks.clone())
        .with(api.clone());
    let chain_debug = format!("{chain:?}");
    assert_redacted("KeyChain", &chain_debug, &secrets);
    assert_redacted("KeyChain", &chain_debug, &api_secrets);

    let token = sign(&json!({"sub": "alice", "exp": now() + 600, "scopes": ["agents:read"]}));
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(chain)
        .keep_token(true)
        .build()
        .unwrap();
    let auth_debug = format!("{auth:?}");
    assert_redacted("JwtAuth", &auth_debug, &secrets);
    assert_redacted("JwtAuth", &auth_debug, &api_secrets);

    // AuthContext keeps the token (keep_token) but never shows it.
    let ctx = bearer(&auth, &token).await.unwrap().into_context().unwrap();
    assert_eq!(ctx.token(), Some(token.as_str()));
    let parts = token_parts(&token);
    assert_redacted("AuthContext", &format!("{ctx:?}"), &parts);
    assert_redacted(
        "Outcome",
        &format!("{:?}", Outcome::Authenticated(ctx)),
        &parts,
    );

    // AuthError for refused tokens of every stage: bad signature, expired, malformed,
    // unsupported header, bad grammar, too long.
    let forged = {
        let (input, _) = token.rsplit_once('.').unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode([7u8; 32]))
    };
    let expired = sign(&json!({"sub": "alice", "exp": 1}));
    let crit = mint::sign_input(
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET),
        &format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","crit":["x"],"x":1}"#),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"alice"}"#)
        ),
    )
    .unwrap();
    let long = token_of_len(DEFAULT_MAX_TOKEN_LEN + 1);
    for (bad, header) in [
        (forged.clone(), format!("Bearer {forged}")),
        (expired.clone(), format!("Bearer {expired}")),
        (crit.clone(), format!("Bearer {crit}")),
        ("abc.def".to_owned(), "Bearer abc.def".to_owned()),
        (token.clone(), format!("Bearer {token} {token}")),
        (token.clone(), format!("Bearer\t{token}")),
        (token.clone(), format!("Basic {token}")),
        (long.clone(), format!("Bearer {long}")),
    ] {
        let err = with_header(&auth, &header).await.unwrap_err();
        let mut rendered = format!("{err:?}");
        rendered.push_str(&err.to_string());
        rendered.push_str(&err.body());
        rendered.push_str(&err.www_authenticate());
        assert_redacted("AuthError", &rendered, &token_parts(&bad));
        assert_redacted("AuthError", &rendered, &secrets);
    }

    // Configuration errors name the problem, never the secret.
    let weak = b"weak-but-distinctive";
    let err = StaticKeys::hs256(weak).unwrap_err();
    let rendered = format!("{err:?} {err}");
    assert_redacted("ConfigError", &rendered, &encodings(weak));
}

// ---------------------------------------------------------------- token and header length

#[tokio::test]
async fn token_of_exactly_max_length_passes_and_one_more_is_too_long() {
    let auth = hs256_auth();
    let at = token_of_len(DEFAULT_MAX_TOKEN_LEN);
    assert_eq!(at.len(), 8 * 1024);
    assert!(bearer(&auth, &at).await.is_ok(), "token of exactly 8 KiB");
    let past = token_of_len(DEFAULT_MAX_TOKEN_LEN + 1);
    assert_eq!(past.len(), 8 * 1024 + 1);
    assert!(is_too_long(&bearer(&auth, &past).await));

    // A configured maximum moves the boundary.
    let small = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .validation(Validation::default().max_token_len(600).unwrap())
        .build()
        .unwrap();
    assert!(bearer(&small, &token_of_len(600)).await.is_ok());
    assert!(is_too_long(&bearer(&small, &token_of_len(601)).await));
    let by_builder = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .max_token_len(500)
        .build()
        .unwrap();
    assert!(bearer(&by_builder, &token_of_len(500)).await.is_ok());
    assert!(is_too_long(&bearer(&by_builder, &token_of_len(501)).await));

    // Configuration bounds of the limit itself.
    assert!(matches!(
        Validation::default().max_token_len(0),
        Err(ConfigError::MaxTokenLengthOutOfRange(0))
    ));
    assert!(Validation::default().max_token_len(1024 * 1024).is_ok());
    assert!(
        Validation::default()
            .max_token_len(1024 * 1024 + 1)
            .is_err()
    );
}

#[tokio::test]
async fn authorization_header_longer_than_max_plus_scheme_is_too_long() {
    let auth = hs256_auth();
    let max = DEFAULT_MAX_TOKEN_LEN;
    // At the limit: "Bearer " + max bytes.
    let at = format!("Bearer {}", token_of_len(max));
    assert_eq!(at.len(), max + "Bearer ".len());
    assert!(with_header(&auth, &at).await.is_ok());
    // One byte more.
    let past = format!("Bearer {}", token_of_len(max + 1));
    assert_eq!(past.len(), max + "Bearer ".len() + 1);
    assert!(is_too_long(&with_header(&auth, &past).await));
    // Far past: 1 MB of token characters, and one million dots (CVE-2025-30204 shape).
    let huge = format!("Bearer {}", "a".repeat(1_000_000));
    assert!(is_too_long(&with_header(&auth, &huge).await));
    let dots = format!("Bearer {}", ".".repeat(1_000_000));
    assert!(is_too_long(&with_header(&auth, &dots).await));
    // Extra spaces between scheme and token do not count against the token.
    let spaced = format!("Bearer     {}", token_of_len(max));
    assert!(with_header(&auth, &spaced).await.is_ok());
}

// ---------------------------------------------------------------- JSON nesting

/// A claims set `{"sub":..,"exp":..,"deep":[[..]]}` whose total JSON depth (the claims object
/// counting as 1) is `depth`.
fn nested_token(depth: usize) -> String {
    let arrays = depth - 1;
    let payload = format!(
        r#"{{"sub":"alice","exp":{},"deep":{}{}}}"#,
        now() + 600,
        "[".repeat(arrays),
        "]".repeat(arrays)
    );
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    );
    mint::sign_input(Algorithm::HS256, &EncodingKey::from_secret(SECRET), &input).unwrap()
}

#[tokio::test]
async fn json_nesting_boundary_127_accepted_128_refused() {
    let auth = hs256_auth();
    // Found empirically and asserted exactly: serde_json's recursion limit of 128 counts every
    // array/object, the claims object included, and refuses the level that reaches it, so
    // depth 127 is the deepest accepted and 128 the first refused.
    for depth in [2, 64, 126, 127] {
        let t = nested_token(depth);
        assert!(bearer(&auth, &t).await.is_ok(), "depth {depth} accepted");
    }
    for depth in [128, 129, 1_000, 3_000] {
        let t = nested_token(depth);
        assert!(
            t.len() <= DEFAULT_MAX_TOKEN_LEN,
            "stays under the length cap"
        );
        let err = bearer(&auth, &t).await.unwrap_err();
        assert_eq!(err.status(), 401, "depth {depth}");
        assert_eq!(
            *err.kind(),
            AuthErrorKind::InvalidToken(InvalidToken::Malformed),
            "depth {depth}"
        );
    }
    // Nested objects count the same way as arrays.
    let objects = |depth: usize| {
        let payload = format!(
            r#"{{"sub":"alice","exp":{},"deep":{}1{}}}"#,
            now() + 600,
            r#"{"a":"#.repeat(depth - 1),
            "}".repeat(depth - 1)
        );
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        );
        mint::sign_input(Algorithm::HS256, &EncodingKey::from_secret(SECRET), &input).unwrap()
    };
    assert!(bearer(&auth, &objects(127)).await.is_ok());
    assert_eq!(
        bearer(&auth, &objects(128)).await.unwrap_err().status(),
        401
    );
    // Deep nesting in the header is refused the same way (the header is parsed before the
    // signature is checked).
    let header = format!(
        r#"{{"alg":"HS256","x":{}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"alice","exp":{}}}"#, now() + 600))
    );
    let t = mint::sign_input(Algorithm::HS256, &EncodingKey::from_secret(SECRET), &input).unwrap();
    assert_eq!(
        *bearer(&auth, &t).await.unwrap_err().kind(),
        AuthErrorKind::InvalidToken(InvalidToken::Malformed)
    );
}

// ---------------------------------------------------------------- JWKS size

/// The Ed25519 fixture's public key as a JWK `x`.
fn ed25519_x() -> String {
    let pem = String::from_utf8(fixture("ed25519.pub.pem")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap();
    URL_SAFE_NO_PAD.encode(&der[der.len() - 32..])
}

fn jwks_with(count: usize) -> String {
    let x = ed25519_x();
    let keys: Vec<Value> = (0..count)
        .map(|i| json!({"kty": "OKP", "crv": "Ed25519", "kid": format!("k{i}"), "x": x}))
        .collect();
    json!({ "keys": keys }).to_string()
}

fn is_too_many(err: &ConfigError) -> bool {
    matches!(err, ConfigError::InvalidJwks { reason, .. } if reason.contains("at most 100"))
}

#[tokio::test]
async fn jwks_holds_at_most_100_keys() {
    // 100 keys: accepted, and the last one verifies.
    let jwks = Jwks::from_json(&jwks_with(MAX_JWKS_KEYS)).unwrap();
    assert_eq!(jwks.keys().len(), MAX_JWKS_KEYS);
    let signing = EncodingKey::from_ed_pem(&fixture("ed25519.key")).unwrap();
    let claims = json!({"sub": "alice", "exp": now() + 600});
    let token = mint::sign(Algorithm::EdDSA, &signing, Some("k99"), None, &claims).unwrap();
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(jwks)
        .build()
        .unwrap();
    assert!(bearer(&auth, &token).await.is_ok());

    // 101 keys: refused whole, inline, from a file and from the environment.
    let too_many = jwks_with(MAX_JWKS_KEYS + 1);
    let err = Jwks::from_json(&too_many).unwrap_err();
    assert!(is_too_many(&err), "{err}");
    assert!(err.to_string().contains("101 keys"), "{err}");

    let dir = std::env::temp_dir().join(format!("jwt-core-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let at_limit = dir.join("jwks-100.json");
    let past_limit = dir.join("jwks-101.json");
    std::fs::write(&at_limit, jwks_with(MAX_JWKS_KEYS)).unwrap();
    std::fs::write(&past_limit, &too_many).unwrap();
    assert_eq!(Jwks::from_file(&at_limit).unwrap().keys().len(), 100);
    let err = Jwks::from_file(&past_limit).unwrap_err();
    assert!(is_too_many(&err), "{err}");
    assert!(
        matches!(&err, ConfigError::InvalidJwks { origin: Some(p), .. } if *p == past_limit),
        "names the file: {err}"
    );
    let path_text = past_limit.display().to_string();
    let err =
        KeyChain::from_lookup(|v| (v == "JWT_JWKS_FILE").then(|| path_text.clone())).unwrap_err();
    assert!(is_too_many(&err), "{err}");
    let err = KeyChain::from_lookup(|v| (v == "JWT_JWKS").then(|| too_many.clone())).unwrap_err();
    assert!(is_too_many(&err), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();

    // The bound counts entries, usable or not: 100 good keys plus one unusable entry is too many.
    let mut doc: Value = serde_json::from_str(&jwks_with(MAX_JWKS_KEYS)).unwrap();
    doc["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty": "unknown"}));
    assert!(is_too_many(&Jwks::from_json(&doc.to_string()).unwrap_err()));
}
