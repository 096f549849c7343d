//! Verification keys, parsed once at build time and each bound to exactly one algorithm
//! (RFC 8725 §3.1): HMAC secrets, RSA / EC / Ed25519 public keys from PEM, DER or JWK, and the
//! key sets they form (JWK Set documents are read by [`crate::keys::jwk_set`]).
//!
//! Signatures are checked with `aws-lc-rs`, the backend that `jsonwebtoken`'s `aws_lc_rs`
//! feature selects (see [`crate::keys::crypto`]); keys are pre-parsed so no request pays for key decoding.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::{hmac, signature as sig};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use serde::Deserialize;

use crate::error::{ConfigError, JwkRejection};
use crate::token::jose::{alg_name, parse_alg};

/// The family of an algorithm: one key set never mixes HMAC with asymmetric algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Hmac,
    Rsa,
    Ec,
    Ed,
    /// An algorithm added to `jsonwebtoken` after this crate was written: never usable.
    Other,
}

pub(crate) fn family(alg: Algorithm) -> Family {
    use Algorithm::*;
    match alg {
        HS256 | HS384 | HS512 => Family::Hmac,
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => Family::Rsa,
        ES256 | ES384 => Family::Ec,
        EdDSA => Family::Ed,
        _ => Family::Other,
    }
}

fn public_params(alg: Algorithm) -> Option<&'static dyn sig::VerificationAlgorithm> {
    use Algorithm::*;
    Some(match alg {
        RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        EdDSA => &sig::ED25519,
        _ => return None,
    })
}

fn rsa_params(alg: Algorithm) -> &'static sig::RsaParameters {
    use Algorithm::*;
    match alg {
        RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        _ => &sig::RSA_PSS_2048_8192_SHA512,
    }
}

/// Minimum HMAC secret length in bytes (RFC 7518 §3.2: at least the hash output).
fn hmac_min_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

#[derive(Clone)]
enum Material {
    Hmac(Arc<hmac::Key>),
    Public(Arc<sig::ParsedPublicKey>),
}

/// One verification key, bound to one algorithm and optionally named by a `kid`.
///
/// Key material never appears in `Debug` output.
///
/// ```
/// use jwt_core::{Algorithm, VerificationKey};
/// let key = VerificationKey::hmac(Algorithm::HS256, &[7u8; 32])?.with_kid("k1");
/// assert_eq!(key.algorithm(), Algorithm::HS256);
/// assert_eq!(key.kid(), Some("k1"));
/// assert!(!format!("{key:?}").contains("7, 7"));
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct VerificationKey {
    alg: Algorithm,
    kid: Option<String>,
    material: Material,
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("alg", &alg_name(self.alg))
            .field("kid", &self.kid)
            .field("material", &"<redacted>")
            .finish()
    }
}

