//! The [`Verifier`] trait and its built-ins: static keys, JWK Sets (file or inline), an ordered
//! chain (with [`KeyChain::from_env`]), static API keys and a named insecure development verifier.

use std::borrow::Borrow;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::error::{ConfigError, InvalidToken};
use crate::keys::jwk_set::{self, MAX_JWKS_KEYS, Symmetric};
use crate::keys::material::{Fallback, JwkDefaults, KeySet, VerificationKey};
use crate::token::jose::{self, HeaderMemo, TokenHeader};
use crate::token::payload::ClaimLookup;

/// What kind of credential was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// A JWT: the engine applies the claim [`crate::Validation`].
    Jwt,
    /// An opaque key (no time claims to validate).
    ApiKey,
    /// A token the authorization server vouched for (RFC 7662 introspection): its answer's
    /// members are the claims, and the engine applies the claim [`crate::Validation`] to them
    /// as to a JWT's (`exp`, `nbf`, `iat`, `aud`, `iss`, `cnf`).
    Introspected,
}

/// The result of a successful verification: what was verified, its claims, and (for a JWT) its
/// protected header.
///
/// ```
/// use jwt_core::{TokenKind, Verified};
/// let claims = serde_json::json!({"sub": "a"}).as_object().unwrap().clone();
/// let v = Verified::new(TokenKind::Introspected, claims).fresh_until(1_800_000_000);
/// assert_eq!((v.kind, v.fresh_until), (TokenKind::Introspected, Some(1_800_000_000)));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Verified {
    /// The protected header (JWTs only).
    pub header: Option<TokenHeader>,
    /// The claims.
    pub claims: Map<String, Value>,
    /// What was verified.
    pub kind: TokenKind,
    /// The last second (Unix time, exclusive) the verifier's answer may be reused: the token
    /// cache verifies the token again from then on, even if its `exp` is later. An introspected
    /// token's answer is only good for the introspection cache's lifetime (a revocation at the
    /// authorization server shows once it has passed). `None`: until `exp`.
    pub fresh_until: Option<u64>,
}

impl Verified {
    /// A verification of `kind` with `claims`, no header, reusable until `exp`.
    pub fn new(kind: TokenKind, claims: Map<String, Value>) -> Self {
        Self {
            header: None,
            claims,
            kind,
            fresh_until: None,
        }
    }

    /// A verified JWT: its header and claims.
    pub fn jwt(header: TokenHeader, claims: Map<String, Value>) -> Self {
        Self {
            header: Some(header),
            ..Self::new(TokenKind::Jwt, claims)
        }
    }

    /// The answer may be reused until `until` (Unix seconds, exclusive) at most.
    pub fn fresh_until(mut self, until: u64) -> Self {
        self.fresh_until = Some(until);
        self
    }
}

/// Why verification failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is refused (401).
    #[error(transparent)]
    Invalid(#[from] InvalidToken),
    /// No key set is available yet (503), e.g. a remote JWKS never fetched.
    #[error("verification keys unavailable")]
    Unavailable,
}

