//! # conformance
//!
//! One suite, run against every adapter. Cases are data (`cases/*.json`, one case per entry):
//! a profile name, a request (method, path, headers, and a token recipe), and the expected status,
//! `detail`, `WWW-Authenticate` error code and the identity the handler must see.
//!
//! An adapter's test implements [`Harness`]: build an app for a [`Profile`] whose only handler
//! echoes the injected `AuthContext` as JSON ([`echo_body`]), send one request, return the
//! response. [`run`] does the rest and prints `adapter <name>: <N> passed, <F> failed`.
//!
//! ```
//! let cases = conformance::load_cases().unwrap();
//! assert!(cases.len() >= 150);
//! let profile = conformance::Profile::named("hs256").unwrap();
//! assert_eq!(profile.name(), "hs256");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_core::{
    Algorithm, AuthContext, BearerHeader, Dpop, DpopNonces, EncodingKey, HtuOrigin, Jwks, JwtAuth,
    JwtAuthBuilder, KeyChain, OptionsPolicy, ProtectedResourceMetadata, RouteTable, StandardClaims,
    StaticKeys, TokenLocation, Validation, VerificationKey, jwk_thumbprint, mint,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

mod keys {
    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../jwt-core/tests/fixtures/",
                $name
            ))
        };
    }
    pub(crate) const RSA_PRIVATE: &[u8] = fixture!("rsa2048.key");
    pub(crate) const RSA_B_PRIVATE: &[u8] = fixture!("rsa2048b.key");
    pub(crate) const RSA_PUBLIC: &[u8] = fixture!("rsa2048.pub.pem");
    pub(crate) const P256_PRIVATE: &[u8] = fixture!("p256.key");
    pub(crate) const P256_PUBLIC: &[u8] = fixture!("p256.pub.pem");
    pub(crate) const P384_PRIVATE: &[u8] = fixture!("p384.key");
    pub(crate) const P384_PUBLIC: &[u8] = fixture!("p384.pub.pem");
    pub(crate) const ED_PRIVATE: &[u8] = fixture!("ed25519.key");
    pub(crate) const ED_PUBLIC: &[u8] = fixture!("ed25519.pub.pem");
    pub(crate) const JWKS: &[u8] = fixture!("jwks.json");
    pub(crate) const RSA_B_JWK: &[u8] = fixture!("rsa2048b.jwk.json");
}

/// The HMAC secret of the HS profiles (`key: "hs"`).
pub const HS_SECRET: &[u8] = b"conformance-suite-hs256-secret-0123456789";
/// Another HMAC secret nobody trusts (`key: "hs-other"`).
pub const HS_OTHER: &[u8] = b"some-other-hs256-secret-nobody-trusts-999";
/// The audience of the `aud` profile.
pub const AUDIENCE: &str = "os-1";
/// The issuer of the `aud` profile.
pub const ISSUER: &str = "https://idp.example.test";
/// The protected resource (RFC 9728) of the `prm` profile, also its tokens' audience.
pub const PROTECTED_RESOURCE: &str = "https://api.example.test/mcp";

/// The public origin of the `dpop*` profiles: proofs name it in `htu`.
pub const DPOP_ORIGIN: &str = "https://api.example.test";
/// The nonce secret of the `dpop_nonce` profile.
pub const DPOP_NONCE_SECRET: &[u8] = b"conformance-dpop-nonce-secret-0123456789";
/// The nonce period of the `dpop_nonce` profile.
const DPOP_NONCE_PERIOD: std::time::Duration = std::time::Duration::from_secs(3600);

/// A configuration every adapter builds its app from.
#[derive(Clone)]
pub struct Profile {
    name: String,
    auth: JwtAuth,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile").field("name", &self.name).finish()
    }
}

fn hs() -> JwtAuthBuilder {
    JwtAuth::builder().verifier(StaticKeys::hs256(HS_SECRET).expect("valid secret"))
}

fn pem(alg: Algorithm, key: &[u8]) -> Result<VerificationKey, String> {
    VerificationKey::from_pem(alg, key).map_err(|e| e.to_string())
}

/// A JWKS exercising catalogue rows 25, 26 and 63.
fn tricky_jwks() -> Result<String, String> {
    let base: Value = serde_json::from_slice(keys::JWKS).map_err(|e| e.to_string())?;
    let other: Value = serde_json::from_slice(keys::RSA_B_JWK).map_err(|e| e.to_string())?;
    let rsa1 = base["keys"][0].clone();
    let mut dup = other.clone();
    dup["kid"] = json!("rsa-1");
    let mut two = other.clone();
    two["kid"] = json!("rsa-2");
    let mut enc = base["keys"][1].clone();
    enc["kid"] = json!("ec-enc");
    enc["use"] = json!("enc");
    let mut ops = base["keys"][2].clone();
    ops["kid"] = json!("ec-ops");
    ops["key_ops"] = json!(["encrypt"]);
    Ok(json!({"keys": [rsa1, dup, two, enc, ops, base["keys"][3]]}).to_string())
}

/// The body bound of the `mcp` profile (bytes).
pub const MCP_BODY_LIMIT: usize = 64 * 1024;

/// The table of the `mcp` profile: an MCP endpoint whose tools each need their own scope, a
/// few rows more specific than that, resources by URI, and a plain route beside it.
pub fn mcp_routes() -> Result<RouteTable, String> {
    RouteTable::builder()
        .mcp("/mcp")
        .route("MCP tools/call {tool}", ["tools:{tool}:call"])
        .route("MCP tools/call run_agent", ["agents:{agent_id}:run"])
        .route("MCP tools/call search_*", ["search"])
        .deny("MCP tools/call shutdown")
        .route("MCP prompts/get {prompt}", ["prompts:{prompt}:get"])
        .route("MCP resources/read file:///docs/*", ["docs:read"])
        .exclude("MCP ping")
        .route("GET /items", ["items:read"])
        .build()
        .map_err(|e| e.to_string())
}

/// The custom route table of the `routes` profile.
fn one() -> u8 {
    1
}

