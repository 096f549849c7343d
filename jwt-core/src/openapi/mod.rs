//! OpenAPI security from the route table: the security schemes and, per operation, the exact
//! requirement the table enforces, written into any OpenAPI 3.x document (utoipa's, aide's,
//! poem-openapi's, a hand-written one) as JSON; and the reverse check, which lists the
//! operations whose documented security differs from what the table enforces.
//!
//! Each operation is looked up in the table with its own path template, so `{agent_id}` in the
//! document binds the table's `{agent_id}` parameter and a scope template renders in the
//! document's terms (`agents:{agent_id}:run`). Per operation:
//!
//! | table | `security` |
//! |---|---|
//! | excluded | `[]` (no authentication) |
//! | optional | `[{}, {"bearerAuth": []}]` |
//! | authenticated | `[{"bearerAuth": []}]` |
//! | scopes (and resource checks) | `[{"bearerAuth": ["agents:read", …]}]` |
//! | denied, or not in the table | `[{"bearerAuth": []}]` and `"x-jwt-access": "denied"` |
//!
//! with one alternative per configured scheme (the cookie, OAuth2), each carrying the same
//! scopes. Scopes on a non-OAuth2 scheme are what OpenAPI 3.1 allows (role names).
//!
//! ```
//! use jwt_core::RouteTable;
//! use jwt_core::openapi::OpenApiSecurity;
//! use serde_json::json;
//!
//! let table = RouteTable::builder()
//!     .route("GET /agents/{agent_id}", ["agents:{agent_id}:read"])
//!     .exclude("GET /health")
//!     .build()?;
//! let mut doc = json!({
//!     "openapi": "3.1.0",
//!     "info": {"title": "agents", "version": "1"},
//!     "paths": {
//!         "/agents/{id}": {"get": {"responses": {"200": {"description": "ok"}}}},
//!         "/health": {"get": {"responses": {"200": {"description": "ok"}}}}
//!     }
//! });
//! let security = OpenApiSecurity::bearer();
//! assert!(!security.check(&table, &doc).is_empty(), "nothing documented yet");
//! security.apply(&table, &mut doc);
//! assert_eq!(doc["paths"]["/agents/{id}"]["get"]["security"], json!([{"bearerAuth": ["agents:{id}:read"]}]));
//! assert_eq!(doc["paths"]["/health"]["get"]["security"], json!([]));
//! assert!(security.check(&table, &doc).is_empty());
//! # Ok::<(), jwt_core::ConfigError>(())
//! ```
//!
//! The document is an output format of the table, one integration per file: the JSON form here,
//! `with_utoipa.rs` (feature `utoipa`) and `with_aide.rs` (feature `aide`) in those crates' own
//! types.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value, json};

use crate::authz::routes::{Access, RouteTable};

#[cfg(feature = "aide")]
mod with_aide;
#[cfg(feature = "utoipa")]
mod with_utoipa;
#[cfg(feature = "utoipa")]
pub use with_utoipa::UtoipaModifier;

/// The HTTP methods an OpenAPI path item holds operations for.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The vendor extension marking an operation the table refuses to everyone.
pub const DENIED_EXTENSION: &str = "x-jwt-access";

/// How the API's callers authenticate, for the document's security schemes: the bearer JWT
/// always, the cookie and OAuth2 when configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApiSecurity {
    bearer: String,
    cookie: Option<(String, String)>,
    oauth2: Option<(String, OAuthFlow)>,
}

/// The OAuth2 flow of the `oauth2` scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OAuthFlow {
    AuthorizationCode {
        authorization_url: String,
        token_url: String,
    },
    ClientCredentials {
        token_url: String,
    },
}

impl OAuthFlow {
    /// The `flows` object, with `scopes` as the flow's scope list.
    fn to_json(&self, scopes: &BTreeSet<String>) -> Value {
        let scopes: Map<String, Value> = scopes
            .iter()
            .map(|s| (s.clone(), Value::String(String::new())))
            .collect();
        match self {
            OAuthFlow::AuthorizationCode {
                authorization_url,
                token_url,
            } => json!({"authorizationCode": {
                "authorizationUrl": authorization_url,
                "tokenUrl": token_url,
                "scopes": scopes
            }}),
            OAuthFlow::ClientCredentials { token_url } => {
                json!({"clientCredentials": {"tokenUrl": token_url, "scopes": scopes}})
            }
        }
    }
}

impl Default for OpenApiSecurity {
    fn default() -> Self {
        Self::bearer()
    }
}

impl OpenApiSecurity {
    /// The bearer JWT (`Authorization: Bearer`), as the scheme `bearerAuth`.
    pub fn bearer() -> Self {
        Self {
            bearer: "bearerAuth".to_owned(),
            cookie: None,
            oauth2: None,
        }
    }

