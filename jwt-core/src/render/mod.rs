//! A refusal as the middleware answers it, and everything that writes it on the wire.
//!
//! [`AuthError`] is a kind of refusal ([`crate::AuthErrorKind`], whose facts are declared in
//! `error::kind`) together with how the middleware that refused presents it: its realm, its
//! [`ErrorRenderer`], its `Retry-After`, its DPoP challenge and its metadata URL. The writers
//! live in the files below: the body ([`body`]: `{"detail": ...}`, RFC 9457 problem+json,
//! JSON-RPC, [`ErrorResponse`]), the `WWW-Authenticate` challenge ([`challenge`]) and gRPC
//! ([`grpc`]). `jwt_core::http::render` (feature `http`: axum, poem, warp) and the actix-web
//! adapter (on `http` 0.2) both build their responses from [`ErrorResponse`] or
//! [`GrpcResponse`], so each decision (content type, which headers, a value that is not a valid
//! header is left out) lives once.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::error::{AuthErrorKind, InvalidToken};

pub(crate) mod body;
pub(crate) mod challenge;
pub(crate) mod grpc;

pub use body::{DetailJson, ErrorResponse, ProblemJson, RenderWith};
pub use grpc::{GrpcCode, GrpcResponse, is_grpc_content_type};

/// Why a request was refused. Adapters render it with [`AuthError::status`], [`AuthError::body`]
/// and [`AuthError::www_authenticate`]; they never inspect messages.
///
/// ```
/// use jwt_core::{AuthError, InvalidToken};
/// let err = AuthError::from(InvalidToken::Expired).with_realm("api");
/// assert_eq!(err.status(), 401);
/// assert_eq!(err.body(), r#"{"detail":"Token has expired"}"#);
/// assert_eq!(
///     err.www_authenticate(),
///     r#"Bearer realm="api", error="invalid_token", error_description="token expired""#
/// );
/// ```
#[derive(Debug, Clone)]
pub struct AuthError {
    kind: AuthErrorKind,
    realm: Cow<'static, str>,
    /// How the middleware that produced it renders errors (body, `Retry-After`); `None` for
    /// the defaults.
    style: Option<Arc<ErrorStyle>>,
    /// The request used the `DPoP` scheme: the challenge answers in that scheme.
    dpop_scheme: bool,
    /// Every scope the refused operation needs, for the `scope` of a 401 challenge (MCP
    /// endpoints: the client then asks for all of them at once). A thin box keeps every
    /// `Result<_, AuthError>` small.
    scope_hint: Option<Box<ScopeHint>>,
}

/// The `scope` of a 401 challenge: every scope the operation needs, space-separated.
#[derive(Debug, Clone)]
struct ScopeHint(String);

/// Two errors are equal when they say the same thing (kind and realm), whoever renders them.
impl PartialEq for AuthError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.realm == other.realm
    }
}

impl Eq for AuthError {}

/// The body of a rendered error and its media type; the status and the challenge headers are
/// always the core's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderedBody {
    /// The `content-type` (e.g. `application/problem+json`).
    pub content_type: Cow<'static, str>,
    /// The body.
    pub body: String,
}

impl RenderedBody {
    /// A body of media type `content_type`.
    pub fn new(content_type: impl Into<Cow<'static, str>>, body: impl Into<String>) -> Self {
        Self {
            content_type: content_type.into(),
            body: body.into(),
        }
    }
}

/// Renders the body of an [`AuthError`]: the default `{"detail": ...}`
/// ([`crate::DetailJson`]), RFC 9457 `application/problem+json` ([`crate::ProblemJson`]), or your
/// own. It cannot change the status, `WWW-Authenticate` or `Retry-After`: those are decided by the
/// core ([`crate::ErrorResponse`]).
///
/// ```
/// use jwt_core::{AuthError, ErrorRenderer, InvalidToken, RenderedBody};
/// #[derive(Debug)]
/// struct Plain;
/// impl ErrorRenderer for Plain {
///     fn render_body(&self, err: &AuthError) -> RenderedBody {
///         RenderedBody::new("text/plain", format!("{} ({})", err.detail(), err.reason()))
///     }
/// }
/// let body = Plain.render_body(&AuthError::from(InvalidToken::Expired));
/// assert_eq!(body.body, "Token has expired (expired)");
/// ```
pub trait ErrorRenderer: Send + Sync + fmt::Debug {
    /// The body for `err`.
    fn render_body(&self, err: &AuthError) -> RenderedBody;
}

/// How one middleware presents its errors, shared by every error it produces.
#[derive(Debug)]
pub(crate) struct ErrorStyle {
    pub(crate) realm: Arc<str>,
    /// RFC 9728: the protected resource metadata URL every challenge points at.
    pub(crate) resource_metadata: Option<Arc<str>>,
    pub(crate) renderer: Option<Arc<dyn ErrorRenderer>>,
    pub(crate) retry_after_secs: u32,
    /// With DPoP on: the `algs` of the `DPoP` challenge, and whether `Bearer` is refused.
    pub(crate) dpop: Option<DpopChallenge>,
}

