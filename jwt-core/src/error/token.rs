//! Why a token was refused: each reason with its message, its code and its challenge
//! description.

/// Why a token was refused. Every variant renders a fixed message of ours: no text from a library
/// ever reaches a client.
///
/// ```
/// use jwt_core::InvalidToken;
/// assert_eq!(InvalidToken::Expired.to_string(), "Token has expired");
/// assert_eq!(InvalidToken::Expired.description(), "token expired");
/// assert_eq!(InvalidToken::UnknownKey.reason(), "unknown_key");
/// ```
///
/// Each variant carries the message the client reads; its reason code (logs, metrics) and the
/// challenge's `error_description` are declared once, in one table (`facts`).
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
    /// The authorization server says the token is not active (RFC 7662: revoked, expired,
    /// unknown, or an answer whose `active` is not the boolean `true`).
    #[error("Token is not active")]
    Inactive,
    /// The token was revoked (a per-request check such as [`crate::JtiDenylist`]).
    #[error("Token has been revoked")]
    Revoked,
    /// The token is bound to a key (`cnf`: DPoP `jkt` (RFC 9449), mTLS `x5t#S256` (RFC 8705),
    /// RFC 7800): presented as a plain bearer token, without the proof its binding demands, it is
    /// refused, as a stolen one would be.
    #[error("Invalid token: the token is bound to a key and was sent without proof")]
    SenderConstrained,
    /// The token is bound to a client certificate (`cnf.x5t#S256`, RFC 8705) and the connection
    /// presented none.
    #[error("Invalid token: the token is bound to a client certificate and none was presented")]
    CertificateRequired,
    /// The connection's client certificate is not the one the token is bound to.
    #[error("Invalid token: the client certificate does not match the token's binding")]
    CertificateMismatch,
    /// Mutual TLS is required ([`crate::MtlsMode::Required`]) and the token is not bound to a
    /// certificate.
    #[error("Invalid token: a certificate-bound token is required")]
    CertificateBindingRequired,
    /// Sent with the `DPoP` scheme, but the token carries no DPoP key binding (`cnf.jkt`).
    #[error("Invalid token: the token is not bound to a DPoP key")]
    NotDpopBound,
    /// DPoP is required ([`crate::DpopMode::Required`]) and the token came as a plain bearer.
    #[error("Invalid token: a DPoP-bound token and proof are required")]
    DpopRequired,
}

impl InvalidToken {
    /// Each reason's facts, declared once per variant: its reason code (logs, metrics) and the
    /// challenge's `error_description` (the message the client reads is on the variant).
    fn facts(&self) -> (&'static str, &'static str) {
        match self {
            Self::TooLong => ("token_too_long", "token too long"),
            Self::Malformed => ("malformed", "malformed token"),
            Self::DuplicateMember => ("duplicate_member", "duplicate member"),
            Self::ClaimsNotObject => ("claims_not_object", "claims not an object"),
            Self::AlgorithmNotAllowed => ("algorithm_not_allowed", "algorithm not allowed"),
            Self::AlgNone => ("alg_none", "algorithm not allowed"),
            Self::UnsupportedHeader => ("unsupported_header", "unsupported header parameter"),
            Self::UnknownKey => ("unknown_key", "no matching key"),
            Self::BadSignature => ("bad_signature", "invalid signature"),
            Self::Expired => ("expired", "token expired"),
            Self::NotYetValid => ("not_yet_valid", "token not yet valid"),
            Self::IssuedInFuture => ("issued_in_future", "token issued in the future"),
            Self::MissingClaim(_) => ("missing_claim", "missing claim"),
            Self::InvalidClaim(_) => ("invalid_claim", "invalid claim"),
            Self::InvalidAudience => ("invalid_audience", "invalid audience"),
            Self::InvalidIssuer => ("invalid_issuer", "invalid issuer"),
            Self::WrongType => ("wrong_type", "wrong token type"),
            Self::ReservedSubject => ("reserved_subject", "invalid subject"),
            Self::BadApiKey => ("bad_api_key", "invalid token"),
            Self::Inactive => ("inactive", "token not active"),
            Self::Revoked => ("revoked", "token revoked"),
            Self::SenderConstrained => (
                "sender_constrained",
                "sender-constrained token sent as bearer",
            ),
            Self::CertificateRequired => ("certificate_required", "client certificate required"),
            Self::CertificateMismatch => ("certificate_mismatch", "client certificate mismatch"),
            Self::CertificateBindingRequired => (
                "certificate_binding_required",
                "certificate-bound token required",
            ),
            Self::NotDpopBound => ("not_dpop_bound", "token not DPoP-bound"),
            Self::DpopRequired => ("dpop_required", "DPoP required"),
        }
    }

    /// A short, header-safe description: the challenge's `error_description`.
    pub fn description(&self) -> &'static str {
        self.facts().1
    }

    /// A stable machine-readable reason code (`expired`, `unknown_key`, `invalid_audience`,
    /// ...), for logs and metrics.
    pub fn reason(&self) -> &'static str {
        self.facts().0
    }
}
