//! Identity-provider recipes: [`StandardClaims`] set up for the access tokens Keycloak, Auth0,
//! Microsoft Entra ID, Okta, Google and Amazon Cognito issue. Each reads the claims where that
//! provider puts scopes, and its roles or groups under a prefix ([`ROLE_PREFIX`],
//! [`CLIENT_ROLE_PREFIX`], [`GROUP_PREFIX`]) so that a role can never be mistaken for a scope of
//! the same name. Every recipe takes the user id from `sub` and the session id from `sid` (the
//! OpenID Connect session id, when the provider sends one); change either with
//! [`StandardClaims::user_id_claim`] / [`StandardClaims::session_id_claim`], and add sources with
//! [`StandardClaims::scopes_from`].
//!
//! Plain scopes such as `orders.read` or `Files.Read` are exact permissions in the scope grammar
//! (see [`crate::Scope`]): a route requiring `orders.read` is satisfied by exactly that scope.

use crate::token::claim_path::ClaimPath;
use crate::token::claims::{ClaimSource, StandardClaims};

pub use crate::token::claims::{CLIENT_ROLE_PREFIX, GROUP_PREFIX, ROLE_PREFIX};

fn key(name: &str) -> ClaimSource {
    ClaimSource::key(name)
}

/// A nested claim from literal member names (never parsed, so names may hold `.` or `/`).
fn nested(segments: Vec<String>, prefix: &'static str) -> ClaimSource {
    ClaimSource::prefixed(ClaimPath::from_literal(segments), prefix)
}

fn recipe(sources: Vec<ClaimSource>) -> StandardClaims {
    StandardClaims::default()
        .session_id_claim("sid")
        .scope_sources(sources)
}

impl StandardClaims {
    /// Keycloak access tokens: `scope`, the realm roles (`realm_access.roles`, as
    /// `role::<name>`) and the roles of the client `client_id` (`resource_access.<client_id>.roles`,
    /// as `client-role::<name>`); other clients' roles are ignored. The client id is used
    /// verbatim, dots included.
    ///
    /// Keycloak puts the API in `aud` once an audience mapper (or client scope) names it; then
    /// configure [`crate::JwtAuthBuilder::audience`] with that client id and the issuer
    /// `https://<host>/realms/<realm>` (or [`crate::JwtAuthBuilder::issuer`] through
    /// `RemoteJwks::discover`).
    ///
    /// ```
    /// use jwt_core::{ClaimsConfig, StandardClaims};
    /// // A Keycloak access token's claims (abridged).
    /// let token = serde_json::json!({
    ///     "iss": "https://sso.example.com/realms/shop",
    ///     "aud": ["shop-api", "account"],
    ///     "sub": "4c9e3f7a-1d2b-4e5f-8a9b-0c1d2e3f4a5b",
    ///     "typ": "Bearer",
    ///     "azp": "shop-web",
    ///     "sid": "9b5b3b2e-6f1c-4a5d-9e8f-7a6b5c4d3e2f",
    ///     "scope": "openid profile email orders.read",
    ///     "realm_access": {"roles": ["default-roles-shop", "offline_access", "admin"]},
    ///     "resource_access": {
    ///         "shop-api": {"roles": ["orders-writer"]},
    ///         "account": {"roles": ["manage-account", "view-profile"]}
    ///     },
    ///     "preferred_username": "alice"
    /// });
    /// let id = StandardClaims::keycloak("shop-api").identity(token.as_object().unwrap())?;
    /// assert_eq!(id.scopes, [
    ///     "openid", "profile", "email", "orders.read",
    ///     "role::default-roles-shop", "role::offline_access", "role::admin",
    ///     "client-role::orders-writer",
    /// ]);
    /// assert_eq!(id.session_id.as_deref(), Some("9b5b3b2e-6f1c-4a5d-9e8f-7a6b5c4d3e2f"));
    /// # Ok::<(), jwt_core::InvalidToken>(())
    /// ```
    pub fn keycloak(client_id: impl Into<String>) -> Self {
        recipe(vec![
            key("scope"),
            nested(vec!["realm_access".into(), "roles".into()], ROLE_PREFIX),
            nested(
                vec!["resource_access".into(), client_id.into(), "roles".into()],
                CLIENT_ROLE_PREFIX,
            ),
        ])
    }

