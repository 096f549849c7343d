//! Revocation shared across instances: [`RevocationStore`] (single tokens by `jti`, and every
//! token whose claim has a value, such as a subject or a session, issued before a time) and
//! [`Revocation`], the per-request check over it with a short-lived local cache of "not
//! revoked" answers and a failure policy.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;

use crate::authz::context::{AuthContext, Revoker};
use crate::clock::now_secs;
use crate::engine::checks::RequestCheck;
use crate::engine::stores::{FailurePolicy, StoreError};
use crate::error::InvalidToken;
use crate::keys::crypto::sha256;
use crate::render::AuthError;

/// What to look up for one token: its `jti`, and the `(claim, value)` pairs whose cut-offs
/// apply to it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RevocationQuery<'a> {
    /// The token's `jti`, if it has one.
    pub jti: Option<&'a str>,
    /// `(claim, value)` pairs, e.g. `("sub", "alice")`, `("session_id", "s-1")`.
    pub claims: &'a [(&'a str, &'a str)],
}

/// What a [`RevocationStore`] knows about a token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationAnswer {
    /// The `jti` is revoked.
    pub jti_revoked: bool,
    /// The latest "issued before" cut-off among the queried claims: tokens with an earlier
    /// `iat` (or none) are revoked.
    pub issued_before: Option<u64>,
}

impl RevocationAnswer {
    /// An answer.
    pub fn new(jti_revoked: bool, issued_before: Option<u64>) -> Self {
        Self {
            jti_revoked,
            issued_before,
        }
    }

    /// Whether this answer revokes a token with these claims: its `jti` is revoked, or a
    /// cut-off is later than its `iat` (a token without `iat` cannot prove its age).
    ///
    /// ```
    /// use jwt_core::RevocationAnswer;
    /// let claims = serde_json::json!({"iat": 100});
    /// let claims = claims.as_object().unwrap();
    /// assert!(RevocationAnswer::new(false, Some(101)).revokes(claims));
    /// assert!(!RevocationAnswer::new(false, Some(100)).revokes(claims));
    /// ```
    pub fn revokes(&self, claims: &serde_json::Map<String, Value>) -> bool {
        self.jti_revoked
            || self.issued_before.is_some_and(|before| {
                claims
                    .get("iat")
                    .and_then(Value::as_f64)
                    .is_none_or(|iat| iat < before as f64)
            })
    }
}

/// Where revocations live: in memory ([`crate::JtiDenylist`]) for one process, in Redis
/// ([`crate::RedisStore`], feature `redis`) or your own store for several.
///
/// Entries expire: a `jti` at `until` (the token's `exp`), a cut-off at `until` (when every
/// token issued before it has expired).
///
/// # Implementing it
///
/// `lookup` answers everything about one token in one round trip: whether its `jti` is revoked
/// and the latest cut-off among its `(claim, value)` pairs; [`RevocationAnswer::revokes`]
/// compares that cut-off with the token's `iat`. Keep the latest cut-off when one is recorded
/// twice, and let entries go after `until`. Answer a [`StoreError`] when the store cannot
/// answer; [`Revocation`]'s [`FailurePolicy`] decides then (503 by default). Give it to
/// [`Revocation::new`], which adds the local "not revoked" memory and the handle to revoke
/// with.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use jwt_core::{Revocation, RevocationAnswer, RevocationQuery, RevocationStore, StoreError};
///
/// /// Revocations in two maps (a stand-in for two database tables).
/// #[derive(Debug, Default)]
/// struct Tables {
///     tokens: Mutex<HashMap<String, u64>>,
///     cutoffs: Mutex<HashMap<(String, String), u64>>,
/// }
///
/// #[async_trait::async_trait]
/// impl RevocationStore for Tables {
///     async fn revoke_token(&self, jti: &str, until: u64) -> Result<(), StoreError> {
///         self.tokens.lock().unwrap().insert(jti.to_owned(), until);
///         Ok(())
///     }
///
///     async fn revoke_issued_before(&self, claim: &str, value: &str, before: u64, _until: u64) -> Result<(), StoreError> {
///         let mut cutoffs = self.cutoffs.lock().unwrap();
///         let latest = cutoffs.entry((claim.to_owned(), value.to_owned())).or_insert(before);
///         *latest = (*latest).max(before);
///         Ok(())
///     }
///
///     async fn lookup(&self, query: RevocationQuery<'_>) -> Result<RevocationAnswer, StoreError> {
///         let jti_revoked = query.jti.is_some_and(|j| self.tokens.lock().unwrap().contains_key(j));
///         let cutoffs = self.cutoffs.lock().unwrap();
///         let latest = query
///             .claims
///             .iter()
///             .filter_map(|(c, v)| cutoffs.get(&((*c).to_owned(), (*v).to_owned())).copied())
///             .max();
///         Ok(RevocationAnswer::new(jti_revoked, latest))
///     }
/// }
///
/// let revocation = Revocation::new(Tables::default());
/// # let _ = revocation;
/// ```
#[async_trait]
pub trait RevocationStore: Send + Sync + fmt::Debug {
    /// Revokes the token `jti` until `until` (Unix seconds).
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot record it.
    async fn revoke_token(&self, jti: &str, until: u64) -> Result<(), StoreError>;

