//! Compact JWS parsing (RFC 7515 §7.1) done once per token: character set and segment checks,
//! base64url without padding, strict JSON (no duplicate member names, objects only), and the
//! header rules `jsonwebtoken` leaves to us (`crit`, `b64`, nested `cty`).

use std::cell::Cell;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::InvalidToken;
use crate::token::charset;

/// The protected header of a verified token: what the rest of the pipeline may read.
///
/// ```
/// use jwt_core::{Algorithm, TokenHeader};
/// let h = TokenHeader { alg: Algorithm::HS256, kid: None, typ: Some("JWT".into()) };
/// assert_eq!(h.alg, Algorithm::HS256);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHeader {
    /// The signature algorithm.
    pub alg: Algorithm,
    /// The key id.
    pub kid: Option<String>,
    /// The media type of the token (`typ`), as sent.
    pub typ: Option<String>,
}

/// A compact JWS split into its parts, header decoded; claims still encoded.
#[derive(Debug)]
pub(crate) struct Compact<'t> {
    pub(crate) header: TokenHeader,
    /// `base64(header) . base64(payload)`, the signing input.
    pub(crate) signing_input: &'t [u8],
    pub(crate) payload_b64: &'t str,
    pub(crate) signature: Vec<u8>,
}

/// Splits and checks a compact token; the signature is not verified here.
pub(crate) fn split(token: &str, max_len: usize) -> Result<Compact<'_>, InvalidToken> {
    if token.len() > max_len {
        return Err(InvalidToken::TooLong);
    }
    let [h, p, s] = compact_parts(token).ok_or(InvalidToken::Malformed)?;
    if h.is_empty() || p.is_empty() {
        return Err(InvalidToken::Malformed);
    }
    let header_bytes = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| InvalidToken::Malformed);
    if s.is_empty() {
        // An unsecured JWS (`alg: none`, RFC 7515 §A.5) is an attack signal of its own; any
        // other empty signature is a bad one. Nothing else of the header is read.
        let unsecured = header_bytes.as_deref().ok().is_some_and(names_alg_none);
        return Err(if unsecured {
            InvalidToken::AlgNone
        } else {
            InvalidToken::BadSignature
        });
    }
    let header = parse_header(&header_bytes?)?;
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| InvalidToken::Malformed)?;
    Ok(Compact {
        header,
        signing_input: &token.as_bytes()[..h.len() + 1 + p.len()],
        payload_b64: p,
        signature,
    })
}

/// The three parts of a compact JWS (access token or DPoP proof): only the base64url alphabet
/// and exactly two separators (RFC 8725bis §3.14); `None` otherwise. Parts may be empty.
pub(crate) fn compact_parts(token: &str) -> Option<[&str; 3]> {
    if !charset::all_in(token.as_bytes(), &charset::COMPACT) {
        return None;
    }
    let mut parts = token.splitn(4, '.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Some([h, p, s]),
        _ => None,
    }
}

/// The header of a token whose verification failed, for diagnostics only (never trusted):
/// `None` when it is not a readable compact JWS.
pub(crate) fn peek_header(token: &str) -> Option<TokenHeader> {
    split(token, crate::limits::DEFAULT_MAX_TOKEN_LEN * 8)
        .ok()
        .map(|c| c.header)
}

/// Whether a decoded header is a JSON object whose `alg` is `none` in any case.
fn names_alg_none(bytes: &[u8]) -> bool {
    matches!(
        parse_strict_json(bytes),
        Ok(Value::Object(map))
            if map.get("alg").and_then(Value::as_str).is_some_and(|a| a.eq_ignore_ascii_case("none"))
    )
}

fn parse_header(bytes: &[u8]) -> Result<TokenHeader, InvalidToken> {
    let Value::Object(map) = parse_strict_json(bytes)? else {
        return Err(InvalidToken::Malformed);
    };
    // We understand no JWS extension, so any `crit` is fatal (RFC 7515 §4.1.11), and `b64`
    // (RFC 7797) cannot be used with JWTs.
    if map.contains_key("crit") || map.contains_key("b64") {
        return Err(InvalidToken::UnsupportedHeader);
    }
    let alg = match map.get("alg") {
        Some(Value::String(name)) if name.eq_ignore_ascii_case("none") => {
            return Err(InvalidToken::AlgNone);
        }
        Some(Value::String(name)) => parse_alg(name).ok_or(InvalidToken::AlgorithmNotAllowed)?,
        _ => return Err(InvalidToken::AlgorithmNotAllowed),
    };
    let opt_string = |name: &str| match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(InvalidToken::Malformed),
    };
    let kid = opt_string("kid")?;
    let typ = opt_string("typ")?;
    // Nested JWTs are refused (RFC 8725 §3.3 leaves it to the application; we accept none).
    if let Some(cty) = opt_string("cty")?
        && (cty.eq_ignore_ascii_case("jwt") || cty.eq_ignore_ascii_case("application/jwt"))
    {
        return Err(InvalidToken::UnsupportedHeader);
    }
    Ok(TokenHeader { alg, kid, typ })
}

