//! The AgentOS demo on warp: routes, the `jwt-warp` filters and recover helper; the service
//! itself lives in the framework-free `agentos_demo` library.

use std::convert::Infallible;
use std::io::Write as _;
use std::process::ExitCode;

use agentos_demo::{
    CORS_EXPOSE, CORS_HEADERS, CORS_MAX_AGE_SECS, CORS_METHODS, Demo, DemoArgs, Kind, Reply,
    RequestHeaders,
};
use bytes::Bytes;
use clap::Parser as _;
use jwt_core::AuthContext;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_layer::Layer as _;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::{Filter, Rejection, Reply as _};

fn reply(r: Reply) -> warp::reply::Response {
    let mut res = warp::reply::with_status(
        r.body_bytes(),
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    )
    .into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    if let Some(cookie) = r
        .set_cookie
        .and_then(|c| header::HeaderValue::from_str(&c).ok())
    {
        res.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    res
}

type Route = warp::filters::BoxedFilter<(warp::reply::Response,)>;

fn request_headers(headers: &HeaderMap) -> RequestHeaders {
    RequestHeaders::from_pairs(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
}

/// GET, and HEAD with it (warp's `get()` alone refuses HEAD; hyper drops HEAD's body).
fn get() -> impl Filter<Extract = (), Error = Rejection> + Copy {
    warp::get().or(warp::head()).unify()
}

fn routes(demo: &Demo) -> Route {
    let d = {
        let demo = demo.clone();
        warp::any().map(move || demo.clone())
    };
    let auth = demo.auth().clone();
    let ctx = move || jwt_warp::authenticated(&auth);
    let public = |path: &'static str, f: fn(&Demo) -> Reply| {
        let root = path.is_empty();
        let p = if root {
            warp::path::end().boxed()
        } else {
            warp::path(path).and(warp::path::end()).boxed()
        };
        p.and(get())
            .and(d.clone())
            .map(move |demo: Demo| reply(f(&demo)))
            .boxed()
    };
    let mut app: Route = public("", Demo::root)
        .or(public("health", Demo::health))
        .unify()
        .or(public("info", Demo::info))
        .unify()
        .boxed();
    let headers = warp::header::headers_cloned;
    // Cookie login needs a valid bearer token; logout is excluded from auth, but still asks the
    // core (like the middleware of the other frameworks).
    let set_cookie = warp::path!("set-auth-cookie")
        .and(warp::post())
        .and(d.clone())
        .and(ctx())
        .and(headers())
        .map(|demo: Demo, c: AuthContext, h: HeaderMap| {
            reply(demo.set_auth_cookie(&c, &request_headers(&h)))
        });
    let clear_cookie = warp::path!("clear-auth-cookie")
        .and(warp::post())
        .and(d.clone())
        .and(jwt_warp::with_auth(demo.auth()))
        .and(headers())
        .map(|demo: Demo, _: Option<AuthContext>, h: HeaderMap| {
            reply(demo.clear_auth_cookie(&request_headers(&h)))
        });
    // The MCP endpoint: `jwt_warp::serve_with` read the body and decided on it before the
    // filters; they take its decision and the same bytes.
    let mcp = warp::path!("mcp")
        .and(warp::post())
        .and(d.clone())
        .and(ctx())
        .and(headers())
        .and(warp::body::bytes())
        .then(
            |demo: Demo, c: AuthContext, h: HeaderMap, body: Bytes| async move {
                reply(demo.mcp(&c, &request_headers(&h), &body).await)
            },
        );
    // Routes the middleware protects: the path first, then the auth decision.
    let config = warp::path!("config")
        .and(get())
        .and(d.clone())
        .and(ctx())
        .map(|demo: Demo, _: AuthContext| reply(demo.config()));
    let memories = warp::path!("memories")
        .and(get())
        .and(d.clone())
        .and(ctx())
        .map(|demo: Demo, _: AuthContext| reply(demo.memories()));
    let sessions = warp::path!("sessions")
        .and(get())
        .and(d.clone())
        .and(ctx())
        .then(|demo: Demo, c: AuthContext| async move { reply(demo.sessions(&c).await) });
    let session = warp::path("sessions")
        .and(jwt_warp::param::<String>())
        .and(warp::path::end())
        .and(get())
        .and(d.clone())
        .and(ctx())
        .then(|id: String, demo: Demo, c: AuthContext| async move {
            reply(demo.session(&id, &c).await)
        });
    let delete_session = warp::path("sessions")
        .and(jwt_warp::param::<String>())
        .and(warp::path::end())
        .and(warp::delete())
        .and(d.clone())
        .and(ctx())
        .and(headers())
        .then(
            |id: String, demo: Demo, c: AuthContext, h: HeaderMap| async move {
                reply(demo.delete_session(&id, &c, &request_headers(&h)).await)
            },
        );
    let revoke = |resource: &'static str, session: bool| {
        warp::path(resource)
            .and(jwt_warp::param::<String>())
            .and(warp::path("revoke"))
            .and(warp::path::end())
            .and(warp::post())
            .and(d.clone())
            .and(ctx())
            .and(headers())
            .then(
                move |id: String, demo: Demo, c: AuthContext, h: HeaderMap| async move {
                    let req = request_headers(&h);
                    reply(if session {
                        demo.revoke_session(&id, &c, &req).await
                    } else {
                        demo.revoke_user(&id, &c, &req).await
                    })
                },
            )
    };
    app = app
        .or(set_cookie)
        .unify()
        .or(mcp)
        .unify()
        .or(clear_cookie)
        .unify()
        .or(config)
        .unify()
        .or(memories)
        .unify()
        .or(sessions)
        .unify()
        .or(session)
        .unify()
        .or(delete_session)
        .unify()
        .or(revoke("sessions", true))
        .unify()
        .or(revoke("users", false))
        .unify()
        .boxed();
    for kind in Kind::ALL {
        let p = kind.plural();
        let list = warp::path(p)
            .and(warp::path::end())
            .and(get())
            .and(d.clone())
            .and(ctx())
            .map(move |demo: Demo, c: AuthContext| reply(demo.list(kind, &c)));
        let one = warp::path(p)
            .and(jwt_warp::param::<String>())
            .and(warp::path::end())
            .and(get())
            .and(d.clone())
            .and(ctx())
            .map(move |id: String, demo: Demo, _: AuthContext| reply(demo.get(kind, &id)));
        let run = warp::path(p)
            .and(jwt_warp::param::<String>())
            .and(warp::path("runs"))
            .and(warp::path::end())
            .and(warp::post())
            .and(d.clone())
            .and(ctx())
            .and(headers())
            .and(warp::body::bytes())
            .then(
                move |id: String, demo: Demo, c: AuthContext, h: HeaderMap, body: Bytes| async move {
                    reply(demo.run(kind, &id, &c, &request_headers(&h), &body).await)
                },
            );
        let runs = warp::path(p)
            .and(jwt_warp::param::<String>())
            .and(warp::path("runs"))
            .and(warp::path::end())
            .and(get())
            .and(d.clone())
            .and(ctx())
            .then(move |id: String, demo: Demo, c: AuthContext| async move {
                reply(demo.list_runs(kind, &id, &c).await)
            });
        let cancel = warp::path(p)
            .and(jwt_warp::param::<String>())
            .and(warp::path("runs"))
            .and(jwt_warp::param::<String>())
            .and(warp::path("cancel"))
            .and(warp::path::end())
            .and(warp::post())
            .and(d.clone())
            .and(ctx())
            .and(headers())
            .then(
                move |id: String, run_id: String, demo: Demo, c: AuthContext, h: HeaderMap| async move {
                    reply(
                        demo.cancel(kind, &id, &run_id, &c, &request_headers(&h))
                            .await,
                    )
                },
            );
        app = app
            .or(list)
            .unify()
            .or(one)
            .unify()
            .or(run)
            .unify()
            .or(runs)
            .unify()
            .or(cancel)
            .unify()
            .boxed();
    }
    // Last: a request no route matched still gets the auth decision first (401 without a token,
    // like every other framework), never a 404/405 that tells an anonymous caller what exists.
    app.or(jwt_warp::deny_unmatched(demo.auth()))
        .unify()
        .boxed()
}

