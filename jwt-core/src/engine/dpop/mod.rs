//! DPoP, sender-constrained access tokens (RFC 9449): the configuration ([`Dpop`]) and the one
//! check every adapter's requests go through. A DPoP-bound token (`cnf.jkt`) is accepted only
//! with `Authorization: DPoP <token>` and a fresh proof in the `DPoP` header, signed by the key
//! the token is bound to, for this request's method and URL, carrying the token's hash, never
//! seen before.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

pub(crate) mod nonce;
pub(crate) mod proof;
pub(crate) mod replay;
pub(crate) mod url;

use crate::engine::stores::{FailurePolicy, StoreError};
use crate::error::{AuthErrorKind, DpopConfigError, DpopRejection, InvalidToken};
use crate::keys::crypto::sha256;
use crate::keys::material::{Family, family};
use crate::render::AuthError;
use crate::token::jose::alg_name;
use crate::token::request::{HeaderLookup, RequestParts, lookup};
use crate::token::source::{BearerHeader, PendingCheck};
use nonce::DpopNonces;
use replay::{MemoryReplayStore, ReplayStore};
use url::{HtuOrigin, Origin};

/// Which credentials a DPoP-enabled API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopMode {
    /// Plain bearer tokens with `Bearer`, DPoP-bound tokens with `DPoP` and a proof (a bound
    /// token sent as `Bearer` is still refused).
    Allowed,
    /// Only DPoP-bound tokens with their proof; every `Bearer` request is refused.
    Required,
}

/// The DPoP settings of a [`crate::JwtAuth`] ([`crate::JwtAuthBuilder::dpop`]).
///
/// Defaults: every asymmetric algorithm we verify (`ES256`, `ES384`, `PS256`, `PS384`,
/// `PS512`, `RS256`, `RS384`, `RS512`, `EdDSA`); proofs accepted for 60 s after their `iat`
/// with 5 s of clock skew either way; an in-memory replay cache of 1,000,000 entries; no
/// server nonce; the `htu` origin taken from the protected resource (RFC 9728) if one is
/// configured.
///
/// ```
/// use jwt_core::{Dpop, HtuOrigin, JwtAuth, StaticKeys};
/// let auth = JwtAuth::builder().dangerous_any_issuer()
///     .verifier(StaticKeys::hs256([7u8; 32])?)
///     .dpop(Dpop::allowed().origin(HtuOrigin::Fixed("https://api.example.com".into())))
///     .build()?;
/// # let _ = auth; Ok::<(), jwt_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until it is used: keep the value each setter returns"]
pub struct Dpop {
    mode: DpopMode,
    algorithms: Vec<Algorithm>,
    origin: Option<HtuOrigin>,
    lifetime: Duration,
    skew: Duration,
    store: Option<Arc<dyn ReplayStore>>,
    replay_failure: FailurePolicy,
    nonces: Option<Arc<DpopNonces>>,
}

/// The longest proof lifetime accepted in a configuration (RFC 9449 §11.1: proofs are
/// short-lived; every accepted one is remembered that long).
pub const MAX_DPOP_PROOF_LIFETIME: Duration = Duration::from_secs(300);
const MAX_LIFETIME: Duration = MAX_DPOP_PROOF_LIFETIME;
/// The largest clock skew accepted in a configuration.
pub const MAX_DPOP_CLOCK_SKEW: Duration = Duration::from_secs(60);
const MAX_SKEW: Duration = MAX_DPOP_CLOCK_SKEW;

/// The default proof algorithms: every asymmetric one the verifier supports.
const DEFAULT_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::EdDSA,
];

impl Dpop {
    fn new(mode: DpopMode) -> Self {
        Self {
            mode,
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            origin: None,
            lifetime: Duration::from_secs(60),
            skew: Duration::from_secs(5),
            store: None,
            replay_failure: FailurePolicy::Closed,
            nonces: None,
        }
    }

    /// Bearer tokens and DPoP-bound tokens ([`DpopMode::Allowed`]).
    pub fn allowed() -> Self {
        Self::new(DpopMode::Allowed)
    }

    /// DPoP-bound tokens only ([`DpopMode::Required`]).
    pub fn required() -> Self {
        Self::new(DpopMode::Required)
    }

