//! The poem adapter's harness: in-process endpoint calls on requests built the way poem's server
//! builds them; a mounted app is a `Route` with the middleware, nested with `Route::nest`.

use conformance::{
    EXTRACT_ACTORS, EXTRACT_HEADER, Harness, HttpRequest, HttpResponse, Profile, actors_body,
    echo_with_body, user_id_body,
};
use jwt_poem::{ActorChain, Auth, JwtAuthExt as _, UserId};
use poem::FromRequest as _;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Body, Endpoint, EndpointExt, Request, RequestParts, Response, Route, handler};

#[handler]
async fn echo(req: &Request, auth: Option<Auth>, body: Body) -> Response {
    let body = body.into_vec().await.unwrap_or_default();
    // The required `UserId` extractor when the case asks for it: its refusal is poem's error
    // response.
    if req
        .headers()
        .get(EXTRACT_HEADER)
        .is_some_and(|v| v == EXTRACT_ACTORS)
    {
        return match ActorChain::from_request_without_body(req).await {
            Ok(ActorChain(chain)) => Response::builder()
                .content_type("application/json")
                .body(actors_body(&chain)),
            Err(err) => err.into_response(),
        };
    }
    if req.headers().contains_key(EXTRACT_HEADER) {
        return match UserId::from_request_without_body(req).await {
            Ok(UserId(user)) => Response::builder()
                .content_type("application/json")
                .body(user_id_body(&user)),
            Err(err) => err.into_response(),
        };
    }
    Response::builder()
        .content_type("application/json")
        .body(echo_with_body(auth.as_ref().map(|a| &a.0), &body))
}

/// `request` as poem's server hands it to the app: with the original URI set (what
/// `Request::original_uri` reads), which `Request::builder()` leaves unset (`/`).
fn server_request(request: &HttpRequest) -> Request {
    let (head, ()) = super::http_request(request).into_parts();
    let parts = RequestParts::from((
        head,
        LocalAddr::default(),
        RemoteAddr::default(),
        Scheme::HTTP,
    ));
    Request::from_parts(parts, Body::from(request.body.clone()))
}

/// The poem harness.
pub(crate) struct Poem;

impl Harness for Poem {
    fn name(&self) -> &'static str {
        "poem"
    }

    async fn send(&self, profile: &Profile, request: HttpRequest) -> HttpResponse {
        let echo_app = Route::new()
            .at("/*path", echo)
            .at("/", echo)
            .with(profile.auth().middleware());
        let echo_app = if request.layers == 2 {
            echo_app.with(profile.auth().middleware()).boxed()
        } else {
            echo_app.boxed()
        };
        let app = match &request.mount {
            Some(prefix) => Route::new().nest(prefix, echo_app).boxed(),
            None => echo_app,
        };
        let res = app.get_response(server_request(&request)).await;
        let (head, body) = res.into_parts();
        let body = body.into_vec().await.expect("body");
        super::response(head.status, &head.headers, body)
    }
}
