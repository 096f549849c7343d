//! How an [`AuthError`] goes on the wire, framework-free: the status, headers and body that every
//! adapter sends. `jwt_core::http::render` (feature `http`: axum, poem, warp) and the actix-web
//! adapter (on `http` 0.2) both build their response from [`ErrorResponse`], so the decisions
//! (content type, which headers, a value that is not a valid header is left out) live once.

use crate::error::AuthError;

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
/// // A 503 has no challenge.
/// let down = ErrorResponse::new(&AuthError::new(AuthErrorKind::Unavailable));
/// assert_eq!((down.status(), down.headers().count()), (503, 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    status: u16,
    www_authenticate: Option<String>,
    body: String,
}

impl ErrorResponse {
    /// Renders `err`: [`AuthError::status`], `content-type: application/json`, then
    /// `www-authenticate` ([`AuthError::www_authenticate_value`]) when there is one and it is a
    /// valid header value, and [`AuthError::body`].
    pub fn new(err: &AuthError) -> Self {
        Self {
            status: err.status(),
            www_authenticate: err.www_authenticate_value().filter(|v| is_header_value(v)),
            body: err.body(),
        }
    }

    /// The status code: 400, 401, 403 or 503.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers as `(lower-case name, value)`, in the order to insert them. Every value is
    /// visible ASCII, space or tab (what `HeaderValue::from_str` accepts in `http` 0.2 and 1).
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        std::iter::once(("content-type", "application/json")).chain(
            self.www_authenticate
                .as_deref()
                .map(|value| ("www-authenticate", value)),
        )
    }

    /// The JSON body, `{"detail": "..."}`.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The JSON body, owned.
    pub fn into_body(self) -> String {
        self.body
    }
}

impl From<&AuthError> for ErrorResponse {
    fn from(err: &AuthError) -> Self {
        Self::new(err)
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