    /// Auth0 access tokens: `scope` and, with RBAC's "Add Permissions in the Access Token" on,
    /// `permissions`. Both hold the API's permissions under the same names (`read:orders`), so
    /// neither is prefixed. Roles are not in Auth0 tokens unless an Action adds a namespaced
    /// claim; read one with
    /// `.scopes_from(ClaimSource::key("https://shop.example/roles").prefix("role::")?)`.
    ///
    /// ```
    /// use jwt_core::{ClaimsConfig, StandardClaims};
    /// let token = serde_json::json!({
    ///     "iss": "https://shop.eu.auth0.com/",
    ///     "sub": "auth0|64f0c0ffee1234567890abcd",
    ///     "aud": ["https://api.shop.example", "https://shop.eu.auth0.com/userinfo"],
    ///     "azp": "Xk1yMjM0NTY3ODkwYWJjZGVm",
    ///     "scope": "openid profile read:orders",
    ///     "permissions": ["read:orders", "delete:orders"]
    /// });
    /// let id = StandardClaims::auth0().identity(token.as_object().unwrap())?;
    /// assert_eq!(id.scopes, ["openid", "profile", "read:orders", "delete:orders"]);
    /// # Ok::<(), jwt_core::InvalidToken>(())
    /// ```
    pub fn auth0() -> Self {
        recipe(vec![key("scope"), key("permissions")])
    }

    /// Microsoft Entra ID (v2.0) access tokens for your API: `scp`, the delegated scopes as one
    /// space-delimited string (`Orders.Read`, the short names without the `api://<app-id>/`
    /// prefix), and `roles`, the app roles (user or application), as `role::<value>`. An
    /// app-only token has `roles` and no `scp`.
    ///
    /// The audience is the API's application (client) id, the issuer
    /// `https://login.microsoftonline.com/<tenant-id>/v2.0`. `sub` is pairwise (per
    /// application); for a user id shared across applications use `.user_id_claim("oid")`.
    ///
    /// ```
    /// use jwt_core::{ClaimsConfig, StandardClaims};
    /// let token = serde_json::json!({
    ///     "aud": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
    ///     "iss": "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
    ///     "azp": "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
    ///     "name": "Alice",
    ///     "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
    ///     "preferred_username": "alice@contoso.com",
    ///     "roles": ["Orders.Admin"],
    ///     "scp": "Orders.Read User.Read",
    ///     "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
    ///     "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    ///     "ver": "2.0"
    /// });
    /// let id = StandardClaims::entra_id().identity(token.as_object().unwrap())?;
    /// assert_eq!(id.scopes, ["Orders.Read", "User.Read", "role::Orders.Admin"]);
    /// # Ok::<(), jwt_core::InvalidToken>(())
    /// ```
    pub fn entra_id() -> Self {
        recipe(vec![
            key("scp"),
            ClaimSource::prefixed(ClaimPath::key("roles"), ROLE_PREFIX),
        ])
    }

    /// Okta access tokens (an authorization server such as `default`): `scp`, a JSON array, and
    /// `groups` as `group::<name>` when the authorization server has a groups claim (absent
    /// otherwise, which adds nothing).
    ///
    /// ```
    /// use jwt_core::{ClaimsConfig, StandardClaims};
    /// let token = serde_json::json!({
    ///     "ver": 1,
    ///     "jti": "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE",
    ///     "iss": "https://dev-123456.okta.com/oauth2/default",
    ///     "aud": "api://default",
    ///     "cid": "0oa1b2c3d4e5f6g7h8i9",
    ///     "uid": "00u1a2b3c4d5e6f7g8h9",
    ///     "scp": ["openid", "orders.read"],
    ///     "sub": "alice@example.com",
    ///     "groups": ["Everyone", "Admins"]
    /// });
    /// let id = StandardClaims::okta().identity(token.as_object().unwrap())?;
    /// assert_eq!(id.scopes, ["openid", "orders.read", "group::Everyone", "group::Admins"]);
    /// # Ok::<(), jwt_core::InvalidToken>(())
    /// ```
    pub fn okta() -> Self {
        recipe(vec![
            key("scp"),
            ClaimSource::prefixed(ClaimPath::key("groups"), GROUP_PREFIX),
        ])
    }

