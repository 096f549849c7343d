//! The warp adapter's harnesses: the filter driven as a tower service (warp's own test builder
//! replaces repeated headers); a mounted app has `warp::path` filters for the prefix's segments
//! in front of the middleware (warp has no nesting: its filters see the full path). `warp` runs
//! the filters alone (each decides), `warp-service` runs the same app behind
//! `jwt_warp::service` (the service decides, the filter takes its decision).
//!
//! A profile whose decisions are not repeatable (DPoP: a decision records its proof) runs
//! behind the service in both: filters alone refuse such an engine by design (500, see
//! `jwt_warp::with_auth`; `jwt-warp/tests/service.rs` proves that refusal), because warp would
//! decide once per `.or()` branch.

use conformance::{Harness, HttpRequest, HttpResponse, Profile, echo_body};
use http_body_util::BodyExt as _;
use jwt_core::AuthContext;
use tower_service::Service;
use warp::Filter;

/// The warp harness; `behind_service`: the app behind `jwt_warp::service`.
pub(crate) struct Warp {
    pub(crate) behind_service: bool,
}

impl Warp {
    /// The filters alone.
    pub(crate) const FILTERS: Warp = Warp {
        behind_service: false,
    };
    /// The filters behind `jwt_warp::service`.
    pub(crate) const SERVICE: Warp = Warp {
        behind_service: true,
    };
}

impl Harness for Warp {
    fn name(&self) -> &'static str {
        if self.behind_service {
            "warp-service"
        } else {
            "warp"
        }
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
        let service = warp::service(app);
        let res = if self.behind_service || !profile.auth().decisions_are_repeatable() {
            Service::call(&mut jwt_warp::service(profile.auth(), service), req).await
        } else {
            Service::call(&mut { service }, req).await
        };
        let res = match res {
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
