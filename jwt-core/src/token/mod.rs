//! Reading the request and the token: the framework-free request view, the path model, where
//! the token comes from, the JOSE compact parsing of the token, and how its claims become an
//! identity. Nothing here knows about keys, routes or the engine.

pub(crate) mod charset;
pub(crate) mod claim_path;
pub(crate) mod claims;
pub(crate) mod connection;
pub(crate) mod jose;
pub mod path;
pub(crate) mod payload;
pub(crate) mod request;
pub(crate) mod source;
