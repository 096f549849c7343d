//! Public test vectors run against jwt-core, read from `tests/vectors/` (byte-for-byte copies of
//! the upstream files with their licences): Wycheproof JWS / JWK / primitive files and the
//! RFC 7520 / RFC 7797 cookbook examples.
//!
//! Every vector's outcome must equal the vector's `result`, except the deliberate deviations in
//! [`DEVIATIONS`], the one place where they are listed. A deviation is accepted only when the
//! observed refusal fits its stated reason, and every entry of the table must still be needed.
//!
//! How a JWS vector is run: the key comes from the vector's JWK through
//! [`VerificationKey::from_jwk`] (or the set through [`Jwks::from_json`]); the compact `jws` goes
//! through [`Verifier::verify`], which checks structure and signature and then decodes the
//! payload as a JWT claims object (no claim validation). None of the Wycheproof or cookbook
//! payloads is a claims object, so a "valid" vector is at best "signature verified, payload
//! refused". That state is told apart from an earlier refusal with a probe through the same
//! verifier: the same header and signature with the payload `{}` must fail with
//! `BadSignature`, proving that header, key lookup and algorithm passed and that the real
//! token's refusal came after the signature verified.
//!
//! Raw primitive files (HMAC-SHA256, ECDSA P-256 P1363, Ed25519, RSA PKCS#1 SHA-256) sign
//! arbitrary bytes, never a JWS signing input, so they cannot go through a verifier. Their keys
//! are imported through our public key constructors, and the signature is checked with
//! `aws-lc-rs` directly, using the same verification algorithms `VerificationKey` binds
//! (`VerificationKey::verify` is crate-private): a check of the backend, not of our code path.

use std::fmt;
use std::path::{Path, PathBuf};

use aws_lc_rs::{hmac, signature as sig};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_core::{
    Algorithm, InvalidToken, JwkDefaults, JwkRejection, Jwks, StaticKeys, VerificationKey,
    Verifier, VerifyError,
};
use serde_json::Value;

/// Why we refuse a vector that its file marks valid (or, for errata, why a vector's own label is
/// wrong).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// The signature verified, but the payload is not a JWT claims object (`foo`, bytes, RFC 7520
    /// text): the verifier refuses it with `Malformed` / `ClaimsNotObject` (RFC 7519 §7.2 step 10).
    PayloadNotClaims,
    /// The payload segment is empty (or detached): no claims set, refused before the signature.
    EmptyPayload,
    /// The key's JWK `alg` differs from the header `alg` (PS256 key, PS384 token): one algorithm
    /// per key (RFC 8725 §3.1).
    KeyAlgMismatch,
    /// ES512 / P-521 is not supported (the key is refused at import, the algorithm at parse).
    UnsupportedAlgorithm,
    /// A character outside the base64url alphabet inside a segment (RFC 7515 §2, 8725bis §3.14).
    OutsideAlphabet,
    /// RFC 7797 unencoded payload (`b64: false`): not usable with JWTs (RFC 7797 §6).
    UnencodedPayload,
    /// JWS JSON serialization: JWTs are compact only (RFC 7519 §7.2, 8725bis format confusion).
    JsonSerialization,
    /// The key is below our minimum (HMAC secret shorter than the hash output, RFC 7518 §3.2).
    KeyBelowMinimum,
    /// A truncated HMAC tag: JWS HS256 always uses the full 256-bit tag (RFC 7518 §3.2).
    TruncatedTag,
    /// Vector erratum: marked invalid but byte-identical to a valid vector (C2SP/wycheproof#236).
    /// The signature verifies; the token is still refused because its payload is not a claims
    /// object.
    VectorErratum,
    /// Known gap (not stricter, a missing check): the vector's key should be refused, we accept it.
    /// The signature verifies; the token is still refused only because its payload is not a
    /// claims object.
    KnownGap,
}

