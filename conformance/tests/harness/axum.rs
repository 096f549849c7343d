//! The axum adapter's harness: in-process, through the tower stack; a mounted app is a router
//! with the layer, nested with `Router::nest`.

use axum::Router;
use axum::body::Body;
use conformance::{Harness, HttpRequest, HttpResponse, Profile, echo_body};
use jwt_axum::{Auth, JwtAuthExt as _};
use tower::ServiceExt as _;

async fn echo(auth: Option<Auth>) -> ([(&'static str, &'static str); 1], String) {
    (
        [("content-type", "application/json")],
        echo_body(auth.as_ref().map(|a| &a.0)),
    )
}

/// The axum harness.
pub(crate) struct Axum;

impl Harness for Axum {
    fn name(&self) -> &'static str {
        "axum"
    }

    async fn send(&self, profile: &Profile, request: HttpRequest) -> HttpResponse {
        let echo_app = Router::new().fallback(echo).layer(profile.auth().layer());
        let app = match &request.mount {
            Some(prefix) => Router::new().nest(prefix, echo_app),
            None => echo_app,
        };
        let req = super::http_request(&request).map(|()| Body::empty());
        let res = app.oneshot(req).await.expect("infallible");
        let (head, body) = res.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("body")
            .to_vec();
        super::response(head.status, &head.headers, body)
    }
}
