//! The refresh state machine: the cache (keys, lifetime, failures, backoff, cooldown), who may
//! start a fetch and when, the one fetch in flight that every waiter joins (single flight), and
//! the background task that refreshes ahead of expiry and retries with jittered backoff.
//!
//! A fetch starts for one of four reasons ([`Start`]): [`crate::RemoteJwks::refresh`] (always),
//! the background refresh and a request that finds no key set (unless backing off), and a token
//! with an unknown `kid` (unless backing off or within the cooldown). Whatever the reason, at most
//! one fetch is in flight; it runs in its own task, so a caller that stops waiting does not
//! cancel it. Its outcome updates the cache:
//!
//! - success: new keys, lifetime from `Cache-Control` (clamped) or the configured one, failures
//!   reset; the generation moves when the document changed;
//! - failure: the last good keys stay, failures count up, the next attempt waits
//!   `initial · 2^(failures-1)` (capped at `max`) times a random factor in [0.5, 1].
//!
//! A cached set is fresh until `fetched_at + ttl`, refreshed from `ttl − min(refresh_ahead,
//! ttl/2)` on, and served (stale) until `fetched_at + ttl + max_stale`.
//!
//! Time is tokio's clock (`tokio::time::Instant`, `sleep`, `timeout`), so a runtime with paused
//! time drives lifetimes, refresh-ahead, cooldown and backoff without waiting for them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::config::Settings;
use super::error::FetchError;
use super::fetch::{Fetched, Fetcher};
use crate::keys::material::{KeySet, VerificationKey};

/// A snapshot of a [`crate::RemoteJwks`]'s cache, for health checks and metrics.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteStatus {
    /// The JWKS URL (once known: discovery resolves it on the first fetch).
    pub jwks_url: Option<String>,
    /// The `kid`s of the cached keys (keys without `kid` are not listed).
    pub kids: Vec<String>,
    /// The number of cached keys.
    pub keys: usize,
    /// Time since the last successful fetch.
    pub age: Option<Duration>,
    /// The lifetime of the cached set (the configured one, or `Cache-Control: max-age` clamped).
    pub ttl: Option<Duration>,
    /// Whether the cached set is within its lifetime.
    pub fresh: bool,
    /// Whether a key set is served (fresh, or stale within `max_stale`).
    pub usable: bool,
    /// Successful fetches so far.
    pub fetches_ok: u64,
    /// Failed fetches so far.
    pub fetches_failed: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// The last failure, if the last fetch failed.
    pub last_error: Option<FetchError>,
}

/// Why a fetch is wanted; decides whether cooldown and backoff apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// [`crate::RemoteJwks::refresh`]: always.
    Force,
    /// The background refresh: unless backing off.
    Scheduled,
    /// No usable key set: unless backing off.
    NoKeys,
    /// An unknown `kid`: unless backing off or within the cooldown.
    UnknownKid,
}

/// The outcome of the fetch in flight, once there is one.
pub(super) type Flight = watch::Receiver<Option<Result<(), FetchError>>>;

/// Everything the clones of one [`crate::RemoteJwks`] share.
pub(super) struct Shared {
    fetcher: Fetcher,
    settings: Settings,
    cache: RwLock<Cache>,
    /// The fetch in flight, if any (single-flight). Locked only briefly, never across an await.
    flight: Mutex<Option<Flight>>,
    refresher: Mutex<Option<tokio::task::JoinHandle<()>>>,
    refresher_alive: AtomicBool,
    fetches_ok: AtomicU64,
    fetches_failed: AtomicU64,
    /// Bumped whenever the served key set changes: new document, or usable <-> unusable.
    generation: AtomicU64,
    /// Whether a key set was served when `generation` was last looked at.
    served: AtomicBool,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(handle) = lock(&self.refresher).take() {
            handle.abort();
        }
    }
}

#[derive(Default)]
struct Cache {
    keys: Option<Arc<KeySet>>,
    /// When the last successful fetch completed.
    fetched_at: Option<Instant>,
    /// The lifetime of the cached set.
    ttl: Duration,
    /// When the last fetch (of any outcome) started: the cooldown counts from here.
    last_attempt: Option<Instant>,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<FetchError>,
    /// SHA-256 of the document the cached set came from.
    digest: Option<[u8; 32]>,
}

