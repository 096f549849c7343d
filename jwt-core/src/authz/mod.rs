//! Authorization: the scope grammar, the route table (what a request demands), and the
//! caller's [`crate::AuthContext`] with the extractor helpers adapters build on. The OpenAPI
//! security the table enforces is an output format, in `crate::openapi`.

pub(crate) mod conditions;
pub(crate) mod context;
pub mod extract;
pub(crate) mod routes;
pub(crate) mod scope;
