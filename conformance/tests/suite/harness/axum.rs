//! The axum adapter's harness: in-process, through the tower stack; a mounted app is a router
//! with the layer, nested with `Router::nest`.

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse as _, Response};
use conformance::{
    EXTRACT_ACTORS, EXTRACT_HEADER, Harness, HttpRequest, HttpResponse, Profile, actors_body,
    echo_with_body, user_id_body,
};
use jwt_axum::{ActorChain, Auth, JwtAuthExt as _, UserId};
use tower::ServiceExt as _;

async fn echo(req: axum::extract::Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    // The required `UserId` extractor when the case asks for it: its refusal is axum's
    // rejection response.
    if parts
        .headers
        .get(EXTRACT_HEADER)
        .is_some_and(|v| v == EXTRACT_ACTORS)
    {
        return match <ActorChain as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await
        {
            Ok(ActorChain(chain)) => json(actors_body(&chain)),
            Err(rejection) => rejection.into_response(),
        };
    }
    if parts.headers.contains_key(EXTRACT_HEADER) {
        return match <UserId as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await {
            Ok(UserId(user)) => json(user_id_body(&user)),
            Err(rejection) => rejection.into_response(),
        };
    }
    let auth = <Auth as OptionalFromRequestParts<()>>::from_request_parts(&mut parts, &())
        .await
        .unwrap_or_else(|never| match never {});
    json(echo_with_body(auth.as_ref().map(|a| &a.0), &body))
}

fn json(body: String) -> Response {
    ([("content-type", "application/json")], body).into_response()
}

/// The axum harness.
pub(crate) struct Axum;

impl Harness for Axum {
    fn name(&self) -> &'static str {
        "axum"
    }

    async fn send(&self, profile: &Profile, request: HttpRequest) -> HttpResponse {
        let mut echo_app = Router::new().fallback(echo).layer(profile.auth().layer());
        if request.layers == 2 {
            echo_app = echo_app.layer(profile.auth().layer());
        }
        let app = match &request.mount {
            Some(prefix) => Router::new().nest(prefix, echo_app),
            None => echo_app,
        };
        let req = super::http_request(&request).map(|()| Body::from(request.body.clone()));
        let res = app.oneshot(req).await.expect("infallible");
        let (head, body) = res.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("body")
            .to_vec();
        super::response(head.status, &head.headers, body)
    }
}
