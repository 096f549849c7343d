//! The plumbing the axum, poem and warp adapters share over the [`http`] 1.x types
//! (feature `http`): [`RequestHead`], the view of a request head the engine reads, and
//! [`render`], the one renderer of an [`AuthError`]. actix-web is on `http` 0.2; its adapter keeps
//! its own view and renders the same [`ErrorResponse`].
//!
//! ```
//! use jwt_core::http::{RequestHead, render};
//! use jwt_core::{JwtAuth, RouteTable, StaticKeys};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let auth = JwtAuth::builder().dangerous_any_issuer()
//!     .verifier(StaticKeys::hs256(b"an-hs256-secret-of-at-least-32-bytes!")?)
//!     .scopes(RouteTable::agent_os().build()?)
//!     .build()?;
//!
//! let (parts, ()) = http::Request::get("/agents").body(())?.into_parts();
//! let err = auth.authenticate(&RequestHead::from_parts(&parts)).await.unwrap_err();
//! let res = render(&err);
//! assert_eq!(res.status(), 401);
//! assert_eq!(res.headers()["content-type"], "application/json");
//! assert_eq!(res.headers()["www-authenticate"], r#"Bearer realm="api""#);
//! assert_eq!(res.body(), r#"{"detail":"Authorization header missing"}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

use ::http::request::Parts;
use ::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, header};

use crate::ClientConnection;
use crate::render::AuthError;
use crate::render::{ErrorResponse, GrpcResponse, is_grpc_content_type};
use crate::token::request::{ReadBody, RequestBody, RequestParts};

/// A borrowed `http` 1.x request head for [`crate::JwtAuth::authenticate`]: the method, the
/// headers (every value, as bytes) and the path the adapter's router matched on, which the
/// adapter chooses (with the mount prefix: axum's `OriginalUri`, poem's original URI, warp's
/// full path). It holds only shared references to `Sync` types, so a future that keeps it across
/// an `.await` stays `Send`.
///
/// ```
/// use jwt_core::RequestParts as _;
/// use jwt_core::http::RequestHead;
/// let req = http::Request::post("/api/items?x=1")
///     .header("authorization", "Bearer a")
///     .body(())
///     .unwrap();
/// let (parts, ()) = req.into_parts();
/// let head = RequestHead::from_parts(&parts);
/// assert_eq!((head.method(), head.path()), ("POST", "/api/items"));
/// let mut seen = Vec::new();
/// head.for_each_header("Authorization", &mut |v| seen.push(v));
/// assert_eq!(seen, [b"Bearer a".as_slice()]);
///
/// // A nested router stripped `/api`: decide on the path the outer router saw.
/// let inner = RequestHead::new(&parts.method, "/items", &parts.headers);
/// assert_eq!(inner.with_path("/api/items").path(), "/api/items");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    method: &'a Method,
    path: &'a str,
    headers: &'a HeaderMap,
    body: RequestBody<'a>,
    peer: Option<std::net::IpAddr>,
    certificate: Option<&'a [u8]>,
}

impl<'a> RequestHead<'a> {
    /// A head from its pieces; `path` is the raw path (no query string) the router matched on.
    pub fn new(method: &'a Method, path: &'a str, headers: &'a HeaderMap) -> Self {
        Self {
            method,
            path,
            headers,
            body: RequestBody::Unread,
            peer: None,
            certificate: None,
        }
    }

    /// The same head with the connection it arrived on (the direct peer, the TLS client
    /// certificate): what certificate-bound tokens are checked against ([`crate::Mtls`]).
    /// `None` leaves the head as it is.
    pub fn with_connection(self, connection: Option<&'a ClientConnection>) -> Self {
        match connection {
            Some(conn) => Self {
                peer: Some(conn.peer_addr().ip()),
                certificate: conn.certificate(),
                ..self
            },
            None => self,
        }
    }

    /// The same head with the direct peer's address, for a server that knows the peer but puts
    /// no [`ClientConnection`] in the request (axum's `ConnectInfo`, poem's remote address).
    pub fn with_peer_addr(self, peer: Option<std::net::IpAddr>) -> Self {
        Self { peer, ..self }
    }

