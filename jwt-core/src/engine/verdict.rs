//! The entry points, and the adapter contract: for each request the core answers
//! [`Verdict::Continue`] (call the handler, carrying a [`Pass`]) or [`Verdict::Respond`] (send
//! this [`Reply`]; no handler runs), like tower-http's `AsyncAuthorizeRequest`
//! (`Result<Request, Response>`). An adapter writes one two-arm match over it; the refusal, the
//! protected resource metadata document and their headers are all the core's.
//!
//! The common case decides without waiting ([`JwtAuth::verdict_now`]: a cache hit, keys that
//! verify in place); a decision that has to wait comes back [`Unfinished`], with what it had
//! found, and [`JwtAuth::verdict_after`] continues it from there.

use std::future::Future as _;
use std::task::{Context, Poll, Waker};

use crate::authz::context::AuthContext;
use crate::engine::decided::Decided;
use crate::engine::decision::{Early, Located, Lookup};
use crate::engine::trace::Trace;
use crate::engine::{JwtAuth, Outcome};
use crate::render::{AuthError, ErrorResponse, GrpcResponse, is_grpc_content_type};
use crate::token::request::RequestParts;
use crate::token::source::PendingCheck;

/// What an adapter does with a request: go on to the handler, or answer.
///
/// ```
/// use jwt_core::{JwtAuth, SimpleRequest, StaticKeys, Verdict, mint};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let secret = [7u8; 32];
/// let auth = JwtAuth::builder().dangerous_any_issuer().verifier(StaticKeys::hs256(secret)?).build()?;
/// let token = mint::hs256(&secret, &serde_json::json!({ "sub": "alice", "exp": 4_000_000_000u64 }))?;
/// let header = format!("Bearer {token}");
///
/// match auth.verdict(&SimpleRequest::new("GET", "/x").header("authorization", &header)).await {
///     Verdict::Continue(pass) => assert_eq!(pass.context().unwrap().user_id(), Some("alice")),
///     Verdict::Respond(reply) => panic!("refused: {}", reply.status()),
/// }
/// match auth.verdict(&SimpleRequest::new("GET", "/x")).await {
///     Verdict::Continue(_) => panic!("let through without a token"),
///     Verdict::Respond(reply) => assert_eq!(reply.status(), 401),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Debug)]
#[must_use = "a verdict is either the handler's call or the answer: act on it"]
pub enum Verdict {
    /// Call the handler, with the [`Pass`] in the request (its extensions).
    Continue(Pass),
    /// Send this answer; no handler runs: a refusal, or the protected resource metadata
    /// document.
    Respond(Reply),
}

/// What an allowed request carries to its handler: the caller's [`AuthContext`], or, when the
/// request has no identity (an excluded route, a CORS preflight, an optional route without a
/// token), the engine's [`Decided`] mark. Either tells a second layer on the same engine that
/// this request is decided ([`JwtAuth::has_decided`]).
#[derive(Debug, Clone)]
pub enum Pass {
    /// A valid token: its context.
    Authenticated(AuthContext),
    /// Allowed without an identity: the engine's mark.
    Anonymous(Decided),
}

impl Pass {
    /// The context, if authenticated.
    pub fn context(&self) -> Option<&AuthContext> {
        match self {
            Pass::Authenticated(ctx) => Some(ctx),
            Pass::Anonymous(_) => None,
        }
    }

    /// The context, if authenticated.
    pub fn into_context(self) -> Option<AuthContext> {
        match self {
            Pass::Authenticated(ctx) => Some(ctx),
            Pass::Anonymous(_) => None,
        }
    }
}

/// An answer the core decided, framework-free: the status, the headers (lower-case names, in
/// order; a value that is not a valid header value is already left out) and the body. A
/// refusal is rendered as the engine renders errors ([`ErrorResponse`]), or for a gRPC request
/// as a trailers-only gRPC status ([`GrpcResponse`], HTTP 200); the metadata document is 200
/// JSON with `cache-control`.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    refusal: Option<AuthError>,
}

impl Reply {
    /// The refusal `err`, for a gRPC request when `grpc`.
    fn refusing(err: AuthError, grpc: bool) -> Self {
        let (status, headers, body) = if grpc {
            let rendered = GrpcResponse::new(&err);
            (200, owned(rendered.headers()), String::new())
        } else {
            let rendered = ErrorResponse::new(&err);
            let headers = owned(rendered.headers());
            (rendered.status(), headers, rendered.into_body())
        };
        Reply {
            status,
            headers,
            body,
            refusal: Some(err),
        }
    }

