//! The axum adapter's harness: in-process, through the tower stack; a mounted app is a router
//! with the layer, nested with `Router::nest`.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
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
        let mut builder = Request::builder()
            .method(request.method.as_str())
            .uri(&request.uri);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let req = builder.body(Body::empty()).expect("valid request");
        let res = app.oneshot(req).await.expect("infallible");
        let header = |name| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let www_authenticate = header("www-authenticate");
        let content_type = header("content-type");
        let status = res.status().as_u16();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec();
        HttpResponse {
            status,
            www_authenticate,
            content_type,
            body,
        }
    }
}