    /// The same head with the body the adapter read ([`read_body`], [`ReadBody::view`]), for a request whose
    /// decision reads it ([`crate::JwtAuth::body_limit`]: an MCP endpoint's `POST`).
    pub fn with_body(self, body: RequestBody<'a>) -> Self {
        Self { body, ..self }
    }

    /// The head of `parts`, with the path of its URI and the [`ClientConnection`] in its
    /// extensions, if any.
    pub fn from_parts(parts: &'a Parts) -> Self {
        Self::new(&parts.method, parts.uri.path(), &parts.headers)
            .with_connection(parts.extensions.get())
    }

    /// The same head with another path (e.g. the one before a nested router stripped its prefix).
    pub fn with_path(self, path: &'a str) -> Self {
        Self { path, ..self }
    }
}

impl RequestParts for RequestHead<'_> {
    fn method(&self) -> &str {
        self.method.as_str()
    }

    fn path(&self) -> &str {
        self.path
    }

    fn for_each_header<'a>(&'a self, name: &str, f: &mut dyn FnMut(&'a [u8])) {
        // The names the core reads on every request, without parsing the name each time.
        // The exact spelling first: the default configuration's, a plain comparison.
        let values = if name == "Authorization" || name.eq_ignore_ascii_case("authorization") {
            self.headers.get_all(header::AUTHORIZATION)
        } else if name.eq_ignore_ascii_case("cookie") {
            self.headers.get_all(header::COOKIE)
        } else {
            self.headers.get_all(name)
        };
        for value in values {
            f(value.as_bytes());
        }
    }

    fn body(&self) -> RequestBody<'_> {
        self.body
    }

    fn client_certificate(&self) -> Option<&[u8]> {
        self.certificate
    }

    fn peer_addr(&self) -> Option<std::net::IpAddr> {
        self.peer
    }
}

/// Reads `body` whole, up to `limit` bytes ([`crate::JwtAuth::body_limit`]): what an adapter
/// over `http` 1.x bodies does on an MCP endpoint before asking for the decision, then hands
/// the same bytes to the handler.
///
/// ```
/// use jwt_core::ReadBody;
/// use jwt_core::http::read_body;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let body = http_body_util::Full::new(bytes::Bytes::from_static(b"{}"));
/// assert!(matches!(read_body(body.clone(), 2).await, ReadBody::Bytes(b) if &b[..] == b"{}"));
/// assert!(matches!(read_body(body, 1).await, ReadBody::TooLarge));
/// # });
/// ```
pub async fn read_body<B>(body: B, limit: usize) -> ReadBody<bytes::Bytes>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use http_body_util::BodyExt as _;
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => ReadBody::Bytes(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => ReadBody::TooLarge,
        Err(_) => ReadBody::Unreadable,
    }
}

/// Renders `err` as the response every adapter sends: its status, `content-type` (JSON unless
/// the middleware has another renderer), `WWW-Authenticate` when it has one, `Retry-After` on a
/// 503 (see [`ErrorResponse`]) and the body. Adapters map the `String` body into their own body type.
///
/// ```
/// use jwt_core::{AuthError, AuthErrorKind};
/// let res = jwt_core::http::render(&AuthError::new(AuthErrorKind::Unavailable));
/// assert_eq!(res.status(), 503);
/// assert_eq!(res.headers().len(), 2);
/// assert_eq!(res.headers()["content-type"], "application/json");
/// assert_eq!(res.headers()["retry-after"], "5");
/// ```
pub fn render(err: &AuthError) -> Response<String> {
    let rendered = ErrorResponse::new(err);
    let status =
        StatusCode::from_u16(rendered.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let res = response(status, rendered.headers(), String::new());
    res.map(|_| rendered.into_body())
}

/// A response of `status`, `headers` (a value that is not a valid header is left out) and `body`.
fn response<'a>(
    status: StatusCode,
    headers: impl Iterator<Item = (&'static str, &'a str)>,
    body: String,
) -> Response<String> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            res.headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    res
}

