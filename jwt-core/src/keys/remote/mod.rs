//! Remote JWK Sets and OpenID Connect / RFC 8414 discovery (cargo feature `remote-jwks`).
//!
//! [`RemoteJwks`] is a [`Verifier`] whose keys come from an identity provider's JWKS URL, given
//! directly or found through discovery. It is built for rotation and outages (security.md §5):
//!
//! - **cache**: keys live 10 min by default; `Cache-Control: max-age` is honoured, clamped to
//!   [1 min, 24 h]; a background task refreshes them 30 s before they expire;
//! - **rotation**: a token whose `kid` is unknown triggers one single-flight refetch, at most one
//!   per cooldown (30 s); if the key is still unknown the token is refused (401);
//! - **outages**: failed fetches back off exponentially with jitter (1 s → 60 s); while a key set
//!   is cached no request waits on the network for it and the last good set keeps being served,
//!   for at most `max_stale` (1 h) past its expiry; with no key set at all requests get 503;
//! - **fetch limits**: connect and total timeouts (2 s / 5 s), a 64 KiB body, 100 keys, no
//!   redirects, no cookies, `https` only (plain `http` is allowed for loopback addresses);
//! - **keys**: each JWK is bound to one algorithm (its `alg`, else its curve, else
//!   [`JwkDefaults`]); `use` / `key_ops` must allow verification; unusable keys (`oct`,
//!   encryption keys, unknown types) are skipped with a warning; private material refuses the
//!   whole set; a `kid` shared by several keys is ambiguous and matches nothing.
//!
//! The one request that may wait is one whose `kid` is unknown: it waits for the single in-flight
//! refetch (bounded by the fetch timeout), or is refused at once while the cooldown runs.
//!
//! HTTP goes through `reqwest` with rustls on `aws-lc-rs`, the crypto backend the rest of this
//! crate uses: no second TLS or crypto stack.

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::{ACCEPT, CACHE_CONTROL};
use serde_json::Value;
use tokio::sync::watch;

use crate::error::InvalidToken;
use crate::error::JwkRejection;
use crate::keys::material::{Fallback, Family, JwkDefaults, KeySet, VerificationKey, family};
use crate::keys::verifier::{Verified, Verifier, VerifyError, verify_with};
use crate::token::jose;

