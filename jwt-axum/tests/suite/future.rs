//! The layer's response future keeps the contract every adapter's future keeps: it completes
//! once, and panics with [`jwt_core::POLLED_AFTER_COMPLETION`] when polled again, whether it
//! held the inner service's response or the core's answer.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use jwt_axum::JwtLayer;
use jwt_core::{JwtAuth, StaticKeys, mint};
use tower::{Layer as _, Service as _};

const SECRET: [u8; 32] = [3u8; 32];

fn request(token: Option<&str>) -> http::Request<Body> {
    let mut req = http::Request::get("/x");
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(Body::empty()).unwrap()
}

#[test]
fn a_response_future_polled_after_completion_panics() {
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .build()
        .unwrap();
    let token = mint::hs256(
        &SECRET,
        &serde_json::json!({"sub": "a", "exp": 4_000_000_000u64}),
    )
    .unwrap();
    let mut svc = JwtLayer::new(auth).layer(tower::service_fn(|_req: http::Request<Body>| async {
        Ok::<_, Infallible>(http::Response::new(Body::empty()))
    }));
    let mut cx = Context::from_waker(Waker::noop());
    // Allowed (the inner service's future), then refused (the core's answer).
    for (req, status) in [(request(Some(&token)), 200), (request(None), 401)] {
        let mut fut = Box::pin(svc.call(req));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(res)) => assert_eq!(res.status(), status),
            other => panic!(
                "not ready at once: {:?}",
                other.map(|r| r.map(|r| r.status()))
            ),
        }
        let again = std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        let panic = again.expect_err("polled after completion");
        assert_eq!(
            panic.downcast_ref::<String>().map(String::as_str),
            Some(jwt_core::POLLED_AFTER_COMPLETION)
        );
    }
}
