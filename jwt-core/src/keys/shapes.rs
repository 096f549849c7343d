//! [`ByShape`]: one verifier per token shape, so that a service accepts its issuer's JWTs
//! (checked locally) and opaque tokens (introspected) side by side.

use std::sync::Arc;

use async_trait::async_trait;

use crate::keys::verifier::{Verified, Verifier, VerifyError};

/// Sends a JWT (a compact JWS: exactly three segments) to one verifier and every other token to
/// another: typically local keys or a remote JWKS for JWTs and [`crate::Introspection`] for
/// opaque tokens. The shape only picks the verifier; the chosen one must then accept the token,
/// and a JWT refused by the JWT verifier is never introspected (nor the other way round).
///
/// For a JWT-only service, configure the JWT verifier alone; for an introspection-only one, the
/// introspection verifier alone (it then introspects JWTs too). Several issuers: an
/// [`crate::Issuers`] (feature `remote-jwks`) as the JWT verifier.
///
/// ```
/// use jwt_core::{ApiKeys, ByShape, JwtAuth, SimpleRequest, StaticKeys, mint};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let secret = [5u8; 32];
/// let opaque = ApiKeys::new().key("an-opaque-token-0123456789", serde_json::json!({"sub": "svc"}))?;
/// let auth = JwtAuth::builder().dangerous_any_issuer()
///     .verifier(ByShape::new(StaticKeys::hs256(secret)?, opaque))
///     .build()?;
/// let jwt = mint::hs256(&secret, &serde_json::json!({"sub": "alice", "exp": 4_000_000_000u64}))?;
/// for (token, who) in [(jwt.as_str(), "alice"), ("an-opaque-token-0123456789", "svc")] {
///     let bearer = format!("Bearer {token}");
///     let req = SimpleRequest::new("GET", "/").header("Authorization", &bearer);
///     let ctx = auth.authenticate(&req).await?.into_context().unwrap();
///     assert_eq!(ctx.user_id(), Some(who));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ByShape {
    jwt: Arc<dyn Verifier>,
    opaque: Arc<dyn Verifier>,
}

impl ByShape {
    /// JWTs to `jwt`, every other token to `opaque`.
    pub fn new(jwt: impl Verifier + 'static, opaque: impl Verifier + 'static) -> Self {
        Self::shared(Arc::new(jwt), Arc::new(opaque))
    }

    /// As [`ByShape::new`], with shared verifiers.
    pub fn shared(jwt: Arc<dyn Verifier>, opaque: Arc<dyn Verifier>) -> Self {
        Self { jwt, opaque }
    }

    /// Whether `token` has a JWT's shape: exactly two `.`.
    pub fn is_jwt(token: &str) -> bool {
        token.bytes().filter(|&b| b == b'.').count() == 2
    }
}

#[async_trait]
impl Verifier for ByShape {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        if Self::is_jwt(token) {
            self.jwt.verify(token).await
        } else {
            self.opaque.verify(token).await
        }
    }

    fn key_generation(&self) -> u64 {
        self.jwt
            .key_generation()
            .wrapping_add(self.opaque.key_generation())
    }

    /// Both pin theirs.
    fn pins_issuer(&self) -> bool {
        self.jwt.pins_issuer() && self.opaque.pins_issuer()
    }
}