/// Default lifetime of a fetched key set without `Cache-Control` (10 min).
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(600);
/// The smallest `Cache-Control: max-age` honoured (1 min); smaller values are raised to it.
pub const MIN_CACHE_CONTROL_TTL: Duration = Duration::from_secs(60);
/// The largest `Cache-Control: max-age` honoured (24 h); larger values are lowered to it.
pub const MAX_CACHE_CONTROL_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long before expiry the background refresh runs (30 s, at most half the lifetime).
pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(30);
/// The minimum time between two refetches caused by unknown `kid`s (30 s).
pub const DEFAULT_UNKNOWN_KID_COOLDOWN: Duration = Duration::from_secs(30);
/// How long an expired key set is still served while the provider cannot be reached (1 h).
pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(3600);
/// TCP + TLS connect timeout (2 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Total timeout of one HTTP exchange, body included (5 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS or discovery document accepted (64 KiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// The most keys a JWKS may hold (100).
pub const DEFAULT_MAX_KEYS: usize = 100;
/// First retry delay after a failed fetch (1 s), doubled per failure.
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Largest retry delay after failed fetches (60 s).
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// A mistake in a remote key source's configuration, found when it is built.
///
/// ```
/// use jwt_core::{RemoteConfigError, RemoteJwks};
/// let err = RemoteJwks::new("http://idp.example.com/jwks").unwrap_err();
/// assert!(matches!(err, RemoteConfigError::InsecureUrl { .. }));
/// assert!(RemoteJwks::new("http://127.0.0.1:8080/jwks").is_ok()); // loopback may be plain http
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteConfigError {
    /// The URL does not parse, or has a part it must not have (fragment, query for an issuer).
    #[error("invalid {what} URL {url:?}: {reason}")]
    InvalidUrl {
        /// Which URL (`JWKS`, `issuer`).
        what: &'static str,
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Not `https` (plain `http` is only allowed for loopback addresses).
    #[error("{what} URL {url:?} must use https (plain http only for loopback addresses)")]
    InsecureUrl {
        /// Which URL.
        what: &'static str,
        /// The URL as given.
        url: String,
    },
    /// The URL carries a user name or password.
    #[error("{what} URL must not contain credentials")]
    CredentialsInUrl {
        /// Which URL.
        what: &'static str,
    },
    /// A setting is out of range.
    #[error("{setting}: {reason}")]
    InvalidSetting {
        /// The builder method.
        setting: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// An issuer was given twice to [`crate::Issuers`].
    #[error("issuer {0:?} is configured twice")]
    DuplicateIssuer(String),
    /// An empty issuer name.
    #[error("issuer must not be empty")]
    EmptyIssuer,
}

/// Why fetching a discovery document or JWKS failed. Logged, counted in [`RemoteStatus`], and
/// returned by [`RemoteJwks::refresh`]; requests only ever see 401 or 503.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The connect or total timeout expired.
    #[error("timed out")]
    Timeout,
    /// The connection could not be established (refused, DNS, TLS handshake).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// Another transport error.
    #[error("transport error: {0}")]
    Transport(String),
    /// The server answered with a redirect (never followed).
    #[error("redirect refused (status {0})")]
    Redirect(u16),
    /// The server answered with another status than 200.
    #[error("unexpected HTTP status {0}")]
    Status(u16),
    /// The body is larger than the limit.
    #[error("document larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The JWKS holds more keys than the limit.
    #[error("JWKS holds {count} keys, more than {limit}")]
    TooManyKeys {
        /// Keys in the document.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a valid JWKS or discovery document.
    #[error("invalid document: {0}")]
    InvalidDocument(&'static str),
    /// The JWKS holds no key usable for verification.
    #[error("JWKS has no usable verification key")]
    NoUsableKeys,
    /// The discovery document names another issuer than the one configured.
    #[error("discovery document names issuer {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The `issuer` in the document.
        found: String,
    },
    /// The discovered `jwks_uri` is not an acceptable URL.
    #[error("discovered jwks_uri is unacceptable: {0}")]
    BadJwksUri(String),
    /// No tokio runtime is running, so nothing can be fetched.
    #[error("no tokio runtime")]
    NoRuntime,
    /// The fetch was abandoned (runtime shut down) or the caller stopped waiting for it.
    #[error("fetch abandoned")]
    Abandoned,
}

/// A snapshot of a [`RemoteJwks`]'s cache, for health checks and metrics.
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

#[derive(Debug, Clone)]
struct Settings {
    ttl: Duration,
    honor_cache_control: bool,
    refresh_ahead: Duration,
    cooldown: Duration,
    max_stale: Duration,
    connect_timeout: Duration,
    timeout: Duration,
    max_body: usize,
    max_keys: usize,
    backoff_initial: Duration,
    backoff_max: Duration,
    defaults: JwkDefaults,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ttl: DEFAULT_CACHE_TTL,
            honor_cache_control: true,
            refresh_ahead: DEFAULT_REFRESH_AHEAD,
            cooldown: DEFAULT_UNKNOWN_KID_COOLDOWN,
            max_stale: DEFAULT_MAX_STALE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY_BYTES,
            max_keys: DEFAULT_MAX_KEYS,
            backoff_initial: DEFAULT_BACKOFF_INITIAL,
            backoff_max: DEFAULT_BACKOFF_MAX,
            defaults: JwkDefaults::default(),
        }
    }
}

enum Source {
    Jwks(Url),
    Discovery {
        /// The issuer exactly as configured: compared with the document's `issuer` and with `iss`.
        issuer: String,
        parsed: Url,
        /// The `jwks_uri` found by the last successful discovery.
        resolved: RwLock<Option<Url>>,
    },
}

