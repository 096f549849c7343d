//! Typed errors: [`AuthError`] for requests (status, JSON body, `WWW-Authenticate`), [`InvalidToken`]
//! for the reasons a token is refused, and [`ConfigError`] for mistakes caught at build time.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a token was refused. Every variant renders a fixed message of ours: no text from a library
/// ever reaches a client.
///
/// ```
/// use jwt_core::InvalidToken;
/// assert_eq!(InvalidToken::Expired.to_string(), "Token has expired");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidToken {
    /// The token is longer than the configured maximum.
    #[error("Invalid token: token is too long")]
    TooLong,
    /// Not a compact JWS: wrong segment count, bad characters, bad base64url or bad JSON.
    #[error("Invalid token: malformed token")]
    Malformed,
    /// A JSON member name appears twice in the header or the claims.
    #[error("Invalid token: duplicate member in token")]
    DuplicateMember,
    /// The claims set is not a JSON object.
    #[error("Invalid token: claims must be a JSON object")]
    ClaimsNotObject,
    /// `alg` is missing, unknown, or not allowed for any configured key.
    #[error("Invalid token: algorithm not allowed")]
    AlgorithmNotAllowed,
    /// An unsecured token: `alg` is `none` (any case), signed or not. Never accepted; its own
    /// reason code (`alg_none`) because it is an attack signal, not a key problem.
    #[error("Invalid token: algorithm not allowed")]
    AlgNone,
    /// The header uses a parameter we refuse (`crit`, `b64`, nested `cty`).
    #[error("Invalid token: unsupported header parameter")]
    UnsupportedHeader,
    /// No configured key matches the token (`kid` unknown or ambiguous).
    #[error("Invalid token: no matching verification key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("Invalid token: signature verification failed")]
    BadSignature,
    /// `exp` is in the past (leeway included).
    #[error("Token has expired")]
    Expired,
    /// `nbf` is in the future (leeway included).
    #[error("Invalid token: token is not yet valid")]
    NotYetValid,
    /// `iat` is in the future (leeway included).
    #[error("Invalid token: token issued in the future")]
    IssuedInFuture,
    /// A registered or required claim is absent.
    #[error("Invalid token: missing required claim")]
    MissingClaim(String),
    /// A claim has the wrong type or an out-of-range value.
    #[error("Invalid token: invalid claim")]
    InvalidClaim(String),
    /// `aud` does not name this service (or is present when no audience is configured).
    #[error("Invalid token audience")]
    InvalidAudience,
    /// `iss` is not a configured issuer.
    #[error("Invalid token issuer")]
    InvalidIssuer,
    /// `typ` does not match the required token type (RFC 9068 mode).
    #[error("Invalid token: wrong token type")]
    WrongType,
    /// The subject is a reserved principal.
    #[error("Invalid token subject")]
    ReservedSubject,
    /// A static API key did not match.
    #[error("Invalid authentication token")]
    BadApiKey,
    /// The token was revoked (a per-request check such as [`crate::JtiDenylist`]).
    #[error("Token has been revoked")]
    Revoked,
    /// The token is bound to a key (`cnf`: DPoP `jkt` (RFC 9449), mTLS `x5t#S256` (RFC 8705),
    /// RFC 7800): presented as a plain bearer token, without the proof its binding demands, it is
    /// refused, as a stolen one would be.
    #[error("Invalid token: the token is bound to a key and was sent without proof")]
    SenderConstrained,
    /// Sent with the `DPoP` scheme, but the token carries no DPoP key binding (`cnf.jkt`).
    #[error("Invalid token: the token is not bound to a DPoP key")]
    NotDpopBound,
    /// DPoP is required ([`crate::DpopMode::Required`]) and the token came as a plain bearer.
    #[error("Invalid token: a DPoP-bound token and proof are required")]
    DpopRequired,
}

