//! poem-openapi (feature `openapi`): `JwtBearer` in `#[oai]` operations enforces the route
//! table's scopes with the engine, refuses exactly as the middleware does, reuses the
//! middleware's decision when both run, and the generated document lists the enforced scopes.
//! Then every conformance case runs through a poem-openapi app whose catch-all operations take
//! the scheme (nested with `Route::nest` under the case's mount, if any), alone and behind the
//! middleware, and each response is compared with the plain middleware's.
#![cfg(feature = "openapi")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use conformance::{Case, HttpRequest, Profile, echo_body};
use jwt_core::openapi::OpenApiSecurity;
use jwt_core::{
    AuthContext, AuthError, AuthErrorKind, JwtAuth, RequestCheck, RouteTable, StaticKeys, mint,
};
use jwt_poem::openapi::{
    JwtBearer, OptionalJwtBearer, SCHEME, spec_endpoint_with_security, spec_with_security,
};
use jwt_poem::{Auth, JwtAuthExt as _};
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{
    Body, Endpoint, EndpointExt, IntoEndpoint, Request, RequestParts, Response, Route, handler,
};
use poem_openapi::param::Path;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{OpenApi, OpenApiService};
use serde_json::{Value, json};

const SECRET: &[u8] = b"poem-openapi-test-secret-of-32-bytes-or-more";

fn table() -> RouteTable {
    RouteTable::builder()
        .route("GET /agents", ["agents:read"])
        .route("GET /agents/{agent_id}", ["agents:{agent_id}:read"])
        .route("POST /agents/{agent_id}/runs", ["agents:{agent_id}:run"])
        .optional("GET /feed")
        .exclude("GET /health")
        .admin_scope("admin")
        .build()
        .unwrap()
}

/// Counts the engine's decisions that reached the request checks, and makes the service look
/// down (503, `Retry-After`) for the agent `down`.
#[derive(Debug, Default, Clone)]
struct Counting(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl RequestCheck for Counting {
    async fn check(&self, _ctx: &AuthContext, _method: &str, path: &str) -> Result<(), AuthError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        if path == "/agents/down" {
            return Err(AuthError::new(AuthErrorKind::Unavailable));
        }
        Ok(())
    }
}

fn auth_with(check: &Counting) -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .scopes(table())
        .check(check.clone())
        .build()
        .unwrap()
}

fn token_with(scopes: &[&str], exp: u64) -> String {
    let claims = json!({"sub": "alice", "exp": exp, "scopes": scopes});
    format!("Bearer {}", mint::hs256(SECRET, &claims).unwrap())
}

fn token(scopes: &[&str]) -> String {
    token_with(scopes, 4_000_000_000)
}

struct AgentsApi;

#[OpenApi]
impl AgentsApi {
    /// One agent.
    #[oai(path = "/agents", method = "get")]
    async fn list_agents(&self, auth: JwtBearer) -> PlainText<String> {
        PlainText(format!("{:?}", auth.0.user_id()))
    }

    /// One agent.
    #[oai(path = "/agents/:agent_id", method = "get")]
    async fn get_agent(&self, auth: JwtBearer, agent_id: Path<String>) -> PlainText<String> {
        PlainText(format!(
            "{} reads {}",
            auth.0.user_id().unwrap_or("?"),
            agent_id.0
        ))
    }

    /// Starts a run.
    #[oai(path = "/agents/:agent_id/runs", method = "post")]
    async fn run_agent(&self, auth: JwtBearer, agent_id: Path<String>) -> PlainText<String> {
        PlainText(format!(
            "{} runs {}",
            auth.0.user_id().unwrap_or("?"),
            agent_id.0
        ))
    }

    /// Public, or personal with a token.
    #[oai(path = "/feed", method = "get")]
    async fn feed(&self, auth: OptionalJwtBearer) -> PlainText<String> {
        PlainText(match auth.0 {
            Some(ctx) => format!("feed of {}", ctx.user_id().unwrap_or("?")),
            None => "public feed".to_owned(),
        })
    }

