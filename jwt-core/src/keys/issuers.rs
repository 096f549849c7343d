//! Several issuers at once (cargo feature `remote-jwks`): the token's `iss` picks the issuer's
//! own verifier, so each issuer's keys only ever verify that issuer's tokens (RFC 8725 §3.8,
//! per-issuer key sets, no shared key pool).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::InvalidToken;
use crate::keys::remote::{RemoteConfigError, RemoteJwks};
use crate::keys::verifier::{Verified, Verifier, VerifyError};
use crate::token::jose;

/// A [`Verifier`] over several issuers. The token's (still unverified) `iss` only chooses the
/// verifier; that verifier's keys must then verify the token, and the verified `iss` must be the
/// issuer it was chosen for. A token claiming issuer A but signed with issuer B's key is refused;
/// a token of an unknown issuer is refused (401) without any network access.
///
/// ```no_run
/// use jwt_core::{Issuers, JwtAuth, RemoteJwks};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let issuers = Issuers::new()
///     .discover("https://login.example.com")?
///     .with(
///         "https://partner.example.org",
///         RemoteJwks::new("https://partner.example.org/keys.json")?,
///     )?;
/// let auth = JwtAuth::builder().dangerous_any_issuer()
///     .verifier(issuers)
///     .audience("https://api.example.com")
///     .build()?;
/// # let _ = auth; Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Issuers {
    by_issuer: HashMap<String, Arc<dyn Verifier>>,
}

impl fmt::Debug for Issuers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.by_issuer.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Issuers").field("issuers", &names).finish()
    }
}

impl Issuers {
    /// No issuers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `issuer`, verified by `verifier` (any verifier: remote, static keys, a file JWKS).
    ///
    /// ```
    /// use jwt_core::{Issuers, StaticKeys};
    /// let issuers = Issuers::new()
    ///     .with("https://a.example", StaticKeys::hs256([1u8; 32])?)?
    ///     .with("https://b.example", StaticKeys::hs256([2u8; 32])?)?;
    /// assert_eq!(issuers.issuers(), ["https://a.example", "https://b.example"]);
    /// assert!(issuers.clone().with("https://a.example", StaticKeys::hs256([3u8; 32])?).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`RemoteConfigError::EmptyIssuer`], [`RemoteConfigError::DuplicateIssuer`].
    pub fn with(
        self,
        issuer: impl Into<String>,
        verifier: impl Verifier + 'static,
    ) -> Result<Self, RemoteConfigError> {
        self.with_shared(issuer, Arc::new(verifier))
    }

    /// As [`Issuers::with`], with a shared verifier.
    ///
    /// # Errors
    /// As [`Issuers::with`].
    pub fn with_shared(
        mut self,
        issuer: impl Into<String>,
        verifier: Arc<dyn Verifier>,
    ) -> Result<Self, RemoteConfigError> {
        let issuer = issuer.into();
        if issuer.is_empty() {
            return Err(RemoteConfigError::EmptyIssuer);
        }
        if self.by_issuer.contains_key(&issuer) {
            return Err(RemoteConfigError::DuplicateIssuer(issuer));
        }
        self.by_issuer.insert(issuer, verifier);
        Ok(self)
    }

    /// Adds `issuer` with [`RemoteJwks::discover`] (default settings).
    ///
    /// # Errors
    /// As [`Issuers::with`] and [`RemoteJwks::discover`].
    pub fn discover(self, issuer: impl Into<String>) -> Result<Self, RemoteConfigError> {
        let issuer = issuer.into();
        let verifier = RemoteJwks::discover(issuer.clone())?;
        self.with(issuer, verifier)
    }

    /// The configured issuers, sorted.
    pub fn issuers(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.by_issuer.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The number of issuers.
    pub fn len(&self) -> usize {
        self.by_issuer.len()
    }

    /// Whether no issuer is configured.
    pub fn is_empty(&self) -> bool {
        self.by_issuer.is_empty()
    }
}

#[async_trait]
impl Verifier for Issuers {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        // Route on the unverified claims; nothing from them is trusted until verified below.
        let compact = jose::split(token, usize::MAX)?;
        let claims = jose::decode_claims(compact.payload_b64)?;
        let issuer = match claims.get("iss") {
            Some(Value::String(iss)) => iss.as_str(),
            None => return Err(InvalidToken::MissingClaim("iss".into()).into()),
            Some(_) => return Err(InvalidToken::InvalidIssuer.into()),
        };
        let Some((name, verifier)) = self.by_issuer.get_key_value(issuer) else {
            return Err(InvalidToken::InvalidIssuer.into());
        };
        let verified = verifier.verify(token).await?;
        match verified.claims.get("iss") {
            Some(Value::String(iss)) if iss == name => Ok(verified),
            _ => Err(InvalidToken::InvalidIssuer.into()),
        }
    }

    fn key_generation(&self) -> u64 {
        // Members' generations only grow, so the sum changes whenever one does.
        self.by_issuer
            .values()
            .fold(0u64, |acc, v| acc.wrapping_add(v.key_generation()))
    }

    /// Every token is verified with its own issuer's keys, `iss` checked after.
    fn pins_issuer(&self) -> bool {
        true
    }
}
