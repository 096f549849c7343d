//! Compact JWS parsing (RFC 7515 §7.1) done once per token: character set and segment checks,
//! base64url without padding, strict JSON (no duplicate member names, objects only), and the
//! header rules `jsonwebtoken` leaves to us (`crit`, `b64`, nested `cty`).

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use smallvec::SmallVec;

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
pub(crate) struct Compact<'t, H = TokenHeader> {
    pub(crate) header: H,
    /// The header as sent (base64url).
    pub(crate) header_b64: &'t str,
    /// `base64(header) . base64(payload)`, the signing input.
    pub(crate) signing_input: &'t [u8],
    pub(crate) payload_b64: &'t str,
    /// The decoded signature; on the stack up to 512 bytes (RSA-4096).
    pub(crate) signature: SmallVec<[u8; 512]>,
}

/// Splits and checks a compact token; the signature is not verified here.
pub(crate) fn split(token: &str, max_len: usize) -> Result<Compact<'_>, InvalidToken> {
    split_with(token, max_len, |encoded| {
        with_b64::<256, _>(encoded, parse_header).ok_or(InvalidToken::Malformed)?
    })
}

/// [`split`], the header read by `header` from its encoded text (a [`HeaderMemo`]'s reader, or
/// the parser itself).
pub(crate) fn split_with<H>(
    token: &str,
    max_len: usize,
    header: impl FnOnce(&str) -> Result<H, InvalidToken>,
) -> Result<Compact<'_, H>, InvalidToken> {
    if token.len() > max_len {
        return Err(InvalidToken::TooLong);
    }
    let [h, p, s] = compact_parts(token).ok_or(InvalidToken::Malformed)?;
    if h.is_empty() || p.is_empty() {
        return Err(InvalidToken::Malformed);
    }
    if s.is_empty() {
        // An unsecured JWS (`alg: none`, RFC 7515 §A.5) is an attack signal of its own; any
        // other empty signature is a bad one. Nothing else of the header is read.
        let unsecured = with_b64::<256, _>(h, names_alg_none).unwrap_or(false);
        return Err(if unsecured {
            InvalidToken::AlgNone
        } else {
            InvalidToken::BadSignature
        });
    }
    let header = header(h)?;
    let signature = decode_b64::<512>(s).ok_or(InvalidToken::Malformed)?;
    Ok(Compact {
        header,
        header_b64: h,
        signing_input: &token.as_bytes()[..h.len() + 1 + p.len()],
        payload_b64: p,
        signature,
    })
}

/// The protected headers a key set's verified tokens carried, by their encoded text: a token
/// whose header is one of them is not parsed again (an issuer signs every token with the same
/// few headers). Only a header whose signature held is remembered, the first [`HeaderMemo::SLOTS`]
/// of them; any other is parsed as it comes. Reading a header is a pure function of its text,
/// so a remembered one is exactly what parsing would give.
#[derive(Debug, Default)]
pub(crate) struct HeaderMemo {
    slots: [std::sync::OnceLock<(Box<str>, Arc<TokenHeader>)>; HeaderMemo::SLOTS],
}

impl HeaderMemo {
    const SLOTS: usize = 4;

    /// The header encoded as `encoded`: remembered, or parsed.
    pub(crate) fn read(&self, encoded: &str) -> Result<Arc<TokenHeader>, InvalidToken> {
        let known = self
            .slots
            .iter()
            .map_while(std::sync::OnceLock::get)
            .find(|(text, _)| **text == *encoded);
        match known {
            Some((_, header)) => Ok(header.clone()),
            None => with_b64::<256, _>(encoded, parse_header)
                .ok_or(InvalidToken::Malformed)?
                .map(Arc::new),
        }
    }

