//! The configuration manual: every setting of the builder, the scope grammar, route patterns
//! and the path model, and the errors a client sees. The crate's front page and the
//! repository's README are the tour; this is the reference (its links are checked by
//! `cargo doc`, its examples run as doctests).
//!
//! # Configuration reference ([`JwtAuth::builder()`](crate::JwtAuth::builder))
//!
//! Every setting that weakens a check says so in its name (`git grep dangerous` lists them all):
//! `dangerous_any_issuer`, `dangerous_authenticate_only`, [`OptionsPolicy::DangerousBypassAll`](crate::OptionsPolicy::DangerousBypassAll),
//! [`FailurePolicy::DangerousOpen`](crate::FailurePolicy::DangerousOpen) (stores), [`BearerHeader::dangerous_allow_raw_token`](crate::BearerHeader::dangerous_allow_raw_token),
//! `Validation::dangerous_optional_exp` / `dangerous_skip_nbf` / `dangerous_skip_iat`,
//! [`AudiencePolicy::DangerousIgnore`](crate::AudiencePolicy::DangerousIgnore), and [`jwt_core::dangerous::InsecureNoSignature`](crate::dangerous::InsecureNoSignature).
//!
//! | method | default | meaning |
//! |---|---|---|
//! | `.verifier(v)` | required | `StaticKeys`, `Jwks`, `KeyChain` (`KeyChain::from_env()`), `ApiKeys`, `dangerous::InsecureNoSignature`, or your `Verifier` |
//! | `.verifier_from_env()` | | `JWT_JWKS_FILE`, `JWT_JWKS`, `JWT_VERIFICATION_KEY` (+ `JWT_ALGORITHM`) |
//! | `.token_location(..)` / `.token_source(..)` | header | `Header`, `Cookie(name)`, `Both(name)`, `BothStrict(name)`, or any `TokenSource` |
//! | `.claims(..)` | `StandardClaims::default()` (scopes from `scopes`, `scope`, `scp`) | claim names, scope sources (any claim path, prefixes for roles), dependencies / session-state claims, reserved subjects; identity-provider recipes `StandardClaims::keycloak(client)`, `auth0()`, `entra_id()`, `okta()`, `google()`, `cognito()` |
//! | `.scopes(mapper)` | none: authenticate only | a `RouteTable` (`RouteTable::agent_os()` or your own) or any `ScopeMapper`; with a table, unlisted routes are denied (see "Route patterns") |
//! | `.agent_os()` | | the preset table plus agno's reserved subjects and `system` alias |
//! | `.dangerous_authenticate_only()` | off | scopes are not enforced: a valid token is enough (agno's `authorization=False`) |
//! | `.audience(a)` / `.issuer(i)` | none | `aud` must contain `a` / `iss` must equal `i` (a token naming an audience is refused when none is configured; an empty one is a build error) |
//! | `.dangerous_any_issuer()` | off | accept any `iss`: required (or `.issuer(..)`, or a verifier that pins the issuer) for `build` to succeed |
//! | `.validation(Validation)` | | `required_claims`, `rfc9068` (`typ: at+jwt`), audience policy; relaxations `dangerous_optional_exp`, `dangerous_skip_nbf`, `dangerous_skip_iat` |
//! | `.leeway(secs)` | 10 | at most 300 |
//! | `.max_token_len(n)` | 8192 | checked before any decoding |
//! | `.options_policy(..)` | `BypassPreflight` | `DangerousBypassAll` (agno: every `OPTIONS` passes) or `Authenticate` |
//! | `.realm(r)` | `api` | the `WWW-Authenticate` realm |
//! | `.keep_token(bool)` | false | keep the raw token in the `AuthContext` |
//! | `.protected_resource(m)` | none | RFC 9728 metadata served by every adapter, `resource_metadata` in challenges, the resource accepted as audience |
//! | `.check(c)` | none | per-request checks: `Revocation` (shared store), `JtiDenylist`, your `RequestCheck` |
//! | `.dpop(Dpop)` | off: key-bound tokens refused | RFC 9449 proofs: `Dpop::allowed()` / `required()`, `.origin(HtuOrigin)`, `.algorithms(..)`, `.proof_lifetime(..)`, `.clock_skew(..)`, `.replay_store(..)`, `.nonces(DpopNonces)` |
//!
//!
//! # Scopes
//!
//! | scope | meaning |
//! |---|---|
//! | the admin scope (`agent_os:admin` in the AgentOS preset; `.admin_scope(..)` on any table; none on a plain table) | everything |
//! | `agents:read` | read every agent, and the full listing |
//! | `agents:*:run` | run every agent (same as `agents:run` for matching) |
//! | `agents:my-agent:run` | run `my-agent` only |
//! | any other scope-token: `orders.read`, `read`, `Files.Read`, `api://x/y`, `https://example.com/scope`, `admin:items:a1:read`, `role::admin` | exactly itself (case-sensitive); no hierarchical scope grants it |
//! | not an RFC 6749 scope-token (whitespace, control or non-ASCII characters, `"`, `\`) | nothing; a route table requiring one fails to build |
//!
//! **Which grammar a table uses.** A plain `RouteTable::builder()` reads every scope exactly
//! ([`ScopeRules::plain()`](crate::ScopeRules::plain), the default: the rows above for `agents:read`, `agents:*:run` and
//! `agents:my-agent:run` do not apply, each is just itself) and has no admin scope. The hierarchical
//! rows apply on a table that chooses the grammar: `RouteTable::agent_os()` (with `agent_os:admin`),
//! `.hierarchical_scopes()`, or `.scope_rules(ScopeRules::hierarchical())` /
//! `ScopeRules::agent_os()`. Without any table the context's scopes are read plainly too. A listing
//! or an agno resource check needs the hierarchy (a build error otherwise).
//!
//! Under the hierarchical grammar a scope is hierarchical when it has two or three non-empty
//! `:`-separated parts and neither the resource nor the action contains `/`, so URL-shaped scopes
//! stay exact. [`RouteTableBuilder::build`](crate::RouteTableBuilder::build)
//! refuses a required scope no token could ever hold (empty, whitespace inside, control
//! characters, ...; for a template, its literal parts) with [`ConfigError::InvalidScopeTemplate`](crate::ConfigError::InvalidScopeTemplate).
//!
//!
//! # Route patterns
//!
//! An entry is `"METHOD /pattern"`. The method is one of `GET`, `POST`, `PUT`, `PATCH`, `DELETE`,
//! `OPTIONS`, `QUERY`, `CONNECT`, `TRACE` or a WebDAV method (any case), or `*` for every method
//! (`"* /files/{*path}"`; `.exclude("/health")` without a method means `*`); anything else is a build
//! error with a suggestion (`GTE` → `GET`). An entry for a method beats a `*` entry of the same
//! pattern. `{param}` and `*` match within one path segment (`*` never crosses `/`), `{*rest}`
//! matches the remaining segments (axum 0.7's `:id` and `*rest` are build errors that say so), the
//! most specific entry wins whatever the order, a trailing slash is ignored.
//! Required scopes may name path parameters: `agents:{agent_id}:run`. `HEAD` follows the `GET`
//! entry of the same path (with its scopes); a `HEAD` entry is a build error.
//!
//! **Unlisted routes fail closed.** With a route table, a request whose method and path match no
//! entry is refused: 401 without a valid token, then 403 `insufficient_scope` with the fixed detail
//! `Access denied: route not permitted`, for everyone, admins included. A route your router serves
//! but your table forgets is therefore never open. To get agno's behaviour (any valid token) say so:
//! `RouteTable::builder().unmapped(Unmapped::Authenticated)`. `.deny(entry)` denies one entry
//! outright. Without any table (`.scopes(..)` not called) the middleware authenticates only.
//!
//! ## The path model
//!
//! The core decides on the request path exactly as the client sent it (what the router matches on,
//! mount prefix included) and reads it one way for every framework (`jwt_core::path`):
//!
//! | input | result |
//! |---|---|
//! | an escaped unreserved character (`%61` for `a`, `%2D`, `%7e`, `%2E` inside a segment) | 400 `invalid_request`: no client needs to escape one (RFC 3986 §2.3), so it can only be a disguise; a handler reading the raw segment (`warp::path::param`) would see `%61` where the core authorized `a` |
//! | other percent-escapes (`%3A`, `%2F`, `%20`, `%C3%A9`) | decoded exactly once, for literals and parameters alike (`%252D` is the text `%2D`) |
//! | `%2F` | decoded inside its segment: never splits or joins segments (`/items/a%2Fb` binds `a/b`) |
//! | a literal segment sent encoded (`/admin%3Areset`) | 400 `invalid_request`: actix-web decodes before routing, axum/poem/warp match the raw text, so the handler that would run depends on the framework |
//! | empty segment (`/items//runs`, `//x`, `/x//`) | 400: axum and poem would bind an empty `{param}` |
//! | `.` / `..`, raw or encoded (`%2e`, `.%2E`) | 400, never normalised |
//! | `%` without two hex digits, escapes that are not UTF-8, decoded control characters | 400 |
//! | raw (unencoded) non-ASCII bytes | 400: RFC 3986 requires them encoded; actix-web refuses them, hyper passes them on |
//! | case | significant (`/Items` is not `/items`): as in all four routers |
//! | `;` | an ordinary character (no matrix parameters): `/items;x` is not `/items` |
//! | one trailing `/` | ignored for matching |
//!
//! ## Nesting and mounts, per framework
//!
//! Each adapter hands the core the full path its router matched, so an entry for
//! `/api/admin/items` applies to a router nested at `/api/admin`, never the root's `/items` entry:
//!
//! | framework | mount | what the adapter reads |
//! |---|---|---|
//! | axum | `Router::nest("/api/admin", inner.layer(auth.layer()))` | `OriginalUri` (the outer router keeps it; `nest` strips the prefix from the URI). Outside an axum `Router` (bare tower, tonic) the request URI. |
//! | actix-web | `web::scope("/api/admin").wrap(auth.middleware())` | the raw request path (actix never strips a scope prefix) |
//! | poem | `Route::nest("/api/admin", inner.with(auth.middleware()))` | `Request::original_uri()` (`nest` strips the prefix from `uri()`). A request built in-process with `Request::builder()` has no original URI, so `uri()` is used: build test requests from an `http::Request` (`Request::from(..)`) to exercise a nested mount. |
//! | warp | filters see the whole request | `warp::path::full()`; behind `jwt_warp::service`, the request URI's path |
//!
//! warp hands handlers raw path segments; use `jwt_warp::param::<T>()` instead of
//! `warp::path::param` so the handler receives the value the core authorized (decoded once: with
//! `warp::path::param` a reserved character sent escaped, `a%3Ab`, reaches the handler raw while
//! the core authorized `a:b`; an escaped unreserved character never gets that far), and end
//! the app with `.or(jwt_warp::deny_unmatched(&auth))` so an unknown path or a wrong method answers
//! 401/403 before warp's 404/405, as on the other frameworks. actix-web's `web::get()` does not
//! answer `HEAD`; use a guard (`guard::Any(guard::Get()).or(guard::Head())`) to serve it, as the
//! demo does.
//!
//!
//! # Errors
//!
//! | status | when | `WWW-Authenticate` |
//! |---|---|---|
//! | 400 | two different credentials (strict mode), `Bearer` without a token, two `Authorization` headers, a path the path model refuses | `error="invalid_request"` |
//! | 401 | no token, other scheme | `Bearer realm="api"` (no error code) |
//! | 401 | malformed, bad signature, expired, wrong `aud`/`iss`/`typ`, `sub` not a string, reserved subject | `error="invalid_token"` |
//! | 403 | valid token without the scope | `error="insufficient_scope", scope="..."` |
//! | 403 | valid token, route not in the table (fail closed) | `error="insufficient_scope"` |
//! | 503 | no key set available yet | none |
//! | 500 | a composition that cannot decide a request once (warp filters alone with DPoP on) | none |
//!
//! By default bodies are `{"detail": "..."}` with our own stable messages; library error text never
//! leaks. A 503 carries `Retry-After` (5 s by default, `.retry_after(secs)`).
//!
//! **One request, one decision.** However layers, middleware, filters and extractors are composed,
//! a request is decided once and every refusal gives its true reason: the same middleware applied
//! twice (an outer and a nested router, `App::wrap` and `Scope::wrap`, two poem `with`s,
//! `jwt_warp::service` twice) passes a request its engine already decided, and an extractor's
//! refusal (`UserId` on a token without `sub`, on an excluded route, `RequireScope`) renders with
//! the middleware's realm and renderer on every adapter (`jwt_core::extractor_refusal`).
//!
//! **Logs.** Each decision is one `jwt_auth` span at DEBUG with its reason code (scope refusals
//! name the scopes required; extractor refusals log too). Refusals that signal an attack (a bad
//! signature, `alg: none` (its own reason, `alg_none`), an unknown key, a duplicate JSON member, a
//! replayed or forged DPoP proof) are also logged at WARN, which the default subscriber shows, at
//! most once per reason every 10 s with a count of the ones left out. Never a token or key.
//!
//! ## Your own error bodies
//!
//! The body and its media type can be replaced; the status, `WWW-Authenticate` and `Retry-After`
//! cannot (they are the core's, on every adapter, for the middleware's errors and for per-route
//! requirements alike):
//!
//! ```rust
//! use jwt_core::{JwtAuth, ProblemJson, RenderedBody, StaticKeys};
//! # fn main() -> Result<(), jwt_core::ConfigError> {
//! // RFC 9457 problem details: application/problem+json with type, title, status, detail,
//! // plus `code` (the RFC 6750 error) and `reason` (which check failed).
//! let auth = JwtAuth::builder().dangerous_any_issuer()
//!     .verifier(StaticKeys::hs256(b"an-hs256-secret-of-at-least-32-bytes!")?)
//!     .error_renderer(ProblemJson::with_type_base("https://errors.example.com/auth/"))
//!     .build()?;
//! // Or anything else, from a closure (or your own `ErrorRenderer`).
//! let plain = JwtAuth::builder().dangerous_any_issuer()
//!     .verifier(StaticKeys::hs256(b"an-hs256-secret-of-at-least-32-bytes!")?)
//!     .render_errors_with(|err| RenderedBody::new("text/plain", format!("{} ({})", err.detail(), err.reason())))
//!     .build()?;
//! # let _ = (auth, plain); Ok(()) }
//! ```
