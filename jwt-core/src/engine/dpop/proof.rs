//! A DPoP proof (RFC 9449 §4.2) read and verified: compact JWS, `typ` `dpop+jwt`, an allowed
//! asymmetric `alg`, a public `jwk` that fits it, the signature, and the claims the checks need;
//! and the RFC 7638 thumbprint of its key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::error::{DpopRejection, JwkRejection};
use crate::keys::crypto::sha256;
use crate::keys::material::{JwkDefaults, VerificationKey};
use crate::token::jose::{compact_parts, parse_alg, parse_strict_json};

/// The longest proof read (a 4096-bit RSA `jwk` and the claims fit well within it).
pub(crate) const MAX_PROOF_LEN: usize = 8 * 1024;
/// The longest `jti` kept.
const MAX_JTI_LEN: usize = 256;

/// A proof whose signature verified with the key it carries.
#[derive(Debug)]
pub(crate) struct Proof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's key.
    pub(crate) jkt: String,
    pub(crate) jti: String,
    pub(crate) htm: String,
    pub(crate) htu: String,
    /// `iat`, whole seconds (a fraction is dropped).
    pub(crate) iat: i64,
    pub(crate) ath: Option<String>,
    pub(crate) nonce: Option<String>,
}

/// Members only a private (or symmetric) JWK has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Reads and verifies `proof` against the allowed algorithms.
pub(crate) fn verify(proof: &str, algorithms: &[Algorithm]) -> Result<Proof, DpopRejection> {
    use DpopRejection as R;
    if proof.len() > MAX_PROOF_LEN {
        return Err(R::Malformed);
    }
    let [h, p, s] = compact_parts(proof).ok_or(R::Malformed)?;
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| R::Malformed);
    let object = |bytes: Vec<u8>| match parse_strict_json(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(R::Malformed),
    };
    let header = object(decode(h)?)?;
    if !header
        .get("typ")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(R::WrongType);
    }
    if header.contains_key("crit") || header.contains_key("b64") {
        return Err(R::Malformed);
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(parse_alg)
        .filter(|a| algorithms.contains(a))
        .ok_or(R::AlgorithmNotAllowed)?;
    let jwk = header.get("jwk").ok_or(R::BadKey)?;
    let key = proof_key(jwk, alg)?;
    let signature = decode(s)?;
    if signature.is_empty() || !key.verify(&proof.as_bytes()[..h.len() + 1 + p.len()], &signature) {
        return Err(R::BadSignature);
    }
    let jkt = jwk_thumbprint(jwk).map_err(|_| R::BadKey)?;
    let claims = object(decode(p)?)?;
    read_claims(&claims, jkt)
}

/// The public key of a proof's `jwk`: no private members, and of the proof's algorithm.
fn proof_key(jwk: &Value, alg: Algorithm) -> Result<VerificationKey, DpopRejection> {
    let members = jwk.as_object().ok_or(DpopRejection::BadKey)?;
    if PRIVATE_MEMBERS.iter().any(|m| members.contains_key(*m)) {
        return Err(DpopRejection::BadKey);
    }
    let key = VerificationKey::from_jwk(jwk, JwkDefaults::default().rsa(alg), false)
        .map_err(|_| DpopRejection::BadKey)?;
    if key.algorithm() != alg {
        return Err(DpopRejection::BadKey);
    }
    Ok(key)
}

fn read_claims(claims: &Map<String, Value>, jkt: String) -> Result<Proof, DpopRejection> {
    use DpopRejection as R;
    let text = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(R::Malformed),
    };
    let required = |name: &str| text(name)?.filter(|s| !s.is_empty()).ok_or(R::MissingClaim);
    let jti = required("jti")?;
    if jti.len() > MAX_JTI_LEN {
        return Err(R::Malformed);
    }
    let iat = match claims.get("iat") {
        None => return Err(R::MissingClaim),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i,
            (None, Some(f)) if f.is_finite() && f.abs() < 1e15 => f.floor() as i64,
            _ => return Err(R::Malformed),
        },
        Some(_) => return Err(R::Malformed),
    };
    Ok(Proof {
        jkt,
        jti,
        htm: required("htm")?,
        htu: required("htu")?,
        iat,
        ath: text("ath")?,
        nonce: text("nonce")?,
    })
}

