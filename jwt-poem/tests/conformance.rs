//! The shared conformance suite against the poem adapter (in-process endpoint calls).

use conformance::{Harness, HttpRequest, HttpResponse, Profile, echo_body};
use jwt_poem::{Auth, JwtAuthExt as _};
use poem::http::Method;
use poem::{Endpoint, EndpointExt, Request, Response, Route, handler};

#[handler]
fn echo(auth: Option<Auth>) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(echo_body(auth.as_ref().map(|a| &a.0)))
}

struct Poem;

impl Harness for Poem {
    fn name(&self) -> &'static str {
        "poem"
    }

    async fn send(&self, profile: &Profile, request: HttpRequest) -> HttpResponse {
        let app = Route::new()
            .at("/*path", echo)
            .at("/", echo)
            .with(profile.auth().middleware());
        let mut req = Request::builder()
            .method(Method::from_bytes(request.method.as_bytes()).expect("valid method"))
            .uri(request.uri.parse().expect("valid uri"));
        for (name, value) in &request.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let res = app.get_response(req.finish()).await;
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let www_authenticate = header("www-authenticate");
        let content_type = header("content-type");
        let status = res.status().as_u16();
        let body = res.into_body().into_vec().await.expect("body");
        HttpResponse {
            status,
            www_authenticate,
            content_type,
            body,
        }
    }
}

#[tokio::test]
async fn conformance_poem() {
    let report = conformance::run(&Poem).await;
    assert!(report.failures.is_empty(), "{}", report.summary());
}
