//! The actix-web app on its own thread and system: `web::Path` extractors, the admin routes in
//! `web::scope("/api/admin")` wrapped in the middleware, the root routes in a wrapped root scope.

use actix_web::http::header::ContentType;
use actix_web::{App, HttpResponse, HttpServer, web};
use jwt_actix::JwtAuthExt as _;
use jwt_core::JwtAuth;

use super::app::{Running, Stop, answer};
use super::corpus::route;

fn reply(route: &str, params: &[(&str, &str)]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(answer(route, params))
}

async fn items() -> HttpResponse {
    reply(route::ITEMS, &[])
}

async fn item(id: web::Path<String>) -> HttpResponse {
    reply(route::ITEM, &[("id", &id)])
}

async fn item_runs(id: web::Path<String>) -> HttpResponse {
    reply(route::ITEM_RUNS, &[("id", &id)])
}

async fn admin_reset() -> HttpResponse {
    reply(route::ADMIN_RESET, &[])
}

async fn files(path: web::Path<String>) -> HttpResponse {
    reply(route::FILES, &[("path", &path)])
}

async fn health() -> HttpResponse {
    reply(route::HEALTH, &[])
}

async fn admin_items() -> HttpResponse {
    reply(route::ADMIN_ITEMS, &[])
}

async fn admin_item(id: web::Path<String>) -> HttpResponse {
    reply(route::ADMIN_ITEM, &[("id", &id)])
}

/// Starts the server on 127.0.0.1, port 0, on a thread of its own.
pub(crate) fn start(auth: &JwtAuth) -> Running {
    let auth = auth.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .service(
                        web::scope("/api/admin")
                            .wrap(auth.middleware())
                            .route("/items", web::get().to(admin_items))
                            .route("/items/{id}", web::get().to(admin_item)),
                    )
                    .service(
                        web::scope("")
                            .wrap(auth.middleware())
                            .route("/items", web::get().to(items))
                            .route("/items/{id}", web::get().to(item))
                            .route("/items/{id}/runs", web::post().to(item_runs))
                            .route("/admin@reset", web::post().to(admin_reset))
                            .route("/files/{path:.*}", web::get().to(files))
                            .route("/health", web::get().to(health)),
                    )
            })
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)
            .expect("listen")
            .run();
            handle_tx.send(server.handle()).expect("send handle");
            server.await.expect("actix server");
        });
    });
    let handle = handle_rx.recv().expect("actix started");
    Running {
        name: "actix",
        addr,
        stop: Stop::Actix(handle, thread),
    }
}
