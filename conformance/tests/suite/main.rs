//! The conformance crate's tests, one test binary (each file a module, run as
//! `<file>::<test>`): every adapter links all four web frameworks, so one binary instead of one
//! per file saves most of the test build.
//!
//! - `adapters`: every case of `cases/*.json` on all four adapters, compared;
//! - `router_differential`: real servers, generated path spellings × tokens;
//! - `idp`, `dpop_clients`: real identity-provider and DPoP clients (Node.js);
//! - `errors_and_checks`: renderers and per-request checks across adapters.

mod differential;
mod harness;

mod adapters;
mod dpop_clients;
mod errors_and_checks;
mod idp;
mod introspection;
mod mcp_clients;
mod mcp_differential;
mod mtls;
#[path = "../../../jwt-core/tests/support/oidc_provider.rs"]
mod oidc_provider;
#[path = "../../../jwt-core/tests/support/pki.rs"]
mod pki;
mod router_differential;
mod stepup_actors;
