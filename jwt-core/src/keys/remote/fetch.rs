//! HTTP: where the keys come from ([`Source`]: a JWKS URL, or an issuer to discover), the client
//! with every fetch limit (connect and total timeouts, no redirects, no cookies, no referer, no
//! pooled connections), one bounded GET, and OpenID Connect / RFC 8414 discovery.
//!
//! HTTP goes through `reqwest` with rustls on `aws-lc-rs`, the crypto backend the rest of this
//! crate uses: no second TLS or crypto stack. Its timeouts run on tokio's clock.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{ACCEPT, CACHE_CONTROL};

use super::config::{Settings, is_loopback};
use super::error::{FetchError, RemoteConfigError};
use super::parse;
use crate::keys::material::KeySet;

/// Where the keys come from.
pub(super) enum Source {
    /// A JWKS URL, given directly.
    Jwks(Url),
    /// An issuer whose discovery document names the JWKS URL.
    Discovery {
        /// The issuer exactly as configured: compared with the document's `issuer`.
        issuer: String,
        /// The issuer as a URL, to build the well-known URLs from.
        parsed: Url,
        /// The `jwks_uri` found by the last successful discovery.
        resolved: RwLock<Option<Url>>,
    },
}

impl Source {
    fn url(&self) -> &Url {
        match self {
            Self::Jwks(url) => url,
            Self::Discovery { parsed, .. } => parsed,
        }
    }
}

/// A fetched, parsed key set.
pub(super) struct Fetched {
    /// The keys.
    pub(super) keys: KeySet,
    /// `Cache-Control: max-age`, if the response had one.
    pub(super) max_age: Option<Duration>,
    /// SHA-256 of the document, to tell a changed set from the same one fetched again.
    pub(super) digest: [u8; 32],
}

/// The HTTP side of a remote key source: its source and its client.
pub(super) struct Fetcher {
    source: Source,
    client: reqwest::Client,
}

impl Fetcher {
    /// The client for `source`, with the limits of `s` (no proxy for loopback addresses).
    pub(super) fn new(source: Source, s: &Settings) -> Result<Self, RemoteConfigError> {
        let mut client = reqwest::Client::builder()
            .connect_timeout(s.connect_timeout)
            .timeout(s.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .pool_max_idle_per_host(0)
            .user_agent(concat!("jwt-core/", env!("CARGO_PKG_VERSION")));
        if is_loopback(source.url()) {
            client = client.no_proxy();
        }
        let client = client
            .build()
            .map_err(|e| RemoteConfigError::Client(e.to_string()))?;
        Ok(Self { source, client })
    }

    /// The source, for logs and `Debug`.
    pub(super) fn describe(&self) -> String {
        match &self.source {
            Source::Jwks(url) => url.to_string(),
            Source::Discovery { issuer, .. } => format!("discovery of {issuer}"),
        }
    }

    /// The JWKS URL, once known (discovery resolves it on the first fetch).
    pub(super) fn jwks_url(&self) -> Option<Url> {
        match &self.source {
            Source::Jwks(url) => Some(url.clone()),
            Source::Discovery { resolved, .. } => resolved
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// Fetches and parses the key set (discovering its URL first when it is not known yet).
    pub(super) async fn fetch(&self, s: &Settings) -> Result<Fetched, FetchError> {
        let url = match &self.source {
            Source::Jwks(url) => url.clone(),
            Source::Discovery {
                issuer,
                parsed,
                resolved,
            } => {
                let known = resolved
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                match known {
                    Some(url) => url,
                    None => {
                        let url = self.discover(issuer, parsed, s).await?;
                        *resolved.write().unwrap_or_else(PoisonError::into_inner) =
                            Some(url.clone());
                        url
                    }
                }
            }
        };
        let result = self.get(&url, s.max_body).await;
        if let (Err(FetchError::Status(404 | 410)), Source::Discovery { resolved, .. }) =
            (&result, &self.source)
        {
            // The provider moved its keys: discover again next time.
            *resolved.write().unwrap_or_else(PoisonError::into_inner) = None;
        }
        let (body, max_age) = result?;
        let keys = parse::jwks(&body, s)?;
        Ok(Fetched {
            keys,
            max_age,
            digest: crate::keys::crypto::sha256(&body),
        })
    }

    /// Finds the JWKS URL of `issuer` in the first well-known document that exists.
    async fn discover(&self, issuer: &str, parsed: &Url, s: &Settings) -> Result<Url, FetchError> {
        let mut last = FetchError::Status(404);
        for candidate in well_known_urls(parsed) {
            let body = match self.get(&candidate, s.max_body).await {
                Ok((body, _)) => body,
                // Not there: try the next well-known form.
                Err(e @ FetchError::Status(400..=499)) => {
                    last = e;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let url = parse::discovery_jwks_uri(&body, issuer)?;
            tracing::info!(issuer, jwks_uri = %url, "remote JWKS: discovered");
            return Ok(url);
        }
        Err(last)
    }

    /// One GET with every limit: status 200 only, no redirects, at most `limit` bytes of body.
    async fn get(
        &self,
        url: &Url,
        limit: usize,
    ) -> Result<(Vec<u8>, Option<Duration>), FetchError> {
        let response = self
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
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(parse::cache_control_max_age);
        Ok((read_bounded(response, limit).await?, max_age))
    }
}

/// A response's body, at most `limit` bytes (a declared larger length is refused unread).
pub(in crate::keys) async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(FetchError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The discovery documents for an issuer, in the order tried: OpenID Connect's
/// `{issuer}/.well-known/openid-configuration`, RFC 8414's path-inserted
/// `{origin}/.well-known/oauth-authorization-server{path}`, then
/// `{origin}/.well-known/openid-configuration{path}`.
pub(in crate::keys) fn well_known_urls(issuer: &Url) -> Vec<Url> {
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

pub(in crate::keys) fn classify(e: reqwest::Error) -> FetchError {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