impl InvalidToken {
    /// A short, header-safe description used as `error_description` in `WWW-Authenticate`.
    ///
    /// ```
    /// assert_eq!(jwt_core::InvalidToken::Expired.description(), "token expired");
    /// ```
    pub fn description(&self) -> &'static str {
        match self {
            Self::TooLong => "token too long",
            Self::Malformed => "malformed token",
            Self::DuplicateMember => "duplicate member",
            Self::ClaimsNotObject => "claims not an object",
            Self::AlgorithmNotAllowed | Self::AlgNone => "algorithm not allowed",
            Self::UnsupportedHeader => "unsupported header parameter",
            Self::UnknownKey => "no matching key",
            Self::BadSignature => "invalid signature",
            Self::Expired => "token expired",
            Self::NotYetValid => "token not yet valid",
            Self::IssuedInFuture => "token issued in the future",
            Self::MissingClaim(_) => "missing claim",
            Self::InvalidClaim(_) => "invalid claim",
            Self::InvalidAudience => "invalid audience",
            Self::InvalidIssuer => "invalid issuer",
            Self::WrongType => "wrong token type",
            Self::ReservedSubject => "invalid subject",
            Self::BadApiKey => "invalid token",
            Self::Revoked => "token revoked",
            Self::SenderConstrained => "sender-constrained token sent as bearer",
            Self::NotDpopBound => "token not DPoP-bound",
            Self::DpopRequired => "DPoP required",
        }
    }

    /// A stable machine-readable reason code (`expired`, `unknown_key`, `invalid_audience`, ...)
    /// for logs and metrics.
    ///
    /// ```
    /// assert_eq!(jwt_core::InvalidToken::UnknownKey.reason(), "unknown_key");
    /// ```
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLong => "token_too_long",
            Self::Malformed => "malformed",
            Self::DuplicateMember => "duplicate_member",
            Self::ClaimsNotObject => "claims_not_object",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::AlgNone => "alg_none",
            Self::UnsupportedHeader => "unsupported_header",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidClaim(_) => "invalid_claim",
            Self::InvalidAudience => "invalid_audience",
            Self::InvalidIssuer => "invalid_issuer",
            Self::WrongType => "wrong_type",
            Self::ReservedSubject => "reserved_subject",
            Self::BadApiKey => "bad_api_key",
            Self::Revoked => "revoked",
            Self::SenderConstrained => "sender_constrained",
            Self::NotDpopBound => "not_dpop_bound",
            Self::DpopRequired => "dpop_required",
        }
    }
}

/// Why a DPoP proof (RFC 9449 §4.3) was refused: 401 with
/// `WWW-Authenticate: DPoP error="invalid_dpop_proof"`. Every variant renders a fixed message.
///
/// ```
/// use jwt_core::DpopRejection;
/// assert_eq!(DpopRejection::Replayed.description(), "DPoP proof replayed");
/// assert_eq!(DpopRejection::Replayed.reason(), "dpop_replayed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopRejection {
    /// The request has the `DPoP` scheme but no `DPoP` header.
    Missing,
    /// Several `DPoP` headers.
    Several,
    /// Not a compact JWS with JSON header and claims, or a claim of the wrong type.
    Malformed,
    /// The header's `typ` is not `dpop+jwt`.
    WrongType,
    /// The `alg` is not one of the accepted asymmetric algorithms.
    AlgorithmNotAllowed,
    /// The header's `jwk` is missing, private, unsupported or does not fit the `alg`.
    BadKey,
    /// The signature does not verify with the embedded key.
    BadSignature,
    /// A required claim (`jti`, `htm`, `htu`, `iat`, `ath`) is missing.
    MissingClaim,
    /// `htm` is not the request's method.
    MethodMismatch,
    /// `htu` is not the request's URL.
    UrlMismatch,
    /// `htu` is not an absolute `http(s)` URI in strict RFC 3986 syntax (whitespace, control
    /// characters, `\`, a missing `//`, user information, ...): refused, never repaired.
    HtuNotAbsolute,
    /// The request's own URL cannot be determined (no or several `Host` / forwarded headers).
    UnknownRequestUrl,
    /// `iat` is outside the accepted window.
    Stale,
    /// `ath` is not the hash of the access token.
    AthMismatch,
    /// The proof's `jti` was seen before within the window.
    Replayed,
    /// The proof's key is not the key the token is bound to (`cnf.jkt`).
    KeyMismatch,
}

impl fmt::Display for DpopRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for DpopRejection {}

impl DpopRejection {
    /// A short, header-safe description used as `error_description` and in the body's
    /// `detail` (after `Invalid DPoP proof: `).
    pub fn description(&self) -> &'static str {
        match self {
            Self::Missing => "DPoP proof missing",
            Self::Several => "several DPoP proofs",
            Self::Malformed => "malformed DPoP proof",
            Self::WrongType => "DPoP proof type is not dpop+jwt",
            Self::AlgorithmNotAllowed => "DPoP proof algorithm not allowed",
            Self::BadKey => "DPoP proof key unusable",
            Self::BadSignature => "DPoP proof signature invalid",
            Self::MissingClaim => "DPoP proof claim missing",
            Self::MethodMismatch => "DPoP proof htm mismatch",
            Self::UrlMismatch => "DPoP proof htu mismatch",
            Self::HtuNotAbsolute => "DPoP proof htu is not an absolute URI",
            Self::UnknownRequestUrl => "request URL undetermined",
            Self::Stale => "DPoP proof iat outside the accepted window",
            Self::AthMismatch => "DPoP proof ath mismatch",
            Self::Replayed => "DPoP proof replayed",
            Self::KeyMismatch => "DPoP key binding mismatch",
        }
    }

    /// A stable machine-readable reason code for logs and metrics (`dpop_replayed`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "dpop_missing",
            Self::Several => "dpop_several",
            Self::Malformed => "dpop_malformed",
            Self::WrongType => "dpop_wrong_type",
            Self::AlgorithmNotAllowed => "dpop_algorithm_not_allowed",
            Self::BadKey => "dpop_bad_key",
            Self::BadSignature => "dpop_bad_signature",
            Self::MissingClaim => "dpop_missing_claim",
            Self::MethodMismatch => "dpop_htm_mismatch",
            Self::UrlMismatch => "dpop_htu_mismatch",
            Self::HtuNotAbsolute => "dpop_htu_invalid",
            Self::UnknownRequestUrl => "dpop_unknown_url",
            Self::Stale => "dpop_stale",
            Self::AthMismatch => "dpop_ath_mismatch",
            Self::Replayed => "dpop_replayed",
            Self::KeyMismatch => "dpop_key_mismatch",
        }
    }
}

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