/// Verifies a token's signature (or key) and returns its claims. Claim validation (`exp`, `aud`,
/// ...) is done by the engine for every verifier alike.
///
/// ```
/// use jwt_core::{StaticKeys, Verifier, mint};
/// # tokio_test_block(async {
/// let secret = [1u8; 32];
/// let keys = StaticKeys::hs256(&secret)?;
/// let token = mint::hs256(&secret, &serde_json::json!({"sub": "a", "exp": 4_000_000_000u64}))?;
/// let verified = keys.verify(&token).await.unwrap();
/// assert_eq!(verified.claims["sub"], "a");
/// # Ok::<(), Box<dyn std::error::Error>>(()) });
/// # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
///
/// # Implementing it
///
/// `verify` proves the token genuine (a signature checked with a key you trust, a lookup in a
/// store, a call to the issuer) and returns its claims; the engine then checks `exp`, `nbf`,
/// `iat`, `aud` and `iss` the same way for every verifier. Answer
/// [`VerifyError::Invalid`] for a token you refuse (401, with the reason) and
/// [`VerifyError::Unavailable`] when you cannot decide now (503 with `Retry-After`, never an
/// allow). Change `key_generation` whenever your keys change, so the token cache drops what it
/// verified with the old ones; say `pins_issuer` when you refuse every issuer but one yourself.
/// Wrapping a built-in verifier is the usual way to add a rule:
///
/// ```
/// use jwt_core::{InvalidToken, JwtAuth, SimpleRequest, StaticKeys, Verified, Verifier, VerifyError, mint};
///
/// /// Static keys, and only tokens that say which tenant they are for.
/// #[derive(Debug)]
/// struct TenantTokens(StaticKeys);
///
/// #[async_trait::async_trait]
/// impl Verifier for TenantTokens {
///     async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
///         let verified = self.0.verify(token).await?;
///         match verified.claims.get("tenant") {
///             Some(serde_json::Value::String(_)) => Ok(verified),
///             _ => Err(InvalidToken::MissingClaim("tenant".into()).into()),
///         }
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let secret = [3u8; 32];
/// let auth = JwtAuth::builder()
///     .verifier(TenantTokens(StaticKeys::hs256(secret)?))
///     .issuer("https://idp.example.com")
///     .build()?;
/// let claims = serde_json::json!({"iss": "https://idp.example.com", "exp": 4_000_000_000u64});
/// let bearer = format!("Bearer {}", mint::hs256(&secret, &claims)?);
/// let refused = auth.authenticate(&SimpleRequest::new("GET", "/").header("Authorization", &bearer)).await;
/// assert_eq!(refused.unwrap_err().reason(), "missing_claim");
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[async_trait]
pub trait Verifier: Send + Sync + fmt::Debug {
    /// Verifies `token`.
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError>;

    /// A number that changes whenever the key set changes (rotation, a key removed). The
    /// validated-token cache drops entries verified under another generation. Static key sets
    /// never change and keep the default `0`.
    fn key_generation(&self) -> u64 {
        0
    }

    /// Whether this verifier itself refuses tokens of any issuer but its own (discovery pins the
    /// discovered issuer, [`crate::Issuers`] keys each issuer, API keys carry no issuer). The
    /// default, `false`, makes [`crate::JwtAuthBuilder::build`] ask for an issuer check.
    fn pins_issuer(&self) -> bool {
        false
    }
}

#[async_trait]
impl<V: Verifier + ?Sized> Verifier for Arc<V> {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        (**self).verify(token).await
    }

    fn key_generation(&self) -> u64 {
        (**self).key_generation()
    }

    fn pins_issuer(&self) -> bool {
        (**self).pins_issuer()
    }
}

#[async_trait]
impl<V: Verifier + ?Sized> Verifier for Box<V> {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        (**self).verify(token).await
    }

    fn key_generation(&self) -> u64 {
        (**self).key_generation()
    }

    fn pins_issuer(&self) -> bool {
        (**self).pins_issuer()
    }
}

/// Verifies a compact JWS against a key set: header rules, key lookup, signature, then claims.
pub(crate) fn verify_with(set: &KeySet, token: &str) -> Result<Verified, InvalidToken> {
    let compact = jose::split(token, usize::MAX)?;
    let (header, payload_b64) = check_signature(set, compact)?;
    let claims = jose::decode_claims(payload_b64)?;
    Ok(Verified::jwt(header, claims))
}

/// Checks a split compact JWS's algorithm and signature against a key set: its header, and
/// its payload still encoded.
pub(crate) fn check_signature<'t, H: Borrow<TokenHeader>>(
    set: &KeySet,
    compact: jose::Compact<'t, H>,
) -> Result<(H, &'t str), InvalidToken> {
    let header = compact.header.borrow();
    let alg = header.alg;
    if !set.allows(alg) {
        return Err(InvalidToken::AlgorithmNotAllowed);
    }
    let mut tried = false;
    let mut ok = false;
    for key in set.candidates(alg, header.kid.as_deref()) {
        tried = true;
        if key.verify(compact.signing_input, &compact.signature) {
            ok = true;
            break;
        }
    }
    if !tried {
        return Err(InvalidToken::UnknownKey);
    }
    if !ok {
        return Err(InvalidToken::BadSignature);
    }
    Ok((compact.header, compact.payload_b64))
}