    /// Liveness: excluded from authentication.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }
}

fn service() -> OpenApiService<AgentsApi, ()> {
    OpenApiService::new(AgentsApi, "agents", "1.0.0")
}

/// The poem-openapi app: the scheme alone, the `JwtAuth` in the request data.
fn openapi_app(auth: &JwtAuth) -> impl Endpoint<Output = Response> + use<> {
    service().data(auth.clone()).map_to_response()
}

#[handler]
async fn echo(req: &Request, auth: Option<Auth>) -> poem::Result<Response> {
    use poem::FromRequest as _;
    // The required `UserId` extractor when the case asks for it, as in the conformance harness.
    if req.headers().contains_key(conformance::EXTRACT_HEADER) {
        let jwt_poem::UserId(user) = jwt_poem::UserId::from_request_without_body(req).await?;
        return Ok(Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(conformance::user_id_body(&user)));
    }
    Ok(Response::builder()
        .content_type("application/json")
        .body(echo_body(auth.as_ref().map(|a| &a.0))))
}

/// The plain middleware on a catch-all handler: what the scheme must answer like.
fn middleware_app(auth: &JwtAuth) -> impl Endpoint<Output = Response> + use<> {
    Route::new()
        .at("/*path", echo)
        .at("/", echo)
        .with(auth.middleware())
        .map_to_response()
}

/// `app` wrapped in the middleware once more when the case asks for two layers.
fn layered(
    case: &Case,
    auth: &JwtAuth,
    app: impl Endpoint<Output = Response> + 'static,
) -> poem::endpoint::BoxEndpoint<'static, Response> {
    if case.layers == 2 {
        app.with(auth.middleware()).map_to_response().boxed()
    } else {
        app.boxed()
    }
}

/// `request` as poem's server hands it to the app (original URI set), as the conformance
/// harness builds it.
fn server_request(request: &HttpRequest) -> Request {
    let mut head = poem::http::Request::builder()
        .method(request.method.as_str())
        .uri(request.uri.as_str());
    for (name, value) in &request.headers {
        head = head.header(name.as_str(), value.as_str());
    }
    let (head, ()) = head.body(()).unwrap().into_parts();
    let parts = RequestParts::from((
        head,
        LocalAddr::default(),
        RemoteAddr::default(),
        Scheme::HTTP,
    ));
    Request::from_parts(parts, Body::from(request.body.clone()))
}

fn request(method: &str, uri: &str, authorization: Option<&str>) -> HttpRequest {
    HttpRequest {
        method: method.to_owned(),
        uri: uri.to_owned(),
        headers: authorization
            .map(|a| vec![("Authorization".to_owned(), a.to_owned())])
            .unwrap_or_default(),
        mount: None,
        layers: 1,
        body: Vec::new(),
    }
}

/// Everything a client sees of a response: status, every header (but `content-length`), body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    status: u16,
    headers: BTreeMap<String, Vec<String>>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// For comparing an echo of the middleware app with one of the poem-openapi app, whose
    /// `Json` payload adds `; charset=utf-8` to the content type: the same JSON.
    fn same_as(&self, other: &Seen) -> bool {
        let echoed = |s: &Seen| {
            s.status == 200
                && s.header("content-type")
                    .is_some_and(|t| t.starts_with("application/json"))
        };
        if echoed(self) && echoed(other) && self.json().is_some() {
            let mut a = self.headers.clone();
            let mut b = other.headers.clone();
            a.remove("content-type");
            b.remove("content-type");
            self.status == other.status && a == b && self.json() == other.json()
        } else {
            self == other
        }
    }
}