/// Builds a [`RemoteJwks`]: every default is security.md §5's.
///
/// ```
/// use std::time::Duration;
/// use jwt_core::RemoteJwks;
/// let keys = RemoteJwks::builder("https://idp.example.com/.well-known/jwks.json")
///     .cache_ttl(Duration::from_secs(300))
///     .unknown_kid_cooldown(Duration::from_secs(10))
///     .max_stale(Duration::from_secs(4 * 3600))
///     .issuer("https://idp.example.com")
///     .build()?;
/// assert_eq!(keys.issuer(), Some("https://idp.example.com"));
/// # Ok::<(), jwt_core::RemoteConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RemoteJwksBuilder {
    url: String,
    discovery: bool,
    issuer: Option<String>,
    settings: Settings,
}

impl RemoteJwksBuilder {
    /// The key set's lifetime when the response has no usable `Cache-Control` (default 10 min,
    /// at least 1 s).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.settings.ttl = ttl;
        self
    }

    /// Whether `Cache-Control: max-age` (clamped to [1 min, 24 h]) overrides the lifetime
    /// (default `true`).
    pub fn honor_cache_control(mut self, on: bool) -> Self {
        self.settings.honor_cache_control = on;
        self
    }

    /// How long before expiry the background refresh runs (default 30 s; never more than half
    /// the lifetime).
    pub fn refresh_ahead(mut self, ahead: Duration) -> Self {
        self.settings.refresh_ahead = ahead;
        self
    }

    /// The minimum time between refetches caused by unknown `kid`s (default 30 s).
    pub fn unknown_kid_cooldown(mut self, cooldown: Duration) -> Self {
        self.settings.cooldown = cooldown;
        self
    }

    /// How long past its expiry the last good key set is still served while fetches fail
    /// (default 1 h; `Duration::MAX` serves it indefinitely, like Envoy).
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.settings.max_stale = max_stale;
        self
    }

    /// The connect timeout (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// The total timeout of one HTTP exchange, body included (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The largest document accepted (default 64 KiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_body = bytes;
        self
    }

    /// The most keys a JWKS may hold (default 100).
    pub fn max_keys(mut self, keys: usize) -> Self {
        self.settings.max_keys = keys;
        self
    }

    /// Retry delays after failures: `initial`, doubled per failure up to `max`, each with
    /// jitter (defaults 1 s and 60 s).
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.settings.backoff_initial = initial;
        self.settings.backoff_max = max;
        self
    }

    /// The algorithm for RSA keys without `alg` (default `RS256`).
    pub fn jwk_defaults(mut self, defaults: JwkDefaults) -> Self {
        self.settings.defaults = defaults;
        self
    }

    /// Pins `iss`: a verified token whose `iss` is not exactly `issuer` is refused. Discovery
    /// pins the discovered issuer by itself.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Checks the settings and builds the verifier. Inside a tokio runtime the first fetch starts
    /// at once in the background; otherwise at the first verification.
    ///
    /// # Errors
    /// [`RemoteConfigError`] for a bad or non-https URL, a setting out of range, or an HTTP client
    /// that cannot be built.
    pub fn build(self) -> Result<RemoteJwks, RemoteConfigError> {
        let s = &self.settings;
        let bad = |setting, reason| Err(RemoteConfigError::InvalidSetting { setting, reason });
        if s.ttl < Duration::from_secs(1) {
            return bad("cache_ttl", "must be at least 1 s");
        }
        if s.connect_timeout.is_zero() || s.timeout.is_zero() {
            return bad("timeout", "must not be zero");
        }
        if s.max_body == 0 {
            return bad("max_body_bytes", "must not be zero");
        }
        if s.max_keys == 0 {
            return bad("max_keys", "must not be zero");
        }
        if s.backoff_initial.is_zero() || s.backoff_max < s.backoff_initial {
            return bad("backoff", "initial must be non-zero and not above max");
        }
        let (source, pinned, loopback) = if self.discovery {
            let parsed = check_url(&self.url, "issuer")?;
            if parsed.query().is_some() {
                return Err(RemoteConfigError::InvalidUrl {
                    what: "issuer",
                    url: self.url.clone(),
                    reason: "an issuer has no query component".into(),
                });
            }
            let loopback = is_loopback(&parsed);
            let source = Source::Discovery {
                issuer: self.url.clone(),
                parsed,
                resolved: RwLock::new(None),
            };
            (source, Some(self.issuer.unwrap_or(self.url)), loopback)
        } else {
            let parsed = check_url(&self.url, "JWKS")?;
            let loopback = is_loopback(&parsed);
            (Source::Jwks(parsed), self.issuer, loopback)
        };
        if pinned.as_deref() == Some("") {
            return Err(RemoteConfigError::EmptyIssuer);
        }
        let mut client = reqwest::Client::builder()
            .connect_timeout(s.connect_timeout)
            .timeout(s.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .pool_max_idle_per_host(0)
            .user_agent(concat!("jwt-core/", env!("CARGO_PKG_VERSION")));
        if loopback {
            client = client.no_proxy();
        }
        let client = client
            .build()
            .map_err(|e| RemoteConfigError::Client(e.to_string()))?;
        let shared = Arc::new(Shared {
            source,
            pinned_issuer: pinned,
            client,
            settings: self.settings,
            cache: RwLock::new(Cache::default()),
            flight: Mutex::new(None),
            refresher: Mutex::new(None),
            refresher_alive: AtomicBool::new(false),
            fetches_ok: AtomicU64::new(0),
            fetches_failed: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            served: AtomicBool::new(false),
        });
        shared.ensure_refresher();
        Ok(RemoteJwks { shared })
    }
}

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
/// let auth = JwtAuth::builder()
///     .verifier(keys)
///     .audience("https://api.example.com")
///     .scopes(RouteTable::agent_os().build()?)
///     .build()?;
/// # let _ = auth; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    shared: Arc<Shared>,
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status();
        f.debug_struct("RemoteJwks")
            .field("source", &self.shared.source_text())
            .field("issuer", &self.shared.pinned_issuer)
            .field("keys", &status.keys)
            .field("usable", &status.usable)
            .finish_non_exhaustive()
    }
}

