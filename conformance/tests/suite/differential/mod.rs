//! The router differential's parts: the shared table, tokens and corpus, the raw HTTP client,
//! the verdicts, and one app per framework.

pub(crate) mod actix_app;
pub(crate) mod app;
pub(crate) mod axum_app;
pub(crate) mod corpus;
pub(crate) mod poem_app;
pub(crate) mod verdict;
pub(crate) mod warp_app;
pub(crate) mod wire;