/// [`check_signature`] of `token`, its header read through `memo` (and remembered there once
/// the signature held).
pub(crate) fn check_remembered<'t>(
    set: &KeySet,
    memo: &HeaderMemo,
    token: &'t str,
) -> Result<(Arc<TokenHeader>, &'t str), InvalidToken> {
    let compact = jose::split_with(token, usize::MAX, |encoded| memo.read(encoded))?;
    let encoded = compact.header_b64;
    let checked = check_signature(set, compact)?;
    memo.remember(encoded, &checked.0);
    Ok(checked)
}

/// A built-in verifier the engine runs itself: the signature checked in place (no boxed future),
/// the header read once per distinct header ([`HeaderMemo`]) and the payload left as text for
/// [`crate::token::payload::Members`] (no claims tree). Any other verifier goes through
/// [`Verifier::verify`].
#[derive(Debug)]
pub(crate) struct Direct {
    keys: DirectKeys,
    memo: HeaderMemo,
}

#[derive(Debug)]
enum DirectKeys {
    /// [`StaticKeys`] and [`Jwks`]: their key set.
    Set(KeySet),
    /// A [`crate::RemoteJwks`], while it holds usable keys.
    #[cfg(feature = "remote-jwks")]
    Remote(crate::keys::remote::RemoteJwks),
}

impl Direct {
    /// The direct form of `verifier`, when it is a built-in one that has one.
    pub(crate) fn of<V: Verifier + 'static>(verifier: &V) -> Option<Self> {
        let any = verifier as &dyn std::any::Any;
        let keys = if let Some(keys) = any.downcast_ref::<StaticKeys>() {
            DirectKeys::Set(keys.set.clone())
        } else if let Some(jwks) = any.downcast_ref::<Jwks>() {
            DirectKeys::Set(jwks.set.clone())
        } else {
            #[cfg(feature = "remote-jwks")]
            if let Some(remote) = any.downcast_ref::<crate::keys::remote::RemoteJwks>() {
                return Some(Self {
                    keys: DirectKeys::Remote(remote.clone()),
                    memo: HeaderMemo::default(),
                });
            }
            return None;
        };
        Some(Self {
            keys,
            memo: HeaderMemo::default(),
        })
    }

    /// The token's header and encoded payload, its signature checked; `None` when only the
    /// verifier's own path can answer (a remote key set to fetch first).
    pub(crate) fn verify<'t>(
        &self,
        token: &'t str,
    ) -> Option<Result<(Arc<TokenHeader>, &'t str), InvalidToken>> {
        match &self.keys {
            DirectKeys::Set(set) => Some(check_remembered(set, &self.memo, token)),
            #[cfg(feature = "remote-jwks")]
            DirectKeys::Remote(remote) => remote.check_signature(&self.memo, token),
        }
    }

    /// The issuer a remote key set is pinned to ([`pin_issuer`] checks it on the claims).
    pub(crate) fn pinned_issuer(&self) -> Option<&str> {
        match &self.keys {
            DirectKeys::Set(_) => None,
            #[cfg(feature = "remote-jwks")]
            DirectKeys::Remote(remote) => remote.issuer(),
        }
    }
}

/// `claims`' `iss` must be `issuer`, when there is one.
pub(crate) fn pin_issuer<L: ClaimLookup + ?Sized>(
    issuer: Option<&str>,
    claims: &L,
) -> Result<(), InvalidToken> {
    let Some(issuer) = issuer else {
        return Ok(());
    };
    match claims.member("iss").filter(|m| m.is_string()) {
        Some(iss) if iss.as_str().as_deref() == Some(issuer) => Ok(()),
        _ => Err(InvalidToken::InvalidIssuer),
    }
}

