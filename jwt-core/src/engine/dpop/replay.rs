//! The DPoP proof replay cache (RFC 9449 §11.1): every accepted proof's `jti` is remembered
//! until the proof could no longer be accepted anyway, so the same proof is refused the second
//! time. [`ReplayStore`] is the trait a shared store (Redis, a database) implements for several
//! instances; [`MemoryReplayStore`] is the default for one process.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher as _;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::clock::now_secs;
use crate::engine::stores::StoreError;

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
///
/// # Implementing it
///
/// `first_use` must be one atomic "insert if absent" on the shared store (Redis `SET NX EX`, a
/// unique-key insert in SQL): a read followed by a write lets two instances both accept the
/// same proof. Answer a [`StoreError`] when the store cannot answer in time; the engine then
/// refuses (503) unless the check was told to fail open. Leave `completes_immediately` at
/// `false` for anything that waits on I/O.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use jwt_core::{ReplayStore, StoreError};
///
/// /// One process's proofs in a map (a stand-in for a database table with a unique key).
/// #[derive(Debug, Default)]
/// struct TableStore(Mutex<HashMap<[u8; 32], u64>>);
///
/// #[async_trait::async_trait]
/// impl ReplayStore for TableStore {
///     async fn first_use(&self, key: &[u8; 32], expires_at: u64) -> Result<bool, StoreError> {
///         let mut rows = self.0.lock().map_err(|_| StoreError::Unavailable("poisoned".into()))?;
///         Ok(rows.insert(*key, expires_at).is_none())
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = TableStore::default();
/// assert!(store.first_use(&[1; 32], 4_000_000_000).await?);
/// assert!(!store.first_use(&[1; 32], 4_000_000_000).await?);
/// let dpop = jwt_core::Dpop::allowed().replay_store(store);
/// # let _ = dpop;
/// # Ok::<(), StoreError>(()) }).unwrap();
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

    /// Whether [`ReplayStore::first_use`] always answers without waiting (an in-process
    /// store). The engine decides in place ([`crate::JwtAuth::verdict_now`]) only with
    /// such a store: a remote store's command must not be sent by a decision that is then
    /// dropped and run again. Default `false`.
    fn completes_immediately(&self) -> bool {
        false
    }
}

/// An in-process [`ReplayStore`]: a bounded set of live proof keys, each dropped once expired.
/// When every one of `capacity` entries is still live, new proofs are refused (503, whatever
/// the failure policy) rather than an old entry forgotten or a proof let through unrecorded
/// (either would let a proof be replayed).
///
/// Size it for the peak rate of DPoP requests times the proof lifetime (with the default 60 s
/// window and 5 s skew, 1,000 requests per second need about 65,000 entries; each takes about
/// 80 bytes). Several instances each have their own: behind a load balancer, use a shared
/// store.
pub struct MemoryReplayStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    /// Picks a key's shard with a per-process random key, so nobody can aim their proofs at
    /// one shard.
    spread: std::collections::hash_map::RandomState,
}

#[derive(Default)]
struct Shard {
    live: HashMap<[u8; 32], u64>,
    /// The keys by expiry, for dropping every expired one.
    by_expiry: BTreeMap<u64, Vec<[u8; 32]>>,
}

const SHARDS: usize = 16;

impl MemoryReplayStore {
    /// A store of at most `capacity` live entries (at least one per shard).
    pub fn new(capacity: usize) -> Self {
        Self::with_shards(capacity, SHARDS)
    }

    fn with_shards(capacity: usize, shards: usize) -> Self {
        Self {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(shards).max(1),
            spread: std::collections::hash_map::RandomState::new(),
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
        let count = self.shards.len() as u64;
        let at = usize::try_from(self.spread.hash_one(key) % count).unwrap_or(0);
        let mut shard = self.shards[at]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Drop every entry whose proof can no longer be accepted (expiry at or before now).
        while let Some(entry) = shard.by_expiry.first_entry() {
            if *entry.key() > now {
                break;
            }
            let keys = entry.remove();
            for k in keys {
                shard.live.remove(&k);
            }
        }
        if shard.live.contains_key(key) {
            return Ok(false);
        }
        if shard.live.len() >= self.per_shard {
            return Err(StoreError::Full);
        }
        shard.live.insert(*key, expires_at);
        shard.by_expiry.entry(expires_at).or_default().push(*key);
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
            .field("capacity", &(self.per_shard * self.shards.len()))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ReplayStore for MemoryReplayStore {
    async fn first_use(&self, key: &[u8; 32], expires_at: u64) -> Result<bool, StoreError> {
        self.record(key, expires_at, now_secs())
    }

    fn completes_immediately(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpop_replay_store_remembers_until_expiry_and_stays_bounded() {
        let store = MemoryReplayStore::with_shards(2, 1);
        let key = |i: u8| [i; 32];
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
        // An entry lives through its expiry second and is gone after it.
        assert!(!store.record(&key(1), 300, 299).unwrap());
        assert!(store.record(&key(1), 400, 300).unwrap());
    }
}
