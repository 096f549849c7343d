//! The validated-token cache: a verified token's principal, kept so that the next request with
//! the same token skips signature verification and claim decoding.
//!
//! - keyed by the token itself and compared exactly on lookup; the token stays in process
//!   memory like the principal it maps to, and is never logged, exported or hashed into anything
//!   that leaves the process (a cryptographic digest per request cost more than the rest of a
//!   hit). The bucket hash reads only the token's length and last 32 bytes (the signature of a
//!   JWT) with the crate's fast unkeyed hash, so a hit costs the same for a 300-byte and a 4-kB
//!   token; only verified tokens are ever stored, so nobody can fill a bucket with chosen
//!   colliding keys, and a collision costs one more comparison, never a wrong answer;
//! - bounded by total weight (an estimate of each entry's bytes) and, through a minimum weight
//!   per entry, by entry count;
//! - `exp`, `nbf` and `iat` are re-checked on every hit, so no entry outlives its token;
//! - an entry remembers the verifier's key generation and is ignored once the key set changed
//!   (rotation, a key removed from a JWKS);
//! - safe under concurrent load (`quick_cache`'s sharded, lock-striped cache);
//! - a token is kept from its second verification on: the first only leaves its hash in a
//!   table of tokens seen once (a doorkeeper, as in TinyLFU), so traffic in which every token
//!   is new (one token per request, or many clients each making one call) costs the cache one
//!   slot write per request instead of an entry built, inserted and evicted;
//! - an entry also keeps the first few [`AuthContext`]s handed out for its token, each with the
//!   request (method and path) it was decided for (small ones only, counted in its weight): the
//!   same token on the same method and path is decided the same way (the route table is
//!   immutable, the principal too), so that request gets the kept context back without
//!   resolving the route again. A context is only kept after a full decision allowed it; the
//!   token's times and key generation are still checked, and request checks still run, on every
//!   request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use std::hash::{BuildHasher as _, Hash, Hasher};

use quick_cache::sync::Cache;
use quick_cache::{Equivalent, OptionsBuilder, Weighter};

use crate::authz::context::{AuthContext, Principal};
use crate::engine::validation::TimeClaims;
use crate::error::ConfigError;
use crate::fast_hash::FastBuild;

/// Limits of the validated-token cache.
///
/// ```
/// use jwt_core::TokenCacheConfig;
/// let c = TokenCacheConfig::default().max_entries(50_000).max_bytes(64 << 20);
/// assert_eq!(c.entries(), 50_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a builder does nothing until it is used: keep the value each setter returns"]
pub struct TokenCacheConfig {
    max_entries: usize,
    max_bytes: usize,
}

impl Default for TokenCacheConfig {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_bytes: 32 * 1024 * 1024,
        }
    }
}

impl TokenCacheConfig {
    /// The most tokens kept (default 10 000).
    pub fn max_entries(mut self, n: usize) -> Self {
        self.max_entries = n;
        self
    }

    /// The most memory kept, estimated from each entry's claims (default 32 MiB).
    pub fn max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n;
        self
    }

    /// The entry limit.
    pub fn entries(&self) -> usize {
        self.max_entries
    }

    /// The byte limit.
    pub fn bytes(&self) -> usize {
        self.max_bytes
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.max_entries == 0 || self.max_bytes < 1024 {
            return Err(ConfigError::Empty("token cache limits"));
        }
        Ok(())
    }
}

/// How many contexts an entry keeps for reuse.
const CONTEXT_SLOTS: usize = 2;
/// The largest kept context with its request (estimated bytes); each slot is weighed at this
/// size.
const CONTEXT_BYTES: usize = 384;

/// A context kept with the request it was decided for.
#[derive(Debug)]
struct KeptContext {
    method: Box<str>,
    path: Box<str>,
    ctx: AuthContext,
}

/// A cached, validated token.
#[derive(Debug)]
pub(crate) struct CachedToken {
    pub(crate) principal: Arc<Principal>,
    pub(crate) times: TimeClaims,
    pub(crate) generation: u64,
    weight: u64,
    /// Contexts handed out for this token, first come first kept, never replaced.
    contexts: [OnceLock<KeptContext>; CONTEXT_SLOTS],
}

impl CachedToken {
    pub(crate) fn new(principal: Arc<Principal>, times: TimeClaims, generation: u64) -> Self {
        let weight = 256 + (CONTEXT_SLOTS * CONTEXT_BYTES + principal.estimated_bytes()) as u64;
        Self {
            principal,
            times,
            generation,
            weight,
            contexts: Default::default(),
        }
    }

