//! Configuration: the defaults, how this service authenticates to the authorization server
//! ([`ClientAuth`]), and [`IntrospectionBuilder`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey};

use super::cache::IntrospectionStore;
use crate::error::RemoteConfigError;

/// How long an active answer is reused by default (60 s): a token revoked at the
/// authorization server is refused at most this long after. Never past the token's `exp`.
pub const DEFAULT_INTROSPECTION_TTL: Duration = Duration::from_secs(60);
/// How long one introspection call may take, connection included (2 s).
pub const DEFAULT_INTROSPECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// After a failed call, how long requests fail at once without calling (1 s).
pub const DEFAULT_INTROSPECTION_PAUSE: Duration = Duration::from_secs(1);
/// The most answers kept in memory (10 000).
pub const DEFAULT_INTROSPECTION_ENTRIES: usize = 10_000;
/// The largest answer read (16 KiB).
pub const DEFAULT_INTROSPECTION_BODY_BYTES: usize = 16 * 1024;

/// How this service proves itself to the introspection endpoint (RFC 7662 §2.1 requires it).
///
/// ```
/// use jwt_core::ClientAuth;
/// let auth = ClientAuth::client_secret_basic("api", "s3cret");
/// assert_eq!(auth.client_id(), "api");
/// assert!(!format!("{auth:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    SecretBasic {
        /// The client id.
        client_id: String,
        /// The client secret.
        secret: String,
    },
    /// `client_secret_post`: the id and secret as form parameters.
    SecretPost {
        /// The client id.
        client_id: String,
        /// The client secret.
        secret: String,
    },
    /// `private_key_jwt`: a short-lived JWT signed with the client's private key (RFC 7523),
    /// its `aud` the issuer when known, else the endpoint URL.
    PrivateKeyJwt {
        /// The client id (`iss` and `sub` of the assertion).
        client_id: String,
        /// The signing algorithm (asymmetric).
        alg: Algorithm,
        /// The private key.
        key: EncodingKey,
        /// The `kid` the authorization server knows the key by.
        kid: Option<String>,
    },
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret or the key.
        let method = match self {
            Self::SecretBasic { .. } => "client_secret_basic",
            Self::SecretPost { .. } => "client_secret_post",
            Self::PrivateKeyJwt { .. } => "private_key_jwt",
        };
        f.debug_struct("ClientAuth")
            .field("method", &method)
            .field("client_id", &self.client_id())
            .finish_non_exhaustive()
    }
}

impl ClientAuth {
    /// `client_secret_basic`.
    pub fn client_secret_basic(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::SecretBasic {
            client_id: client_id.into(),
            secret: secret.into(),
        }
    }

    /// `client_secret_post`.
    pub fn client_secret_post(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::SecretPost {
            client_id: client_id.into(),
            secret: secret.into(),
        }
    }

    /// `private_key_jwt` with `key` (PEM through [`EncodingKey::from_ec_pem`],
    /// [`EncodingKey::from_rsa_pem`], [`EncodingKey::from_ed_pem`]) for `alg`.
    ///
    /// ```
    /// use jwt_core::{Algorithm, ClientAuth, EncodingKey};
    /// # let pem = include_bytes!("../../../tests/fixtures/p256.key");
    /// let auth = ClientAuth::private_key_jwt("api", Algorithm::ES256, EncodingKey::from_ec_pem(pem)?)
    ///     .with_kid("api-key-1");
    /// assert_eq!(auth.client_id(), "api");
    /// assert!(ClientAuth::private_key_jwt("api", Algorithm::HS256, EncodingKey::from_secret(b"x")).check().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn private_key_jwt(client_id: impl Into<String>, alg: Algorithm, key: EncodingKey) -> Self {
        Self::PrivateKeyJwt {
            client_id: client_id.into(),
            alg,
            key,
            kid: None,
        }
    }

    /// The `kid` put in a `private_key_jwt` assertion's header (ignored by the other methods).
    pub fn with_kid(mut self, id: impl Into<String>) -> Self {
        if let Self::PrivateKeyJwt { kid, .. } = &mut self {
            *kid = Some(id.into());
        }
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        match self {
            Self::SecretBasic { client_id, .. }
            | Self::SecretPost { client_id, .. }
            | Self::PrivateKeyJwt { client_id, .. } => client_id,
        }
    }

    /// Refuses what cannot authenticate: an empty id or secret, a symmetric algorithm for
    /// `private_key_jwt`.
    ///
    /// # Errors
    /// [`RemoteConfigError::InvalidSetting`].
    pub fn check(&self) -> Result<(), RemoteConfigError> {
        let invalid = |reason| RemoteConfigError::InvalidSetting {
            setting: "ClientAuth",
            reason,
        };
        if self.client_id().is_empty() {
            return Err(invalid("the client id is empty"));
        }
        match self {
            Self::SecretBasic { secret, .. } | Self::SecretPost { secret, .. }
                if secret.is_empty() =>
            {
                Err(invalid("the client secret is empty"))
            }
            Self::PrivateKeyJwt {
                alg: Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512,
                ..
            } => Err(invalid("private_key_jwt needs an asymmetric algorithm")),
            _ => Ok(()),
        }
    }
}