    /// The accepted proof algorithms (asymmetric only; checked in `build`).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Where the request's public scheme and host come from ([`HtuOrigin`]).
    pub fn origin(mut self, origin: HtuOrigin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// How long after its `iat` a proof is accepted (default 60 s, at most
    /// [`MAX_DPOP_PROOF_LIFETIME`]), and so how long its `jti` is remembered.
    pub fn proof_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The clock skew allowed on `iat`, either way (default 5 s, at most
    /// [`MAX_DPOP_CLOCK_SKEW`]).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// The replay cache (default a [`MemoryReplayStore`]); a shared store for several
    /// instances.
    pub fn replay_store(self, store: impl ReplayStore + 'static) -> Self {
        self.shared_replay_store(Arc::new(store))
    }

    /// A replay cache shared with other code (or other middlewares).
    pub fn shared_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// What happens when the replay store cannot answer (default [`FailurePolicy::Closed`]:
    /// 503 with `Retry-After`). [`FailurePolicy::DangerousOpen`] accepts the proof unrecorded, which
    /// lets a replay through while the store is down.
    pub fn replay_failure(mut self, policy: FailurePolicy) -> Self {
        self.replay_failure = policy;
        self
    }

    /// Requires server nonces (RFC 9449 §9): a proof without a current one is refused with
    /// `use_dpop_nonce` and a fresh `DPoP-Nonce`.
    pub fn nonces(mut self, nonces: DpopNonces) -> Self {
        self.nonces = Some(Arc::new(nonces));
        self
    }

    /// Checks the settings; `resource` is the protected resource identifier, if any.
    pub(crate) fn build(self, resource: Option<&str>) -> Result<DpopCheck, DpopConfigError> {
        if self.algorithms.is_empty() {
            return Err(DpopConfigError::NoAlgorithms);
        }
        if let Some(alg) = self.algorithms.iter().find(|a| family(**a) == Family::Hmac) {
            return Err(DpopConfigError::SymmetricAlgorithm(*alg));
        }
        if self.lifetime.as_secs() == 0 {
            return Err(DpopConfigError::ZeroDuration("proof lifetime"));
        }
        if self.lifetime > MAX_LIFETIME || self.skew > MAX_SKEW {
            return Err(DpopConfigError::TooLong);
        }
        let origin = match (&self.origin, resource) {
            (Some(origin), _) => origin.clone(),
            (None, Some(resource)) => {
                // The resource's scheme and host; the path is the request's.
                let parsed = ::url::Url::parse(resource)
                    .map_err(|_| DpopConfigError::BadOrigin(resource.to_owned()))?;
                HtuOrigin::Fixed(parsed.origin().ascii_serialization())
            }
            (None, None) => return Err(DpopConfigError::NoOrigin),
        };
        let checked = Origin::new(&origin).ok_or_else(|| {
            DpopConfigError::BadOrigin(match &origin {
                HtuOrigin::Fixed(s) | HtuOrigin::Host(s) => s.clone(),
                HtuOrigin::TrustedProxy => String::new(),
            })
        })?;
        let alg_names: Vec<&'static str> = self.algorithms.iter().map(|a| alg_name(*a)).collect();
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryReplayStore::default()));
        Ok(DpopCheck {
            mode: self.mode,
            algs_text: alg_names.join(" "),
            alg_names,
            algorithms: self.algorithms,
            origin: checked,
            lifetime: self.lifetime.as_secs(),
            skew: self.skew.as_secs(),
            immediate: store.completes_immediately(),
            store,
            replay_failure: self.replay_failure,
            nonces: self.nonces,
            scheme: BearerHeader::new().scheme("DPoP"),
        })
    }
}

/// A proof to remember: its key in the replay cache and until when.
#[derive(Debug)]
pub(crate) struct ReplayEntry {
    key: [u8; 32],
    expires_at: u64,
}

/// A checked [`Dpop`]: what the engine runs.
#[derive(Debug)]
pub(crate) struct DpopCheck {
    pub(crate) mode: DpopMode,
    pub(crate) algorithms: Vec<Algorithm>,
    /// The algorithm names, space-separated (`algs` of the challenge).
    pub(crate) algs_text: String,
    /// The algorithm names, for the metadata's `dpop_signing_alg_values_supported`.
    pub(crate) alg_names: Vec<&'static str>,
    origin: Origin,
    /// The replay store answers without waiting (the engine may decide in place).
    pub(crate) immediate: bool,
    lifetime: u64,
    skew: u64,
    store: Arc<dyn ReplayStore>,
    replay_failure: FailurePolicy,
    nonces: Option<Arc<DpopNonces>>,
    scheme: BearerHeader,
}

