//! [`JwtAuthBuilder`]: every setting of the engine, checked once in
//! [`JwtAuthBuilder::build`]; every mistake is a [`ConfigError`] there.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::authz::context::Revoker;
use crate::authz::routes::{RouteTable, ScopeMapper, Unmapped};
use crate::engine::cache::{TokenCache, TokenCacheConfig};
use crate::engine::checks::RequestCheck;
use crate::engine::dpop::{Dpop, DpopMode};
use crate::engine::metadata::{self, ProtectedResourceMetadata};
use crate::engine::mtls::Mtls;
use crate::engine::validation::{AudiencePolicy, Validation};
use crate::engine::{Inner, JwtAuth, OptionsPolicy, TokenLocation};
use crate::error::ConfigError;
use crate::keys::verifier::{Direct, Verifier};
use crate::render::RenderWith;
use crate::render::{AuthError, DpopChallenge, ErrorRenderer, ErrorStyle, RenderedBody};
use crate::token::claims::{ClaimRules, ClaimsConfig, StandardClaims};
use crate::token::source::{AnyOf, BearerHeader, CookieToken, TokenSource};

/// The default bound on an MCP request body: 1 MiB.
const DEFAULT_MCP_BODY_LIMIT: usize = 1 << 20;

impl JwtAuth {
    /// A builder with secure defaults: header token, `exp` required, 10 s leeway, no audience
    /// accepted unless configured, CORS preflights bypassed, every route needing a valid token.
    pub fn builder() -> JwtAuthBuilder {
        JwtAuthBuilder::default()
    }
}

/// Builds a [`JwtAuth`]; every mistake is a [`ConfigError`] from [`JwtAuthBuilder::build`].
#[derive(Default)]
#[must_use = "a builder does nothing until it is used: keep the value each setter returns"]
pub struct JwtAuthBuilder {
    verifier: Option<(Arc<dyn Verifier>, Option<Direct>)>,
    source: Option<Box<dyn TokenSource>>,
    claims: Option<ClaimRules>,
    mapper: Option<Box<dyn ScopeMapper>>,
    validation: Validation,
    audiences: Vec<String>,
    issuers: Vec<String>,
    leeway: Option<u64>,
    max_token_len: Option<usize>,
    options: OptionsPolicy,
    authorization: Option<bool>,
    realm: Option<Cow<'static, str>>,
    keep_token: bool,
    cache: Option<TokenCacheConfig>,
    cache_off: bool,
    renderer: Option<Arc<dyn ErrorRenderer>>,
    retry_after_secs: Option<u32>,
    checks: Vec<Arc<dyn RequestCheck>>,
    metadata: Option<ProtectedResourceMetadata>,
    dpop: Option<Dpop>,
    any_issuer: bool,
    revoker: Option<Arc<dyn Revoker>>,
    mcp_body_limit: Option<usize>,
    mtls: Option<Mtls>,
    error: Option<ConfigError>,
}

impl fmt::Debug for JwtAuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthBuilder").finish_non_exhaustive()
    }
}

impl JwtAuthBuilder {
    fn fail(mut self, e: ConfigError) -> Self {
        self.error.get_or_insert(e);
        self
    }

    /// The verifier (required): [`crate::StaticKeys`], [`crate::Jwks`], [`crate::KeyChain`], ...
    pub fn verifier(mut self, verifier: impl Verifier + 'static) -> Self {
        let direct = Direct::of(&verifier);
        self.verifier = Some((Arc::new(verifier), direct));
        self
    }

    /// A shared verifier.
    pub fn shared_verifier(mut self, verifier: Arc<dyn Verifier>) -> Self {
        self.verifier = Some((verifier, None));
        self
    }

    /// Uses [`crate::KeyChain::from_env`]; a missing or bad variable surfaces in `build`.
    pub fn verifier_from_env(self) -> Self {
        match crate::KeyChain::from_env() {
            Ok(chain) => self.verifier(chain),
            Err(e) => self.fail(e),
        }
    }

