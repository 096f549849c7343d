//! Why a DPoP proof was refused: each reason with its code and description, declared together.

use std::fmt;

/// Why a DPoP proof (RFC 9449 §4.3) was refused: 401 with
/// `WWW-Authenticate: DPoP error="invalid_dpop_proof"`. Every variant renders a fixed message.
///
/// ```
/// use jwt_core::DpopRejection;
/// assert_eq!(DpopRejection::Replayed.description(), "DPoP proof replayed");
/// assert_eq!(DpopRejection::Replayed.reason(), "dpop_replayed");
/// assert_eq!(DpopRejection::Replayed.to_string(), "DPoP proof replayed");
/// ```
///
/// Each variant's facts are declared once, in one table (`facts`): its reason code (logs,
/// metrics) and its description, which is the challenge's `error_description` and, after
/// `Invalid DPoP proof: `, the body's `detail`.
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

impl DpopRejection {
    /// Each reason's facts, declared once per variant: its code (logs, metrics) and its
    /// description.
    fn facts(&self) -> (&'static str, &'static str) {
        match self {
            Self::Missing => ("dpop_missing", "DPoP proof missing"),
            Self::Several => ("dpop_several", "several DPoP proofs"),
            Self::Malformed => ("dpop_malformed", "malformed DPoP proof"),
            Self::WrongType => ("dpop_wrong_type", "DPoP proof type is not dpop+jwt"),
            Self::AlgorithmNotAllowed => (
                "dpop_algorithm_not_allowed",
                "DPoP proof algorithm not allowed",
            ),
            Self::BadKey => ("dpop_bad_key", "DPoP proof key unusable"),
            Self::BadSignature => ("dpop_bad_signature", "DPoP proof signature invalid"),
            Self::MissingClaim => ("dpop_missing_claim", "DPoP proof claim missing"),
            Self::MethodMismatch => ("dpop_htm_mismatch", "DPoP proof htm mismatch"),
            Self::UrlMismatch => ("dpop_htu_mismatch", "DPoP proof htu mismatch"),
            Self::HtuNotAbsolute => ("dpop_htu_invalid", "DPoP proof htu is not an absolute URI"),
            Self::UnknownRequestUrl => ("dpop_unknown_url", "request URL undetermined"),
            Self::Stale => ("dpop_stale", "DPoP proof iat outside the accepted window"),
            Self::AthMismatch => ("dpop_ath_mismatch", "DPoP proof ath mismatch"),
            Self::Replayed => ("dpop_replayed", "DPoP proof replayed"),
            Self::KeyMismatch => ("dpop_key_mismatch", "DPoP key binding mismatch"),
        }
    }

    /// A short, header-safe description used as `error_description` and in the body's
    /// `detail` (after `Invalid DPoP proof: `).
    pub fn description(&self) -> &'static str {
        self.facts().1
    }

    /// A stable machine-readable reason code for logs and metrics (`dpop_replayed`, ...).
    pub fn reason(&self) -> &'static str {
        self.facts().0
    }
}

impl fmt::Display for DpopRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for DpopRejection {}