/// Static verification keys, tried by `kid` first, then in order (agno's `verification_keys`).
///
/// One key set never mixes HMAC and asymmetric algorithms (algorithm confusion, RFC 8725 §3.1).
///
/// ```
/// use jwt_core::{Algorithm, StaticKeys, VerificationKey};
/// let keys = StaticKeys::new(vec![
///     VerificationKey::hmac(Algorithm::HS256, &[1u8; 32])?.with_kid("old"),
///     VerificationKey::hmac(Algorithm::HS256, &[2u8; 32])?.with_kid("new"),
/// ])?;
/// assert_eq!(keys.len(), 2);
/// assert!(StaticKeys::hs256(b"").is_err());
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StaticKeys {
    set: KeySet,
}

impl StaticKeys {
    /// Several keys.
    ///
    /// # Errors
    /// [`ConfigError::NoKeySource`] for an empty list, [`ConfigError::MixedAlgorithmFamilies`].
    pub fn new(keys: Vec<VerificationKey>) -> Result<Self, ConfigError> {
        Ok(Self {
            set: KeySet::new(keys, Fallback::InOrder)?,
        })
    }

    /// One HS256 secret (≥ 32 bytes).
    ///
    /// # Errors
    /// [`ConfigError::WeakHmacSecret`].
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::new(vec![VerificationKey::hmac(
            Algorithm::HS256,
            secret.as_ref(),
        )?])
    }

    /// One HMAC secret for `alg`.
    ///
    /// # Errors
    /// [`ConfigError::WeakHmacSecret`], [`ConfigError::KeyAlgorithmMismatch`].
    pub fn hmac(alg: Algorithm, secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::new(vec![VerificationKey::hmac(alg, secret.as_ref())?])
    }

    /// One PEM public key for `alg`.
    ///
    /// # Errors
    /// As [`VerificationKey::from_pem`].
    pub fn pem(alg: Algorithm, pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::new(vec![VerificationKey::from_pem(alg, pem.as_ref())?])
    }

    /// One PEM public key read from a file.
    ///
    /// # Errors
    /// [`ConfigError::Io`] or as [`VerificationKey::from_pem`].
    pub fn pem_file(alg: Algorithm, path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::pem(alg, bytes)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.set.keys().len()
    }

    /// Always false: a key set has at least one key.
    pub fn is_empty(&self) -> bool {
        self.set.keys().is_empty()
    }
}

#[async_trait]
impl Verifier for StaticKeys {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        Ok(verify_with(&self.set, token)?)
    }
}

/// A JSON Web Key Set (RFC 7517) from a file or inline JSON.
///
/// Each key verifies exactly one algorithm: its `alg`, else the one its curve implies, else the
/// configured default for RSA (`RS256`). `use`/`key_ops` must allow verification; unusable keys
/// are skipped with a warning; private key material refuses the whole set; a `kid` that several
/// keys share is ambiguous and matches nothing; a token without `kid` needs exactly one key of its
/// algorithm.
///
/// ```
/// use jwt_core::Jwks;
/// let jwks = Jwks::from_json(r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"e1",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#)?;
/// assert_eq!(jwks.kids(), ["e1"]);
/// assert!(Jwks::from_json("{}").is_err());
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Jwks {
    set: KeySet,
}

impl Jwks {
    /// Parses inline JWKS JSON.
    ///
    /// # Errors
    /// [`ConfigError::InvalidJwks`], [`ConfigError::EmptyJwks`], [`ConfigError::MixedAlgorithmFamilies`].
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        Self::from_json_with(json, JwkDefaults::default())
    }

    /// Parses inline JWKS JSON with explicit defaults for keys without `alg`.
    ///
    /// # Errors
    /// As [`Jwks::from_json`].
    pub fn from_json_with(json: &str, defaults: JwkDefaults) -> Result<Self, ConfigError> {
        Ok(Self {
            set: parse_configured(json.as_bytes(), None, defaults)?,
        })
    }

    /// Reads a JWKS file.
    ///
    /// # Errors
    /// [`ConfigError::Io`] or as [`Jwks::from_json`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_file_with(path, JwkDefaults::default())
    }

    /// Reads a JWKS file with explicit defaults for keys without `alg`.
    ///
    /// # Errors
    /// As [`Jwks::from_file`].
    pub fn from_file_with(
        path: impl AsRef<Path>,
        defaults: JwkDefaults,
    ) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            set: parse_configured(&bytes, Some(path), defaults)?,
        })
    }

    /// The `kid`s of the usable keys, in order.
    pub fn kids(&self) -> Vec<&str> {
        self.set
            .keys()
            .iter()
            .filter_map(VerificationKey::kid)
            .collect()
    }

    /// The usable keys.
    pub fn keys(&self) -> &[VerificationKey] {
        self.set.keys()
    }
}