impl Cache {
    fn expires_at(&self) -> Option<Instant> {
        self.fetched_at.and_then(|t| t.checked_add(self.ttl))
    }

    fn is_fresh(&self, now: Instant) -> bool {
        self.keys.is_some() && self.expires_at().is_some_and(|e| now < e)
    }

    fn usable(&self, now: Instant, s: &Settings) -> Option<Arc<KeySet>> {
        let keys = self.keys.as_ref()?;
        let served_until = self.expires_at()?.checked_add(s.max_stale);
        match served_until {
            Some(limit) if now >= limit => None,
            _ => Some(Arc::clone(keys)),
        }
    }

    fn refresh_at(&self, s: &Settings) -> Option<Instant> {
        let ahead = s.refresh_ahead.min(self.ttl / 2);
        self.expires_at().map(|e| e - ahead)
    }

    fn backing_off(&self, now: Instant) -> bool {
        self.retry_at.is_some_and(|t| now < t)
    }

    fn cooling_down(&self, now: Instant, cooldown: Duration) -> bool {
        self.last_attempt
            .is_some_and(|t| now.saturating_duration_since(t) < cooldown)
    }

    /// Whether the background refresh should fetch now.
    fn refresh_due(&self, now: Instant, s: &Settings) -> bool {
        if self.backing_off(now) {
            return false;
        }
        self.keys.is_none() || self.failures > 0 || self.refresh_at(s).is_none_or(|t| now >= t)
    }