    /// The context kept for exactly this method and path.
    pub(crate) fn context_for(&self, method: &str, path: &str) -> Option<AuthContext> {
        self.contexts
            .iter()
            .filter_map(OnceLock::get)
            .find(|k| *k.path == *path && *k.method == *method)
            .map(|k| k.ctx.clone())
    }

    /// Keeps `ctx`, which a full decision gave for `method` and `path`, when it is small enough
    /// and a slot is free.
    pub(crate) fn keep_context(&self, method: &str, path: &str, ctx: &AuthContext) {
        let bytes = ctx
            .estimated_bytes()
            .saturating_add(2 * 16 + method.len() + path.len());
        if bytes > CONTEXT_BYTES {
            return;
        }
        if let Some(slot) = self.contexts.iter().find(|slot| slot.get().is_none()) {
            // Another request may fill the slot first: then this context is simply not kept.
            let _ = slot.set(KeptContext {
                method: method.into(),
                path: path.into(),
                ctx: ctx.clone(),
            });
        }
    }
}

#[derive(Clone)]
struct ByWeight {
    min: u64,
}

impl Weighter<StoredToken, Arc<CachedToken>> for ByWeight {
    fn weight(&self, key: &StoredToken, value: &Arc<CachedToken>) -> u64 {
        // The key is the token: its bytes count too.
        (value.weight + key.0.len() as u64).max(self.min)
    }
}

/// How many trailing bytes of a token feed its bucket hash.
const HASHED_TAIL: usize = 32;

fn hash_token<H: Hasher>(bytes: &[u8], state: &mut H) {
    state.write_usize(bytes.len());
    state.write(&bytes[bytes.len().saturating_sub(HASHED_TAIL)..]);
}

/// A stored token: compared whole, hashed by its length and tail.
#[derive(PartialEq, Eq)]
struct StoredToken(Box<str>);

impl Hash for StoredToken {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_token(self.0.as_bytes(), state);
    }
}

/// A token being looked up (its bytes as sent), hashed like [`StoredToken`].
struct Lookup<'a>(&'a [u8]);

impl Hash for Lookup<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_token(self.0, state);
    }
}

impl Equivalent<StoredToken> for Lookup<'_> {
    fn equivalent(&self, key: &StoredToken) -> bool {
        key.0.as_bytes() == self.0
    }
}

/// The cache itself.
pub(crate) struct TokenCache {
    cache: Cache<StoredToken, Arc<CachedToken>, ByWeight, FastBuild>,
    /// Verified tokens seen once and not kept, by hash (never 0), one per slot: a later token
    /// landing on the same slot replaces it. A collision only admits a token one verification
    /// early or late: never a wrong answer.
    seen_once: Box<[AtomicU64]>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.cache.len())
            .field("weight", &self.cache.weight())
            .finish()
    }
}