fn custom_routes() -> Result<RouteTable, String> {
    RouteTable::builder()
        .route("GET /items", ["items:read"])
        .route("GET /items/{id}", ["items:{id}:read"])
        .route(
            "POST /items/{id}/publish",
            ["items:{id}:write", "publish:run"],
        )
        .route("DELETE /items/{id}", ["items:{id}:delete"])
        .listing("GET /items", "items", "read")
        .authenticated("GET /me")
        .optional("GET /feed")
        .exclude("/health")
        .exclude("/public/*")
        .exclude("GET /docs/{*rest}")
        .route("GET /public/secret", ["secret:read"])
        .route("* /files/{*path}", ["files:read"])
        .route("GET /reports/q*", ["reports:read"])
        // A literal holding a reserved character: its escaped spelling is refused.
        .route("POST /items:reindex", ["items:write"])
        // Catalogue row 78: an overridden listing with an extra scope the fallback never skips.
        .route("GET /orders", ["orders:read", "billing:active"])
        .listing("GET /orders", "orders", "read")
        .hierarchical_scopes()
        .admin_scope("root")
        .build()
        .map_err(|e| e.to_string())
}

/// The identity-provider profiles (`idp_keycloak`, `idp_auth0`, `idp_entra`, `idp_okta`,
/// `idp_google`, `idp_cognito`): a plain API (a plain table: exact scopes, no admin scope) whose tokens come from that
/// provider, verified against a JWKS (`rsa-1`, RS256, as the providers sign), the provider's
/// issuer and audience pinned, claims read by the provider's recipe. Cases:
/// `cases/98_idp.json`.
pub mod idp {
    /// Keycloak realm `shop`; the API is the client `shop-api` (an audience mapper names it).
    pub const KEYCLOAK_ISSUER: &str = "https://sso.example.test/realms/shop";
    /// The Keycloak client, also the audience.
    pub const KEYCLOAK_CLIENT: &str = "shop-api";
    /// Auth0 tenant.
    pub const AUTH0_ISSUER: &str = "https://shop.eu.auth0.com/";
    /// The Auth0 API identifier (audience).
    pub const AUTH0_AUDIENCE: &str = "https://api.shop.example";
    /// Entra ID v2.0 issuer of the tenant.
    pub const ENTRA_ISSUER: &str =
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
    /// The API's application (client) id, the audience of Entra ID v2.0 tokens.
    pub const ENTRA_AUDIENCE: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
    /// Okta's `default` authorization server.
    pub const OKTA_ISSUER: &str = "https://dev-123456.okta.com/oauth2/default";
    /// Its audience.
    pub const OKTA_AUDIENCE: &str = "api://default";
    /// A Google service account signing its own JWTs (issuer and subject).
    pub const GOOGLE_ISSUER: &str = "reports@shop-prod.iam.gserviceaccount.com";
    /// A Cognito user pool (its access tokens have no `aud`).
    pub const COGNITO_ISSUER: &str =
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
}

