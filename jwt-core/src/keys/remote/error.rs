//! The remote key source's two error types: a mistake in its configuration, found when it is
//! built ([`RemoteConfigError`]), and a failed fetch ([`FetchError`]).

pub use crate::error::RemoteConfigError;

/// Why fetching a discovery document or JWKS failed. Logged, counted in [`crate::RemoteStatus`],
/// and returned by [`crate::RemoteJwks::refresh`]; requests only ever see 401 or 503.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The connect or total timeout expired.
    #[error("timed out")]
    Timeout,
    /// The connection could not be established (refused, DNS, TLS handshake).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// Another transport error.
    #[error("transport error: {0}")]
    Transport(String),
    /// The server answered with a redirect (never followed).
    #[error("redirect refused (status {0})")]
    Redirect(u16),
    /// The server answered with another status than 200.
    #[error("unexpected HTTP status {0}")]
    Status(u16),
    /// The body is larger than the limit.
    #[error("document larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The JWKS holds more keys than the limit.
    #[error("JWKS holds {count} keys, more than {limit}")]
    TooManyKeys {
        /// Keys in the document.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a valid JWKS or discovery document.
    #[error("invalid document: {0}")]
    InvalidDocument(&'static str),
    /// The JWKS holds no key usable for verification.
    #[error("JWKS has no usable verification key")]
    NoUsableKeys,
    /// The discovery document names another issuer than the one configured.
    #[error("discovery document names issuer {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The `issuer` in the document.
        found: String,
    },
    /// The discovered `jwks_uri` is not an acceptable URL.
    #[error("discovered jwks_uri is unacceptable: {0}")]
    BadJwksUri(String),
    /// The discovery document does not name the endpoint (`jwks_uri`,
    /// `introspection_endpoint`).
    #[error("discovery document has no {0}")]
    MissingEndpoint(&'static str),
    /// A discovered endpoint other than `jwks_uri` is not an acceptable URL.
    #[error("discovered {member} is unacceptable: {reason}")]
    BadEndpoint {
        /// The document's member (`introspection_endpoint`).
        member: &'static str,
        /// Why the URL is refused.
        reason: String,
    },
    /// The authorization server's answer is not what the protocol says (not a JSON object, a
    /// member twice): it cannot be read, so nothing is decided from it.
    #[error("unreadable answer: {0}")]
    BadAnswer(&'static str),
    /// No tokio runtime is running, so nothing can be fetched.
    #[error("no tokio runtime")]
    NoRuntime,
    /// The fetch was abandoned (runtime shut down) or the caller stopped waiting for it.
    #[error("fetch abandoned")]
    Abandoned,
}