impl RemoteJwks {
    /// A verifier for the JWK Set at `jwks_url`, with the default settings.
    ///
    /// ```
    /// let keys = jwt_core::RemoteJwks::new("https://idp.example.com/jwks")?;
    /// assert_eq!(keys.issuer(), None);
    /// # Ok::<(), jwt_core::RemoteConfigError>(())
    /// ```
    ///
    /// # Errors
    /// As [`RemoteJwksBuilder::build`].
    pub fn new(jwks_url: impl Into<String>) -> Result<Self, RemoteConfigError> {
        Self::builder(jwks_url).build()
    }

    /// A builder for the JWK Set at `jwks_url`.
    pub fn builder(jwks_url: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder {
            url: jwks_url.into(),
            discovery: false,
            issuer: None,
            settings: Settings::default(),
        }
    }

    /// A verifier for `issuer` through discovery, with the default settings; `iss` is pinned to
    /// `issuer`. Nothing is fetched here: the service can start while the provider is down.
    ///
    /// ```
    /// let keys = jwt_core::RemoteJwks::discover("https://idp.example.com/realms/main")?;
    /// assert_eq!(keys.issuer(), Some("https://idp.example.com/realms/main"));
    /// assert!(jwt_core::RemoteJwks::discover("https://idp.example.com/?a=b").is_err());
    /// # Ok::<(), jwt_core::RemoteConfigError>(())
    /// ```
    ///
    /// # Errors
    /// As [`RemoteJwksBuilder::build`].
    pub fn discover(issuer: impl Into<String>) -> Result<Self, RemoteConfigError> {
        Self::discovery_builder(issuer).build()
    }