/// Where the introspection endpoint is.
#[derive(Debug, Clone)]
pub(super) enum Location {
    /// Configured.
    Endpoint(String),
    /// Named by the issuer's discovery document (`introspection_endpoint`).
    Discover(String),
}

/// Every tunable, with the documented defaults.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) ttl: Duration,
    pub(super) negative_ttl: Duration,
    pub(super) timeout: Duration,
    pub(super) pause: Duration,
    pub(super) max_entries: usize,
    pub(super) max_body: usize,
    pub(super) hint: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ttl: DEFAULT_INTROSPECTION_TTL,
            negative_ttl: Duration::ZERO,
            timeout: DEFAULT_INTROSPECTION_TIMEOUT,
            pause: DEFAULT_INTROSPECTION_PAUSE,
            max_entries: DEFAULT_INTROSPECTION_ENTRIES,
            max_body: DEFAULT_INTROSPECTION_BODY_BYTES,
            hint: Some("access_token".to_owned()),
        }
    }
}

impl Settings {
    fn check(&self) -> Result<(), RemoteConfigError> {
        let invalid = |setting, reason| RemoteConfigError::InvalidSetting { setting, reason };
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(60) {
            return Err(invalid("timeout", "must be between 1 ms and 60 s"));
        }
        if self.ttl > Duration::from_secs(24 * 3600) || self.negative_ttl > self.ttl {
            return Err(invalid(
                "cache_ttl",
                "at most 24 h, and the negative TTL at most the TTL",
            ));
        }
        if self.pause > Duration::from_secs(60) {
            return Err(invalid("pause_after_failure", "at most 60 s"));
        }
        if self.max_entries == 0 {
            return Err(invalid("max_entries", "must be at least 1"));
        }
        if self.max_body < 64 {
            return Err(invalid("max_body_bytes", "must be at least 64"));
        }
        Ok(())
    }
}

/// Builds an [`super::Introspection`]: [`super::Introspection::builder`] for a configured
/// endpoint, [`super::Introspection::discovery_builder`] for an issuer's.
#[derive(Debug)]
#[must_use = "a builder does nothing until it is used: keep the value each setter returns"]
pub struct IntrospectionBuilder {
    pub(super) location: Location,
    pub(super) auth: ClientAuth,
    pub(super) issuer: Option<String>,
    pub(super) settings: Settings,
    pub(super) store: Option<Arc<dyn IntrospectionStore>>,
}

impl IntrospectionBuilder {
    pub(super) fn new(location: Location, auth: ClientAuth) -> Self {
        Self {
            location,
            auth,
            issuer: None,
            settings: Settings::default(),
            store: None,
        }
    }

    /// How long an active answer is reused (default [`DEFAULT_INTROSPECTION_TTL`]; at most
    /// 24 h). Never past the token's `exp`. Zero: every request asks (no cache).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.settings.ttl = ttl;
        self
    }

    /// How long an inactive answer is remembered (default zero: never). At most the TTL. Kept
    /// in this process only, never in the shared store.
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.settings.negative_ttl = ttl;
        self
    }

    /// How long one call may take, connection included (default
    /// [`DEFAULT_INTROSPECTION_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// After the server failed (no connection, a timeout, a 5xx or 429, an unreadable answer),
    /// how long requests whose answer is not kept are answered 503 at once without calling
    /// (default [`DEFAULT_INTROSPECTION_PAUSE`], at most 60 s): an outage does not cost every
    /// request a timeout.
    pub fn pause_after_failure(mut self, pause: Duration) -> Self {
        self.settings.pause = pause;
        self
    }

    /// The most answers kept in memory (default [`DEFAULT_INTROSPECTION_ENTRIES`]).
    pub fn max_entries(mut self, entries: usize) -> Self {
        self.settings.max_entries = entries;
        self
    }

    /// The largest answer read (default [`DEFAULT_INTROSPECTION_BODY_BYTES`]).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_body = bytes;
        self
    }

    /// The `token_type_hint` sent (default `access_token`; `None` sends none).
    pub fn token_type_hint(mut self, hint: Option<&str>) -> Self {
        self.settings.hint = hint.map(str::to_owned);
        self
    }

    /// Pins the issuer: an answer's `iss` must equal it, and an answer without `iss` gets it
    /// (the authorization server that answered is the token's issuer). Discovery pins the
    /// discovered issuer already.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// A second cache level shared by every instance ([`crate::RedisStore`] with the `redis`
    /// feature): an answer one instance fetched serves the others until its lifetime ends, so
    /// N instances make about one call per token per TTL. A store that fails is skipped (the
    /// authorization server is asked), never trusted to allow.
    pub fn shared_cache(mut self, store: Arc<dyn IntrospectionStore>) -> Self {
        self.store = Some(store);
        self
    }

    pub(super) fn check(&self) -> Result<(), RemoteConfigError> {
        self.settings.check()?;
        self.auth.check()?;
        if self.issuer.as_deref() == Some("") {
            return Err(RemoteConfigError::EmptyIssuer);
        }
        Ok(())
    }
}
