//! A fifth adapter, for plain hyper, written the way a library author would write one for a
//! framework this project does not ship: from `jwt-core`'s public API only (its `http` feature's
//! request view and renderer), and certified by running the whole conformance suite through the
//! conformance crate's public harness (`tests/conformance.rs`).
//!
//! What an adapter does, and all it does (every decision lives in the core):
//!
//! 1. pass on a request this engine already decided ([`JwtAuth::has_decided`]: its
//!    [`AuthContext`] or [`jwt_core::Decided`] mark), so a request is decided once however the
//!    adapter is composed;
//! 2. hand the core the method, the path the router matched (here the whole request path) and
//!    the headers ([`RequestHead`]), and ask for the [`Verdict`] ([`JwtAuth::verdict_now`];
//!    when it has to wait, [`JwtAuth::verdict_after`] continues it); when the core asks for the
//!    body ([`JwtAuth::body_limit`]: an MCP endpoint's `POST`), read it bounded
//!    ([`jwt_core::http::read_body`]), decide on it ([`JwtAuth::verdict`]), and hand the
//!    handler the same bytes;
//! 3. match the verdict's two arms: [`Verdict::Continue`], put what it carries (the context,
//!    or anonymous the engine's mark) into the request ([`jwt_core::http::hand_over`]) and call
//!    the handler; [`Verdict::Respond`], send the core's answer ([`jwt_core::http::reply`]: a
//!    refusal, the metadata document);
//! 4. give handlers the context, and render an extractor's refusal like the engine's own
//!    ([`jwt_core::extractor_refusal`]).
//!
//! ```no_run
//! use hyper_adapter::{Authorized, serve};
//! use jwt_core::{JwtAuth, RouteTable, StaticKeys};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = JwtAuth::builder()
//!     .verifier(StaticKeys::hs256(std::env::var("JWT_SECRET")?)?)
//!     .issuer("https://idp.example.com")
//!     .scopes(RouteTable::builder().route("GET /orders", ["orders.read"]).build()?)
//!     .build()?;
//! let listener = tokio::net::TcpListener::bind(("127.0.0.1", 8000)).await?;
//! serve(listener, auth, |req: Authorized| async move {
//!     let who = req.user_id().unwrap_or_else(|refusal| refusal.into_body());
//!     http::Response::new(who)
//! })
//! .await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jwt_core::http::{RequestHead, render};
use jwt_core::{AuthContext, AuthError, Decided, JwtAuth, Verdict, extract, extractor_refusal};

/// The body a handler reads: the connection's, or on an MCP endpoint the bytes the decision
/// read.
pub type Body = Either<Incoming, Full<Bytes>>;

/// A request the engine let through, as the handler gets it: the request, and the engine's
/// context (`None` on an excluded route, a preflight, an optional route without a token).
#[derive(Debug)]
pub struct Authorized<B = Body> {
    /// The request (its extensions hold the context or the engine's mark).
    pub request: Request<B>,
}

impl<B> Authorized<B> {
    /// The caller's context, if the request has an identity.
    pub fn context(&self) -> Option<&AuthContext> {
        self.request.extensions().get::<AuthContext>()
    }

    /// The caller's user id, or the refusal to answer with (401, rendered like the engine's).
    ///
    /// # Errors
    /// The refusal, as a response.
    pub fn user_id(&self) -> Result<String, Box<Response<String>>> {
        extract::user_id(self.context()).map_err(|err| self.refused(err))
    }

    /// Every scope of `scopes`, or the refusal (403 naming them, or 401).
    ///
    /// # Errors
    /// The refusal, as a response.
    pub fn require(&self, scopes: &[&str]) -> Result<(), Box<Response<String>>> {
        extract::require(self.context(), scopes).map_err(|err| self.refused(err))
    }

    fn refused(&self, err: AuthError) -> Box<Response<String>> {
        let mark = self.request.extensions().get::<Decided>();
        Box::new(render(&extractor_refusal(err, self.context(), mark)))
    }
}

/// The decision for `req`, translated: `Ok` with the context or mark in the request, or the
/// response to answer with (a refusal, the metadata document).
///
/// # Errors
/// The response that answers the request instead of the handler.
pub async fn authorize<B>(
    auth: &JwtAuth,
    req: Request<B>,
) -> Result<Request<Either<B, Full<Bytes>>>, Box<Response<String>>>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if jwt_core::http::decided(auth, req.extensions()) {
        return Ok(req.map(Either::Left));
    }
    // The connection (peer, TLS client certificate) a server such as
    // `jwt_core::server::serve_tls` put in the extensions, for certificate-bound tokens.
    let head = RequestHead::new(req.method(), req.uri().path(), req.headers())
        .with_connection(req.extensions().get());
    let (mut req, verdict) = match auth.body_limit(&head) {
        // An MCP endpoint's `POST`: the decision reads the body.
        Some(limit) => {
            let (parts, body) = req.into_parts();
            let read = jwt_core::http::read_body(body, limit).await;
            let head = RequestHead::from_parts(&parts);
            let verdict = auth.verdict(&head.with_body(read.view())).await;
            let body = Full::new(read.into_bytes().unwrap_or_default());
            (Request::from_parts(parts, Either::Right(body)), verdict)
        }
        None => {
            let verdict = match auth.verdict_now(&head) {
                Ok(verdict) => verdict,
                Err(unfinished) => auth.verdict_after(&head, unfinished).await,
            };
            (req.map(Either::Left), verdict)
        }
    };
    match verdict {
        Verdict::Continue(pass) => {
            jwt_core::http::hand_over(pass, req.extensions_mut());
            Ok(req)
        }
        Verdict::Respond(reply) => Err(Box::new(jwt_core::http::reply(reply))),
    }
}

/// Serves `handler` behind `auth` on `listener` (HTTP/1.1), one task per connection, until
/// an accept fails.
///
/// # Errors
/// The accept error that stopped the server.
pub async fn serve<H, F>(
    listener: tokio::net::TcpListener,
    auth: JwtAuth,
    handler: H,
) -> std::io::Result<()>
where
    H: Fn(Authorized) -> F + Send + Sync + 'static,
    F: Future<Output = Response<String>> + Send + 'static,
{
    let handler = Arc::new(handler);
    loop {
        let (stream, _) = listener.accept().await?;
        let (auth, handler) = (auth.clone(), handler.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let (auth, handler) = (auth.clone(), handler.clone());
                async move {
                    let res = match authorize(&auth, req).await {
                        Ok(request) => handler(Authorized { request }).await,
                        Err(answer) => *answer,
                    };
                    Ok::<_, Infallible>(res.map(|body| Full::new(Bytes::from(body))))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