    /// A custom token source.
    pub fn token_source(mut self, source: impl TokenSource + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// One of agno's token locations.
    pub fn token_location(self, location: TokenLocation) -> Self {
        match location {
            TokenLocation::Header => self.token_source(BearerHeader::new()),
            TokenLocation::Cookie(name) => self.token_source(CookieToken::new(name)),
            TokenLocation::Both(name) => self.token_source(AnyOf::header_then_cookie(name)),
            TokenLocation::BothStrict(name) => {
                self.token_source(AnyOf::header_then_cookie(name).into_strict())
            }
        }
    }

    /// A custom claims mapping (default [`StandardClaims`]).
    pub fn claims(mut self, claims: impl ClaimsConfig + 'static) -> Self {
        self.claims = Some(ClaimRules::of(claims));
        self
    }

    /// The route → scope mapper. Without one the middleware authenticates only: every route
    /// that is not excluded needs a valid token and no scope. With one, a route the table does not
    /// list is refused (403) unless it opts in to [`crate::Unmapped::Authenticated`].
    pub fn scopes(mut self, mapper: impl ScopeMapper + 'static) -> Self {
        self.mapper = Some(Box::new(mapper));
        self
    }

    /// Turns scope enforcement off: every route needs only a valid token (or none, where the
    /// table says so), whatever scopes it lists. agno's `authorization=False`. A route's
    /// step-up and actor rules ([`crate::StepUp`], [`crate::Actors`]) still apply.
    pub fn dangerous_authenticate_only(mut self) -> Self {
        self.authorization = Some(false);
        self
    }

    /// The whole claim validation policy.
    ///
    /// Order does not matter: audiences and issuers added with [`Self::audience`] and
    /// [`Self::issuer`], and [`Self::leeway`] / [`Self::max_token_len`], apply on top of it
    /// whether they were called before or after.
    pub fn validation(mut self, validation: Validation) -> Self {
        self.validation = validation;
        self
    }

    /// Accepts tokens whose `aud` contains `audience`; call it again to accept several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Makes this API an OAuth protected resource (RFC 9728): every adapter serves `metadata`
    /// at its well-known path (no token needed), every challenge points at it
    /// (`resource_metadata="..."`), and tokens whose audience is the resource identifier are
    /// accepted (RFC 8707 resource indicators; with [`Self::audience`] the others too). Its
    /// `scopes_supported` default to the route table's.
    ///
    /// ```
    /// use jwt_core::{JwtAuth, ProtectedResourceMetadata, SimpleRequest, StaticKeys};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = JwtAuth::builder().dangerous_any_issuer()
    ///     .verifier(StaticKeys::hs256([7u8; 32])?)
    ///     .protected_resource(
    ///         ProtectedResourceMetadata::new("https://api.example.com")
    ///             .authorization_server("https://idp.example.com"),
    ///     )
    ///     .build()?;
    /// let doc = auth
    ///     .authenticate(&SimpleRequest::new("GET", "/.well-known/oauth-protected-resource"))
    ///     .await?;
    /// assert!(matches!(doc, jwt_core::Outcome::ResourceMetadata(_)));
    /// let refused = auth.authenticate(&SimpleRequest::new("GET", "/x")).await.unwrap_err();
    /// assert_eq!(
    ///     refused.www_authenticate(),
    ///     r#"Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn protected_resource(mut self, metadata: ProtectedResourceMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Turns DPoP on (RFC 9449): DPoP-bound tokens (`cnf.jkt`) are accepted with
    /// `Authorization: DPoP <token>` and a valid proof in the `DPoP` header, and refused
    /// otherwise (as `Bearer` too); [`Dpop::required`] refuses plain bearer tokens. Challenges
    /// advertise `DPoP algs="..."`, and the protected resource metadata
    /// `dpop_signing_alg_values_supported`. Without it, every key-bound token is refused.
    ///
    /// ```
    /// use jwt_core::{Dpop, JwtAuth, ProtectedResourceMetadata, SimpleRequest, StaticKeys};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = JwtAuth::builder().dangerous_any_issuer()
    ///     .verifier(StaticKeys::hs256([7u8; 32])?)
    ///     .protected_resource(ProtectedResourceMetadata::new("https://api.example.com"))
    ///     .dpop(Dpop::required().algorithms([jwt_core::Algorithm::ES256]))
    ///     .build()?;
    /// let refused = auth.authenticate(&SimpleRequest::new("GET", "/x")).await.unwrap_err();
    /// assert_eq!(
    ///     refused.www_authenticate(),
    ///     r#"DPoP algs="ES256", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn dpop(mut self, dpop: Dpop) -> Self {
        self.dpop = Some(dpop);
        self
    }