impl VerificationKey {
    /// An HMAC secret for `HS256` (≥ 32 bytes), `HS384` (≥ 48) or `HS512` (≥ 64).
    ///
    /// # Errors
    /// [`ConfigError::WeakHmacSecret`] for a short or empty secret,
    /// [`ConfigError::KeyAlgorithmMismatch`] for a non-HMAC algorithm.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        let digest = match alg {
            Algorithm::HS256 => hmac::HMAC_SHA256,
            Algorithm::HS384 => hmac::HMAC_SHA384,
            Algorithm::HS512 => hmac::HMAC_SHA512,
            other => {
                return Err(ConfigError::KeyAlgorithmMismatch {
                    alg: alg_name(other),
                });
            }
        };
        if is_public_key_material(secret) {
            return Err(ConfigError::InvalidKey {
                what: "HMAC",
                reason: "the secret is public-key material (PEM, OpenSSH, JWK or DER); configure it as a public key",
            });
        }
        let min = hmac_min_len(alg);
        if secret.len() < min {
            return Err(ConfigError::WeakHmacSecret {
                alg: alg_name(alg),
                len: secret.len(),
                min,
            });
        }
        Ok(Self {
            alg,
            kid: None,
            material: Material::Hmac(Arc::new(hmac::Key::new(digest, secret))),
        })
    }

    /// A public key in PEM form (`PUBLIC KEY`, `RSA PUBLIC KEY`) for an RS*, PS*, ES* or EdDSA
    /// algorithm.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] when the PEM cannot be parsed or does not fit `alg`,
    /// [`ConfigError::WeakRsaKey`] for RSA keys under 2048 bits.
    pub fn from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidKey {
            what: family_name(family(alg)),
            reason,
        };
        let decoded = match family(alg) {
            Family::Hmac | Family::Other => {
                return Err(ConfigError::KeyAlgorithmMismatch { alg: alg_name(alg) });
            }
            Family::Rsa => DecodingKey::from_rsa_pem(pem),
            Family::Ec => DecodingKey::from_ec_pem(pem),
            Family::Ed => DecodingKey::from_ed_pem(pem),
        }
        .map_err(|_| invalid("not a PEM public key of this type"))?;
        match decoded.kind() {
            DecodingKeyKind::SecretOrDer(bytes) => Self::from_der(alg, bytes),
            DecodingKeyKind::RsaModulusExponent { n, e } => Self::from_rsa_components(alg, n, e),
        }
    }

    /// A public key in DER form: SubjectPublicKeyInfo, PKCS#1 `RSAPublicKey`, an uncompressed
    /// SEC1 EC point, or a raw 32-byte Ed25519 key.
    ///
    /// # Errors
    /// As [`VerificationKey::from_pem`].
    pub fn from_der(alg: Algorithm, der: &[u8]) -> Result<Self, ConfigError> {
        let fam = family(alg);
        let invalid = |reason| ConfigError::InvalidKey {
            what: family_name(fam),
            reason,
        };
        let Some(params) = public_params(alg) else {
            return Err(ConfigError::KeyAlgorithmMismatch { alg: alg_name(alg) });
        };
        match fam {
            Family::Hmac | Family::Other => {
                Err(ConfigError::KeyAlgorithmMismatch { alg: alg_name(alg) })
            }
            Family::Rsa => {
                let public = aws_lc_rs::rsa::PublicKey::from_der(der)
                    .map_err(|_| invalid("not an RSA public key"))?;
                check_rsa(
                    public.modulus().big_endian_without_leading_zero(),
                    public.exponent().big_endian_without_leading_zero(),
                )?;
                let parsed = sig::ParsedPublicKey::new(params, der)
                    .map_err(|_| invalid("not an RSA public key"))?;
                Ok(Self::public(alg, parsed))
            }
            Family::Ec | Family::Ed => {
                let parsed = sig::ParsedPublicKey::new(params, der)
                    .map_err(|_| invalid("not a public key on the curve this algorithm needs"))?;
                Ok(Self::public(alg, parsed))
            }
        }
    }

    /// An RSA public key from its big-endian modulus and exponent.
    ///
    /// # Errors
    /// [`ConfigError::WeakRsaKey`] under 2048 bits, [`ConfigError::InvalidKey`] for a bad exponent.
    pub fn from_rsa_components(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Self, ConfigError> {
        if family(alg) != Family::Rsa {
            return Err(ConfigError::KeyAlgorithmMismatch { alg: alg_name(alg) });
        }
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        check_rsa(n, e)?;
        let parsed = sig::RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(rsa_params(alg))
            .map_err(|_| ConfigError::InvalidKey {
                what: "RSA",
                reason: "inconsistent modulus and exponent",
            })?;
        Ok(Self::public(alg, parsed))
    }

    fn public(alg: Algorithm, parsed: sig::ParsedPublicKey) -> Self {
        Self {
            alg,
            kid: None,
            material: Material::Public(Arc::new(parsed)),
        }
    }

    /// Names this key with a `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub(crate) fn family(&self) -> Family {
        family(self.alg)
    }

    /// Checks `signature` over `message` (constant-time for HMAC).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            Material::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Material::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

