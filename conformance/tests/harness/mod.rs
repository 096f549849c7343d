//! One [`conformance::Harness`] per adapter: each builds its framework's app for a profile (the
//! middleware around a handler that echoes the injected identity) and sends one request through
//! it in-process.

pub(crate) mod actix;
pub(crate) mod axum;
pub(crate) mod poem;
pub(crate) mod warp;
