//! The one place the crypto backend is chosen, and token minting for tests, demos and tools.
//!
//! `jsonwebtoken` 11 picks its backend from cargo features and **panics at the first sign or
//! verify** when both or neither of `aws_lc_rs` / `rust_crypto` are enabled (feature unification
//! can do that behind your back). This crate never reaches that code path:
//! - verification uses keys pre-parsed with `aws-lc-rs` (the crate behind jsonwebtoken's
//!   `aws_lc_rs` feature), see [`crate::VerificationKey`];
//! - minting calls jsonwebtoken's `crypto::aws_lc::DEFAULT_PROVIDER` explicitly instead of the
//!   process-wide default.
//!
//! The workspace enables exactly `jsonwebtoken/aws_lc_rs` in `[workspace.dependencies]`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::Serialize;

use crate::error::ConfigError;
use crate::token::jose::alg_name;

/// SHA-256 of `bytes` (cache keys, API-key comparison, JWKS change detection).
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of `parts`, one after the other (a namespace and a value).
#[cfg(feature = "introspection")]
pub(crate) fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Why minting failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// The key does not fit the algorithm or could not be parsed.
    #[error("signing key cannot be used with {0}")]
    Key(&'static str),
    /// The claims could not be serialized.
    #[error("claims cannot be serialized: {0}")]
    Claims(#[from] serde_json::Error),
    /// The backend refused to sign.
    #[error("signing failed")]
    Sign,
}

/// Signs tokens: HMAC secrets, or PEM/DER private keys (feature `mint`, on by default: turn it off
/// in a service that only verifies). Also used, privately, by the backend self-test.
#[cfg(feature = "mint")]
pub mod mint {
    pub use super::minting::*;
}

/// Signs a JWT whatever the features (introspection's `private_key_jwt` client assertion).
#[cfg(feature = "introspection")]
pub(crate) use minting::sign;

/// The signing helpers; public as [`mint`] with the `mint` feature.
mod minting {
    #![cfg_attr(not(feature = "mint"), allow(unreachable_pub, dead_code))]
    use super::*;

    /// Signs `claims` with `key` and `alg`, adding `kid` and `typ` to the header when given.
    ///
    /// ```
    /// use jwt_core::{Algorithm, EncodingKey, mint};
    /// let key = EncodingKey::from_secret(&[9u8; 32]);
    /// let t = mint::sign(Algorithm::HS256, &key, Some("k1"), None, &serde_json::json!({"sub":"a"}))?;
    /// assert_eq!(t.split('.').count(), 3);
    /// # Ok::<(), jwt_core::MintError>(())
    /// ```
    ///
    /// # Errors
    /// [`MintError`].
    pub fn sign(
        alg: Algorithm,
        key: &EncodingKey,
        kid: Option<&str>,
        typ: Option<&str>,
        claims: &impl Serialize,
    ) -> Result<String, MintError> {
        let mut header = serde_json::Map::new();
        header.insert("alg".into(), alg_name(alg).into());
        if let Some(typ) = typ {
            header.insert("typ".into(), typ.into());
        }
        if let Some(kid) = kid {
            header.insert("kid".into(), kid.into());
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
        );
        sign_input(alg, key, &input)
    }

    /// Signs an already-encoded `header.payload` and appends the signature (for tests that need
    /// hand-made headers or payloads).
    ///
    /// # Errors
    /// [`MintError`].
    pub fn sign_input(alg: Algorithm, key: &EncodingKey, input: &str) -> Result<String, MintError> {
        let signer = (DEFAULT_PROVIDER.signer_factory)(&alg, key)
            .map_err(|_| MintError::Key(alg_name(alg)))?;
        let sig = signer
            .try_sign(input.as_bytes())
            .map_err(|_| MintError::Sign)?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// HS256 with a raw secret and a `typ: JWT` header.
    ///
    /// # Errors
    /// [`MintError`].
    pub fn hs256(secret: &[u8], claims: &impl Serialize) -> Result<String, MintError> {
        sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(secret),
            None,
            Some("JWT"),
            claims,
        )
    }
}

/// Checks at build time that the chosen backend signs and verifies (a typed error, never a panic).
pub(crate) fn self_test() -> Result<(), ConfigError> {
    let secret = [0x5au8; 32];
    let token = minting::hs256(&secret, &serde_json::json!({ "t": 1 })).map_err(|_| {
        ConfigError::InvalidKey {
            what: "HMAC",
            reason: "crypto backend self-test failed",
        }
    })?;
    let key = crate::VerificationKey::hmac(Algorithm::HS256, &secret)?;
    let compact =
        crate::token::jose::split(&token, usize::MAX).map_err(|_| ConfigError::InvalidKey {
            what: "HMAC",
            reason: "crypto backend self-test failed",
        })?;
    if key.verify(compact.signing_input, &compact.signature) {
        Ok(())
    } else {
        Err(ConfigError::InvalidKey {
            what: "HMAC",
            reason: "crypto backend self-test failed",
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backend_self_test_passes_without_installing_a_provider() {
        // No `CryptoProvider::install_default` anywhere in this crate: signing and verifying
        // must still work, proving the missing-provider panic is unreachable from our paths.
        super::self_test().unwrap();
    }
}
