//! Building a [`RemoteJwks`]: its constructors and [`RemoteJwksBuilder`], which checks the URL
//! and the settings, builds the HTTP client and starts the background refresh.

use std::sync::RwLock;
use std::time::Duration;

use super::config::{Settings, check_url};
use super::error::RemoteConfigError;
use super::fetch::{Fetcher, Source};
use super::refresh::Shared;
use super::verifier::RemoteJwks;
use crate::keys::material::JwkDefaults;

/// Builds a [`RemoteJwks`]: every default is the documented one (see the `DEFAULT_*` constants).
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
        self.settings.check()?;
        let (source, pinned) = if self.discovery {
            let parsed = check_url(&self.url, "issuer")?;
            if parsed.query().is_some() {
                return Err(RemoteConfigError::InvalidUrl {
                    what: "issuer",
                    url: self.url.clone(),
                    reason: "an issuer has no query component".into(),
                });
            }
            let source = Source::Discovery {
                issuer: self.url.clone(),
                parsed,
                resolved: RwLock::new(None),
            };
            (source, Some(self.issuer.unwrap_or(self.url)))
        } else {
            let parsed = check_url(&self.url, "JWKS")?;
            (Source::Jwks(parsed), self.issuer)
        };
        if pinned.as_deref() == Some("") {
            return Err(RemoteConfigError::EmptyIssuer);
        }
        let fetcher = Fetcher::new(source, &self.settings)?;
        Ok(RemoteJwks::start(
            Shared::new(fetcher, self.settings),
            pinned,
        ))
    }
}