    /// Remembers the header of a token whose signature held, while a slot is free.
    pub(crate) fn remember(&self, encoded: &str, header: &Arc<TokenHeader>) {
        for slot in &self.slots {
            match slot.get() {
                Some((text, _)) if **text == *encoded => return,
                Some(_) => continue,
                None => {
                    // A race for the slot loses nothing: the header is parsed next time.
                    let _ = slot.set((encoded.into(), header.clone()));
                    return;
                }
            }
        }
    }
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

/// Decodes base64url without padding, on the stack when the result fits in `N` bytes (the
/// common case: a decision allocates nothing for it); `None` when it is not base64url.
fn decode_b64<const N: usize>(text: &str) -> Option<SmallVec<[u8; N]>> {
    let mut out = SmallVec::<[u8; N]>::new();
    let estimate = base64::decoded_len_estimate(text.len());
    if estimate > N {
        return URL_SAFE_NO_PAD.decode(text).ok().map(SmallVec::from_vec);
    }
    out.resize(estimate, 0);
    let len = URL_SAFE_NO_PAD.decode_slice(text, &mut out).ok()?;
    out.truncate(len);
    Some(out)
}

/// Decodes base64url without padding into a buffer of `N` bytes on this frame (on the heap when
/// the result is larger) and hands the bytes to `read`; `None` when it is not base64url. The
/// bytes are never moved: a buffer returned by value is copied whole at every move, which for
/// the claims' 4 KiB cost more than the decoding.
fn with_b64<const N: usize, R>(text: &str, read: impl FnOnce(&[u8]) -> R) -> Option<R> {
    let estimate = base64::decoded_len_estimate(text.len());
    if estimate > N {
        return URL_SAFE_NO_PAD.decode(text).ok().map(|bytes| read(&bytes));
    }
    let mut buffer = [0u8; N];
    let len = URL_SAFE_NO_PAD.decode_slice(text, &mut buffer).ok()?;
    Some(read(&buffer[..len]))
}

fn parse_header(bytes: &[u8]) -> Result<TokenHeader, InvalidToken> {
    let fields = read_header(bytes)?;
    // We understand no JWS extension, so any `crit` is fatal (RFC 7515 §4.1.11), and `b64`
    // (RFC 7797) cannot be used with JWTs.
    if fields.extension {
        return Err(InvalidToken::UnsupportedHeader);
    }
    let alg = match fields.alg {
        AlgSeen::None => return Err(InvalidToken::AlgNone),
        AlgSeen::Known(alg) => alg,
        AlgSeen::Missing | AlgSeen::Unknown => return Err(InvalidToken::AlgorithmNotAllowed),
    };
    let [kid, typ, cty] = fields.strings;
    let (kid, typ, cty) = (kid?, typ?, cty?);
    // Nested JWTs are refused (RFC 8725 §3.3 leaves it to the application; we accept none).
    if let Some(cty) = cty
        && (cty.eq_ignore_ascii_case("jwt") || cty.eq_ignore_ascii_case("application/jwt"))
    {
        return Err(InvalidToken::UnsupportedHeader);
    }
    Ok(TokenHeader { alg, kid, typ })
}

/// What the header's `alg` member is.
#[derive(Clone, Copy)]
enum AlgSeen {
    Missing,
    /// `none`, in any case.
    None,
    /// A string naming no algorithm we know, or not a string.
    Unknown,
    Known(Algorithm),
}

/// The members of a protected header the rules read, gathered in one pass over its JSON
/// without building a tree: only `kid`, `typ` and `cty` are kept (as strings), any other member
/// is checked for strictness (no duplicate names at any depth) and dropped.
struct HeaderFields {
    alg: AlgSeen,
    /// `kid`, `typ`, `cty`: absent, a string, or another type (malformed).
    strings: [Result<Option<String>, InvalidToken>; 3],
    /// `crit` or `b64` is present.
    extension: bool,
}

/// The names of [`HeaderFields::strings`], in order.
const HEADER_STRINGS: [&str; 3] = ["kid", "typ", "cty"];

/// Reads a decoded header: strict JSON (as [`parse_strict_json`]) and an object.
fn read_header(bytes: &[u8]) -> Result<HeaderFields, InvalidToken> {
    let duplicate = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let fields =
        de::Deserializer::deserialize_any(&mut de, HeaderVisitor(&duplicate)).and_then(|fields| {
            de.end()?;
            Ok(fields)
        });
    match fields {
        Ok(Some(fields)) => Ok(fields),
        Ok(None) => Err(InvalidToken::Malformed),
        Err(_) if duplicate.get() => Err(InvalidToken::DuplicateMember),
        Err(_) => Err(InvalidToken::Malformed),
    }
}

/// Visits the header: `Some` for an object, `None` for any other JSON value.
struct HeaderVisitor<'a>(&'a Cell<bool>);

