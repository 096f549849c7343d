//! The warp adapter's harness: the filter driven as a tower service (warp's own test builder
//! replaces repeated headers); a mounted app has `warp::path` filters for the prefix's segments
//! in front of the middleware (warp has no nesting: its filters see the full path).

use conformance::{Harness, HttpRequest, HttpResponse, Profile, echo_body};
use http_body_util::BodyExt as _;
use jwt_core::AuthContext;
use tower_service::Service;
use warp::Filter;

/// The warp harness.
pub(crate) struct Warp;

impl Harness for Warp {
    fn name(&self) -> &'static str {
        "warp"
    }

    async fn send(&self, profile: &Profile, request: HttpRequest) -> HttpResponse {
        let prefix = request
            .mount
            .iter()
            .flat_map(|m| m.split('/').filter(|s| !s.is_empty()))
            .fold(warp::any().boxed(), |filter, segment| {
                filter.and(warp::path(segment.to_owned())).boxed()
            });
        let app = prefix
            .and(jwt_warp::with_auth(profile.auth()))
            .map(|ctx: Option<AuthContext>| {
                warp::reply::with_header(
                    echo_body(ctx.as_ref()),
                    "content-type",
                    "application/json",
                )
            })
            .recover(jwt_warp::recover);
        let req = super::http_request(&request).map(|()| String::new());
        let mut service = warp::service(app);
        let res = match Service::call(&mut service, req).await {
            Ok(res) => res,
            Err(never) => match never {},
        };
        let (head, body) = res.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        super::response(head.status, &head.headers, body)
    }
}