/// Whether `secret` is, or is the text of, a public key or certificate. Such material is public,
/// so using it as an HMAC secret lets anyone forge tokens (algorithm confusion, the
/// CVE-2022-29217 class); it is refused at configuration time.
pub(crate) fn is_public_key_material(secret: &[u8]) -> bool {
    if is_public_key_der(secret) {
        return true;
    }
    let Ok(text) = std::str::from_utf8(secret) else {
        return false;
    };
    let text = text.trim();
    const PREFIXES: [&str; 7] = [
        "-----BEGIN",
        "ssh-rsa ",
        "ssh-ed25519 ",
        "ssh-dss ",
        "ecdsa-sha2-",
        "sk-ecdsa-sha2-",
        "sk-ssh-ed25519",
    ];
    if PREFIXES.iter().any(|p| text.starts_with(p)) {
        return true;
    }
    if text.starts_with('{')
        && serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.get("kty").is_some())
    {
        return true;
    }
    // Base64 of a DER public key (a PEM body without its armour lines).
    let compact: String = text.split_ascii_whitespace().collect();
    [
        base64::engine::general_purpose::STANDARD.decode(&compact),
        URL_SAFE_NO_PAD.decode(compact.trim_end_matches('=')),
    ]
    .into_iter()
    .flatten()
    .any(|der| is_public_key_der(&der))
}

/// Whether `der` parses as a SubjectPublicKeyInfo or PKCS#1 public key (only DER SEQUENCEs are
/// tried, so random secrets are not mistaken for raw points).
fn is_public_key_der(der: &[u8]) -> bool {
    if der.first() != Some(&0x30) {
        return false;
    }
    // aws-lc also takes raw 32-byte Ed25519 keys; only the 44-byte SubjectPublicKeyInfo counts.
    aws_lc_rs::rsa::PublicKey::from_der(der).is_ok()
        || sig::ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, der).is_ok()
        || sig::ParsedPublicKey::new(&sig::ECDSA_P384_SHA384_FIXED, der).is_ok()
        || (der.len() == 44 && sig::ParsedPublicKey::new(&sig::ED25519, der).is_ok())
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Hmac => "HMAC",
        Family::Rsa => "RSA",
        Family::Ec => "EC",
        Family::Ed => "Ed25519",
        Family::Other => "unsupported",
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), ConfigError> {
    let bits = match n.first() {
        Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    if bits < 2048 {
        return Err(ConfigError::WeakRsaKey { bits });
    }
    let e_ok = match e {
        [] => false,
        [single] => *single >= 3 && single % 2 == 1,
        more => more.len() <= 8 && more[more.len() - 1] % 2 == 1,
    };
    if !e_ok {
        return Err(ConfigError::InvalidKey {
            what: "RSA",
            reason: "public exponent must be odd and at least 3",
        });
    }
    Ok(())
}

/// How JWKs without an `alg` member are bound to an algorithm.
///
/// RFC 7517 makes `alg` optional; RFC 8725 §3.1 wants every key used with exactly one algorithm.
/// So a key without `alg` gets exactly one: the curve decides for EC and OKP keys, and RSA keys
/// (and `oct` secrets, where allowed) use the algorithm set here.
///
/// ```
/// use jwt_core::{Algorithm, JwkDefaults};
/// let d = JwkDefaults::default().rsa(Algorithm::PS256);
/// assert_eq!(d.rsa_algorithm(), Algorithm::PS256);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct JwkDefaults {
    rsa: Algorithm,
    oct: Algorithm,
}

impl Default for JwkDefaults {
    fn default() -> Self {
        Self {
            rsa: Algorithm::RS256,
            oct: Algorithm::HS256,
        }
    }
}

impl JwkDefaults {
    /// The algorithm for RSA keys without `alg` (default `RS256`).
    pub fn rsa(mut self, alg: Algorithm) -> Self {
        self.rsa = alg;
        self
    }

    /// The algorithm for `oct` keys without `alg` (default `HS256`).
    pub fn oct(mut self, alg: Algorithm) -> Self {
        self.oct = alg;
        self
    }

    /// The algorithm for RSA keys without `alg`.
    pub fn rsa_algorithm(&self) -> Algorithm {
        self.rsa
    }
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    k: Option<String>,
    d: Option<serde_json::Value>,
    p: Option<serde_json::Value>,
    q: Option<serde_json::Value>,
}