/// One deviation: `(id, why)`, where `id` is `set#case` and `case` is a tcId, a range `a..b`, or
/// a prefix followed by `*`.
type Deviation = (&'static str, Why);

/// The one place where deviations from the public vectors are listed.
const DEVIATIONS: &[Deviation] = &[
    // ---- Wycheproof json_web_signature_test.json ----
    // Valid signatures over payloads that are not claims objects ("foo", "Test", zero bytes,
    // "a", binary, "123400", RFC 7520 text).
    ("jws#1", Why::PayloadNotClaims),
    ("jws#18", Why::PayloadNotClaims),
    ("jws#33", Why::PayloadNotClaims),
    ("jws#260..263", Why::PayloadNotClaims),
    ("jws#265..267", Why::PayloadNotClaims),
    ("jws#269..271", Why::PayloadNotClaims),
    ("jws#273..275", Why::PayloadNotClaims),
    ("jws#287..288", Why::PayloadNotClaims),
    ("jws#321..323", Why::PayloadNotClaims),
    ("jws#326..328", Why::PayloadNotClaims),
    ("jws#345", Why::PayloadNotClaims),
    ("jws#348..349", Why::PayloadNotClaims),
    ("jws#352", Why::PayloadNotClaims),
    ("jws#357..359", Why::PayloadNotClaims),
    ("jws#376..378", Why::PayloadNotClaims),
    // Valid signatures over an empty payload.
    ("jws#259", Why::EmptyPayload),
    ("jws#264", Why::EmptyPayload),
    ("jws#268", Why::EmptyPayload),
    ("jws#272", Why::EmptyPayload),
    ("jws#320", Why::EmptyPayload),
    ("jws#325", Why::EmptyPayload),
    // Header PS384, key JWK `alg` PS256 (README caveat 4).
    ("jws#346", Why::KeyAlgMismatch),
    ("jws#350", Why::KeyAlgMismatch),
    // ES512 on P-521, key `alg` "ES521" (README caveat 3).
    ("jws#347", Why::UnsupportedAlgorithm),
    ("jws#351", Why::UnsupportedAlgorithm),
    // `?` inserted into the header / payload segment, marked valid (README caveat 1).
    ("jws#372..373", Why::OutsideAlphabet),
    // Marked invalid ("invalidBase64Padding"), byte-identical to valid tc357 (README caveat 2).
    ("jws#367", Why::VectorErratum),
    ("jws#370", Why::VectorErratum),
    // ---- Wycheproof json_web_key_test.json ----
    ("jwk#2", Why::PayloadNotClaims),
    ("jwk#5", Why::PayloadNotClaims),
    ("jwk#13..15", Why::PayloadNotClaims),
    // ROCA-vulnerable 2056-bit RSA key: we do not fingerprint ROCA moduli.
    ("jwk#7", Why::KnownGap),
    // Duplicate kid: the second key's `k` is non-canonical base64url, so we skip that JWK as
    // malformed (RFC 7517 §5) and the remaining key's kid is no longer ambiguous.
    ("jwk#4", Why::KnownGap),
    // ---- Wycheproof hmac_sha256_test.json (raw primitive) ----
    ("hmac#82..162", Why::TruncatedTag),
    ("hmac#163..168", Why::KeyBelowMinimum),
    ("hmac#172..174", Why::TruncatedTag),
    // ---- RFC 7520 / RFC 7797 cookbook ----
    ("cookbook#4_1:compact", Why::PayloadNotClaims),
    ("cookbook#4_2:compact", Why::PayloadNotClaims),
    ("cookbook#4_3:compact", Why::UnsupportedAlgorithm),
    ("cookbook#4_4:compact", Why::PayloadNotClaims),
    ("cookbook#4_5:compact", Why::EmptyPayload),
    (
        "cookbook#rfc7797_hmac-sha2_b64_false:compact",
        Why::UnencodedPayload,
    ),
    ("cookbook#json*", Why::JsonSerialization),
];

fn find_deviation(set: &str, case: &str) -> Option<usize> {
    DEVIATIONS.iter().position(|d| {
        let Some((dset, pattern)) = d.0.split_once('#') else {
            return false;
        };
        if dset != set {
            return false;
        }
        if let Some(prefix) = pattern.strip_suffix('*') {
            return case.starts_with(prefix);
        }
        if let Some((lo, hi)) = pattern.split_once("..")
            && let (Ok(lo), Ok(hi), Ok(n)) = (lo.parse::<u64>(), hi.parse::<u64>(), case.parse())
        {
            return (lo..=hi).contains(&n);
        }
        pattern == case
    })
}

/// Where the vectors live: `tests/vectors/` of this crate (copies of the upstream files, with
/// their licences; see `tests/vectors/README.md`).
fn vectors_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    assert!(
        dir.join("wycheproof").is_dir() && dir.join("jose-cookbook").is_dir(),
        "public test vectors missing from {}",
        dir.display()
    );
    dir
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

/// What the file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Valid,
    Invalid,
    Acceptable,
}

