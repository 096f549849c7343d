//! aide (feature `aide`): the table's security on aide's document, in aide's own types.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{
    DENIED_EXTENSION, MismatchKind, OAuthFlow, OpenApiSecurity, SecurityMismatch, same_security,
};
use crate::authz::routes::RouteTable;

/// aide (feature `aide`): [`OpenApiSecurity::apply`] and [`OpenApiSecurity::check`] on aide's
/// document, in aide's own types, and a transform for `ApiRouter::finish_api_with`.
///
/// aide cannot write an operation's `security: []` (it leaves an empty list out), so an
/// operation the table excludes documents no requirement at all:
/// [`OpenApiSecurity::apply_to_aide`] then removes the document-wide `security` that it would
/// otherwise inherit, and [`OpenApiSecurity::check_aide`] reads an operation without any
/// requirement as `[]`. Everything is written in aide's types: a JSON round trip would lose
/// that `[]` and write an OAuth2 flow's missing `refreshUrl` as `null`.
///
/// ```
/// # #[cfg(feature = "aide")] {
/// use jwt_core::RouteTable;
/// use jwt_core::openapi::OpenApiSecurity;
///
/// let table = RouteTable::builder()
///     .route("GET /agents/{agent_id}", ["agents:{agent_id}:read"])
///     .exclude("GET /health")
///     .build()
///     .unwrap();
/// let mut api = aide::openapi::OpenApi::default();
/// let mut paths = aide::openapi::Paths::default();
/// for path in ["/agents/{id}", "/health"] {
///     let item = aide::openapi::PathItem {
///         get: Some(Default::default()),
///         ..Default::default()
///     };
///     paths.paths.insert(path.to_owned(), aide::openapi::ReferenceOr::Item(item));
/// }
/// api.paths = Some(paths);
/// let security = OpenApiSecurity::bearer();
/// assert_eq!(security.check_aide(&table, &api).len(), 1, "GET /agents/{{id}} is undocumented");
/// security.apply_to_aide(&table, &mut api);
/// assert!(security.check_aide(&table, &api).is_empty());
/// let json = serde_json::to_value(&api).unwrap();
/// assert_eq!(
///     json["paths"]["/agents/{id}"]["get"]["security"],
///     serde_json::json!([{"bearerAuth": ["agents:{id}:read"]}])
/// );
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "aide")))]
impl OpenApiSecurity {
    /// [`Self::apply`] on an aide document, written in aide's own types: the schemes into
    /// `components.securitySchemes`, each operation's `security`, `"x-jwt-access": "denied"` on
    /// the operations the table refuses to everyone. When the table excludes an operation
    /// (no authentication), whose `[]` aide cannot write, the document-wide `security` is
    /// removed, so that the operation documents no requirement instead of inheriting it.
    ///
    /// The OAuth2 flow also gets `refreshUrl`, the token URL (where RFC 6749 §6 refreshes
    /// tokens): aide writes a flow without one as `"refreshUrl": null`, which OpenAPI refuses.
    pub fn apply_to_aide(&self, table: &RouteTable, doc: &mut aide::openapi::OpenApi) {
        use aide::openapi::{ApiKeyLocation, ReferenceOr, SecurityScheme};
        let mut used = BTreeSet::new();
        let mut excluded = false;
        for (path, item) in doc.paths.iter_mut().flat_map(|p| p.paths.iter_mut()) {
            let ReferenceOr::Item(item) = item else {
                continue;
            };
            for (method, op) in aide_operations_mut(item) {
                let expected = self.expected(table, method, path);
                excluded |= expected.security.is_empty();
                op.security = aide_requirements(&expected.security);
                for requirement in &op.security {
                    used.extend(requirement.values().flatten().cloned());
                }
                if expected.denied {
                    op.extensions
                        .insert(DENIED_EXTENSION.to_owned(), json!("denied"));
                } else {
                    op.extensions.shift_remove(DENIED_EXTENSION);
                }
            }
        }
        if excluded {
            doc.security.clear();
        }
        let schemes = &mut doc
            .components
            .get_or_insert_with(Default::default)
            .security_schemes;
        schemes.insert(
            self.bearer.clone(),
            ReferenceOr::Item(SecurityScheme::Http {
                scheme: "bearer".to_owned(),
                bearer_format: Some("JWT".to_owned()),
                description: None,
                extensions: Default::default(),
            }),
        );
        if let Some((name, cookie)) = &self.cookie {
            schemes.insert(
                name.clone(),
                ReferenceOr::Item(SecurityScheme::ApiKey {
                    location: ApiKeyLocation::Cookie,
                    name: cookie.clone(),
                    description: None,
                    extensions: Default::default(),
                }),
            );
        }
        if let Some((name, flow)) = &self.oauth2 {
            schemes.insert(
                name.clone(),
                ReferenceOr::Item(SecurityScheme::OAuth2 {
                    flows: aide_flows(flow, &used),
                    description: None,
                    extensions: Default::default(),
                }),
            );
        }
    }