    /// Names the bearer scheme `name` instead of `bearerAuth`.
    pub fn bearer_scheme_name(mut self, name: impl Into<String>) -> Self {
        self.bearer = name.into();
        self
    }

    /// The token is also accepted from the cookie `cookie` (scheme `cookieAuth`).
    pub fn cookie(mut self, cookie: impl Into<String>) -> Self {
        self.cookie = Some(("cookieAuth".to_owned(), cookie.into()));
        self
    }

    /// Tokens come from an OAuth2 authorization server with the authorization-code flow at
    /// these URLs (scheme `oauth2`; its scope list is every scope the document requires).
    pub fn oauth2_authorization_code(
        mut self,
        authorization_url: impl Into<String>,
        token_url: impl Into<String>,
    ) -> Self {
        let flow = OAuthFlow::AuthorizationCode {
            authorization_url: authorization_url.into(),
            token_url: token_url.into(),
        };
        self.oauth2 = Some(("oauth2".to_owned(), flow));
        self
    }

    /// Tokens come from an OAuth2 authorization server with the client-credentials flow at
    /// `token_url` (scheme `oauth2`), as machine callers (agents, services) get them.
    pub fn oauth2_client_credentials(mut self, token_url: impl Into<String>) -> Self {
        let flow = OAuthFlow::ClientCredentials {
            token_url: token_url.into(),
        };
        self.oauth2 = Some(("oauth2".to_owned(), flow));
        self
    }

    /// The scheme names, bearer first.
    fn schemes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.bearer.as_str())
            .chain(self.cookie.as_ref().map(|(name, _)| name.as_str()))
            .chain(self.oauth2.as_ref().map(|(name, _)| name.as_str()))
    }

    /// The requirement list for `scopes` (one alternative per scheme).
    fn requirement(&self, scopes: &[String]) -> Vec<Value> {
        self.schemes()
            .map(|scheme| json!({ scheme: scopes }))
            .collect()
    }

    /// What the table enforces on `method path`, as OpenAPI `security`, and whether the
    /// table refuses the operation to everyone.
    fn expected(&self, table: &RouteTable, method: &str, path: &str) -> Expected {
        let upper = method.to_ascii_uppercase();
        let Ok(found) = table.lookup(&upper, path) else {
            // A template the core's path model refuses cannot be called either.
            return Expected::denied(self);
        };
        let mut scopes: Vec<String> = found
            .checks
            .iter()
            .map(|c| c.scope.render(&found.params).into_owned())
            .collect();
        let security = match &*found.access {
            Access::Excluded => Vec::new(),
            Access::Optional => {
                let mut alternatives = vec![json!({})];
                alternatives.extend(self.requirement(&[]));
                alternatives
            }
            // An MCP endpoint: each operation's scopes are in the body, not the route.
            Access::Authenticated | Access::Mcp => self.requirement(&scopes),
            Access::Scopes(templates) => {
                let mut all: Vec<String> = templates
                    .iter()
                    .map(|t| t.render(&found.params).into_owned())
                    .collect();
                all.append(&mut scopes);
                self.requirement(&all)
            }
            Access::Denied => return Expected::denied(self),
        };
        Expected {
            security,
            denied: false,
        }
    }

    /// Writes the security schemes into `components.securitySchemes` and each operation's
    /// `security` (see the [module](self) for the mapping); operations the table refuses to
    /// everyone also get `"x-jwt-access": "denied"`. A document without `paths` gets only the
    /// schemes.
    pub fn apply(&self, table: &RouteTable, doc: &mut Value) {
        if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
            for (path, item) in paths.iter_mut() {
                let Some(item) = item.as_object_mut() else {
                    continue;
                };
                for method in METHODS {
                    let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                        continue;
                    };
                    let expected = self.expected(table, method, path);
                    op.insert("security".to_owned(), Value::Array(expected.security));
                    if expected.denied {
                        op.insert(DENIED_EXTENSION.to_owned(), json!("denied"));
                    } else {
                        op.remove(DENIED_EXTENSION);
                    }
                }
            }
        }
        let used = Self::scopes_used(doc);
        let Some(root) = doc.as_object_mut() else {
            return;
        };
        let components = root
            .entry("components")
            .or_insert_with(|| Value::Object(Map::new()));
        if !components.is_object() {
            *components = Value::Object(Map::new());
        }
        let schemes = components
            .as_object_mut()
            .map(|c| {
                c.entry("securitySchemes")
                    .or_insert_with(|| Value::Object(Map::new()))
            })
            .filter(|s| s.is_object());
        let Some(Value::Object(schemes)) = schemes else {
            return;
        };
        schemes.insert(
            self.bearer.clone(),
            json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
        );
        if let Some((name, cookie)) = &self.cookie {
            schemes.insert(
                name.clone(),
                json!({"type": "apiKey", "in": "cookie", "name": cookie}),
            );
        }
        if let Some((name, flow)) = &self.oauth2 {
            schemes.insert(
                name.clone(),
                json!({"type": "oauth2", "flows": flow.to_json(&used)}),
            );
        }
    }

    /// Every scope the operations of `doc` require (an OAuth2 flow's scope list).
    fn scopes_used(doc: &Value) -> BTreeSet<String> {
        let mut used = BTreeSet::new();
        for (_, _, op) in operations(doc) {
            for requirement in op
                .get("security")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                collect_scopes(requirement, &mut used);
            }
        }
        used
    }

    /// Every operation of `doc` whose documented security (its own `security`, else the
    /// document's) differs from what the table enforces, or that the table refuses to
    /// everyone. Empty when the document tells the truth.
    pub fn check(&self, table: &RouteTable, doc: &Value) -> Vec<SecurityMismatch> {
        let global = doc.get("security");
        let mut out = Vec::new();
        for (path, method, op) in operations(doc) {
            let expected = self.expected(table, method, path);
            let documented = op.get("security").or(global).cloned();
            let problem = if expected.denied {
                Some(MismatchKind::Denied)
            } else {
                match &documented {
                    None => Some(MismatchKind::Undocumented),
                    Some(d) if !same_security(d, &expected.security) => Some(MismatchKind::Differs),
                    Some(_) => None,
                }
            };
            if let Some(kind) = problem {
                out.push(SecurityMismatch {
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    kind,
                    documented,
                    enforced: Value::Array(expected.security),
                });
            }
        }
        out
    }
}