fn expected(test: &Value) -> Expected {
    match str_of(test, "result") {
        "valid" => Expected::Valid,
        "invalid" => Expected::Invalid,
        "acceptable" => Expected::Acceptable,
        other => panic!("unknown result {other}"),
    }
}

/// What we did.
#[derive(Debug, Clone, PartialEq)]
enum Observed {
    /// Accepted (a raw signature verified, or a token verified with claims decoded).
    Accepted,
    /// Our verifier verified the signature, then refused the payload as not a claims object.
    SignatureOnly(InvalidToken),
    /// The key (or key set) could not be configured.
    KeyRefused(String),
    /// Refused before or at the signature.
    Refused(InvalidToken),
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Accepted => f.write_str("accepted"),
            Observed::SignatureOnly(e) => write!(f, "signature ok, then refused: {e:?}"),
            Observed::KeyRefused(e) => write!(f, "key refused: {e}"),
            Observed::Refused(e) => write!(f, "refused: {e:?}"),
        }
    }
}

/// Whether a refusal is the one `why` names.
fn fits(why: Why, observed: &Observed, token: Option<&str>) -> bool {
    use InvalidToken as I;
    let payload_empty = token
        .and_then(|t| t.split('.').nth(1))
        .is_some_and(str::is_empty);
    match (why, observed) {
        (Why::PayloadNotClaims, Observed::SignatureOnly(_)) => true,
        (Why::EmptyPayload, Observed::Refused(I::Malformed)) => payload_empty,
        (Why::KeyAlgMismatch, Observed::Refused(I::AlgorithmNotAllowed)) => true,
        (Why::UnsupportedAlgorithm, Observed::KeyRefused(_)) => true,
        (Why::UnsupportedAlgorithm, Observed::Refused(I::AlgorithmNotAllowed)) => true,
        (Why::OutsideAlphabet, Observed::Refused(I::Malformed)) => token.is_some_and(|t| {
            !t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        }),
        (Why::UnencodedPayload, Observed::Refused(I::Malformed | I::UnsupportedHeader)) => true,
        (Why::JsonSerialization, Observed::Refused(I::Malformed)) => {
            token.is_some_and(|t| t.starts_with('{'))
        }
        (Why::KeyBelowMinimum, Observed::KeyRefused(_)) => true,
        (Why::TruncatedTag, Observed::Refused(I::BadSignature)) => true,
        (Why::VectorErratum | Why::KnownGap, Observed::SignatureOnly(_)) => true,
        _ => false,
    }
}

/// Counts and failures over all vector files.
#[derive(Default)]
struct Tally {
    run: usize,
    matched: usize,
    deviations: usize,
    used: Vec<bool>,
    failures: Vec<String>,
    per_set: Vec<(String, usize, usize, usize)>,
}

impl Tally {
    fn new() -> Self {
        Self {
            used: vec![false; DEVIATIONS.len()],
            ..Self::default()
        }
    }

    fn start(&mut self, set: &str) {
        self.per_set.push((set.to_owned(), 0, 0, 0));
    }

