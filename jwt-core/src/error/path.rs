//! Why a request path is refused.

/// Why a request path was refused (400 `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathRejection {
    /// The path does not start with `/` (e.g. `*` or an absolute URI left unparsed).
    #[error("the path must start with '/'")]
    NotAbsolute,
    /// A raw (not percent-encoded) non-ASCII character: RFC 3986 allows only ASCII in a URI, and
    /// HTTP parsers disagree on it (actix-web answers 400, hyper passes it through).
    #[error("raw non-ASCII character")]
    RawNonAscii,
    /// An empty segment: `//`, or an empty parameter such as `/items//runs`.
    #[error("empty path segment")]
    EmptySegment,
    /// A `.` or `..` segment, raw or percent-encoded.
    #[error("dot segment")]
    DotSegment,
    /// A `%` not followed by two hex digits.
    #[error("malformed percent-escape")]
    BadEscape,
    /// Percent-escapes that do not decode to UTF-8.
    #[error("percent-escapes that are not UTF-8")]
    NotUtf8,
    /// A decoded control character (`%00`–`%1F`, `%7F`).
    #[error("control character")]
    ControlCharacter,
    /// An escaped RFC 3986 unreserved character (`%61` for `a`): only a disguise, since no
    /// client needs to escape one and a raw reading of the segment differs from the decoded one.
    #[error("percent-encoded unreserved character")]
    EncodedUnreserved,
    /// A percent-escape inside a segment that the route table matched as a literal.
    #[error("percent-escape in a literal path segment")]
    EncodedLiteral,
}
