//! The attack and bad-input catalogue of `security.md` §2, one test per row that the core can
//! check, driven through the public engine (`JwtAuth::authenticate`) wherever possible.
//!
//! Every refusal is checked for its status, its RFC 6750 error code and for the absence of
//! library-internal text in `detail()` and `WWW-Authenticate`. Where our expected result differs
//! from the catalogue, a comment says why.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jwt_core::{
    Algorithm, AuthContext, AuthError, AuthErrorKind, ConfigError, InvalidToken, JwkDefaults,
    JwkRejection, Jwks, JwtAuth, KeyChain, Outcome, RouteTable, ScopeRules, SimpleRequest,
    StandardClaims, StaticKeys, TokenLocation, Validation, VerificationKey, Verifier, VerifyError,
    mint,
};
use jwt_core::{EncodingKey, JwtAuthBuilder};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// The server's HS256 secret (only for HMAC-configured verifiers).
const HS_SECRET: &[u8] = b"attack-catalogue-hs256-secret-0123456789";

/// P-256 group order `n`.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims that pass every check of the default profile.
fn claims() -> Value {
    json!({"sub": "alice", "exp": now() + 600})
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

/// The three segments of a compact token.
fn parts(token: &str) -> (String, String, String) {
    let v: Vec<&str> = token.split('.').collect();
    assert_eq!(v.len(), 3, "{token}");
    (v[0].to_owned(), v[1].to_owned(), v[2].to_owned())
}

// Keys -----------------------------------------------------------------------------------------

/// The server's RSA key (`rsa-1` in jwks.json).
fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture("rsa2048.key")).unwrap()
}

/// An RSA key the server does not trust (`rsa-2` in rsa2048b.jwk.json).
fn attacker_rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture("rsa2048b.key")).unwrap()
}

/// The server's P-256 key (`ec-1`).
fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(&fixture("p256.key")).unwrap()
}

/// The server's Ed25519 key (`ed-1`).
fn ed_key() -> EncodingKey {
    EncodingKey::from_ed_pem(&fixture("ed25519.key")).unwrap()
}

fn secret(s: &[u8]) -> EncodingKey {
    EncodingKey::from_secret(s)
}

/// A freshly generated Ed25519 key pair that no verifier knows.
fn fresh_ed25519() -> (EncodingKey, Ed25519KeyPair) {
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
    (EncodingKey::from_ed_der(doc.as_ref()), pair)
}

/// One JWK of the fixture set, by `kid`.
fn fixture_jwk(kid: &str) -> Value {
    let set: Value = serde_json::from_slice(&fixture("jwks.json")).unwrap();
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .cloned()
        .unwrap()
}

/// The attacker's RSA public key as a JWK, under the given `kid`.
fn attacker_jwk(kid: &str) -> Value {
    let mut jwk: Value = serde_json::from_slice(&fixture("rsa2048b.jwk.json")).unwrap();
    jwk["kid"] = json!(kid);
    jwk
}

// Minting --------------------------------------------------------------------------------------

/// A token with `typ: JWT` and an optional `kid`.
fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    mint::sign(alg, key, kid, Some("JWT"), claims).unwrap()
}

/// A validly signed token over a hand-written header and raw payload bytes.
fn sign_raw(alg: Algorithm, key: &EncodingKey, header: &str, payload: &[u8]) -> String {
    mint::sign_input(alg, key, &format!("{}.{}", b64(header), b64(payload))).unwrap()
}

/// A validly signed token over a JSON header and JSON claims.
fn sign_json(alg: Algorithm, key: &EncodingKey, header: &Value, claims: &Value) -> String {
    sign_raw(alg, key, &header.to_string(), claims.to_string().as_bytes())
}

/// An HS256 token signed with the server's secret.
fn hs(claims: &Value) -> String {
    sign(Algorithm::HS256, &secret(HS_SECRET), None, claims)
}

// Verifiers and engines ------------------------------------------------------------------------

fn jwks() -> Jwks {
    Jwks::from_json(&fixture_text("jwks.json")).unwrap()
}

/// A static RS256 key named `rsa-1` (allowlist = {RS256}).
fn rs256_keys() -> StaticKeys {
    let key = VerificationKey::from_pem(Algorithm::RS256, &fixture("rsa2048.pub.pem")).unwrap();
    StaticKeys::new(vec![key.with_kid("rsa-1")]).unwrap()
}

fn hs_keys() -> StaticKeys {
    StaticKeys::hs256(HS_SECRET).unwrap()
}

fn builder(verifier: impl Verifier + 'static) -> JwtAuthBuilder {
    JwtAuth::builder().dangerous_any_issuer().verifier(verifier)
}

fn engine(verifier: impl Verifier + 'static) -> JwtAuth {
    builder(verifier).build().unwrap()
}

fn rs256_auth() -> JwtAuth {
    engine(rs256_keys())
}

fn jwks_auth() -> JwtAuth {
    engine(jwks())
}

fn hs_auth() -> JwtAuth {
    engine(hs_keys())
}

// Requests and assertions ----------------------------------------------------------------------

/// `GET /x` with `Authorization: Bearer <token>`.
async fn call(auth: &JwtAuth, token: &str) -> Result<Outcome, AuthError> {
    let bearer = format!("Bearer {token}");
    let req = SimpleRequest::new("GET", "/x").header("Authorization", &bearer);
    auth.authenticate(&req).await
}

/// `GET /x` with the raw `Authorization` value.
async fn call_header(auth: &JwtAuth, value: &str) -> Result<Outcome, AuthError> {
    let req = SimpleRequest::new("GET", "/x").header("Authorization", value);
    auth.authenticate(&req).await
}

/// Text that only a library (serde_json, base64, jsonwebtoken, aws-lc) or a panic would produce.
const LIBRARY_TEXT: [&str; 27] = [
    "line 1",
    " column ",
    "at line",
    "invalid type",
    "EOF",
    "recursion limit",
    "trailing characters",
    "Invalid symbol",
    "Invalid last symbol",
    "Invalid padding",
    "Invalid input length",
    "InvalidSignature",
    "InvalidToken",
    "InvalidAlgorithm",
    "InvalidKeyFormat",
    "Base64",
    "Json(",
    "Utf8",
    "ErrorKind",
    "Unspecified",
    "KeyRejected",
    "jsonwebtoken",
    "serde",
    "aws",
    "panicked",
    "{",
    "\\",
];

