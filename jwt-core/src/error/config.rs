//! Configuration mistakes, found when keys, verifiers, tables or the middleware are built:
//! [`ConfigError`], and the more specific errors it carries ([`DpopConfigError`],
//! [`ClaimPathError`], [`JwkRejection`], `RemoteConfigError`).
//!
//! They live here, in the bottom layer, rather than beside the modules they describe: every layer's
//! builder returns [`ConfigError`] (token, keys, authz and engine alike), so what it carries by
//! value must sit below all of them, or the layers would depend on each other in a cycle.

use std::path::PathBuf;

/// A configuration mistake found while building keys, verifiers or the middleware. Never a panic,
/// never a silent default.
///
/// ```
/// use jwt_core::{ConfigError, StaticKeys};
/// let err = StaticKeys::hs256(b"too short").unwrap_err();
/// assert!(matches!(err, ConfigError::WeakHmacSecret { min: 32, .. }));
/// ```
///
/// It is the one configuration error type: the more specific build-time errors
/// ([`ClaimPathError`], and with `remote-jwks` `RemoteConfigError`) convert into it, so one `?`
/// handles every setup step.
///
/// ```
/// use jwt_core::{ClaimPath, ConfigError, JwtAuth, StandardClaims, StaticKeys};
/// fn setup() -> Result<JwtAuth, ConfigError> {
///     let roles: ClaimPath = "/realm_access/roles".parse()?; // ClaimPathError -> ConfigError
///     JwtAuth::builder().dangerous_any_issuer()
///         .verifier(StaticKeys::hs256(b"an-hs256-secret-of-at-least-32-bytes!")?)
///         .claims(StandardClaims::default())
///         .build()
///         .map(|auth| { let _ = roles; auth })
/// }
/// assert!(setup().is_ok());
/// let bad: Result<ClaimPath, ConfigError> = "realm_access".parse::<ClaimPath>().map_err(Into::into).and_then(|_| "/a//b".parse::<ClaimPath>().map_err(Into::into));
/// assert!(matches!(bad, Err(ConfigError::ClaimPath(_))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A DPoP setting that cannot work ([`crate::Dpop`]).
    #[error("DPoP: {0}")]
    Dpop(#[from] DpopConfigError),
    /// A protected resource identifier (RFC 9728) that cannot be served.
    #[error("protected resource {resource:?}: {why}")]
    InvalidProtectedResource {
        /// The identifier as configured.
        resource: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// No key, JWKS or verifier was configured.
    #[error(
        "no verification key source configured (keys, JWKS file, JWKS, or JWT_VERIFICATION_KEY / JWT_JWKS_FILE / JWT_JWKS)"
    )]
    NoKeySource,
    /// An HMAC secret is shorter than the hash output (RFC 7518 §3.2).
    #[error("HMAC secret for {alg} is {len} bytes; at least {min} are required")]
    WeakHmacSecret {
        /// The algorithm.
        alg: &'static str,
        /// The secret's length.
        len: usize,
        /// The minimum length.
        min: usize,
    },
    /// An RSA key is shorter than 2048 bits.
    #[error("RSA key has {bits} bits; at least 2048 are required")]
    WeakRsaKey {
        /// The modulus size in bits.
        bits: usize,
    },
    /// Key material could not be parsed.
    #[error("invalid {what} key: {reason}")]
    InvalidKey {
        /// What kind of key was expected.
        what: &'static str,
        /// Our description of the problem.
        reason: &'static str,
    },
    /// A key does not fit the algorithm it was configured with.
    #[error("key type does not match algorithm {alg}")]
    KeyAlgorithmMismatch {
        /// The algorithm.
        alg: &'static str,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A JWKS document is not valid JSON or not a `{"keys": [...]}` object.
    #[error("invalid JWKS{}: {reason}", origin.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    InvalidJwks {
        /// The file it came from, if any.
        origin: Option<PathBuf>,
        /// Our description of the problem.
        reason: String,
    },
    /// A single JWK cannot be used.
    #[error("invalid JWK: {0}")]
    InvalidJwk(JwkRejection),
    /// A JWKS holds no usable verification key.
    #[error("JWKS has no usable verification key")]
    EmptyJwks,
    /// HMAC and asymmetric algorithms were mixed in one key set (algorithm-confusion risk).
    #[error("one key set mixes HMAC and asymmetric algorithms")]
    MixedAlgorithmFamilies,
    /// Leeway above the allowed maximum.
    #[error("leeway of {0} s is out of range (0..={max} s)", max = crate::limits::MAX_LEEWAY_SECS)]
    LeewayOutOfRange(u64),
    /// A maximum token length of zero or absurd size.
    #[error("max token length {0} is out of range (1..=1048576)")]
    MaxTokenLengthOutOfRange(usize),
    /// A route pattern or scope template is invalid.
    #[error("invalid route {route:?}: {reason}")]
    InvalidRoute {
        /// The entry as written.
        route: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A route names a method that is not an HTTP method this table knows (`GTE /orders`).
    #[error("invalid route {route:?}: unknown HTTP method{}; write GET, POST, PUT, PATCH, DELETE, OPTIONS, QUERY, a WebDAV method, or '*' for every method", suggestion.map(|m| format!(" (did you mean {m}?)")).unwrap_or_default())]
    UnknownMethod {
        /// The entry as written (method upper-cased).
        route: String,
        /// The known method it most likely misspells.
        suggestion: Option<&'static str>,
    },
    /// A scope template names a path parameter the route does not have, or is malformed.
    #[error("invalid scope {scope:?} for route {route:?}: {reason}")]
    InvalidScopeTemplate {
        /// The route.
        route: String,
        /// The scope as written.
        scope: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An environment variable holds an unusable value.
    #[error("environment variable {var}: {reason}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An empty API key list or an empty key.
    #[error("API keys must be non-empty")]
    EmptyApiKey,
    /// Nothing checks the issuer: no [`crate::JwtAuthBuilder::issuer`], a verifier that does not
    /// pin one (a shared secret, static keys, a fixed JWKS), and no explicit
    /// [`crate::JwtAuthBuilder::dangerous_any_issuer`].
    #[error(
        "no issuer check: call .issuer(\"https://your-idp\") with the issuer your tokens carry, or .dangerous_any_issuer() if the keys alone identify it"
    )]
    NoIssuerCheck,
    /// A configured claim name, audience or issuer is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A setting that cannot work (an unparsable address, an empty list).
    #[error("{setting}: {reason}")]
    InvalidSetting {
        /// The builder method.
        setting: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A claim path or scope prefix (see [`ClaimPathError`]).
    #[error(transparent)]
    ClaimPath(#[from] ClaimPathError),
    /// A remote key source's configuration (see [`RemoteConfigError`]), feature `remote-jwks`.
    #[cfg(feature = "remote-jwks")]
    #[error(transparent)]
    Remote(#[from] RemoteConfigError),
}

/// What is wrong with a [`crate::Dpop`] configuration.
///
/// ```
/// use jwt_core::{ConfigError, DpopConfigError, Dpop, JwtAuth, StaticKeys};
/// let err = JwtAuth::builder().dangerous_any_issuer()
///     .verifier(StaticKeys::hs256([7u8; 32])?)
///     .dpop(Dpop::allowed())
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, ConfigError::Dpop(DpopConfigError::NoOrigin)));
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopConfigError {
    /// Neither an `htu` origin nor a protected resource was configured: the request's public
    /// URL would be a guess.
    #[error("no origin for htu checks: set Dpop::origin or a protected resource")]
    NoOrigin,
    /// The origin is not an absolute `http(s)` URL without query (or the `Host` scheme is not
    /// `http` / `https`).
    #[error("invalid htu origin {0:?}")]
    BadOrigin(String),
    /// No proof algorithm is allowed.
    #[error("no proof algorithm allowed")]
    NoAlgorithms,
    /// A symmetric algorithm cannot sign proofs (the key is public).
    #[error("proof algorithm {0:?} is not asymmetric")]
    SymmetricAlgorithm(jsonwebtoken::Algorithm),
    /// The nonce secret is shorter than 32 bytes.
    #[error("nonce secret shorter than 32 bytes")]
    WeakNonceSecret,
    /// A duration that must be positive is zero.
    #[error("{0} must be at least one second")]
    ZeroDuration(&'static str),
    /// The proof lifetime or clock skew is above its maximum
    /// ([`crate::MAX_DPOP_PROOF_LIFETIME`], [`crate::MAX_DPOP_CLOCK_SKEW`]).
    #[error("proof lifetime above 300 s or clock skew above 60 s")]
    TooLong,
}

/// Why a claim path or a scope prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimPathError {
    /// The path is empty (`""`, or a JSON pointer `/` naming the empty member).
    #[error("a claim path must name at least one member")]
    Empty,
    /// A JSON pointer without its leading `/`.
    #[error("JSON pointer {path:?} must start with '/'")]
    NotAPointer {
        /// The path as written.
        path: String,
    },
    /// A member name in the path is empty (`a..b`, `/a//b`, `.a`).
    #[error("claim path {path:?} has an empty member name")]
    EmptySegment {
        /// The path as written.
        path: String,
    },
    /// A JSON pointer with `~` not followed by `0` or `1` (RFC 6901 §3).
    #[error("JSON pointer {path:?}: '~' must be followed by '0' or '1'")]
    BadEscape {
        /// The path as written.
        path: String,
    },
    /// A scope prefix with characters no scope-token holds (whitespace, control or non-ASCII
    /// characters, `"`, `\`): every scope it produced would grant nothing.
    #[error("scope prefix {prefix:?} is not made of RFC 6749 scope-token characters")]
    InvalidPrefix {
        /// The prefix as written.
        prefix: String,
    },
}