async fn send(app: &impl Endpoint<Output = Response>, request: &HttpRequest) -> Seen {
    let res = app.get_response(server_request(request)).await;
    let (head, body) = res.into_parts();
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &head.headers {
        if name != poem::http::header::CONTENT_LENGTH {
            headers
                .entry(name.as_str().to_owned())
                .or_default()
                .push(value.to_str().unwrap_or("<binary>").to_owned());
        }
    }
    Seen {
        status: head.status.as_u16(),
        headers,
        body: body.into_vec().await.unwrap(),
    }
}

#[tokio::test]
async fn poem_openapi_allows_a_caller_with_the_route_scopes() {
    let check = Counting::default();
    let app = openapi_app(&auth_with(&check));
    let a1 = token(&["agents:a1:read"]);
    let res = send(&app, &request("GET", "/agents/a1", Some(&a1))).await;
    assert_eq!((res.status, res.text().as_str()), (200, "alice reads a1"));
    let run = token(&["agents:a1:run"]);
    let res = send(&app, &request("POST", "/agents/a1/runs", Some(&run))).await;
    assert_eq!((res.status, res.text().as_str()), (200, "alice runs a1"));
    // The admin scope holds every scope, as in the engine.
    let admin = token(&["admin"]);
    let res = send(&app, &request("GET", "/agents/a9", Some(&admin))).await;
    assert_eq!(res.status, 200);
    // Excluded: no token needed, no handler argument asked for one.
    let res = send(&app, &request("GET", "/health", None)).await;
    assert_eq!((res.status, res.text().as_str()), (200, "ok"));
    // Optional: anonymous, or the caller when a token comes.
    let res = send(&app, &request("GET", "/feed", None)).await;
    assert_eq!((res.status, res.text().as_str()), (200, "public feed"));
    let res = send(&app, &request("GET", "/feed", Some(&a1))).await;
    assert_eq!((res.status, res.text().as_str()), (200, "feed of alice"));
    // One engine decision per authenticated request.
    assert_eq!(check.0.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn poem_openapi_refusals_are_exactly_the_middlewares() {
    let auth = auth_with(&Counting::default());
    let openapi = openapi_app(&auth);
    let middleware = middleware_app(&auth);
    let cases = [
        ("missing token", request("GET", "/agents/a1", None), 401),
        (
            "not a JWT",
            request("GET", "/agents/a1", Some("Bearer not-a-jwt")),
            401,
        ),
        (
            "another scheme",
            request("GET", "/agents/a1", Some("Basic YWxpY2U6cHc=")),
            401,
        ),
        (
            "expired",
            request(
                "GET",
                "/agents/a1",
                Some(&token_with(&["agents:a1:read"], 1_000_000_000)),
            ),
            401,
        ),
        (
            "another agent's scope",
            request("GET", "/agents/a1", Some(&token(&["agents:a2:read"]))),
            403,
        ),
        (
            "read is not run",
            request("POST", "/agents/a1/runs", Some(&token(&["agents:a1:read"]))),
            403,
        ),
        (
            "missing token on a run",
            request("POST", "/agents/a1/runs", None),
            401,
        ),
        (
            "service unavailable",
            request("GET", "/agents/down", Some(&token(&["agents:down:read"]))),
            503,
        ),
        (
            "bad token on an optional route",
            request("GET", "/feed", Some("Bearer x.y.z")),
            401,
        ),
    ];
    for (what, req, status) in cases {
        let got = send(&openapi, &req).await;
        let want = send(&middleware, &req).await;
        assert_eq!(got.status, status, "{what}: {}", got.text());
        assert_eq!(
            got, want,
            "{what}: poem-openapi differs from the middleware"
        );
        assert_eq!(
            got.header("content-type"),
            Some("application/json"),
            "{what}"
        );
        let body = got.json().unwrap();
        assert!(body["detail"].is_string(), "{what}: {body}");
        match status {
            401 => assert!(
                got.header("www-authenticate")
                    .is_some_and(|h| h.starts_with("Bearer realm=\"api\"")),
                "{what}: {got:?}"
            ),
            403 => {
                assert!(
                    got.header("www-authenticate")
                        .is_some_and(|h| h.contains("error=\"insufficient_scope\"")),
                    "{what}: {got:?}"
                );
                assert!(body["detail"].as_str().unwrap().contains("agents:a1:"));
            }
            _ => assert_eq!(got.header("retry-after"), Some("5"), "{what}"),
        }
    }
}

#[tokio::test]
async fn poem_openapi_mandatory_scheme_refuses_an_anonymous_route_like_the_auth_extractor() {
    // `JwtBearer` on a route the table excludes: the engine lets the request through without a
    // context, and the scheme refuses it as `Auth` would (401 Not authenticated).
    struct Api;
    #[OpenApi]
    impl Api {
        #[oai(path = "/health", method = "get")]
        async fn health(&self, _auth: JwtBearer) -> PlainText<&'static str> {
            PlainText("ok")
        }
    }
    #[handler]
    fn needs_auth(_auth: Auth) -> &'static str {
        "ok"
    }
    let auth = auth_with(&Counting::default());
    let openapi = OpenApiService::new(Api, "t", "1")
        .data(auth.clone())
        .map_to_response();
    let plain = Route::new()
        .at("/health", needs_auth)
        .with(auth.middleware())
        .map_to_response();
    let req = request("GET", "/health", None);
    let got = send(&openapi, &req).await;
    assert_eq!(got, send(&plain, &req).await);
    assert_eq!(got.status, 401);
    assert_eq!(got.json().unwrap()["detail"], "Not authenticated");
}