/// `detail()` and `WWW-Authenticate` hold only our fixed, header-safe texts.
fn assert_clean(err: &AuthError, what: &str) {
    let detail = err.detail();
    let www = err.www_authenticate();
    for text in [detail.as_ref(), www.as_str()] {
        for bad in LIBRARY_TEXT {
            assert!(
                !text.contains(bad),
                "{what}: library text {bad:?} in {text:?}"
            );
        }
        assert!(
            text.bytes().all(|b| (0x20..=0x7e).contains(&b)),
            "{what}: non-printable or non-ASCII text in {text:?}"
        );
        // No echo of the token or of key material: no long base64url run.
        let longest = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest < 24, "{what}: echoed data in {text:?}");
    }
    assert!(www.starts_with(r#"Bearer realm="api""#), "{what}: {www:?}");
    assert_eq!(www.matches('"').count() % 2, 0, "{what}: {www:?}");
    if let AuthErrorKind::InvalidToken(reason) = err.kind() {
        assert_eq!(detail, reason.to_string(), "{what}");
        let tail = format!(
            r#", error="invalid_token", error_description="{}""#,
            reason.description()
        );
        assert!(www.ends_with(&tail), "{what}: {www:?}");
    }
}

/// Checks a 401 `invalid_token` refusal and returns its reason.
fn invalid_token(err: &AuthError, what: &str) -> InvalidToken {
    assert_eq!(err.status(), 401, "{what}: {err:?}");
    assert_eq!(err.error_code(), Some("invalid_token"), "{what}: {err:?}");
    assert_clean(err, what);
    match err.kind() {
        AuthErrorKind::InvalidToken(reason) => reason.clone(),
        other => panic!("{what}: unexpected kind {other:?}"),
    }
}

/// Checks a 400 `invalid_request` refusal.
fn invalid_request(err: &AuthError, what: &str) {
    assert_eq!(err.status(), 400, "{what}: {err:?}");
    assert_eq!(err.error_code(), Some("invalid_request"), "{what}: {err:?}");
    assert!(
        matches!(err.kind(), AuthErrorKind::InvalidRequest(_)),
        "{what}"
    );
    assert_clean(err, what);
    assert!(
        err.www_authenticate()
            .starts_with(r#"Bearer realm="api", error="invalid_request", error_description=""#),
        "{what}"
    );
}

/// Checks a 401 without an error code (no usable credential), RFC 6750 §3.1.
fn no_credential(err: &AuthError, what: &str) {
    assert_eq!(err.status(), 401, "{what}: {err:?}");
    assert_eq!(err.error_code(), None, "{what}: {err:?}");
    assert_eq!(err.www_authenticate(), r#"Bearer realm="api""#, "{what}");
    assert_clean(err, what);
}

/// Checks a 403 `insufficient_scope` refusal.
fn insufficient_scope(err: &AuthError, what: &str) {
    assert_eq!(err.status(), 403, "{what}: {err:?}");
    assert_eq!(
        err.error_code(),
        Some("insufficient_scope"),
        "{what}: {err:?}"
    );
    assert_clean(err, what);
}

/// Sends `token` and expects a 401 `invalid_token`; returns the reason.
async fn refused(auth: &JwtAuth, token: &str, what: &str) -> InvalidToken {
    match call(auth, token).await {
        Ok(_) => panic!("{what}: token was accepted"),
        Err(err) => invalid_token(&err, what),
    }
}

/// Sends `token` and expects 401 with exactly `reason`.
async fn refused_as(auth: &JwtAuth, token: &str, reason: InvalidToken, what: &str) {
    assert_eq!(refused(auth, token, what).await, reason, "{what}");
}

/// Sends `token` and expects it to be accepted.
async fn accepted(auth: &JwtAuth, token: &str, what: &str) -> AuthContext {
    match call(auth, token).await {
        Ok(outcome) => outcome
            .into_context()
            .unwrap_or_else(|| panic!("{what}: anonymous")),
        Err(err) => panic!("{what}: refused: {err:?}"),
    }
}

/// Calls a verifier directly (for inputs that the `Authorization` grammar already refuses).
async fn verifier_refuses(verifier: &dyn Verifier, token: &str, reason: InvalidToken, what: &str) {
    match verifier.verify(token).await {
        Ok(_) => panic!("{what}: accepted by the verifier"),
        Err(e) => assert_eq!(e, VerifyError::Invalid(reason), "{what}"),
    }
}

// DER and key-format builders ------------------------------------------------------------------

/// A DER TLV.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend([0x81, len as u8]),
        _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER from unsigned big-endian bytes.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut v = bytes[start..].to_vec();
    if v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    der(0x02, &v)
}

/// A real self-signed X.509 v1 certificate for `pair` (Ed25519), built by hand.
fn self_signed_cert(pair: &Ed25519KeyPair) -> Vec<u8> {
    let ed25519 = der(0x30, &der(0x06, &[0x2b, 0x65, 0x70]));
    let cn = [der(0x06, &[0x55, 0x04, 0x03]), der(0x0c, b"attacker")].concat();
    let name = der(0x30, &der(0x31, &der(0x30, &cn)));
    let validity = der(
        0x30,
        &[der(0x17, b"250101000000Z"), der(0x17, b"491231235959Z")].concat(),
    );
    let bits = [&[0u8][..], pair.public_key().as_ref()].concat();
    let spki = der(0x30, &[ed25519.clone(), der(0x03, &bits)].concat());
    let tbs = der(
        0x30,
        &[
            der_uint(&[0x42]),
            ed25519.clone(),
            name.clone(),
            validity,
            name,
            spki,
        ]
        .concat(),
    );
    let sig = [&[0u8][..], pair.sign(&tbs).as_ref()].concat();
    der(0x30, &[tbs, ed25519, der(0x03, &sig)].concat())
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// An SSH wire-format string.
fn ssh_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// The server's Ed25519 public key (`ed-1`) as an OpenSSH `authorized_keys` line.
fn openssh_ed25519() -> String {
    let x = unb64(fixture_jwk("ed-1")["x"].as_str().unwrap());
    let mut wire = Vec::new();
    ssh_string(&mut wire, b"ssh-ed25519");
    ssh_string(&mut wire, &x);
    format!("ssh-ed25519 {} ops@server", STANDARD.encode(wire))
}

/// The uncompressed SEC1 point `0x04 ‖ x ‖ y` of the server's P-256 key (`ec-1`).
fn p256_point() -> Vec<u8> {
    let jwk = fixture_jwk("ec-1");
    let mut point = vec![4u8];
    point.extend(unb64(jwk["x"].as_str().unwrap()));
    point.extend(unb64(jwk["y"].as_str().unwrap()));
    point
}

/// The server's P-256 public key as an OpenSSH `ecdsa-sha2-nistp256` line.
fn openssh_p256() -> String {
    let mut wire = Vec::new();
    ssh_string(&mut wire, b"ecdsa-sha2-nistp256");
    ssh_string(&mut wire, b"nistp256");
    ssh_string(&mut wire, &p256_point());
    format!("ecdsa-sha2-nistp256 {}", STANDARD.encode(wire))
}

// A TCP listener that counts connections (rows 17 and 18) -------------------------------------

/// A local HTTP listener that would serve `body` and counts every connection it sees.
struct Bait {
    url: String,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Bait {
    fn start(path: &str, body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            loop {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        h.fetch_add(1, Ordering::SeqCst);
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
                        let mut buf = [0u8; 2048];
                        let _ = conn.read(&mut buf);
                        let _ = write!(
                            conn,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        if s.load(Ordering::SeqCst) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
        });
        Self {
            url,
            hits,
            stop,
            thread,
        }
    }

    /// Stops polling (after one last non-blocking `accept`) and returns the connection count.
    fn connections(self) -> usize {
        std::thread::sleep(Duration::from_millis(50));
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap();
        self.hits.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------------
// 1–6: `alg`
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn row_01_alg_none() {
    let h = b64(r#"{"alg":"none","typ":"JWT"}"#);
    let p = b64(claims().to_string());
    let empty_sig = format!("{h}.{p}.");
    for (name, auth) in [
        ("rs256", rs256_auth()),
        ("hs256", hs_auth()),
        ("jwks", jwks_auth()),
    ] {
        // An unsecured token is its own reason (`alg_none`), not a bad signature.
        refused_as(&auth, &empty_sig, InvalidToken::AlgNone, name).await;
        // With some signature bytes the header itself is what is refused.
        let with_sig = format!("{h}.{p}.AAAA");
        refused_as(&auth, &with_sig, InvalidToken::AlgNone, name).await;
    }
    // Even the development verifier that skips signatures never accepts `none`.
    let dev = engine(jwt_core::dangerous::InsecureNoSignature::new_for_development_only());
    refused_as(
        &dev,
        &empty_sig,
        InvalidToken::AlgNone,
        "insecure dev verifier",
    )
    .await;
    refused_as(
        &dev,
        &format!("{h}.{p}.AAAA"),
        InvalidToken::AlgNone,
        "insecure dev verifier",
    )
    .await;
}

#[tokio::test]
async fn row_02_alg_none_case_variants() {
    let p = b64(claims().to_string());
    for alg in ["None", "NONE", "nOnE"] {
        let h = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
        for auth in [rs256_auth(), hs_auth(), jwks_auth()] {
            refused_as(&auth, &format!("{h}.{p}."), InvalidToken::AlgNone, alg).await;
            refused_as(&auth, &format!("{h}.{p}.AAAA"), InvalidToken::AlgNone, alg).await;
        }
    }
}

#[tokio::test]
async fn row_03_alg_none_keeping_the_original_signature() {
    let auth = rs256_auth();
    let good = sign(Algorithm::RS256, &rsa_key(), Some("rsa-1"), &claims());
    accepted(&auth, &good, "original").await;
    let (_, p, s) = parts(&good);
    for alg in ["none", "None"] {
        let h = b64(format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"rsa-1"}}"#));
        let forged = format!("{h}.{p}.{s}");
        refused_as(&auth, &forged, InvalidToken::AlgNone, alg).await;
    }
}

#[tokio::test]
async fn row_04_alg_missing_or_not_a_string() {
    let auth = rs256_auth();
    let payload = claims().to_string();
    for header in [
        r#"{"typ":"JWT","kid":"rsa-1"}"#,
        r#"{"alg":256,"kid":"rsa-1"}"#,
        r#"{"alg":null,"kid":"rsa-1"}"#,
        r#"{"alg":["RS256"],"kid":"rsa-1"}"#,
        r#"{"alg":{"name":"RS256"},"kid":"rsa-1"}"#,
        r#"{"alg":true,"kid":"rsa-1"}"#,
        r#"{"alg":"","kid":"rsa-1"}"#,
    ] {
        // The signature is a real RS256 signature over this very input.
        let t = sign_raw(Algorithm::RS256, &rsa_key(), header, payload.as_bytes());
        refused_as(&auth, &t, InvalidToken::AlgorithmNotAllowed, header).await;
    }
}

#[tokio::test]
async fn row_05_unsupported_or_unknown_alg() {
    let payload = claims().to_string();
    for alg in [
        "HS1", "RSA-OAEP", "dir", "ES512", "ES256K", "Ed448", "Ed25519", "rs256", "RS256 ",
        "A128KW",
    ] {
        let header = json!({"alg": alg, "kid": "rsa-1"}).to_string();
        let t = sign_raw(Algorithm::RS256, &rsa_key(), &header, payload.as_bytes());
        for auth in [rs256_auth(), jwks_auth()] {
            refused_as(&auth, &t, InvalidToken::AlgorithmNotAllowed, alg).await;
        }
    }
}

#[tokio::test]
async fn row_06_alg_outside_the_allowlist() {
    let auth = rs256_auth();
    accepted(
        &auth,
        &sign(Algorithm::RS256, &rsa_key(), Some("rsa-1"), &claims()),
        "RS256",
    )
    .await;
    let tokens = [
        ("HS256", hs(&claims())),
        (
            "PS256",
            sign(Algorithm::PS256, &rsa_key(), Some("rsa-1"), &claims()),
        ),
        (
            "RS384",
            sign(Algorithm::RS384, &rsa_key(), Some("rsa-1"), &claims()),
        ),
        (
            "RS512",
            sign(Algorithm::RS512, &rsa_key(), Some("rsa-1"), &claims()),
        ),
        ("ES256", sign(Algorithm::ES256, &ec_key(), None, &claims())),
        ("EdDSA", sign(Algorithm::EdDSA, &ed_key(), None, &claims())),
    ];
    for (name, t) in tokens {
        refused_as(&auth, &t, InvalidToken::AlgorithmNotAllowed, name).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 7–10: key confusion
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn row_07_rs_to_hs_confusion() {
    let spki_pem = fixture_text("rsa2048.pub.pem");
    let rsa_jwk = fixture_jwk("rsa-1");
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("SPKI PEM", spki_pem.clone().into_bytes()),
        ("SPKI PEM without newline", spki_pem.trim_end().into()),
        (
            "SPKI PEM with CRLF",
            spki_pem.replace('\n', "\r\n").into_bytes(),
        ),
        ("PKCS#1 PEM", fixture("rsa2048.pkcs1.pub.pem")),
        ("DER", fixture("rsa2048.pub.der")),
        ("raw n", unb64(rsa_jwk["n"].as_str().unwrap())),
        ("JWK JSON", rsa_jwk.to_string().into_bytes()),
        ("JWKS file text", fixture("jwks.json")),
    ];
    for (name, auth) in [("static RS256", rs256_auth()), ("jwks", jwks_auth())] {
        for (what, key) in &secrets {
            let t = sign(Algorithm::HS256, &secret(key), Some("rsa-1"), &claims());
            refused_as(
                &auth,
                &t,
                InvalidToken::AlgorithmNotAllowed,
                &format!("{name}: {what}"),
            )
            .await;
        }
    }
    // An RSA public key can never be configured as an HMAC key...
    assert!(matches!(
        VerificationKey::from_pem(Algorithm::HS256, spki_pem.as_bytes()),
        Err(ConfigError::KeyAlgorithmMismatch { .. })
    ));
    assert!(matches!(
        VerificationKey::from_der(Algorithm::HS256, &fixture("rsa2048.pub.der")),
        Err(ConfigError::KeyAlgorithmMismatch { .. })
    ));
    // ...not even through the environment with JWT_ALGORITHM=HS256.
    let env = |name: &str| match name {
        "JWT_VERIFICATION_KEY" => Some(spki_pem.clone()),
        "JWT_ALGORITHM" => Some("HS256".to_owned()),
        _ => None,
    };
    assert!(matches!(
        KeyChain::from_lookup(env),
        Err(ConfigError::KeyAlgorithmMismatch { .. })
    ));
    // Without JWT_ALGORITHM the PEM is an RS256 key, and the forged HS256 token is refused.
    let chain =
        KeyChain::from_lookup(|name| (name == "JWT_VERIFICATION_KEY").then(|| spki_pem.clone()))
            .unwrap();
    let t = sign(
        Algorithm::HS256,
        &secret(spki_pem.as_bytes()),
        None,
        &claims(),
    );
    refused(&engine(chain), &t, "env PEM").await;
}

#[tokio::test]
async fn row_08_ec_to_hs_confusion() {
    let ec_pem = fixture_text("p256.pub.pem");
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("P-256 PEM", ec_pem.clone().into_bytes()),
        ("P-256 PEM trimmed", ec_pem.trim_end().into()),
        ("0x04||x||y", p256_point()),
        ("JWK JSON", fixture_jwk("ec-1").to_string().into_bytes()),
        ("P-384 PEM", fixture("p384.pub.pem")),
        ("Ed25519 PEM", fixture("ed25519.pub.pem")),
    ];
    let static_ec = StaticKeys::new(vec![
        VerificationKey::from_pem(Algorithm::ES256, ec_pem.as_bytes())
            .unwrap()
            .with_kid("ec-1"),
    ])
    .unwrap();
    for (name, auth) in [("static ES256", engine(static_ec)), ("jwks", jwks_auth())] {
        for (what, key) in &secrets {
            let t = sign(Algorithm::HS256, &secret(key), Some("ec-1"), &claims());
            refused_as(
                &auth,
                &t,
                InvalidToken::AlgorithmNotAllowed,
                &format!("{name}: {what}"),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn row_09_confusion_via_other_key_formats() {
    let (_, pair) = fresh_ed25519();
    let cert_pem = pem("CERTIFICATE", &self_signed_cert(&pair));
    let secrets = [
        ("OpenSSH ssh-ed25519", openssh_ed25519()),
        ("OpenSSH ecdsa-sha2-nistp256", openssh_p256()),
        ("X.509 PEM certificate", cert_pem),
    ];
    let static_ed = StaticKeys::new(vec![
        VerificationKey::from_pem(Algorithm::EdDSA, &fixture("ed25519.pub.pem"))
            .unwrap()
            .with_kid("ed-1"),
    ])
    .unwrap();
    for (name, auth) in [("static EdDSA", engine(static_ed)), ("jwks", jwks_auth())] {
        for (what, key) in &secrets {
            for kid in ["ed-1", "ec-1"] {
                let t = sign(
                    Algorithm::HS256,
                    &secret(key.as_bytes()),
                    Some(kid),
                    &claims(),
                );
                refused_as(
                    &auth,
                    &t,
                    InvalidToken::AlgorithmNotAllowed,
                    &format!("{name}: {what}"),
                )
                .await;
            }
        }
    }
}

/// Row 9 through the environment, where a key given as text is typed by guessing: any value that
/// does not start with `-----BEGIN` becomes an HMAC secret. An operator who puts the server's
/// OpenSSH or JWK public key text into `JWT_VERIFICATION_KEY` thus gets an HS256 verifier keyed
/// with *public* text, and anyone can forge tokens (PyJWT CVE-2022-29217 class). Expected: a
/// configuration error (refuse public-key-looking secrets), or at least a 401.
#[tokio::test]
async fn row_09_env_public_key_text_is_not_an_hmac_secret() {
    let texts = [
        ("OpenSSH ssh-ed25519", openssh_ed25519()),
        ("OpenSSH ecdsa-sha2-nistp256", openssh_p256()),
        ("JWK JSON", fixture_jwk("rsa-1").to_string()),
    ];
    for (what, text) in texts {
        let lookup = |name: &str| (name == "JWT_VERIFICATION_KEY").then(|| text.clone());
        match KeyChain::from_lookup(lookup) {
            // Refused at configuration time: the safe outcome.
            Err(_) => {}
            Ok(chain) => {
                let forged = sign(Algorithm::HS256, &secret(text.as_bytes()), None, &claims());
                refused(&engine(chain), &forged, what).await;
            }
        }
    }
}

#[tokio::test]
async fn row_10_mixed_hmac_and_asymmetric_keys() {
    let rsa = VerificationKey::from_pem(Algorithm::RS256, &fixture("rsa2048.pub.pem")).unwrap();
    let hmac = VerificationKey::hmac(Algorithm::HS256, HS_SECRET).unwrap();
    assert!(matches!(
        StaticKeys::new(vec![hmac, rsa]),
        Err(ConfigError::MixedAlgorithmFamilies)
    ));

    // A JWKS holding an `oct` key next to an RSA key: the `oct` key is skipped.
    let oct_secret = [0x33u8; 32];
    let set = json!({"keys": [
        {"kty": "oct", "kid": "hs-1", "alg": "HS256", "k": b64(oct_secret)},
        fixture_jwk("rsa-1"),
    ]});
    let mixed = Jwks::from_json(&set.to_string()).unwrap();
    assert_eq!(mixed.kids(), ["rsa-1"]);
    let auth = engine(mixed);
    accepted(
        &auth,
        &sign(Algorithm::RS256, &rsa_key(), Some("rsa-1"), &claims()),
        "RS256",
    )
    .await;
    let with_oct = sign(
        Algorithm::HS256,
        &secret(&oct_secret),
        Some("hs-1"),
        &claims(),
    );
    refused_as(
        &auth,
        &with_oct,
        InvalidToken::AlgorithmNotAllowed,
        "oct key",
    )
    .await;

    // The catalogue's set-up: HS256 and RS256 both accepted (two separate key sets in a chain,
    // which is allowed because each set binds its own algorithm), HS256 signed with the JWKS
    // public key.
    let chain = engine(KeyChain::new().with(hs_keys()).with(jwks()));
    accepted(&chain, &hs(&claims()), "genuine HS256").await;
    accepted(
        &chain,
        &sign(Algorithm::RS256, &rsa_key(), Some("rsa-1"), &claims()),
        "genuine RS256",
    )
    .await;
    for (what, key) in [
        ("SPKI PEM", fixture("rsa2048.pub.pem")),
        ("JWK JSON", fixture_jwk("rsa-1").to_string().into_bytes()),
        ("JWKS text", fixture("jwks.json")),
    ] {
        let t = sign(Algorithm::HS256, &secret(&key), Some("rsa-1"), &claims());
        refused(&chain, &t, what).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 11–15: signatures and secrets
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn row_11_signature_stripping() {
    let cases = [
        (
            "RS256",
            jwks_auth(),
            sign(Algorithm::RS256, &rsa_key(), Some("rsa-1"), &claims()),
        ),
        (
            "ES256",
            jwks_auth(),
            sign(Algorithm::ES256, &ec_key(), Some("ec-1"), &claims()),
        ),
        (
            "EdDSA",
            jwks_auth(),
            sign(Algorithm::EdDSA, &ed_key(), Some("ed-1"), &claims()),
        ),
        ("HS256", hs_auth(), hs(&claims())),
    ];
    for (name, auth, token) in cases {
        accepted(&auth, &token, name).await;
        let (h, p, _) = parts(&token);
        refused_as(
            &auth,
            &format!("{h}.{p}."),
            InvalidToken::BadSignature,
            name,
        )
        .await;
    }
}

#[tokio::test]
async fn row_12_wrong_segment_count() {
    let auth = hs_auth();
    let (h, p, s) = parts(&hs(&claims()));
    let jwe_header = b64(r#"{"alg":"dir","enc":"A128GCM"}"#);
    let jwe = format!(
        "{jwe_header}..{}.{}.{}",
        b64([7u8; 12]),
        b64(claims().to_string()),
        b64([9u8; 16])
    );
    for t in [
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}."),
        format!(".{p}.{s}"),
        format!("{h}..{s}"),
        h.clone(),
        "..".to_owned(),
        "...".to_owned(),
        jwe,
    ] {
        refused_as(&auth, &t, InvalidToken::Malformed, &t).await;
    }
    // The empty token cannot even be sent as a Bearer credential: `Bearer ` with nothing after
    // it is a malformed request (row 45), so the engine answers 400, not the catalogue's 401.
    invalid_request(&call(&auth, "").await.unwrap_err(), "empty token");
    verifier_refuses(&hs_keys(), "", InvalidToken::Malformed, "empty token").await;
}

/// Replaces the character at `at` by another base64url character.
fn flip(segment: &str, at: usize) -> String {
    let mut bytes = segment.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn row_13_tampering() {
    // Every single-character change in every segment of an HS256 token.
    let auth = hs_auth();
    let (h, p, s) = parts(&hs(&claims()));
    for i in 0..h.len() {
        refused(&auth, &format!("{}.{p}.{s}", flip(&h, i)), "header").await;
    }
    for i in 0..p.len() {
        refused(&auth, &format!("{h}.{}.{s}", flip(&p, i)), "payload").await;
    }
    for i in 0..s.len() {
        refused(&auth, &format!("{h}.{p}.{}", flip(&s, i)), "signature").await;
    }
    // Truncated / extended signatures, for each family.
    let cases = [
        ("HS256", hs_auth(), hs(&claims())),
        (
            "RS256",
            jwks_auth(),
            sign(Algorithm::RS256, &rsa_key(), Some("rsa-1"), &claims()),
        ),
        (
            "ES256",
            jwks_auth(),
            sign(Algorithm::ES256, &ec_key(), Some("ec-1"), &claims()),
        ),
    ];
    for (name, auth, token) in cases {
        let (h, p, s) = parts(&token);
        let mid = p.len() / 2;
        refused_as(
            &auth,
            &format!("{h}.{}.{s}", flip(&p, mid)),
            InvalidToken::BadSignature,
            name,
        )
        .await;
        // Cutting 4 characters can leave unused trailing bits set: malformed or bad signature.
        let truncated = format!("{h}.{p}.{}", &s[..s.len() - 4]);
        let reason = refused(&auth, &truncated, name).await;
        assert!(
            matches!(reason, InvalidToken::BadSignature | InvalidToken::Malformed),
            "{name}: {reason:?}"
        );
        refused_as(
            &auth,
            &format!("{h}.{p}.{s}AAAA"),
            InvalidToken::BadSignature,
            name,
        )
        .await;
    }
}

#[tokio::test]
async fn row_14_blank_hmac_secret() {
    assert!(matches!(
        StaticKeys::hs256(b""),
        Err(ConfigError::WeakHmacSecret { len: 0, .. })
    ));
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        assert!(matches!(
            VerificationKey::hmac(alg, b""),
            Err(ConfigError::WeakHmacSecret { len: 0, .. })
        ));
    }
    // An empty environment value counts as unset: no key source at all.
    assert!(matches!(
        KeyChain::from_lookup(|n| (n == "JWT_VERIFICATION_KEY").then(String::new)),
        Err(ConfigError::NoKeySource)
    ));
    // A symmetric JWKS whose only key is empty has no usable key.
    let empty_oct = json!({"keys": [{"kty": "oct", "k": ""}]}).to_string();
    assert!(matches!(
        Jwks::from_json(&empty_oct),
        Err(ConfigError::EmptyJwks)
    ));
    // A token signed with the empty secret.
    let t = sign(Algorithm::HS256, &secret(b""), None, &claims());
    refused_as(&hs_auth(), &t, InvalidToken::BadSignature, "hs").await;
    refused_as(&rs256_auth(), &t, InvalidToken::AlgorithmNotAllowed, "rs").await;
}

#[tokio::test]
async fn row_15_weak_hmac_secret() {
    for weak in [
        &b"secret"[..],
        b"your-256-bit-secret",
        b"password123",
        &[0x42u8; 31],
    ] {
        assert!(
            matches!(
                StaticKeys::hs256(weak),
                Err(ConfigError::WeakHmacSecret { min: 32, .. })
            ),
            "{weak:?}"
        );
    }
    for (alg, min) in [
        (Algorithm::HS256, 32),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        assert!(matches!(
            StaticKeys::hmac(alg, vec![7u8; min - 1]),
            Err(ConfigError::WeakHmacSecret { min: m, .. }) if m == min
        ));
        assert!(StaticKeys::hmac(alg, vec![7u8; min]).is_ok());
    }
    // The same rule through the environment and through a symmetric JWKS.
    assert!(matches!(
        KeyChain::from_lookup(|n| (n == "JWT_VERIFICATION_KEY").then(|| "secret".to_owned())),
        Err(ConfigError::WeakHmacSecret { .. })
    ));
    let short_oct = json!({"keys": [{"kty": "oct", "alg": "HS256", "k": b64([1u8; 16])}]});
    assert!(matches!(
        Jwks::from_json(&short_oct.to_string()),
        Err(ConfigError::EmptyJwks)
    ));
    let short_512 = json!({"keys": [{"kty": "oct", "alg": "HS512", "k": b64([1u8; 32])}]});
    assert!(matches!(
        Jwks::from_json(&short_512.to_string()),
        Err(ConfigError::EmptyJwks)
    ));
}

// ---------------------------------------------------------------------------------------------
// 16–19: keys named or embedded in the header
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn row_16_embedded_jwk() {
    // The attacker's RSA key, embedded under the real key's `kid`.
    let header =
        json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-1", "jwk": attacker_jwk("rsa-1")});
    let t = sign_json(Algorithm::RS256, &attacker_rsa_key(), &header, &claims());
    for (name, auth) in [("jwks", jwks_auth()), ("static", rs256_auth())] {
        refused_as(&auth, &t, InvalidToken::BadSignature, name).await;
    }
    // A freshly generated Ed25519 key, embedded under `ed-1`, and without any `kid`.
    let (key, pair) = fresh_ed25519();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": b64(pair.public_key())});
    for header in [
        json!({"alg": "EdDSA", "kid": "ed-1", "jwk": jwk}),
        json!({"alg": "EdDSA", "jwk": jwk}),
    ] {
        let t = sign_json(Algorithm::EdDSA, &key, &header, &claims());
        refused_as(
            &jwks_auth(),
            &t,
            InvalidToken::BadSignature,
            "fresh Ed25519",
        )
        .await;
    }
}

#[tokio::test]
async fn row_17_jku_header_is_never_fetched() {
    let served = json!({"keys": [attacker_jwk("rsa-1"), attacker_jwk("attacker-1")]});
    let bait = Bait::start("/jwks.json", served.to_string());
    for kid in ["rsa-1", "attacker-1"] {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid, "jku": bait.url});
        let t = sign_json(Algorithm::RS256, &attacker_rsa_key(), &header, &claims());
        for auth in [jwks_auth(), rs256_auth()] {
            refused(&auth, &t, kid).await;
        }
    }
    assert_eq!(bait.connections(), 0, "the jku URL was contacted");
    // The listener does see a connection when one is made (so zero above means zero).
    let control = Bait::start("/jwks.json", String::new());
    let addr = control
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/jwks.json");
    drop(std::net::TcpStream::connect(addr).unwrap());
    assert_eq!(control.connections(), 1);
}

#[tokio::test]
async fn row_18_x5u_header_is_never_fetched() {
    let (key, pair) = fresh_ed25519();
    let bait = Bait::start("/cert.pem", pem("CERTIFICATE", &self_signed_cert(&pair)));
    let (rsa_bait_key, rsa_kid) = (attacker_rsa_key(), "rsa-1");
    let headers = [
        (
            Algorithm::EdDSA,
            &key,
            json!({"alg": "EdDSA", "kid": "ed-1", "x5u": bait.url}),
        ),
        (
            Algorithm::EdDSA,
            &key,
            json!({"alg": "EdDSA", "x5u": bait.url}),
        ),
        (
            Algorithm::RS256,
            &rsa_bait_key,
            json!({"alg": "RS256", "kid": rsa_kid, "x5u": bait.url}),
        ),
    ];
    for (alg, signer, header) in headers {
        let t = sign_json(alg, signer, &header, &claims());
        refused_as(
            &jwks_auth(),
            &t,
            InvalidToken::BadSignature,
            &header.to_string(),
        )
        .await;
    }
    assert_eq!(bait.connections(), 0, "the x5u URL was contacted");
}

#[tokio::test]
async fn row_19_embedded_x5c() {
    let (key, pair) = fresh_ed25519();
    let cert = STANDARD.encode(self_signed_cert(&pair));
    for header in [
        json!({"alg": "EdDSA", "kid": "ed-1", "x5c": [cert]}),
        json!({"alg": "EdDSA", "x5c": [cert]}),
    ] {
        let t = sign_json(Algorithm::EdDSA, &key, &header, &claims());
        refused_as(&jwks_auth(), &t, InvalidToken::BadSignature, "jwks").await;
        refused_as(
            &rs256_auth(),
            &t,
            InvalidToken::AlgorithmNotAllowed,
            "static RS256",
        )
        .await;
    }
}

// ---------------------------------------------------------------------------------------------
// 20–26: `kid`
// ---------------------------------------------------------------------------------------------

/// HS256 tokens whose `kid` is `kid`, signed with each of `secrets`, against RS256, HS256, a
/// JWKS and a symmetric JWKS: all refused.
async fn hostile_kid(kid: &str, secrets: &[&[u8]]) {
    let oct = json!({"keys": [{"kty": "oct", "kid": "hs-1", "k": b64(HS_SECRET)}]});
    let auths = [
        ("rs256", rs256_auth()),
        ("hs256", hs_auth()),
        ("jwks", jwks_auth()),
        (
            "oct jwks",
            engine(Jwks::from_json(&oct.to_string()).unwrap()),
        ),
    ];
    for key in secrets {
        let t = sign(Algorithm::HS256, &secret(key), Some(kid), &claims());
        for (name, auth) in &auths {
            let started = Instant::now();
            refused(auth, &t, &format!("{name}: kid {kid:?}")).await;
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{name}: {kid:?}"
            );
        }
    }
}

#[tokio::test]
async fn row_20_kid_path_traversal() {
    // `kid` is an exact map key: no path is ever opened, so these behave like any unknown kid.
    for kid in [
        "../../../../../../dev/null",
        "/dev/null",
        "/proc/sys/kernel/randomize_va_space",
        "../../../../../../etc/passwd",
        "file:///dev/null",
    ] {
        hostile_kid(kid, &[b"", b"\0", b"2", b"0"]).await;
    }
}

#[tokio::test]
async fn row_21_kid_sql_injection() {
    for kid in [
        "x' UNION SELECT '1';--",
        "' OR '1'='1",
        "1; DROP TABLE keys",
    ] {
        hostile_kid(kid, &[b"1", b""]).await;
    }
}

#[tokio::test]
async fn row_22_kid_command_injection() {
    for kid in [
        "|sleep 10",
        "; sleep 10 #",
        "$(sleep 10)",
        "`sleep 10`",
        "&& sleep 10",
    ] {
        hostile_kid(kid, &[b"", b"1"]).await;
    }
}

/// Partial: the core has no remote JWKS to count fetches against; what it can check is that a
/// flood of distinct unknown `kid`s is refused cheaply and never matches a key.
#[tokio::test]
async fn row_23_unknown_kid_flood() {
    let auth = jwks_auth();
    let key = ec_key();
    let tokens: Vec<String> = (0..1000)
        .map(|i| {
            let kid = format!("kid-{i:04}-{:x}", i * 7919);
            sign(Algorithm::ES256, &key, Some(&kid), &claims())
        })
        .collect();
    let started = Instant::now();
    for t in &tokens {
        refused_as(&auth, t, InvalidToken::UnknownKey, "flood").await;
    }
    // Generous bound (shared CI machine); the point is no per-token expensive work.
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn row_24_hostile_kid_shapes() {
    let payload = claims().to_string();
    let long_kid = "k".repeat(10 * 1024);
    // With the default 8 KiB cap a 10 KB `kid` never reaches the parser.
    let long = sign(Algorithm::RS256, &rsa_key(), Some(&long_kid), &claims());
    refused_as(&jwks_auth(), &long, InvalidToken::TooLong, "10 KB kid").await;
    // With a larger cap it is just an unknown kid, even though the signature is genuine.
    let roomy = builder(jwks()).max_token_len(64 * 1024).build().unwrap();
    refused_as(&roomy, &long, InvalidToken::UnknownKey, "10 KB kid").await;

    for kid in ["", " ", "RSA-1", "rsa-1 ", "rsa-1\u{0}", "rsa\u{2010}1"] {
        let t = sign(Algorithm::RS256, &rsa_key(), Some(kid), &claims());
        refused_as(&jwks_auth(), &t, InvalidToken::UnknownKey, kid).await;
    }
    for kid in [
        "1",
        "1.5",
        "{}",
        r#"{"k":"rsa-1"}"#,
        "null",
        "true",
        r#"["rsa-1"]"#,
    ] {
        let header = format!(r#"{{"alg":"RS256","kid":{kid}}}"#);
        let t = sign_raw(Algorithm::RS256, &rsa_key(), &header, payload.as_bytes());
        for auth in [jwks_auth(), rs256_auth()] {
            refused_as(&auth, &t, InvalidToken::Malformed, kid).await;
        }
    }
}

fn jwks_with(keys: Value) -> Jwks {
    Jwks::from_json(&json!({ "keys": keys }).to_string()).unwrap()
}

#[tokio::test]
async fn row_25_missing_kid_with_several_candidate_keys() {
    let two = jwks_with(json!([fixture_jwk("rsa-1"), attacker_jwk("rsa-2")]));
    let auth = engine(two);
    let no_kid = sign(Algorithm::RS256, &rsa_key(), None, &claims());
    refused_as(&auth, &no_kid, InvalidToken::UnknownKey, "no kid").await;
    let with_kid = sign(Algorithm::RS256, &rsa_key(), Some("rsa-1"), &claims());
    accepted(&auth, &with_kid, "kid rsa-1").await;
    // Static keys (agno's `verification_keys`) deliberately try every key of the algorithm in
    // order; that is no bypass, since the signature must still verify with a configured key.
    let static_two = StaticKeys::new(vec![
        VerificationKey::from_pem(Algorithm::RS256, &fixture("rsa2048b.pub.pem")).unwrap(),
        VerificationKey::from_pem(Algorithm::RS256, &fixture("rsa2048.pub.pem")).unwrap(),
    ])
    .unwrap();
    accepted(&engine(static_two), &no_kid, "static keys in order").await;
}

#[tokio::test]
async fn row_26_duplicate_kid() {
    let mut second = attacker_jwk("dup");
    second["alg"] = json!("RS256");
    let mut first = fixture_jwk("rsa-1");
    first["kid"] = json!("dup");
    let auth = engine(jwks_with(json!([first, second])));
    for (name, key) in [("server key", rsa_key()), ("other key", attacker_rsa_key())] {
        let t = sign(Algorithm::RS256, &key, Some("dup"), &claims());
        refused_as(&auth, &t, InvalidToken::UnknownKey, name).await;
    }
    // Static keys treat a shared kid as ambiguous too.
    let static_dup = StaticKeys::new(vec![
        VerificationKey::from_pem(Algorithm::RS256, &fixture("rsa2048.pub.pem"))
            .unwrap()
            .with_kid("dup"),
        VerificationKey::from_pem(Algorithm::RS256, &fixture("rsa2048b.pub.pem"))
            .unwrap()
            .with_kid("dup"),
    ])
    .unwrap();
    let t = sign(Algorithm::RS256, &rsa_key(), Some("dup"), &claims());
    refused_as(&engine(static_dup), &t, InvalidToken::UnknownKey, "static").await;
}

// ---------------------------------------------------------------------------------------------
// 27–29: signature encodings
// ---------------------------------------------------------------------------------------------

fn es256_static() -> JwtAuth {
    let key = VerificationKey::from_pem(Algorithm::ES256, &fixture("p256.pub.pem")).unwrap();
    engine(StaticKeys::new(vec![key.with_kid("ec-1")]).unwrap())
}

fn scalar(last: u8) -> [u8; 32] {
    let mut v = [0u8; 32];
    v[31] = last;
    v
}

fn n_minus_1() -> [u8; 32] {
    let mut v = P256_N;
    v[31] -= 1;
    v
}

#[tokio::test]
async fn row_27_psychic_signature() {
    let h = b64(r#"{"alg":"ES256","typ":"JWT","kid":"ec-1"}"#);
    let p = b64(claims().to_string());
    let sigs: [(&str, Vec<u8>); 6] = [
        ("zero", vec![0u8; 64]),
        ("r=0,s=1", [scalar(0), scalar(1)].concat()),
        ("r=1,s=0", [scalar(1), scalar(0)].concat()),
        ("r=n,s=n", [P256_N, P256_N].concat()),
        ("r=n-1,s=n-1", [n_minus_1(), n_minus_1()].concat()),
        ("r=1,s=1", [scalar(1), scalar(1)].concat()),
    ];
    for (name, auth) in [("jwks", jwks_auth()), ("static", es256_static())] {
        for (what, sig) in &sigs {
            let t = format!("{h}.{p}.{}", b64(sig));
            refused_as(
                &auth,
                &t,
                InvalidToken::BadSignature,
                &format!("{name} {what}"),
            )
            .await;
        }
        // The literal form from the catalogue: 86 × 'A'.
        let t = format!("{h}.{p}.{}", "A".repeat(86));
        refused_as(&auth, &t, InvalidToken::BadSignature, name).await;
    }
    // ES384 with 96 zero bytes.
    let h384 = b64(r#"{"alg":"ES384","kid":"ec-384"}"#);
    let t = format!("{h384}.{p}.{}", b64([0u8; 96]));
    refused_as(&jwks_auth(), &t, InvalidToken::BadSignature, "ES384 zero").await;
}

/// A fixed-length ECDSA signature `r ‖ s` re-encoded as DER.
fn ecdsa_der(sig: &[u8]) -> Vec<u8> {
    let (r, s) = sig.split_at(sig.len() / 2);
    der(0x30, &[der_uint(r), der_uint(s)].concat())
}

#[tokio::test]
async fn row_28_es_signature_encoding() {
    let token = sign(Algorithm::ES256, &ec_key(), Some("ec-1"), &claims());
    let (h, p, s) = parts(&token);
    let sig = unb64(&s);
    assert_eq!(sig.len(), 64);
    for (name, auth) in [("jwks", jwks_auth()), ("static", es256_static())] {
        accepted(&auth, &token, name).await;
        let (r, s_) = sig.split_at(32);
        let variants: [(&str, Vec<u8>); 9] = [
            ("DER", ecdsa_der(&sig)),
            ("63 bytes", sig[..63].to_vec()),
            ("65 bytes", [&sig[..], &[0]].concat()),
            ("leading zero", [&[0u8][..], &sig].concat()),
            ("two trailing zeros", [&sig[..], &[0, 0]].concat()),
            ("r = n", [&P256_N[..], s_].concat()),
            ("s = n", [r, &P256_N[..]].concat()),
            ("s = 2^256-1", [r, &[0xff; 32][..]].concat()),
            ("swapped r and s", [s_, r].concat()),
        ];
        for (what, bad) in variants {
            let t = format!("{h}.{p}.{}", b64(bad));
            refused_as(
                &auth,
                &t,
                InvalidToken::BadSignature,
                &format!("{name} {what}"),
            )
            .await;
        }
    }
}

/// Partial (no Wycheproof data in the core): structural RSA signature malformations.
#[tokio::test]
async fn row_29_rsa_signature_malformations() {
    let auth = rs256_auth();
    let token = sign(Algorithm::RS256, &rsa_key(), Some("rsa-1"), &claims());
    let (h, p, s) = parts(&token);
    let sig = unb64(&s);
    let input = format!("{h}.{p}");
    // A PSS signature over the same input under an RS256 header, and the reverse.
    let pss = parts(&mint::sign_input(Algorithm::PS256, &rsa_key(), &input).unwrap()).2;
    let modulus = unb64(fixture_jwk("rsa-1")["n"].as_str().unwrap());
    let variants: [(&str, Vec<u8>); 7] = [
        ("PSS signature", unb64(&pss)),
        ("255 bytes", sig[1..].to_vec()),
        ("257 bytes", [&[0u8][..], &sig].concat()),
        ("zeros", vec![0u8; 256]),
        ("ones", vec![0xffu8; 256]),
        ("modulus", modulus),
        ("signature of the attacker key", {
            let other = mint::sign_input(Algorithm::RS256, &attacker_rsa_key(), &input).unwrap();
            unb64(&parts(&other).2)
        }),
    ];
    for (what, bad) in variants {
        let t = format!("{input}.{}", b64(bad));
        refused_as(&auth, &t, InvalidToken::BadSignature, what).await;
    }
    let ps_auth = engine(
        StaticKeys::new(vec![
            VerificationKey::from_pem(Algorithm::PS256, &fixture("rsa2048.pub.pem")).unwrap(),
        ])
        .unwrap(),
    );
    let ps_header = b64(r#"{"alg":"PS256"}"#);
    let ps_input = format!("{ps_header}.{p}");
    let pkcs1 = parts(&mint::sign_input(Algorithm::RS256, &rsa_key(), &ps_input).unwrap()).2;
    refused_as(
        &ps_auth,
        &format!("{ps_input}.{pkcs1}"),
        InvalidToken::BadSignature,
        "PKCS#1 v1.5 under PS256",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// 30–35: header parameters and serializations
// ---------------------------------------------------------------------------------------------

fn hs_raw(header: &str, payload: &[u8]) -> String {
    sign_raw(Algorithm::HS256, &secret(HS_SECRET), header, payload)
}

#[tokio::test]
async fn row_30_unknown_crit() {
    let payload = claims().to_string();
    for header in [
        r#"{"alg":"HS256","crit":["exp-ext"],"exp-ext":1}"#,
        r#"{"alg":"HS256","typ":"JWT","crit":["http://example.invalid/ext"],"http://example.invalid/ext":true}"#,
    ] {
        let t = hs_raw(header, payload.as_bytes());
        refused_as(&hs_auth(), &t, InvalidToken::UnsupportedHeader, header).await;
    }
}

#[tokio::test]
async fn row_31_malformed_crit() {
    let payload = claims().to_string();
    for header in [
        r#"{"alg":"HS256","crit":[]}"#,
        r#"{"alg":"HS256","crit":["alg"]}"#,
        r#"{"alg":"HS256","crit":"b64"}"#,
        r#"{"alg":"HS256","crit":["absent"]}"#,
        r#"{"alg":"HS256","crit":null}"#,
        r#"{"alg":"HS256","crit":[1]}"#,
    ] {
        let t = hs_raw(header, payload.as_bytes());
        refused_as(&hs_auth(), &t, InvalidToken::UnsupportedHeader, header).await;
    }
}

#[tokio::test]
async fn row_32_unencoded_payload() {
    let raw_claims = claims().to_string();
    // RFC 7797 with `crit`: the raw JSON is the middle segment and the signature covers it.
    let h = b64(r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#);
    let detached = mint::sign_input(
        Algorithm::HS256,
        &secret(HS_SECRET),
        &format!("{h}.{raw_claims}"),
    )
    .unwrap();
    // Through the Authorization header the raw JSON breaks the b64token grammar, so the request
    // itself is malformed: 400 invalid_request (stricter than the catalogue's 401).
    invalid_request(
        &call(&hs_auth(), &detached).await.unwrap_err(),
        "b64 header",
    );
    // Through a cookie it reaches the verifier and is a 401.
    let cookie_auth = builder(hs_keys())
        .token_location(TokenLocation::Cookie("access_token".into()))
        .build()
        .unwrap();
    let cookie = format!("access_token={detached}");
    let req = SimpleRequest::new("GET", "/x").header("Cookie", &cookie);
    let err = cookie_auth.authenticate(&req).await.unwrap_err();
    assert_eq!(invalid_token(&err, "b64 cookie"), InvalidToken::Malformed);
    // Without `crit`, signed over the encoded payload: still refused (jose accepts this one).
    let t = hs_raw(r#"{"alg":"HS256","b64":false}"#, raw_claims.as_bytes());
    refused_as(
        &hs_auth(),
        &t,
        InvalidToken::UnsupportedHeader,
        "b64 without crit",
    )
    .await;
    let t = hs_raw(r#"{"alg":"HS256","b64":true}"#, raw_claims.as_bytes());
    refused_as(&hs_auth(), &t, InvalidToken::UnsupportedHeader, "b64 true").await;
}

#[tokio::test]
async fn row_33_nested_jwt() {
    let inner_valid = hs(&claims());
    let inner_forged = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        b64(json!({"sub": "admin", "exp": now() + 600}).to_string())
    );
    for inner in [&inner_valid, &inner_forged] {
        for cty in ["JWT", "jwt", "application/jwt", "Application/JWT"] {
            let header = json!({"alg": "HS256", "cty": cty}).to_string();
            let t = hs_raw(&header, inner.as_bytes());
            refused_as(&hs_auth(), &t, InvalidToken::UnsupportedHeader, cty).await;
        }
        // Without `cty` the payload is simply not a JSON claims set.
        let t = hs_raw(r#"{"alg":"HS256"}"#, inner.as_bytes());
        refused_as(&hs_auth(), &t, InvalidToken::Malformed, "no cty").await;
    }
}

#[tokio::test]
async fn row_34_jwe_and_sign_encrypt_confusion() {
    let auth = hs_auth();
    let h = b64(r#"{"alg":"dir","enc":"A128GCM"}"#);
    let ct = b64(claims().to_string());
    for t in [
        format!("{h}..{}.{ct}.{}", b64([1u8; 12]), b64([2u8; 16])),
        format!(
            "{h}.{}.{}.{ct}.{}",
            b64([3u8; 16]),
            b64([1u8; 12]),
            b64([2u8; 16])
        ),
    ] {
        refused_as(&auth, &t, InvalidToken::Malformed, "5 segments").await;
    }
    // A JWE header on a 3-segment token is an unknown algorithm.
    let t = format!("{h}.{ct}.{}", b64([2u8; 32]));
    refused_as(&auth, &t, InvalidToken::AlgorithmNotAllowed, "3 segments").await;
}

#[tokio::test]
async fn row_35_json_serialization() {
    let auth = hs_auth();
    let (h, p, s) = parts(&hs(&claims()));
    let forged_p = b64(json!({"sub": "admin", "exp": now() + 600}).to_string());
    let flattened = json!({"protected": h, "payload": p, "signature": s}).to_string();
    let general =
        json!({"payload": p, "signatures": [{"protected": h, "signature": s}]}).to_string();
    // python-jwt CVE-2022-39227: a compact-looking prefix inside a JSON serialization.
    let polyglot = format!(
        r#"{{"  {h}.{forged_p}.":"","protected":"{h}","payload":"{p}","signature":"{s}"}}"#
    );
    let suffixed = format!("{h}.{p}.{s}{flattened}");
    for t in [&flattened, &general, &polyglot, &suffixed] {
        // JSON is not a b64token: the Authorization header is malformed (400, stricter than the
        // catalogue's 401), and the verifier itself refuses it as malformed.
        invalid_request(&call(&auth, t).await.unwrap_err(), t);
        verifier_refuses(&hs_keys(), t, InvalidToken::Malformed, t).await;
    }
    // Encoded so that it passes the header grammar: one segment, or a 4th segment.
    refused_as(&auth, &b64(&flattened), InvalidToken::Malformed, "b64 JSON").await;
    let t = format!("{h}.{p}.{s}.{}", b64(&flattened));
    refused_as(&auth, &t, InvalidToken::Malformed, "4th segment").await;
}

// ---------------------------------------------------------------------------------------------
// 36–44: JSON and base64 parsing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn row_36_duplicate_claim_keys() {
    let exp = now() + 600;
    for payload in [
        format!(r#"{{"sub":"alice","sub":"admin","exp":{exp}}}"#),
        format!(r#"{{"sub":"alice","exp":1,"exp":{exp}}}"#),
        format!(r#"{{"sub":"alice","exp":{exp},"exp":1}}"#),
        format!(r#"{{"sub":"a","exp":{exp},"scope":"x","scope":"agent_os:admin"}}"#),
        format!(r#"{{"sub":"a","exp":{exp},"scopes":["x"],"scopes":["agent_os:admin"]}}"#),
        format!(r#"{{"sub":"a","exp":{exp},"aud":"x","aud":"y"}}"#),
        format!(r#"{{"sub":"a","exp":{exp},"extra":{{"k":1,"k":2}}}}"#),
    ] {
        let t = hs_raw(r#"{"alg":"HS256"}"#, payload.as_bytes());
        refused_as(&hs_auth(), &t, InvalidToken::DuplicateMember, &payload).await;
    }
}

#[tokio::test]
async fn row_37_duplicate_header_keys() {
    let payload = claims().to_string();
    for header in [
        r#"{"alg":"none","alg":"HS256"}"#,
        r#"{"alg":"HS256","alg":"none"}"#,
        r#"{"alg":"HS256","alg":"HS256"}"#,
        r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
        r#"{"alg":"HS256","typ":"JWT","typ":"at+jwt"}"#,
    ] {
        let t = hs_raw(header, payload.as_bytes());
        refused_as(&hs_auth(), &t, InvalidToken::DuplicateMember, header).await;
    }
}

#[tokio::test]
async fn row_38_claims_not_an_object() {
    for payload in [
        "[]",
        "\"x\"",
        "1",
        "-1",
        "true",
        "null",
        "[1999999999,null,null,null,null]",
        "[\"alice\",4000000000]",
    ] {
        let t = hs_raw(r#"{"alg":"HS256"}"#, payload.as_bytes());
        refused_as(&hs_auth(), &t, InvalidToken::ClaimsNotObject, payload).await;
    }
    // An empty payload is an empty segment: malformed.
    let t = hs_raw(r#"{"alg":"HS256"}"#, b"");
    refused_as(&hs_auth(), &t, InvalidToken::Malformed, "empty").await;
}

fn deep(depth: usize) -> String {
    format!(
        r#"{{"sub":"a","exp":{},"a":{}{}}}"#,
        now() + 600,
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[tokio::test]
async fn row_39_deep_nesting() {
    // Under the default 8 KiB cap.
    let t = hs_raw(r#"{"alg":"HS256"}"#, deep(2_500).as_bytes());
    assert!(t.len() < 8 * 1024, "{}", t.len());
    refused_as(&hs_auth(), &t, InvalidToken::Malformed, "depth 2500").await;
    // Depth 10,000 needs a larger cap to get past the length check.
    let roomy = builder(hs_keys()).max_token_len(64 * 1024).build().unwrap();
    let t = hs_raw(r#"{"alg":"HS256"}"#, deep(10_000).as_bytes());
    refused_as(
        &hs_auth(),
        &t,
        InvalidToken::TooLong,
        "depth 10000, default cap",
    )
    .await;
    refused_as(&roomy, &t, InvalidToken::Malformed, "depth 10000").await;
    // Objects nest too, and so does the header.
    let objects = format!("{}1{}", r#"{"a":"#.repeat(2_000), "}".repeat(2_000));
    let t = hs_raw(r#"{"alg":"HS256"}"#, objects.as_bytes());
    refused_as(&roomy, &t, InvalidToken::Malformed, "object depth 2000").await;
    let header = format!(
        r#"{{"alg":"HS256","x":{}{}}}"#,
        "[".repeat(2_000),
        "]".repeat(2_000)
    );
    let t = hs_raw(&header, claims().to_string().as_bytes());
    refused_as(&roomy, &t, InvalidToken::Malformed, "header depth 2000").await;
}

#[tokio::test]
async fn row_40_huge_token_and_many_dots() {
    let auth = hs_auth();
    let megabyte = "A".repeat(1024 * 1024);
    refused_as(&auth, &megabyte, InvalidToken::TooLong, "1 MB").await;
    let dots = ".".repeat(1_000_000);
    refused_as(&auth, &dots, InvalidToken::TooLong, "1,000,000 dots").await;
    // Even with the largest allowed cap, a million dots is refused quickly.
    let roomy = builder(hs_keys())
        .max_token_len(1024 * 1024)
        .build()
        .unwrap();
    let started = Instant::now();
    refused_as(&roomy, &dots, InvalidToken::Malformed, "dots, 1 MiB cap").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    // A 100 KB `x5c` in the header.
    let header = json!({"alg": "RS256", "kid": "rsa-1", "x5c": ["A".repeat(100_000)]});
    let t = sign_json(Algorithm::RS256, &rsa_key(), &header, &claims());
    refused_as(&jwks_auth(), &t, InvalidToken::TooLong, "100 KB x5c").await;
}

#[tokio::test]
async fn row_41_invalid_base64url() {
    let auth = hs_auth();
    let (h, p, s) = parts(&hs(&claims()));
    let insert = |seg: &str, c: char| format!("{}{c}{}", &seg[..4], &seg[4..]);
    for c in ['+', '/', '?', '#', ' ', '\t', '\n', '%', '*', '!'] {
        let tokens = [
            format!("{}.{p}.{s}", insert(&h, c)),
            format!("{h}.{}.{s}", insert(&p, c)),
            format!("{h}.{p}.{}", insert(&s, c)),
        ];
        for t in tokens {
            let what = format!("{c:?} in {t}");
            // The verifier refuses every one of them.
            verifier_refuses(&hs_keys(), &t, InvalidToken::Malformed, &what).await;
            let err = call(&auth, &t).await.unwrap_err();
            if matches!(c, '+' | '/') {
                // Legal in an RFC 6750 b64token, so they reach the verifier: 401.
                assert_eq!(invalid_token(&err, &what), InvalidToken::Malformed);
            } else {
                // Not a b64token at all: the Authorization header is malformed, 400
                // invalid_request (RFC 6750 §3.1) rather than the catalogue's 401.
                invalid_request(&err, &what);
            }
        }
    }
}

#[tokio::test]
async fn row_42_base64_padding() {
    let auth = hs_auth();
    let (h, p, s) = parts(&hs(&claims()));
    for pad in ["=", "=="] {
        // Trailing `=` is allowed by the b64token grammar: the verifier refuses it, 401.
        let t = format!("{h}.{p}.{s}{pad}");
        refused_as(&auth, &t, InvalidToken::Malformed, &t).await;
        // `=` inside the value breaks the b64token grammar: 400 (catalogue: 401).
        for t in [format!("{h}{pad}.{p}.{s}"), format!("{h}.{p}{pad}.{s}")] {
            invalid_request(&call(&auth, &t).await.unwrap_err(), &t);
            verifier_refuses(&hs_keys(), &t, InvalidToken::Malformed, &t).await;
        }
    }
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The same bytes with the unused trailing bits of the last character set.
fn non_canonical(seg: &str) -> String {
    assert!(!seg.len().is_multiple_of(4), "no unused bits in {seg}");
    let mut bytes = seg.as_bytes().to_vec();
    let last = bytes.last_mut().unwrap();
    let v = B64URL.iter().position(|c| c == last).unwrap();
    assert_eq!(v & 3, 0, "not canonical");
    *last = B64URL[v + 1];
    String::from_utf8(bytes).unwrap()
}

/// Pads a JSON object text with spaces before `}` until its base64 form has unused bits.
fn with_unused_bits(json: &str) -> String {
    let mut s = json.to_owned();
    while s.len().is_multiple_of(3) {
        s.insert(s.len() - 1, ' ');
    }
    s
}

#[tokio::test]
async fn row_43_non_canonical_base64() {
    let auth = hs_auth();
    let key = secret(HS_SECRET);
    // Signature: 32 bytes = 43 characters with 2 unused bits.
    let (h, p, s) = parts(&hs(&claims()));
    let t = format!("{h}.{p}.{}", non_canonical(&s));
    refused_as(&auth, &t, InvalidToken::Malformed, "signature").await;
    // Header and payload: the signature is genuine over the non-canonical text.
    let header = with_unused_bits(r#"{"alg":"HS256"}"#);
    let payload = with_unused_bits(&claims().to_string());
    let input = format!("{}.{}", non_canonical(&b64(&header)), b64(&payload));
    let t = mint::sign_input(Algorithm::HS256, &key, &input).unwrap();
    refused_as(&auth, &t, InvalidToken::Malformed, "header").await;
    let input = format!("{}.{}", b64(&header), non_canonical(&b64(&payload)));
    let t = mint::sign_input(Algorithm::HS256, &key, &input).unwrap();
    refused_as(&auth, &t, InvalidToken::Malformed, "payload").await;
    // Sanity: the canonical forms of the same texts are accepted.
    let input = format!("{}.{}", b64(&header), b64(&payload));
    let t = mint::sign_input(Algorithm::HS256, &key, &input).unwrap();
    accepted(&auth, &t, "canonical").await;
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[tokio::test]
async fn row_44_encoding_tricks() {
    let auth = hs_auth();
    let json = claims().to_string();
    let exp = now() + 600;
    let payloads: Vec<(&str, Vec<u8>)> = vec![
        (
            "invalid UTF-8",
            format!(r#"{{"sub":"a?","exp":{exp}}}"#)
                .replace('?', "\u{0}")
                .into_bytes()
                .into_iter()
                .map(|b| if b == 0 { 0xff } else { b })
                .collect(),
        ),
        (
            "overlong UTF-8",
            [
                br#"{"sub":""#.as_slice(),
                &[0xc0, 0xaf],
                format!(r#"","exp":{exp}}}"#).as_bytes(),
            ]
            .concat(),
        ),
        ("UTF-16LE", utf16le(&json)),
        (
            "UTF-8 BOM",
            [&[0xef, 0xbb, 0xbf][..], json.as_bytes()].concat(),
        ),
        ("trailing bytes", format!("{json} x").into_bytes()),
        ("trailing NUL", [json.as_bytes(), &[0]].concat()),
        ("two objects", format!("{json}{json}").into_bytes()),
    ];
    for (what, payload) in &payloads {
        let t = hs_raw(r#"{"alg":"HS256"}"#, payload);
        refused_as(&auth, &t, InvalidToken::Malformed, what).await;
    }
    // The same tricks in the header.
    let header = r#"{"alg":"HS256"}"#;
    let headers: [(&str, Vec<u8>); 3] = [
        ("UTF-16LE", utf16le(header)),
        ("BOM", [&[0xef, 0xbb, 0xbf][..], header.as_bytes()].concat()),
        ("trailing", format!("{header}x").into_bytes()),
    ];
    for (what, h) in headers {
        let input = format!("{}.{}", b64(&h), b64(&json));
        let t = mint::sign_input(Algorithm::HS256, &secret(HS_SECRET), &input).unwrap();
        refused_as(&auth, &t, InvalidToken::Malformed, what).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 45–46: the Authorization header
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn row_45_header_whitespace() {
    let auth = hs_auth();
    let t = hs(&claims());
    for value in [
        format!("Bearer {t}"),
        format!("Bearer  {t}"),
        format!("bearer {t}"),
        format!("BEARER {t}"),
        format!("Bearer {t}  "),
        format!("Bearer {t}\t"),
        format!("  Bearer {t}"),
    ] {
        let ctx = call_header(&auth, &value).await.unwrap().into_context();
        assert_eq!(ctx.unwrap().user_id(), Some("alice"), "{value:?}");
    }
    // agno answers 401 to a bare `Bearer`; RFC 6750 grammar makes these malformed requests.
    for value in [
        format!("Bearer\t{t}"),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer    ".to_owned(),
        format!("Bearer {t} {t}"),
    ] {
        let err = call_header(&auth, &value).await.unwrap_err();
        invalid_request(&err, &value);
    }
}

#[tokio::test]
async fn row_46_other_scheme() {
    let auth = hs_auth();
    let t = hs(&claims());
    for value in [
        "Basic dXNlcjpwYXNz".to_owned(),
        "Digest username=\"u\"".to_owned(),
        format!("Token {t}"),
        format!("Bearer{t}"),
        format!("JWT {t}"),
    ] {
        let err = call_header(&auth, &value).await.unwrap_err();
        no_credential(&err, &value);
        assert_eq!(err.kind(), &AuthErrorKind::UnsupportedScheme, "{value}");
    }
}

// ---------------------------------------------------------------------------------------------
// 47–57: claims
// ---------------------------------------------------------------------------------------------

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

#[tokio::test]
async fn row_47_exp_not_numeric() {
    let auth = hs_auth();
    for exp in [
        json!("9999999999"),
        json!(null),
        json!(true),
        json!([1]),
        json!({}),
        json!(format!("{}", now() + 600)),
    ] {
        let t = hs(&with(claims(), "exp", exp.clone()));
        let reason = refused(&auth, &t, &exp.to_string()).await;
        assert_eq!(reason, InvalidToken::InvalidClaim("exp".into()), "{exp}");
    }
}

#[tokio::test]
async fn row_48_exp_edges() {
    let strict = builder(hs_keys()).leeway(0).build().unwrap();
    let auth = hs_auth(); // default leeway: 10 s
    let n = now();
    let leeway = jwt_core::DEFAULT_LEEWAY_SECS;
    // At exactly `exp` the token is expired (time only moves forward, so this cannot flake).
    let t = hs(&with(claims(), "exp", json!(n)));
    refused_as(&strict, &t, InvalidToken::Expired, "exp = now, leeway 0").await;
    let t = hs(&with(claims(), "exp", json!(n - leeway - 1)));
    refused_as(&auth, &t, InvalidToken::Expired, "now - leeway - 1").await;
    // The catalogue's `now - leeway + 1` would race the clock; 5 s of margin keep it stable.
    let t = hs(&with(claims(), "exp", json!(n - leeway + 5)));
    accepted(&auth, &t, "now - leeway + 5").await;
    let t = hs(&with(claims(), "exp", json!(n as f64 + 600.5)));
    accepted(&auth, &t, "float").await;
    let t = hs(&with(claims(), "exp", json!(u64::MAX)));
    accepted(&auth, &t, "u64::MAX (no max lifetime configured)").await;
    for exp in [json!(-1), json!(1e300), json!(1e20), json!(-0.5), json!(0)] {
        let t = hs(&with(claims(), "exp", exp.clone()));
        let reason = refused(&auth, &t, &exp.to_string()).await;
        assert!(
            matches!(
                reason,
                InvalidToken::InvalidClaim(_) | InvalidToken::Expired
            ),
            "{exp}: {reason:?}"
        );
    }
}

#[tokio::test]
async fn row_49_exp_missing() {
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    let t = hs(&no_exp);
    refused_as(
        &hs_auth(),
        &t,
        InvalidToken::MissingClaim("exp".into()),
        "default",
    )
    .await;
    // agno-compatible mode accepts it.
    let compat = builder(hs_keys())
        .validation(Validation::default().dangerous_optional_exp())
        .build()
        .unwrap();
    accepted(&compat, &t, "dangerous_optional_exp()").await;
}

#[tokio::test]
async fn row_50_nbf_edges() {
    let auth = hs_auth();
    let n = now();
    let leeway = jwt_core::DEFAULT_LEEWAY_SECS;
    // The catalogue's `now + leeway + 1` would race the clock; 5 s of margin keep it stable.
    let t = hs(&with(claims(), "nbf", json!(n + leeway + 5)));
    refused_as(&auth, &t, InvalidToken::NotYetValid, "future nbf").await;
    let t = hs(&with(claims(), "nbf", json!(n)));
    accepted(&auth, &t, "nbf = now").await;
    for nbf in [json!("1"), json!(null), json!(-5), json!([n])] {
        let t = hs(&with(claims(), "nbf", nbf.clone()));
        refused_as(
            &auth,
            &t,
            InvalidToken::InvalidClaim("nbf".into()),
            &nbf.to_string(),
        )
        .await;
    }
}

#[tokio::test]
async fn row_51_iat_edges() {
    let auth = hs_auth();
    let n = now();
    let t = hs(&with(claims(), "iat", json!(n + 3600)));
    refused_as(&auth, &t, InvalidToken::IssuedInFuture, "iat + 1 h").await;
    let t = hs(&with(claims(), "iat", json!("x")));
    refused_as(&auth, &t, InvalidToken::InvalidClaim("iat".into()), "iat x").await;
    let t = hs(&with(claims(), "iat", json!(n)));
    accepted(&auth, &t, "iat = now").await;
}

#[tokio::test]
async fn row_52_aud_string_vs_array() {
    let auth = builder(hs_keys()).audience("api").build().unwrap();
    for aud in [json!("api"), json!(["api", "x"]), json!(["x", "api"])] {
        accepted(
            &auth,
            &hs(&with(claims(), "aud", aud.clone())),
            &aud.to_string(),
        )
        .await;
    }
    for aud in [
        json!(["x"]),
        json!([]),
        json!("API"),
        json!("api/"),
        json!(" api"),
        json!(5),
        json!([5]),
        json!({"a": 1}),
        json!(["api", 5]),
        json!(null),
        json!([["api"]]),
    ] {
        let t = hs(&with(claims(), "aud", aud.clone()));
        refused_as(&auth, &t, InvalidToken::InvalidAudience, &aud.to_string()).await;
    }
    refused_as(
        &auth,
        &hs(&claims()),
        InvalidToken::InvalidAudience,
        "absent",
    )
    .await;
}

#[tokio::test]
async fn row_53_aud_present_but_none_configured() {
    let auth = hs_auth();
    for aud in [json!("x"), json!(["x"]), json!([]), json!(null)] {
        let t = hs(&with(claims(), "aud", aud.clone()));
        refused_as(&auth, &t, InvalidToken::InvalidAudience, &aud.to_string()).await;
    }
}

#[tokio::test]
async fn row_54_iss_mismatch() {
    let auth = builder(hs_keys())
        .issuer("https://idp.example")
        .build()
        .unwrap();
    accepted(
        &auth,
        &hs(&with(claims(), "iss", json!("https://idp.example"))),
        "exact",
    )
    .await;
    for iss in [
        json!("https://idp.example/"),
        json!("HTTPS://IDP.EXAMPLE"),
        json!("https://IDP.example"),
        json!("http://idp.example"),
        json!(["evil", "https://idp.example"]),
        json!(["https://idp.example"]),
        json!(5),
        json!(null),
    ] {
        let t = hs(&with(claims(), "iss", iss.clone()));
        refused_as(&auth, &t, InvalidToken::InvalidIssuer, &iss.to_string()).await;
    }
    refused_as(&auth, &hs(&claims()), InvalidToken::InvalidIssuer, "absent").await;
}

const AT_AUD: &str = "https://api.example";
const AT_ISS: &str = "https://idp.example";

fn rfc9068_auth() -> JwtAuth {
    let v = Validation::default()
        .rfc9068(true)
        .audience([AT_AUD])
        .issuer([AT_ISS]);
    builder(hs_keys()).validation(v).build().unwrap()
}

fn access_token_claims() -> Value {
    json!({
        "iss": AT_ISS, "aud": AT_AUD, "sub": "alice", "client_id": "c1",
        "iat": now(), "exp": now() + 600, "jti": "j1",
    })
}

fn with_typ(typ: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": "HS256"});
    if let Some(typ) = typ {
        header["typ"] = json!(typ);
    }
    sign_json(Algorithm::HS256, &secret(HS_SECRET), &header, claims)
}

#[tokio::test]
async fn row_56_typ_confusion_id_token_as_access_token() {
    let auth = rfc9068_auth();
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/AT+JWT",
    ] {
        accepted(&auth, &with_typ(Some(typ), &access_token_claims()), typ).await;
    }
    // An ID token: `typ` absent or `JWT`, `aud` = client id, `nonce`, `at_hash`.
    let id_token = json!({
        "iss": AT_ISS, "aud": "c1", "sub": "alice", "nonce": "n", "at_hash": "h",
        "iat": now(), "exp": now() + 600,
    });
    for typ in [None, Some("JWT")] {
        let t = with_typ(typ, &id_token);
        refused_as(&auth, &t, InvalidToken::WrongType, "id token").await;
    }
    // Even with the access-token claims, the wrong `typ` is refused.
    for typ in [
        None,
        Some("JWT"),
        Some("at+jwt "),
        Some("at+JWT2"),
        Some("jwt"),
    ] {
        let t = with_typ(typ, &access_token_claims());
        refused_as(&auth, &t, InvalidToken::WrongType, &format!("{typ:?}")).await;
    }
    // ...and a correct `typ` does not excuse a missing RFC 9068 claim.
    let mut no_jti = access_token_claims();
    no_jti.as_object_mut().unwrap().remove("jti");
    let t = with_typ(Some("at+jwt"), &no_jti);
    refused_as(
        &auth,
        &t,
        InvalidToken::MissingClaim("jti".into()),
        "no jti",
    )
    .await;
}

#[tokio::test]
async fn row_57_other_jwt_kinds() {
    let auth = rfc9068_auth();
    for typ in [
        "logout+jwt",
        "secevent+jwt",
        "dpop+jwt",
        "application/secevent+jwt",
    ] {
        let t = with_typ(Some(typ), &access_token_claims());
        refused_as(&auth, &t, InvalidToken::WrongType, typ).await;
    }
    // "Strict mode" here is the opt-in RFC 9068 profile. The default profile does no explicit
    // typing (security.md §1.F is opt-in), so the same token passes there.
    let t = with_typ(Some("logout+jwt"), &claims());
    accepted(&hs_auth(), &t, "default profile").await;
}

// ---------------------------------------------------------------------------------------------
// 58–60: transport
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn row_58_token_in_query_string_is_ignored() {
    let auth = hs_auth();
    let path = format!("/x?access_token={}", hs(&claims()));
    let err = auth
        .authenticate(&SimpleRequest::new("GET", &path))
        .await
        .unwrap_err();
    no_credential(&err, "query token");
    assert_eq!(err.detail(), "Authorization header missing");
}

#[tokio::test]
async fn row_59_cookie_and_header_with_different_tokens() {
    let alice = hs(&claims());
    let bob = hs(&json!({"sub": "bob", "exp": now() + 600}));
    let bearer = format!("Bearer {alice}");
    let strict = builder(hs_keys())
        .token_location(TokenLocation::BothStrict("access_token".into()))
        .build()
        .unwrap();
    let both = builder(hs_keys())
        .token_location(TokenLocation::Both("access_token".into()))
        .build()
        .unwrap();
    for cookie_token in [bob.as_str(), "in.valid.token"] {
        let cookie = format!("access_token={cookie_token}");
        let req = SimpleRequest::new("GET", "/x")
            .header("Authorization", &bearer)
            .header("Cookie", &cookie);
        invalid_request(&strict.authenticate(&req).await.unwrap_err(), cookie_token);
        // Default (agno-compatible) mode: the header wins.
        let ctx = both
            .authenticate(&req)
            .await
            .unwrap()
            .into_context()
            .unwrap();
        assert_eq!(ctx.user_id(), Some("alice"));
    }
    // The same token twice is one credential.
    let cookie = format!("access_token={alice}");
    let req = SimpleRequest::new("GET", "/x")
        .header("Authorization", &bearer)
        .header("Cookie", &cookie);
    assert!(strict.authenticate(&req).await.is_ok());
    // Never "any one verifies": an invalid header token is not retried from the cookie.
    let bad_bearer = format!("Bearer {}", hs(&with(claims(), "exp", json!(1))));
    let cookie = format!("access_token={bob}");
    let req = SimpleRequest::new("GET", "/x")
        .header("Authorization", &bad_bearer)
        .header("Cookie", &cookie);
    let err = both.authenticate(&req).await.unwrap_err();
    assert_eq!(invalid_token(&err, "bad header"), InvalidToken::Expired);
}

#[tokio::test]
async fn row_60_two_credentials_in_headers() {
    let auth = hs_auth();
    let a = format!("Bearer {}", hs(&claims()));
    let b = format!("Bearer {}", hs(&json!({"sub": "bob", "exp": now() + 600})));
    for (first, second) in [(&a, &b), (&a, &a)] {
        let req = SimpleRequest::new("GET", "/x")
            .header("Authorization", first)
            .header("authorization", second);
        invalid_request(&auth.authenticate(&req).await.unwrap_err(), "two headers");
    }
    let joined = format!("{a}, {b}");
    invalid_request(&call_header(&auth, &joined).await.unwrap_err(), "a, b");
}

// ---------------------------------------------------------------------------------------------
// 62–64: keys
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn row_62_weak_or_odd_rsa_keys() {
    let weak_pem = fixture("rsa1024.pub.pem");
    assert!(matches!(
        VerificationKey::from_pem(Algorithm::RS256, &weak_pem),
        Err(ConfigError::WeakRsaKey { bits: 1024 })
    ));
    assert!(matches!(
        StaticKeys::pem(Algorithm::PS256, &weak_pem),
        Err(ConfigError::WeakRsaKey { bits: 1024 })
    ));
    let weak_text = String::from_utf8(weak_pem).unwrap();
    assert!(
        KeyChain::from_lookup(|n| (n == "JWT_VERIFICATION_KEY").then(|| weak_text.clone()))
            .is_err()
    );
    let weak_jwk: Value = serde_json::from_slice(&fixture("rsa1024.jwk.json")).unwrap();
    assert!(matches!(
        VerificationKey::from_jwk(&weak_jwk, JwkDefaults::default(), false),
        Err(JwkRejection::Refused(_))
    ));
    assert!(matches!(
        Jwks::from_json(&json!({"keys": [weak_jwk]}).to_string()),
        Err(ConfigError::EmptyJwks)
    ));
    // In a set with a good key, the weak key is skipped and its tokens are refused.
    let set = jwks_with(json!([weak_jwk, fixture_jwk("rsa-1")]));
    assert_eq!(set.kids(), ["rsa-1"]);
    let auth = engine(set);
    let h = b64(r#"{"alg":"RS256","kid":"weak"}"#);
    let p = b64(claims().to_string());
    let input = format!("{h}.{p}");
    // A real 1024-bit signature when the backend will make one, else a 128-byte stand-in.
    let sig = EncodingKey::from_rsa_pem(&fixture("rsa1024.key"))
        .ok()
        .and_then(|k| mint::sign_input(Algorithm::RS256, &k, &input).ok())
        .map_or_else(|| b64([0x5au8; 128]), |t| parts(&t).2);
    refused_as(
        &auth,
        &format!("{input}.{sig}"),
        InvalidToken::UnknownKey,
        "1024",
    )
    .await;

    // e = 1 (and other bad exponents), with the good modulus.
    let n = fixture_jwk("rsa-1")["n"].as_str().unwrap().to_owned();
    for e in ["AQ", "Ag", "AA", "AAE"] {
        let jwk = json!({"kty": "RSA", "kid": "e", "n": n, "e": e});
        assert!(
            matches!(
                VerificationKey::from_jwk(&jwk, JwkDefaults::default(), false),
                Err(JwkRejection::Refused(_))
            ),
            "e = {e}"
        );
    }
    assert!(matches!(
        VerificationKey::from_rsa_components(Algorithm::RS256, &unb64(&n), &[1]),
        Err(ConfigError::InvalidKey { .. })
    ));
    // ROCA-vulnerable keys are not detected by the core (needs a fingerprint test): not covered.
}

#[tokio::test]
async fn row_63_key_use_violations() {
    let token = sign(Algorithm::RS256, &rsa_key(), Some("rsa-1"), &claims());
    let ok = fixture_jwk("rsa-1");
    for (what, field, value) in [
        ("use enc", "use", json!("enc")),
        ("key_ops encrypt", "key_ops", json!(["encrypt"])),
        ("key_ops sign", "key_ops", json!(["sign"])),
        ("key_ops empty", "key_ops", json!([])),
    ] {
        let jwk = with(ok.clone(), field, value);
        assert_eq!(
            VerificationKey::from_jwk(&jwk, JwkDefaults::default(), false).unwrap_err(),
            JwkRejection::WrongUse,
            "{what}"
        );
        let auth = engine(jwks_with(json!([jwk, fixture_jwk("ec-1")])));
        refused(&auth, &token, what).await;
    }
    let fine = with(ok, "key_ops", json!(["verify"]));
    accepted(&engine(jwks_with(json!([fine]))), &token, "key_ops verify").await;
}

#[tokio::test]
async fn row_64_jwk_alg_mismatch() {
    // rsa-1 says RS256; a PS256 token made with the same key is refused.
    let ps = sign(Algorithm::PS256, &rsa_key(), Some("rsa-1"), &claims());
    refused_as(
        &jwks_auth(),
        &ps,
        InvalidToken::AlgorithmNotAllowed,
        "no PS256 key",
    )
    .await;
    // Even when another key in the set allows PS256, rsa-1 only verifies RS256.
    let mut ps_key = attacker_jwk("rsa-2");
    ps_key["alg"] = json!("PS256");
    let auth = engine(jwks_with(json!([fixture_jwk("rsa-1"), ps_key])));
    refused_as(&auth, &ps, InvalidToken::UnknownKey, "kid bound to RS256").await;
    // A key without `alg` gets exactly one algorithm (RS256 by default).
    let mut no_alg = fixture_jwk("rsa-1");
    no_alg.as_object_mut().unwrap().remove("alg");
    let auth = engine(jwks_with(json!([no_alg])));
    refused(&auth, &ps, "default RS256").await;
    // `alg` that does not fit the key type or curve refuses the key.
    for (kid, alg) in [
        ("ec-1", "RS256"),
        ("ec-1", "ES384"),
        ("ed-1", "ES256"),
        ("rsa-1", "HS256"),
    ] {
        let jwk = with(fixture_jwk(kid), "alg", json!(alg));
        assert!(
            VerificationKey::from_jwk(&jwk, JwkDefaults::default(), false).is_err(),
            "{kid} {alg}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 65–67: strings, scopes and subjects
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn row_65_look_alike_strings() {
    let iss = "https://idp.example/t\u{e9}nant"; // NFC é
    let auth = builder(hs_keys())
        .audience("api")
        .issuer(iss)
        .scopes(
            RouteTable::builder()
                .route("GET /items", ["items:read"])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let good =
        json!({"sub": "a", "exp": now() + 600, "aud": "api", "iss": iss, "scopes": ["items:read"]});
    let t = hs(&good);
    let bearer = format!("Bearer {t}");
    let req = SimpleRequest::new("GET", "/items").header("Authorization", &bearer);
    assert!(auth.authenticate(&req).await.is_ok());

    for aud in [
        "\u{430}pi",
        "api\u{200b}",
        "\u{200b}api",
        "ap\u{456}",
        "\u{ff41}pi",
    ] {
        let t = hs(&with(good.clone(), "aud", json!(aud)));
        refused_as(&auth, &t, InvalidToken::InvalidAudience, aud).await;
    }
    for bad_iss in [
        "https://idp.example/te\u{301}nant", // NFD
        "https://idp.example/t\u{e9}nant\u{200b}",
        "https://\u{456}dp.example/t\u{e9}nant",
    ] {
        let t = hs(&with(good.clone(), "iss", json!(bad_iss)));
        refused_as(&auth, &t, InvalidToken::InvalidIssuer, bad_iss).await;
    }
    for scope in [
        "\u{456}tems:read",
        "items:re\u{430}d",
        "items:read\u{200b}",
        "items\u{ff1a}read",
    ] {
        let t = hs(&with(good.clone(), "scopes", json!([scope])));
        let bearer = format!("Bearer {t}");
        let req = SimpleRequest::new("GET", "/items").header("Authorization", &bearer);
        insufficient_scope(&auth.authenticate(&req).await.unwrap_err(), scope);
    }
}

#[tokio::test]
async fn row_66_scope_syntax() {
    let auth = builder(hs_keys()).agent_os().build().unwrap();
    let run = |scopes: Value| {
        let mut c = claims();
        c["scopes"] = scopes;
        hs(&c)
    };
    let attempt = |token: String| {
        let auth = auth.clone();
        async move {
            let bearer = format!("Bearer {token}");
            let req =
                SimpleRequest::new("POST", "/agents/a1/runs").header("Authorization", &bearer);
            auth.authenticate(&req).await
        }
    };
    // Well-formed grants, including agno's wildcard and extra spaces between scope-tokens.
    for scopes in [
        json!(["agents:a1:run"]),
        json!("agents:a1:run"),
        json!("  teams:read   agents:a1:run  "),
        json!(["agents:*:run"]),
        json!(["agents:run"]),
        json!(["x", 5, null, "agents:a1:run"]),
    ] {
        assert!(attempt(run(scopes.clone())).await.is_ok(), "{scopes}");
    }
    // A tab also separates scopes: our documented choice (StandardClaims splits on ASCII
    // whitespace); the catalogue's proposal would grant nothing for a tab-joined string.
    assert!(
        attempt(run(json!("teams:read\tagents:a1:run")))
            .await
            .is_ok()
    );
    // Malformed parts grant nothing.
    for scopes in [
        json!(["agents:a1:run\u{0}"]),
        json!("agents:a1:run\u{0}"),
        json!(["agents:a1:run,agents:a2:run"]),
        json!([["agents:a1:run"]]),
        json!({"agents:a1:run": true}),
        json!(["agents:a2:run"]),
        json!(["agents:a1:read"]),
        json!(["agents:a1"]),
        json!(["agents::run"]),
        json!(["agents:a1:run:x"]),
        json!(["AGENTS:A1:RUN"]),
        json!(["agent_os:admin\u{0}"]),
        json!(["AGENT_OS:ADMIN"]),
        json!(5),
    ] {
        let err = attempt(run(scopes.clone())).await.unwrap_err();
        insufficient_scope(&err, &scopes.to_string());
    }
    // The AgentOS preset reads only agno's `scopes` claim: the singular `scope` claim is not
    // read unless configured. (`StandardClaims::default()` now also reads `scope` and `scp`, the
    // documented default for tokens of identity providers; `StandardClaims::agent_os()` keeps
    // agno's single claim.)
    let mut c = claims();
    c["scope"] = json!("agents:a1:run");
    let err = attempt(hs(&c)).await.unwrap_err();
    insufficient_scope(&err, "scope claim");
    let mut c = claims();
    c["scp"] = json!(["agents:a1:run"]);
    let err = attempt(hs(&c)).await.unwrap_err();
    insufficient_scope(&err, "scp claim");
    // With the default claims the same table reads `scope` (space-delimited) and `scp`.
    let default_claims = builder(hs_keys())
        .scopes(RouteTable::agent_os().build().unwrap())
        .build()
        .unwrap();
    let bearer = |c: &Value| format!("Bearer {}", hs(c));
    for (name, value) in [
        ("scope", json!("teams:read agents:a1:run")),
        ("scp", json!(["agents:a1:run"])),
        ("scp", json!("agents:a1:run")),
    ] {
        let mut c = claims();
        c[name] = value.clone();
        let header = bearer(&c);
        let req = SimpleRequest::new("POST", "/agents/a1/runs").header("Authorization", &header);
        assert!(
            default_claims.authenticate(&req).await.is_ok(),
            "{name}: {value}"
        );
    }
}

#[tokio::test]
async fn row_67_reserved_principals() {
    let auth = builder(hs_keys())
        .claims(StandardClaims::agent_os())
        .build()
        .unwrap();
    for sub in ["__scheduler__", "sa:x", "sa:", "__oauth__:x", "__oauth__:"] {
        let t = hs(&with(claims(), "sub", json!(sub)));
        let reason = refused(&auth, &t, sub).await;
        assert_eq!(reason, InvalidToken::ReservedSubject, "{sub}");
        let err = call(&auth, &t).await.unwrap_err();
        assert_eq!(err.detail(), "Invalid token subject");
    }
    for sub in ["alice", "sax", "__scheduler__x", "SA:x"] {
        let t = hs(&with(claims(), "sub", json!(sub)));
        accepted(&auth, &t, sub).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Rows 70–78: routing. The core's half (what it decides for a path); the adapters' half (that
// they hand it the path their router matches on) is the router differential in `conformance`.
// ---------------------------------------------------------------------------------------------

/// A custom (non-AgentOS) table shaped like a real app's.
fn routing_engine() -> JwtAuth {
    let table = RouteTable::builder()
        .route("GET /items", ["items:read"])
        .route("GET /items/{id}", ["items:{id}:read"])
        .route("POST /items/{id}/runs", ["items:{id}:run"])
        .route("POST /admin:reset", ["admin:reset"])
        .route("POST /admin@reset", ["admin:reset"])
        .route("GET /api/admin/items", ["admin:items:read"])
        .route("GET /agents", ["agents:read", "billing:active"])
        .listing("GET /agents", "agents", "read")
        .exclude("/health")
        .scope_rules(ScopeRules::agent_os())
        .build()
        .unwrap();
    builder(hs_keys()).scopes(table).build().unwrap()
}

async fn route_call(
    auth: &JwtAuth,
    method: &str,
    path: &str,
    scopes: &[&str],
) -> Result<Outcome, AuthError> {
    let token = hs(&with(claims(), "scopes", json!(scopes)));
    let bearer = format!("Bearer {token}");
    auth.authenticate(&SimpleRequest::new(method, path).header("Authorization", &bearer))
        .await
}

#[tokio::test]
async fn row_70_unlisted_route_fails_closed() {
    let auth = routing_engine();
    for (method, path) in [
        ("GET", "/unlisted"),
        ("DELETE", "/items/a1"),
        ("POST", "/items"),
        ("GET", "/items/a1/runs"),
    ] {
        let err = route_call(&auth, method, path, &[]).await.unwrap_err();
        assert_eq!(err.status(), 403, "{method} {path}");
        assert_eq!(err.error_code(), Some("insufficient_scope"));
        assert_eq!(err.detail(), "Access denied: route not permitted");
        let anonymous = auth
            .authenticate(&SimpleRequest::new(method, path))
            .await
            .unwrap_err();
        assert_eq!(anonymous.status(), 401, "{method} {path} without a token");
    }
}

#[tokio::test]
async fn row_71_empty_path_parameter() {
    let auth = routing_engine();
    for path in ["/items//runs", "/items/", "//items", "/items/a1//"] {
        let method = if path.ends_with("runs") {
            "POST"
        } else {
            "GET"
        };
        let r = route_call(&auth, method, path, &["items:read", "items:*:run"]).await;
        match r {
            Err(err) => assert!(matches!(err.status(), 400 | 403), "{path}: {err}"),
            // `/items/` is `/items` with its one trailing slash ignored.
            Ok(_) => assert_eq!(path, "/items/"),
        }
    }
    let err = route_call(&auth, "POST", "/items//runs", &["agent_os:admin"])
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(err.error_code(), Some("invalid_request"));
}

#[tokio::test]
async fn row_72_percent_encoded_reserved_character_in_a_literal() {
    let auth = routing_engine();
    for path in ["/admin%3Areset", "/admin%3areset", "/admin%40reset"] {
        let err = route_call(&auth, "POST", path, &[]).await.unwrap_err();
        assert_eq!(err.status(), 400, "{path}");
        assert!(matches!(
            err.kind(),
            AuthErrorKind::InvalidPath(jwt_core::PathRejection::EncodedLiteral)
        ));
    }
    assert!(
        route_call(&auth, "POST", "/admin:reset", &["admin:reset"])
            .await
            .is_ok()
    );
    let err = route_call(&auth, "POST", "/admin:reset", &[])
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    // An unreserved character escaped in the same literal: refused as a disguise, earlier.
    let err = route_call(&auth, "POST", "/%61dmin:reset", &["admin:reset"])
        .await
        .unwrap_err();
    assert!(matches!(
        err.kind(),
        AuthErrorKind::InvalidPath(jwt_core::PathRejection::EncodedUnreserved)
    ));
}

#[tokio::test]
async fn row_73_mount_prefix_is_part_of_the_decision() {
    // The core decides on the full path the adapter hands it: `/api/admin/items` needs the
    // stricter scope, never the root `/items` entry's.
    let auth = routing_engine();
    let err = route_call(&auth, "GET", "/api/admin/items", &["items:read"])
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(
        route_call(&auth, "GET", "/api/admin/items", &["admin:items:read"])
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn row_74_dot_segments() {
    let auth = routing_engine();
    for path in [
        "/items/./a2",
        "/items/a1/../a2",
        "/items/%2e/a2",
        "/items/a1/%2E%2E/a2",
        "/items/a1/.%2e/a2",
        "/items/..",
    ] {
        let err = route_call(&auth, "GET", path, &["items:a1:read"])
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400, "{path}");
    }
}

#[tokio::test]
async fn row_75_double_and_mixed_encoding() {
    let auth = routing_engine();
    // Decoded once: `a%252D2` is the id `a%2D2`, never `a-2`.
    let ctx = route_call(&auth, "GET", "/items/a%252D2", &["items:a%2D2:read"])
        .await
        .unwrap()
        .into_context()
        .unwrap();
    assert_eq!(ctx.required_scopes(), ["items:a%2D2:read"]);
    let err = route_call(&auth, "GET", "/items/a%252D2", &["items:a-2:read"])
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    // An escaped unreserved character, in either hex case, is a disguise of the plain one: a
    // handler reading the raw segment would see another id than the one authorized. Refused,
    // whatever the token holds.
    for path in [
        "/items/a%2d2",
        "/items/a%2D2",
        "/items/%61-2",
        "/items/a%7E",
    ] {
        for scopes in [&["items:a-2:read"][..], &["agent_os:admin"][..]] {
            let err = route_call(&auth, "GET", path, scopes).await.unwrap_err();
            assert_eq!(err.status(), 400, "{path}");
            assert!(matches!(
                err.kind(),
                AuthErrorKind::InvalidPath(jwt_core::PathRejection::EncodedUnreserved)
            ));
        }
    }
    // Reserved characters may be escaped, in either hex case: the same parameter.
    for path in ["/items/a%3a2", "/items/a%3A2"] {
        assert!(
            route_call(&auth, "GET", path, &["items:a:2:read"])
                .await
                .is_ok(),
            "{path}"
        );
    }
    // Any character of a literal encoded: refused, not guessed.
    for path in ["/%69tems/a1", "/item%73/a1", "/ITEMS/a1"] {
        let err = route_call(&auth, "GET", path, &["agent_os:admin"])
            .await
            .unwrap_err();
        assert!(matches!(err.status(), 400 | 403), "{path}");
    }
}

#[tokio::test]
async fn row_76_parameter_is_authorized_decoded_once() {
    let auth = routing_engine();
    let ctx = route_call(&auth, "POST", "/items/a%2Fb/runs", &["items:a/b:run"])
        .await
        .unwrap()
        .into_context()
        .unwrap();
    assert_eq!(ctx.required_scopes(), ["items:a/b:run"]);
}

#[tokio::test]
async fn row_78_listing_fallback_never_skips_other_scopes() {
    let auth = routing_engine();
    let err = route_call(&auth, "GET", "/agents", &["agents:a1:read"])
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let ctx = route_call(
        &auth,
        "GET",
        "/agents",
        &["agents:a1:read", "billing:active"],
    )
    .await
    .unwrap()
    .into_context()
    .unwrap();
    assert!(ctx.listing_ids("agents").contains("a1"));
    assert!(!ctx.listing_ids("agents").contains("a2"));
    let err = route_call(&auth, "GET", "/agents", &["agents:read"])
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    // HEAD entries are refused at build time: HEAD follows GET.
    assert!(matches!(
        RouteTable::builder().route("HEAD /x", ["s"]).build(),
        Err(ConfigError::InvalidRoute { .. })
    ));
}

#[tokio::test]
async fn sub_must_be_a_string() {
    let auth = engine(hs_keys());
    for sub in [
        json!(42),
        json!(1.5),
        json!(true),
        json!(null),
        json!(["a"]),
        json!({"a": 1}),
    ] {
        let token = hs(&with(claims(), "sub", sub.clone()));
        let err = call(&auth, &token).await.unwrap_err();
        assert_eq!(err.status(), 401, "{sub}");
        assert!(matches!(
            err.kind(),
            AuthErrorKind::InvalidToken(InvalidToken::InvalidClaim(name)) if name == "sub"
        ));
    }
    accepted(&auth, &hs(&claims()), "string sub").await;
}