impl VerificationKey {
    /// One JWK (RFC 7517), honouring `alg`, `use` and `key_ops` (D7). Symmetric (`oct`) keys are
    /// accepted only when `allow_oct` is set.
    ///
    /// # Errors
    /// A [`JwkRejection`] telling why the key cannot be used.
    pub fn from_jwk(
        jwk: &serde_json::Value,
        defaults: JwkDefaults,
        allow_oct: bool,
    ) -> Result<Self, JwkRejection> {
        let raw: RawJwk =
            serde_json::from_value(jwk.clone()).map_err(|_| JwkRejection::Malformed)?;
        if raw.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(JwkRejection::WrongUse);
        }
        if let Some(ops) = &raw.key_ops
            && !ops.iter().any(|op| op == "verify")
        {
            return Err(JwkRejection::WrongUse);
        }
        let declared = match raw.alg.as_deref() {
            None => None,
            Some(name) => Some(parse_alg(name).ok_or(JwkRejection::Unsupported)?),
        };
        let key = match raw.kty.as_deref() {
            Some("RSA") => Self::rsa_jwk(&raw, declared.unwrap_or(defaults.rsa))?,
            Some("EC") => Self::ec_jwk(&raw, declared)?,
            Some("OKP") => Self::okp_jwk(&raw, declared.unwrap_or(Algorithm::EdDSA))?,
            Some("oct") if allow_oct => {
                let alg = fits(declared.unwrap_or(defaults.oct), Family::Hmac)?;
                Self::hmac(alg, &jwk_b64(&raw.k)?).map_err(refused)?
            }
            Some("oct") => return Err(JwkRejection::Unsupported),
            Some(_) => return Err(JwkRejection::Unsupported),
            None => return Err(JwkRejection::Malformed),
        };
        Ok(match raw.kid {
            Some(kid) => key.with_kid(kid),
            None => key,
        })
    }
}

/// A base64url member of a JWK, required.
fn jwk_b64(s: &Option<String>) -> Result<Vec<u8>, JwkRejection> {
    let s = s.as_deref().ok_or(JwkRejection::Malformed)?;
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| JwkRejection::Malformed)
}

/// A key the crypto backend refused, as a JWK rejection.
fn refused(e: ConfigError) -> JwkRejection {
    JwkRejection::Refused(e.to_string())
}

/// `alg` when it belongs to the key type's family `fam`.
fn fits(alg: Algorithm, fam: Family) -> Result<Algorithm, JwkRejection> {
    if family(alg) == fam {
        Ok(alg)
    } else {
        Err(JwkRejection::AlgorithmMismatch)
    }
}

impl VerificationKey {
    /// An `RSA` JWK: `n` and `e`, no private members.
    fn rsa_jwk(raw: &RawJwk, alg: Algorithm) -> Result<Self, JwkRejection> {
        if raw.d.is_some() || raw.p.is_some() || raw.q.is_some() {
            return Err(JwkRejection::PrivateMaterial);
        }
        let alg = fits(alg, Family::Rsa)?;
        Self::from_rsa_components(alg, &jwk_b64(&raw.n)?, &jwk_b64(&raw.e)?).map_err(refused)
    }

    /// An `EC` JWK on P-256 or P-384: its `alg` (if declared) must be the curve's.
    fn ec_jwk(raw: &RawJwk, declared: Option<Algorithm>) -> Result<Self, JwkRejection> {
        if raw.d.is_some() {
            return Err(JwkRejection::PrivateMaterial);
        }
        let by_curve = match raw.crv.as_deref() {
            Some("P-256") => Algorithm::ES256,
            Some("P-384") => Algorithm::ES384,
            _ => return Err(JwkRejection::Unsupported),
        };
        let alg = declared.unwrap_or(by_curve);
        if alg != by_curve {
            return Err(JwkRejection::AlgorithmMismatch);
        }
        let (x, y) = (jwk_b64(&raw.x)?, jwk_b64(&raw.y)?);
        let size = if alg == Algorithm::ES256 { 32 } else { 48 };
        if x.len() != size || y.len() != size {
            return Err(JwkRejection::Malformed);
        }
        let mut point = Vec::with_capacity(1 + 2 * size);
        point.push(4);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        Self::from_der(alg, &point).map_err(refused)
    }