impl DpopCheck {
    /// The token of an `Authorization: DPoP <token>` header; `None` when the request does not
    /// use that scheme (the configured token source then reads it).
    pub(crate) fn locate<'r>(
        &self,
        req: &'r dyn RequestParts,
    ) -> Result<Option<(&'r [u8], PendingCheck)>, AuthError> {
        let HeaderLookup::One(value) = lookup(req, "authorization") else {
            return Ok(None);
        };
        let value = value.trim_ascii_start();
        let is_dpop = value
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"dpop"))
            && value.get(4).is_none_or(|b| matches!(b, b' ' | b'\t'));
        if !is_dpop {
            return Ok(None);
        }
        self.scheme.locate(req)
    }

    /// The proof-of-possession decision for an authenticated token bound to `bound` (its
    /// `cnf.jkt`, read by [`crate::engine::binding::Binding`]), after its signature and claims
    /// passed: `dpop_scheme` says whether it came as `DPoP`. A proof
    /// that passed every check is returned as the replay-cache entry to [`Self::record`]
    /// (synchronous up to there, so no request reference is held across the store's wait).
    pub(crate) fn check(
        &self,
        req: &dyn RequestParts,
        token: &[u8],
        bound: Option<&str>,
        dpop_scheme: bool,
        now: u64,
    ) -> Result<Option<ReplayEntry>, AuthError> {
        let proofs = lookup(req, "dpop");
        if !dpop_scheme {
            if bound.is_some() {
                return Err(InvalidToken::SenderConstrained.into());
            }
            if self.mode == DpopMode::Required {
                return Err(InvalidToken::DpopRequired.into());
            }
            if proofs != HeaderLookup::Missing {
                return Err(AuthErrorKind::InvalidRequest(
                    "A DPoP proof was sent with a bearer token",
                )
                .into());
            }
            return Ok(None);
        }
        let bound = bound.ok_or(InvalidToken::NotDpopBound)?;
        let reject = |why| AuthError::new(AuthErrorKind::InvalidDpopProof(why));
        let proof = match proofs {
            HeaderLookup::Missing => return Err(reject(DpopRejection::Missing)),
            HeaderLookup::Several => return Err(reject(DpopRejection::Several)),
            HeaderLookup::One(v) => std::str::from_utf8(v)
                .map_err(|_| reject(DpopRejection::Malformed))?
                .trim(),
        };
        let proof = proof::verify(proof, &self.algorithms).map_err(reject)?;
        self.check_proof(req, token, bound, &proof, now)
            .map_err(reject)?;
        if let Some(nonces) = &self.nonces
            && !proof
                .nonce
                .as_deref()
                .is_some_and(|n| nonces.accepts_at(n, now))
        {
            return Err(AuthErrorKind::UseDpopNonce(nonces.issue(now)).into());
        }
        // Recorded last, so only a proof that passed everything is remembered.
        Ok(Some(self.replay_entry(&proof, now)))
    }

    /// The checks of a verified proof against this request and its token (RFC 9449 §4.3):
    /// `htm`, `htu` (strict syntax, then normalised), `iat` within the window, `ath`, and the
    /// key the token is bound to.
    fn check_proof(
        &self,
        req: &dyn RequestParts,
        token: &[u8],
        bound: &str,
        proof: &proof::Proof,
        now: u64,
    ) -> Result<(), DpopRejection> {
        if proof.htm != req.method() {
            return Err(DpopRejection::MethodMismatch);
        }
        if !url::is_strict_absolute_uri(&proof.htu) {
            return Err(DpopRejection::HtuNotAbsolute);
        }
        let expected = self.origin.request_url(req)?;
        match (url::normalize(&proof.htu), url::normalize(&expected)) {
            (Some(sent), Some(actual)) if sent == actual => {}
            _ => return Err(DpopRejection::UrlMismatch),
        }
        let now_i = i64::try_from(now).unwrap_or(i64::MAX);
        let (lifetime, skew) = (self.lifetime as i64, self.skew as i64);
        if proof.iat > now_i.saturating_add(skew)
            || proof.iat.saturating_add(lifetime).saturating_add(skew) < now_i
        {
            return Err(DpopRejection::Stale);
        }
        match &proof.ath {
            None => return Err(DpopRejection::MissingClaim),
            Some(ath) if *ath != proof::access_token_hash(token) => {
                return Err(DpopRejection::AthMismatch);
            }
            Some(_) => {}
        }
        if proof.jkt != bound {
            return Err(DpopRejection::KeyMismatch);
        }
        Ok(())
    }

    /// The replay-cache entry of an accepted proof: its key and `jti`, remembered through the
    /// last second it could be accepted (`iat + lifetime + skew`), forgotten after.
    fn replay_entry(&self, proof: &proof::Proof, now: u64) -> ReplayEntry {
        let mut keyed = Vec::with_capacity(proof.jkt.len() + 1 + proof.jti.len());
        keyed.extend_from_slice(proof.jkt.as_bytes());
        keyed.push(0);
        keyed.extend_from_slice(proof.jti.as_bytes());
        let (lifetime, skew) = (self.lifetime as i64, self.skew as i64);
        let expires_at = u64::try_from(proof.iat.saturating_add(lifetime).saturating_add(skew))
            .unwrap_or(0)
            .max(now)
            .saturating_add(1);
        ReplayEntry {
            key: sha256(&keyed),
            expires_at,
        }
    }

    /// Records an accepted proof in the replay cache: a proof seen before is refused
    /// (`invalid_dpop_proof`), a store that cannot answer is a 503.
    pub(crate) async fn record(&self, entry: ReplayEntry) -> Result<(), AuthError> {
        let reject = |why| AuthError::new(AuthErrorKind::InvalidDpopProof(why));
        match self.store.first_use(&entry.key, entry.expires_at).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(reject(DpopRejection::Replayed)),
            // A full in-process store refuses whatever the policy: letting the proof through
            // unrecorded would make it replayable.
            Err(e @ StoreError::Full) => {
                tracing::warn!(error = %e, "DPoP replay store full: refusing");
                Err(AuthErrorKind::StoreUnavailable.into())
            }
            Err(e) => self.replay_failure.on_error("DPoP replay", &e),
        }
    }
}