/// Every operation of `doc`: its path template, method and operation object, in document
/// order.
fn operations(doc: &Value) -> impl Iterator<Item = (&String, &'static str, &Value)> {
    doc.get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter_map(move |m| item.get(*m).map(|op| (path, *m, op)))
        })
}

struct Expected {
    security: Vec<Value>,
    denied: bool,
}

impl Expected {
    fn denied(security: &OpenApiSecurity) -> Self {
        Self {
            security: security.requirement(&[]),
            denied: true,
        }
    }
}

fn collect_scopes(requirement: &Value, into: &mut BTreeSet<String>) {
    if let Some(obj) = requirement.as_object() {
        for scopes in obj.values().filter_map(Value::as_array) {
            into.extend(scopes.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    }
}

/// One alternative of a `security` list: `(scheme, sorted scopes)`, sorted by scheme.
type Alternative = Vec<(String, Vec<String>)>;

/// Two `security` lists require the same thing: the same alternatives, each with the same
/// schemes and the same scope sets, in any order.
fn same_security(documented: &Value, enforced: &[Value]) -> bool {
    let Some(documented) = documented.as_array() else {
        return false;
    };
    let normal = |list: &[Value]| -> Option<BTreeSet<Alternative>> {
        list.iter()
            .map(|alt| {
                let obj = alt.as_object()?;
                let mut schemes: Vec<(String, Vec<String>)> = obj
                    .iter()
                    .map(|(scheme, scopes)| {
                        let mut scopes: Vec<String> = scopes
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default();
                        scopes.sort();
                        scopes.dedup();
                        (scheme.clone(), scopes)
                    })
                    .collect();
                schemes.sort();
                Some(schemes)
            })
            .collect()
    };
    match (normal(documented), normal(enforced)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// How an operation's documented security is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MismatchKind {
    /// The document says nothing about the operation's security.
    Undocumented,
    /// The document requires something else than the table enforces.
    Differs,
    /// The table refuses the operation to everyone (denied, or not in a fail-closed table):
    /// it is documented but cannot be called.
    Denied,
}

/// One operation whose documented security is not what the table enforces.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityMismatch {
    /// The method, upper-case.
    pub method: String,
    /// The path template as documented.
    pub path: String,
    /// What is wrong.
    pub kind: MismatchKind,
    /// The documented `security`, if any.
    pub documented: Option<Value>,
    /// What the table enforces, as `security`.
    pub enforced: Value,
}

impl fmt::Display for SecurityMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            MismatchKind::Undocumented => "documents no security",
            MismatchKind::Differs => "documents other security",
            MismatchKind::Denied => "is refused to everyone by the route table",
        };
        write!(
            f,
            "{} {} {what}: documented {}, enforced {}",
            self.method,
            self.path,
            self.documented
                .as_ref()
                .map_or_else(|| "nothing".to_owned(), Value::to_string),
            self.enforced
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::builder()
            .route("GET /agents", ["agents:read"])
            .route("POST /agents/{agent_id}/runs", ["agents:{agent_id}:run"])
            .authenticated("GET /me")
            .optional("GET /feed")
            .exclude("GET /health")
            .deny("DELETE /agents/{agent_id}")
            .build()
            .unwrap()
    }

    fn doc() -> Value {
        let op = || json!({"responses": {"200": {"description": "ok"}}});
        json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/agents": {"get": op()},
                "/agents/{id}/runs": {"post": op()},
                "/agents/{id}": {"delete": op()},
                "/me": {"get": op(), "put": op()},
                "/feed": {"get": op()},
                "/health": {"get": op()}
            }
        })
    }

    #[test]
    fn apply_writes_what_the_table_enforces() {
        let mut d = doc();
        let s = OpenApiSecurity::bearer().cookie("access_token");
        s.apply(&table(), &mut d);
        let sec = |p: &str, m: &str| d["paths"][p][m]["security"].clone();
        assert_eq!(
            sec("/agents", "get"),
            json!([{"bearerAuth": ["agents:read"]}, {"cookieAuth": ["agents:read"]}])
        );
        assert_eq!(
            sec("/agents/{id}/runs", "post"),
            json!([{"bearerAuth": ["agents:{id}:run"]}, {"cookieAuth": ["agents:{id}:run"]}])
        );
        assert_eq!(
            sec("/me", "get"),
            json!([{"bearerAuth": []}, {"cookieAuth": []}])
        );
        assert_eq!(
            sec("/feed", "get"),
            json!([{}, {"bearerAuth": []}, {"cookieAuth": []}])
        );
        assert_eq!(sec("/health", "get"), json!([]));
        // Denied, and not in the (fail-closed) table: marked.
        assert_eq!(
            d["paths"]["/agents/{id}"]["delete"][DENIED_EXTENSION],
            "denied"
        );
        assert_eq!(d["paths"]["/me"]["put"][DENIED_EXTENSION], "denied");
        assert_eq!(
            d["components"]["securitySchemes"]["cookieAuth"],
            json!({"type": "apiKey", "in": "cookie", "name": "access_token"})
        );
        let left: Vec<_> = s
            .check(&table(), &d)
            .into_iter()
            .map(|m| (m.method, m.path, m.kind))
            .collect();
        assert_eq!(
            left,
            [
                (
                    "DELETE".to_owned(),
                    "/agents/{id}".to_owned(),
                    MismatchKind::Denied
                ),
                ("PUT".to_owned(), "/me".to_owned(), MismatchKind::Denied),
            ]
        );
    }

    #[test]
    fn check_flags_undocumented_and_wrong_security() {
        let t = table();
        let s = OpenApiSecurity::bearer();
        let mut d = doc();
        s.apply(&t, &mut d);
        d["paths"]["/agents"]["get"]["security"] = json!([{"bearerAuth": ["agents:write"]}]);
        d["paths"]["/feed"]["get"]
            .as_object_mut()
            .unwrap()
            .remove("security");
        let found = s.check(&t, &d);
        let kind = |p: &str| found.iter().find(|m| m.path == p).map(|m| m.kind);
        assert_eq!(kind("/agents"), Some(MismatchKind::Differs));
        assert_eq!(kind("/feed"), Some(MismatchKind::Undocumented));
        assert!(found[0].to_string().contains("enforced"));
        // A document-wide requirement counts for operations without their own.
        d["security"] = json!([{}, {"bearerAuth": []}]);
        assert_eq!(
            s.check(&t, &d).iter().filter(|m| m.path == "/feed").count(),
            0
        );
    }

    #[test]
    fn oauth2_lists_every_required_scope() {
        let mut d = doc();
        OpenApiSecurity::bearer()
            .oauth2_client_credentials("https://idp.example/token")
            .apply(&table(), &mut d);
        let flows = &d["components"]["securitySchemes"]["oauth2"]["flows"];
        assert_eq!(
            flows["clientCredentials"]["tokenUrl"],
            "https://idp.example/token"
        );
        let scopes: Vec<&String> = flows["clientCredentials"]["scopes"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(scopes, ["agents:read", "agents:{id}:run"]);
        assert_eq!(
            d["paths"]["/agents"]["get"]["security"],
            json!([{"bearerAuth": ["agents:read"]}, {"oauth2": ["agents:read"]}])
        );
    }

    #[test]
    fn odd_documents_do_not_panic() {
        let s = OpenApiSecurity::bearer();
        for mut d in [
            json!(null),
            json!([]),
            json!({"paths": 3}),
            json!({"paths": {"/x": 1}}),
            json!({"components": 1, "paths": {"x y": {"get": {}}}}),
        ] {
            s.apply(&table(), &mut d);
            let _ = s.check(&table(), &d);
        }
    }
}