    /// Google: the `scope` claim, a space-delimited list of URL-shaped scopes
    /// (`https://www.googleapis.com/auth/devstorage.read_only`), as in the JWTs a service account
    /// signs for an API ("self-signed JWT" with `scope`). URL-shaped scopes are exact
    /// permissions. Google's own OAuth access tokens are opaque (not JWTs); Google ID tokens carry
    /// no scopes.
    ///
    /// ```
    /// use jwt_core::{ClaimsConfig, StandardClaims};
    /// let token = serde_json::json!({
    ///     "iss": "reports@shop-prod.iam.gserviceaccount.com",
    ///     "sub": "reports@shop-prod.iam.gserviceaccount.com",
    ///     "scope": "https://www.googleapis.com/auth/devstorage.read_only https://www.googleapis.com/auth/cloud-platform"
    /// });
    /// let id = StandardClaims::google().identity(token.as_object().unwrap())?;
    /// assert_eq!(id.scopes, [
    ///     "https://www.googleapis.com/auth/devstorage.read_only",
    ///     "https://www.googleapis.com/auth/cloud-platform",
    /// ]);
    /// # Ok::<(), jwt_core::InvalidToken>(())
    /// ```
    pub fn google() -> Self {
        recipe(vec![key("scope")])
    }

    /// Amazon Cognito user-pool access tokens: `scope` (resource-server scopes are
    /// `<identifier>/<name>`, such as `orders/read` or `https://api.example.com/orders.read`) and
    /// `cognito:groups` as `group::<name>`.
    ///
    /// Cognito access tokens have no `aud` (they carry `client_id` and `token_use: "access"`):
    /// configure no audience, pin the issuer
    /// `https://cognito-idp.<region>.amazonaws.com/<user-pool-id>`.
    ///
    /// ```
    /// use jwt_core::{ClaimsConfig, StandardClaims};
    /// let token = serde_json::json!({
    ///     "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    ///     "cognito:groups": ["admins"],
    ///     "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
    ///     "version": 2,
    ///     "client_id": "1example23456789",
    ///     "token_use": "access",
    ///     "scope": "orders/read aws.cognito.signin.user.admin",
    ///     "username": "alice"
    /// });
    /// let id = StandardClaims::cognito().identity(token.as_object().unwrap())?;
    /// assert_eq!(id.scopes, ["orders/read", "aws.cognito.signin.user.admin", "group::admins"]);
    /// # Ok::<(), jwt_core::InvalidToken>(())
    /// ```
    pub fn cognito() -> Self {
        recipe(vec![
            key("scope"),
            ClaimSource::prefixed(ClaimPath::key("cognito:groups"), GROUP_PREFIX),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::scope::{ScopeRules, ScopeSet};
    use crate::token::claims::{ClaimsConfig, Identity};
    use serde_json::{Value, json};

    fn id(cfg: &StandardClaims, v: Value) -> Identity {
        cfg.identity(v.as_object().unwrap()).unwrap()
    }

    fn can(identity: &Identity, scope: &str) -> bool {
        ScopeSet::parse(&identity.scopes, &ScopeRules::hierarchical()).can(scope)
    }

    #[test]
    fn prefixes_are_valid_and_keep_values_exact() {
        for prefix in [ROLE_PREFIX, CLIENT_ROLE_PREFIX, GROUP_PREFIX] {
            assert!(ClaimSource::key("x").prefix(prefix).is_ok());
            for value in ["admin", "orders:write", "a:b:c", "*:run", "agent_os:admin"] {
                let scope = format!("{prefix}{value}");
                let parsed = crate::Scope::parse(&scope, &ScopeRules::agent_os());
                assert_eq!(parsed, crate::Scope::Exact(scope.clone()), "{scope}");
            }
        }
    }

    #[test]
    fn idp_keycloak_recipe() {
        let cfg = StandardClaims::keycloak("shop.api");
        let i = id(
            &cfg,
            json!({
                "sub": "u1", "sid": "s1", "scope": "openid orders.read",
                "realm_access": {"roles": ["admin"]},
                "resource_access": {
                    "shop.api": {"roles": ["orders-writer"]},
                    "other": {"roles": ["billing-admin"]}
                },
                // Not Keycloak's layout: never read.
                "roles": ["root"], "scopes": ["agents:read"]
            }),
        );
        assert_eq!(
            i.scopes,
            [
                "openid",
                "orders.read",
                "role::admin",
                "client-role::orders-writer"
            ]
        );
        assert_eq!(i.session_id.as_deref(), Some("s1"));
        assert!(can(&i, "role::admin") && !can(&i, "admin"));
        assert!(!can(&i, "client-role::billing-admin"));
        // A client id with a dot is one member name; the dotted form would split it.
        assert!(StandardClaims::keycloak("shop.api").validate().is_ok());
        assert!(StandardClaims::keycloak("").validate().is_err());
        // Missing or odd shapes add nothing.
        let i = id(
            &cfg,
            json!({"realm_access": {"roles": "admin"}, "resource_access": []}),
        );
        assert_eq!(i.scopes, ["role::admin"]);
        assert!(id(&cfg, json!({"realm_access": 5})).scopes.is_empty());
    }

    #[test]
    fn idp_auth0_entra_okta_google_cognito_recipes() {
        let auth0 = id(
            &StandardClaims::auth0(),
            json!({"scope": "read:orders", "permissions": ["read:orders", "delete:orders", 5]}),
        );
        assert_eq!(auth0.scopes, ["read:orders", "delete:orders"]);
        let entra = id(
            &StandardClaims::entra_id(),
            json!({"scp": "Orders.Read", "roles": ["Orders.Admin"], "scope": "x"}),
        );
        assert_eq!(entra.scopes, ["Orders.Read", "role::Orders.Admin"]);
        let app_only = id(
            &StandardClaims::entra_id(),
            json!({"roles": ["Orders.Sync"]}),
        );
        assert_eq!(app_only.scopes, ["role::Orders.Sync"]);
        let okta = id(
            &StandardClaims::okta(),
            json!({"scp": ["orders.read"], "groups": ["Admins"]}),
        );
        assert_eq!(okta.scopes, ["orders.read", "group::Admins"]);
        let okta_no_groups = id(&StandardClaims::okta(), json!({"scp": ["orders.read"]}));
        assert_eq!(okta_no_groups.scopes, ["orders.read"]);
        let google = id(
            &StandardClaims::google(),
            json!({"scope": "https://www.googleapis.com/auth/cloud-platform", "scp": ["x"]}),
        );
        assert_eq!(
            google.scopes,
            ["https://www.googleapis.com/auth/cloud-platform"]
        );
        let cognito = id(
            &StandardClaims::cognito(),
            json!({"scope": "orders/read", "cognito:groups": ["admins"], "groups": ["x"]}),
        );
        assert_eq!(cognito.scopes, ["orders/read", "group::admins"]);
        // A group whose name holds a space is kept, but no route can require it: it is not a
        // scope-token, so it grants nothing.
        let spaced = id(
            &StandardClaims::cognito(),
            json!({"cognito:groups": ["Sales Team"]}),
        );
        assert!(!can(&spaced, "group::Sales"));
        for cfg in [
            StandardClaims::auth0(),
            StandardClaims::entra_id(),
            StandardClaims::okta(),
            StandardClaims::google(),
            StandardClaims::cognito(),
        ] {
            assert!(cfg.validate().is_ok(), "{cfg:?}");
        }
    }
}
