//! Limits and defaults shared by the validation policy and the configuration errors that report
//! them.

/// The largest leeway [`crate::Validation::leeway`] accepts, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 300;
/// The default leeway for `exp`, `nbf` and `iat`, in seconds (agno's fixed value).
pub const DEFAULT_LEEWAY_SECS: u64 = 10;
/// The default maximum token length, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
/// The default `Retry-After` of a 503 (no verification keys yet), in seconds.
pub const DEFAULT_RETRY_AFTER_SECS: u32 = 5;