/// An identity-provider profile: JWKS keys, pinned issuer (and audience), the recipe's claims
/// and a plain route table without an admin scope.
fn idp_profile(
    claims: StandardClaims,
    issuer: &str,
    audience: Option<&str>,
    routes: &[(&str, &[&str])],
) -> Result<JwtAuthBuilder, String> {
    let table = routes
        .iter()
        .fold(RouteTable::builder(), |b, (entry, scopes)| {
            b.route(entry, scopes.iter().copied())
        })
        .build()
        .map_err(|e| e.to_string())?;
    let keys = Jwks::from_json(std::str::from_utf8(keys::JWKS).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let b = JwtAuth::builder()
        .verifier(keys)
        .issuer(issuer)
        .claims(claims)
        .scopes(table);
    Ok(match audience {
        Some(aud) => b.audience(aud),
        None => b,
    })
}

impl Profile {
    /// The profile called `name`.
    ///
    /// # Errors
    /// A message for an unknown profile or a configuration error.
    pub fn named(name: &str) -> Result<Self, String> {
        let b = match name {
            // Header token, HS256, no route table: every non-excluded route needs a valid token.
            "hs256" => hs(),
            // agno's AgentOS preset.
            "agent_os" => hs().agent_os(),
            "agent_os_cookie" => hs()
                .agent_os()
                .token_location(TokenLocation::Cookie("access_token".into())),
            "cookie" => hs().token_location(TokenLocation::Cookie("access_token".into())),
            "cookie_named" => hs().token_location(TokenLocation::Cookie("jwt".into())),
            "both" => hs().token_location(TokenLocation::Both("access_token".into())),
            "strict" => hs().token_location(TokenLocation::BothStrict("access_token".into())),
            "custom_header" => hs().token_source(BearerHeader::new().header_name("X-Auth-Token")),
            "raw" => hs().token_source(BearerHeader::new().dangerous_allow_raw_token()),
            "multi_hs" => JwtAuth::builder().verifier(
                StaticKeys::new(vec![
                    VerificationKey::hmac(Algorithm::HS256, HS_SECRET)
                        .map_err(|e| e.to_string())?
                        .with_kid("k1"),
                    VerificationKey::hmac(Algorithm::HS384, &[0x33; 48])
                        .map_err(|e| e.to_string())?
                        .with_kid("k2"),
                ])
                .map_err(|e| e.to_string())?,
            ),
            "hs512" => JwtAuth::builder().verifier(
                StaticKeys::hmac(Algorithm::HS512, [0x44u8; 64]).map_err(|e| e.to_string())?,
            ),
            "rs256" => JwtAuth::builder().verifier(
                StaticKeys::new(vec![pem(Algorithm::RS256, keys::RSA_PUBLIC)?])
                    .map_err(|e| e.to_string())?,
            ),
            "ps256" => JwtAuth::builder().verifier(
                StaticKeys::new(vec![pem(Algorithm::PS256, keys::RSA_PUBLIC)?])
                    .map_err(|e| e.to_string())?,
            ),
            "es256" => JwtAuth::builder().verifier(
                StaticKeys::new(vec![pem(Algorithm::ES256, keys::P256_PUBLIC)?])
                    .map_err(|e| e.to_string())?,
            ),
            "es384" => JwtAuth::builder().verifier(
                StaticKeys::new(vec![pem(Algorithm::ES384, keys::P384_PUBLIC)?])
                    .map_err(|e| e.to_string())?,
            ),
            "eddsa" => JwtAuth::builder().verifier(
                StaticKeys::new(vec![pem(Algorithm::EdDSA, keys::ED_PUBLIC)?])
                    .map_err(|e| e.to_string())?,
            ),
            "jwks" => JwtAuth::builder().verifier(
                Jwks::from_json(std::str::from_utf8(keys::JWKS).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?,
            ),
            "chain" => JwtAuth::builder().verifier(
                KeyChain::new()
                    .with(
                        Jwks::from_json(
                            std::str::from_utf8(keys::JWKS).map_err(|e| e.to_string())?,
                        )
                        .map_err(|e| e.to_string())?,
                    )
                    .with(
                        StaticKeys::new(vec![pem(Algorithm::ES256, keys::P256_PUBLIC)?])
                            .map_err(|e| e.to_string())?,
                    ),
            ),
            // Two RSA keys: `rsa-1`, and the second key published under the same kid and as
            // `rsa-2` (duplicate kid → ambiguous; no kid → two candidates), plus an `enc` key.
            "aud" => hs().audience(AUDIENCE).issuer(ISSUER),
            "jwks_tricky" => JwtAuth::builder()
                .verifier(Jwks::from_json(&tricky_jwks()?).map_err(|e| e.to_string())?),
            "rfc9068" => hs().validation(
                Validation::default()
                    .rfc9068(true)
                    .audience([AUDIENCE])
                    .issuer([ISSUER]),
            ),
            "no_exp" => hs().validation(Validation::default().dangerous_optional_exp()),
            "leeway0" => hs().leeway(0),
            // RFC 9728 / RFC 8707: an MCP-style protected resource with a path.
            // An MCP endpoint (`/mcp`) with per-tool scopes, behind RFC 9728 metadata (tokens
            // carry `aud` = PROTECTED_RESOURCE); DPoP allowed, for DPoP challenges on it.
            "mcp" => hs()
                .protected_resource(
                    ProtectedResourceMetadata::new(PROTECTED_RESOURCE).authorization_server(ISSUER),
                )
                .dpop(Dpop::allowed().origin(HtuOrigin::Fixed(DPOP_ORIGIN.into())))
                .mcp_body_limit(MCP_BODY_LIMIT)
                .scopes(mcp_routes()?),
            "prm" => hs().protected_resource(
                ProtectedResourceMetadata::new(PROTECTED_RESOURCE)
                    .authorization_server(ISSUER)
                    .resource_name("conformance"),
            ),
            // RFC 9449: DPoP allowed beside bearer tokens, required, with server nonces, and
            // with an RFC 9728 protected resource (the htu origin is then the resource's).
            "dpop" => hs().dpop(Dpop::allowed().origin(HtuOrigin::Fixed(DPOP_ORIGIN.into()))),
            // DPoP with the route table of `routes`: refusals after a valid proof.
            "dpop_routes" => hs()
                .dpop(Dpop::allowed().origin(HtuOrigin::Fixed(DPOP_ORIGIN.into())))
                .scopes(custom_routes()?),
            "dpop_required" => {
                hs().dpop(Dpop::required().origin(HtuOrigin::Fixed(DPOP_ORIGIN.into())))
            }
            "dpop_nonce" => hs().dpop(
                Dpop::allowed()
                    .origin(HtuOrigin::Fixed(DPOP_ORIGIN.into()))
                    .nonces(
                        DpopNonces::new(DPOP_NONCE_SECRET, DPOP_NONCE_PERIOD)
                            .map_err(|e| e.to_string())?,
                    ),
            ),
            "dpop_prm" => hs()
                .protected_resource(
                    ProtectedResourceMetadata::new(format!("{DPOP_ORIGIN}/mcp"))
                        .authorization_server(ISSUER),
                )
                .dpop(Dpop::required().algorithms([Algorithm::ES256, Algorithm::EdDSA])),
            "short" => hs().max_token_len(256),
            "claims" => hs().claims(
                StandardClaims::default()
                    .scope_claims(["scopes", "scope", "scp"])
                    .user_id_claim("uid")
                    .session_id_claim("sid")
                    .dependencies_claims(["name", "email", "roles"])
                    .session_state_claims(["org", "prefs"]),
            ),
            "routes" => hs().scopes(custom_routes()?),
            // The routes with RFC 9457 problem details and a realm of its own: every refusal,
            // an extractor's too, renders this way.
            "problem_json" => hs()
                .scopes(custom_routes()?)
                .error_renderer(jwt_core::ProblemJson::new())
                .realm("shop"),
            "routes_noauthz" => hs().scopes(custom_routes()?).dangerous_authenticate_only(),
            "options_all" => hs().options_policy(OptionsPolicy::DangerousBypassAll),
            "realm" => hs().realm("agno"),
            "idp_keycloak" => idp_profile(
                StandardClaims::keycloak(idp::KEYCLOAK_CLIENT),
                idp::KEYCLOAK_ISSUER,
                Some(idp::KEYCLOAK_CLIENT),
                &[
                    ("GET /orders", &["orders.read"]),
                    ("POST /orders", &["client-role::orders-writer"]),
                    ("DELETE /orders/{id}", &["role::admin"]),
                ],
            )?,
            "idp_auth0" => idp_profile(
                StandardClaims::auth0(),
                idp::AUTH0_ISSUER,
                Some(idp::AUTH0_AUDIENCE),
                &[
                    ("GET /orders", &["read:orders"]),
                    ("DELETE /orders/{id}", &["delete:orders"]),
                ],
            )?,
            "idp_entra" => idp_profile(
                StandardClaims::entra_id(),
                idp::ENTRA_ISSUER,
                Some(idp::ENTRA_AUDIENCE),
                &[
                    ("GET /orders", &["Orders.Read"]),
                    ("POST /orders/export", &["role::Orders.Export"]),
                ],
            )?,
            "idp_okta" => idp_profile(
                StandardClaims::okta(),
                idp::OKTA_ISSUER,
                Some(idp::OKTA_AUDIENCE),
                &[
                    ("GET /orders", &["orders.read"]),
                    ("DELETE /orders/{id}", &["group::Admins"]),
                ],
            )?,
            "idp_google" => idp_profile(
                StandardClaims::google(),
                idp::GOOGLE_ISSUER,
                None,
                &[(
                    "GET /buckets",
                    &["https://www.googleapis.com/auth/devstorage.read_only"],
                )],
            )?,
            "idp_cognito" => idp_profile(
                StandardClaims::cognito(),
                idp::COGNITO_ISSUER,
                None,
                &[
                    ("GET /orders", &["orders/read"]),
                    ("DELETE /orders/{id}", &["group::admins"]),
                ],
            )?,
            other => return Err(format!("unknown profile {other:?}")),
        };
        // The cases' tokens are agno's (no `iss` unless a profile pins one): the profiles that
        // pin nothing accept any issuer, as agno does.
        let auth = b
            .dangerous_any_issuer()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            name: name.to_owned(),
            auth,
        })
    }

    /// A profile from a configured middleware (for suites whose configuration is built at run
    /// time, such as one discovering a live provider's keys).
    pub fn new(name: impl Into<String>, auth: JwtAuth) -> Self {
        Self {
            name: name.into(),
            auth,
        }
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configured middleware.
    pub fn auth(&self) -> &JwtAuth {
        &self.auth
    }

    /// A profile for a configuration built by the caller (tests of one feature across adapters).
    pub fn custom(name: impl Into<String>, auth: JwtAuth) -> Self {
        Self {
            name: name.into(),
            auth,
        }
    }
}

/// The request header that makes a harness's echo handler take the caller's user id with the
/// adapter's required `UserId` extractor (filter on warp) instead of the optional context: the
/// value is `user_id`. What the extractor refuses is answered the framework's own way, so the
/// cases prove extractor refusals render like the middleware's (`cases/67_extractors.json`).
pub const EXTRACT_HEADER: &str = "x-extract";

/// The [`EXTRACT_HEADER`] value that makes the handler take the RFC 8693 actor chain with the
/// adapter's `ActorChain` extractor (`jwt_warp::actors` filter) instead; the body is
/// [`actors_body`].
pub const EXTRACT_ACTORS: &str = "actors";

/// The echo body of a request served through the `ActorChain` extractor.
pub fn actors_body(actors: &[jwt_core::Actor]) -> String {
    json!({ "actors": actors }).to_string()
}

/// The echo body of a request served through the `UserId` extractor.
pub fn user_id_body(user_id: &str) -> String {
    json!({ "user_id": user_id }).to_string()
}

/// [`echo_body`] with the request body the handler read, as text, in `"body"` when it is not
/// empty: proof that the handler got the very bytes the middleware decided on.
pub fn echo_with_body(ctx: Option<&AuthContext>, body: &[u8]) -> String {
    if body.is_empty() {
        return echo_body(ctx);
    }
    let mut echoed: Value = match ctx {
        Some(ctx) => ctx.to_json(),
        None => json!({ "anonymous": true }),
    };
    if let Some(o) = echoed.as_object_mut() {
        o.insert("body".into(), String::from_utf8_lossy(body).into());
    }
    echoed.to_string()
}

/// The echo handler's body: the injected context as JSON, or `{"anonymous": true}`.
pub fn echo_body(ctx: Option<&AuthContext>) -> String {
    match ctx {
        Some(ctx) => ctx.to_json().to_string(),
        None => json!({ "anonymous": true }).to_string(),
    }
}

/// One request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: String,
    /// The path and optional query (`/agents?x=1`).
    pub uri: String,
    /// Headers in order (names may repeat).
    pub headers: Vec<(String, String)>,
    /// The prefix the app is mounted under (`/api`), if any: the harness nests the echo app
    /// there the framework's own way, with the middleware on the nested part. `uri` includes it.
    pub mount: Option<String>,
    /// How many times the middleware wraps the app (1, or 2 to prove one request gets one
    /// decision however the middleware is composed): see [`Case::layers`].
    pub layers: u8,
    /// The body (empty for none). The echo handler echoes a non-empty body it received as
    /// `"body"` ([`echo_with_body`]).
    pub body: Vec<u8>,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The `WWW-Authenticate` header, if any.
    pub www_authenticate: Option<String>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// What an adapter's test implements.
#[allow(async_fn_in_trait)]
pub trait Harness {
    /// The adapter's name (`axum`, `actix`, ...).
    fn name(&self) -> &'static str;

    /// Builds (or reuses) the app for `profile`, whose handler answers every method and path with
    /// status 200 and [`echo_body`], sends `request`, and returns the response. With
    /// `request.mount`, the app (middleware included) is nested under that prefix the framework's
    /// own way (axum `Router::nest`, actix `web::scope(..).wrap(..)`, poem `Route::nest`, warp
    /// path filters in front of the middleware).
    async fn send(&self, profile: &Profile, request: HttpRequest) -> HttpResponse;
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile(Vec<Case>);

/// One case of the suite.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A unique name (`file/short-name`).
    pub name: String,
    /// The security-catalogue row this case covers, if any.
    #[serde(default)]
    pub row: Option<u32>,
    /// The profile to run against.
    pub profile: String,
    /// Mount the app under this prefix (`"/api"`, `"/api/v1"`): the harness nests it the
    /// framework's own way with the middleware on the nested part, and `request.path` includes
    /// the prefix. Default: not nested.
    #[serde(default)]
    pub mount: Option<String>,
    /// How many times the middleware (built on the one engine of the profile) wraps the app,
    /// each harness composing it its framework's own way: two layers on axum, two `wrap`s on
    /// actix-web, two `with`s on poem; on warp the filter in two `.or()` branches, the first of
    /// which does not match (behind `jwt_warp::service`, the service twice). One request, one
    /// decision: the answer must be the single layer's. Default 1; at most 2.
    #[serde(default = "one")]
    pub layers: u8,
    /// Why the case expects what it does, when not obvious.
    #[serde(default)]
    pub note: Option<String>,
    /// The request.
    pub request: CaseRequest,
    /// The expected response.
    pub expect: Expect,
}

/// The request of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseRequest {
    /// The method (default `GET`).
    #[serde(default = "get")]
    pub method: String,
    /// The path and query.
    pub path: String,
    /// How to make the token, if any. It is sent as `Authorization: Bearer <token>` unless
    /// `headers` is given, in which case `{token}` in any header value is replaced by it.
    #[serde(default)]
    pub token: Option<TokenRecipe>,
    /// Headers as `[name, value]` pairs.
    #[serde(default)]
    pub headers: Option<Vec<(String, String)>>,
    /// A DPoP proof to send (RFC 9449). Without `headers` the request then carries
    /// `Authorization: DPoP <token>` and `DPoP: <proof>`; with `headers`, `{proof}` in a value is
    /// replaced by it.
    #[serde(default)]
    pub dpop: Option<ProofRecipe>,
    /// Send the same request (same token, same proof) once before the one whose response is
    /// checked: for replay cases.
    #[serde(default)]
    pub send_twice: bool,
    /// The body, as text (sent as is: escapes, duplicate members and all).
    #[serde(default)]
    pub body: Option<String>,
    /// Pads the body with trailing spaces (JSON whitespace) to this many bytes: for size bounds.
    #[serde(default)]
    pub pad_body_to: Option<usize>,
}

