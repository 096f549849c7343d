//! The poem adapter's harness: in-process endpoint calls on requests built the way poem's server
//! builds them; a mounted app is a `Route` with the middleware, nested with `Route::nest`.

use conformance::{Harness, HttpRequest, HttpResponse, Profile, echo_body};
use jwt_poem::{Auth, JwtAuthExt as _};
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Body, Endpoint, EndpointExt, Request, RequestParts, Response, Route, handler};

#[handler]
fn echo(auth: Option<Auth>) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(echo_body(auth.as_ref().map(|a| &a.0)))
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
    Request::from_parts(parts, Body::empty())
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
        let app = match &request.mount {
            Some(prefix) => Route::new().nest(prefix, echo_app).boxed(),
            None => echo_app.boxed(),
        };
        let res = app.get_response(server_request(&request)).await;
        let (head, body) = res.into_parts();
        let body = body.into_vec().await.expect("body");
        super::response(head.status, &head.headers, body)
    }
}
