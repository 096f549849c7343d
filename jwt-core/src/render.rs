//! How an [`AuthError`] goes on the wire, framework-free: the status, headers and body that every
//! adapter sends. `jwt_core::http::render` (feature `http`: axum, poem, warp) and the actix-web
//! adapter (on `http` 0.2) both build their response from [`ErrorResponse`], so the decisions
//! (content type, which headers, a value that is not a valid header is left out) live once.

use std::borrow::Cow;
use std::fmt;

use crate::error::{AuthError, AuthErrorKind, ErrorRenderer, RenderedBody};

/// An [`AuthError`] rendered for the wire: status code, headers in order, JSON body.
///
/// ```
/// use jwt_core::{AuthError, AuthErrorKind, ErrorResponse, InvalidToken};
/// let res = ErrorResponse::new(&AuthError::from(InvalidToken::Expired));
/// assert_eq!(res.status(), 401);
/// assert_eq!(
///     res.headers().collect::<Vec<_>>(),
///     [
///         ("content-type", "application/json"),
///         (
///             "www-authenticate",
///             r#"Bearer realm="api", error="invalid_token", error_description="token expired""#
///         ),
///     ]
/// );
/// assert_eq!(res.body(), r#"{"detail":"Token has expired"}"#);
///
/// // A 503 has no challenge, and says when to come back.
/// let down = ErrorResponse::new(&AuthError::new(AuthErrorKind::Unavailable));
/// assert_eq!(
///     down.headers().collect::<Vec<_>>(),
///     [("content-type", "application/json"), ("retry-after", "5")]
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    status: u16,
    content_type: Cow<'static, str>,
    www_authenticate: Option<String>,
    retry_after: Option<String>,
    dpop_nonce: Option<String>,
    body: String,
}

impl ErrorResponse {
    /// Renders `err`: [`AuthError::status`], `content-type: application/json`, then
    /// `www-authenticate` ([`AuthError::www_authenticate_value`]) when there is one and it is a
    /// valid header value, and [`AuthError::body`].
    ///
    /// With a custom [`ErrorRenderer`] (set with [`crate::JwtAuthBuilder::error_renderer`]) the
    /// body and content type are the renderer's; a content type that is not a valid header value
    /// falls back to the default body. A 503 carries `retry-after`, a `use_dpop_nonce` refusal `dpop-nonce`.
    pub fn new(err: &AuthError) -> Self {
        // An MCP client reads a JSON-RPC error, whatever renders the other refusals.
        let mcp = matches!(err.kind(), AuthErrorKind::InvalidMcpMessage { .. });
        let rendered = err
            .renderer()
            .filter(|_| !mcp)
            .map(|r| r.render_body(err))
            .filter(|b| !b.content_type.is_empty() && is_header_value(&b.content_type))
            .unwrap_or_else(|| DetailJson.render_body(err));
        Self {
            status: err.status(),
            content_type: rendered.content_type,
            www_authenticate: err.www_authenticate_value().filter(|v| is_header_value(v)),
            retry_after: err.retry_after().map(|s| s.to_string()),
            dpop_nonce: err
                .dpop_nonce()
                .filter(|v| is_header_value(v))
                .map(str::to_owned),
            body: rendered.body,
        }
    }

    /// The status code: 400, 401, 403 or 503.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers as `(lower-case name, value)`, in the order to insert them. Every value is
    /// visible ASCII, space or tab (what `HeaderValue::from_str` accepts in `http` 0.2 and 1).
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        std::iter::once(("content-type", &*self.content_type))
            .chain(
                self.www_authenticate
                    .as_deref()
                    .map(|value| ("www-authenticate", value)),
            )
            .chain(self.retry_after.as_deref().map(|v| ("retry-after", v)))
            .chain(self.dpop_nonce.as_deref().map(|v| ("dpop-nonce", v)))
    }

    /// The body (by default the JSON `{"detail": "..."}`).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The body, owned.
    pub fn into_body(self) -> String {
        self.body
    }
}

/// An [`AuthError`] rendered for a gRPC client: a "trailers-only" response, whose status and
/// message travel in headers (HTTP 200, no body), which every gRPC client reads as the call's
/// status. The challenge stays in `www-authenticate` and a 503's `retry-after` is kept, as
/// metadata.
///
/// ```
/// use jwt_core::{AuthError, GrpcResponse, InvalidToken};
/// let res = GrpcResponse::new(&AuthError::from(InvalidToken::Expired));
/// assert_eq!(
///     res.headers().collect::<Vec<_>>(),
///     [
///         ("content-type", "application/grpc"),
///         ("grpc-status", "16"),
///         ("grpc-message", "Token has expired"),
///         (
///             "www-authenticate",
///             r#"Bearer realm="api", error="invalid_token", error_description="token expired""#
///         ),
///     ]
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcResponse {
    status: String,
    message: String,
    www_authenticate: Option<String>,
    retry_after: Option<String>,
    dpop_nonce: Option<String>,
}

impl GrpcResponse {
    /// Renders `err`: [`AuthError::grpc_code`], [`AuthError::detail`] as `grpc-message`
    /// (percent-encoded as the gRPC specification asks), the challenge and `retry-after`.
    pub fn new(err: &AuthError) -> Self {
        /// Bytes a `grpc-message` percent-encodes: controls, `%`, and (always) non-ASCII.
        const GRPC_MESSAGE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');
        Self {
            status: err.grpc_code().code().to_string(),
            message: percent_encoding::utf8_percent_encode(&err.detail(), GRPC_MESSAGE).to_string(),
            www_authenticate: err.www_authenticate_value().filter(|v| is_header_value(v)),
            retry_after: err.retry_after().map(|s| s.to_string()),
            dpop_nonce: err
                .dpop_nonce()
                .filter(|v| is_header_value(v))
                .map(str::to_owned),
        }
    }