/// The gRPC status codes an [`AuthError`] maps to ([`AuthError::grpc_code`]), numbered as in
/// the gRPC specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrpcCode {
    /// 2: not one of the others (no refusal maps here today).
    Unknown,
    /// 3: a malformed request (HTTP 400).
    InvalidArgument,
    /// 7: authenticated, not allowed (HTTP 403).
    PermissionDenied,
    /// 13: the adapter is misconfigured (HTTP 500).
    Internal,
    /// 14: the keys could not be fetched; retry (HTTP 503).
    Unavailable,
    /// 16: no valid credential (HTTP 401).
    Unauthenticated,
}

impl GrpcCode {
    /// The number sent as `grpc-status`.
    pub fn code(self) -> u16 {
        match self {
            GrpcCode::Unknown => 2,
            GrpcCode::InvalidArgument => 3,
            GrpcCode::PermissionDenied => 7,
            GrpcCode::Internal => 13,
            GrpcCode::Unavailable => 14,
            GrpcCode::Unauthenticated => 16,
        }
    }
}

/// The kind of an [`AuthError`]; each maps to one status code and RFC 6750 error code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No credential was presented (401, no error code). The string is the detail message.
    MissingToken(Cow<'static, str>),
    /// The `Authorization` header uses another scheme than the one expected (401, no error code).
    UnsupportedScheme,
    /// Malformed request: several credentials, bad `Bearer` grammar (400 `invalid_request`).
    InvalidRequest(&'static str),
    /// A request path the core's path model refuses (400 `invalid_request`): empty or dot
    /// segments, malformed escapes, a literal sent percent-encoded (see [`crate::token::path`]).
    InvalidPath(PathRejection),
    /// The token was refused (401 `invalid_token`).
    InvalidToken(InvalidToken),
    /// The token is valid but lacks a scope (403 `insufficient_scope`).
    InsufficientScope {
        /// The scopes the route requires, rendered for this request.
        required: Vec<String>,
    },
    /// A route-level resource check failed (403 `insufficient_scope`), agno's
    /// `Access denied to <action> this <noun>`.
    AccessDenied {
        /// The action (`read`, `run`, ...).
        action: String,
        /// The resource noun (`agent`, `team`, ...).
        noun: String,
        /// The scope that would have granted access.
        required: String,
    },
    /// The route is not in the table (fail closed) or is denied outright (403
    /// `insufficient_scope`, fixed detail): [`crate::Access::Denied`].
    RouteDenied,
    /// No verification keys are available yet (503).
    Unavailable,
    /// A handler asked for the caller's identity but the route ran without the middleware, or
    /// the route is excluded (401, no error code).
    NotAuthenticated,
    /// The DPoP proof was refused (401 `invalid_dpop_proof`, RFC 9449 §7.1).
    InvalidDpopProof(DpopRejection),
    /// The proof lacks the server's current nonce (401 `use_dpop_nonce`, RFC 9449 §9); the
    /// string is the nonce to use, sent in the `DPoP-Nonce` header.
    UseDpopNonce(String),
    /// A shared store (the DPoP replay cache) could not answer in time (503, `Retry-After`).
    StoreUnavailable,
    /// The adapter is set up in a way that cannot decide this request correctly (500, no
    /// challenge); the string says what to change. It is logged, never sent: the client reads
    /// "Authentication is misconfigured". Example: warp filters alone with DPoP on.
    Misconfigured(&'static str),
    /// The body of a request to an MCP endpoint cannot be read without guessing (400
    /// `invalid_request`); the answer's body is a JSON-RPC error ([`McpRejection::code`]).
    InvalidMcpMessage {
        /// Why.
        why: McpRejection,
        /// The `id` of the lone request, as JSON text, when it could be read.
        id: Option<String>,
    },
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

    /// A stable machine-readable reason code saying which check failed, for logs and metrics:
    /// `missing_token`, `invalid_path`, the [`InvalidToken::reason`] of a refused token,
    /// `insufficient_scope`, `route_denied`, `keys_unavailable`, ...
    ///
    /// ```
    /// use jwt_core::{AuthError, InvalidToken};
    /// assert_eq!(AuthError::from(InvalidToken::InvalidAudience).reason(), "invalid_audience");
    /// ```
    pub fn reason(&self) -> &'static str {
        match &self.kind {
            AuthErrorKind::MissingToken(_) => "missing_token",
            AuthErrorKind::UnsupportedScheme => "unsupported_scheme",
            AuthErrorKind::InvalidRequest(_) => "invalid_request",
            AuthErrorKind::InvalidPath(_) => "invalid_path",
            AuthErrorKind::InvalidToken(reason) => reason.reason(),
            AuthErrorKind::InsufficientScope { .. } => "insufficient_scope",
            AuthErrorKind::AccessDenied { .. } => "resource_denied",
            AuthErrorKind::RouteDenied => "route_denied",
            AuthErrorKind::Unavailable => "keys_unavailable",
            AuthErrorKind::NotAuthenticated => "not_authenticated",
            AuthErrorKind::InvalidDpopProof(why) => why.reason(),
            AuthErrorKind::UseDpopNonce(_) => "use_dpop_nonce",
            AuthErrorKind::StoreUnavailable => "store_unavailable",
            AuthErrorKind::Misconfigured(_) => "misconfigured",
            AuthErrorKind::InvalidMcpMessage { why, .. } => why.reason(),
        }
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
        match self.kind {
            AuthErrorKind::InvalidRequest(_)
            | AuthErrorKind::InvalidPath(_)
            | AuthErrorKind::InvalidMcpMessage { .. } => 400,
            AuthErrorKind::MissingToken(_)
            | AuthErrorKind::UnsupportedScheme
            | AuthErrorKind::NotAuthenticated
            | AuthErrorKind::InvalidToken(_)
            | AuthErrorKind::InvalidDpopProof(_)
            | AuthErrorKind::UseDpopNonce(_) => 401,
            AuthErrorKind::InsufficientScope { .. }
            | AuthErrorKind::AccessDenied { .. }
            | AuthErrorKind::RouteDenied => 403,
            AuthErrorKind::Unavailable | AuthErrorKind::StoreUnavailable => 503,
            AuthErrorKind::Misconfigured(_) => 500,
        }
    }

    /// The gRPC status of this refusal, for a gRPC request: 400 is `INVALID_ARGUMENT`, 401
    /// `UNAUTHENTICATED`, 403 `PERMISSION_DENIED`, 503 `UNAVAILABLE`.
    ///
    /// ```
    /// use jwt_core::{AuthError, AuthErrorKind, GrpcCode, InvalidToken};
    /// assert_eq!(AuthError::from(InvalidToken::Expired).grpc_code(), GrpcCode::Unauthenticated);
    /// assert_eq!(GrpcCode::Unauthenticated.code(), 16);
    /// assert_eq!(AuthError::new(AuthErrorKind::RouteDenied).grpc_code().code(), 7);
    /// ```
    pub fn grpc_code(&self) -> GrpcCode {
        match self.status() {
            400 => GrpcCode::InvalidArgument,
            401 => GrpcCode::Unauthenticated,
            403 => GrpcCode::PermissionDenied,
            503 => GrpcCode::Unavailable,
            500 => GrpcCode::Internal,
            _ => GrpcCode::Unknown,
        }
    }

    /// The RFC 6750 error code, if any (`invalid_request`, `invalid_token`, `insufficient_scope`),
    /// or RFC 9449's (`invalid_dpop_proof`, `use_dpop_nonce`).
    pub fn error_code(&self) -> Option<&'static str> {
        match self.kind {
            AuthErrorKind::InvalidDpopProof(_) => Some("invalid_dpop_proof"),
            AuthErrorKind::UseDpopNonce(_) => Some("use_dpop_nonce"),
            AuthErrorKind::InvalidRequest(_)
            | AuthErrorKind::InvalidPath(_)
            | AuthErrorKind::InvalidMcpMessage { .. } => Some("invalid_request"),
            AuthErrorKind::InvalidToken(_) => Some("invalid_token"),
            AuthErrorKind::InsufficientScope { .. }
            | AuthErrorKind::AccessDenied { .. }
            | AuthErrorKind::RouteDenied => Some("insufficient_scope"),
            AuthErrorKind::MissingToken(_)
            | AuthErrorKind::UnsupportedScheme
            | AuthErrorKind::NotAuthenticated
            | AuthErrorKind::Unavailable
            | AuthErrorKind::StoreUnavailable
            | AuthErrorKind::Misconfigured(_) => None,
        }
    }

    /// The human-readable `detail` of the JSON body.
    pub fn detail(&self) -> Cow<'_, str> {
        match &self.kind {
            AuthErrorKind::MissingToken(msg) => Cow::Borrowed(msg),
            AuthErrorKind::UnsupportedScheme => {
                Cow::Borrowed("Unsupported authorization scheme: expected Bearer")
            }
            AuthErrorKind::InvalidRequest(msg) => Cow::Borrowed(msg),
            AuthErrorKind::InvalidPath(why) => Cow::Owned(format!("Invalid request path: {why}")),
            AuthErrorKind::RouteDenied => Cow::Borrowed("Access denied: route not permitted"),
            AuthErrorKind::InvalidToken(reason) => Cow::Owned(reason.to_string()),
            AuthErrorKind::InsufficientScope { required } if required.is_empty() => {
                Cow::Borrowed("Insufficient permissions")
            }
            AuthErrorKind::InsufficientScope { required } => Cow::Owned(format!(
                "Insufficient permissions. Required scope(s): {}",
                required.join(", ")
            )),
            AuthErrorKind::AccessDenied { action, noun, .. } => {
                Cow::Owned(format!("Access denied to {action} this {noun}"))
            }
            AuthErrorKind::Unavailable => {
                Cow::Borrowed("Authentication is temporarily unavailable")
            }
            AuthErrorKind::NotAuthenticated => Cow::Borrowed("Not authenticated"),
            AuthErrorKind::InvalidDpopProof(why) => {
                Cow::Owned(format!("Invalid DPoP proof: {why}"))
            }
            AuthErrorKind::UseDpopNonce(_) => {
                Cow::Borrowed("A DPoP proof with the server nonce is required")
            }
            AuthErrorKind::StoreUnavailable => {
                Cow::Borrowed("Authentication is temporarily unavailable")
            }
            AuthErrorKind::Misconfigured(_) => Cow::Borrowed("Authentication is misconfigured"),
            AuthErrorKind::InvalidMcpMessage { why, .. } => {
                Cow::Owned(format!("Invalid MCP message: {why}"))
            }
        }
    }

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

    /// The `WWW-Authenticate` value (RFC 6750 §3), or `None` for a 503 or 500.
    pub fn www_authenticate_value(&self) -> Option<String> {
        if matches!(self.status(), 500 | 503) {
            return None;
        }
        Some(self.www_authenticate())
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3). Every parameter is header-safe.
    ///
    /// With DPoP on (RFC 9449 §7.1), a refusal of a request sent with the `DPoP` scheme (and
    /// every refusal when DPoP is required) is a `DPoP` challenge (`DPoP error="...",
    /// error_description="...", algs="..."`); otherwise the `Bearer` challenge is followed by
    /// `DPoP algs="..."`, so a client learns it may use either.
    pub fn www_authenticate(&self) -> String {
        let dpop = self.style.as_ref().and_then(|s| s.dpop.as_ref());
        let dpop_error = matches!(
            self.kind,
            AuthErrorKind::InvalidDpopProof(_) | AuthErrorKind::UseDpopNonce(_)
        );
        let mut out = match dpop {
            Some(d) if self.dpop_scheme || dpop_error || d.required => {
                let mut out = String::from("DPoP ");
                self.push_error_params(&mut out);
                if !out.ends_with(' ') {
                    out.push_str(", ");
                }
                out.push_str(&format!("algs=\"{}\"", header_safe(&d.algs)));
                out
            }
            _ => {
                let mut out = format!("Bearer realm=\"{}\"", header_safe(&self.realm));
                let at = out.len();
                self.push_error_params(&mut out);
                if out.len() > at {
                    out.insert_str(at, ", ");
                }
                out
            }
        };
        if let Some(url) = self
            .style
            .as_ref()
            .and_then(|s| s.resource_metadata.as_deref())
        {
            out.push_str(&format!(", resource_metadata=\"{}\"", header_safe(url)));
        }
        if let Some(d) = dpop
            && out.starts_with("Bearer ")
        {
            out.push_str(&format!(", DPoP algs=\"{}\"", header_safe(&d.algs)));
        }
        out
    }

    /// `error`, `error_description` and `scope`, comma-separated (nothing when none apply).
    fn push_error_params(&self, out: &mut String) {
        let mut params: Vec<String> = Vec::new();
        if let Some(code) = self.error_code() {
            params.push(format!("error=\"{code}\""));
        }
        match &self.kind {
            AuthErrorKind::InvalidToken(reason) => {
                params.push(format!("error_description=\"{}\"", reason.description()));
            }
            AuthErrorKind::InvalidDpopProof(why) => {
                params.push(format!("error_description=\"{}\"", why.description()));
            }
            AuthErrorKind::UseDpopNonce(_) => {
                params.push("error_description=\"nonce required\"".to_owned());
            }
            AuthErrorKind::InvalidRequest(msg) => {
                params.push(format!("error_description=\"{}\"", header_safe(msg)));
            }
            AuthErrorKind::InvalidPath(_) => {
                params.push("error_description=\"invalid request path\"".to_owned());
            }
            AuthErrorKind::InvalidMcpMessage { .. } => {
                params.push("error_description=\"invalid MCP message\"".to_owned());
            }
            AuthErrorKind::InsufficientScope { required } if !required.is_empty() => {
                params.push(format!("scope=\"{}\"", header_safe(&required.join(" "))));
            }
            AuthErrorKind::AccessDenied { required, .. } => {
                params.push(format!("scope=\"{}\"", header_safe(required)));
            }
            _ => {}
        }
        if let Some(hint) = &self.scope_hint
            && !params.iter().any(|p| p.starts_with("scope="))
        {
            params.push(format!("scope=\"{}\"", header_safe(&hint.0)));
        }
        out.push_str(&params.join(", "));
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

/// Keeps only the characters RFC 6750 §3 allows in a quoted auth-param
/// (`%x20-21 / %x23-5B / %x5D-7E`); anything else becomes `?`.
fn header_safe(s: &str) -> Cow<'_, str> {
    let ok = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    if s.chars().all(ok) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().map(|c| if ok(c) { c } else { '?' }).collect())
    }
}