    /// The protected resource metadata document.
    fn metadata(json: &str) -> Self {
        Reply {
            status: 200,
            headers: vec![
                ("content-type", Outcome::METADATA_CONTENT_TYPE.to_owned()),
                ("cache-control", Outcome::METADATA_CACHE_CONTROL.to_owned()),
            ],
            body: json.to_owned(),
            refusal: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers as `(lower-case name, value)`, in the order to insert them.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.headers
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
    }

    /// The body.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The body, owned.
    pub fn into_body(self) -> String {
        self.body
    }

    /// The refusal this answers, or `None` for the metadata document.
    pub fn refusal(&self) -> Option<&AuthError> {
        self.refusal.as_ref()
    }
}

/// Header values as owned strings.
fn owned<'a>(
    headers: impl Iterator<Item = (&'static str, &'a str)>,
) -> Vec<(&'static str, String)> {
    headers
        .map(|(name, value)| (name, value.to_owned()))
        .collect()
}

/// A decision that has to wait (a key fetch in flight, a per-request check, a shared replay
/// store), with what it had found before it did: the located token, the token cache's answer
/// and its trace. [`JwtAuth::verdict_after`] continues it from there.
#[derive(Default)]
#[must_use = "an unfinished decision is continued with JwtAuth::verdict_after"]
pub struct Unfinished {
    /// The token source's find, owned.
    source: Option<Option<Kept>>,
    /// The located credential, owned.
    credential: Option<Option<Kept>>,
    lookup: Lookup,
    trace: Option<Trace>,
}

impl std::fmt::Debug for Unfinished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unfinished")
            .field("located", &matches!(self.credential, Some(Some(_))))
            .field("cache_read", &self.lookup.is_some())
            .finish_non_exhaustive()
    }
}

/// A located token, owned: its bytes, the check left for them, and whether it came with the
/// `DPoP` scheme.
struct Kept {
    token: Box<[u8]>,
    pending: PendingCheck,
    dpop_scheme: bool,
}

impl Kept {
    fn of(located: Located<'_>) -> Self {
        Kept {
            token: Box::from(located.token),
            pending: located.pending,
            dpop_scheme: located.dpop_scheme,
        }
    }

    fn located(&self) -> Located<'_> {
        Located {
            token: &self.token,
            pending: self.pending,
            dpop_scheme: self.dpop_scheme,
        }
    }
}

impl Unfinished {
    /// What `early` found, owned (the token's bytes copied: the request they borrow from
    /// moves into the adapter's waiting future).
    fn after(early: Early<'_>, trace: Trace) -> Self {
        Unfinished {
            source: early.source.map(|found| {
                found.map(|(token, pending)| {
                    Kept::of(Located {
                        token,
                        pending,
                        dpop_scheme: false,
                    })
                })
            }),
            credential: early.credential.map(|found| found.map(Kept::of)),
            lookup: early.lookup,
            trace: Some(trace),
        }
    }

    /// The decision's state again, borrowing the token from `self`.
    fn early(&mut self) -> Early<'_> {
        Early {
            source: self
                .source
                .as_ref()
                .map(|found| found.as_ref().map(|kept| (&kept.token[..], kept.pending))),
            credential: self
                .credential
                .as_ref()
                .map(|found| found.as_ref().map(Kept::located)),
            lookup: self.lookup.take(),
        }
    }
}

impl JwtAuth {
    /// The decision for one request: `Ok` to let it through (with or without identity),
    /// `Err` to answer with the error's status, body and `WWW-Authenticate`. An adapter
    /// asks for a [`Verdict`] instead ([`Self::verdict_now`], [`Self::verdict`]).
    ///
    /// # Errors
    /// An [`AuthError`] of status 400, 401, 403 or 503.
    ///
    /// Every decision runs in one `tracing` span `jwt_auth` (level DEBUG) whose fields say what
    /// happened: `method`, `route`, `outcome` (`authenticated`, `anonymous`, `refused`),
    /// `status`, `reason` ([`AuthError::reason`]), `sub`, `iss`, `kid`, `alg`, `required`,
    /// `cache_hit`, `duration_us`, and on an audience or issuer mismatch `expected` and
    /// `received`. Never the token or key material. With the `metrics` feature it also counts
    /// `jwt_auth_decisions_total{outcome, reason}` and records
    /// `jwt_auth_decision_seconds{outcome}`.
    pub async fn authenticate<R: RequestParts>(&self, req: &R) -> Result<Outcome, AuthError> {
        self.run(req, &mut Early::default(), &Trace::start(req))
            .await
    }