    /// Records one vector. `token` is the compact text, when the vector is a token.
    fn record(
        &mut self,
        set: &str,
        case: &str,
        want: Expected,
        got: &Observed,
        token: Option<&str>,
    ) {
        self.run += 1;
        let entry = self.per_set.last_mut().expect("start() first");
        entry.1 += 1;
        let deviation = find_deviation(set, case);
        let plain_match = match want {
            Expected::Valid => *got == Observed::Accepted,
            // A refusal only counts if it did not pass the signature with an invalid vector:
            // "signature ok, payload not claims" on an invalid vector means the signature or
            // key check itself let it through.
            Expected::Invalid => !matches!(got, Observed::Accepted | Observed::SignatureOnly(_)),
            Expected::Acceptable => true,
        };
        if plain_match {
            self.matched += 1;
            entry.2 += 1;
            return;
        }
        match deviation {
            Some(i) if fits(DEVIATIONS[i].1, got, token) => {
                self.used[i] = true;
                self.deviations += 1;
                entry.3 += 1;
            }
            Some(i) => self.failures.push(format!(
                "{set}#{case}: expected {want:?}, got {got}; listed as {:?}, which does not fit",
                DEVIATIONS[i].1
            )),
            None => self
                .failures
                .push(format!("{set}#{case}: expected {want:?}, got {got}")),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

fn is_b64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Runs `token` through `verifier` and tells a refusal after a good signature from the rest.
fn run_token(rt: &tokio::runtime::Runtime, verifier: &dyn Verifier, token: &str) -> Observed {
    let err = match rt.block_on(verifier.verify(token)) {
        Ok(_) => return Observed::Accepted,
        Err(VerifyError::Invalid(e)) => e,
        Err(e) => panic!("static verifier unavailable: {e}"),
    };
    let after_signature = matches!(
        err,
        InvalidToken::Malformed | InvalidToken::ClaimsNotObject | InvalidToken::DuplicateMember
    );
    let parts: Vec<&str> = token.split('.').collect();
    if !after_signature || parts.len() != 3 {
        return Observed::Refused(err);
    }
    // The payload segment must itself be clean base64url: otherwise the refusal is about its
    // encoding (a structural error), not about what it decodes to.
    let payload_ok =
        !parts[1].is_empty() && is_b64url(parts[1]) && URL_SAFE_NO_PAD.decode(parts[1]).is_ok();
    if !payload_ok {
        return Observed::Refused(err);
    }
    // Same header and signature over the payload `{}`: a `BadSignature` here proves the header,
    // the key lookup and the algorithm passed, so the real token failed after its signature
    // verified (the payload is checked only after the signature).
    let probe = format!("{}.e30.{}", parts[0], parts[2]);
    match rt.block_on(verifier.verify(&probe)) {
        Err(VerifyError::Invalid(InvalidToken::BadSignature)) => Observed::SignatureOnly(err),
        _ => Observed::Refused(err),
    }
}

/// The public members of a (possibly private) JWK.
fn public_jwk(jwk: &Value) -> Value {
    let mut out = jwk.as_object().expect("JWK object").clone();
    if out.get("kty").and_then(Value::as_str) != Some("oct") {
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
            out.remove(private);
        }
    }
    Value::Object(out)
}

fn wycheproof_jws(dir: &Path, rt: &tokio::runtime::Runtime, tally: &mut Tally) {
    let doc = load(&dir.join("wycheproof/json_web_signature_test.json"));
    tally.start("wycheproof json_web_signature_test.json");
    let mut groups_run = 0;
    for group in doc["testGroups"].as_array().expect("testGroups") {
        let private = &group["private"];
        let symmetric = private["kty"] == "oct";
        let jwk = group.get("public").unwrap_or(private);
        if !symmetric {
            // A private JWK is never a verification key.
            assert!(
                VerificationKey::from_jwk(private, JwkDefaults::default(), false).is_err(),
                "private JWK accepted: {}",
                group["comment"]
            );
        }
        let verifier = VerificationKey::from_jwk(jwk, JwkDefaults::default(), symmetric)
            .map_err(|e| e.to_string())
            .and_then(|key| StaticKeys::new(vec![key]).map_err(|e| e.to_string()));
        groups_run += 1;
        for test in group["tests"].as_array().expect("tests") {
            let id = test["tcId"].to_string();
            let token = str_of(test, "jws");
            let got = match &verifier {
                Ok(v) => run_token(rt, v, token),
                Err(e) => Observed::KeyRefused(e.clone()),
            };
            tally.record("jws", &id, expected(test), &got, Some(token));
        }
    }
    assert_eq!(groups_run, 23, "every JWS test group runs");
}

fn wycheproof_jwk(dir: &Path, rt: &tokio::runtime::Runtime, tally: &mut Tally) {
    let doc = load(&dir.join("wycheproof/json_web_key_test.json"));
    tally.start("wycheproof json_web_key_test.json");
    for group in doc["testGroups"].as_array().expect("testGroups") {
        // The public set when there is one; symmetric sets only exist as `private`.
        let set = group.get("public").unwrap_or(&group["private"]);
        let keys = set["keys"].as_array().expect("keys");
        // Each key on its own, for the record: a private asymmetric JWK is always refused.
        for key in keys {
            let oct = key["kty"] == "oct";
            if let Ok(k) = VerificationKey::from_jwk(key, JwkDefaults::default(), oct) {
                let debug = format!("{k:?}");
                for member in ["k", "n", "x", "y"] {
                    if let Some(material) = key[member].as_str().filter(|m| m.len() >= 8) {
                        assert!(!debug.contains(material), "key material in {debug}");
                    }
                }
            }
        }
        if group.get("public").is_some() {
            for key in group["private"]["keys"].as_array().expect("keys") {
                let refused = VerificationKey::from_jwk(key, JwkDefaults::default(), false);
                assert!(
                    matches!(
                        refused,
                        Err(JwkRejection::PrivateMaterial
                            | JwkRejection::WrongUse
                            | JwkRejection::Unsupported
                            | JwkRejection::Malformed)
                    ),
                    "private JWK in {} not refused: {refused:?}",
                    group["comment"]
                );
            }
        }
        let jwks = Jwks::from_json(&set.to_string()).map_err(|e| e.to_string());
        for test in group["tests"].as_array().expect("tests") {
            let id = test["tcId"].to_string();
            let token = str_of(test, "jws");
            let got = match &jwks {
                Ok(v) => run_token(rt, v, token),
                Err(e) => Observed::KeyRefused(e.clone()),
            };
            tally.record("jwk", &id, expected(test), &got, Some(token));
        }
    }
}

fn primitive_hmac(dir: &Path, tally: &mut Tally) {
    let doc = load(&dir.join("wycheproof/hmac_sha256_test.json"));
    tally.start("wycheproof hmac_sha256_test.json (raw)");
    for group in doc["testGroups"].as_array().expect("testGroups") {
        for test in group["tests"].as_array().expect("tests") {
            let key = hex(str_of(test, "key"));
            let msg = hex(str_of(test, "msg"));
            let tag = hex(str_of(test, "tag"));
            let got = match VerificationKey::hmac(Algorithm::HS256, &key) {
                Err(e) => Observed::KeyRefused(e.to_string()),
                Ok(_) => {
                    // The same primitive `VerificationKey::hmac` binds: HMAC-SHA256, full tag,
                    // constant-time compare.
                    let k = hmac::Key::new(hmac::HMAC_SHA256, &key);
                    match hmac::verify(&k, &msg, &tag) {
                        Ok(()) => Observed::Accepted,
                        Err(_) => Observed::Refused(InvalidToken::BadSignature),
                    }
                }
            };
            let id = test["tcId"].to_string();
            tally.record("hmac", &id, expected(test), &got, None);
        }
    }
}

/// Imports one public key of a primitive group through every public constructor that takes its
/// format; all must agree.
fn import_all(alg: Algorithm, group: &Value, jwk_member: &str) -> Result<(), String> {
    let der = hex(str_of(group, "publicKeyDer"));
    let pem = str_of(group, "publicKeyPem");
    VerificationKey::from_der(alg, &der).map_err(|e| format!("DER: {e}"))?;
    VerificationKey::from_pem(alg, pem.as_bytes()).map_err(|e| format!("PEM: {e}"))?;
    if let Some(jwk) = group.get(jwk_member) {
        let key = VerificationKey::from_jwk(jwk, JwkDefaults::default(), false)
            .map_err(|e| format!("JWK: {e}"))?;
        assert_eq!(key.algorithm(), alg, "JWK bound to another algorithm");
    }
    Ok(())
}

fn primitive_signatures(dir: &Path, tally: &mut Tally) {
    type Check<'a> = Box<dyn Fn(&[u8], &[u8]) -> bool + 'a>;
    let files: [(&str, &str, Algorithm, &str); 3] = [
        (
            "ecdsa",
            "ecdsa_secp256r1_sha256_p1363_test.json",
            Algorithm::ES256,
            "publicKeyJwk",
        ),
        (
            "ed25519",
            "ed25519_test.json",
            Algorithm::EdDSA,
            "publicKeyJwk",
        ),
        (
            "rsa",
            "rsa_signature_2048_sha256_test.json",
            Algorithm::RS256,
            "keyJwk",
        ),
    ];
    for (set, file, alg, jwk_member) in files {
        let doc = load(&dir.join("wycheproof").join(file));
        tally.start(&format!("wycheproof {file} (raw)"));
        for group in doc["testGroups"].as_array().expect("testGroups") {
            let imported = import_all(alg, group, jwk_member);
            let public = &group["publicKey"];
            // The verification algorithms `VerificationKey` binds for ES256, EdDSA and RS256.
            let check: Check<'_> = match alg {
                Algorithm::ES256 => {
                    let point = hex(str_of(public, "uncompressed"));
                    Box::new(move |m, s| {
                        sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, &point)
                            .verify(m, s)
                            .is_ok()
                    })
                }
                Algorithm::EdDSA => {
                    let pk = hex(str_of(public, "pk"));
                    Box::new(move |m, s| {
                        sig::UnparsedPublicKey::new(&sig::ED25519, &pk)
                            .verify(m, s)
                            .is_ok()
                    })
                }
                _ => {
                    // Big-endian integers without leading zero bytes, as aws-lc expects.
                    let strip = |v: Vec<u8>| {
                        let start = v.iter().position(|&b| b != 0).unwrap_or(v.len());
                        v[start..].to_vec()
                    };
                    let n = strip(hex(str_of(public, "modulus")));
                    let e = strip(hex(str_of(public, "publicExponent")));
                    Box::new(move |m, s| {
                        sig::RsaPublicKeyComponents { n: &n, e: &e }
                            .verify(&sig::RSA_PKCS1_2048_8192_SHA256, m, s)
                            .is_ok()
                    })
                }
            };
            for test in group["tests"].as_array().expect("tests") {
                let got = match &imported {
                    Err(e) => Observed::KeyRefused(e.clone()),
                    Ok(()) => {
                        if check(&hex(str_of(test, "msg")), &hex(str_of(test, "sig"))) {
                            Observed::Accepted
                        } else {
                            Observed::Refused(InvalidToken::BadSignature)
                        }
                    }
                };
                let id = test["tcId"].to_string();
                tally.record(set, &id, expected(test), &got, None);
            }
        }
    }
}