/// A configured JWK Set (file or inline): up to [`MAX_JWKS_KEYS`] keys, symmetric keys only in an
/// all-symmetric set.
fn parse_configured(
    text: &[u8],
    origin: Option<&Path>,
    defaults: JwkDefaults,
) -> Result<KeySet, ConfigError> {
    let rules = jwk_set::Rules {
        max_keys: MAX_JWKS_KEYS,
        symmetric: Symmetric::WhenAllOct,
        defaults,
        source: "JWKS",
    };
    jwk_set::parse(text, &rules).map_err(|e| e.into_config(origin))
}

#[async_trait]
impl Verifier for Jwks {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        Ok(verify_with(&self.set, token)?)
    }
}

/// Several verifiers tried in order; the first success wins. An expired token whose signature
/// verified stops the search (agno's rule); otherwise the most telling failure is reported.
///
/// ```
/// use jwt_core::{KeyChain, StaticKeys};
/// let chain = KeyChain::new()
///     .with(StaticKeys::hs256([1u8; 32])?)
///     .with(StaticKeys::hs256([2u8; 32])?);
/// assert_eq!(chain.len(), 2);
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeyChain {
    verifiers: Vec<Arc<dyn Verifier>>,
}

impl KeyChain {
    /// An empty chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a verifier.
    pub fn with(mut self, verifier: impl Verifier + 'static) -> Self {
        self.verifiers.push(Arc::new(verifier));
        self
    }

    /// Appends a shared verifier.
    pub fn with_shared(mut self, verifier: Arc<dyn Verifier>) -> Self {
        self.verifiers.push(verifier);
        self
    }

    /// The number of verifiers.
    pub fn len(&self) -> usize {
        self.verifiers.len()
    }

    /// Whether the chain is empty.
    pub fn is_empty(&self) -> bool {
        self.verifiers.is_empty()
    }

    /// Reads the agno environment: `JWT_JWKS_FILE` (a JWKS file), `JWT_JWKS` (inline JWKS JSON)
    /// and `JWT_VERIFICATION_KEY` (a PEM public key, or an HMAC secret), tried in that order.
    /// `JWT_ALGORITHM` picks the algorithm for the verification key (default: from the key type,
    /// `HS256` for secrets).
    ///
    /// # Errors
    /// [`ConfigError::NoKeySource`] when none is set, [`ConfigError::Env`] or the key's own error.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`KeyChain::from_env`], reading variables through `lookup` (for config maps and tests).
    ///
    /// ```
    /// use jwt_core::KeyChain;
    /// let secret = "s".repeat(32);
    /// let chain = KeyChain::from_lookup(|v| (v == "JWT_VERIFICATION_KEY").then(|| secret.clone()))?;
    /// assert_eq!(chain.len(), 1);
    /// assert!(KeyChain::from_lookup(|_| None).is_err());
    /// # Ok::<(), jwt_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// As [`KeyChain::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut chain = Self::new();
        if let Some(path) = get("JWT_JWKS_FILE") {
            chain = chain.with(Jwks::from_file(path.trim())?);
        }
        if let Some(json) = get("JWT_JWKS") {
            chain = chain.with(Jwks::from_json(&json)?);
        }
        if let Some(key) = get("JWT_VERIFICATION_KEY") {
            let alg = match get("JWT_ALGORITHM") {
                Some(name) => {
                    Some(crate::token::jose::parse_alg(name.trim()).ok_or_else(|| {
                        ConfigError::Env {
                            var: "JWT_ALGORITHM",
                            reason: format!("unknown algorithm {name:?}"),
                        }
                    })?)
                }
                None => None,
            };
            chain = chain.with(StaticKeys::new(vec![key_from_text(&key, alg)?])?);
        }
        if chain.is_empty() {
            return Err(ConfigError::NoKeySource);
        }
        Ok(chain)
    }
}

