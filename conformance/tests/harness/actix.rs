//! The actix-web adapter's harness: actix's in-process test service (run it inside an actix
//! system); a mounted app is a `web::scope` wrapped in the middleware.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, HttpResponse as ActixResponse, test, web};
use conformance::{Harness, HttpRequest, HttpResponse, Profile, echo_body};
use jwt_actix::{Auth, JwtAuthExt as _};

async fn echo(auth: Option<Auth>) -> ActixResponse {
    ActixResponse::Ok()
        .content_type("application/json")
        .body(echo_body(auth.as_ref().map(|a| &a.0)))
}

/// The test request for `request`.
fn test_request(request: &HttpRequest) -> test::TestRequest {
    let method =
        actix_web::http::Method::from_bytes(request.method.as_bytes()).expect("valid method");
    let mut req = test::TestRequest::default()
        .method(method)
        .uri(&request.uri);
    for (name, value) in &request.headers {
        req = req.append_header((name.as_str(), value.as_str()));
    }
    req
}

/// Sends `req` to the initialised test service `app` and collects the response.
async fn exchange<S, R, B>(app: &S, req: R) -> HttpResponse
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let www_authenticate = header("www-authenticate");
    let content_type = header("content-type");
    let status = res.status().as_u16();
    let body = test::read_body(res).await.to_vec();
    HttpResponse {
        status,
        www_authenticate,
        content_type,
        body,
    }
}

/// The actix-web harness.
pub(crate) struct Actix;

impl Harness for Actix {
    fn name(&self) -> &'static str {
        "actix"
    }

    async fn send(&self, profile: &Profile, request: HttpRequest) -> HttpResponse {
        let middleware = profile.auth().middleware();
        match &request.mount {
            Some(prefix) => {
                let scope = web::scope(prefix)
                    .wrap(middleware)
                    .default_service(web::to(echo));
                let app = test::init_service(App::new().service(scope)).await;
                exchange(&app, test_request(&request).to_request()).await
            }
            None => {
                let app =
                    test::init_service(App::new().wrap(middleware).default_service(web::to(echo)))
                        .await;
                exchange(&app, test_request(&request).to_request()).await
            }
        }
    }
}