    /// Revokes every token whose `claim` is `value` and whose `iat` is before `before` (or
    /// absent), keeping the latest cut-off, until `until`.
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot record it.
    async fn revoke_issued_before(
        &self,
        claim: &str,
        value: &str,
        before: u64,
        until: u64,
    ) -> Result<(), StoreError>;

    /// Looks a token up (one round trip for a remote store).
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot answer.
    async fn lookup(&self, query: RevocationQuery<'_>) -> Result<RevocationAnswer, StoreError>;
}

/// The per-request revocation check over a [`RevocationStore`], and the handle a handler uses
/// to revoke ([`Revocation::revoke`], [`Revocation::revoke_subject`]). Configure it, then clone
/// it: clones share the store and the local memory.
///
/// A token is refused (401 `invalid_token`, "Token has been revoked") when its `jti` is
/// revoked or when, for one of the checked claims (default `sub`), a cut-off later than its
/// `iat` was recorded. A "not revoked" answer is remembered locally for
/// [`Revocation::fresh_for`] (default 500 ms), so a busy token costs at most one store round
/// trip per that interval, and a revocation made on another instance takes effect within it.
/// A revocation made through this handle clears the local memory at once. When the store
/// cannot answer, the [`FailurePolicy`] decides (default: 503 with `Retry-After`).
///
/// ```
/// use jwt_core::{JtiDenylist, JwtAuth, Revocation, SimpleRequest, StaticKeys, mint};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let secret = b"an-hs256-secret-of-at-least-32-bytes!";
/// let revocation = Revocation::new(JtiDenylist::new());
/// let auth = JwtAuth::builder().dangerous_any_issuer()
///     .verifier(StaticKeys::hs256(secret)?)
///     .check(revocation.clone())
///     .build()?;
/// let token = mint::hs256(secret, &serde_json::json!({"sub": "alice", "jti": "t-1", "exp": 4_000_000_000u64}))?;
/// let header = format!("Bearer {token}");
/// let req = SimpleRequest::new("GET", "/x").header("Authorization", &header);
/// assert!(auth.authenticate(&req).await.is_ok());
/// revocation.revoke("t-1", 4_000_000_000).await?;
/// assert_eq!(auth.authenticate(&req).await.unwrap_err().status(), 401);
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct Revocation {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn RevocationStore>,
    claims: Vec<String>,
    policy: FailurePolicy,
    fresh_for: Duration,
    max_token_lifetime: u64,
    /// Tokens found not revoked, and when.
    fresh: quick_cache::sync::Cache<[u8; 32], Instant>,
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("store", &self.inner.store)
            .field("claims", &self.inner.claims)
            .field("policy", &self.inner.policy)
            .field("fresh_for", &self.inner.fresh_for)
            .finish_non_exhaustive()
    }
}