/// A key given as text: a PEM public key (its type picks the algorithm unless `alg` is given) or
/// an HMAC secret.
fn key_from_text(text: &str, alg: Option<Algorithm>) -> Result<VerificationKey, ConfigError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        // A JWK: it is what it says, never an HMAC secret.
        let jwk: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|_| ConfigError::InvalidKey {
                what: "JWK",
                reason: "not valid JSON",
            })?;
        let defaults = match alg {
            Some(a) if crate::keys::material::family(a) == crate::keys::material::Family::Rsa => {
                JwkDefaults::default().rsa(a)
            }
            Some(a) => JwkDefaults::default().oct(a),
            None => JwkDefaults::default(),
        };
        return VerificationKey::from_jwk(&jwk, defaults, true).map_err(ConfigError::InvalidJwk);
    }
    if !trimmed.starts_with("-----BEGIN") {
        return VerificationKey::hmac(alg.unwrap_or(Algorithm::HS256), text.as_bytes());
    }
    if let Some(alg) = alg {
        return VerificationKey::from_pem(alg, trimmed.as_bytes());
    }
    [
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ]
    .into_iter()
    .find_map(|alg| VerificationKey::from_pem(alg, trimmed.as_bytes()).ok())
    .ok_or(ConfigError::InvalidKey {
        what: "PEM",
        reason: "not an RSA (≥ 2048 bits), P-256, P-384 or Ed25519 public key",
    })
}

#[async_trait]
impl Verifier for KeyChain {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        // Report the most telling failure: a verifier that had no key for the algorithm says
        // least, one with the algorithm but no matching `kid` says more, and one that actually
        // tried a key (bad signature, malformed claims, ...) says most.
        fn rank(e: &VerifyError) -> u8 {
            match e {
                VerifyError::Invalid(InvalidToken::AlgorithmNotAllowed) => 0,
                VerifyError::Invalid(InvalidToken::UnknownKey) => 1,
                VerifyError::Unavailable => 2,
                VerifyError::Invalid(_) => 3,
            }
        }
        let mut best = VerifyError::Invalid(InvalidToken::AlgorithmNotAllowed);
        for verifier in &self.verifiers {
            match verifier.verify(token).await {
                Ok(v) => return Ok(v),
                Err(VerifyError::Invalid(InvalidToken::Expired)) => {
                    return Err(InvalidToken::Expired.into());
                }
                Err(e) if rank(&e) > rank(&best) => best = e,
                Err(_) => {}
            }
        }
        Err(best)
    }

    fn key_generation(&self) -> u64 {
        // Members only ever increase their generation, so the sum changes whenever one does.
        self.verifiers
            .iter()
            .fold(0u64, |acc, v| acc.wrapping_add(v.key_generation()))
    }

    fn pins_issuer(&self) -> bool {
        !self.verifiers.is_empty() && self.verifiers.iter().all(|v| v.pins_issuer())
    }
}

