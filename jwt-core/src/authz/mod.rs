//! Authorization: the scope grammar, the route table (what a request demands), the caller's
//! [`crate::AuthContext`] with the extractor helpers adapters build on, and the OpenAPI security
//! the table enforces.

pub(crate) mod context;
pub mod extract;
pub mod openapi;
pub(crate) mod routes;
pub(crate) mod scope;
