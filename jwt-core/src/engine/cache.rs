//! The validated-token cache: a verified token's principal, kept so that the next request with
//! the same token skips signature verification and claim decoding.
//!
//! - keyed by the SHA-256 digest of the token (the token itself is never stored);
//! - bounded by total weight (an estimate of each entry's bytes) and, through a minimum weight
//!   per entry, by entry count;
//! - `exp`, `nbf` and `iat` are re-checked on every hit, so no entry outlives its token;
//! - an entry remembers the verifier's key generation and is ignored once the key set changed
//!   (rotation, a key removed from a JWKS);
//! - safe under concurrent load (`quick_cache`'s sharded, lock-striped cache).

use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::authz::context::Principal;
use crate::engine::validation::TimeClaims;
use crate::error::ConfigError;

/// Limits of the validated-token cache.
///
/// ```
/// use jwt_core::TokenCacheConfig;
/// let c = TokenCacheConfig::default().max_entries(50_000).max_bytes(64 << 20);
/// assert_eq!(c.entries(), 50_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// A cached, validated token.
#[derive(Debug)]
pub(crate) struct CachedToken {
    pub(crate) principal: Arc<Principal>,
    pub(crate) times: TimeClaims,
    pub(crate) generation: u64,
    weight: u64,
}

impl CachedToken {
    pub(crate) fn new(principal: Arc<Principal>, times: TimeClaims, generation: u64) -> Self {
        let weight = 256 + principal.estimated_bytes() as u64;
        Self {
            principal,
            times,
            generation,
            weight,
        }
    }
}

#[derive(Clone)]
struct ByWeight {
    min: u64,
}

impl Weighter<[u8; 32], Arc<CachedToken>> for ByWeight {
    fn weight(&self, _key: &[u8; 32], value: &Arc<CachedToken>) -> u64 {
        value.weight.max(self.min)
    }
}

/// The cache itself.
pub(crate) struct TokenCache {
    cache: Cache<[u8; 32], Arc<CachedToken>, ByWeight>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.cache.len())
            .field("weight", &self.cache.weight())
            .finish()
    }
}

pub(crate) fn digest(token: &str) -> [u8; 32] {
    crate::keys::crypto::sha256(token.as_bytes())
}

impl TokenCache {
    pub(crate) fn new(config: TokenCacheConfig) -> Self {
        let max_bytes = config.max_bytes as u64;
        // Every entry weighs at least this much, so the byte bound also bounds the count.
        let min = max_bytes.div_ceil(config.max_entries as u64).max(1);
        Self {
            cache: Cache::with_weighter(config.max_entries, max_bytes, ByWeight { min }),
        }
    }

    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Arc<CachedToken>> {
        self.cache.get(key)
    }

    pub(crate) fn insert(&self, key: [u8; 32], entry: CachedToken) {
        self.cache.insert(key, Arc::new(entry));
    }

    pub(crate) fn remove(&self, key: &[u8; 32]) {
        self.cache.remove(key);
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
            scopes: ScopeSet::parse(["a:read"], &ScopeRules::default()),
            claims,
            header: None,
        })
    }

    #[test]
    fn bounded_by_entries_and_bytes_under_many_distinct_tokens() {
        let config = TokenCacheConfig::default()
            .max_entries(1_000)
            .max_bytes(1 << 20);
        let cache = TokenCache::new(config);
        for n in 0..100_000 {
            let key = digest(&format!("token-{n}"));
            cache.insert(
                key,
                CachedToken::new(principal(n), TimeClaims::default(), 0),
            );
        }
        assert!(cache.len() <= 1_000, "{} entries", cache.len());
        assert!(cache.weight() <= 1 << 20, "{} bytes", cache.weight());
        assert!(cache.len() > 100, "the cache still holds recent tokens");
    }

    #[test]
    fn digest_is_sha256() {
        assert_eq!(digest("abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
    }

    #[test]
    fn config_checks() {
        assert!(TokenCacheConfig::default().check().is_ok());
        assert!(TokenCacheConfig::default().max_entries(0).check().is_err());
        assert!(TokenCacheConfig::default().max_bytes(10).check().is_err());
    }
}
