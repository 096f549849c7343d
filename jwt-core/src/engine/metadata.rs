//! RFC 9728 protected resource metadata: what an OAuth client (an MCP client, an agent) needs to
//! find the authorization server of this API, served by every adapter at
//! `/.well-known/oauth-protected-resource` (with the resource's path appended when it has one)
//! and pointed at from every `WWW-Authenticate` challenge (`resource_metadata="..."`).

use serde::Serialize;

use crate::error::ConfigError;

/// The well-known path prefix of RFC 9728 §3.
pub(crate) const WELL_KNOWN_PREFIX: &str = "/.well-known/oauth-protected-resource";

/// This API as an OAuth protected resource (RFC 9728 §2).
///
/// ```
/// use jwt_core::ProtectedResourceMetadata;
/// let m = ProtectedResourceMetadata::new("https://api.example.com/mcp")
///     .authorization_server("https://idp.example.com")
///     .resource_name("Agents API");
/// assert_eq!(m.well_known_path(), "/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(
///     m.metadata_url(),
///     "https://api.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// assert!(m.check().is_ok());
/// assert!(ProtectedResourceMetadata::new("api.example.com").check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[must_use = "a builder does nothing until it is used: keep the value each setter returns"]
pub struct ProtectedResourceMetadata {
    resource: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    /// `None` until set or filled from the route table.
    #[serde(skip_serializing_if = "no_scopes")]
    scopes_supported: Option<Vec<String>>,
    bearer_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
    /// Filled from the DPoP settings (RFC 9728 §2): the proof algorithms accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_signing_alg_values_supported: Option<Vec<&'static str>>,
    /// Filled from the DPoP settings: `true` when only DPoP-bound tokens are accepted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dpop_bound_access_tokens_required: bool,
    /// Filled from the mutual TLS settings (RFC 9728 §2, RFC 8705): certificate-bound tokens
    /// are supported.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_client_certificate_bound_access_tokens: bool,
}

fn no_scopes(scopes: &Option<Vec<String>>) -> bool {
    scopes.as_ref().is_none_or(Vec::is_empty)
}

impl ProtectedResourceMetadata {
    /// The resource identifier: the URL clients call (`https` in production; no query or
    /// fragment). It is also what tokens for this API carry as their audience (RFC 8707):
    /// [`crate::JwtAuthBuilder::protected_resource`] accepts it as one.
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes_supported: None,
            bearer_methods_supported: vec!["header"],
            resource_name: None,
            resource_documentation: None,
            dpop_signing_alg_values_supported: None,
            dpop_bound_access_tokens_required: false,
            tls_client_certificate_bound_access_tokens: false,
        }
    }

    /// Adds an authorization server (its issuer identifier) that issues tokens for this API.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// The scopes to advertise; by default those of the route table (templated per-resource
    /// scopes as their wildcard form, `agents:*:run`).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// A human-readable name.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// A page of documentation for developers.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// `scheme://authority` and the path of the resource identifier.
    fn split(&self) -> Option<(&str, &str)> {
        let (scheme, rest) = self.resource.split_once("://")?;
        if !matches!(scheme, "https" | "http") || rest.is_empty() {
            return None;
        }
        let at = rest.find('/').unwrap_or(rest.len());
        let origin_len = scheme.len() + 3 + at;
        Some((&self.resource[..origin_len], &rest[at..]))
    }

    /// Where the document is served: the well-known prefix, then the resource's path unless
    /// it is empty or `/` (RFC 9728 §3.1).
    pub fn well_known_path(&self) -> String {
        match self.split() {
            Some((_, path)) if !path.is_empty() && path != "/" => {
                format!("{WELL_KNOWN_PREFIX}{}", path.trim_end_matches('/'))
            }
            _ => WELL_KNOWN_PREFIX.to_owned(),
        }
    }

    /// The document's absolute URL, as the challenges give it.
    pub fn metadata_url(&self) -> String {
        let origin = self.split().map_or("", |(origin, _)| origin);
        format!("{origin}{}", self.well_known_path())
    }

    /// Refuses a resource that is not an absolute `http(s)` URL without query or fragment.
    ///
    /// # Errors
    /// [`ConfigError::InvalidProtectedResource`].
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |why: &'static str| {
            Err(ConfigError::InvalidProtectedResource {
                resource: self.resource.clone(),
                why,
            })
        };
        if self.split().is_none() {
            return bad("not an absolute http(s) URL");
        }
        if self.resource.contains(['?', '#']) {
            return bad("a resource identifier has no query or fragment (RFC 9728 §1.2)");
        }
        if self
            .resource
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\')
        {
            return bad("contains whitespace, '\"' or '\\'");
        }
        Ok(())
    }

    /// Fills the scopes from the route table unless they were set.
    pub(crate) fn with_default_scopes(mut self, scopes: Vec<String>) -> Self {
        self.scopes_supported.get_or_insert(scopes);
        self
    }

    /// Advertises DPoP (RFC 9728 §2): the proof algorithms and whether DPoP is required.
    pub(crate) fn with_dpop(mut self, algs: Vec<&'static str>, required: bool) -> Self {
        self.dpop_signing_alg_values_supported = Some(algs);
        self.dpop_bound_access_tokens_required = required;
        self
    }

    /// Advertises certificate-bound tokens (RFC 8705).
    pub(crate) fn with_mtls(mut self) -> Self {
        self.tls_client_certificate_bound_access_tokens = true;
        self
    }

    /// The document. `bearer_methods_supported` is `["header"]`: a cookie is not an RFC 6750
    /// method, and tokens in the query or the body are never accepted.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// The served document: its path and its JSON, rendered once.
#[derive(Debug, Clone)]
pub(crate) struct ServedMetadata {
    pub(crate) path: String,
    pub(crate) url: String,
    pub(crate) json: std::sync::Arc<str>,
}

impl ServedMetadata {
    pub(crate) fn new(meta: &ProtectedResourceMetadata) -> Self {
        Self {
            path: meta.well_known_path(),
            url: meta.metadata_url(),
            json: meta.to_json().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() {
        let root = ProtectedResourceMetadata::new("https://api.example.com");
        assert_eq!(root.well_known_path(), WELL_KNOWN_PREFIX);
        assert_eq!(
            root.metadata_url(),
            "https://api.example.com/.well-known/oauth-protected-resource"
        );
        let slash = ProtectedResourceMetadata::new("http://127.0.0.1:8080/");
        assert_eq!(slash.well_known_path(), WELL_KNOWN_PREFIX);
        let deep = ProtectedResourceMetadata::new("https://h/a/b/");
        assert_eq!(
            deep.well_known_path(),
            "/.well-known/oauth-protected-resource/a/b"
        );
        for bad in [
            "",
            "h/a",
            "ftp://h",
            "https://",
            "https://h?x=1",
            "https://h#f",
            "https://h a",
        ] {
            assert!(
                ProtectedResourceMetadata::new(bad).check().is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn json_shape() {
        let m = ProtectedResourceMetadata::new("https://api.example.com")
            .authorization_server("https://idp.example.com")
            .with_default_scopes(vec!["agents:read".into()]);
        let v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "resource": "https://api.example.com",
                "authorization_servers": ["https://idp.example.com"],
                "scopes_supported": ["agents:read"],
                "bearer_methods_supported": ["header"]
            })
        );
        let set = ProtectedResourceMetadata::new("https://a")
            .scopes_supported(["x"])
            .with_default_scopes(vec!["y".into()]);
        assert!(set.to_json().contains("\"x\"") && !set.to_json().contains("\"y\""));
    }
}
