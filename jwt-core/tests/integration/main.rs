//! jwt-core's integration tests, one test binary (each file a module, run as `<file>::<test>`):
//! linking one binary instead of one per file keeps the test build small and fast.
//!
//! Two files stay binaries of their own because they change process-wide state:
//! `observability.rs` (tracing subscribers, the attack-signal log's rate limit) and
//! `crypto_provider.rs` (jsonwebtoken's process-default crypto provider).

mod agent_os_preset;
mod attack_catalogue;
mod dpop;
mod engine;
mod introspection;
mod limits;
mod mcp;
mod mtls;
mod oidc;
#[path = "../support/oidc_provider.rs"]
mod oidc_provider;
mod openapi;
#[path = "../support/paused_clock.rs"]
mod paused_clock;
#[cfg(feature = "tls")]
#[path = "../support/pki.rs"]
mod pki;
#[path = "../support/redis_server.rs"]
mod redis_server;
mod remote_jwks;
#[path = "../support/scripted_server.rs"]
mod scripted_server;
#[cfg(feature = "tls")]
mod tls_server;
mod token_cache;
mod vectors;
mod verifiers;