impl TokenCache {
    /// # Errors
    /// [`ConfigError::Empty`] for limits [`TokenCacheConfig::check`] refuses.
    pub(crate) fn new(config: TokenCacheConfig) -> Result<Self, ConfigError> {
        config.check()?;
        let max_bytes = config.max_bytes as u64;
        // Every entry weighs at least this much, so the byte bound also bounds the count.
        let min = max_bytes.div_ceil(config.max_entries as u64).max(1);
        let options = OptionsBuilder::new()
            .estimated_items_capacity(config.max_entries)
            .weight_capacity(max_bytes)
            .build()
            .map_err(|_| ConfigError::Empty("token cache limits"))?;
        // One slot per entry the cache can hold (a power of two, at least 1 024): 8 bytes each.
        let slots = config.max_entries.max(1024).next_power_of_two();
        Ok(Self {
            cache: Cache::with_options(
                options,
                ByWeight { min },
                FastBuild::default(),
                Default::default(),
            ),
            seen_once: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    /// Whether a verified `token` should be kept: `true` when it was seen once before (its
    /// second verification), else it is remembered as seen once and `false`.
    pub(crate) fn admit(&self, token: &str) -> bool {
        let mut hasher = FastBuild::default().build_hasher();
        hash_token(token.as_bytes(), &mut hasher);
        let hash = hasher.finish().max(1);
        // The low bits pick the slot; the whole hash is compared.
        let slot = &self.seen_once[hash as usize & (self.seen_once.len() - 1)];
        if slot.load(Ordering::Relaxed) == hash {
            slot.store(0, Ordering::Relaxed);
            true
        } else {
            slot.store(hash, Ordering::Relaxed);
            false
        }
    }

    /// The entry of exactly this token.
    pub(crate) fn get(&self, token: &[u8]) -> Option<Arc<CachedToken>> {
        self.cache.get(&Lookup(token))
    }

    pub(crate) fn insert(&self, token: &str, entry: Arc<CachedToken>) {
        self.cache.insert(StoredToken(token.into()), entry);
    }

    pub(crate) fn remove(&self, token: &[u8]) {
        self.cache.remove(&Lookup(token));
    }

    pub(crate) fn len(&self) -> usize {
        self.cache.len()
    }

    pub(crate) fn weight(&self) -> u64 {
        self.cache.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::scope::{ScopeRules, ScopeSet};
    use crate::token::claims::Identity;
    use serde_json::Value;

    fn principal(n: usize) -> Arc<Principal> {
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), Value::String(format!("user-{n}")));
        Arc::new(Principal {
            identity: Identity::default(),
            scopes: ScopeSet::parse(["a:read"], &ScopeRules::agent_os()),
            claims: crate::token::payload::Claims::Tree(claims),
            header: None,
        })
    }

    #[test]
    fn bounded_by_entries_and_bytes_under_many_distinct_tokens() {
        let config = TokenCacheConfig::default()
            .max_entries(1_000)
            .max_bytes(1 << 20);
        let cache = TokenCache::new(config).unwrap();
        for n in 0..100_000 {
            cache.insert(
                &format!("token-{n}"),
                Arc::new(CachedToken::new(principal(n), TimeClaims::default(), 0)),
            );
        }
        assert!(cache.len() <= 1_000, "{} entries", cache.len());
        assert!(cache.weight() <= 1 << 20, "{} bytes", cache.weight());
        assert!(cache.len() > 100, "the cache still holds recent tokens");
    }

    #[test]
    fn lookups_are_exact_and_count_the_token() {
        let cache = TokenCache::new(TokenCacheConfig::default()).unwrap();
        let long = "x".repeat(4000);
        cache.insert(
            &long,
            Arc::new(CachedToken::new(principal(1), TimeClaims::default(), 0)),
        );
        assert!(cache.get(long.as_bytes()).is_some());
        assert!(cache.get(&long.as_bytes()[..3999]).is_none());
        assert!(cache.get(format!("{long}y").as_bytes()).is_none());
        // Same length and tail, different head: a separate token.
        let other = format!("y{}", &long[1..]);
        assert!(cache.get(other.as_bytes()).is_none());
        cache.insert(
            &other,
            Arc::new(CachedToken::new(principal(2), TimeClaims::default(), 0)),
        );
        let sub = |t: &str| cache.get(t.as_bytes()).unwrap().principal.claims.tree()["sub"].clone();
        assert_eq!(sub(&long), "user-1");
        assert_eq!(sub(&other), "user-2");
        assert!(cache.weight() >= 4000, "the token's bytes are weighed");
        cache.remove(long.as_bytes());
        assert!(cache.get(long.as_bytes()).is_none());
    }

    #[test]
    fn a_token_is_admitted_on_its_second_verification() {
        let cache = TokenCache::new(TokenCacheConfig::default().max_entries(4)).unwrap();
        let (a, b) = ("header.payload.signature-a", "header.payload.signature-b");
        assert!(!cache.admit(a), "first sight: only remembered");
        assert!(cache.admit(a), "second: kept");
        // Admitted once: a token that falls out of the cache starts over.
        assert!(!cache.admit(a));
        assert!(!cache.admit(b));
        assert!(cache.admit(b));
        // Many tokens seen once each: none admitted, the table stays its size.
        let distinct: Vec<String> = (0..10_000).map(|n| format!("t.p.{n:08}")).collect();
        assert!(distinct.iter().all(|t| !cache.admit(t)));
        assert_eq!(cache.seen_once.len(), 1024);
    }

    #[test]
    fn config_checks() {
        assert!(TokenCacheConfig::default().check().is_ok());
        assert!(TokenCacheConfig::default().max_entries(0).check().is_err());
        assert!(TokenCacheConfig::default().max_bytes(10).check().is_err());
    }
}