/// How to make a DPoP proof. Every field is optional: by default a proof signed with the
/// fixture P-256 key for the request's method and `DPOP_ORIGIN` + path, issued now, with a
/// unique `jti` and the token's `ath`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofRecipe {
    /// The signing key: `p256` (default), `p384`, `ed25519`.
    #[serde(default)]
    pub key: Option<String>,
    /// Header members merged over `{"typ": "dpop+jwt", "alg": .., "jwk": <public key>}`;
    /// `null` removes one.
    #[serde(default)]
    pub header: Option<Map<String, Value>>,
    /// Claims merged over the defaults `jti`, `htm`, `htu`, `iat`, `ath`; `null` removes one;
    /// `now±N` as for tokens; `"ath:<text>"` is the hash of that text; `"{server_nonce}"` the
    /// `dpop_nonce` profile's current nonce.
    #[serde(default)]
    pub claims: Option<Map<String, Value>>,
    /// A literal proof, used as is.
    #[serde(default)]
    pub raw: Option<String>,
}

fn get() -> String {
    "GET".into()
}

/// How to mint a token.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRecipe {
    /// The algorithm (default `HS256`).
    #[serde(default)]
    pub alg: Option<String>,
    /// The signing key: `hs` (default), `hs-other`, `hs512`, `hs384-k2`, `rsa`, `rsa-other`, `p256`,
    /// `p384`, `ed25519`, or `none` for an unsigned token with an empty signature.
    #[serde(default)]
    pub key: Option<String>,
    /// The `kid` header.
    #[serde(default)]
    pub kid: Option<String>,
    /// The `typ` header (default `JWT`; `null` omits it).
    #[serde(default)]
    pub typ: Option<Value>,
    /// Extra header members (override `alg`/`kid`/`typ` too).
    #[serde(default)]
    pub header: Option<Map<String, Value>>,
    /// Claims merged over the defaults `{"sub": "alice", "exp": "now+600"}`; `null` removes one.
    /// Strings `now`, `now+N`, `now-N` become NumericDates.
    #[serde(default)]
    pub claims: Option<Map<String, Value>>,
    /// A raw JSON payload text used instead of the claims (for malformed payloads).
    #[serde(default)]
    pub payload_raw: Option<String>,
    /// A raw JSON header text used instead of the built header.
    #[serde(default)]
    pub header_raw: Option<String>,
    /// Post-processing: `flip-signature`, `flip-payload`, `strip-signature`, `truncate-signature`,
    /// `pad`, `append-dot`.
    #[serde(default)]
    pub tamper: Option<String>,
    /// A literal token, used as is.
    #[serde(default)]
    pub raw: Option<String>,
    /// Repeat `raw` this many times (for size limits).
    #[serde(default)]
    pub repeat: Option<usize>,
}

