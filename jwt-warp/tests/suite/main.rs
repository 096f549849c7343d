//! jwt-warp's integration tests, one test binary (each file a module, `<file>::<test>`):
//! `service` (one decision per request: filters behind `jwt_warp::service`), `serve` (feature
//! `server`: `jwt_warp::serve` over TCP). `support` holds what they share.

mod support;

#[cfg(feature = "server")]
mod serve;
mod service;