/// What is wrong with a [`crate::Dpop`] configuration.
///
/// ```
/// use jwt_core::{ConfigError, DpopConfigError, Dpop, JwtAuth, StaticKeys};
/// let err = JwtAuth::builder().dangerous_any_issuer()
///     .verifier(StaticKeys::hs256([7u8; 32])?)
///     .dpop(Dpop::allowed())
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, ConfigError::Dpop(DpopConfigError::NoOrigin)));
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopConfigError {
    /// Neither an `htu` origin nor a protected resource was configured: the request's public
    /// URL would be a guess.
    #[error("no origin for htu checks: set Dpop::origin or a protected resource")]
    NoOrigin,
    /// The origin is not an absolute `http(s)` URL without query (or the `Host` scheme is not
    /// `http` / `https`).
    #[error("invalid htu origin {0:?}")]
    BadOrigin(String),
    /// No proof algorithm is allowed.
    #[error("no proof algorithm allowed")]
    NoAlgorithms,
    /// A symmetric algorithm cannot sign proofs (the key is public).
    #[error("proof algorithm {0:?} is not asymmetric")]
    SymmetricAlgorithm(jsonwebtoken::Algorithm),
    /// The nonce secret is shorter than 32 bytes.
    #[error("nonce secret shorter than 32 bytes")]
    WeakNonceSecret,
    /// A duration that must be positive is zero.
    #[error("{0} must be at least one second")]
    ZeroDuration(&'static str),
    /// The proof lifetime or clock skew is above its maximum
    /// ([`crate::MAX_DPOP_PROOF_LIFETIME`], [`crate::MAX_DPOP_CLOCK_SKEW`]).
    #[error("proof lifetime above 300 s or clock skew above 60 s")]
    TooLong,
}

/// A configuration mistake found while building keys, verifiers or the middleware. Never a panic,
/// never a silent default.
///
/// ```
/// use jwt_core::{ConfigError, StaticKeys};
/// let err = StaticKeys::hs256(b"too short").unwrap_err();
/// assert!(matches!(err, ConfigError::WeakHmacSecret { min: 32, .. }));
/// ```
///
/// It is the one configuration error type: the more specific build-time errors
/// ([`ClaimPathError`], and with `remote-jwks` `RemoteConfigError`) convert into it, so one `?`
/// handles every setup step.
///
/// ```
/// use jwt_core::{ClaimPath, ConfigError, JwtAuth, StandardClaims, StaticKeys};
/// fn setup() -> Result<JwtAuth, ConfigError> {
///     let roles: ClaimPath = "/realm_access/roles".parse()?; // ClaimPathError -> ConfigError
///     JwtAuth::builder().dangerous_any_issuer()
///         .verifier(StaticKeys::hs256(b"an-hs256-secret-of-at-least-32-bytes!")?)
///         .claims(StandardClaims::default())
///         .build()
///         .map(|auth| { let _ = roles; auth })
/// }
/// assert!(setup().is_ok());
/// let bad: Result<ClaimPath, ConfigError> = "realm_access".parse::<ClaimPath>().map_err(Into::into).and_then(|_| "/a//b".parse::<ClaimPath>().map_err(Into::into));
/// assert!(matches!(bad, Err(ConfigError::ClaimPath(_))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A DPoP setting that cannot work ([`crate::Dpop`]).
    #[error("DPoP: {0}")]
    Dpop(#[from] DpopConfigError),
    /// A protected resource identifier (RFC 9728) that cannot be served.
    #[error("protected resource {resource:?}: {why}")]
    InvalidProtectedResource {
        /// The identifier as configured.
        resource: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// No key, JWKS or verifier was configured.
    #[error(
        "no verification key source configured (keys, JWKS file, JWKS, or JWT_VERIFICATION_KEY / JWT_JWKS_FILE / JWT_JWKS)"
    )]
    NoKeySource,
    /// An HMAC secret is shorter than the hash output (RFC 7518 §3.2).
    #[error("HMAC secret for {alg} is {len} bytes; at least {min} are required")]
    WeakHmacSecret {
        /// The algorithm.
        alg: &'static str,
        /// The secret's length.
        len: usize,
        /// The minimum length.
        min: usize,
    },
    /// An RSA key is shorter than 2048 bits.
    #[error("RSA key has {bits} bits; at least 2048 are required")]
    WeakRsaKey {
        /// The modulus size in bits.
        bits: usize,
    },
    /// Key material could not be parsed.
    #[error("invalid {what} key: {reason}")]
    InvalidKey {
        /// What kind of key was expected.
        what: &'static str,
        /// Our description of the problem.
        reason: &'static str,
    },
    /// A key does not fit the algorithm it was configured with.
    #[error("key type does not match algorithm {alg}")]
    KeyAlgorithmMismatch {
        /// The algorithm.
        alg: &'static str,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A JWKS document is not valid JSON or not a `{"keys": [...]}` object.
    #[error("invalid JWKS{}: {reason}", origin.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    InvalidJwks {
        /// The file it came from, if any.
        origin: Option<PathBuf>,
        /// Our description of the problem.
        reason: String,
    },
    /// A single JWK cannot be used.
    #[error("invalid JWK: {0}")]
    InvalidJwk(JwkRejection),
    /// A JWKS holds no usable verification key.
    #[error("JWKS has no usable verification key")]
    EmptyJwks,
    /// HMAC and asymmetric algorithms were mixed in one key set (algorithm-confusion risk).
    #[error("one key set mixes HMAC and asymmetric algorithms")]
    MixedAlgorithmFamilies,
    /// Leeway above the allowed maximum.
    #[error("leeway of {0} s is out of range (0..={max} s)", max = crate::limits::MAX_LEEWAY_SECS)]
    LeewayOutOfRange(u64),
    /// A maximum token length of zero or absurd size.
    #[error("max token length {0} is out of range (1..=1048576)")]
    MaxTokenLengthOutOfRange(usize),
    /// A route pattern or scope template is invalid.
    #[error("invalid route {route:?}: {reason}")]
    InvalidRoute {
        /// The entry as written.
        route: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A route names a method that is not an HTTP method this table knows (`GTE /orders`).
    #[error("invalid route {route:?}: unknown HTTP method{}; write GET, POST, PUT, PATCH, DELETE, OPTIONS, QUERY, a WebDAV method, or '*' for every method", suggestion.map(|m| format!(" (did you mean {m}?)")).unwrap_or_default())]
    UnknownMethod {
        /// The entry as written (method upper-cased).
        route: String,
        /// The known method it most likely misspells.
        suggestion: Option<&'static str>,
    },
    /// A scope template names a path parameter the route does not have, or is malformed.
    #[error("invalid scope {scope:?} for route {route:?}: {reason}")]
    InvalidScopeTemplate {
        /// The route.
        route: String,
        /// The scope as written.
        scope: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An environment variable holds an unusable value.
    #[error("environment variable {var}: {reason}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An empty API key list or an empty key.
    #[error("API keys must be non-empty")]
    EmptyApiKey,
    /// Nothing checks the issuer: no [`crate::JwtAuthBuilder::issuer`], a verifier that does not
    /// pin one (a shared secret, static keys, a fixed JWKS), and no explicit
    /// [`crate::JwtAuthBuilder::dangerous_any_issuer`].
    #[error(
        "no issuer check: call .issuer(\"https://your-idp\") with the issuer your tokens carry, or .dangerous_any_issuer() if the keys alone identify it"
    )]
    NoIssuerCheck,
    /// A configured claim name, audience or issuer is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A claim path or scope prefix (see [`ClaimPathError`]).
    #[error(transparent)]
    ClaimPath(#[from] ClaimPathError),
    /// A remote key source's configuration (see [`RemoteConfigError`]), feature `remote-jwks`.
    #[cfg(feature = "remote-jwks")]
    #[error(transparent)]
    Remote(#[from] RemoteConfigError),
}

/// Why a shared store could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store holds as many live entries as it may (in-memory stores are bounded).
    #[error("store full")]
    Full,
    /// The store did not answer within its timeout.
    #[error("store timed out")]
    Timeout,
    /// The store is unreachable or refused the command.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// Why [`crate::AuthContext::revoke`] revoked nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevokeError {
    /// The middleware has no revocation check ([`crate::Revocation`] or
    /// [`crate::JtiDenylist`] added with [`crate::JwtAuthBuilder::check`]), so a revoked token
    /// would still be accepted.
    #[error(
        "no revocation check is configured: add a Revocation or JtiDenylist with JwtAuthBuilder::check"
    )]
    NotConfigured,
    /// The token has no string `jti` to revoke it by (revoke its session or subject instead:
    /// [`crate::Revocation::revoke_issued_before`]).
    #[error("the token has no jti to revoke it by")]
    NoTokenId,
    /// The store could not record the revocation.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why one JWK of a set was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkRejection {
    /// Not a JSON object with the members a JWK of its type needs.
    #[error("malformed JWK")]
    Malformed,
    /// `kty`, `crv` or `alg` is not one we verify with (e.g. `RSA-OAEP`, `P-521`, `Ed448`).
    #[error("unsupported key type, curve or algorithm")]
    Unsupported,
    /// `use` or `key_ops` forbid signature verification.
    #[error("key is not for signature verification")]
    WrongUse,
    /// `alg` does not fit the key type or curve.
    #[error("algorithm does not match the key")]
    AlgorithmMismatch,
    /// The key carries private members.
    #[error("private key material in a verification key set")]
    PrivateMaterial,
    /// The key is refused by our policy (short secret, small RSA modulus, bad point).
    #[error("{0}")]
    Refused(String),
}

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

