//! poem-openapi (feature `openapi`): the JWT bearer scheme as a poem-openapi security scheme,
//! backed by the same engine as [`JwtMiddleware`](crate::JwtMiddleware).
//!
//! [`JwtBearer`] (and [`OptionalJwtBearer`]) in an `#[oai]` operation's arguments run
//! [`JwtAuth::authenticate`] on the request: the token is verified and the route table's scopes
//! are enforced for that operation, and a refusal is answered with exactly the middleware's
//! response (status, `WWW-Authenticate`, JSON body, `Retry-After`, `DPoP-Nonce`). The
//! [`JwtAuth`] comes from the request data (`.data(auth)` on the endpoint). When
//! [`JwtMiddleware`](crate::JwtMiddleware) already ran on the request, its decision is reused:
//! one request, one authentication (a DPoP proof is recorded once).
//!
//! In the generated document both types register the scheme [`SCHEME`] (`bearerAuth`: HTTP
//! bearer, format JWT). poem-openapi writes an operation's `security` from the argument's type
//! and static `#[oai(scope = ..)]` attributes only, so it cannot know the scopes the route table
//! demands of each path; [`spec_with_security`] writes them in
//! ([`OpenApiSecurity::apply`]): per operation, the exact requirement the engine enforces.
//!
//! ```
//! use jwt_core::{JwtAuth, RouteTable, StaticKeys};
//! use jwt_core::openapi::OpenApiSecurity;
//! use jwt_poem::openapi::{JwtBearer, spec_with_security};
//! use poem::{Endpoint as _, EndpointExt, Route};
//! use poem_openapi::{OpenApi, OpenApiService, param::Path, payload::PlainText};
//!
//! struct Api;
//!
//! #[OpenApi]
//! impl Api {
//!     /// Needs `agents:{agent_id}:read` (the route table says so; the engine enforces it).
//!     #[oai(path = "/agents/:agent_id", method = "get")]
//!     async fn agent(&self, auth: JwtBearer, agent_id: Path<String>) -> PlainText<String> {
//!         PlainText(format!("{:?} reads {}", auth.0.user_id(), agent_id.0))
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let table = RouteTable::builder()
//!     .route("GET /agents/{agent_id}", ["agents:{agent_id}:read"])
//!     .build()?;
//! let auth = JwtAuth::builder().dangerous_any_issuer()
//!     .verifier(StaticKeys::hs256(b"an-hs256-secret-of-at-least-32-bytes!")?)
//!     .scopes(table.clone())
//!     .build()?;
//! let service = OpenApiService::new(Api, "agents", "1.0");
//! let spec = spec_with_security(&service, &table, &OpenApiSecurity::bearer())?;
//! let app = Route::new().nest("/", service).data(auth);
//!
//! let res = app.get_response(poem::Request::builder().uri_str("/agents/a1").finish()).await;
//! assert_eq!(res.status(), 401);
//! assert_eq!(res.headers()["www-authenticate"], r#"Bearer realm="api""#);
//! let spec: serde_json::Value = serde_json::from_str(&spec)?;
//! assert_eq!(
//!     spec["paths"]["/agents/{agent_id}"]["get"]["security"],
//!     serde_json::json!([{"bearerAuth": ["agents:{agent_id}:read"]}])
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! Limitations: put the scheme first among the operation's arguments (poem-openapi extracts
//! them in order, so a path or query parameter that fails to parse would answer 400 before the
//! token is looked at, where the middleware answers 401); an operation whose response type has
//! a custom `bad_request_handler` gets the refusal through that handler (poem-openapi sends
//! every extractor error there); and the document's paths are looked up in the route table as
//! written, so an API mounted under a prefix should say so with
//! `OpenApiService::url_prefix`, as the table names the full path.

use jwt_core::openapi::OpenApiSecurity;
use jwt_core::serde_json::{self, Value};
use jwt_core::{AuthContext, JwtAuth, RouteTable, Verdict, extract};
use poem::http::StatusCode;
use poem::{Endpoint, Request, RequestBody, Response};
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, OpenApiService};

use crate::{from_http, rejection};

/// The name of the security scheme [`JwtBearer`] and [`OptionalJwtBearer`] register, the same
/// as [`OpenApiSecurity::bearer`]'s.
pub const SCHEME: &str = "bearerAuth";