/// Decodes the claims of a token whose signature has been verified.
pub(crate) fn decode_claims(payload_b64: &str) -> Result<Map<String, Value>, InvalidToken> {
    let bytes = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| InvalidToken::Malformed)?;
    match parse_strict_json(&bytes)? {
        Value::Object(map) => Ok(map),
        _ => Err(InvalidToken::ClaimsNotObject),
    }
}

/// Parses UTF-8 JSON, refusing duplicate member names at any depth (RFC 7515 §4 / B6) and any
/// trailing data. serde_json bounds nesting at 128 levels.
pub(crate) fn parse_strict_json(bytes: &[u8]) -> Result<Value, InvalidToken> {
    let duplicate = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed(&duplicate).deserialize(&mut de).and_then(|v| {
        de.end()?;
        Ok(v)
    });
    match value {
        Ok(v) => Ok(v),
        Err(_) if duplicate.get() => Err(InvalidToken::DuplicateMember),
        Err(_) => Err(InvalidToken::Malformed),
    }
}

#[derive(Clone, Copy)]
struct StrictSeed<'a>(&'a Cell<bool>);

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(self)?;
            match out.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                serde_json::map::Entry::Occupied(_) => {
                    self.0.set(true);
                    return Err(de::Error::custom("duplicate member"));
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// The registered JWS name of an algorithm (`"RS256"`).
pub(crate) fn alg_name(alg: Algorithm) -> &'static str {
    use Algorithm::*;
    match alg {
        HS256 => "HS256",
        HS384 => "HS384",
        HS512 => "HS512",
        RS256 => "RS256",
        RS384 => "RS384",
        RS512 => "RS512",
        PS256 => "PS256",
        PS384 => "PS384",
        PS512 => "PS512",
        ES256 => "ES256",
        ES384 => "ES384",
        EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

/// Parses a JWS `alg` value exactly (jsonwebtoken's case-sensitive names); `none` and unknown
/// names give `None`.
pub(crate) fn parse_alg(name: &str) -> Option<Algorithm> {
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(payload))
    }

    #[test]
    fn strict_json_rejects_duplicates_at_any_depth() {
        assert_eq!(
            parse_strict_json(br#"{"a":1,"a":2}"#),
            Err(InvalidToken::DuplicateMember)
        );
        assert_eq!(
            parse_strict_json(br#"{"x":{"a":1,"a":2}}"#),
            Err(InvalidToken::DuplicateMember)
        );
        assert_eq!(
            parse_strict_json(br#"[{"a":1,"a":1}]"#),
            Err(InvalidToken::DuplicateMember)
        );
        assert!(parse_strict_json(br#"{"a":1,"b":{"a":2}}"#).is_ok());
    }

    #[test]
    fn strict_json_rejects_trailing_data_bom_and_bad_utf8() {
        assert_eq!(
            parse_strict_json(br#"{"a":1} x"#),
            Err(InvalidToken::Malformed)
        );
        assert_eq!(
            parse_strict_json(b"\xef\xbb\xbf{}"),
            Err(InvalidToken::Malformed)
        );
        assert_eq!(
            parse_strict_json(b"{\"a\":\"\xff\"}"),
            Err(InvalidToken::Malformed)
        );
        assert_eq!(
            parse_strict_json(b"{\0\"a\":1}"),
            Err(InvalidToken::Malformed)
        );
    }

    #[test]
    fn strict_json_bounds_depth() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(
            parse_strict_json(deep.as_bytes()),
            Err(InvalidToken::Malformed)
        );
        let ok = "[".repeat(100) + &"]".repeat(100);
        assert!(parse_strict_json(ok.as_bytes()).is_ok());
    }

    #[test]
    fn split_checks_segments_and_alphabet() {
        let good = token(r#"{"alg":"HS256"}"#, "{}");
        assert!(split(&good, 8192).is_ok());
        for bad in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "a.b.c.d.e",
            ".b.c",
            "a..c",
            "a.b.c=",
            "a.b.c+",
            "a.b.c/",
            "a.b. c",
        ] {
            assert!(split(bad, 8192).is_err(), "{bad:?}");
        }
        let stripped = format!("{}.{}.", b64(r#"{"alg":"HS256"}"#), b64("{}"));
        assert_eq!(
            split(&stripped, 8192).unwrap_err(),
            InvalidToken::BadSignature
        );
        assert_eq!(split(&good, 10).unwrap_err(), InvalidToken::TooLong);
    }

    #[test]
    fn non_canonical_base64_is_malformed() {
        // "AB" has unused trailing bits set; "AA" is canonical.
        let t = format!("{}.e30.AB", b64(r#"{"alg":"HS256"}"#));
        assert_eq!(split(&t, 8192).unwrap_err(), InvalidToken::Malformed);
    }

    #[test]
    fn header_rules() {
        let check = |h: &str| split(&token(h, "{}"), 8192).map(|c| c.header);
        assert!(check(r#"{"alg":"RS256","kid":"k","typ":"at+jwt"}"#).is_ok());
        for alg in ["none", "None", "NONE", "nOnE"] {
            let h = format!(r#"{{"alg":"{alg}"}}"#);
            assert_eq!(check(&h).unwrap_err(), InvalidToken::AlgNone, "{alg}");
            let unsigned = format!("{}.{}.", b64(&h), b64("{}"));
            assert_eq!(split(&unsigned, 8192).unwrap_err(), InvalidToken::AlgNone);
        }
        let unsigned_hs = format!("{}.{}.", b64(r#"{"alg":"HS256"}"#), b64("{}"));
        assert_eq!(
            split(&unsigned_hs, 8192).unwrap_err(),
            InvalidToken::BadSignature
        );
        for alg in ["hs256", "HS1", "ES512", "ES256K", "Ed448", "dir"] {
            let h = format!(r#"{{"alg":"{alg}"}}"#);
            assert_eq!(
                check(&h).unwrap_err(),
                InvalidToken::AlgorithmNotAllowed,
                "{alg}"
            );
        }
        for h in [r#"{"typ":"JWT"}"#, r#"{"alg":256}"#, r#"{"alg":null}"#] {
            assert_eq!(
                check(h).unwrap_err(),
                InvalidToken::AlgorithmNotAllowed,
                "{h}"
            );
        }
        for h in [
            r#"{"alg":"HS256","crit":["exp"]}"#,
            r#"{"alg":"HS256","crit":[]}"#,
            r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#,
            r#"{"alg":"HS256","b64":true}"#,
            r#"{"alg":"HS256","cty":"JWT"}"#,
        ] {
            assert_eq!(
                check(h).unwrap_err(),
                InvalidToken::UnsupportedHeader,
                "{h}"
            );
        }
        for h in [
            r#"{"alg":"HS256","kid":5}"#,
            r#"{"alg":"HS256","kid":null}"#,
            r#"{"alg":"HS256","kid":{}}"#,
            r#"{"alg":"HS256","typ":1}"#,
            r#"[]"#,
            r#""x""#,
        ] {
            assert!(check(h).is_err(), "{h}");
        }
        assert_eq!(
            check(r#"{"alg":"none","alg":"HS256"}"#).unwrap_err(),
            InvalidToken::DuplicateMember
        );
    }

    #[test]
    fn claims_must_be_an_object() {
        for p in [
            "[]",
            "\"x\"",
            "1",
            "-1",
            "true",
            "null",
            "[1999999999,null,null,null,null]",
        ] {
            assert_eq!(
                decode_claims(&b64(p)).unwrap_err(),
                InvalidToken::ClaimsNotObject,
                "{p}"
            );
        }
        assert_eq!(
            decode_claims(&b64("")).unwrap_err(),
            InvalidToken::Malformed
        );
        assert_eq!(
            decode_claims(&b64(r#"{"sub":"a","sub":"b"}"#)).unwrap_err(),
            InvalidToken::DuplicateMember
        );
        assert_eq!(decode_claims(&b64(r#"{"sub":"a"}"#)).unwrap()["sub"], "a");
    }
}