impl<'de> Visitor<'de> for HeaderVisitor<'_> {
    type Value = Option<HeaderFields>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Strict(self.0).visit_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut fields = HeaderFields {
            alg: AlgSeen::Missing,
            strings: [Ok(None), Ok(None), Ok(None)],
            extension: false,
        };
        let mut seen = SeenNames::default();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            // The value first, as the tree did: a malformed value is `Malformed` even under a
            // repeated name.
            let value = access.next_value_seed(MemberSeed(self.0))?;
            if seen.contains(&key) {
                self.0.set(true);
                return Err(de::Error::custom("duplicate member"));
            }
            match &*key {
                "alg" => {
                    fields.alg = match value {
                        Some(name) if name.eq_ignore_ascii_case("none") => AlgSeen::None,
                        Some(name) => parse_alg(&name).map_or(AlgSeen::Unknown, AlgSeen::Known),
                        None => AlgSeen::Unknown,
                    }
                }
                "crit" | "b64" => fields.extension = true,
                name => {
                    if let Some(i) = HEADER_STRINGS.iter().position(|n| *n == name) {
                        fields.strings[i] = value
                            .map(|v| Some(v.into_owned()))
                            .ok_or(InvalidToken::Malformed);
                    }
                }
            }
            seen.insert(key);
        }
        Ok(Some(fields))
    }
}

/// The member names of an object (a header, a payload) seen so far: scanned while there are few (the common case,
/// nothing allocated), hashed past [`SeenNames::SCAN`], so that an object of many members (an
/// unauthenticated client's, up to the token length limit) costs linear time, not quadratic.
#[derive(Default)]
pub(crate) struct SeenNames<'de> {
    few: SmallVec<[Cow<'de, str>; 16]>,
    many: std::collections::HashSet<Cow<'de, str>>,
}

impl<'de> SeenNames<'de> {
    const SCAN: usize = 16;

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.few.iter().any(|n| n == name) || self.many.contains(name)
    }

    pub(crate) fn insert(&mut self, name: Cow<'de, str>) {
        if self.few.len() < Self::SCAN {
            self.few.push(name);
        } else {
            self.many.insert(name);
        }
    }
}

/// A member name, borrowed from the input unless it holds escapes.
pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A header member's value: the string, borrowed when it holds no escapes, or `None` for any
/// other JSON value (checked for strictness, then dropped).
#[derive(Clone, Copy)]
pub(crate) struct MemberSeed<'a>(pub(crate) &'a Cell<bool>);

impl<'de> DeserializeSeed<'de> for MemberSeed<'_> {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MemberSeed<'_> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Strict(self.0).visit_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        Strict(self.0).visit_map(access).map(|()| None)
    }
}

/// Decodes the claims of a token whose signature has been verified.
pub(crate) fn decode_claims(payload_b64: &str) -> Result<Map<String, Value>, InvalidToken> {
    // Two stack sizes: zeroing 4 KiB for a typical 300-byte payload costs as much as parsing it.
    let claims = if base64::decoded_len_estimate(payload_b64.len()) <= 1024 {
        with_b64::<1024, _>(payload_b64, parse_strict_json)
    } else {
        with_b64::<4096, _>(payload_b64, parse_strict_json)
    };
    let claims = claims.ok_or(InvalidToken::Malformed)??;
    match claims {
        Value::Object(map) => Ok(map),
        _ => Err(InvalidToken::ClaimsNotObject),
    }
}

/// Decodes the payload of a token whose signature has been verified into its JSON text (not
/// parsed here: see [`crate::token::payload::Members`]).
pub(crate) fn decode_payload(payload_b64: &str) -> Result<String, InvalidToken> {
    let bytes = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| InvalidToken::Malformed)?;
    String::from_utf8(bytes).map_err(|_| InvalidToken::Malformed)
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