/// A [`Revocation`]'s settings.
struct Settings {
    claims: Vec<String>,
    policy: FailurePolicy,
    fresh_for: Duration,
    max_token_lifetime: u64,
}

/// How many "not revoked" answers are remembered locally.
const FRESH_CAPACITY: usize = 100_000;

impl Revocation {
    /// The check over `store`: `sub` cut-offs, fail closed, answers fresh for 500 ms, cut-offs
    /// kept for a day (the longest token lifetime assumed).
    pub fn new(store: impl RevocationStore + 'static) -> Self {
        Self::shared(Arc::new(store))
    }

    /// The check over a shared store (e.g. one [`crate::RedisStore`] also used for DPoP).
    pub fn shared(store: Arc<dyn RevocationStore>) -> Self {
        Self::build(
            store,
            vec!["sub".to_owned()],
            FailurePolicy::Closed,
            Duration::from_millis(500),
            86_400,
        )
    }

    fn build(
        store: Arc<dyn RevocationStore>,
        claims: Vec<String>,
        policy: FailurePolicy,
        fresh_for: Duration,
        max_token_lifetime: u64,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                claims,
                policy,
                fresh_for,
                max_token_lifetime,
                fresh: quick_cache::sync::Cache::new(FRESH_CAPACITY),
            }),
        }
    }

    /// Applies a setting on a new check (with its own local memory): configure first, then
    /// clone and install; clones made before a setting do not see it.
    fn rebuild(self, edit: impl FnOnce(&mut Settings)) -> Self {
        let i = &self.inner;
        let mut settings = Settings {
            claims: i.claims.clone(),
            policy: i.policy,
            fresh_for: i.fresh_for,
            max_token_lifetime: i.max_token_lifetime,
        };
        edit(&mut settings);
        Self::build(
            i.store.clone(),
            settings.claims,
            settings.policy,
            settings.fresh_for,
            settings.max_token_lifetime,
        )
    }

    /// The claims whose cut-offs apply (default `["sub"]`; e.g. `["sub", "session_id"]`).
    pub fn claims<I, S>(self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let claims: Vec<String> = claims.into_iter().map(Into::into).collect();
        self.rebuild(|s| s.claims = claims)
    }

    /// What happens when the store cannot answer (default [`FailurePolicy::Closed`]).
    pub fn failure_policy(self, policy: FailurePolicy) -> Self {
        self.rebuild(|s| s.policy = policy)
    }

    /// How long a "not revoked" answer is reused locally (default 500 ms; zero asks the store
    /// on every request). This bounds how late a revocation made elsewhere takes effect.
    pub fn fresh_for(self, interval: Duration) -> Self {
        self.rebuild(|s| s.fresh_for = interval)
    }

    /// The longest lifetime of the tokens checked (default one day): a cut-off is kept that
    /// long after it, by then every token issued before it has expired.
    pub fn max_token_lifetime(self, lifetime: Duration) -> Self {
        self.rebuild(|s| s.max_token_lifetime = lifetime.as_secs())
    }

    /// Revokes the token `jti` until `until` (its `exp`, Unix seconds).
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot record it.
    pub async fn revoke(&self, jti: &str, until: u64) -> Result<(), StoreError> {
        self.inner.store.revoke_token(jti, until).await?;
        self.inner.fresh.clear();
        Ok(())
    }

    /// Revokes every token of `sub` issued before `before` (Unix seconds).
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot record it.
    pub async fn revoke_subject(&self, sub: &str, before: u64) -> Result<(), StoreError> {
        self.revoke_issued_before("sub", sub, before).await
    }

    /// Revokes every token whose `claim` is `value` issued before `before`: a session
    /// (`session_id`), a device, a tenant. The claim must be one of [`Self::claims`] to be
    /// checked.
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot record it.
    pub async fn revoke_issued_before(
        &self,
        claim: &str,
        value: &str,
        before: u64,
    ) -> Result<(), StoreError> {
        if !self.inner.claims.iter().any(|c| c == claim) {
            tracing::warn!(
                claim,
                "revocation cut-off recorded for a claim this check does not look at (see Revocation::claims)"
            );
        }
        let until = before.saturating_add(self.inner.max_token_lifetime);
        self.inner
            .store
            .revoke_issued_before(claim, value, before, until)
            .await?;
        self.inner.fresh.clear();
        Ok(())
    }

    /// Whether a token with these claims is revoked, asking the store (no local memory).
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot answer.
    pub async fn is_revoked(
        &self,
        claims: &serde_json::Map<String, Value>,
    ) -> Result<bool, StoreError> {
        let values = self.values(claims);
        let pairs: Vec<(&str, &str)> = values.iter().map(|(c, v)| (*c, v.as_ref())).collect();
        let query = RevocationQuery {
            jti: claims.get("jti").and_then(Value::as_str),
            claims: &pairs,
        };
        let answer = self.inner.store.lookup(query).await?;
        Ok(answer.revokes(claims))
    }

    fn values<'c>(
        &'c self,
        claims: &'c serde_json::Map<String, Value>,
    ) -> Vec<(&'c str, Cow<'c, str>)> {
        claim_values(self.inner.claims.iter().map(String::as_str), claims)
    }
}