/// Whether the request is a gRPC call (its `content-type`, see
/// [`crate::is_grpc_content_type`]).
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("content-type", "application/grpc".parse().unwrap());
/// assert!(jwt_core::http::is_grpc(&headers));
/// ```
pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(::http::header::CONTENT_TYPE)
        .is_some_and(|v| is_grpc_content_type(v.as_bytes()))
}

/// Renders `err` for a gRPC client ([`GrpcResponse`]): HTTP 200, `content-type:
/// application/grpc`, `grpc-status`, `grpc-message`, the challenge, an empty body.
///
/// ```
/// use jwt_core::{AuthError, AuthErrorKind};
/// let res = jwt_core::http::render_grpc(&AuthError::new(AuthErrorKind::RouteDenied));
/// assert_eq!(res.status(), 200);
/// assert_eq!(res.headers()["grpc-status"], "7");
/// assert!(res.body().is_empty());
/// ```
pub fn render_grpc(err: &AuthError) -> Response<String> {
    response(
        StatusCode::OK,
        GrpcResponse::new(err).headers(),
        String::new(),
    )
}

/// [`render_grpc`] for a gRPC request, [`render`] for any other.
pub fn render_for(headers: &HeaderMap, err: &AuthError) -> Response<String> {
    if is_grpc(headers) {
        render_grpc(err)
    } else {
        render(err)
    }
}

/// Whether `auth` has already decided the request these extensions belong to: they hold its
/// [`crate::AuthContext`] or its [`crate::Decided`] mark ([`crate::JwtAuth::has_decided`]). An
/// adapter over `http` 1.x types then passes the request on without deciding again.
///
/// ```
/// use jwt_core::{JwtAuth, Pass, StaticKeys};
/// let auth = JwtAuth::builder().verifier(StaticKeys::hs256([7u8; 32])?).dangerous_any_issuer().build()?;
/// let mut extensions = http::Extensions::new();
/// assert!(!jwt_core::http::decided(&auth, &extensions));
/// jwt_core::http::hand_over(Pass::Anonymous(auth.decided_mark()), &mut extensions);
/// assert!(jwt_core::http::decided(&auth, &extensions));
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
pub fn decided(auth: &crate::JwtAuth, extensions: &::http::Extensions) -> bool {
    auth.has_decided(
        extensions.get::<crate::AuthContext>(),
        extensions.get::<crate::Decided>(),
    )
}

/// Puts what an allowed request carries to its handler ([`crate::Verdict::Continue`]) into its
/// extensions: the [`crate::AuthContext`] when it has an identity, else the engine's
/// [`crate::Decided`] mark (for a second layer on the same engine and for extractor refusals).
pub fn hand_over(pass: crate::Pass, extensions: &mut ::http::Extensions) {
    match pass {
        crate::Pass::Authenticated(ctx) => {
            extensions.insert(ctx);
        }
        crate::Pass::Anonymous(mark) => {
            extensions.insert(mark);
        }
    }
}

/// The answer of a [`crate::Verdict::Respond`] as an `http` response: its status, headers and
/// body.
///
/// ```
/// use jwt_core::{JwtAuth, SimpleRequest, StaticKeys, Verdict};
/// let auth = JwtAuth::builder().dangerous_any_issuer().verifier(StaticKeys::hs256([7u8; 32])?).build()?;
/// let Ok(Verdict::Respond(reply)) = auth.verdict_now(&SimpleRequest::new("GET", "/x")) else {
///     panic!("a request without a token is answered");
/// };
/// let res = jwt_core::http::reply(reply);
/// assert_eq!(res.status(), 401);
/// assert_eq!(res.headers()["www-authenticate"], r#"Bearer realm="api""#);
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
pub fn reply(reply: crate::Reply) -> Response<String> {
    let status = StatusCode::from_u16(reply.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let res = response(status, reply.headers(), String::new());
    res.map(|_| reply.into_body())
}