    /// How long the background refresh sleeps before looking again.
    fn next_wake(&self, now: Instant, s: &Settings) -> Duration {
        let at = match (self.retry_at, self.refresh_at(s)) {
            (Some(retry), _) if self.failures > 0 => retry,
            (_, Some(refresh)) if self.keys.is_some() => refresh,
            // The first fetch: at once.
            _ => return Duration::ZERO,
        };
        // Never spin: at least 50 ms between looks.
        at.saturating_duration_since(now)
            .max(Duration::from_millis(50))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

/// Waits for the outcome of `rx`, at most `limit`.
pub(super) async fn wait(mut rx: Flight, limit: Duration) -> Result<(), FetchError> {
    let outcome = tokio::time::timeout(limit, async {
        match rx.wait_for(Option::is_some).await {
            Ok(done) => done.clone().unwrap_or(Err(FetchError::Abandoned)),
            Err(_) => Err(FetchError::Abandoned),
        }
    })
    .await;
    outcome.unwrap_or(Err(FetchError::Timeout))
}

impl Shared {
    /// Nothing cached, nothing in flight, no background task yet.
    pub(super) fn new(fetcher: Fetcher, settings: Settings) -> Arc<Self> {
        Arc::new(Self {
            fetcher,
            settings,
            cache: RwLock::new(Cache::default()),
            flight: Mutex::new(None),
            refresher: Mutex::new(None),
            refresher_alive: AtomicBool::new(false),
            fetches_ok: AtomicU64::new(0),
            fetches_failed: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            served: AtomicBool::new(false),
        })
    }

    /// The source, for logs and `Debug`.
    pub(super) fn describe(&self) -> String {
        self.fetcher.describe()
    }

    /// How long a request may wait for a fetch.
    pub(super) fn wait_limit(&self) -> Duration {
        self.settings.wait_limit()
    }

    /// The key set to verify with now: fresh, or stale within `max_stale`.
    pub(super) fn usable_keys(&self) -> Option<Arc<KeySet>> {
        read(&self.cache).usable(Instant::now(), &self.settings)
    }

    /// A snapshot of the cache.
    pub(super) fn status(&self) -> RemoteStatus {
        let now = Instant::now();
        let cache = read(&self.cache);
        let keys = cache.keys.as_deref();
        RemoteStatus {
            jwks_url: self.fetcher.jwks_url().map(|u| u.to_string()),
            kids: keys
                .map(|k| {
                    k.keys()
                        .iter()
                        .filter_map(VerificationKey::kid)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            keys: keys.map_or(0, |k| k.keys().len()),
            age: cache.fetched_at.map(|t| now.saturating_duration_since(t)),
            ttl: cache.fetched_at.map(|_| cache.ttl),
            fresh: cache.is_fresh(now),
            usable: cache.usable(now, &self.settings).is_some(),
            fetches_ok: self.fetches_ok.load(Ordering::Relaxed),
            fetches_failed: self.fetches_failed.load(Ordering::Relaxed),
            consecutive_failures: cache.failures,
            last_error: cache.last_error.clone(),
        }
    }

    /// Changes whenever the served key set changes: a fetched document differs from the last
    /// one, or the set stops (or starts) being served.
    pub(super) fn key_generation(&self) -> u64 {
        let served = self.usable_keys().is_some();
        if self.served.swap(served, Ordering::AcqRel) != served {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        self.generation.load(Ordering::Acquire)
    }

    /// Joins the fetch in flight, or starts one if `why` allows it now. The fetch runs in its own
    /// task, so a caller that stops waiting (a dropped request) does not cancel it.
    pub(super) fn join_or_start(self: &Arc<Self>, why: Start) -> Option<Flight> {
        let mut flight = lock(&self.flight);
        if let Some(rx) = flight.as_ref() {
            // In flight: no outcome yet and the fetching task still holds the sender.
            if rx.borrow().is_none() && rx.has_changed().is_ok() {
                return Some(rx.clone());
            }
        }
        let now = Instant::now();
        {
            let cache = read(&self.cache);
            let allowed = match why {
                Start::Force => true,
                Start::Scheduled | Start::NoKeys => !cache.backing_off(now),
                Start::UnknownKid => {
                    !cache.backing_off(now) && !cache.cooling_down(now, self.settings.cooldown)
                }
            };
            if !allowed {
                return None;
            }
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("remote JWKS: no tokio runtime, cannot fetch keys");
            return None;
        };
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .last_attempt = Some(now);
        let (tx, rx) = watch::channel(None);
        *flight = Some(rx.clone());
        drop(flight);
        tracing::debug!(reason = ?why, source = %self.describe(), "remote JWKS: fetching");
        let me = Arc::clone(self);
        runtime.spawn(async move {
            let outcome = me.fetch_and_store().await;
            let _ = tx.send(Some(outcome));
        });
        Some(rx)
    }

    /// Starts the background refresh unless it runs. Cheap when it does (one atomic load).
    pub(super) fn ensure_refresher(self: &Arc<Self>) {
        if self.refresher_alive.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut slot = lock(&self.refresher);
        if self.refresher_alive.load(Ordering::Acquire) {
            return;
        }
        if let Some(old) = slot.take() {
            old.abort();
        }
        self.refresher_alive.store(true, Ordering::Release);
        *slot = Some(runtime.spawn(refresher(Arc::downgrade(self))));
    }

    async fn fetch_and_store(&self) -> Result<(), FetchError> {
        let result = self.fetcher.fetch(&self.settings).await;
        let now = Instant::now();
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(Fetched {
                keys: set,
                max_age,
                digest,
            }) => {
                let ttl = self.settings.ttl_for(max_age);
                let keys = set.keys().len();
                let rotated = cache.keys.as_ref().is_some_and(|old| !same_kids(old, &set));
                if cache.digest != Some(digest) {
                    self.generation.fetch_add(1, Ordering::AcqRel);
                }
                cache.digest = Some(digest);
                cache.keys = Some(Arc::new(set));
                cache.fetched_at = Some(now);
                cache.ttl = ttl;
                cache.failures = 0;
                cache.retry_at = None;
                cache.last_error = None;
                drop(cache);
                self.fetches_ok.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    source = %self.describe(),
                    keys,
                    ttl_secs = ttl.as_secs(),
                    rotated,
                    "remote JWKS: key set fetched"
                );
                Ok(())
            }
            Err(e) => {
                cache.failures = cache.failures.saturating_add(1);
                let delay = backoff_delay(cache.failures, &self.settings);
                cache.retry_at = now.checked_add(delay);
                cache.last_error = Some(e.clone());
                let failures = cache.failures;
                let stale_for = cache
                    .keys
                    .as_ref()
                    .and(cache.expires_at())
                    .map(|e| now.saturating_duration_since(e));
                drop(cache);
                self.fetches_failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    source = %self.describe(),
                    error = %e,
                    failures,
                    retry_in_ms = delay.as_millis() as u64,
                    stale_ms = stale_for.map(|d| d.as_millis() as u64),
                    "remote JWKS: fetch failed; keeping the last good key set if any"
                );
                Err(e)
            }
        }
    }
}

/// The background refresh: sleeps until the next refresh or retry is due, then fetches (or joins
/// the fetch in flight). Holds only a weak reference, so dropping the last verifier stops it.
async fn refresher(weak: Weak<Shared>) {
    /// Marks the refresher dead however the task ends (finished, aborted, runtime shut down),
    /// so the next verification starts a new one.
    struct Alive(Weak<Shared>);
    impl Drop for Alive {
        fn drop(&mut self) {
            if let Some(s) = self.0.upgrade() {
                s.refresher_alive.store(false, Ordering::Release);
            }
        }
    }
    let _alive = Alive(weak.clone());
    loop {
        let delay = {
            let Some(s) = weak.upgrade() else { return };
            let cache = read(&s.cache);
            cache.next_wake(Instant::now(), &s.settings)
        };
        tokio::time::sleep(delay).await;
        let flight = {
            let Some(s) = weak.upgrade() else { return };
            let due = read(&s.cache).refresh_due(Instant::now(), &s.settings);
            if !due {
                continue;
            }
            s.join_or_start(Start::Scheduled)
        };
        // Only a weak reference is held while waiting: dropping the verifier stops this task.
        if let Some(mut rx) = flight {
            let _ = rx.wait_for(Option::is_some).await;
        }
    }
}

fn same_kids(a: &KeySet, b: &KeySet) -> bool {
    let kids = |s: &KeySet| {
        let mut v: Vec<Option<String>> = s
            .keys()
            .iter()
            .map(|k| k.kid().map(str::to_owned))
            .collect();
        v.sort();
        v
    };
    kids(a) == kids(b)
}

/// The delay before retry number `failures`: `initial · 2^(failures-1)`, capped at `max`, then
/// scaled by a random factor in [0.5, 1] (jitter, so many instances do not retry in step).
fn backoff_delay(failures: u32, s: &Settings) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let base = s
        .backoff_initial
        .saturating_mul(1u32 << exp)
        .min(s.backoff_max);
    let mut bytes = [0u8; 4];
    let r = match aws_lc_rs::rand::fill(&mut bytes) {
        Ok(()) => u32::from_le_bytes(bytes),
        Err(_) => u32::MAX,
    };
    let factor = 0.5 + 0.5 * (f64::from(r) / f64::from(u32::MAX));
    base.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_backoff_grows_with_jitter_and_caps() {
        let s = Settings::default();
        let mut firsts = Vec::new();
        for _ in 0..50 {
            let d1 = backoff_delay(1, &s);
            assert!(d1 >= Duration::from_millis(500) && d1 <= Duration::from_secs(1));
            firsts.push(d1);
            let d3 = backoff_delay(3, &s);
            assert!(d3 >= Duration::from_secs(2) && d3 <= Duration::from_secs(4));
            let d30 = backoff_delay(30, &s);
            assert!(d30 >= Duration::from_secs(30) && d30 <= Duration::from_secs(60));
        }
        // Jitter: 50 draws from [0.5 s, 1 s] are not all the same.
        firsts.sort();
        firsts.dedup();
        assert!(firsts.len() > 1, "no jitter: {firsts:?}");
    }

    #[test]
    fn jwks_cache_lifecycle() {
        let s = Settings {
            ttl: Duration::from_secs(600),
            ..Settings::default()
        };
        let t0 = Instant::now();
        let key = VerificationKey::hmac(jsonwebtoken::Algorithm::HS256, &[1u8; 32]).unwrap();
        let cache = Cache {
            keys: Some(Arc::new(
                KeySet::new(vec![key], crate::keys::material::Fallback::ExactlyOne).unwrap(),
            )),
            fetched_at: Some(t0),
            ttl: s.ttl,
            ..Cache::default()
        };
        let at = |secs| t0 + Duration::from_secs(secs);
        assert!(cache.is_fresh(at(599)) && !cache.is_fresh(at(600)));
        assert!(!cache.refresh_due(at(569), &s) && cache.refresh_due(at(570), &s));
        assert!(cache.usable(at(600 + 3599), &s).is_some());
        assert!(cache.usable(at(600 + 3600), &s).is_none());
        let forever = Settings {
            max_stale: Duration::MAX,
            ..s.clone()
        };
        assert!(cache.usable(at(10_000_000), &forever).is_some());
        assert!(!cache.cooling_down(t0, Duration::from_secs(30)));
    }
}