/// The expected response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The status code.
    pub status: u16,
    /// The exact `detail` of the JSON body (errors only).
    #[serde(default)]
    pub detail: Option<String>,
    /// The RFC 6750 error code in `WWW-Authenticate`: `invalid_token`, `invalid_request`,
    /// `insufficient_scope`, `none` (header present, no error code) or `absent` (no header).
    #[serde(default)]
    pub error: Option<String>,
    /// The exact `WWW-Authenticate` value.
    #[serde(default)]
    pub www_authenticate: Option<String>,
    /// Members the echoed identity must have (a subset match; `{"anonymous": true}` for none).
    #[serde(default)]
    pub identity: Option<Map<String, Value>>,
    /// The `Content-Type` of an error (its start), for a profile with its own error renderer;
    /// the body must then be a JSON object with a string `detail`. Default: the built-in
    /// rendering, `application/json` with `{"detail": ...}` only. With a status below 400 (a
    /// gRPC call's refusal: HTTP 200, `application/grpc`), the response's content type, and
    /// its body must be empty.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The error is a JSON-RPC error with this code (an MCP endpoint's 400): the body must be
    /// `{"jsonrpc": "2.0", "id": .., "error": {"code": <this>, "message": string}}`.
    #[serde(default)]
    pub jsonrpc_error: Option<i64>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn resolve_times(v: &Value, now: u64) -> Value {
    match v {
        Value::String(s) if s == "now" => json!(now),
        Value::String(s) if s.starts_with("now+") || s.starts_with("now-") => {
            match s[4..].parse::<u64>() {
                Ok(n) if s.as_bytes()[3] == b'+' => json!(now + n),
                Ok(n) => json!(now.saturating_sub(n)),
                Err(_) => v.clone(),
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| resolve_times(i, now)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve_times(v, now)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The public JWK of a proof key (`p256`, `p384`, `ed25519`), from the fixture's public PEM.
fn proof_jwk(name: &str) -> Result<Value, String> {
    let der = |pem: &[u8]| -> Result<Vec<u8>, String> {
        let text = std::str::from_utf8(pem).map_err(|e| e.to_string())?;
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| e.to_string())
    };
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    // A SubjectPublicKeyInfo ends with the key: 04 || x || y for EC, the 32 bytes for Ed25519.
    match name {
        "p256" | "p384" => {
            let (pem, size, crv) = if name == "p256" {
                (keys::P256_PUBLIC, 32, "P-256")
            } else {
                (keys::P384_PUBLIC, 48, "P-384")
            };
            let der = der(pem)?;
            let point = &der[der.len() - 2 * size..];
            Ok(json!({"kty": "EC", "crv": crv, "x": b64(&point[..size]), "y": b64(&point[size..])}))
        }
        "ed25519" => {
            let der = der(keys::ED_PUBLIC)?;
            Ok(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&der[der.len() - 32..])}))
        }
        other => Err(format!("unknown proof key {other:?}")),
    }
}