    /// An `OKP` JWK: Ed25519 only.
    fn okp_jwk(raw: &RawJwk, alg: Algorithm) -> Result<Self, JwkRejection> {
        if raw.d.is_some() {
            return Err(JwkRejection::PrivateMaterial);
        }
        if raw.crv.as_deref() != Some("Ed25519") {
            return Err(JwkRejection::Unsupported);
        }
        let alg = fits(alg, Family::Ed)?;
        let x = jwk_b64(&raw.x)?;
        if x.len() != 32 {
            return Err(JwkRejection::Malformed);
        }
        Self::from_der(alg, &x).map_err(refused)
    }
}

/// A set of verification keys: the shared engine behind static keys and JWK Sets.
///
/// Lookup: a token with a `kid` uses the key with that `kid` only; a `kid` that several keys
/// share is ambiguous and matches nothing. Without a `kid` match, `fallback` decides: keys of the
/// token's algorithm are tried in order (static keys, agno's behaviour) or exactly one candidate
/// is required (JWK Sets, RFC 8725 / jose's rule).
#[derive(Clone)]
pub(crate) struct KeySet {
    keys: Arc<[VerificationKey]>,
    by_kid: Arc<HashMap<String, Option<usize>>>,
    pub(crate) fallback: Fallback,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fallback {
    /// Try every key of the token's algorithm in order (unmatched `kid` included).
    InOrder,
    /// Without a `kid`, use the only key of the token's algorithm; an unknown `kid` matches nothing.
    ExactlyOne,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("keys", &self.keys)
            .field("fallback", &self.fallback)
            .finish()
    }
}

impl KeySet {
    pub(crate) fn new(keys: Vec<VerificationKey>, fallback: Fallback) -> Result<Self, ConfigError> {
        if keys.is_empty() {
            return Err(ConfigError::NoKeySource);
        }
        let hmac = keys.iter().any(|k| k.family() == Family::Hmac);
        let asym = keys.iter().any(|k| k.family() != Family::Hmac);
        if hmac && asym {
            return Err(ConfigError::MixedAlgorithmFamilies);
        }
        let mut by_kid: HashMap<String, Option<usize>> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            if let Some(kid) = key.kid() {
                by_kid
                    .entry(kid.to_owned())
                    .and_modify(|slot| *slot = None)
                    .or_insert(Some(i));
            }
        }
        Ok(Self {
            keys: keys.into(),
            by_kid: Arc::new(by_kid),
            fallback,
        })
    }

    pub(crate) fn keys(&self) -> &[VerificationKey] {
        &self.keys
    }

    /// The candidate keys for a token with `alg` and `kid`, in the order to try them.
    pub(crate) fn candidates<'s>(
        &'s self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> impl Iterator<Item = &'s VerificationKey> + 's {
        let exact = kid.and_then(|k| self.by_kid.get(k));
        let (single, scan): (Option<&VerificationKey>, bool) = match (exact, self.fallback) {
            // A kid that several keys share is ambiguous: no key.
            (Some(None), _) => (None, false),
            (Some(Some(i)), _) => (Some(&self.keys[*i]), false),
            (None, Fallback::InOrder) => (None, true),
            (None, Fallback::ExactlyOne) if kid.is_some() => (None, false),
            (None, Fallback::ExactlyOne) => {
                let mut of_alg = self.keys.iter().filter(|k| k.alg == alg);
                match (of_alg.next(), of_alg.next()) {
                    (Some(one), None) => (Some(one), false),
                    _ => (None, false),
                }
            }
        };
        let scanned = self.keys.iter().filter(move |k| scan && k.alg == alg);
        single
            .filter(move |k| k.alg == alg)
            .into_iter()
            .chain(scanned)
    }

    /// Whether any key verifies `alg` (the configured allowlist).
    pub(crate) fn allows(&self, alg: Algorithm) -> bool {
        self.keys.iter().any(|k| k.alg == alg)
    }
}
