//! The body of a refusal and the response that carries it, framework-free: `{"detail": ...}`
//! ([`DetailJson`], agno's shape), RFC 9457 problem+json ([`ProblemJson`]), your own
//! ([`RenderWith`], any [`ErrorRenderer`]), the JSON-RPC error an MCP client reads, and
//! [`ErrorResponse`]: status, headers and body as every adapter sends them.

use std::borrow::Cow;
use std::fmt;

use super::{AuthError, ErrorRenderer, RefusalHeaders, RenderedBody, is_header_value};
use crate::error::AuthErrorKind;

impl AuthError {
    /// The JSON body, `{"detail": "..."}`; for [`AuthErrorKind::InvalidMcpMessage`] the
    /// JSON-RPC error the MCP client reads, `{"jsonrpc":"2.0","id":..,"error":{"code":..,
    /// "message":..}}`.
    ///
    /// ```
    /// use jwt_core::{AuthError, AuthErrorKind, McpRejection};
    /// let err = AuthError::new(AuthErrorKind::InvalidMcpMessage { why: McpRejection::NotJson, id: None });
    /// assert_eq!(err.body(), r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Invalid MCP message: the body is not JSON"}}"#);
    /// ```
    pub fn body(&self) -> String {
        if let AuthErrorKind::InvalidMcpMessage { why, id } = &self.kind {
            // Members in JSON-RPC's order; `id` is JSON text the parser produced.
            let message = serde_json::Value::from(self.detail().into_owned());
            return format!(
                r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":{},"message":{message}}}}}"#,
                id.as_deref().unwrap_or("null"),
                why.code(),
            );
        }
        serde_json::json!({ "detail": self.detail() }).to_string()
    }
}

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
    refusal: RefusalHeaders,
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
            refusal: RefusalHeaders::new(err),
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
        std::iter::once(("content-type", &*self.content_type)).chain(self.refusal.iter())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::is_header_value;

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
