//! The one path model every adapter and every [`crate::ScopeMapper`] shares.
//!
//! The core decides on the path exactly as the client sent it (the adapter hands over the raw
//! path its router matches on, mount prefix included), read one way:
//!
//! - the path starts with `/` and is ASCII (RFC 3986: anything else must be percent-encoded);
//!   the root `/` has no segments; one trailing `/` is ignored;
//! - segments are split on a literal `/` only, so `%2F` never splits or merges segments;
//! - every percent-escape is decoded exactly once (upper- or lower-case hex); a `%` not followed by
//!   two hex digits, escapes that do not decode to UTF-8, and decoded control characters
//!   (`U+0000`–`U+001F`, `U+007F`) are refused;
//! - an escaped RFC 3986 §2.3 unreserved character (`%61` for `a`, `%2D` for `-`, `%7E` for `~`)
//!   is refused: no client needs to escape one, and a handler or router that reads the raw
//!   segment (warp's `warp::path::param`, a proxy's rule) would see `%61` where the core
//!   authorized `a` ([`PathRejection::EncodedUnreserved`]);
//! - an empty segment (`/items//runs`, `//x`, `/x//`) and a dot segment (`.`, `..`, `%2e`, `%2E%2e`)
//!   are refused, never normalised: routers disagree on them, so they are ambiguous;
//! - matching is case-sensitive, and `;` is an ordinary character (no path parameters);
//! - parameters bind the decoded segment; a segment matched against a *literal* must be written
//!   without escapes: `/admin%3Areset` for a table entry `/admin:reset` is refused, because a router
//!   that matches raw paths (axum, poem, warp) and one that matches decoded paths (actix-web) would
//!   run different handlers for it ([`PathRejection::EncodedLiteral`]).
//!
//! A refused path is a 400 `invalid_request` ([`crate::AuthErrorKind::InvalidPath`]).
//!
//! ```
//! use jwt_core::{PathRejection, RequestPath};
//! let p = RequestPath::parse("/items/a%2Fb/runs/")?;
//! assert_eq!(RequestPath::parse("/items/%61").unwrap_err(), PathRejection::EncodedUnreserved);
//! let decoded: Vec<&str> = p.segments().iter().map(|s| s.decoded()).collect();
//! assert_eq!(decoded, ["items", "a/b", "runs"]);
//! assert!(p.segments()[1].is_encoded());
//! assert_eq!(RequestPath::parse("/items//runs").unwrap_err(), PathRejection::EmptySegment);
//! assert_eq!(RequestPath::parse("/a/%2e%2E/b").unwrap_err(), PathRejection::DotSegment);
//! # Ok::<(), PathRejection>(())
//! ```

use std::borrow::Cow;

use smallvec::SmallVec;

pub use crate::error::PathRejection;

/// Segments kept inline before a path's segments go to the heap.
const INLINE_SEGMENTS: usize = 8;

/// One segment of a [`RequestPath`]: as sent, and decoded once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSegment<'a> {
    raw: &'a str,
    decoded: Cow<'a, str>,
}

impl<'a> PathSegment<'a> {
    /// The segment as sent.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The segment with every percent-escape decoded once.
    pub fn decoded(&self) -> &str {
        &self.decoded
    }

    /// The decoded value, borrowed from the request when nothing was escaped.
    pub fn decoded_cow(&self) -> Cow<'a, str> {
        match &self.decoded {
            Cow::Borrowed(s) => Cow::Borrowed(s),
            Cow::Owned(s) => Cow::Owned(s.clone()),
        }
    }

    /// Whether the segment contained a percent-escape.
    pub fn is_encoded(&self) -> bool {
        matches!(self.decoded, Cow::Owned(_))
    }
}

/// A request path read by the core's path model (see the [module documentation](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPath<'a> {
    raw: &'a str,
    segments: SmallVec<[PathSegment<'a>; INLINE_SEGMENTS]>,
    trailing_slash: bool,
}

impl<'a> RequestPath<'a> {
    /// Reads `raw` (the path without its query string, as sent).
    ///
    /// # Errors
    /// A [`PathRejection`] for a path the model refuses.
    pub fn parse(raw: &'a str) -> Result<Self, PathRejection> {
        let Some(mut rest) = raw.strip_prefix('/') else {
            return Err(PathRejection::NotAbsolute);
        };
        if !raw.is_ascii() {
            return Err(PathRejection::RawNonAscii);
        }
        let mut trailing_slash = false;
        if !rest.is_empty()
            && let Some(stripped) = rest.strip_suffix('/')
        {
            if stripped.is_empty() {
                return Err(PathRejection::EmptySegment);
            }
            rest = stripped;
            trailing_slash = true;
        }
        let mut segments = SmallVec::new();
        if !rest.is_empty() {
            for seg in rest.split('/') {
                segments.push(read_segment(seg)?);
            }
        }
        Ok(Self {
            raw,
            segments,
            trailing_slash,
        })
    }