/// Why a claim path or a scope prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimPathError {
    /// The path is empty (`""`, or a JSON pointer `/` naming the empty member).
    #[error("a claim path must name at least one member")]
    Empty,
    /// A JSON pointer without its leading `/`.
    #[error("JSON pointer {path:?} must start with '/'")]
    NotAPointer {
        /// The path as written.
        path: String,
    },
    /// A member name in the path is empty (`a..b`, `/a//b`, `.a`).
    #[error("claim path {path:?} has an empty member name")]
    EmptySegment {
        /// The path as written.
        path: String,
    },
    /// A JSON pointer with `~` not followed by `0` or `1` (RFC 6901 §3).
    #[error("JSON pointer {path:?}: '~' must be followed by '0' or '1'")]
    BadEscape {
        /// The path as written.
        path: String,
    },
    /// A scope prefix with characters no scope-token holds (whitespace, control or non-ASCII
    /// characters, `"`, `\`): every scope it produced would grant nothing.
    #[error("scope prefix {prefix:?} is not made of RFC 6749 scope-token characters")]
    InvalidPrefix {
        /// The prefix as written.
        prefix: String,
    },
}

/// A mistake in a remote key source's configuration, found when it is built.
///
/// ```
/// use jwt_core::{RemoteConfigError, RemoteJwks};
/// let err = RemoteJwks::new("http://idp.example.com/jwks").unwrap_err();
/// assert!(matches!(err, RemoteConfigError::InsecureUrl { .. }));
/// assert!(RemoteJwks::new("http://127.0.0.1:8080/jwks").is_ok()); // loopback may be plain http
/// ```
#[cfg(feature = "remote-jwks")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteConfigError {
    /// The URL does not parse, or has a part it must not have (fragment, query for an issuer).
    #[error("invalid {what} URL {url:?}: {reason}")]
    InvalidUrl {
        /// Which URL (`JWKS`, `issuer`).
        what: &'static str,
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Not `https` (plain `http` is only allowed for loopback addresses).
    #[error("{what} URL {url:?} must use https (plain http only for loopback addresses)")]
    InsecureUrl {
        /// Which URL.
        what: &'static str,
        /// The URL as given.
        url: String,
    },
    /// The URL carries a user name or password.
    #[error("{what} URL must not contain credentials")]
    CredentialsInUrl {
        /// Which URL.
        what: &'static str,
    },
    /// A setting is out of range.
    #[error("{setting}: {reason}")]
    InvalidSetting {
        /// The builder method.
        setting: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// An issuer was given twice to [`crate::Issuers`].
    #[error("issuer {0:?} is configured twice")]
    DuplicateIssuer(String),
    /// An empty issuer name.
    #[error("issuer must not be empty")]
    EmptyIssuer,
}

/// Why an MCP request body is refused (400, with a JSON-RPC error body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum McpRejection {
    /// The body is not JSON (JSON-RPC `-32700`).
    #[error("the body is not JSON")]
    NotJson,
    /// The body is JSON but not a JSON-RPC 2.0 message or batch of them (`-32600`).
    #[error("the body is not a JSON-RPC 2.0 message")]
    NotJsonRpc,
    /// An empty batch (`-32600`).
    #[error("the batch is empty")]
    EmptyBatch,
    /// A member the decision reads (in a message or its `params`) appears twice (`-32600`).
    #[error("a member appears twice")]
    DuplicateMember,
    /// A method whose target the decision reads has no string `name` / `uri` (`-32602`).
    #[error("the target's name or uri is missing")]
    MissingTarget,
    /// The body is larger than the endpoint's bound (`-32600`).
    #[error("the body is too large")]
    TooLarge,
    /// The body could not be read (`-32600`).
    #[error("the body could not be read")]
    Unreadable,
    /// The `Mcp-Method` or `Mcp-Name` header disagrees with the body (`-32020`).
    #[error("the Mcp-Method or Mcp-Name header does not match the body")]
    HeaderMismatch,
}