/// Checks a value for strictness (no repeated member names at any depth, as [`parse_strict_json`]),
/// keeping nothing: what is read only to be checked and dropped.
#[derive(Clone, Copy)]
pub(crate) struct Strict<'a>(pub(crate) &'a Cell<bool>);

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut seen = SeenNames::default();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            access.next_value_seed(self)?;
            if seen.contains(&key) {
                self.0.set(true);
                return Err(de::Error::custom("duplicate member"));
            }
            seen.insert(key);
        }
        Ok(())
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
    fn a_remembered_header_is_the_parsed_one() {
        let memo = HeaderMemo::default();
        let headers: Vec<String> = (0..6)
            .map(|i| b64(&format!(r#"{{"alg":"HS256","typ":"JWT","kid":"k{i}"}}"#)))
            .collect();
        let parsed = |h: &str| with_b64::<256, _>(h, parse_header).unwrap().unwrap();
        for h in &headers {
            let read = memo.read(h).unwrap();
            assert_eq!(*read, parsed(h));
            memo.remember(h, &read);
        }
        // The first SLOTS are remembered (the same header each time), the rest parsed anew.
        for (i, h) in headers.iter().enumerate() {
            let (a, b) = (memo.read(h).unwrap(), memo.read(h).unwrap());
            assert_eq!(*a, parsed(h));
            assert_eq!(Arc::ptr_eq(&a, &b), i < HeaderMemo::SLOTS, "header {i}");
        }
        // A header that does not parse is refused as it would be without the memo.
        assert_eq!(
            memo.read(&b64("{}")).unwrap_err(),
            InvalidToken::AlgorithmNotAllowed
        );
        assert_eq!(memo.read("!!").unwrap_err(), InvalidToken::Malformed);
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

    /// The header is read in one pass without a JSON tree: the same answers as the tree.
    #[test]
    fn header_read_in_one_pass_answers_as_the_tree() {
        let check = |h: &str| split(&token(h, "{}"), 8192).map(|c| c.header);
        // Escaped names and values are decoded before they are compared.
        for h in [
            r#"{"alg":"HS256","\u0061lg":"RS256"}"#,
            r#"{"alg":"HS256","kid":"a","k\u0069d":"b"}"#,
            r#"{"alg":"HS256","x":1,"x":2}"#,
            r#"{"alg":"HS256","x":{"a":1,"a":2}}"#,
            r#"{"alg":"HS256","x":[{"a":1,"a":2}]}"#,
            r#"{"alg":"HS256","kid":"k","crit":[],"crit":[]}"#,
            r#"[{"a":1,"a":2}]"#,
        ] {
            assert_eq!(check(h).unwrap_err(), InvalidToken::DuplicateMember, "{h}");
        }
        let header =
            check(r#"{"\u0061lg":"HS256","kid":"k\u0031","typ":"at+jwt","x":[1,{"y":null}]}"#)
                .unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(
            check(r#"{"alg":"\u006eone"}"#).unwrap_err(),
            InvalidToken::AlgNone
        );
        // `crit` outranks a bad `alg`; a malformed `kid` outranks a nested `cty`.
        assert_eq!(
            check(r#"{"alg":"nope","crit":["x"]}"#).unwrap_err(),
            InvalidToken::UnsupportedHeader
        );
        assert_eq!(
            check(r#"{"alg":"HS256","cty":"jwt","kid":7}"#).unwrap_err(),
            InvalidToken::Malformed
        );
        for h in [
            r#"{"alg":"HS256"} x"#,
            r#"{"alg":"HS256""#,
            "1",
            "null",
            "true",
        ] {
            assert_eq!(check(h).unwrap_err(), InvalidToken::Malformed, "{h}");
        }
        // Long headers and signatures are decoded on the heap, the same way.
        let long_kid = "k".repeat(400);
        let h = format!(r#"{{"alg":"HS256","kid":"{long_kid}"}}"#);
        assert_eq!(check(&h).unwrap().kid.as_deref(), Some(long_kid.as_str()));
        let long_sig = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"HS256"}"#),
            b64("{}"),
            b64(&"s".repeat(700))
        );
        assert_eq!(split(&long_sig, 8192).unwrap().signature.len(), 700);
        let claims = format!(r#"{{"x":"{}"}}"#, "v".repeat(6000));
        assert_eq!(
            decode_claims(&b64(&claims)).unwrap()["x"]
                .as_str()
                .unwrap()
                .len(),
            6000
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
