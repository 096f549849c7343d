//! The warp app: full-path filters with `jwt_warp::param` path parameters (decoded once, like the
//! core) and `jwt_warp::tail`, behind `jwt_warp::with_auth` so the middleware runs before
//! routing (an unknown path without a token is a 401, not a 404), and `jwt_warp::recover`
//! rendering its refusals. Served twice: by `warp::serve` (the filter decides) and by
//! `jwt_warp::serve` (the service in front decides, the filter takes its decision).

use jwt_core::{AuthContext, JwtAuth};
use jwt_warp::param;
use warp::Filter;
use warp::filters::path::{end, path};
use warp::reply::{Reply as _, Response};

use super::app::{Running, Stop, answer};
use super::corpus::route;

fn reply(route: &str, params: &[(&str, &str)]) -> Response {
    warp::reply::with_header(answer(route, params), "content-type", "application/json")
        .into_response()
}

/// The app, its middleware first.
fn app(
    auth: &JwtAuth,
) -> impl warp::Filter<Extract = (Response,), Error = warp::Rejection> + Clone + use<> {
    let items = warp::get()
        .and(path("items"))
        .and(end())
        .map(|| reply(route::ITEMS, &[]));
    let item = warp::get()
        .and(path("items"))
        .and(param::<String>())
        .and(end())
        .map(|id: String| reply(route::ITEM, &[("id", &id)]));
    let item_runs = warp::post()
        .and(path("items"))
        .and(param::<String>())
        .and(path("runs"))
        .and(end())
        .map(|id: String| reply(route::ITEM_RUNS, &[("id", &id)]));
    let admin_reset = warp::post()
        .and(path("admin@reset"))
        .and(end())
        .map(|| reply(route::ADMIN_RESET, &[]));
    let files = warp::get()
        .and(path("files"))
        .and(jwt_warp::tail())
        .map(|rest: String| reply(route::FILES, &[("path", &rest)]));
    let health = warp::get()
        .and(path("health"))
        .and(end())
        .map(|| reply(route::HEALTH, &[]));
    let admin_items = warp::get()
        .and(path("api"))
        .and(path("admin"))
        .and(path("items"))
        .and(end())
        .map(|| reply(route::ADMIN_ITEMS, &[]));
    let admin_item = warp::get()
        .and(path("api"))
        .and(path("admin"))
        .and(path("items"))
        .and(param::<String>())
        .and(end())
        .map(|id: String| reply(route::ADMIN_ITEM, &[("id", &id)]));
    let routes = items
        .or(item)
        .unify()
        .or(item_runs)
        .unify()
        .or(admin_reset)
        .unify()
        .or(files)
        .unify()
        .or(health)
        .unify()
        .or(admin_items)
        .unify()
        .or(admin_item)
        .unify();
    jwt_warp::with_auth(auth)
        .and(routes)
        .map(|_: Option<AuthContext>, res: Response| res)
        .recover(jwt_warp::recover)
        .unify()
}

/// Starts the app on 127.0.0.1, port 0: with `served_by_jwt_warp`, under `jwt_warp::serve` (the
/// service decides first), otherwise under `warp::serve` (the filter decides).
pub(crate) async fn start(auth: &JwtAuth, served_by_jwt_warp: bool) -> Running {
    let app = app(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (signal, stopped) = tokio::sync::oneshot::channel::<()>();
    let (name, task) = if served_by_jwt_warp {
        let auth = auth.clone();
        let task = tokio::spawn(async move {
            tokio::select! {
                () = jwt_warp::serve(&auth, warp::service(app), listener) => {}
                _ = stopped => {}
            }
        });
        ("warp-service", task)
    } else {
        let server = warp::serve(app).incoming(listener).graceful(async move {
            let _ = stopped.await;
        });
        ("warp", tokio::spawn(server.run()))
    };
    Running {
        name,
        addr,
        stop: Stop::Task(signal, task),
    }
}
