//! The state the middleware keeps beyond one request, which every instance behind a load
//! balancer must agree on: revoked tokens ([`revocation`]) and the DPoP proof replay cache
//! ([`crate::ReplayStore`]). Each set sits behind a trait with an in-memory default; with the
//! `redis` feature, [`crate::RedisStore`] implements both on Redis or Valkey.

use std::fmt;

use crate::error::AuthErrorKind;
use crate::render::AuthError;

pub(crate) mod memory;
pub(crate) mod revocation;

#[cfg(feature = "redis")]
pub(crate) mod redis;

pub use crate::error::StoreError;

/// What a check does when its store cannot answer (down, slow, full).
///
/// ```
/// use jwt_core::FailurePolicy;
/// assert_eq!(FailurePolicy::default(), FailurePolicy::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Refuse the request: 503 with `Retry-After` (default).
    #[default]
    Closed,
    /// Let the request through as if the store had said "fine", with a warning in the log: a
    /// revoked token or a replayed proof passes while the store is down.
    DangerousOpen,
}

impl FailurePolicy {
    /// What a check answers when its store (`store`: "revocation", "DPoP replay") failed with
    /// `error`: 503 when closed, through when open; logged either way.
    pub(crate) fn on_error(self, store: &str, error: &StoreError) -> Result<(), AuthError> {
        match self {
            FailurePolicy::Closed => {
                tracing::warn!(%error, store, "store unavailable: refusing (fail closed)");
                Err(AuthErrorKind::StoreUnavailable.into())
            }
            FailurePolicy::DangerousOpen => {
                tracing::warn!(%error, store, "store unavailable: allowing (fail open)");
                Ok(())
            }
        }
    }
}

impl fmt::Display for FailurePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailurePolicy::Closed => "fail closed",
            FailurePolicy::DangerousOpen => "fail open",
        })
    }
}