    /// A builder for `issuer` through discovery. The discovery documents tried, in order:
    /// `{issuer}/.well-known/openid-configuration`, then RFC 8414's
    /// `{origin}/.well-known/oauth-authorization-server{path}`, then
    /// `{origin}/.well-known/openid-configuration{path}`; the document's `issuer` must equal
    /// `issuer` exactly and its `jwks_uri` must be https (or loopback). The `jwks_uri` found is
    /// kept; discovery runs again when it answers 404 or 410.
    pub fn discovery_builder(issuer: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder {
            url: issuer.into(),
            discovery: true,
            issuer: None,
            settings: Settings::default(),
        }
    }

    /// The issuer that `iss` is pinned to, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.shared.pinned_issuer.as_deref()
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
        let s = &self.shared;
        let now = Instant::now();
        let cache = read(&s.cache);
        let keys = cache.keys.as_deref();
        RemoteStatus {
            jwks_url: s.jwks_url().map(|u| u.to_string()),
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
            usable: cache.usable(now, &s.settings).is_some(),
            fetches_ok: s.fetches_ok.load(Ordering::Relaxed),
            fetches_failed: s.fetches_failed.load(Ordering::Relaxed),
            consecutive_failures: cache.failures,
            last_error: cache.last_error.clone(),
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
                Ok(v) => s.pin(v),
                Err(e) if may_be_rotated(&e, token) => {
                    // A key we have never seen: maybe the provider rotated. One refetch per
                    // cooldown, shared by every request that needs it.
                    let Some(rx) = s.join_or_start(Start::UnknownKid) else {
                        return Err(e.into());
                    };
                    let _ = wait(rx, s.wait_limit()).await;
                    match s.usable_keys() {
                        Some(set) => s.pin(verify_with(&set, token)?),
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
            Some(set) => s.pin(verify_with(&set, token)?),
            None => Err(VerifyError::Unavailable),
        }
    }

    /// Changes whenever the served key set changes: a fetched document differs from the last
    /// one (rotation, a key withdrawn), or the set stops (or starts) being served.
    fn key_generation(&self) -> u64 {
        let s = &self.shared;
        let served = s.usable_keys().is_some();
        if s.served.swap(served, Ordering::AcqRel) != served {
            s.generation.fetch_add(1, Ordering::AcqRel);
        }
        s.generation.load(Ordering::Acquire)
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

/// Why a fetch is wanted; decides whether cooldown and backoff apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// [`RemoteJwks::refresh`]: always.
    Force,
    /// The background refresh: unless backing off.
    Scheduled,
    /// No usable key set: unless backing off.
    NoKeys,
    /// An unknown `kid`: unless backing off or within the cooldown.
    UnknownKid,
}

type Flight = watch::Receiver<Option<Result<(), FetchError>>>;

struct Shared {
    source: Source,
    pinned_issuer: Option<String>,
    client: reqwest::Client,
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

async fn wait(mut rx: Flight, limit: Duration) -> Result<(), FetchError> {
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
    fn source_text(&self) -> String {
        match &self.source {
            Source::Jwks(url) => url.to_string(),
            Source::Discovery { issuer, .. } => format!("discovery of {issuer}"),
        }
    }

    fn jwks_url(&self) -> Option<Url> {
        match &self.source {
            Source::Jwks(url) => Some(url.clone()),
            Source::Discovery { resolved, .. } => read(resolved).clone(),
        }
    }

    /// Upper bound for waiting on a fetch: discovery plus JWKS, each bounded by the timeout.
    fn wait_limit(&self) -> Duration {
        self.settings.timeout * 2 + Duration::from_secs(1)
    }

    fn usable_keys(&self) -> Option<Arc<KeySet>> {
        read(&self.cache).usable(Instant::now(), &self.settings)
    }

    fn pin(&self, verified: Verified) -> Result<Verified, VerifyError> {
        if let Some(issuer) = &self.pinned_issuer {
            match verified.claims.get("iss") {
                Some(Value::String(iss)) if iss == issuer => {}
                _ => return Err(InvalidToken::InvalidIssuer.into()),
            }
        }
        Ok(verified)
    }

    /// Joins the fetch in flight, or starts one if `why` allows it now. The fetch runs in its own
    /// task, so a caller that stops waiting (a dropped request) does not cancel it.
    fn join_or_start(self: &Arc<Self>, why: Start) -> Option<Flight> {
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
        tracing::debug!(reason = ?why, source = %self.source_text(), "remote JWKS: fetching");
        let me = Arc::clone(self);
        runtime.spawn(async move {
            let outcome = me.fetch_and_store().await;
            let _ = tx.send(Some(outcome));
        });
        Some(rx)
    }

    /// Starts the background refresh unless it runs. Cheap when it does (one atomic load).
    fn ensure_refresher(self: &Arc<Self>) {
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
        let result = self.fetch().await;
        let now = Instant::now();
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok((set, max_age, digest)) => {
                let ttl = match max_age {
                    Some(age) if self.settings.honor_cache_control => {
                        age.clamp(MIN_CACHE_CONTROL_TTL, MAX_CACHE_CONTROL_TTL)
                    }
                    _ => self.settings.ttl,
                };
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
                    source = %self.source_text(),
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
                    source = %self.source_text(),
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

    async fn fetch(&self) -> Result<(KeySet, Option<Duration>, [u8; 32]), FetchError> {
        let url = match &self.source {
            Source::Jwks(url) => url.clone(),
            Source::Discovery {
                issuer,
                parsed,
                resolved,
            } => {
                let known = read(resolved).clone();
                match known {
                    Some(url) => url,
                    None => {
                        let url = self.discover(issuer, parsed).await?;
                        *resolved.write().unwrap_or_else(PoisonError::into_inner) =
                            Some(url.clone());
                        url
                    }
                }
            }
        };
        let result = self.get(&url).await;
        if let (Err(FetchError::Status(404 | 410)), Source::Discovery { resolved, .. }) =
            (&result, &self.source)
        {
            // The provider moved its keys: discover again next time.
            *resolved.write().unwrap_or_else(PoisonError::into_inner) = None;
        }
        let (body, max_age) = result?;
        let set = parse_remote_jwks(&body, &self.settings)?;
        Ok((set, max_age, crate::crypto::sha256(&body)))
    }

    async fn discover(&self, issuer: &str, parsed: &Url) -> Result<Url, FetchError> {
        let mut last = FetchError::Status(404);
        for candidate in well_known_urls(parsed) {
            let body = match self.get(&candidate).await {
                Ok((body, _)) => body,
                // Not there: try the next well-known form.
                Err(e @ FetchError::Status(400..=499)) => {
                    last = e;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let doc = jose::parse_strict_json(&body)
                .map_err(|_| FetchError::InvalidDocument("discovery document is not JSON"))?;
            let found =
                doc.get("issuer")
                    .and_then(Value::as_str)
                    .ok_or(FetchError::InvalidDocument(
                        "discovery document has no issuer",
                    ))?;
            if found != issuer {
                return Err(FetchError::IssuerMismatch {
                    expected: issuer.to_owned(),
                    found: found.chars().take(200).collect(),
                });
            }
            let jwks_uri =
                doc.get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or(FetchError::InvalidDocument(
                        "discovery document has no jwks_uri",
                    ))?;
            let url = check_url(jwks_uri, "jwks_uri")
                .map_err(|e| FetchError::BadJwksUri(e.to_string()))?;
            tracing::info!(issuer, jwks_uri = %url, "remote JWKS: discovered");
            return Ok(url);
        }
        Err(last)
    }

    /// One GET with every limit: status 200 only, no redirects, bounded body.
    async fn get(&self, url: &Url) -> Result<(Vec<u8>, Option<Duration>), FetchError> {
        let mut response = self
            .client
            .get(url.clone())
            .header(
                ACCEPT,
                "application/jwk-set+json, application/json;q=0.9, */*;q=0.1",
            )
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect(status.as_u16()));
        }
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status(status.as_u16()));
        }
        let limit = self.settings.max_body;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(FetchError::TooLarge { limit });
        }
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(cache_control_max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, max_age))
    }
}

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

fn classify(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_redirect() {
        FetchError::Redirect(0)
    } else if e.is_connect() {
        FetchError::Connect(error_chain(&e))
    } else {
        FetchError::Transport(error_chain(&e))
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
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

/// `max-age` from a `Cache-Control` value; `no-store` / `no-cache` count as zero (the caller
/// clamps to the minimum). `None` when there is no usable directive.
fn cache_control_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age")
            && let Some(arg) = arg
            && !arg.is_empty()
            && arg.bytes().all(|b| b.is_ascii_digit())
        {
            // Absurdly long values saturate (and are clamped to 24 h anyway).
            max_age = Some(Duration::from_secs(arg.parse().unwrap_or(u64::MAX)));
        }
    }
    max_age
}

/// Parses a fetched JWK Set: strict JSON, at most `max_keys` entries, asymmetric keys only.
fn parse_remote_jwks(body: &[u8], s: &Settings) -> Result<KeySet, FetchError> {
    let doc = jose::parse_strict_json(body)
        .map_err(|_| FetchError::InvalidDocument("JWKS is not valid JSON"))?;
    let Some(Value::Array(entries)) = doc.get("keys") else {
        return Err(FetchError::InvalidDocument("JWKS has no \"keys\" array"));
    };
    if entries.len() > s.max_keys {
        return Err(FetchError::TooManyKeys {
            count: entries.len(),
            limit: s.max_keys,
        });
    }
    let mut keys = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        // `oct` keys are refused: a published secret is no secret.
        match VerificationKey::from_jwk(entry, s.defaults, false) {
            Ok(key) => keys.push(key),
            Err(JwkRejection::PrivateMaterial) => {
                return Err(FetchError::InvalidDocument(
                    "JWKS contains private key material",
                ));
            }
            Err(reason) => {
                let kid: String = entry
                    .get("kid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .chars()
                    .take(64)
                    .collect();
                tracing::warn!(index, kid, %reason, "remote JWKS: skipping unusable JWK");
            }
        }
    }
    if keys.is_empty() {
        return Err(FetchError::NoUsableKeys);
    }
    let mut kids: Vec<&str> = keys.iter().filter_map(VerificationKey::kid).collect();
    kids.sort_unstable();
    for pair in kids.windows(2) {
        if pair[0] == pair[1] {
            let kid: String = pair[0].chars().take(64).collect();
            tracing::warn!(kid, "remote JWKS: duplicate kid, treated as ambiguous");
        }
    }
    KeySet::new(keys, Fallback::ExactlyOne)
        .map_err(|_| FetchError::InvalidDocument("JWKS mixes algorithm families"))
}

/// The discovery documents for an issuer, in the order tried.
fn well_known_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let origin = issuer.origin().ascii_serialization();
    let mut out = Vec::with_capacity(3);
    let mut push = |text: String| {
        if let Ok(url) = Url::parse(&text)
            && !out.contains(&url)
        {
            out.push(url);
        }
    };
    push(format!("{origin}{path}/.well-known/openid-configuration"));
    push(format!(
        "{origin}/.well-known/oauth-authorization-server{path}"
    ));
    push(format!("{origin}/.well-known/openid-configuration{path}"));
    out
}

