//! One introspection call (RFC 7662 §2.1): the endpoint (configured, or found once through
//! discovery), the client's authentication, a bounded answer. The HTTP client refuses
//! redirects, keeps no cookies and sends no referer, like the JWKS fetcher's.

use std::sync::{PoisonError, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use url::form_urlencoded;

use super::config::{ClientAuth, Location, Settings};
use crate::clock::now_secs;
use crate::error::RemoteConfigError;
use crate::keys::remote::{
    FetchError, check_url, classify, discovery_endpoint, is_loopback, read_bounded, well_known_urls,
};

/// Where calls go.
enum Endpoint {
    Fixed(Url),
    Discovered {
        issuer: String,
        parsed: Url,
        resolved: RwLock<Option<Url>>,
        /// One discovery at a time: requests arriving meanwhile wait for its result.
        discovering: tokio::sync::Mutex<()>,
    },
}

/// Makes introspection calls.
pub(super) struct Caller {
    client: reqwest::Client,
    endpoint: Endpoint,
    auth: ClientAuth,
    hint: Option<String>,
    max_body: usize,
    /// The issuer, for a `private_key_jwt` assertion's `aud`.
    issuer: Option<String>,
}

impl Caller {
    pub(super) fn new(
        location: &Location,
        auth: ClientAuth,
        settings: &Settings,
        issuer: Option<String>,
    ) -> Result<Self, RemoteConfigError> {
        let endpoint = match location {
            Location::Endpoint(url) => Endpoint::Fixed(check_url(url, "introspection endpoint")?),
            Location::Discover(issuer) => {
                let parsed = check_url(issuer, "issuer")?;
                Endpoint::Discovered {
                    issuer: issuer.clone(),
                    parsed,
                    resolved: RwLock::new(None),
                    discovering: tokio::sync::Mutex::new(()),
                }
            }
        };
        let first = match &endpoint {
            Endpoint::Fixed(url) | Endpoint::Discovered { parsed: url, .. } => url,
        };
        let mut client = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .user_agent(concat!("jwt-core/", env!("CARGO_PKG_VERSION")));
        if is_loopback(first) {
            client = client.no_proxy();
        }
        let client = client
            .build()
            .map_err(|e| RemoteConfigError::Client(e.to_string()))?;
        Ok(Self {
            client,
            endpoint,
            auth,
            hint: settings.hint.clone(),
            max_body: settings.max_body,
            issuer,
        })
    }

    /// The endpoint, for logs.
    pub(super) fn describe(&self) -> String {
        match &self.endpoint {
            Endpoint::Fixed(url) => url.to_string(),
            Endpoint::Discovered { issuer, .. } => format!("discovery of {issuer}"),
        }
    }

    /// Asks about `token`: the answer's bytes (status 200), or why there is no answer.
    pub(super) async fn introspect(&self, token: &str) -> Result<Vec<u8>, FetchError> {
        let url = self.endpoint().await?;
        let mut request = self
            .client
            .post(url.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let ClientAuth::SecretBasic { client_id, secret } = &self.auth {
            // RFC 6749 §2.3.1: both form-encoded before Basic's base64.
            let pair = format!("{}:{}", form_encode(client_id), form_encode(secret));
            let mut basic = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(pair)))
                .map_err(|_| FetchError::Transport("unusable client credentials".into()))?;
            basic.set_sensitive(true);
            request = request.header(AUTHORIZATION, basic);
        }
        let body = self.form(token, &url)?;
        let response = request.body(body).send().await.map_err(classify)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect(status.as_u16()));
        }
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status(status.as_u16()));
        }
        read_bounded(response, self.max_body).await
    }

    /// The form: the token, the hint, and the client's credentials when they go in the body.
    fn form(&self, token: &str, url: &Url) -> Result<String, FetchError> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("token", token);
        if let Some(hint) = &self.hint {
            form.append_pair("token_type_hint", hint);
        }
        match &self.auth {
            ClientAuth::SecretBasic { .. } => {}
            ClientAuth::SecretPost { client_id, secret } => {
                form.append_pair("client_id", client_id);
                form.append_pair("client_secret", secret);
            }
            ClientAuth::PrivateKeyJwt {
                client_id,
                alg,
                key,
                kid,
            } => {
                let audience = self.issuer.clone().unwrap_or_else(|| url.to_string());
                let assertion = assertion(client_id, *alg, key, kid.as_deref(), &audience)?;
                form.append_pair("client_id", client_id);
                form.append_pair(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                );
                form.append_pair("client_assertion", &assertion);
            }
        }
        Ok(form.finish())
    }

    /// The endpoint: configured, or discovered once (again after a 404 or 410 from it).
    async fn endpoint(&self) -> Result<Url, FetchError> {
        let (issuer, parsed, resolved, discovering) = match &self.endpoint {
            Endpoint::Fixed(url) => return Ok(url.clone()),
            Endpoint::Discovered {
                issuer,
                parsed,
                resolved,
                discovering,
            } => (issuer, parsed, resolved, discovering),
        };
        let known = || {
            resolved
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        };
        if let Some(url) = known() {
            return Ok(url);
        }
        let _one_at_a_time = discovering.lock().await;
        if let Some(url) = known() {
            return Ok(url);
        }
        let mut last = FetchError::Status(404);
        for candidate in well_known_urls(parsed) {
            let response = self
                .client
                .get(candidate)
                .header(ACCEPT, "application/json")
                .send()
                .await
                .map_err(classify)?;
            let status = response.status();
            if status.is_client_error() {
                last = FetchError::Status(status.as_u16());
                continue;
            }
            if status != reqwest::StatusCode::OK {
                return Err(FetchError::Status(status.as_u16()));
            }
            let body = read_bounded(response, 64 * 1024).await?;
            let url = discovery_endpoint(&body, issuer, "introspection_endpoint")?;
            tracing::info!(issuer, introspection_endpoint = %url, "introspection: discovered");
            *resolved.write().unwrap_or_else(PoisonError::into_inner) = Some(url.clone());
            return Ok(url);
        }
        Err(last)
    }

    /// After the endpoint answered 404 or 410: discover it again next time.
    pub(super) fn forget_endpoint(&self) {
        if let Endpoint::Discovered { resolved, .. } = &self.endpoint {
            *resolved.write().unwrap_or_else(PoisonError::into_inner) = None;
        }
    }
}

fn form_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A `private_key_jwt` client assertion (RFC 7523 §3): one minute, a fresh `jti`.
pub(super) fn assertion(
    client_id: &str,
    alg: jsonwebtoken::Algorithm,
    key: &jsonwebtoken::EncodingKey,
    kid: Option<&str>,
    audience: &str,
) -> Result<String, FetchError> {
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti)
        .map_err(|_| FetchError::Transport("no randomness for the client assertion".into()))?;
    let now = now_secs();
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(jti),
        "iat": now,
        "exp": now + 60,
    });
    crate::keys::crypto::sign(alg, key, kid, Some("JWT"), &claims)
        .map_err(|_| FetchError::Transport("the client assertion cannot be signed".into()))
}
