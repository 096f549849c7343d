//! What can go wrong, as typed values: the kinds of refusal ([`AuthErrorKind`]) with each
//! kind's facts declared once ([`kind`]), the reasons behind them ([`InvalidToken`],
//! [`DpopRejection`], [`McpRejection`], [`PathRejection`]), and the configuration mistakes
//! found at build time ([`ConfigError`]). A refusal as the middleware answers it,
//! [`crate::AuthError`], and everything that writes it on the wire are the renderer's
//! ([`crate::render`]).

mod config;
mod dpop;
pub(crate) mod kind;
mod mcp;
mod path;
mod store;
mod token;

#[cfg(feature = "remote-jwks")]
pub use config::RemoteConfigError;
pub use config::{ClaimPathError, ConfigError, DpopConfigError, JwkRejection};
pub use dpop::DpopRejection;
pub use kind::AuthErrorKind;
pub use mcp::McpRejection;
pub use path::PathRejection;
pub use store::{RevokeError, StoreError};
pub use token::InvalidToken;