/// The RFC 7638 JWK thumbprint (SHA-256, base64url): the hash of the key's required members
/// in lexicographic order, without whitespace. This is what a DPoP-bound token's `cnf.jkt`
/// holds (RFC 9449 §6.1).
///
/// # Errors
/// [`JwkRejection::Malformed`] when a required member is missing or not a string,
/// [`JwkRejection::Unsupported`] for a key type other than `EC`, `RSA` or `OKP`.
///
/// ```
/// // RFC 7638 §3.1's example key.
/// let jwk = serde_json::json!({
///     "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
///     "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
/// });
/// assert_eq!(
///     jwt_core::jwk_thumbprint(&jwk).unwrap(),
///     "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
/// );
/// ```
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, JwkRejection> {
    let members: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("RSA") => &["e", "kty", "n"],
        Some("OKP") => &["crv", "kty", "x"],
        Some(_) => return Err(JwkRejection::Unsupported),
        None => return Err(JwkRejection::Malformed),
    };
    let mut canonical = Map::new();
    for name in members {
        match jwk.get(*name) {
            Some(v @ Value::String(_)) => {
                canonical.insert((*name).to_owned(), v.clone());
            }
            _ => return Err(JwkRejection::Malformed),
        }
    }
    // serde_json's map is ordered by key (no `preserve_order`) and prints no whitespace.
    let text = Value::Object(canonical).to_string();
    Ok(URL_SAFE_NO_PAD.encode(sha256(text.as_bytes())))
}

/// The `ath` of an access token: base64url(SHA-256(token)) (RFC 9449 §4.2).
pub(crate) fn access_token_hash(token: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha256(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9449 §4.1, figure 4: the example proof and its key.
    const RFC_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";

    #[test]
    fn dpop_rfc9449_example_proof_verifies() {
        let proof = verify(RFC_PROOF, &[Algorithm::ES256]).unwrap();
        assert_eq!(proof.jti, "-BwC3ESc6acc2lTc");
        assert_eq!(proof.htm, "POST");
        assert_eq!(proof.htu, "https://server.example.com/token");
        assert_eq!(proof.iat, 1_562_262_616);
        assert_eq!(proof.ath, None);
        // RFC 9449 §6.1: the `jkt` of this key.
        assert_eq!(proof.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
        assert_eq!(
            verify(RFC_PROOF, &[Algorithm::EdDSA]).unwrap_err(),
            DpopRejection::AlgorithmNotAllowed
        );
    }

    #[test]
    fn dpop_rfc9449_access_token_hash() {
        // RFC 9449 §7.1, figure 12.
        assert_eq!(
            access_token_hash(b"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn dpop_thumbprints_of_each_key_type() {
        // RFC 8037 appendix A.3: the Ed25519 example key's thumbprint.
        let okp = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        });
        assert_eq!(
            jwk_thumbprint(&okp).unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        // Member order and extra members do not matter.
        let a = serde_json::json!({"y": "Y", "x": "X", "kty": "EC", "crv": "P-256", "kid": "1"});
        let b = serde_json::json!({"crv": "P-256", "kty": "EC", "x": "X", "y": "Y"});
        assert_eq!(jwk_thumbprint(&a).unwrap(), jwk_thumbprint(&b).unwrap());
        assert!(jwk_thumbprint(&serde_json::json!({"kty": "oct", "k": "AA"})).is_err());
        assert!(
            jwk_thumbprint(&serde_json::json!({"kty": "EC", "crv": "P-256", "x": 1, "y": "Y"}))
                .is_err()
        );
    }

    #[test]
    fn dpop_proof_shapes_refused() {
        let parts: Vec<&str> = RFC_PROOF.split('.').collect();
        let with_header =
            |h: &str| format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(h), parts[1], parts[2]);
        let algs = [Algorithm::ES256];
        let jwk = r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#;
        let cases = [
            (format!(r#"{{"typ":"JWT","alg":"ES256","jwk":{jwk}}}"#), DpopRejection::WrongType),
            (format!(r#"{{"alg":"ES256","jwk":{jwk}}}"#), DpopRejection::WrongType),
            (format!(r#"{{"typ":"dpop+jwt","alg":"HS256","jwk":{jwk}}}"#), DpopRejection::AlgorithmNotAllowed),
            (format!(r#"{{"typ":"dpop+jwt","alg":"none","jwk":{jwk}}}"#), DpopRejection::AlgorithmNotAllowed),
            (r#"{"typ":"dpop+jwt","alg":"ES256"}"#.to_owned(), DpopRejection::BadKey),
            (r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","d":"AAAA"}}"#.to_owned(), DpopRejection::BadKey),
            (r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"oct","k":"AAAA"}}"#.to_owned(), DpopRejection::BadKey),
            (format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"crit":["x"]}}"#), DpopRejection::Malformed),
            // A header other than the signed one: the signature no longer verifies.
            (format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"kid":"x"}}"#), DpopRejection::BadSignature),
        ];
        for (header, want) in cases {
            assert_eq!(
                verify(&with_header(&header), &algs).unwrap_err(),
                want,
                "{header}"
            );
        }
        assert_eq!(verify("a.b", &algs).unwrap_err(), DpopRejection::Malformed);
        assert_eq!(
            verify("a b.c.d", &algs).unwrap_err(),
            DpopRejection::Malformed
        );
        assert_eq!(
            verify(&format!("{}.{}.", parts[0], parts[1]), &algs).unwrap_err(),
            DpopRejection::BadSignature
        );
        assert_eq!(
            verify(&"a".repeat(MAX_PROOF_LEN + 1), &algs).unwrap_err(),
            DpopRejection::Malformed
        );
    }
}
