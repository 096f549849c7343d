//! [`RemoteJwks`]: the [`Verifier`] over the refresh state machine. A token signed by a cached
//! key is verified without touching the network; a token that a newer key set might cure (an
//! unknown `kid`, an asymmetric algorithm no cached key uses) waits for the one refetch the
//! cooldown allows; no key set at all is 503; a pinned issuer is checked after the signature.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::error::FetchError;
use super::refresh::{RemoteStatus, Shared, Start, wait};
use crate::error::InvalidToken;
use crate::keys::material::{Family, family};
use crate::keys::verifier::{
    Verified, Verifier, VerifyError, check_remembered, pin_issuer, verify_with,
};
use crate::token::jose::{self, HeaderMemo, TokenHeader};

/// A [`Verifier`] backed by a remote JWK Set, from a JWKS URL or through OpenID Connect /
/// RFC 8414 discovery. Cheap to clone (clones share one cache); the background refresh stops when
/// the last clone is dropped.
///
/// Responses: a token signed by a cached key is verified without touching the network; an
/// unknown `kid` triggers at most one refetch per cooldown, then 401; no key set (never fetched,
/// or expired past `max_stale`) gives 503.
///
/// ```no_run
/// use jwt_core::{JwtAuth, RemoteJwks, RouteTable};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Discovery: reads /.well-known/openid-configuration (or RFC 8414's
/// // /.well-known/oauth-authorization-server), then its jwks_uri; `iss` is pinned.
/// let keys = RemoteJwks::discover("https://idp.example.com")?;
/// let auth = JwtAuth::builder().dangerous_any_issuer()
///     .verifier(keys)
///     .audience("https://api.example.com")
///     .scopes(RouteTable::agent_os().build()?)
///     .build()?;
/// # let _ = auth; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    shared: Arc<Shared>,
    /// The issuer `iss` must equal, if pinned.
    issuer: Option<Arc<str>>,
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status();
        f.debug_struct("RemoteJwks")
            .field("source", &self.shared.describe())
            .field("issuer", &self.issuer)
            .field("keys", &status.keys)
            .field("usable", &status.usable)
            .finish_non_exhaustive()
    }
}

impl RemoteJwks {
    /// A verifier over `shared`, pinning `iss` to `issuer` if given. Starts the background
    /// refresh when called inside a tokio runtime.
    pub(super) fn start(shared: Arc<Shared>, issuer: Option<String>) -> Self {
        shared.ensure_refresher();
        Self {
            shared,
            issuer: issuer.map(Arc::from),
        }
    }

    /// The issuer that `iss` is pinned to, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Fetches now (or joins the fetch in flight), ignoring cooldown and backoff; for warming the
    /// cache at startup and for readiness checks.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = jwt_core::RemoteJwks::discover("https://idp.example.com")?;
    /// keys.refresh().await?; // fail fast at startup if the provider is unreachable
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The [`FetchError`] of the fetch.
    pub async fn refresh(&self) -> Result<(), FetchError> {
        let rx = self
            .shared
            .join_or_start(Start::Force)
            .ok_or(FetchError::NoRuntime)?;
        wait(rx, self.shared.wait_limit()).await
    }

    /// A snapshot of the cache.
    ///
    /// ```
    /// let keys = jwt_core::RemoteJwks::new("https://idp.example.com/jwks")?;
    /// assert!(!keys.status().usable); // nothing fetched yet: requests get 503
    /// # Ok::<(), jwt_core::RemoteConfigError>(())
    /// ```
    pub fn status(&self) -> RemoteStatus {
        self.shared.status()
    }

    /// Refuses a verified token whose `iss` is not the pinned issuer.
    fn pin(&self, verified: Verified) -> Result<Verified, VerifyError> {
        pin_issuer(self.issuer(), &verified.claims)?;
        Ok(verified)
    }

    /// The engine's direct path ([`crate::keys::verifier::Direct`]): the header and encoded
    /// payload of a token signed by a cached key; `None` when [`Verifier::verify`] must answer
    /// (no usable key set, or a key a refetch might bring).
    pub(crate) fn check_signature<'t>(
        &self,
        memo: &HeaderMemo,
        token: &'t str,
    ) -> Option<Result<(Arc<TokenHeader>, &'t str), InvalidToken>> {
        let s = &self.shared;
        s.ensure_refresher();
        let set = s.usable_keys()?;
        match check_remembered(&set, memo, token) {
            Err(e) if may_be_rotated(&e, token) => None,
            checked => Some(checked),
        }
    }
}

#[async_trait]
impl Verifier for RemoteJwks {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        let s = &self.shared;
        s.ensure_refresher();
        if let Some(set) = s.usable_keys() {
            return match verify_with(&set, token) {
                Ok(v) => self.pin(v),
                Err(e) if may_be_rotated(&e, token) => {
                    // A key we have never seen: maybe the provider rotated. One refetch per
                    // cooldown, shared by every request that needs it.
                    let Some(rx) = s.join_or_start(Start::UnknownKid) else {
                        return Err(e.into());
                    };
                    let _ = wait(rx, s.wait_limit()).await;
                    match s.usable_keys() {
                        Some(set) => self.pin(verify_with(&set, token)?),
                        None => Err(e.into()),
                    }
                }
                Err(e) => Err(e.into()),
            };
        }
        // No key set: never fetched, or expired past `max_stale`. Refuse malformed tokens without
        // touching the network, then fetch (single-flight, unless backing off).
        jose::split(token, usize::MAX)?;
        let Some(rx) = s.join_or_start(Start::NoKeys) else {
            return Err(VerifyError::Unavailable);
        };
        let _ = wait(rx, s.wait_limit()).await;
        match s.usable_keys() {
            Some(set) => self.pin(verify_with(&set, token)?),
            None => Err(VerifyError::Unavailable),
        }
    }

    /// Changes whenever the served key set changes: a fetched document differs from the last
    /// one (rotation, a key withdrawn), or the set stops (or starts) being served.
    fn key_generation(&self) -> u64 {
        self.shared.key_generation()
    }

    /// With an issuer pinned (always through discovery).
    fn pins_issuer(&self) -> bool {
        self.issuer.is_some()
    }
}

/// Whether a refusal could be cured by a newer key set: an unknown `kid`, or an asymmetric
/// algorithm none of the cached keys uses.
fn may_be_rotated(err: &InvalidToken, token: &str) -> bool {
    match err {
        InvalidToken::UnknownKey => true,
        InvalidToken::AlgorithmNotAllowed => jose::split(token, usize::MAX)
            .is_ok_and(|c| matches!(family(c.header.alg), Family::Rsa | Family::Ec | Family::Ed)),
        _ => false,
    }
}