#[tokio::test]
async fn poem_openapi_scheme_reuses_the_middlewares_decision() {
    let check = Counting::default();
    let auth = auth_with(&check);
    // A `JwtAuth` in the request data that would refuse everything: if the scheme decided again
    // on a request the middleware let through, the request would fail.
    let refuse_all = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256([9u8; 32]).unwrap())
        .scopes(RouteTable::builder().build().unwrap())
        .build()
        .unwrap();
    let app = service()
        .data(refuse_all)
        .with(auth.middleware())
        .map_to_response();
    let a1 = token(&["agents:a1:read"]);
    let res = send(&app, &request("GET", "/agents/a1", Some(&a1))).await;
    assert_eq!((res.status, res.text().as_str()), (200, "alice reads a1"));
    // The middleware's anonymous decision stands too.
    let res = send(&app, &request("GET", "/feed", None)).await;
    assert_eq!((res.status, res.text().as_str()), (200, "public feed"));
    assert_eq!(check.0.load(Ordering::SeqCst), 1, "authenticated once");
    // And its refusals are its own.
    let res = send(&app, &request("GET", "/agents/a1", None)).await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn poem_openapi_without_jwt_auth_data_fails_closed() {
    let app = service().into_endpoint().map_to_response();
    let a1 = token(&["agents:a1:read"]);
    let res = send(&app, &request("GET", "/agents/a1", Some(&a1))).await;
    assert_eq!(res.status, 500);
    // Routes without the scheme are not affected.
    let res = send(&app, &request("GET", "/health", None)).await;
    assert_eq!(res.status, 200);
}

fn secured_spec() -> Value {
    let spec = spec_with_security(&service(), &table(), &OpenApiSecurity::bearer()).unwrap();
    serde_json::from_str(&spec).unwrap()
}

