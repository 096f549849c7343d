//! The DPoP proof replay cache (RFC 9449 §11.1): every accepted proof's `jti` is remembered
//! until the proof could no longer be accepted anyway, so the same proof is refused the second
//! time. [`ReplayStore`] is the trait a shared store (Redis, a database) implements for several
//! instances; [`MemoryReplayStore`] is the default for one process.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::engine::stores::StoreError;
use crate::engine::validation::now_secs;

/// Remembers proof identifiers until they expire, atomically: of two requests with the same
/// `key`, exactly one is told it is the first.
///
/// `key` is a SHA-256 over the proof key's thumbprint and the proof's `jti`; `expires_at`
/// (Unix seconds) is when the proof stops being acceptable by its `iat`, after which the entry
/// may be dropped.
///
/// ```
/// use jwt_core::{MemoryReplayStore, ReplayStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryReplayStore::new(1000);
/// let key = [7u8; 32];
/// assert!(store.first_use(&key, 4_000_000_000).await?);
/// assert!(!store.first_use(&key, 4_000_000_000).await?);
/// # Ok::<(), jwt_core::StoreError>(()) }).unwrap();
/// ```
#[async_trait]
pub trait ReplayStore: Send + Sync + fmt::Debug {
    /// Records `key` until `expires_at`; `true` if it was not already recorded (the proof is
    /// fresh), `false` if it was (a replay).
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot answer; the request is then refused (503), or
    /// let through when the replay check fails open ([`crate::Dpop::replay_failure`]).
    async fn first_use(&self, key: &[u8; 32], expires_at: u64) -> Result<bool, StoreError>;
}

/// An in-process [`ReplayStore`]: a bounded set of live proof keys, each dropped once expired.
/// When every one of `capacity` entries is still live, new proofs are refused (503) rather than
/// an old entry forgotten (which would let its proof be replayed).
///
/// Size it for the peak rate of DPoP requests times the proof lifetime (with the default 60 s
/// window and 5 s skew, 1,000 requests per second need about 65,000 entries; each takes about
/// 80 bytes). Several instances each have their own: behind a load balancer, use a shared
/// store.
pub struct MemoryReplayStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
}

#[derive(Default)]
struct Shard {
    live: HashMap<[u8; 32], u64>,
    /// Keys in the order recorded, with their expiry, for dropping expired ones.
    order: VecDeque<([u8; 32], u64)>,
}

const SHARDS: usize = 16;

impl MemoryReplayStore {
    /// A store of at most `capacity` live entries (at least one per shard).
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    /// How many entries are recorded (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).live.len())
            .sum()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn record(&self, key: &[u8; 32], expires_at: u64, now: u64) -> Result<bool, StoreError> {
        let shard = &self.shards[usize::from(key[0]) % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
        // Entries expire roughly in the order recorded (expiry = iat + window); a later one at
        // the front only delays the sweep of those behind it by the clock skew allowed.
        while let Some((front, exp)) = shard.order.front().copied() {
            if exp > now {
                break;
            }
            shard.order.pop_front();
            if shard.live.get(&front) == Some(&exp) {
                shard.live.remove(&front);
            }
        }
        if shard.live.get(key).is_some_and(|exp| *exp > now) {
            return Ok(false);
        }
        if shard.live.len() >= self.per_shard {
            return Err(StoreError::Full);
        }
        shard.live.insert(*key, expires_at);
        shard.order.push_back((*key, expires_at));
        Ok(true)
    }
}

impl Default for MemoryReplayStore {
    /// 1,000,000 entries.
    fn default() -> Self {
        Self::new(1_000_000)
    }
}

impl fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("capacity", &(self.per_shard * SHARDS))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ReplayStore for MemoryReplayStore {
    async fn first_use(&self, key: &[u8; 32], expires_at: u64) -> Result<bool, StoreError> {
        self.record(key, expires_at, now_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpop_replay_store_remembers_until_expiry_and_stays_bounded() {
        let store = MemoryReplayStore::new(SHARDS * 2);
        let key = |i: u8| {
            let mut k = [0u8; 32];
            k[0] = 0; // every key in one shard
            k[1] = i;
            k
        };
        assert!(store.record(&key(1), 100, 10).unwrap());
        assert!(!store.record(&key(1), 100, 50).unwrap());
        assert!(store.record(&key(2), 100, 10).unwrap());
        // The shard is full of live entries: refused, nothing forgotten.
        assert!(matches!(
            store.record(&key(3), 100, 10),
            Err(StoreError::Full)
        ));
        assert!(!store.record(&key(1), 100, 99).unwrap());
        // Once expired they are swept and the key is fresh again.
        assert!(store.record(&key(3), 300, 100).unwrap());
        assert!(store.record(&key(1), 300, 100).unwrap());
        assert_eq!(store.len(), 2);
    }
}