/// Replaces `"jkt:<key>"` strings (at any depth) by that proof key's RFC 7638 thumbprint.
fn resolve_jkt(v: &Value) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) if s.starts_with("jkt:") => {
            json!(jwk_thumbprint(&proof_jwk(&s[4..])?).map_err(|e| e.to_string())?)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(resolve_jkt).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_jkt(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

static PROOF_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl ProofRecipe {
    /// Makes the proof for `method path` over `token`.
    ///
    /// # Errors
    /// A message for an unknown key.
    pub fn mint(&self, method: &str, path: &str, token: Option<&str>) -> Result<String, String> {
        if let Some(raw) = &self.raw {
            return Ok(raw.clone());
        }
        let now = now();
        let key_name = self.key.as_deref().unwrap_or("p256");
        let (alg, key) = signing_key(key_name)?;
        let mut header = Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        header.insert("alg".into(), json!(format!("{alg:?}")));
        header.insert("jwk".into(), proof_jwk(key_name)?);
        for (k, v) in self.header.iter().flatten() {
            if v.is_null() {
                header.remove(k);
            } else {
                header.insert(k.clone(), v.clone());
            }
        }
        let hash = |text: &str| {
            URL_SAFE_NO_PAD.encode(
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes()).as_ref(),
            )
        };
        let serial = PROOF_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let htu = format!("{DPOP_ORIGIN}{}", path.split('?').next().unwrap_or(path));
        let mut claims = Map::new();
        claims.insert(
            "jti".into(),
            json!(format!("proof-{now}-{serial}-{}", std::process::id())),
        );
        claims.insert("htm".into(), json!(method));
        claims.insert("htu".into(), json!(htu));
        claims.insert("iat".into(), json!(now));
        if let Some(token) = token {
            claims.insert("ath".into(), json!(hash(token)));
        }
        for (k, v) in self.claims.iter().flatten() {
            let v = match v {
                Value::Null => {
                    claims.remove(k);
                    continue;
                }
                Value::String(s) if s.starts_with("ath:") => json!(hash(&s[4..])),
                Value::String(s) if s == "{server_nonce}" => json!(
                    DpopNonces::new(DPOP_NONCE_SECRET, DPOP_NONCE_PERIOD)
                        .map_err(|e| e.to_string())?
                        .current()
                ),
                other => resolve_times(other, now),
            };
            claims.insert(k.clone(), v);
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
        );
        mint::sign_input(alg, &key, &input).map_err(|e| e.to_string())
    }
}

fn signing_key(name: &str) -> Result<(Algorithm, EncodingKey), String> {
    let pem = |alg, bytes: &[u8], ec: bool, ed: bool| {
        let key = if ed {
            EncodingKey::from_ed_pem(bytes)
        } else if ec {
            EncodingKey::from_ec_pem(bytes)
        } else {
            EncodingKey::from_rsa_pem(bytes)
        };
        key.map(|k| (alg, k)).map_err(|e| e.to_string())
    };
    match name {
        "hs" => Ok((Algorithm::HS256, EncodingKey::from_secret(HS_SECRET))),
        "hs-other" => Ok((Algorithm::HS256, EncodingKey::from_secret(HS_OTHER))),
        "hs384-k2" => Ok((Algorithm::HS384, EncodingKey::from_secret(&[0x33; 48]))),
        "hs512" => Ok((Algorithm::HS512, EncodingKey::from_secret(&[0x44; 64]))),
        "rsa" => pem(Algorithm::RS256, keys::RSA_PRIVATE, false, false),
        "rsa-other" => pem(Algorithm::RS256, keys::RSA_B_PRIVATE, false, false),
        "p256" => pem(Algorithm::ES256, keys::P256_PRIVATE, true, false),
        "p384" => pem(Algorithm::ES384, keys::P384_PRIVATE, true, false),
        "ed25519" => pem(Algorithm::EdDSA, keys::ED_PRIVATE, false, true),
        // Public key bytes used as an HMAC secret (algorithm-confusion attacks).
        "rsa-public-as-hmac" => Ok((Algorithm::HS256, EncodingKey::from_secret(keys::RSA_PUBLIC))),
        "p256-public-as-hmac" => Ok((
            Algorithm::HS256,
            EncodingKey::from_secret(keys::P256_PUBLIC),
        )),
        other => Err(format!("unknown key {other:?}")),
    }
}

impl TokenRecipe {
    /// Mints the token.
    ///
    /// # Errors
    /// A message for an unknown key or algorithm.
    pub fn mint(&self) -> Result<String, String> {
        if let Some(raw) = &self.raw {
            return Ok(raw.repeat(self.repeat.unwrap_or(1)));
        }
        let now = now();
        let key_name = self.key.as_deref().unwrap_or("hs");
        let header_json = match &self.header_raw {
            Some(raw) => raw.clone(),
            None => {
                let mut header = Map::new();
                let alg_name = match (&self.alg, key_name) {
                    (Some(a), _) => a.clone(),
                    (None, "none") => "none".to_owned(),
                    (None, k) => format!("{:?}", signing_key(k)?.0),
                };
                header.insert("alg".into(), json!(alg_name));
                match &self.typ {
                    None => {
                        header.insert("typ".into(), json!("JWT"));
                    }
                    Some(Value::Null) => {}
                    Some(t) => {
                        header.insert("typ".into(), t.clone());
                    }
                }
                if let Some(kid) = &self.kid {
                    header.insert("kid".into(), json!(kid));
                }
                for (k, v) in self.header.iter().flatten() {
                    header.insert(k.clone(), v.clone());
                }
                Value::Object(header).to_string()
            }
        };
        let payload_json = match &self.payload_raw {
            Some(raw) => raw.clone(),
            None => {
                let mut claims = Map::new();
                claims.insert("sub".into(), json!("alice"));
                claims.insert("exp".into(), json!(now + 600));
                for (k, v) in self.claims.iter().flatten() {
                    if v.is_null() {
                        claims.remove(k);
                    } else {
                        claims.insert(k.clone(), resolve_jkt(&resolve_times(v, now))?);
                    }
                }
                Value::Object(claims).to_string()
            }
        };
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header_json),
            URL_SAFE_NO_PAD.encode(payload_json)
        );
        let token = if key_name == "none" {
            format!("{input}.")
        } else {
            let (default_alg, key) = signing_key(key_name)?;
            let alg = self
                .alg
                .as_deref()
                .and_then(|a| a.parse().ok())
                .unwrap_or(default_alg);
            mint::sign_input(alg, &key, &input).map_err(|e| e.to_string())?
        };
        Ok(tamper(token, self.tamper.as_deref()))
    }
}

fn flip_char(s: &str, at: usize) -> String {
    let mut bytes = s.as_bytes().to_vec();
    if let Some(b) = bytes.get_mut(at) {
        *b = if *b == b'A' { b'B' } else { b'A' };
    }
    String::from_utf8(bytes).unwrap_or_default()
}

fn tamper(token: String, how: Option<&str>) -> String {
    let Some(how) = how else { return token };
    let dots: Vec<usize> = token.match_indices('.').map(|(i, _)| i).collect();
    match (how, dots.as_slice()) {
        ("flip-signature", [_, d2]) => flip_char(&token, d2 + 3),
        ("flip-payload", [d1, _]) => flip_char(&token, d1 + 3),
        ("flip-header", _) => flip_char(&token, 3),
        ("strip-signature", [_, d2]) => token[..=*d2].to_owned(),
        ("truncate-signature", _) => token[..token.len().saturating_sub(4)].to_owned(),
        ("pad", _) => format!("{token}=="),
        ("append-dot", _) => format!("{token}."),
        _ => token,
    }
}