    /// The path as sent.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The segments, in order (none for `/`).
    pub fn segments(&self) -> &[PathSegment<'a>] {
        &self.segments
    }

    /// Whether the path ended in one `/` (which matching ignores).
    pub fn trailing_slash(&self) -> bool {
        self.trailing_slash
    }
}

/// Decodes one path segment exactly as the core does when it binds a parameter: for adapters
/// whose framework hands handlers the raw segment (warp), so the handler sees the value the
/// core authorized.
///
/// ```
/// use jwt_core::path::decode_segment;
/// assert_eq!(decode_segment("a%2Fb").unwrap(), "a/b");
/// assert_eq!(decode_segment("a%252D").unwrap(), "a%2D");
/// assert!(decode_segment("%2e%2e").is_err());
/// ```
///
/// # Errors
/// The [`PathRejection`] the core would answer for this segment.
pub fn decode_segment(raw: &str) -> Result<Cow<'_, str>, PathRejection> {
    read_segment(raw).map(|s| s.decoded)
}

/// Decodes the rest of a path (one or more segments, without the leading `/`) exactly as the core
/// binds a `{*tail}` parameter: every segment decoded once, joined with `/`, one trailing `/`
/// kept (as axum, actix-web and poem keep it). For adapters whose framework hands handlers the
/// raw tail (warp).
///
/// ```
/// use jwt_core::path::decode_tail;
/// assert_eq!(decode_tail("a%20b/%C3%A9").unwrap(), "a b/\u{e9}");
/// assert_eq!(decode_tail("docs/").unwrap(), "docs/");
/// assert!(decode_tail("").is_err() && decode_tail("a//b").is_err() && decode_tail("a/..").is_err());
/// ```
///
/// # Errors
/// [`PathRejection::EmptySegment`] for an empty tail or segment, or the [`PathRejection`] the
/// core would answer for a segment.
pub fn decode_tail(raw: &str) -> Result<Cow<'_, str>, PathRejection> {
    let (rest, trailing_slash) = match raw.strip_suffix('/') {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    let segments = rest
        .split('/')
        .map(read_segment)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(join_tail(&segments, trailing_slash))
}

/// A tail parameter's value: its decoded segments joined with `/`, with the request's trailing
/// `/` kept (what axum, actix-web and poem hand a tail handler).
pub(crate) fn join_tail<'a>(segments: &[PathSegment<'a>], trailing_slash: bool) -> Cow<'a, str> {
    match (segments, trailing_slash) {
        ([one], false) => one.decoded_cow(),
        (many, _) => {
            let mut out = many
                .iter()
                .map(PathSegment::decoded)
                .collect::<Vec<_>>()
                .join("/");
            if trailing_slash {
                out.push('/');
            }
            Cow::Owned(out)
        }
    }
}

fn read_segment(raw: &str) -> Result<PathSegment<'_>, PathRejection> {
    if raw.is_empty() {
        return Err(PathRejection::EmptySegment);
    }
    let mut unreserved = false;
    let decoded = if raw.contains('%') {
        let bytes = raw.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let (Some(hi), Some(lo)) = (
                    bytes.get(i + 1).and_then(|&b| hex(b)),
                    bytes.get(i + 2).and_then(|&b| hex(b)),
                ) else {
                    return Err(PathRejection::BadEscape);
                };
                let byte = hi << 4 | lo;
                unreserved |= is_unreserved(byte);
                out.push(byte);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        Cow::Owned(String::from_utf8(out).map_err(|_| PathRejection::NotUtf8)?)
    } else {
        Cow::Borrowed(raw)
    };
    if decoded.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(PathRejection::ControlCharacter);
    }
    if decoded == "." || decoded == ".." {
        return Err(PathRejection::DotSegment);
    }
    if unreserved {
        return Err(PathRejection::EncodedUnreserved);
    }
    Ok(PathSegment { raw, decoded })
}