/// A verifier for one cookbook key (`alg` from the input when the JWK has none).
fn cookbook_verifier(jwk: &Value, alg: &str) -> Result<StaticKeys, String> {
    let public = public_jwk(jwk);
    let mut defaults = JwkDefaults::default();
    let named = |a: &str| match a {
        "PS256" => Some(Algorithm::PS256),
        "PS384" => Some(Algorithm::PS384),
        "PS512" => Some(Algorithm::PS512),
        "RS384" => Some(Algorithm::RS384),
        "RS512" => Some(Algorithm::RS512),
        _ => None,
    };
    if let Some(a) = named(alg) {
        defaults = defaults.rsa(a);
    }
    let oct = public["kty"] == "oct";
    let key = VerificationKey::from_jwk(&public, defaults, oct).map_err(|e| e.to_string())?;
    StaticKeys::new(vec![key]).map_err(|e| e.to_string())
}

fn cookbook(dir: &Path, rt: &tokio::runtime::Runtime, tally: &mut Tally) {
    tally.start("jose-cookbook jws/ + rfc7797/");
    let fallback = StaticKeys::hs256([0x42u8; 32]).expect("HS256 key");
    let files = [
        ("4_1", "jws/4_1.rsa_v15_signature.json"),
        ("4_2", "jws/4_2.rsa-pss_signature.json"),
        ("4_3", "jws/4_3.ecdsa_signature.json"),
        ("4_4", "jws/4_4.hmac-sha2_integrity_protection.json"),
        ("4_5", "jws/4_5.signature_with_detached_content.json"),
        ("4_6", "jws/4_6.protecting_specific_header_fields.json"),
        ("4_7", "jws/4_7.protecting_content_only.json"),
        ("4_8", "jws/4_8.multiple_signatures.json"),
        ("rfc7797_4.2", "rfc7797/4.2.hmac-sha2_b64_false.json"),
        (
            "rfc7797_hmac-sha2_b64_false",
            "rfc7797/hmac-sha2_b64_false.json",
        ),
    ];
    for (name, file) in files {
        let doc = load(&dir.join("jose-cookbook").join(file));
        let input = &doc["input"];
        // 4_8 has several keys; its first (RSA, RS256) is used for the JSON forms.
        let (jwk, alg) = match (&input["key"], &input["alg"]) {
            (Value::Array(keys), Value::Array(algs)) => (&keys[0], algs[0].as_str()),
            (key, alg) => (key, alg.as_str()),
        };
        let verifier = cookbook_verifier(jwk, alg.expect("alg"));
        let output = &doc["output"];
        let mut forms = Vec::new();
        if let Some(compact) = output["compact"].as_str() {
            forms.push((format!("{name}:compact"), compact.to_owned()));
        }
        for form in ["json", "json_flat"] {
            if let Some(v) = output.get(form) {
                forms.push((format!("{form}:{name}"), v.to_string()));
            }
        }
        for (case, token) in forms {
            let got = match &verifier {
                Ok(v) => run_token(rt, v, &token),
                // The JSON forms are refused before any key is used; show it with some key
                // when the file's own key is unsupported (4_3, ES512).
                Err(_) if token.starts_with('{') => run_token(rt, &fallback, &token),
                Err(e) => Observed::KeyRefused(e.clone()),
            };
            // Every cookbook output is a valid signature.
            tally.record("cookbook", &case, Expected::Valid, &got, Some(&token));
        }
        // RFC 7797: the `b64` header alone is refused, whatever the payload encoding.
        if name.starts_with("rfc7797") {
            let protected = output["json_flat"]["protected"]
                .as_str()
                .expect("protected header");
            let signature = output["json_flat"]["signature"]
                .as_str()
                .expect("signature");
            let encoded = URL_SAFE_NO_PAD.encode(str_of(input, "payload"));
            let token = format!("{protected}.{encoded}.{signature}");
            let got = run_token(rt, verifier.as_ref().expect("HS256 key"), &token);
            assert_eq!(
                got,
                Observed::Refused(InvalidToken::UnsupportedHeader),
                "{name}: b64 header with an encoded payload"
            );
        }
    }
}