/// The `DPoP` challenge of a middleware with DPoP on (RFC 9449 §7.1).
#[derive(Debug)]
pub(crate) struct DpopChallenge {
    /// The accepted proof algorithms, space-separated.
    pub(crate) algs: String,
    /// DPoP is required: the challenge is `DPoP` only.
    pub(crate) required: bool,
}

impl AuthError {
    /// Builds an error of `kind` with the default realm `api`.
    pub fn new(kind: AuthErrorKind) -> Self {
        Self {
            kind,
            realm: Cow::Borrowed("api"),
            style: None,
            dpop_scheme: false,
            scope_hint: None,
        }
    }

    /// Names `required` in the `scope` of this refusal's challenge when it is a 401 (a 403
    /// `insufficient_scope` names its own). Nothing when `required` is empty.
    pub(crate) fn with_scope_hint(mut self, required: &[String]) -> Self {
        if self.status() == 401 && !required.is_empty() {
            self.scope_hint = Some(Box::new(ScopeHint(required.join(" "))));
        }
        self
    }

    /// Takes the realm, renderer and `Retry-After` of a middleware.
    pub(crate) fn with_style(mut self, style: &Arc<ErrorStyle>) -> Self {
        self.realm = Cow::Owned(style.realm.to_string());
        self.style = Some(style.clone());
        self
    }

    /// Marks the error as the answer to a request that used the `DPoP` scheme.
    pub(crate) fn in_dpop_scheme(mut self) -> Self {
        self.dpop_scheme = true;
        self
    }

    /// Sets the realm shown in `WWW-Authenticate`.
    pub fn with_realm(mut self, realm: impl Into<Cow<'static, str>>) -> Self {
        self.realm = realm.into();
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> &AuthErrorKind {
        &self.kind
    }

    /// The HTTP status code: 400, 401, 403, 503, or 500 for a misconfigured adapter.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The RFC 6750 error code, if any (`invalid_request`, `invalid_token`, `insufficient_scope`),
    /// or RFC 9449's (`invalid_dpop_proof`, `use_dpop_nonce`).
    pub fn error_code(&self) -> Option<&'static str> {
        self.kind.error_code()
    }

    /// A stable machine-readable reason code saying which check failed, for logs and metrics:
    /// `missing_token`, `invalid_path`, the [`InvalidToken::reason`] of a refused token,
    /// `insufficient_scope`, `route_denied`, `keys_unavailable`, ...
    ///
    /// ```
    /// use jwt_core::{AuthError, InvalidToken};
    /// assert_eq!(AuthError::from(InvalidToken::InvalidAudience).reason(), "invalid_audience");
    /// ```
    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }

    /// The human-readable `detail` of the JSON body.
    pub fn detail(&self) -> Cow<'_, str> {
        self.kind.detail()
    }

    /// The nonce a client must put in its next DPoP proof (`DPoP-Nonce`), for a
    /// [`AuthErrorKind::UseDpopNonce`] refusal.
    pub fn dpop_nonce(&self) -> Option<&str> {
        match &self.kind {
            AuthErrorKind::UseDpopNonce(nonce) => Some(nonce),
            _ => None,
        }
    }

    /// The custom body renderer of the middleware that produced this error, if any.
    pub fn renderer(&self) -> Option<&dyn ErrorRenderer> {
        self.style.as_ref().and_then(|s| s.renderer.as_deref())
    }

    /// Seconds a client should wait before retrying a 503 (`Retry-After`); `None` for other
    /// statuses.
    pub fn retry_after(&self) -> Option<u32> {
        (self.status() == 503).then(|| {
            self.style
                .as_ref()
                .map_or(crate::limits::DEFAULT_RETRY_AFTER_SECS, |s| {
                    s.retry_after_secs
                })
        })
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.detail())
    }
}

impl std::error::Error for AuthError {}

impl From<InvalidToken> for AuthError {
    fn from(reason: InvalidToken) -> Self {
        Self::new(AuthErrorKind::InvalidToken(reason))
    }
}

impl From<AuthErrorKind> for AuthError {
    fn from(kind: AuthErrorKind) -> Self {
        Self::new(kind)
    }
}

/// The headers every rendering of a refusal carries after its own (JSON body or gRPC status):
/// the challenge, `retry-after` on a 503, `dpop-nonce` on a `use_dpop_nonce` refusal. A value
/// that is not a valid header value is left out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RefusalHeaders {
    www_authenticate: Option<String>,
    retry_after: Option<String>,
    dpop_nonce: Option<String>,
}

impl RefusalHeaders {
    fn new(err: &AuthError) -> Self {
        Self {
            www_authenticate: err.www_authenticate_value().filter(|v| is_header_value(v)),
            retry_after: err.retry_after().map(|s| s.to_string()),
            dpop_nonce: err
                .dpop_nonce()
                .filter(|v| is_header_value(v))
                .map(str::to_owned),
        }
    }

    /// `(lower-case name, value)`, in the order to insert them.
    fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("www-authenticate", self.www_authenticate.as_deref()),
            ("retry-after", self.retry_after.as_deref()),
            ("dpop-nonce", self.dpop_nonce.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
    }
}

/// What `http`'s `HeaderValue::from_str` accepts: tab and `0x20..=0x7E`.
fn is_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}
