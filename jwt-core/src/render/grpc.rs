//! A refusal to a gRPC call: the gRPC status its HTTP status maps to, and the trailers-only
//! response ([`GrpcResponse`]) tonic clients read.

use super::{AuthError, RefusalHeaders};

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

impl AuthError {
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
    refusal: RefusalHeaders,
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
            refusal: RefusalHeaders::new(err),
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
        .chain(self.refusal.iter())
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