impl Case {
    /// The HTTP request this case sends.
    ///
    /// # Errors
    /// A message when the token cannot be minted, or when `mount` is not a prefix of the path.
    pub fn http_request(&self) -> Result<HttpRequest, String> {
        if let Some(mount) = &self.mount {
            let rest = self.request.path.strip_prefix(mount.as_str());
            let valid = mount.len() > 1
                && mount.starts_with('/')
                && !mount.ends_with('/')
                && !mount.contains("//")
                && !mount.contains(['?', '#', '%', '{', '}', '*', ':', '<', '>'])
                && rest.is_some_and(|r| r.is_empty() || r.starts_with(['/', '?']));
            if !valid {
                return Err(format!(
                    "mount {mount:?} must be /segment[/segment..] and a prefix of the path {:?}",
                    self.request.path
                ));
            }
        }
        let token = self
            .request
            .token
            .as_ref()
            .map(TokenRecipe::mint)
            .transpose()?;
        let proof = self
            .request
            .dpop
            .as_ref()
            .map(|p| p.mint(&self.request.method, &self.request.path, token.as_deref()))
            .transpose()?;
        let headers = match (&self.request.headers, &token, &proof) {
            (Some(h), t, p) => h
                .iter()
                .map(|(n, v)| {
                    let v = v.replace("{token}", t.as_deref().unwrap_or(""));
                    (n.clone(), v.replace("{proof}", p.as_deref().unwrap_or("")))
                })
                .collect(),
            (None, Some(t), Some(p)) => vec![
                ("Authorization".to_owned(), format!("DPoP {t}")),
                ("DPoP".to_owned(), p.clone()),
            ],
            (None, Some(t), None) => vec![("Authorization".to_owned(), format!("Bearer {t}"))],
            (None, None, Some(p)) => vec![("DPoP".to_owned(), p.clone())],
            (None, None, None) => Vec::new(),
        };
        if !(1..=2).contains(&self.layers) {
            return Err(format!("layers must be 1 or 2, not {}", self.layers));
        }
        let mut body = self.request.body.clone().unwrap_or_default().into_bytes();
        if let Some(size) = self.request.pad_body_to {
            body.resize(size.max(body.len()), b' ');
        }
        Ok(HttpRequest {
            method: self.request.method.clone(),
            uri: self.request.path.clone(),
            headers,
            mount: self.mount.clone(),
            layers: self.layers,
            body,
        })
    }

    /// Compares a response with the expectation; `Err` explains the first difference.
    ///
    /// # Errors
    /// A description of the mismatch.
    pub fn check(&self, res: &HttpResponse) -> Result<(), String> {
        let e = &self.expect;
        if res.status != e.status {
            return Err(format!(
                "status {} (expected {}), body {}",
                res.status,
                e.status,
                String::from_utf8_lossy(&res.body)
            ));
        }
        let head = self.request.method == "HEAD";
        let body: Option<Value> = serde_json::from_slice(&res.body).ok();
        if let Some(detail) = &e.detail {
            let got = body
                .as_ref()
                .and_then(|b| b.get("detail"))
                .and_then(Value::as_str);
            if !head && got != Some(detail.as_str()) {
                return Err(format!("detail {got:?} (expected {detail:?})"));
            }
        }
        if let Some(code) = e.jsonrpc_error {
            let error = body.as_ref().and_then(|b| b.get("error"));
            let ok = body.as_ref().and_then(|b| b.get("jsonrpc")) == Some(&json!("2.0"))
                && error.and_then(|e| e.get("code")) == Some(&json!(code))
                && error
                    .and_then(|e| e.get("message"))
                    .is_some_and(Value::is_string)
                && res
                    .content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("application/json"));
            if !ok {
                return Err(format!(
                    "not a JSON-RPC error {code}: {}",
                    String::from_utf8_lossy(&res.body)
                ));
            }
        } else if res.status >= 400 && !head {
            let wanted = e.content_type.as_deref().unwrap_or("application/json");
            let ok_type = res
                .content_type
                .as_deref()
                .is_some_and(|t| t.starts_with(wanted));
            if !ok_type {
                return Err(format!(
                    "content-type {:?} (expected {wanted})",
                    res.content_type
                ));
            }
            let object = body.as_ref().and_then(Value::as_object);
            let has_detail = object.is_some_and(|o| o.get("detail").is_some_and(Value::is_string));
            let only_detail = e.content_type.is_some() || object.is_some_and(|o| o.len() == 1);
            if !has_detail || !only_detail {
                return Err(format!(
                    "error body is not {}",
                    if e.content_type.is_some() {
                        "a JSON object with a string detail"
                    } else {
                        "{\"detail\": string}"
                    }
                ));
            }
        }
        // A refusal answered 200 (a gRPC call's trailers-only status): its content type, and
        // no body.
        if let Some(wanted) = e.content_type.as_deref()
            && res.status < 400
        {
            let ok = res
                .content_type
                .as_deref()
                .is_some_and(|t| t.starts_with(wanted));
            if !ok || !res.body.is_empty() {
                return Err(format!(
                    "content-type {:?} and a {}-byte body (expected {wanted}, empty)",
                    res.content_type,
                    res.body.len()
                ));
            }
        }
        if let Some(expected) = &e.www_authenticate
            && res.www_authenticate.as_deref() != Some(expected.as_str())
        {
            return Err(format!(
                "WWW-Authenticate {:?} (expected {expected:?})",
                res.www_authenticate
            ));
        }
        if let Some(code) = &e.error {
            let header = res.www_authenticate.as_deref();
            let ok = match (code.as_str(), header) {
                ("absent", None) => true,
                ("absent", Some(_)) | (_, None) => false,
                ("none", Some(h)) => {
                    (h.starts_with("Bearer realm=") || h.starts_with("DPoP "))
                        && !h.contains("error=")
                }
                (code, Some(h)) => {
                    (h.starts_with("Bearer realm=") || h.starts_with("DPoP "))
                        && h.contains(&format!("error=\"{code}\""))
                }
            };
            if !ok {
                return Err(format!(
                    "WWW-Authenticate {header:?} (expected error {code})"
                ));
            }
        }
        if let Some(identity) = &e.identity
            && !head
        {
            let got = body.as_ref().and_then(Value::as_object);
            for (k, v) in identity {
                let actual = got.and_then(|o| o.get(k));
                if actual != Some(v) {
                    return Err(format!("identity.{k} = {actual:?} (expected {v})"));
                }
            }
        }
        Ok(())
    }
}