/// Static API keys (agno's `OS_SECURITY_KEY` mode), compared in constant time. Each key carries
/// the claims its holder gets (e.g. a subject and scopes).
///
/// ```
/// use jwt_core::ApiKeys;
/// let keys = ApiKeys::new().key("k-0123456789", serde_json::json!({"sub": "ci", "scopes": ["agents:read"]}))?;
/// assert_eq!(keys.len(), 1);
/// assert!(ApiKeys::new().key("", serde_json::json!({})).is_err());
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct ApiKeys {
    keys: Vec<([u8; 32], Map<String, Value>)>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl ApiKeys {
    /// No keys yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key and the claims it grants (a JSON object; anything else grants no claims).
    ///
    /// # Errors
    /// [`ConfigError::EmptyApiKey`] for an empty key.
    pub fn key(mut self, key: impl AsRef<[u8]>, claims: Value) -> Result<Self, ConfigError> {
        let key = key.as_ref();
        if key.is_empty() {
            return Err(ConfigError::EmptyApiKey);
        }
        let claims = match claims {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        self.keys.push((crate::keys::crypto::sha256(key), claims));
        Ok(self)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[async_trait]
impl Verifier for ApiKeys {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        use subtle::ConstantTimeEq as _;
        // Compare SHA-256 digests so neither content nor length leaks through timing; scan all.
        let presented = crate::keys::crypto::sha256(token.as_bytes());
        let mut found: Option<&Map<String, Value>> = None;
        for (key, claims) in &self.keys {
            if bool::from(key.ct_eq(&presented)) {
                found = Some(claims);
            }
        }
        match found {
            Some(claims) => Ok(Verified::new(TokenKind::ApiKey, claims.clone())),
            None => Err(InvalidToken::BadApiKey.into()),
        }
    }

    /// An API key is not a token: it names no issuer to check.
    fn pins_issuer(&self) -> bool {
        true
    }
}

/// **Insecure, for development only.** Accepts any structurally valid compact JWT without
/// checking its signature. The engine still checks `exp`, `nbf`, `iat`, `aud` and `iss`, and a
/// malformed token is still a 401 (agno's `validate=False` accepts those as anonymous; we do not).
///
/// ```
/// use jwt_core::dangerous::InsecureNoSignature;
/// let dev = InsecureNoSignature::new_for_development_only();
/// assert!(format!("{dev:?}").contains("Insecure"));
/// ```
#[derive(Debug, Clone)]
pub struct InsecureNoSignature {
    _private: (),
}

impl InsecureNoSignature {
    /// Builds the verifier and logs a warning that signatures are not checked.
    pub fn new_for_development_only() -> Self {
        tracing::warn!(
            "JWT signature verification is DISABLED (InsecureNoSignature): never use this in production"
        );
        Self { _private: () }
    }
}

#[async_trait]
impl Verifier for InsecureNoSignature {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        let (header_and_payload, _signature) =
            token.rsplit_once('.').ok_or(InvalidToken::Malformed)?;
        // Re-use the strict parser with a placeholder signature so every structural rule applies.
        let placeholder = format!("{header_and_payload}.AA");
        let compact = jose::split(&placeholder, usize::MAX)?;
        let claims = jose::decode_claims(compact.payload_b64)?;
        Ok(Verified::jwt(compact.header, claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_direct_path_remembers_only_headers_whose_signature_held() {
        let keys = StaticKeys::hs256([7u8; 32]).unwrap();
        let direct = Direct::of(&keys).unwrap();
        let good = crate::mint::hs256(&[7u8; 32], &json!({"sub": "a"})).unwrap();
        let forged = crate::mint::hs256(&[8u8; 32], &json!({"sub": "a"})).unwrap();
        let header = |t: &str| t.split('.').next().unwrap().to_owned();
        assert_eq!(
            direct.verify(&forged).unwrap().unwrap_err(),
            InvalidToken::BadSignature
        );
        let (first, payload) = direct.verify(&good).unwrap().unwrap();
        assert_eq!(payload, good.split('.').nth(1).unwrap());
        // Remembered now: the same header object again, and equal to the trait path's.
        let (again, _) = direct.verify(&good).unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(
            Some(&*first),
            verify_with(&keys.set, &good).unwrap().header.as_ref()
        );
        // The forged token has the same header text: still refused, the memo changes nothing.
        assert_eq!(header(&forged), header(&good));
        assert_eq!(
            direct.verify(&forged).unwrap().unwrap_err(),
            InvalidToken::BadSignature
        );
        // A verifier without a direct form goes through the trait.
        assert!(Direct::of(&KeyChain::new().with(keys)).is_none());
    }
}