#[test]
fn openapi_spec_documents_the_bearer_scheme_and_the_enforced_scopes() {
    // poem-openapi's own document: the scheme, on the operations that take it, without scopes.
    let raw: Value = serde_json::from_str(&service().spec()).unwrap();
    let scheme = &raw["components"]["securitySchemes"][SCHEME];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
    assert_eq!(
        raw["paths"]["/agents/{agent_id}"]["get"]["security"],
        json!([{"bearerAuth": []}])
    );
    assert_eq!(
        raw["paths"]["/feed"]["get"]["security"],
        json!([{"bearerAuth": []}, {}])
    );

    // With the route table's security: what the engine enforces, per operation.
    let doc = secured_spec();
    let security = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(
        security("/agents", "get"),
        json!([{"bearerAuth": ["agents:read"]}])
    );
    assert_eq!(
        security("/agents/{agent_id}", "get"),
        json!([{"bearerAuth": ["agents:{agent_id}:read"]}])
    );
    assert_eq!(
        security("/agents/{agent_id}/runs", "post"),
        json!([{"bearerAuth": ["agents:{agent_id}:run"]}])
    );
    assert_eq!(security("/feed", "get"), json!([{}, {"bearerAuth": []}]));
    assert_eq!(security("/health", "get"), json!([]));
    assert_eq!(
        doc["components"]["securitySchemes"][SCHEME],
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    );
    assert_eq!(OpenApiSecurity::bearer().check(&table(), &doc), []);
}

#[tokio::test]
async fn openapi_spec_endpoint_serves_the_secured_document() {
    let ep = spec_endpoint_with_security(&service(), &table(), &OpenApiSecurity::bearer()).unwrap();
    let res = send(&ep.map_to_response(), &request("GET", "/", None)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.json().unwrap(), secured_spec());

    // Served beside the API as the README does: the spec at its path, the operations nested.
    let ep = spec_endpoint_with_security(&service(), &table(), &OpenApiSecurity::bearer()).unwrap();
    let app = Route::new()
        .at("/openapi.json", ep)
        .nest("/", service())
        .data(auth_with(&Counting::default()))
        .map_to_response();
    let res = send(&app, &request("GET", "/openapi.json", None)).await;
    assert_eq!(res.json().unwrap(), secured_spec());
    let a1 = token(&["agents:a1:read"]);
    let res = send(&app, &request("GET", "/agents/a1", Some(&a1))).await;
    assert_eq!((res.status, res.text().as_str()), (200, "alice reads a1"));
    let res = send(&app, &request("GET", "/agents/a1", None)).await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn openapi_documented_scopes_are_exactly_the_enforced_ones() {
    let app = openapi_app(&auth_with(&Counting::default()));
    let doc = secured_spec();
    let mut left_out_once = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let fill = |s: &str| s.replace("{agent_id}", "a7");
            let (path, method) = (fill(template), method.to_ascii_uppercase());
            let alternatives = op["security"].as_array().unwrap();
            let anonymous_ok = alternatives.is_empty()
                || alternatives
                    .iter()
                    .any(|a| a.as_object().unwrap().is_empty());
            let res = send(&app, &request(&method, &path, None)).await;
            assert_eq!(
                res.status,
                if anonymous_ok { 200 } else { 401 },
                "{method} {path} without a token"
            );
            let Some(documented) = alternatives.iter().find_map(|a| a.get(SCHEME)) else {
                continue;
            };
            let documented: Vec<String> = documented
                .as_array()
                .unwrap()
                .iter()
                .map(|s| fill(s.as_str().unwrap()))
                .collect();
            let exact: Vec<&str> = documented.iter().map(String::as_str).collect();
            let res = send(&app, &request(&method, &path, Some(&token(&exact)))).await;
            assert_eq!(res.status, 200, "{method} {path} with {exact:?}");
            for i in 0..exact.len() {
                let mut fewer = exact.clone();
                fewer.remove(i);
                let res = send(&app, &request(&method, &path, Some(&token(&fewer)))).await;
                assert_eq!(res.status, 403, "{method} {path} without {}", exact[i]);
                left_out_once += 1;
            }
        }
    }
    assert_eq!(left_out_once, 3, "every documented scope was left out once");
}