fn check_url(text: &str, what: &'static str) -> Result<Url, RemoteConfigError> {
    let invalid = |reason: String| RemoteConfigError::InvalidUrl {
        what,
        url: text.to_owned(),
        reason,
    };
    let url = Url::parse(text).map_err(|e| invalid(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RemoteConfigError::CredentialsInUrl { what });
    }
    if url.fragment().is_some() {
        return Err(invalid("a fragment is not allowed".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host".into()));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(RemoteConfigError::InsecureUrl {
            what,
            url: text.to_owned(),
        }),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_urls_must_be_https_except_loopback() {
        for ok in [
            "https://idp.example.com/jwks",
            "http://127.0.0.1:8080/jwks",
            "http://127.1.2.3/jwks",
            "http://[::1]:9/jwks",
            "http://localhost:3000/jwks",
        ] {
            assert!(check_url(ok, "JWKS").is_ok(), "{ok}");
        }
        for (bad, insecure) in [
            ("http://idp.example.com/jwks", true),
            ("http://10.0.0.1/jwks", true),
            ("http://localhost.evil.com/jwks", true),
            ("ftp://idp.example.com/jwks", true),
            ("file:///etc/jwks.json", false),
            ("https://user:pw@idp.example.com/jwks", false),
            ("https://idp.example.com/jwks#frag", false),
            ("not a url", false),
        ] {
            let err = check_url(bad, "JWKS").unwrap_err();
            assert_eq!(
                matches!(err, RemoteConfigError::InsecureUrl { .. }),
                insecure,
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn jwks_well_known_forms() {
        let root = Url::parse("https://idp.example.com").unwrap();
        let list: Vec<String> = well_known_urls(&root)
            .iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(
            list,
            [
                "https://idp.example.com/.well-known/openid-configuration",
                "https://idp.example.com/.well-known/oauth-authorization-server",
            ]
        );
        let tenant = Url::parse("https://idp.example.com/realms/main/").unwrap();
        let list: Vec<String> = well_known_urls(&tenant)
            .iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(
            list,
            [
                "https://idp.example.com/realms/main/.well-known/openid-configuration",
                "https://idp.example.com/.well-known/oauth-authorization-server/realms/main",
                "https://idp.example.com/.well-known/openid-configuration/realms/main",
            ]
        );
    }

    #[test]
    fn jwks_cache_control() {
        let s = |v| cache_control_max_age(v).map(|d| d.as_secs());
        assert_eq!(s("public, max-age=300"), Some(300));
        assert_eq!(s("max-age=\"120\", must-revalidate"), Some(120));
        assert_eq!(s("no-store"), Some(0));
        assert_eq!(s("max-age=abc"), None);
        assert_eq!(s("public"), None);
        assert_eq!(s("max-age=99999999999999999999999"), Some(u64::MAX));
    }

    #[test]
    fn jwks_backoff_grows_with_jitter_and_caps() {
        let s = Settings::default();
        for _ in 0..50 {
            let d1 = backoff_delay(1, &s);
            assert!(d1 >= Duration::from_millis(500) && d1 <= Duration::from_secs(1));
            let d3 = backoff_delay(3, &s);
            assert!(d3 >= Duration::from_secs(2) && d3 <= Duration::from_secs(4));
            let d30 = backoff_delay(30, &s);
            assert!(d30 >= Duration::from_secs(30) && d30 <= Duration::from_secs(60));
        }
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
                KeySet::new(vec![key], Fallback::ExactlyOne).unwrap(),
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

    #[test]
    fn jwks_remote_documents_are_bounded() {
        let s = Settings {
            max_keys: 2,
            ..Settings::default()
        };
        let ed = r#"{"kty":"OKP","crv":"Ed25519","kid":"e1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        let three = format!(r#"{{"keys":[{ed},{ed},{ed}]}}"#);
        assert!(matches!(
            parse_remote_jwks(three.as_bytes(), &s),
            Err(FetchError::TooManyKeys { count: 3, limit: 2 })
        ));
        let oct =
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}"#;
        assert_eq!(
            parse_remote_jwks(oct.as_bytes(), &s).unwrap_err(),
            FetchError::NoUsableKeys
        );
        let private = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}"#;
        assert!(matches!(
            parse_remote_jwks(private.as_bytes(), &s),
            Err(FetchError::InvalidDocument(_))
        ));
        let dup = format!(r#"{{"keys":[{ed},{ed}]}}"#);
        let set = parse_remote_jwks(dup.as_bytes(), &s).unwrap();
        assert_eq!(
            set.candidates(jsonwebtoken::Algorithm::EdDSA, Some("e1"))
                .count(),
            0
        );
    }
}
