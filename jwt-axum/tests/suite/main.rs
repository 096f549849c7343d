//! jwt-axum's integration tests, one test binary (each file a module, `<file>::<test>`):
//! `future` (the response future's contract),
//! `mcp` (the official MCP SDK discovering the protected resource), `oidc_axum` (a real OpenID
//! provider's tokens through the layer), `redis_instances` (instances sharing Redis).

mod future;
mod mcp;
mod oidc_axum;
#[path = "../../../jwt-core/tests/support/oidc_provider.rs"]
mod oidc_provider;
mod redis_instances;