#[test]
fn openapi_secured_spec_passes_an_independent_validator() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = std::process::Command::new(&python)
        .args(["-c", "import openapi_spec_validator"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        let why = format!(
            "{python} with openapi-spec-validator is needed (pip install openapi-spec-validator)"
        );
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipped: {why}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("jwt-poem-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("poem-openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&secured_spec()).unwrap()).unwrap();
    let out = std::process::Command::new(&python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "validator refused the document:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The conformance echo as poem-openapi operations: every method the cases send, on `/` and on
/// a catch-all path, each taking the optional scheme.
struct EchoApi;

/// The echo, or the required `UserId` extractor when the case asks for it (its refusal is
/// poem's error response, as in the conformance harness).
async fn echo_json(req: &poem::Request, auth: OptionalJwtBearer) -> poem::Result<Json<Value>> {
    // The user id from the scheme's own context (a poem-openapi operation has it, with or without
    // the middleware), refused like the middleware would refuse it.
    if req.headers().contains_key(conformance::EXTRACT_HEADER) {
        let mark = req.data::<JwtAuth>().map(JwtAuth::decided_mark);
        let user = jwt_core::extract::user_id(auth.0.as_ref()).map_err(|err| {
            let err = jwt_core::extractor_refusal(err, auth.0.as_ref(), mark.as_ref());
            poem::Error::from_response(jwt_poem::error_response(&err))
        })?;
        return Ok(Json(
            serde_json::from_str(&conformance::user_id_body(&user)).unwrap(),
        ));
    }
    Ok(Json(
        serde_json::from_str(&echo_body(auth.0.as_ref())).unwrap(),
    ))
}

#[OpenApi]
impl EchoApi {
    #[oai(
        path = "/",
        method = "get",
        method = "post",
        method = "put",
        method = "delete",
        method = "patch",
        method = "head",
        method = "options"
    )]
    async fn root(
        &self,
        req: &poem::Request,
        auth: OptionalJwtBearer,
    ) -> poem::Result<Json<Value>> {
        echo_json(req, auth).await
    }

    #[oai(
        path = "/*path",
        method = "get",
        method = "post",
        method = "put",
        method = "delete",
        method = "patch",
        method = "head",
        method = "options"
    )]
    async fn any(&self, req: &poem::Request, auth: OptionalJwtBearer) -> poem::Result<Json<Value>> {
        echo_json(req, auth).await
    }
}

const ECHO_METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// `app` as the case wants it: nested under its mount prefix the poem way (`Route::nest`, the
/// auth inside), as the conformance harness nests its echo app.
fn mounted(
    case: &Case,
    app: impl Endpoint<Output = Response> + 'static,
) -> poem::endpoint::BoxEndpoint<'static, Response> {
    match &case.mount {
        Some(prefix) => Route::new().nest(prefix, app).map_to_response().boxed(),
        None => app.boxed(),
    }
}