async fn recover(rejection: Rejection) -> Result<warp::reply::Response, Infallible> {
    match jwt_warp::recover(rejection).await {
        Ok(res) => Ok(res),
        Err(other) if other.is_not_found() => Ok(reply(Reply {
            status: 404,
            body: serde_json::json!({ "detail": "Not Found" }),
            set_cookie: None,
        })),
        Err(_) => Ok(reply(Reply {
            status: 405,
            body: serde_json::json!({ "detail": "Method Not Allowed" }),
            set_cookie: None,
        })),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let (demo, tls) = match Demo::start(DemoArgs::parse()).and_then(|d| Ok((d.tls()?, d))) {
        Ok((tls, d)) => (d, tls),
        Err(e) => {
            eprintln!("demo-warp: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", demo.args().port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("demo-warp: cannot listen on port {}: {e}", demo.args().port);
            return ExitCode::FAILURE;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    demo.listening_on(port);
    // The engine decides every request once, before the filters (one decision per request,
    // which DPoP needs), and CORS outside everything: preflights never reach the engine, and
    // its refusals carry the CORS headers, as on the other frameworks.
    let origins: Vec<HeaderValue> = demo
        .allowed_origins()
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods(CORS_METHODS.map(|m| m.parse().unwrap_or(warp::http::Method::GET)))
        .allow_headers(CORS_HEADERS.map(header::HeaderName::from_static))
        .expose_headers(CORS_EXPOSE.map(header::HeaderName::from_static))
        .max_age(std::time::Duration::from_secs(CORS_MAX_AGE_SECS))
        .allow_credentials(true);
    let app = jwt_warp::service(demo.auth(), warp::service(routes(&demo).recover(recover)));
    print!("{}", demo.banner(port));
    let _ = std::io::stdout().flush();
    // Over TLS, each request carries its connection (the client certificate, with --mtls).
    match tls {
        Some(tls) => jwt_core::server::serve_tls(listener, tls, cors.layer(app)).await,
        None => jwt_warp::serve_with(cors.layer(app), listener).await,
    }
    ExitCode::SUCCESS
}