/// Why one JWK of a set was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkRejection {
    /// Not a JSON object with the members a JWK of its type needs.
    #[error("malformed JWK")]
    Malformed,
    /// `kty`, `crv` or `alg` is not one we verify with (e.g. `RSA-OAEP`, `P-521`, `Ed448`).
    #[error("unsupported key type, curve or algorithm")]
    Unsupported,
    /// `use` or `key_ops` forbid signature verification.
    #[error("key is not for signature verification")]
    WrongUse,
    /// `alg` does not fit the key type or curve.
    #[error("algorithm does not match the key")]
    AlgorithmMismatch,
    /// The key carries private members.
    #[error("private key material in a verification key set")]
    PrivateMaterial,
    /// The key is refused by our policy (short secret, small RSA modulus, bad point).
    #[error("{0}")]
    Refused(String),
}

/// A mistake in a remote key source's configuration, found when it is built.
///
/// ```
/// use jwt_core::{RemoteConfigError, RemoteJwks};
/// let err = RemoteJwks::new("http://idp.example.com/jwks").unwrap_err();
/// assert!(matches!(err, RemoteConfigError::InsecureUrl { .. }));
/// assert!(RemoteJwks::new("http://127.0.0.1:8080/jwks").is_ok()); // loopback may be plain http
/// ```
#[cfg(feature = "remote-jwks")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteConfigError {
    /// The URL does not parse, or has a part it must not have (fragment, query for an issuer).
    #[error("invalid {what} URL {url:?}: {reason}")]
    InvalidUrl {
        /// Which URL (`JWKS`, `issuer`).
        what: &'static str,
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Not `https` (plain `http` is only allowed for loopback addresses).
    #[error("{what} URL {url:?} must use https (plain http only for loopback addresses)")]
    InsecureUrl {
        /// Which URL.
        what: &'static str,
        /// The URL as given.
        url: String,
    },
    /// The URL carries a user name or password.
    #[error("{what} URL must not contain credentials")]
    CredentialsInUrl {
        /// Which URL.
        what: &'static str,
    },
    /// A setting is out of range.
    #[error("{setting}: {reason}")]
    InvalidSetting {
        /// The builder method.
        setting: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// An issuer was given twice to [`crate::Issuers`].
    #[error("issuer {0:?} is configured twice")]
    DuplicateIssuer(String),
    /// An empty issuer name.
    #[error("issuer must not be empty")]
    EmptyIssuer,
}
