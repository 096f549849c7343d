//! Reading the request: the framework-free request view, the path model, where the token comes
//! from, and the JOSE compact parsing of the token itself. Nothing here knows about keys or
//! scopes.

pub(crate) mod jose;
pub mod path;
pub(crate) mod request;
pub(crate) mod source;
