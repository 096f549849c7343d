//! Why a shared store could not answer, and why a revocation revoked nothing.

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