/// RFC 3986 §2.3 `unreserved`: `ALPHA / DIGIT / "-" / "." / "_" / "~"`. A URI producer never
/// escapes these (§2.3: they are equivalent to their escapes), so an escaped one can only be a
/// disguise: a router or handler comparing raw text sees another value than one that decodes.
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decoded(raw: &str) -> Result<Vec<String>, PathRejection> {
        RequestPath::parse(raw).map(|p| {
            p.segments()
                .iter()
                .map(|s| s.decoded().to_owned())
                .collect()
        })
    }

    #[test]
    fn root_trailing_slash_and_segments() {
        assert_eq!(decoded("/").unwrap(), Vec::<String>::new());
        assert_eq!(decoded("/a").unwrap(), ["a"]);
        assert_eq!(decoded("/a/").unwrap(), ["a"]);
        assert!(RequestPath::parse("/a/").unwrap().trailing_slash());
        assert_eq!(decoded("/a;b/c").unwrap(), ["a;b", "c"]);
        assert_eq!(decoded("/%c3%a9/%C3%A9").unwrap(), ["é", "é"]);
        assert_eq!(decoded("/a%20b/%3a%2F%40").unwrap(), ["a b", ":/@"]);
        assert_eq!(decoded("/a%252Fb").unwrap(), ["a%2Fb"]);
    }

    #[test]
    fn refusals() {
        for (raw, why) in [
            ("", PathRejection::NotAbsolute),
            ("*", PathRejection::NotAbsolute),
            ("a/b", PathRejection::NotAbsolute),
            ("//", PathRejection::EmptySegment),
            ("//a", PathRejection::EmptySegment),
            ("/a//", PathRejection::EmptySegment),
            ("/items//runs", PathRejection::EmptySegment),
            ("/.", PathRejection::DotSegment),
            ("/a/../b", PathRejection::DotSegment),
            ("/a/%2e", PathRejection::DotSegment),
            ("/a/%2E%2e/b", PathRejection::DotSegment),
            ("/a/.%2E", PathRejection::DotSegment),
            ("/é", PathRejection::RawNonAscii),
            ("/items/a1\u{e9}", PathRejection::RawNonAscii),
            ("/a%", PathRejection::BadEscape),
            ("/a%2", PathRejection::BadEscape),
            ("/a%zz", PathRejection::BadEscape),
            ("/a%FF", PathRejection::NotUtf8),
            ("/a%C3", PathRejection::NotUtf8),
            ("/a%00", PathRejection::ControlCharacter),
            ("/a%0A", PathRejection::ControlCharacter),
            ("/a%7f", PathRejection::ControlCharacter),
            ("/%61", PathRejection::EncodedUnreserved),
            ("/items/%41", PathRejection::EncodedUnreserved),
            ("/items/a%2D2", PathRejection::EncodedUnreserved),
            ("/x/%5f/y", PathRejection::EncodedUnreserved),
            ("/x/%7E", PathRejection::EncodedUnreserved),
            ("/x/%30", PathRejection::EncodedUnreserved),
            ("/x/a.%2E", PathRejection::EncodedUnreserved),
        ] {
            assert_eq!(RequestPath::parse(raw).unwrap_err(), why, "{raw:?}");
        }
        assert_eq!(decoded("/...").unwrap(), ["..."]);
        assert_eq!(decoded("/.a").unwrap(), [".a"]);
    }

    proptest! {
        #[test]
        fn decoding_matches_percent_encoding(seg in "[!$&'()*+,;=:@ %/]{1,12}") {
            let encoded: String = seg.bytes().map(|b| format!("%{b:02X}")).collect();
            let raw = format!("/{encoded}");
            let parsed = RequestPath::parse(&raw).unwrap();
            prop_assert_eq!(parsed.segments()[0].decoded(), seg.as_str());
        }

        #[test]
        fn an_escaped_unreserved_character_is_refused(
            seg in "[a-zA-Z0-9._~-]{0,6}",
            c in "[a-zA-Z0-9._~-]",
            lower in any::<bool>(),
        ) {
            let b = c.as_bytes()[0];
            let escape = if lower { format!("%{b:02x}") } else { format!("%{b:02X}") };
            let raw = format!("/x/{seg}{escape}");
            let why = RequestPath::parse(&raw).unwrap_err();
            prop_assert!(
                why == PathRejection::EncodedUnreserved || why == PathRejection::DotSegment,
                "{:?}", why
            );
        }

        #[test]
        fn parse_never_panics(raw in "\\PC{0,64}") {
            let _ = RequestPath::parse(&raw);
        }
    }
}
