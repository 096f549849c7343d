//! Authorization: the scope grammar, the route table (what a request demands), and the caller's
//! [`crate::AuthContext`] with the extractor helpers adapters build on.

pub(crate) mod context;
pub mod extract;
pub(crate) mod routes;
pub(crate) mod scope;
