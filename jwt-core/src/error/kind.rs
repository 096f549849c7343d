//! The kinds of refusal, and each kind's facts declared once: the HTTP status, the RFC 6750 /
//! RFC 9449 error code, the reason code for logs and metrics, the message the client reads
//! (`detail`), and what the challenge says (`error_description`, `scope`). How they are written on
//! the wire (the body, `WWW-Authenticate`, gRPC) is the renderer's ([`crate::render`]).

use std::borrow::Cow;

use super::dpop::DpopRejection;
use super::mcp::McpRejection;
use super::path::PathRejection;
use super::token::InvalidToken;

/// The kind of a refusal ([`crate::AuthError`]). Each kind's facts (status, error code,
/// reason code, the client's message and the challenge's parameters) are declared together, in
/// one table below the enum.
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
    /// The route demands a stronger or more recent authentication than the token's (401
    /// `insufficient_user_authentication`, RFC 9470): the challenge names `acr_values` and
    /// `max_age` for the client to obtain a new token with.
    InsufficientUserAuthentication {
        /// The `acr` values the route accepts (empty: any).
        acr_values: Vec<String>,
        /// The most seconds since `auth_time` the route accepts.
        max_age: Option<u64>,
    },
    /// The route's delegation rules refuse the call (403 `insufficient_scope`, RFC 8693
    /// actors); `reason` is `actor_required`, `actor_forbidden` or `actor_not_allowed`.
    ActorDenied {
        /// Why, as a reason code.
        reason: &'static str,
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

/// The facts of one kind of refusal, declared once per kind in the table below.
macro_rules! facts {
    ($(
        $kind:pat => {
            status: $status:expr,
            code: $code:expr,
            reason: $reason:expr,
            detail: $detail:expr,
            description: $description:expr,
            scope: $scope:expr $(,)?
        }
    ),+ $(,)?) => {
        // A kind's facts may use some of its fields and not others.
        #[allow(unused_variables)]
        impl AuthErrorKind {
            /// The HTTP status: 400, 401, 403, 503, or 500 for a misconfigured adapter.
            pub(crate) fn status(&self) -> u16 {
                match self { $($kind => $status,)+ }
            }

            /// The RFC 6750 / RFC 9449 error code of the challenge, if any.
            pub(crate) fn error_code(&self) -> Option<&'static str> {
                match self { $($kind => $code,)+ }
            }

            /// The reason code in logs and metrics.
            pub(crate) fn reason(&self) -> &'static str {
                match self { $($kind => $reason,)+ }
            }

            /// The message the client reads.
            pub(crate) fn detail(&self) -> Cow<'_, str> {
                match self { $($kind => Cow::from($detail),)+ }
            }

            /// The challenge's `error_description`, if it has one.
            pub(crate) fn description(&self) -> Option<&'static str> {
                match self { $($kind => $description,)+ }
            }

            /// The challenge's `scope`: what the refused request needs, if the kind says.
            pub(crate) fn scope(&self) -> Option<Cow<'_, str>> {
                match self { $($kind => $scope,)+ }
            }
        }
    };
}

facts! {
    AuthErrorKind::MissingToken(message) => {
        status: 401, code: None, reason: "missing_token",
        detail: &**message, description: None, scope: None,
    },
    AuthErrorKind::UnsupportedScheme => {
        status: 401, code: None, reason: "unsupported_scheme",
        detail: "Unsupported authorization scheme: expected Bearer", description: None, scope: None,
    },
    AuthErrorKind::InvalidRequest(message) => {
        status: 400, code: Some("invalid_request"), reason: "invalid_request",
        detail: *message, description: Some(*message), scope: None,
    },
    AuthErrorKind::InvalidPath(why) => {
        status: 400, code: Some("invalid_request"), reason: "invalid_path",
        detail: format!("Invalid request path: {why}"), description: Some("invalid request path"),
        scope: None,
    },
    AuthErrorKind::InvalidToken(why) => {
        status: 401, code: Some("invalid_token"), reason: why.reason(),
        detail: why.to_string(), description: Some(why.description()), scope: None,
    },
    AuthErrorKind::InsufficientScope { required } => {
        status: 403, code: Some("insufficient_scope"), reason: "insufficient_scope",
        detail: if required.is_empty() {
            Cow::Borrowed("Insufficient permissions")
        } else {
            Cow::Owned(format!("Insufficient permissions. Required scope(s): {}", required.join(", ")))
        },
        description: None,
        scope: (!required.is_empty()).then(|| Cow::Owned(required.join(" "))),
    },
    AuthErrorKind::AccessDenied { action, noun, required } => {
        status: 403, code: Some("insufficient_scope"), reason: "resource_denied",
        detail: format!("Access denied to {action} this {noun}"), description: None,
        scope: Some(Cow::Borrowed(required.as_str())),
    },
    AuthErrorKind::InsufficientUserAuthentication { .. } => {
        status: 401, code: Some("insufficient_user_authentication"),
        reason: "insufficient_user_authentication",
        detail: "A stronger or more recent authentication is required",
        description: Some("a stronger or more recent authentication is required"), scope: None,
    },
    AuthErrorKind::ActorDenied { reason } => {
        status: 403, code: Some("insufficient_scope"), reason: *reason,
        detail: match *reason {
            "actor_required" => "Access denied: this route only accepts a delegated call",
            "actor_forbidden" => "Access denied: this route does not accept a delegated call",
            _ => "Access denied: this actor may not call this route",
        },
        description: None, scope: None,
    },
    AuthErrorKind::RouteDenied => {
        status: 403, code: Some("insufficient_scope"), reason: "route_denied",
        detail: "Access denied: route not permitted", description: None, scope: None,
    },
    AuthErrorKind::Unavailable => {
        status: 503, code: None, reason: "keys_unavailable",
        detail: "Authentication is temporarily unavailable", description: None, scope: None,
    },
    AuthErrorKind::NotAuthenticated => {
        status: 401, code: None, reason: "not_authenticated",
        detail: "Not authenticated", description: None, scope: None,
    },
    AuthErrorKind::InvalidDpopProof(why) => {
        status: 401, code: Some("invalid_dpop_proof"), reason: why.reason(),
        detail: format!("Invalid DPoP proof: {why}"), description: Some(why.description()),
        scope: None,
    },
    AuthErrorKind::UseDpopNonce(_) => {
        status: 401, code: Some("use_dpop_nonce"), reason: "use_dpop_nonce",
        detail: "A DPoP proof with the server nonce is required",
        description: Some("nonce required"), scope: None,
    },
    AuthErrorKind::StoreUnavailable => {
        status: 503, code: None, reason: "store_unavailable",
        detail: "Authentication is temporarily unavailable", description: None, scope: None,
    },
    AuthErrorKind::Misconfigured(_) => {
        status: 500, code: None, reason: "misconfigured",
        detail: "Authentication is misconfigured", description: None, scope: None,
    },
    AuthErrorKind::InvalidMcpMessage { why, .. } => {
        status: 400, code: Some("invalid_request"), reason: why.reason(),
        detail: format!("Invalid MCP message: {why}"), description: Some("invalid MCP message"),
        scope: None,
    },
}

impl From<InvalidToken> for AuthErrorKind {
    fn from(reason: InvalidToken) -> Self {
        AuthErrorKind::InvalidToken(reason)
    }
}