    /// Certificate-bound tokens (RFC 8705, mutual TLS): a token whose `cnf.x5t#S256` names a
    /// client certificate passes only with that certificate, from the TLS connection
    /// ([`crate::RequestParts::client_certificate`]) or a trusted proxy's header
    /// ([`Mtls::trusted_proxy`]); [`Mtls::required`] refuses unbound tokens. A token bound both
    /// to a DPoP key and to a certificate needs both proofs (both configured, both presented).
    /// The protected resource metadata advertises `tls_client_certificate_bound_access_tokens`.
    ///
    /// ```
    /// use jwt_core::{JwtAuth, Mtls, SimpleRequest, StaticKeys, mint};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let secret = [8u8; 32];
    /// let auth = JwtAuth::builder().dangerous_any_issuer()
    ///     .verifier(StaticKeys::hs256(secret)?)
    ///     .mtls(Mtls::if_bound())
    ///     .build()?;
    /// let der = b"the client certificate's DER";
    /// let x5t = jwt_core::certificate_thumbprint(der);
    /// let claims = serde_json::json!({"sub": "a", "exp": 4_000_000_000u64, "cnf": {"x5t#S256": x5t}});
    /// let bearer = format!("Bearer {}", mint::hs256(&secret, &claims)?);
    /// let with_cert = SimpleRequest::new("GET", "/").header("authorization", &bearer).client_certificate(der);
    /// assert!(auth.authenticate(&with_cert).await.is_ok());
    /// let without = SimpleRequest::new("GET", "/").header("authorization", &bearer);
    /// assert_eq!(auth.authenticate(&without).await.unwrap_err().reason(), "certificate_required");
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn mtls(mut self, mtls: Mtls) -> Self {
        self.mtls = Some(mtls);
        self
    }

    /// Accepts tokens whose `iss` equals `issuer`; call it again to accept several (like
    /// [`Self::audience`]).
    ///
    /// Every configuration checks the issuer unless it says otherwise: a verifier that pins it
    /// (discovery, [`crate::Issuers`]), this, or [`Self::dangerous_any_issuer`]. A shared secret
    /// or static key without any of them is a build error ([`ConfigError::NoIssuerCheck`]).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens from any issuer (or none): `iss` is not checked. Only where the keys
    /// alone say who issued the token, such as a secret shared with one issuer (agno's own
    /// HS256 setup); an explicit choice, because a key that two issuers share (or a JWKS of a
    /// multi-tenant provider) then accepts either's tokens.
    ///
    /// ```
    /// use jwt_core::{ConfigError, JwtAuth, StaticKeys};
    /// let secret = b"a-secret-of-at-least-thirty-two-bytes!";
    /// let err = JwtAuth::builder().verifier(StaticKeys::hs256(secret)?).build().unwrap_err();
    /// assert!(matches!(err, ConfigError::NoIssuerCheck));
    /// assert!(JwtAuth::builder().verifier(StaticKeys::hs256(secret)?).issuer("https://idp.example").build().is_ok());
    /// assert!(JwtAuth::builder().verifier(StaticKeys::hs256(secret)?).dangerous_any_issuer().build().is_ok());
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn dangerous_any_issuer(mut self) -> Self {
        self.any_issuer = true;
        self
    }

    /// The leeway in seconds (checked in `build`).
    pub fn leeway(mut self, secs: u64) -> Self {
        self.leeway = Some(secs);
        self
    }