    /// The [`Verdict`] for one request, waiting where the decision waits: for an adapter that
    /// holds the request across the wait anyway (one that read the body first, or whose
    /// endpoint is an `async fn`).
    pub async fn verdict<R: RequestParts>(&self, req: &R) -> Verdict {
        self.verdict_of(req, self.authenticate(req).await)
    }

    /// The [`Verdict`] when the decision needs no waiting (a cache hit, keys that verify in
    /// place: static keys, a JWKS already fetched), else [`Unfinished`]: a key fetch in flight,
    /// a [`crate::RequestCheck`] (which may do I/O) or a shared replay store. An adapter calls
    /// this first and, on `Ok`, answers or calls the handler in place, with no boxed future;
    /// on `Err` it moves the request into its waiting future and continues there with
    /// [`Self::verdict_after`], which neither locates the token nor reads the cache again.
    ///
    /// ```
    /// use jwt_core::{JwtAuth, SimpleRequest, StaticKeys, Verdict};
    /// let auth = JwtAuth::builder().dangerous_any_issuer().verifier(StaticKeys::hs256([7u8; 32])?).build()?;
    /// match auth.verdict_now(&SimpleRequest::new("GET", "/x")) {
    ///     Ok(Verdict::Respond(reply)) => assert_eq!(reply.status(), 401),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), jwt_core::ConfigError>(())
    /// ```
    pub fn verdict_now<R: RequestParts>(&self, req: &R) -> Result<Verdict, Unfinished> {
        // A check or a remote replay store may wait on I/O: their commands must not be sent
        // by a decision that is dropped at its first wait.
        let i = &*self.inner;
        if !i.checks.is_empty() || i.dpop.as_ref().is_some_and(|d| !d.immediate) {
            return Err(Unfinished::default());
        }
        let trace = Trace::start(req);
        let mut early = Early::default();
        let polled = {
            let decision = std::pin::pin!(self.run(req, &mut early, &trace));
            decision.poll(&mut Context::from_waker(Waker::noop()))
        };
        match polled {
            Poll::Ready(result) => Ok(self.verdict_of(req, result)),
            // Dropped at its first wait (safe: a key fetch runs in its own task).
            Poll::Pending => Err(Unfinished::after(early, trace)),
        }
    }

    /// Continues the decision [`Self::verdict_now`] left [`Unfinished`], for the same request:
    /// from the token it located and the cache answer it read, in the trace it started.
    pub async fn verdict_after<R: RequestParts>(
        &self,
        req: &R,
        mut unfinished: Unfinished,
    ) -> Verdict {
        let trace = unfinished.trace.take().unwrap_or_else(|| Trace::start(req));
        let mut early = unfinished.early();
        let result = self.run(req, &mut early, &trace).await;
        self.verdict_of(req, result)
    }

    /// The verdict for a decision's result.
    fn verdict_of<R: RequestParts>(&self, req: &R, result: Result<Outcome, AuthError>) -> Verdict {
        match result {
            Ok(Outcome::Authenticated(ctx)) => Verdict::Continue(Pass::Authenticated(ctx)),
            Ok(Outcome::Anonymous) => Verdict::Continue(Pass::Anonymous(self.decided_mark())),
            Ok(Outcome::ResourceMetadata(json)) => Verdict::Respond(Reply::metadata(&json)),
            Err(err) => {
                // The first `content-type`, as `http`'s `HeaderMap::get` reads it.
                let mut first = None;
                req.for_each_header("content-type", &mut |v| {
                    first.get_or_insert(v);
                });
                let grpc = first.is_some_and(is_grpc_content_type);
                Verdict::Respond(Reply::refusing(err, grpc))
            }
        }
    }
}

/// What every adapter's response future panics with when it is polled after it completed
/// (like `async fn` futures, and the same in all four adapters).
pub const POLLED_AFTER_COMPLETION: &str =
    "a jwt-rbac response future was polled after it completed";
