//! [`RedisStore`]: the revocation lists and the DPoP replay cache on Redis (or Valkey), shared by
//! every instance. One multiplexed connection that reconnects on its own; every command has a
//! timeout, so a slow or absent server costs a request at most that long and never holds up
//! the others.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::clock::now_secs;
use crate::engine::dpop::replay::ReplayStore;
use crate::engine::stores::StoreError;
use crate::engine::stores::revocation::{RevocationAnswer, RevocationQuery, RevocationStore};
use crate::keys::crypto::sha256;

/// Keeps the later cut-off and the longer expiry: `KEYS[1]` cut-off key, `ARGV[1]` cut-off
/// (Unix seconds), `ARGV[2]` seconds to keep it. Relative expiries, so the server's clock does
/// not matter; `TTL` and `EX` work on every Redis and Valkey version in use.
const KEEP_LATEST_CUTOFF: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]))
local keep = tonumber(ARGV[2])
local ttl = redis.call('TTL', KEYS[1])
if ttl > keep then keep = ttl end
if current == nil or current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', keep)
elseif ttl >= 0 and ttl < keep then
  redis.call('EXPIRE', KEYS[1], keep)
end
return 1
";

/// Seconds from now until `until` (at least one), for relative expiries.
fn seconds_until(until: u64) -> u64 {
    until.saturating_sub(now_secs()).max(1)
}

/// Revocations and DPoP proof identifiers in Redis, under one key prefix (default `jwt`):
/// `<prefix>:jti:<hash>`, `<prefix>:cut:<claim>:<hash>`, `<prefix>:dpop:<hash>`. Values are
/// hashed (no token identifier or subject in clear), every key expires with what it guards.
///
/// A lookup is one round trip (`MGET`); recording a proof is one `SET NX EX`. Commands time
/// out after 250 ms by default ([`RedisStore::timeout`]) and fail with
/// [`StoreError::Timeout`] / [`StoreError::Unavailable`], which the checks turn into their
/// [`crate::FailurePolicy`]. The connection is opened on first use and re-opened in the
/// background after a failure; after a failure, commands fail at once for a short pause
/// ([`RedisStore::pause_after_failure`]) so an outage does not cost every request a timeout.
///
/// ```no_run
/// use std::sync::Arc;
/// use jwt_core::{Dpop, JwtAuth, RedisStore, Revocation, StaticKeys};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = Arc::new(RedisStore::open("redis://127.0.0.1:6379/")?.prefix("agents-api"));
/// let revocation = Revocation::shared(redis.clone());
/// let auth = JwtAuth::builder().dangerous_any_issuer()
///     .verifier(StaticKeys::hs256(b"an-hs256-secret-of-at-least-32-bytes!")?)
///     .check(revocation.clone())
///     .dpop(Dpop::allowed()
///         .origin(jwt_core::HtuOrigin::Fixed("https://api.example.com".into()))
///         .shared_replay_store(redis))
///     .build()?;
/// revocation.revoke_subject("alice", 1_800_000_000).await?;
/// # let _ = auth; Ok(()) }
/// ```
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    url: String,
    /// After a failure, commands fail at once until this instant (ms since `epoch`): a
    /// server that is down costs requests nothing while it stays down.
    down_until_ms: AtomicU64,
    epoch: Instant,
    pause: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: only its host part is shown.
        let host = self
            .url
            .rsplit_once('@')
            .map_or(self.url.as_str(), |(_, host)| host);
        f.debug_struct("RedisStore")
            .field("server", &host)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: redis::RedisError) -> StoreError {
    if e.is_timeout() {
        StoreError::Timeout
    } else {
        StoreError::Unavailable(e.to_string())
    }
}

impl RedisStore {
    /// A store on the server at `url` (`redis://host:port/db`, `rediss://` for TLS is not
    /// compiled in). Nothing is sent yet: the connection opens on first use. Must be called
    /// inside a Tokio runtime.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] for a URL that cannot be parsed, or when called outside a
    /// Tokio runtime.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Unavailable(
                "RedisStore::open needs a Tokio runtime".to_owned(),
            ));
        }
        let client = redis::Client::open(url).map_err(unavailable)?;
        let timeout = Duration::from_millis(250);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            // Each command's time limit is this store's own (`RedisStore::timeout`).
            .set_response_timeout(None)
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        Ok(Self {
            conn,
            prefix: "jwt".to_owned(),
            timeout,
            url: url.to_owned(),
            down_until_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            pause: Duration::from_millis(250),
        })
    }

    /// The key prefix (default `jwt`): one per application sharing a server.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a command may take before it fails with [`StoreError::Timeout`] (default
    /// 250 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// After a failed command, how long further commands fail at once without trying the
    /// server (default 250 ms): requests are answered by the failure policy without waiting
    /// for a timeout each, and the server is tried again after the pause.
    pub fn pause_after_failure(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    fn key(&self, kind: &str, value: &[u8]) -> String {
        format!(
            "{}:{kind}:{}",
            self.prefix,
            URL_SAFE_NO_PAD.encode(sha256(value))
        )
    }

    /// The key of a value already named by a SHA-256 digest (a DPoP proof, an introspection
    /// answer): not hashed again.
    fn digest_key(&self, kind: &str, digest: &[u8; 32]) -> String {
        format!("{}:{kind}:{}", self.prefix, URL_SAFE_NO_PAD.encode(digest))
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        cmd: impl FnOnce(ConnectionManager) -> redis::RedisFuture<'static, T>,
    ) -> Result<T, StoreError> {
        let now_ms = || u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        if now_ms() < self.down_until_ms.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable(
                "failed recently; paused".to_owned(),
            ));
        }
        let result = match tokio::time::timeout(self.timeout, cmd(self.conn.clone())).await {
            Ok(result) => result.map_err(unavailable),
            Err(_) => Err(StoreError::Timeout),
        };
        if result.is_err() {
            let pause = u64::try_from(self.pause.as_millis()).unwrap_or(u64::MAX);
            self.down_until_ms
                .store(now_ms().saturating_add(pause), Ordering::Relaxed);
        }
        result
    }
}