    /// The headers as `(lower-case name, value)`, in the order to insert them; the response's
    /// HTTP status is 200 and its body empty.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("content-type", "application/grpc"),
            ("grpc-status", self.status.as_str()),
            ("grpc-message", self.message.as_str()),
        ]
        .into_iter()
        .chain(
            self.www_authenticate
                .as_deref()
                .map(|value| ("www-authenticate", value)),
        )
        .chain(self.retry_after.as_deref().map(|v| ("retry-after", v)))
        .chain(self.dpop_nonce.as_deref().map(|v| ("dpop-nonce", v)))
    }
}

/// Whether a request's `content-type` makes it a gRPC call (`application/grpc`, with an
/// optional `+proto`/`+json` codec or parameters, and gRPC-Web's `application/grpc-web...`),
/// whose refusals are rendered as [`GrpcResponse`].
///
/// ```
/// assert!(jwt_core::is_grpc_content_type(b"application/grpc"));
/// assert!(jwt_core::is_grpc_content_type(b"application/grpc+proto"));
/// assert!(jwt_core::is_grpc_content_type(b"application/grpc-web-text"));
/// assert!(!jwt_core::is_grpc_content_type(b"application/json"));
/// assert!(!jwt_core::is_grpc_content_type(b"application/grpcx"));
/// ```
pub fn is_grpc_content_type(value: &[u8]) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    value.len() >= GRPC.len()
        && value[..GRPC.len()].eq_ignore_ascii_case(GRPC)
        && matches!(value.get(GRPC.len()), None | Some(b'+' | b';' | b'-'))
}

impl From<&AuthError> for ErrorResponse {
    fn from(err: &AuthError) -> Self {
        Self::new(err)
    }
}

/// The default body: `{"detail": "..."}` as `application/json` (agno's shape).
///
/// ```
/// use jwt_core::{AuthError, DetailJson, ErrorRenderer, InvalidToken};
/// let b = DetailJson.render_body(&AuthError::from(InvalidToken::Expired));
/// assert_eq!((&*b.content_type, b.body.as_str()), ("application/json", r#"{"detail":"Token has expired"}"#));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DetailJson;

impl ErrorRenderer for DetailJson {
    fn render_body(&self, err: &AuthError) -> RenderedBody {
        RenderedBody::new("application/json", err.body())
    }
}

/// RFC 9457 problem details: `application/problem+json` with `type`, `title`, `status`,
/// `detail`, plus the extension members `code` (the RFC 6750 error code, when there is one)
/// and `reason` ([`AuthError::reason`]).
///
/// ```
/// use jwt_core::{AuthError, ErrorRenderer, InvalidToken, ProblemJson};
/// let b = ProblemJson::new().render_body(&AuthError::from(InvalidToken::Expired));
/// assert_eq!(b.content_type, "application/problem+json");
/// let v: serde_json::Value = serde_json::from_str(&b.body).unwrap();
/// assert_eq!(v["status"], 401);
/// assert_eq!(v["title"], "Unauthorized");
/// assert_eq!(v["type"], "about:blank");
/// assert_eq!(v["reason"], "expired");
///
/// let typed = ProblemJson::with_type_base("https://errors.example.com/auth/");
/// let v: serde_json::Value =
///     serde_json::from_str(&typed.render_body(&AuthError::from(InvalidToken::Expired)).body).unwrap();
/// assert_eq!(v["type"], "https://errors.example.com/auth/expired");
/// ```
#[derive(Debug, Clone, Default)]
pub struct ProblemJson {
    type_base: Option<String>,
}

impl ProblemJson {
    /// `type` is `about:blank` (the status says it all).
    pub fn new() -> Self {
        Self::default()
    }

    /// `type` is `<base><reason>`, e.g. `https://errors.example.com/auth/expired`.
    pub fn with_type_base(base: impl Into<String>) -> Self {
        Self {
            type_base: Some(base.into()),
        }
    }
}

impl ErrorRenderer for ProblemJson {
    fn render_body(&self, err: &AuthError) -> RenderedBody {
        let status = err.status();
        let title = match status {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let kind = match &self.type_base {
            Some(base) => format!("{base}{}", err.reason()),
            None => "about:blank".to_owned(),
        };
        let mut body = serde_json::json!({
            "type": kind,
            "title": title,
            "status": status,
            "detail": err.detail(),
            "reason": err.reason(),
        });
        if let Some(code) = err.error_code() {
            body["code"] = code.into();
        }
        RenderedBody::new("application/problem+json", body.to_string())
    }
}

/// A closure as an [`ErrorRenderer`] (see [`crate::JwtAuthBuilder::render_errors_with`]).
pub struct RenderWith<F>(pub F);

impl<F> fmt::Debug for RenderWith<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RenderWith(..)")
    }
}

impl<F> ErrorRenderer for RenderWith<F>
where
    F: Fn(&AuthError) -> RenderedBody + Send + Sync,
{
    fn render_body(&self, err: &AuthError) -> RenderedBody {
        (self.0)(err)
    }
}

/// What `http`'s `HeaderValue::from_str` accepts: tab and `0x20..=0x7E`.
fn is_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_checked() {
        assert!(is_header_value("Bearer realm=\"a\tb\""));
        assert!(!is_header_value("a\nb"));
        assert!(!is_header_value("\u{e9}"));
        assert!(!is_header_value("\x7f"));
        // The core's own challenge is always header-safe, whatever the realm.
        let err = AuthError::from(crate::InvalidToken::Expired).with_realm("r\u{e9}\n\"");
        assert_eq!(ErrorResponse::new(&err).headers().count(), 2);
    }
}