/// The directory holding the case files.
pub fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cases")
}

/// Loads every case, sorted by file then order in the file, checking names are unique.
///
/// # Errors
/// A message naming the file or the duplicate.
pub fn load_cases() -> Result<Vec<Case>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    let mut seen = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
        let CaseFile(cases) =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        for case in cases {
            if seen.insert(case.name.clone(), ()).is_some() {
                return Err(format!("duplicate case name {}", case.name));
            }
            // A 2xx with a token must also say who the handler saw: a status alone would pass
            // for a handler that ran with the wrong identity (or none).
            // A refusal answered 200 (a gRPC call's status) says what refused it instead.
            let refusal_in_200 =
                case.expect.content_type.is_some() && case.expect.www_authenticate.is_some();
            if (200..300).contains(&case.expect.status)
                && case.request.token.is_some()
                && case.expect.identity.is_none()
                && !refusal_in_200
            {
                return Err(format!(
                    "{}: a 2xx case with a token must check the identity the handler saw",
                    case.name
                ));
            }
            all.push(case);
        }
    }
    Ok(all)
}

/// The outcome of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The adapter.
    pub adapter: String,
    /// Cases that passed.
    pub passed: usize,
    /// `(case, reason)` for every failure.
    pub failures: Vec<(String, String)>,
    /// Every response, by case name (for cross-adapter comparison).
    pub responses: BTreeMap<String, Value>,
}

impl Report {
    /// The summary line: `adapter <name>: <N> passed, <F> failed`.
    pub fn summary(&self) -> String {
        format!(
            "adapter {}: {} passed, {} failed",
            self.adapter,
            self.passed,
            self.failures.len()
        )
    }

    /// The distinct catalogue rows the suite covers.
    pub fn rows_covered(cases: &[Case]) -> usize {
        let mut rows: Vec<u32> = cases.iter().filter_map(|c| c.row).collect();
        rows.sort_unstable();
        rows.dedup();
        rows.len()
    }
}

fn normalised(res: &HttpResponse, head: bool) -> Value {
    // A response to HEAD has no body on the wire; some in-process clients keep it, some drop it.
    let mut body: Value = if head {
        Value::Null
    } else {
        serde_json::from_slice(&res.body).unwrap_or(Value::Null)
    };
    // The echo carries claims with per-run timestamps; keep only stable members.
    if let Some(obj) = body.as_object_mut() {
        obj.remove("claims");
    }
    json!({
        "status": res.status,
        "www_authenticate": res.www_authenticate,
        "body": body,
    })
}

/// Where the suite writes its outputs: `<target>/conformance`, the target directory being
/// `CARGO_TARGET_DIR` when set (a relative value is taken from the workspace root), else
/// `<workspace>/target`.
pub fn output_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    };
    target.join("conformance")
}

/// Runs every case against `harness`, prints the summary line and each failure, and writes the
/// normalised responses to `<target>/conformance/<adapter>.json` ([`output_dir`]) for
/// cross-adapter comparison.
pub async fn run<H: Harness>(harness: &H) -> Report {
    let cases = match load_cases() {
        Ok(c) => c,
        Err(e) => {
            let report = Report {
                adapter: harness.name().to_owned(),
                failures: vec![("<load>".into(), e)],
                ..Report::default()
            };
            println!("{}", report.summary());
            return report;
        }
    };
    let report = run_cases(harness, &cases).await;
    println!(
        "catalogue rows covered: {}/78",
        Report::rows_covered(&cases)
    );
    let dir = output_dir();
    if std::fs::create_dir_all(&dir).is_ok() {
        let path = dir.join(format!("{}.json", report.adapter));
        let text = serde_json::to_string_pretty(&report.responses).unwrap_or_default();
        if let Err(e) = std::fs::write(&path, text) {
            println!("could not write {}: {e}", path.display());
        }
    }
    report
}

/// Runs `cases` against `harness` and prints the summary line and each failure (a subset of the
/// suite, e.g. one identity provider's cases).
pub async fn run_cases<H: Harness>(harness: &H, cases: &[Case]) -> Report {
    let mut report = Report {
        adapter: harness.name().to_owned(),
        ..Report::default()
    };
    let mut profiles: BTreeMap<String, Profile> = BTreeMap::new();
    for case in cases {
        let profile = match profiles.get(&case.profile) {
            Some(p) => p.clone(),
            None => match Profile::named(&case.profile) {
                Ok(p) => {
                    profiles.insert(case.profile.clone(), p.clone());
                    p
                }
                Err(e) => {
                    report.failures.push((case.name.clone(), e));
                    continue;
                }
            },
        };
        let request = match case.http_request() {
            Ok(r) => r,
            Err(e) => {
                report.failures.push((case.name.clone(), e));
                continue;
            }
        };
        if case.request.send_twice {
            let _ = harness.send(&profile, request.clone()).await;
        }
        let response = harness.send(&profile, request).await;
        report.responses.insert(
            case.name.clone(),
            normalised(&response, case.request.method == "HEAD"),
        );
        match case.check(&response) {
            Ok(()) => report.passed += 1,
            Err(reason) => report.failures.push((case.name.clone(), reason)),
        }
    }
    for (name, reason) in &report.failures {
        println!("FAIL {name}: {reason}");
    }
    println!("{}", report.summary());
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_builds_and_every_case_parses_and_mints() {
        let cases = load_cases().unwrap();
        for case in &cases {
            Profile::named(&case.profile).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            case.http_request()
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        }
    }

    #[test]
    fn time_placeholders() {
        assert_eq!(resolve_times(&json!("now+10"), 100), json!(110));
        assert_eq!(resolve_times(&json!("now-10"), 100), json!(90));
        assert_eq!(resolve_times(&json!(["now", "x"]), 5), json!([5, "x"]));
    }

    #[test]
    fn tampering_changes_the_token() {
        let t = TokenRecipe::default().mint().unwrap();
        for how in [
            "flip-signature",
            "flip-payload",
            "strip-signature",
            "truncate-signature",
            "pad",
        ] {
            assert_ne!(tamper(t.clone(), Some(how)), t, "{how}");
        }
    }
}

/// The workspace README's examples, compiled (and, where not `no_run`, run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
