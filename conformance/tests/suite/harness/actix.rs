//! The actix-web adapter's harness: actix's in-process test service (run it inside an actix
//! system); a mounted app is a `web::scope` wrapped in the middleware.

use actix_web::FromRequest as _;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, HttpResponse as ActixResponse, test, web};
use conformance::{
    EXTRACT_ACTORS, EXTRACT_HEADER, Harness, HttpRequest, HttpResponse, Profile, actors_body,
    echo_with_body, user_id_body,
};
use jwt_actix::{ActorChain, Auth, JwtAuthExt as _, UserId};

async fn echo(req: actix_web::HttpRequest, auth: Option<Auth>, body: web::Bytes) -> ActixResponse {
    // The required `UserId` extractor when the case asks for it: its refusal is actix's
    // `ResponseError` rendering.
    if req
        .headers()
        .get(EXTRACT_HEADER)
        .is_some_and(|v| v == EXTRACT_ACTORS)
    {
        return match ActorChain::from_request(&req, &mut actix_web::dev::Payload::None).await {
            Ok(ActorChain(chain)) => ActixResponse::Ok()
                .content_type("application/json")
                .body(actors_body(&chain)),
            Err(rejection) => actix_web::ResponseError::error_response(&rejection),
        };
    }
    if req.headers().contains_key(EXTRACT_HEADER) {
        return match UserId::from_request(&req, &mut actix_web::dev::Payload::None).await {
            Ok(UserId(user)) => ActixResponse::Ok()
                .content_type("application/json")
                .body(user_id_body(&user)),
            Err(rejection) => actix_web::ResponseError::error_response(&rejection),
        };
    }
    ActixResponse::Ok()
        .content_type("application/json")
        .body(echo_with_body(auth.as_ref().map(|a| &a.0), &body))
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
    req.set_payload(request.body.clone())
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
        // A second layer: the same middleware again, outside (a scope's and the app's).
        let outer = (request.layers == 2).then(|| profile.auth().middleware());
        match &request.mount {
            Some(prefix) => {
                let scope = web::scope(prefix)
                    .wrap(middleware)
                    .default_service(web::to(echo));
                let app = test::init_service(
                    App::new()
                        .wrap(actix_web::middleware::Condition::new(
                            outer.is_some(),
                            outer.unwrap_or_else(|| profile.auth().middleware()),
                        ))
                        .service(scope),
                )
                .await;
                exchange(&app, test_request(&request).to_request()).await
            }
            None => {
                let app = test::init_service(
                    App::new()
                        .wrap(middleware)
                        .wrap(actix_web::middleware::Condition::new(
                            outer.is_some(),
                            outer.unwrap_or_else(|| profile.auth().middleware()),
                        ))
                        .default_service(web::to(echo)),
                )
                .await;
                exchange(&app, test_request(&request).to_request()).await
            }
        }
    }
}