    /// The maximum token length (checked in `build`).
    pub fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = Some(len);
        self
    }

    /// How `OPTIONS` is treated.
    pub fn options_policy(mut self, policy: OptionsPolicy) -> Self {
        self.options = policy;
        self
    }

    /// The realm in `WWW-Authenticate` (default `api`).
    pub fn realm(mut self, realm: impl Into<Cow<'static, str>>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Renders error bodies with `renderer` (default [`crate::DetailJson`], `{"detail": ...}`;
    /// [`crate::ProblemJson`] for RFC 9457). Status, `WWW-Authenticate` and `Retry-After` stay the
    /// core's. Adapters pick it up from the error itself, for the middleware's errors and for
    /// per-route requirements alike.
    pub fn error_renderer(mut self, renderer: impl ErrorRenderer + 'static) -> Self {
        self.renderer = Some(Arc::new(renderer));
        self
    }

    /// Renders error bodies with a closure.
    ///
    /// ```
    /// use jwt_core::{JwtAuth, RenderedBody, StaticKeys};
    /// let auth = JwtAuth::builder().dangerous_any_issuer()
    ///     .verifier(StaticKeys::hs256(b"an-hs256-secret-of-at-least-32-bytes!")?)
    ///     .render_errors_with(|err| RenderedBody::new("text/plain", err.detail().into_owned()))
    ///     .build()?;
    /// # let _ = auth; Ok::<(), jwt_core::ConfigError>(())
    /// ```
    pub fn render_errors_with<F>(self, render: F) -> Self
    where
        F: Fn(&AuthError) -> RenderedBody + Send + Sync + 'static,
    {
        self.error_renderer(RenderWith(render))
    }

    /// The `Retry-After` (seconds) of a 503 when no verification keys are available (default 5).
    pub fn retry_after(mut self, secs: u32) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// Adds a per-request check ([`RequestCheck`], e.g. [`crate::JtiDenylist`]) run on every
    /// authenticated request, cache hit or not, after the scope decision.
    pub fn check(mut self, check: impl RequestCheck + 'static) -> Self {
        // The first revocation check is also what `AuthContext::revoke` records with.
        if self.revoker.is_none() {
            let any: &dyn std::any::Any = &check;
            if let Some(r) = any.downcast_ref::<crate::Revocation>() {
                self.revoker = Some(Arc::new(r.clone()));
            } else if let Some(d) = any.downcast_ref::<crate::JtiDenylist>() {
                self.revoker = Some(Arc::new(d.clone()));
            }
        }
        self.checks.push(Arc::new(check));
        self
    }

    /// The largest body of a request to an MCP endpoint that the adapter reads (default 1 MiB):
    /// a longer one is refused with 400 and a JSON-RPC error before any handler runs.
    pub fn mcp_body_limit(mut self, bytes: usize) -> Self {
        self.mcp_body_limit = Some(bytes);
        self
    }

    /// Keeps the raw token in the [`crate::AuthContext`] (off by default).
    pub fn keep_token(mut self, keep: bool) -> Self {
        self.keep_token = keep;
        self
    }

    /// Sets the validated-token cache's limits (the cache is on by default).
    /// Like every setter, the last call wins: `.cache_tokens(false).token_cache(cfg)` is on.
    pub fn token_cache(mut self, config: TokenCacheConfig) -> Self {
        self.cache = Some(config);
        self.cache_off = false;
        self
    }

    /// Turns the validated-token cache on (default) or off; the last call wins (see
    /// [`Self::token_cache`]).
    pub fn cache_tokens(mut self, on: bool) -> Self {
        self.cache = on.then(|| self.cache.unwrap_or_default());
        self.cache_off = !on;
        self
    }

    /// The AgentOS preset: agno's route table, excluded routes, reserved subjects and `system`
    /// alias. Token source, keys and audience are still yours to set.
    pub fn agent_os(self) -> Self {
        match RouteTable::agent_os().build() {
            Ok(table) => self.scopes(table).claims(StandardClaims::agent_os()),
            Err(e) => self.fail(e),
        }
    }

    /// Checks the configuration and builds the middleware.
    ///
    /// # Errors
    /// [`ConfigError::NoKeySource`] without a verifier, [`ConfigError::LeewayOutOfRange`],
    /// [`ConfigError::MaxTokenLengthOutOfRange`], or the first error a setter recorded.
    pub fn build(mut self) -> Result<JwtAuth, ConfigError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        crate::keys::crypto::self_test()?;
        let (verifier, direct) = self.verifier.take().ok_or(ConfigError::NoKeySource)?;
        let mut validation = self.claim_rules(verifier.as_ref())?;
        if let Some(claims) = &self.claims {
            claims.check_config()?;
        }
        let mapper = match self.mapper.take() {
            Some(m) => m,
            // No table: authentication only, every route needs a valid token.
            None => Box::new(
                RouteTable::builder()
                    .unmapped(Unmapped::Authenticated)
                    .build()?,
            ),
        };
        let realm = self.realm.take().unwrap_or(Cow::Borrowed("api"));
        if realm.is_empty() {
            return Err(ConfigError::Empty("realm"));
        }
        let cache = match self.cache_off {
            true => None,
            false => Some(TokenCache::new(self.cache.take().unwrap_or_default())?),
        };
        let mtls = self.mtls.take();
        validation.mtls_binding = mtls.is_some();
        let dpop = match self.dpop.take() {
            Some(d) => {
                validation.dpop_binding = true;
                Some(d.build(self.metadata.as_ref().map(|m| m.resource()))?)
            }
            None => None,
        };
        let metadata = self.served_metadata(mapper.as_ref(), dpop.as_ref(), mtls.is_some())?;
        let style = self.error_style(&realm, metadata.as_ref(), dpop.as_ref());
        let mapper: Arc<dyn ScopeMapper> = Arc::from(mapper);
        Ok(JwtAuth {
            inner: Arc::new(Inner {
                // Never when the connection decides too (a DPoP proof, a client certificate).
                reuse_contexts: mapper.is_fixed() && dpop.is_none() && mtls.is_none(),
                has_mcp: mapper.has_mcp_endpoints(),
                mcp_body_limit: self.mcp_body_limit.unwrap_or(DEFAULT_MCP_BODY_LIMIT),
                cache,
                verifier,
                direct,
                source: self
                    .source
                    .take()
                    .unwrap_or_else(|| Box::new(BearerHeader::new())),
                claims: self.claims.take().unwrap_or_default(),
                mapper,
                validation,
                options: self.options,
                authorization: self.authorization.unwrap_or(true),
                style,
                realm,
                checks: std::mem::take(&mut self.checks),
                keep_token: self.keep_token,
                metadata,
                dpop,
                mtls,
                revoker: self.revoker.take(),
            }),
        })
    }

    /// How every error and context of the engine renders: realm, resource metadata URL,
    /// renderer, `Retry-After`, DPoP challenge.
    fn error_style(
        &mut self,
        realm: &str,
        metadata: Option<&metadata::ServedMetadata>,
        dpop: Option<&crate::engine::dpop::DpopCheck>,
    ) -> Arc<ErrorStyle> {
        Arc::new(ErrorStyle {
            realm: Arc::from(realm),
            resource_metadata: metadata.map(|m| Arc::from(&*m.url)),
            renderer: self.renderer.take(),
            retry_after_secs: self
                .retry_after_secs
                .unwrap_or(crate::limits::DEFAULT_RETRY_AFTER_SECS),
            dpop: dpop.map(|d| DpopChallenge {
                algs: d.algs_text.clone(),
                required: d.mode == DpopMode::Required,
            }),
        })
    }

    /// The claim rules with the audiences (the protected resource's too, RFC 8707), issuers,
    /// leeway and length limit set on the builder; refuses what matches no token (an empty
    /// audience or issuer) and a setup where nothing checks the issuer.
    fn claim_rules(&self, verifier: &dyn Verifier) -> Result<Validation, ConfigError> {
        let mut validation = self.validation.clone();
        let mut audiences = self.audiences.clone();
        audiences.extend(self.metadata.as_ref().map(|m| m.resource().to_owned()));
        if !audiences.is_empty() {
            let mut list = match validation.audience_settings() {
                AudiencePolicy::Require(list) => list.clone(),
                _ => Vec::new(),
            };
            list.extend(audiences);
            validation = validation.audience(list);
        }
        // An empty audience or issuer matches no token: it cannot be what the user meant.
        if let AudiencePolicy::Require(list) = validation.audience_settings()
            && (list.is_empty() || list.iter().any(String::is_empty))
        {
            return Err(ConfigError::Empty("audience"));
        }
        if self.issuers.iter().any(String::is_empty)
            || validation.issuer_settings().iter().any(String::is_empty)
        {
            return Err(ConfigError::Empty("issuer"));
        }
        if !self.issuers.is_empty() {
            let mut list = validation.issuer_settings().to_vec();
            list.extend(self.issuers.iter().cloned());
            validation = validation.issuer(list);
        }
        if validation.issuer_settings().is_empty() && !verifier.pins_issuer() && !self.any_issuer {
            return Err(ConfigError::NoIssuerCheck);
        }
        if let Some(l) = self.leeway {
            validation = validation.leeway(l)?;
        }
        if let Some(n) = self.max_token_len {
            validation = validation.max_token_len(n)?;
        }
        Ok(validation)
    }

    /// The RFC 9728 document to serve, checked, with the table's scopes and the DPoP
    /// algorithms filled in where the metadata leaves them out.
    fn served_metadata(
        &mut self,
        mapper: &dyn ScopeMapper,
        dpop: Option<&crate::engine::dpop::DpopCheck>,
        mtls: bool,
    ) -> Result<Option<metadata::ServedMetadata>, ConfigError> {
        let Some(m) = self.metadata.take() else {
            return Ok(None);
        };
        m.check()?;
        let mut m = m.with_default_scopes(mapper.scopes_supported());
        if let Some(d) = dpop {
            m = m.with_dpop(d.alg_names.clone(), d.mode == DpopMode::Required);
        }
        if mtls {
            m = m.with_mtls();
        }
        Ok(Some(metadata::ServedMetadata::new(&m)))
    }
}