    /// [`Self::check`] on an aide document. An operation without any requirement (neither
    /// its own nor the document's) is fine where the table requires none (an excluded
    /// route: aide cannot write `[]`), and undocumented anywhere else.
    pub fn check_aide(
        &self,
        table: &RouteTable,
        doc: &aide::openapi::OpenApi,
    ) -> Vec<SecurityMismatch> {
        let global = (!doc.security.is_empty()).then_some(&doc.security);
        let mut out = Vec::new();
        for (path, method, op) in doc.operations() {
            let expected = self.expected(table, method, path);
            let documented = (!op.security.is_empty())
                .then_some(&op.security)
                .or(global)
                .map(|d| aide_requirements_json(d));
            let problem = if expected.denied {
                Some(MismatchKind::Denied)
            } else {
                match &documented {
                    None if expected.security.is_empty() => None,
                    None => Some(MismatchKind::Undocumented),
                    Some(d) if !same_security(d, &expected.security) => Some(MismatchKind::Differs),
                    Some(_) => None,
                }
            };
            if let Some(kind) = problem {
                out.push(SecurityMismatch {
                    method: method.to_ascii_uppercase(),
                    path: path.to_owned(),
                    kind,
                    documented,
                    enforced: Value::Array(expected.security),
                });
            }
        }
        out
    }

    /// A transform for aide's `ApiRouter::finish_api_with` (or `TransformOpenApi`) that
    /// applies this security for `table` once the router's operations are in the document.
    pub fn aide_transform<'a>(
        &'a self,
        table: &'a RouteTable,
    ) -> impl for<'t> FnOnce(
        aide::transform::TransformOpenApi<'t>,
    ) -> aide::transform::TransformOpenApi<'t>
    + 'a {
        move |mut api| {
            self.apply_to_aide(table, api.inner_mut());
            api
        }
    }
}

/// The OAuth2 flow in aide's types, its scopes the ones the document uses. aide writes a missing
/// `refreshUrl` as `null`, which OpenAPI refuses (it is a URL); tokens are refreshed at the token
/// endpoint (RFC 6749 §6), so that is it.
fn aide_flows(flow: &OAuthFlow, used: &BTreeSet<String>) -> aide::openapi::OAuth2Flows {
    use aide::openapi::{OAuth2Flow, OAuth2Flows};
    let scopes = used.iter().map(|s| (s.clone(), String::new())).collect();
    match flow {
        OAuthFlow::AuthorizationCode {
            authorization_url,
            token_url,
        } => OAuth2Flows {
            authorization_code: Some(OAuth2Flow::AuthorizationCode {
                authorization_url: authorization_url.clone(),
                token_url: token_url.clone(),
                refresh_url: Some(token_url.clone()),
                scopes,
            }),
            ..Default::default()
        },
        OAuthFlow::ClientCredentials { token_url } => OAuth2Flows {
            client_credentials: Some(OAuth2Flow::ClientCredentials {
                refresh_url: Some(token_url.clone()),
                token_url: token_url.clone(),
                scopes,
            }),
            ..Default::default()
        },
    }
}

/// The operations of an aide path item with their lower-case methods.
fn aide_operations_mut(
    item: &mut aide::openapi::PathItem,
) -> impl Iterator<Item = (&'static str, &mut aide::openapi::Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
}

/// A `security` list of [`OpenApiSecurity::expected`] in aide's types.
fn aide_requirements(security: &[Value]) -> Vec<aide::openapi::SecurityRequirement> {
    security
        .iter()
        .map(|alternative| {
            alternative
                .as_object()
                .into_iter()
                .flatten()
                .map(|(scheme, scopes)| {
                    let scopes = scopes
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect();
                    (scheme.clone(), scopes)
                })
                .collect()
        })
        .collect()
}

/// An aide `security` list as JSON.
fn aide_requirements_json(security: &[aide::openapi::SecurityRequirement]) -> Value {
    Value::Array(
        security
            .iter()
            .map(|requirement| {
                Value::Object(
                    requirement
                        .iter()
                        .map(|(scheme, scopes)| (scheme.clone(), json!(scopes)))
                        .collect(),
                )
            })
            .collect(),
    )
}