#[async_trait]
impl RevocationStore for RedisStore {
    async fn revoke_token(&self, jti: &str, until: u64) -> Result<(), StoreError> {
        if until <= now_secs() {
            return Ok(());
        }
        let key = self.key("jti", jti.as_bytes());
        self.run(move |mut c| {
            Box::pin(async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(1)
                    .arg("EX")
                    .arg(seconds_until(until))
                    .query_async::<()>(&mut c)
                    .await
            })
        })
        .await
    }

    async fn revoke_issued_before(
        &self,
        claim: &str,
        value: &str,
        before: u64,
        until: u64,
    ) -> Result<(), StoreError> {
        if until <= now_secs() {
            return Ok(());
        }
        let key = self.key(&format!("cut:{claim}"), value.as_bytes());
        self.run(move |mut c| {
            Box::pin(async move {
                redis::Script::new(KEEP_LATEST_CUTOFF)
                    .key(key)
                    .arg(before)
                    .arg(seconds_until(until))
                    .invoke_async::<()>(&mut c)
                    .await
            })
        })
        .await
    }

    async fn lookup(&self, query: RevocationQuery<'_>) -> Result<RevocationAnswer, StoreError> {
        let mut keys = Vec::with_capacity(1 + query.claims.len());
        keys.push(match query.jti {
            Some(jti) => self.key("jti", jti.as_bytes()),
            // A key never written, so that the reply keeps one slot per query part.
            None => format!("{}:none", self.prefix),
        });
        for (claim, value) in query.claims {
            keys.push(self.key(&format!("cut:{claim}"), value.as_bytes()));
        }
        let values: Vec<Option<u64>> = self
            .run(move |mut c| {
                Box::pin(async move { redis::cmd("MGET").arg(keys).query_async(&mut c).await })
            })
            .await?;
        let jti_revoked = values.first().copied().flatten().is_some();
        let issued_before = values.iter().skip(1).flatten().copied().max();
        Ok(RevocationAnswer::new(jti_revoked, issued_before))
    }
}

#[async_trait]
impl ReplayStore for RedisStore {
    async fn first_use(&self, key: &[u8; 32], expires_at: u64) -> Result<bool, StoreError> {
        let key = self.digest_key("dpop", key);
        let stored: Option<String> = self
            .run(move |mut c| {
                Box::pin(async move {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(1)
                        .arg("NX")
                        .arg("EX")
                        .arg(seconds_until(expires_at))
                        .query_async(&mut c)
                        .await
                })
            })
            .await?;
        Ok(stored.is_some())
    }
}

/// Introspection answers (feature `introspection`) under `<prefix>:introspect:<digest>`, each
/// expiring with its answer: the key is already a SHA-256 of the token.
#[cfg(feature = "introspection")]
#[async_trait]
impl crate::keys::introspection::IntrospectionStore for RedisStore {
    async fn load_answer(&self, key: &[u8; 32], _now: u64) -> Result<Option<Vec<u8>>, StoreError> {
        // Redis drops the entry when its expiry passes; the answer's own `until` is checked
        // again by the verifier.
        let key = self.digest_key("introspect", key);
        self.run(move |mut c| {
            Box::pin(async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
        })
        .await
    }

    async fn save_answer(
        &self,
        key: &[u8; 32],
        answer: &[u8],
        until: u64,
    ) -> Result<(), StoreError> {
        if until <= now_secs() {
            return Ok(());
        }
        let key = self.digest_key("introspect", key);
        let answer = answer.to_vec();
        self.run(move |mut c| {
            Box::pin(async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(answer)
                    .arg("EX")
                    .arg(seconds_until(until))
                    .query_async::<()>(&mut c)
                    .await
            })
        })
        .await
    }
}
