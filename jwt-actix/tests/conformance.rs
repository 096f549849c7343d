//! The shared conformance suite against the actix-web adapter (in-process test service).

use actix_web::{App, HttpResponse as ActixResponse, test, web};
use conformance::{Harness, HttpRequest, HttpResponse, Profile, echo_body};
use jwt_actix::{Auth, JwtAuthExt as _};

async fn echo(auth: Option<Auth>) -> ActixResponse {
    ActixResponse::Ok()
        .content_type("application/json")
        .body(echo_body(auth.as_ref().map(|a| &a.0)))
}

struct Actix;

impl Harness for Actix {
    fn name(&self) -> &'static str {
        "actix"
    }

    async fn send(&self, profile: &Profile, request: HttpRequest) -> HttpResponse {
        let app = test::init_service(
            App::new()
                .wrap(profile.auth().middleware())
                .default_service(web::to(echo)),
        )
        .await;
        let method =
            actix_web::http::Method::from_bytes(request.method.as_bytes()).expect("valid method");
        let mut req = test::TestRequest::default()
            .method(method)
            .uri(&request.uri);
        for (name, value) in &request.headers {
            req = req.append_header((name.as_str(), value.as_str()));
        }
        let res = test::call_service(&app, req.to_request()).await;
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
}

#[actix_web::test]
async fn conformance_actix() {
    let report = conformance::run(&Actix).await;
    assert!(report.failures.is_empty(), "{}", report.summary());
}
