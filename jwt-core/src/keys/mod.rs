//! Key material and verifiers: parsed keys and JWK sets, the [`crate::Verifier`] trait and its
//! built-ins, and (feature `remote-jwks`) remote key sets and per-issuer routing.

pub mod crypto;
#[cfg(feature = "introspection")]
pub(crate) mod introspection;
#[cfg(feature = "remote-jwks")]
pub(crate) mod issuers;
pub(crate) mod jwk_set;
pub(crate) mod material;
#[cfg(feature = "remote-jwks")]
pub(crate) mod remote;
pub(crate) mod shapes;
pub(crate) mod verifier;
