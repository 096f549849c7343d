//! One [`conformance::Harness`] per adapter: each builds its framework's app for a profile (the
//! middleware around a handler that echoes the injected identity) and sends one request through
//! it in-process.

pub(crate) mod actix;
pub(crate) mod axum;
pub(crate) mod poem;
pub(crate) mod warp;

use conformance::{Harness as _, HttpRequest, HttpResponse, Profile};

/// `request` as an `http` 1.x request head (axum, poem and warp build theirs from it).
pub(crate) fn http_request(request: &HttpRequest) -> http::Request<()> {
    let mut head = http::Request::builder()
        .method(request.method.as_str())
        .uri(request.uri.as_str());
    for (name, value) in &request.headers {
        head = head.header(name.as_str(), value.as_str());
    }
    head.body(()).expect("valid request")
}

/// What the suite compares, from an `http` 1.x response (axum, poem, warp; actix-web is on
/// `http` 0.2 and reads its own).
pub(crate) fn response(
    status: http::StatusCode,
    headers: &http::HeaderMap,
    body: Vec<u8>,
) -> HttpResponse {
    let header = |name: http::header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    HttpResponse {
        status: status.as_u16(),
        www_authenticate: header(http::header::WWW_AUTHENTICATE),
        content_type: header(http::header::CONTENT_TYPE),
        body,
    }
}

/// The request `req` builds, sent through every adapter (warp as filters and as a service), with
/// each adapter's name: for tests of one feature across adapters.
pub(crate) async fn on_every_adapter(
    profile: &Profile,
    req: impl Fn() -> HttpRequest,
) -> Vec<(&'static str, HttpResponse)> {
    vec![
        ("axum", axum::Axum.send(profile, req()).await),
        ("actix", actix::Actix.send(profile, req()).await),
        ("poem", poem::Poem.send(profile, req()).await),
        ("warp", warp::Warp::FILTERS.send(profile, req()).await),
        (
            "warp-service",
            warp::Warp::SERVICE.send(profile, req()).await,
        ),
    ]
}