#[test]
fn public_vectors() {
    let dir = vectors_dir();
    let rt = runtime();
    let mut tally = Tally::new();
    wycheproof_jws(&dir, &rt, &mut tally);
    wycheproof_jwk(&dir, &rt, &mut tally);
    primitive_hmac(&dir, &mut tally);
    primitive_signatures(&dir, &mut tally);
    cookbook(&dir, &rt, &mut tally);

    for (set, run, matched, deviations) in &tally.per_set {
        println!("{set}: {run} run, {matched} matched, {deviations} deviations");
    }
    println!(
        "public vectors: {} run, {} matched, {} deviations ({} table entries), {} failures",
        tally.run,
        tally.matched,
        tally.deviations,
        DEVIATIONS.len(),
        tally.failures.len()
    );
    let stale: Vec<&str> = DEVIATIONS
        .iter()
        .zip(&tally.used)
        .filter(|(_, used)| !**used)
        .map(|(d, _)| d.0)
        .collect();
    assert!(
        tally.failures.is_empty(),
        "vector mismatches:\n{}",
        tally.failures.join("\n")
    );
    assert!(
        stale.is_empty(),
        "deviation entries no longer needed: {stale:?}"
    );
    assert_eq!(tally.run, tally.matched + tally.deviations);
    // Every vector of the pinned upstream files: a set that silently shrank is a failure.
    assert!(tally.run >= 1298, "only {} public vectors ran", tally.run);
}
