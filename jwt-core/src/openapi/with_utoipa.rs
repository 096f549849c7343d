//! utoipa (feature `utoipa`): the table's security on utoipa's document.

use super::{OAuthFlow, OpenApiSecurity, SecurityMismatch};
use crate::authz::routes::RouteTable;

/// utoipa (feature `utoipa`): [`OpenApiSecurity::apply`] and [`OpenApiSecurity::check`] on
/// utoipa's document, and a `utoipa::Modify`.
///
/// ```
/// # #[cfg(feature = "utoipa")] {
/// use jwt_core::RouteTable;
/// use jwt_core::openapi::OpenApiSecurity;
/// use utoipa::Modify as _;
///
/// let table = RouteTable::builder().route("GET /agents", ["agents:read"]).build().unwrap();
/// let mut doc = utoipa::openapi::OpenApiBuilder::new()
///     .paths(
///         utoipa::openapi::PathsBuilder::new().path(
///             "/agents",
///             utoipa::openapi::PathItem::new(
///                 utoipa::openapi::HttpMethod::Get,
///                 utoipa::openapi::path::OperationBuilder::new(),
///             ),
///         ),
///     )
///     .build();
/// let security = OpenApiSecurity::bearer();
/// security.modifier(&table).modify(&mut doc);
/// assert!(security.check_utoipa(&table, &doc).unwrap().is_empty());
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "utoipa")))]
impl OpenApiSecurity {
    /// [`Self::apply`] on a utoipa document (through its JSON form).
    ///
    /// # Errors
    /// The `serde_json` error if the document does not survive the round trip.
    pub fn apply_to_utoipa(
        &self,
        table: &RouteTable,
        doc: &mut utoipa::openapi::OpenApi,
    ) -> Result<(), serde_json::Error> {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, AuthorizationCode, ClientCredentials, Flow, HttpAuthScheme,
            HttpBuilder, OAuth2, Scopes, SecurityScheme,
        };
        let mut value = serde_json::to_value(&*doc)?;
        self.apply(table, &mut value);
        let used = Self::scopes_used(&value);
        *doc = serde_json::from_value(value)?;
        // The schemes in utoipa's own types: its JSON form of OAuth2 flows does not read back.
        let schemes = &mut doc
            .components
            .get_or_insert_with(Default::default)
            .security_schemes;
        schemes.insert(
            self.bearer.clone(),
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        if let Some((name, cookie)) = &self.cookie {
            let key = ApiKey::Cookie(ApiKeyValue::new(cookie.clone()));
            schemes.insert(name.clone(), SecurityScheme::ApiKey(key));
        }
        if let Some((name, flow)) = &self.oauth2 {
            let scopes = || Scopes::from_iter(used.iter().map(|s| (s.clone(), String::new())));
            let flow = match flow {
                OAuthFlow::AuthorizationCode {
                    authorization_url,
                    token_url,
                } => Flow::AuthorizationCode(AuthorizationCode::new(
                    authorization_url.clone(),
                    token_url.clone(),
                    scopes(),
                )),
                OAuthFlow::ClientCredentials { token_url } => {
                    Flow::ClientCredentials(ClientCredentials::new(token_url.clone(), scopes()))
                }
            };
            schemes.insert(name.clone(), SecurityScheme::OAuth2(OAuth2::new([flow])));
        }
        Ok(())
    }

    /// [`Self::check`] on a utoipa document.
    ///
    /// # Errors
    /// The `serde_json` error if the document cannot be read as JSON.
    pub fn check_utoipa(
        &self,
        table: &RouteTable,
        doc: &utoipa::openapi::OpenApi,
    ) -> Result<Vec<SecurityMismatch>, serde_json::Error> {
        Ok(self.check(table, &serde_json::to_value(doc)?))
    }

    /// A `utoipa::Modify` applying this security for `table`.
    pub fn modifier<'a>(&'a self, table: &'a RouteTable) -> UtoipaModifier<'a> {
        UtoipaModifier {
            security: self,
            table,
        }
    }
}

/// The `utoipa::Modify` of [`OpenApiSecurity::modifier`].
#[cfg_attr(docsrs, doc(cfg(feature = "utoipa")))]
#[derive(Debug, Clone, Copy)]
pub struct UtoipaModifier<'a> {
    security: &'a OpenApiSecurity,
    table: &'a RouteTable,
}

impl utoipa::Modify for UtoipaModifier<'_> {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Err(e) = self.security.apply_to_utoipa(self.table, openapi) {
            tracing::warn!(error = %e, "OpenAPI security not applied: the document did not survive its JSON round trip");
        }
    }
}