/// The JWT bearer security scheme for poem-openapi operations: the caller's [`AuthContext`],
/// after the engine verified the token and the route table's scopes for this request.
///
/// An MCP endpoint's `POST` ([`jwt_core::RouteTableBuilder::mcp`]) is decided on its JSON-RPC
/// body, which a security scheme never sees: serve it behind [`crate::JwtMiddleware`] (the
/// scheme then takes the middleware's decision); the scheme alone answers it 500
/// (misconfigured), never lets it through.
///
/// A refusal is the middleware's response; a request the engine lets through without a token
/// (an excluded route, or an optional one called anonymously) is refused like the
/// [`Auth`](crate::Auth) extractor refuses it (401 `Not authenticated`): use
/// [`OptionalJwtBearer`] there.
#[derive(Debug, Clone)]
pub struct JwtBearer(pub AuthContext);

/// [`JwtBearer`] for routes the engine may let through without a token (optional-auth and
/// excluded routes): `None` then. A token that is present is still verified, and refused as the
/// middleware refuses it. Documented as the bearer scheme or no authentication.
#[derive(Debug, Clone)]
pub struct OptionalJwtBearer(pub Option<AuthContext>);

/// The engine's decision for `req`: the middleware's when it ran, else
/// [`JwtAuth::verdict`] with the [`JwtAuth`] of the request data.
async fn decide(req: &Request) -> poem::Result<Option<AuthContext>> {
    if let Some(ctx) = req.extensions().get::<AuthContext>() {
        return Ok(Some(ctx.clone()));
    }
    if req.extensions().get::<jwt_core::Decided>().is_some() {
        return Ok(None);
    }
    // Fail closed: an app that forgot `.data(auth)` lets nobody in.
    let auth = req
        .data::<JwtAuth>()
        .ok_or_else(|| poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
    let head = crate::request_head(req);
    // The core's answer (a refusal, the protected resource metadata document) is sent as the
    // middleware sends it.
    match auth.verdict(&head).await {
        Verdict::Continue(pass) => Ok(pass.into_context()),
        Verdict::Respond(reply) => Err(poem::Error::from_response(from_http(
            jwt_core::http::reply(reply),
        ))),
    }
}

/// Registers [`SCHEME`].
fn register_scheme(registry: &mut Registry) {
    registry.create_security_scheme(
        SCHEME,
        MetaSecurityScheme {
            ty: "http",
            description: Some(
                "A JWT in `Authorization: Bearer`; the scopes each operation lists are enforced.",
            ),
            name: None,
            key_in: None,
            scheme: Some("bearer"),
            bearer_format: Some("JWT"),
            flows: None,
            openid_connect_url: None,
        },
    );
}

impl<'a> ApiExtractor<'a> for JwtBearer {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_scheme(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        let ctx = decide(req).await?;
        extract::context(ctx.as_ref())
            .map(JwtBearer)
            .map_err(rejection)
    }
}

impl<'a> ApiExtractor<'a> for OptionalJwtBearer {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_scheme(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME]
    }

    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        decide(req).await.map(OptionalJwtBearer)
    }
}

/// `service`'s document (`OpenApiService::spec`) with the route table's security written in
/// by [`OpenApiSecurity::apply`]: the schemes, and per operation the scopes `table` requires of
/// its path (`agents:{agent_id}:read`), `[]` for an excluded one, the optional alternative for
/// an optional one, and `"x-jwt-access": "denied"` on one the table refuses to everyone. Keep
/// `security`'s bearer scheme name at [`SCHEME`] (the default) so that it names the scheme the
/// operations declare. Pretty-printed JSON, as `spec()`.
///
/// # Errors
/// The `serde_json` error if the document cannot be read back (poem-openapi writes it with
/// `serde_json`, so this does not happen).
pub fn spec_with_security<T, W>(
    service: &OpenApiService<T, W>,
    table: &RouteTable,
    security: &OpenApiSecurity,
) -> Result<String, serde_json::Error>
where
    T: poem_openapi::OpenApi,
    W: poem_openapi::Webhook,
{
    let mut doc: Value = serde_json::from_str(&service.spec())?;
    security.apply(table, &mut doc);
    serde_json::to_string_pretty(&doc)
}

/// An endpoint serving [`spec_with_security`] as `application/json`, like
/// `OpenApiService::spec_endpoint` does the bare document.
///
/// # Errors
/// As [`spec_with_security`].
pub fn spec_endpoint_with_security<T, W>(
    service: &OpenApiService<T, W>,
    table: &RouteTable,
    security: &OpenApiSecurity,
) -> Result<impl Endpoint<Output = Response> + 'static, serde_json::Error>
where
    T: poem_openapi::OpenApi,
    W: poem_openapi::Webhook,
{
    let spec = spec_with_security(service, table, security)?;
    Ok(poem::endpoint::make_sync(move |_| {
        Response::builder()
            .content_type("application/json")
            .body(spec.clone())
    }))
}