impl McpRejection {
    /// The JSON-RPC error code of the answer.
    ///
    /// ```
    /// assert_eq!(jwt_core::McpRejection::NotJson.code(), -32700);
    /// assert_eq!(jwt_core::McpRejection::HeaderMismatch.code(), -32020);
    /// ```
    pub fn code(self) -> i32 {
        match self {
            McpRejection::NotJson => -32700,
            McpRejection::MissingTarget => -32602,
            McpRejection::HeaderMismatch => -32020,
            McpRejection::NotJsonRpc
            | McpRejection::EmptyBatch
            | McpRejection::DuplicateMember
            | McpRejection::TooLarge
            | McpRejection::Unreadable => -32600,
        }
    }

    /// The reason code in logs and metrics (`mcp_not_json`, ...).
    pub fn reason(self) -> &'static str {
        match self {
            McpRejection::NotJson => "mcp_not_json",
            McpRejection::NotJsonRpc => "mcp_not_jsonrpc",
            McpRejection::EmptyBatch => "mcp_empty_batch",
            McpRejection::DuplicateMember => "mcp_duplicate_member",
            McpRejection::MissingTarget => "mcp_missing_target",
            McpRejection::TooLarge => "mcp_body_too_large",
            McpRejection::Unreadable => "mcp_body_unreadable",
            McpRejection::HeaderMismatch => "mcp_header_mismatch",
        }
    }
}
