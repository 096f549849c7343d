//! Configuration: the defaults, the settings a [`crate::RemoteJwksBuilder`]
//! collects and checks, and the rule every configured or discovered URL must pass (`https`, or
//! plain `http` to a loopback address; no credentials, no fragment).

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;

use super::error::RemoteConfigError;
use crate::keys::jwk_set::MAX_JWKS_KEYS;
use crate::keys::material::JwkDefaults;

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
/// The most keys a JWKS may hold (100, the same limit as for configured JWK Sets).
pub const DEFAULT_MAX_KEYS: usize = MAX_JWKS_KEYS;
/// First retry delay after a failed fetch (1 s), doubled per failure.
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Largest retry delay after failed fetches (60 s).
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Every tunable of a remote key source; [`Settings::default`] holds the documented defaults.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) ttl: Duration,
    pub(super) honor_cache_control: bool,
    pub(super) refresh_ahead: Duration,
    pub(super) cooldown: Duration,
    pub(super) max_stale: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) timeout: Duration,
    pub(super) max_body: usize,
    pub(super) max_keys: usize,
    pub(super) backoff_initial: Duration,
    pub(super) backoff_max: Duration,
    pub(super) defaults: JwkDefaults,
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

impl Settings {
    /// Refuses settings out of range.
    pub(super) fn check(&self) -> Result<(), RemoteConfigError> {
        let bad = |setting, reason| Err(RemoteConfigError::InvalidSetting { setting, reason });
        if self.ttl < Duration::from_secs(1) {
            return bad("cache_ttl", "must be at least 1 s");
        }
        if self.connect_timeout.is_zero() || self.timeout.is_zero() {
            return bad("timeout", "must not be zero");
        }
        if self.max_body == 0 {
            return bad("max_body_bytes", "must not be zero");
        }
        if self.max_keys == 0 {
            return bad("max_keys", "must not be zero");
        }
        if self.backoff_initial.is_zero() || self.backoff_max < self.backoff_initial {
            return bad("backoff", "initial must be non-zero and not above max");
        }
        Ok(())
    }

    /// The lifetime of a set fetched with `max_age` (from `Cache-Control`): the header clamped to
    /// [1 min, 24 h] when honoured, else the configured lifetime.
    pub(super) fn ttl_for(&self, max_age: Option<Duration>) -> Duration {
        match max_age {
            Some(age) if self.honor_cache_control => {
                age.clamp(MIN_CACHE_CONTROL_TTL, MAX_CACHE_CONTROL_TTL)
            }
            _ => self.ttl,
        }
    }

    /// Upper bound for waiting on a fetch: discovery plus JWKS, each bounded by the timeout.
    pub(super) fn wait_limit(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(1)
    }
}

/// Parses `text` as the `what` URL (`JWKS`, `issuer`, `jwks_uri`) and applies the URL rule.
pub(in crate::keys) fn check_url(text: &str, what: &'static str) -> Result<Url, RemoteConfigError> {
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

/// Whether `url` names a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
pub(in crate::keys) fn is_loopback(url: &Url) -> bool {
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
    fn jwks_cache_control_is_clamped_unless_ignored() {
        let s = Settings::default();
        let ttl = |secs: Option<u64>| s.ttl_for(secs.map(Duration::from_secs)).as_secs();
        assert_eq!(ttl(None), 600);
        assert_eq!(ttl(Some(0)), 60);
        assert_eq!(ttl(Some(300)), 300);
        assert_eq!(ttl(Some(u64::MAX)), 24 * 3600);
        let ignoring = Settings {
            honor_cache_control: false,
            ttl: Duration::from_secs(42),
            ..Settings::default()
        };
        assert_eq!(
            ignoring.ttl_for(Some(Duration::from_secs(300))).as_secs(),
            42
        );
    }
}