#[tokio::test]
async fn poem_openapi_conformance_cases() {
    let cases = conformance::load_cases().unwrap();
    let total = cases.len();
    let applicable: Vec<&Case> = cases
        .iter()
        .filter(|c| ECHO_METHODS.contains(&c.request.method.as_str()))
        .filter(|c| Profile::named(&c.profile).is_ok())
        .collect();
    let mut failures = Vec::new();
    let (mut with_nonce, mut nested, mut mcp_scheme_refused) = (0, 0, 0);
    for case in &applicable {
        let request = case.http_request().unwrap();
        // These echo handlers do not echo the request body (the adapters' suite proves the
        // handler gets the bytes the decision read): compare everything else.
        let mut case = (*case).clone();
        if let Some(identity) = case.expect.identity.as_mut() {
            identity.remove("body");
        }
        let case = &case;
        // An MCP endpoint's `POST` is decided on its body, which a poem-openapi security
        // scheme never sees: alone, the scheme refuses it as misconfigured (500), never lets it
        // through. Behind the middleware it takes the middleware's decision, like every route.
        let path = request.uri.split('?').next().unwrap_or_default();
        let reads_body = Profile::named(&case.profile)
            .unwrap()
            .auth()
            .body_limit(&jwt_core::SimpleRequest::new(&request.method, path))
            .is_some();
        // Each app gets its own profile: replay caches and nonces start afresh, as each app
        // sees the request (and, for replay cases, its first sending) once.
        let scheme_only = {
            let profile = Profile::named(&case.profile).unwrap();
            OpenApiService::new(EchoApi, "echo", "1")
                .data(profile.auth().clone())
                .map_to_response()
        };
        let both = {
            let profile = Profile::named(&case.profile).unwrap();
            let app = OpenApiService::new(EchoApi, "echo", "1")
                .data(profile.auth().clone())
                .with(profile.auth().middleware())
                .map_to_response();
            layered(case, profile.auth(), app)
        };
        let middleware = {
            let profile = Profile::named(&case.profile).unwrap();
            layered(case, profile.auth(), middleware_app(profile.auth()))
        };
        let mut seen = Vec::new();
        for (name, app) in [
            ("scheme", mounted(case, scheme_only)),
            ("middleware+scheme", mounted(case, both)),
            ("middleware", mounted(case, middleware)),
        ] {
            if case.request.send_twice {
                let _ = send(&app, &request).await;
            }
            let res = send(&app, &request).await;
            if name == "scheme" && reads_body {
                if res.status != 500 {
                    failures.push(format!(
                        "{} (scheme): an MCP body decided without the middleware: {}",
                        case.name, res.status
                    ));
                }
                mcp_scheme_refused += 1;
                seen.push(res);
                continue;
            }
            if name != "middleware" {
                let checked = conformance::HttpResponse {
                    status: res.status,
                    www_authenticate: res.header("www-authenticate").map(str::to_owned),
                    content_type: res.header("content-type").map(str::to_owned),
                    body: res.body.clone(),
                };
                if let Err(why) = case.check(&checked) {
                    failures.push(format!("{} ({name}): {why}", case.name));
                }
            }
            seen.push(res);
        }
        nested += usize::from(case.mount.is_some());
        with_nonce += usize::from(seen[2].header("dpop-nonce").is_some());
        for (i, name) in [(0, "scheme"), (1, "middleware+scheme")] {
            let refused_alone = i == 0 && reads_body;
            if !refused_alone && !seen[i].same_as(&seen[2]) {
                failures.push(format!(
                    "{} ({name}): differs from the middleware: {:?} vs {:?}",
                    case.name, seen[i], seen[2]
                ));
            }
        }
    }
    println!(
        "poem-openapi: {} of {total} conformance cases ran ({nested} nested under their mount, \
         {mcp_scheme_refused} MCP bodies refused by the scheme alone), {} failed",
        applicable.len(),
        failures.len()
    );
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} failures", failures.len());
    assert_eq!(applicable.len(), total, "every case's method is served");
    assert!(
        nested > 0 && with_nonce > 0,
        "mounted and DPoP-Nonce cases ran"
    );
}

#[tokio::test]
async fn poem_openapi_nested_api_decides_and_documents_the_full_path() {
    // The table names full paths; the API is nested under `/api` and says so with `url_prefix`.
    let table = RouteTable::builder()
        .route("GET /api/agents/{agent_id}", ["agents:{agent_id}:read"])
        .build()
        .unwrap();
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .scopes(table.clone())
        .build()
        .unwrap();
    let api = || service().url_prefix("/api");
    let app = Route::new()
        .nest("/api", api())
        .data(auth.clone())
        .map_to_response();
    let a1 = token(&["agents:a1:read"]);
    let res = send(&app, &request("GET", "/api/agents/a1", Some(&a1))).await;
    assert_eq!((res.status, res.text().as_str()), (200, "alice reads a1"));
    let res = send(&app, &request("GET", "/api/agents/a2", Some(&a1))).await;
    assert_eq!(res.status, 403);
    let doc: Value = serde_json::from_str(
        &spec_with_security(&api(), &table, &OpenApiSecurity::bearer()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        doc["paths"]["/api/agents/{agent_id}"]["get"]["security"],
        json!([{"bearerAuth": ["agents:{agent_id}:read"]}])
    );
}
