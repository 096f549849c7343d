//! The fifth adapter certified the way a third party would certify theirs: the conformance
//! crate's public harness (`conformance::Harness`, `conformance::run`) runs every case of
//! `conformance/cases` through it. `cargo xtask conformance` prints its summary beside the
//! shipped four and compares its answers with theirs.

use bytes::Bytes;
use conformance::{
    EXTRACT_HEADER, Harness, HttpRequest, HttpResponse, Profile, echo_with_body, user_id_body,
};
use http_body_util::{BodyExt as _, Full};
use hyper_adapter::{Authorized, authorize};

/// The adapter, in-process: the request goes through `authorize` (twice for two layers) and an
/// echo handler.
struct Hyper;

impl Harness for Hyper {
    fn name(&self) -> &'static str {
        "hyper"
    }

    async fn send(&self, profile: &Profile, request: HttpRequest) -> HttpResponse {
        let mut head = http::Request::builder()
            .method(request.method.as_str())
            .uri(request.uri.as_str());
        for (name, value) in &request.headers {
            head = head.header(name.as_str(), value.as_str());
        }
        let body = Full::new(Bytes::from(request.body.clone()));
        let req = head.body(body).expect("valid request");
        // A plain hyper service has no router to nest under: it always sees the whole path,
        // which is what a mounted app decides on.
        let res = match authorize(profile.auth(), req).await {
            Err(res) => *res,
            Ok(req) if request.layers == 2 => match authorize(profile.auth(), req).await {
                Err(res) => *res,
                Ok(request) => echo(Authorized { request }).await,
            },
            Ok(request) => echo(Authorized { request }).await,
        };
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        HttpResponse {
            status: res.status().as_u16(),
            www_authenticate: header("www-authenticate"),
            content_type: header("content-type"),
            body: res.body().clone().into_bytes(),
        }
    }
}

/// The suite's echo handler: the context as JSON, or the user id through the extractor.
async fn echo<B>(req: Authorized<B>) -> http::Response<String>
where
    B: hyper::body::Body,
    B::Error: std::fmt::Debug,
{
    let json = |body: String| {
        http::Response::builder()
            .header("content-type", "application/json")
            .body(body)
            .expect("response")
    };
    if req.request.headers().contains_key(EXTRACT_HEADER) {
        return match req.user_id() {
            Ok(user) => json(user_id_body(&user)),
            Err(refusal) => *refusal,
        };
    }
    let context = req.context().cloned();
    let body = req
        .request
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    json(echo_with_body(context.as_ref(), &body))
}

#[tokio::test]
async fn conformance_suite_through_the_public_harness() {
    let report = conformance::run(&Hyper).await;
    for (case, why) in &report.failures {
        println!("FAIL {case}: {why}");
    }
    assert!(report.passed > 0, "no case ran");
    assert!(
        report.failures.is_empty(),
        "{} failures",
        report.failures.len()
    );
}
