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

use conformance::{
    EXTRACT_ACTORS, EXTRACT_HEADER, Harness, HttpRequest, HttpResponse, Profile, actors_body,
    echo_with_body, user_id_body,
};
use http_body_util::BodyExt as _;
use jwt_core::AuthContext;
use tower_service::Service;
use warp::{Filter, Reply};

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
        // The required `user_id` filter when the case asks for it (its refusal is a rejection
        // that `jwt_warp::recover` renders); otherwise the optional context.
        // `x-extract: <value>`: a branch for one value (`actors`) or for any other.
        let extract = |actors: bool| {
            prefix
                .clone()
                .and(warp::header::optional::<String>(EXTRACT_HEADER))
                .and_then(move |asked: Option<String>| async move {
                    asked
                        .filter(|v| (v == EXTRACT_ACTORS) == actors)
                        .map(|_| ())
                        .ok_or_else(warp::reject::not_found)
                })
                .untuple_one()
        };
        let actors = extract(true).and(jwt_warp::actors(profile.auth())).map(
            |chain: Vec<jwt_core::Actor>| {
                warp::reply::with_header(actors_body(&chain), "content-type", "application/json")
                    .into_response()
            },
        );
        let user_id = extract(false)
            .and(jwt_warp::user_id(profile.auth()))
            .map(|user: String| {
                warp::reply::with_header(user_id_body(&user), "content-type", "application/json")
                    .into_response()
            })
            .or(actors)
            .unify();
        let not_extract = warp::header::optional::<String>(EXTRACT_HEADER)
            .and_then(|asked: Option<String>| async move {
                match asked {
                    None => Ok(()),
                    Some(_) => Err(warp::reject::not_found()),
                }
            })
            .untuple_one();
        let echo = prefix
            .clone()
            .and(not_extract)
            .and(jwt_warp::with_auth(profile.auth()))
            .and(warp::body::bytes())
            .map(|ctx: Option<AuthContext>, body: bytes::Bytes| {
                warp::reply::with_header(
                    echo_with_body(ctx.as_ref(), &body),
                    "content-type",
                    "application/json",
                )
            })
            .boxed();
        // Two layers: a first branch that decides, then never matches (a header no request
        // carries), and the echo branch deciding again.
        let app = if request.layers == 2 {
            let first = prefix
                .and(jwt_warp::with_auth(profile.auth()))
                .and(warp::header::exact("x-never-sent", "1"))
                .map(|_: Option<AuthContext>| warp::reply().into_response());
            first
                .or(user_id)
                .unify()
                .or(echo.map(Reply::into_response))
                .unify()
                .recover(jwt_warp::recover)
                .boxed()
        } else {
            user_id
                .or(echo.map(Reply::into_response))
                .unify()
                .recover(jwt_warp::recover)
                .boxed()
        };
        let req = super::http_request(&request)
            .map(|()| http_body_util::Full::new(bytes::Bytes::from(request.body.clone())));
        let service = warp::service(app);
        let res = if self.behind_service || !profile.auth().decisions_are_repeatable() {
            if request.layers == 2 {
                let inner = jwt_warp::service(profile.auth(), service);
                Service::call(&mut jwt_warp::service(profile.auth(), inner), req).await
            } else {
                Service::call(&mut jwt_warp::service(profile.auth(), service), req).await
            }
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