/// The `(claim, value)` pairs of `names` a token has: a string as it is, a number as written
/// (a cut-off for `"42"` applies to `42`); other types have no cut-off.
pub(crate) fn claim_values<'c>(
    names: impl Iterator<Item = &'c str>,
    claims: &'c serde_json::Map<String, Value>,
) -> Vec<(&'c str, Cow<'c, str>)> {
    names
        .filter_map(|name| match claims.get(name)? {
            Value::String(s) => Some((name, Cow::Borrowed(s.as_str()))),
            Value::Number(n) => Some((name, Cow::Owned(n.to_string()))),
            _ => None,
        })
        .collect()
}

/// The local memory's key for a token: its `jti`, `iat` and checked claim values, as JSON.
fn fresh_key(claims: &serde_json::Map<String, Value>, pairs: &[(&str, &str)]) -> [u8; 32] {
    let text = serde_json::json!([claims.get("jti"), claims.get("iat"), pairs]).to_string();
    sha256(text.as_bytes())
}

#[async_trait]
impl Revoker for Revocation {
    async fn revoke_jti(&self, jti: &str, until: u64) -> Result<(), StoreError> {
        let until = if until == 0 {
            now_secs().saturating_add(self.inner.max_token_lifetime)
        } else {
            until
        };
        self.revoke(jti, until).await
    }
}

#[async_trait]
impl RequestCheck for Revocation {
    async fn check(&self, ctx: &AuthContext, _method: &str, _path: &str) -> Result<(), AuthError> {
        let i = &self.inner;
        let claims = ctx.claims();
        let values = self.values(claims);
        let pairs: Vec<(&str, &str)> = values.iter().map(|(c, v)| (*c, v.as_ref())).collect();
        let key = fresh_key(claims, &pairs);
        if let Some(seen) = i.fresh.get(&key)
            && seen.elapsed() < i.fresh_for
        {
            return Ok(());
        }
        let asked = Instant::now();
        let query = RevocationQuery {
            jti: claims.get("jti").and_then(Value::as_str),
            claims: &pairs,
        };
        match i.store.lookup(query).await {
            Ok(answer) if answer.revokes(claims) => Err(InvalidToken::Revoked.into()),
            Ok(_) => {
                if !i.fresh_for.is_zero() {
                    i.fresh.insert(key, asked);
                }
                Ok(())
            }
            Err(e) => i.policy.on_error("revocation", &e),
        }
    }
}
