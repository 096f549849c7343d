//! Turning verified claims into the identity handlers see: the [`ClaimsConfig`] trait and its
//! built-in [`StandardClaims`].

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value};
use smallvec::SmallVec;

use crate::error::{ConfigError, InvalidToken};
use crate::fast_hash::FastBuild;
use crate::token::claim_path::{ClaimPath, ClaimPathError};
use crate::token::payload::ClaimLookup;

/// Whether `b` may appear in an RFC 6749 §3.3 `scope-token`: `%x21 / %x23-5B / %x5D-7E`. The
/// scope grammar ([`crate::Scope`]) and the claim prefixes share it.
pub(crate) const fn is_scope_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e)
}

/// A NumericDate (RFC 7519 §2): a non-negative JSON number that fits in `u64` seconds; the
/// time claims (`exp`, `nbf`, `iat`), an introspection answer's `exp` and `auth_time` alike.
pub(crate) fn numeric_date<L: ClaimLookup + ?Sized>(
    claims: &L,
    name: &str,
) -> Result<Option<f64>, InvalidToken> {
    const U64_LIMIT: f64 = 18_446_744_073_709_551_616.0;
    let Some(member) = claims.member(name) else {
        return Ok(None);
    };
    match member.as_number() {
        Some(n) => {
            if let Some(u) = n.as_u64() {
                return Ok(Some(u as f64));
            }
            match n.as_f64() {
                Some(f) if (0.0..U64_LIMIT).contains(&f) => Ok(Some(f)),
                _ => Err(InvalidToken::InvalidClaim(name.to_owned())),
            }
        }
        None => Err(InvalidToken::InvalidClaim(name.to_owned())),
    }
}

/// The identity taken from a token's claims.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    /// The user id (claim `sub` by default).
    pub user_id: Option<String>,
    /// The session id (claim `session_id` by default).
    pub session_id: Option<String>,
    /// The raw scope strings, from every configured scope claim, de-duplicated in order.
    pub scopes: Vec<String>,
    /// Claims copied into the `dependencies` map.
    pub dependencies: Map<String, Value>,
    /// Claims copied into the `session_state` map.
    pub session_state: Map<String, Value>,
}

/// Turns verified claims into an [`Identity`]. [`StandardClaims`] reads any claim layout (nested
/// roles, several scope claims, prefixes); implement this trait for anything else.
///
/// ```
/// use jwt_core::{ClaimsConfig, StandardClaims};
/// let claims = serde_json::json!({"sub": "alice", "scope": "orders.read orders.write"});
/// let id = StandardClaims::default().identity(claims.as_object().unwrap())?;
/// assert_eq!(id.user_id.as_deref(), Some("alice"));
/// assert_eq!(id.scopes, ["orders.read", "orders.write"]);
/// # Ok::<(), jwt_core::InvalidToken>(())
/// ```
///
/// # Implementing it
///
/// `identity` receives the claims of a token whose signature and time, audience and issuer
/// claims have passed; it says who the caller is and which scopes they hold. Refuse a token
/// whose claims cannot be read as you need them (a wrong type) with an [`InvalidToken`] rather
/// than guessing: the engine answers 401. Every scope string is then read by the route table's
/// grammar; keep roles and groups apart from scopes with a prefix, as
/// [`StandardClaims::scopes_from`] does. `check_config` runs once in
/// [`crate::JwtAuthBuilder::build`].
///
/// ```
/// use jwt_core::{ClaimsConfig, Identity, InvalidToken};
/// use serde_json::{Map, Value};
///
/// /// The user in `uid`, permissions as an object of booleans: `{"orders.read": true}`.
/// #[derive(Debug)]
/// struct PermissionObject;
///
/// impl ClaimsConfig for PermissionObject {
///     fn identity(&self, claims: &Map<String, Value>) -> Result<Identity, InvalidToken> {
///         let user_id = match claims.get("uid") {
///             None => None,
///             Some(Value::String(uid)) => Some(uid.clone()),
///             Some(_) => return Err(InvalidToken::InvalidClaim("uid".into())),
///         };
///         let scopes = match claims.get("permissions") {
///             None => Vec::new(),
///             Some(Value::Object(p)) => p.iter().filter(|(_, on)| **on == Value::Bool(true)).map(|(k, _)| k.clone()).collect(),
///             Some(_) => return Err(InvalidToken::InvalidClaim("permissions".into())),
///         };
///         Ok(Identity { user_id, scopes, ..Identity::default() })
///     }
/// }
///
/// let claims = serde_json::json!({"uid": "u7", "permissions": {"orders.read": true, "orders.write": false}});
/// let id = PermissionObject.identity(claims.as_object().unwrap())?;
/// assert_eq!((id.user_id.as_deref(), id.scopes.as_slice()), (Some("u7"), &["orders.read".to_owned()][..]));
/// let bad = serde_json::json!({"permissions": ["orders.read"]});
/// assert!(PermissionObject.identity(bad.as_object().unwrap()).is_err());
/// # Ok::<(), InvalidToken>(())
/// ```
pub trait ClaimsConfig: Send + Sync + fmt::Debug {
    /// Builds the identity, or refuses the token (e.g. a reserved subject).
    fn identity(&self, claims: &Map<String, Value>) -> Result<Identity, InvalidToken>;

    /// Checks the configuration once, when the middleware is built
    /// ([`crate::JwtAuthBuilder::build`]); the default accepts it.
    ///
    /// # Errors
    /// The [`ConfigError`] that makes `build` fail.
    fn check_config(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// Subjects that no token may claim (service principals minted elsewhere).
///
/// ```
/// use jwt_core::ReservedSubjects;
/// let r = ReservedSubjects::agent_os();
/// assert!(r.is_reserved("sa:deployer") && r.is_reserved("__scheduler__"));
/// assert!(!r.is_reserved("alice"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReservedSubjects {
    prefixes: Vec<String>,
    exact: Vec<String>,
}

impl ReservedSubjects {
    /// Adds a reserved prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefixes.push(prefix.into());
        self
    }

    /// Adds a reserved exact subject.
    pub fn exact(mut self, subject: impl Into<String>) -> Self {
        self.exact.push(subject.into());
        self
    }

    /// Whether `subject` is reserved.
    pub fn is_reserved(&self, subject: &str) -> bool {
        self.exact.iter().any(|e| e == subject)
            || self
                .prefixes
                .iter()
                .any(|p| subject.starts_with(p.as_str()))
    }
}

/// One claim feeding the caller's scopes: where it is ([`ClaimPath`]) and an optional prefix put
/// in front of each value. The value may be a JSON array of strings (non-strings are skipped) or
/// one space-delimited string (RFC 8693 §4.2); anything else, or no value, adds nothing.
///
/// A prefix keeps roles and groups apart from scopes: with `role::`, the Keycloak realm role
/// `admin` becomes the scope `role::admin`, which a route requires like any other scope and which
/// no OAuth scope `admin` satisfies. Prefer a prefix ending in `::` (what the identity-provider
/// recipes use): the empty part it creates keeps every prefixed value an exact permission,
/// whatever the value holds. With `role:`, a role `write` would read as the hierarchical scope
/// `role:write`, which grants `role:orders:write`, the scope of the role `orders:write`.
///
/// ```
/// use jwt_core::{ClaimSource, ClaimsConfig, StandardClaims};
/// let claims = StandardClaims::default()
///     .scopes_from(ClaimSource::path("realm_access.roles")?.prefix("role::")?)
///     .scopes_from(ClaimSource::key("cognito:groups").prefix("group::")?);
/// let token = serde_json::json!({
///     "sub": "alice",
///     "scope": "openid orders.read",
///     "realm_access": {"roles": ["admin", "offline_access"]},
///     "cognito:groups": ["ops"],
/// });
/// let id = claims.identity(token.as_object().unwrap())?;
/// assert_eq!(id.scopes, ["openid", "orders.read", "role::admin", "role::offline_access", "group::ops"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimSource {
    path: ClaimPath,
    prefix: String,
}

impl ClaimSource {
    /// The claim at `path`, values taken as they are.
    pub fn new(path: ClaimPath) -> Self {
        Self {
            path,
            prefix: String::new(),
        }
    }

    /// One top-level claim, named verbatim (`scope`, `cognito:groups`,
    /// `https://example.com/roles`).
    pub fn key(name: impl Into<String>) -> Self {
        Self::new(ClaimPath::key(name))
    }

    /// The claim at `path`: a JSON pointer (`/realm_access/roles`) or a dotted path
    /// (`realm_access.roles`), see [`ClaimPath::parse`].
    ///
    /// # Errors
    /// The [`ClaimPathError`] of a malformed path.
    pub fn path(path: &str) -> Result<Self, ClaimPathError> {
        ClaimPath::parse(path).map(Self::new)
    }

    /// Puts `prefix` in front of every value (`role::` turns `admin` into `role::admin`).
    ///
    /// # Errors
    /// [`ClaimPathError::InvalidPrefix`] when the prefix holds a character no scope-token may
    /// (whitespace, control or non-ASCII characters, `"`, `\`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Result<Self, ClaimPathError> {
        let prefix = prefix.into();
        if !prefix.bytes().all(is_scope_char) {
            return Err(ClaimPathError::InvalidPrefix { prefix });
        }
        self.prefix = prefix;
        Ok(self)
    }

    /// A source whose prefix is known to be valid (the crate's own recipes).
    pub(crate) fn prefixed(path: ClaimPath, prefix: &'static str) -> Self {
        Self {
            path,
            prefix: prefix.to_owned(),
        }
    }

    /// Where the claim is.
    pub fn claim_path(&self) -> &ClaimPath {
        &self.path
    }

    /// The prefix put in front of each value (empty for none).
    pub fn value_prefix(&self) -> &str {
        &self.prefix
    }

    /// Calls `push` with each (prefixed) value found in `claims` that stays in this source's
    /// namespace: a value that would start with another namespace's prefix (`role::admin` in
    /// `scope`, or a group source's value landing under `role::`) is dropped, so a scope can never
    /// stand for a role or group, whatever claim it comes from.
    fn collect<L: ClaimLookup + ?Sized>(
        &self,
        claims: &L,
        sources: &[ClaimSource],
        push: &mut impl FnMut(&str),
    ) {
        // Every configured prefix and the recipes' (duplicates are harmless to `any`), but this
        // source's own: gathered once per source, not once per value.
        let foreign_namespaces: SmallVec<[&str; 8]> = RESERVED_NAMESPACES
            .into_iter()
            .chain(sources.iter().map(|s| s.prefix.as_str()))
            .filter(|ns| !ns.is_empty() && !self.prefix.starts_with(ns))
            .collect();
        let foreign = |value: &str| {
            foreign_namespaces.iter().any(|ns| {
                value.as_bytes().first() == ns.as_bytes().first() && value.starts_with(ns)
            })
        };
        let mut one = |value: &str| {
            let value: std::borrow::Cow<'_, str> = if self.prefix.is_empty() {
                value.into()
            } else {
                format!("{}{value}", self.prefix).into()
            };
            if foreign(&value) {
                tracing::debug!(
                    claim = %self.path,
                    "a value in another source's namespace (role or group prefix) was dropped"
                );
            } else {
                push(&value);
            }
        };
        let Some(found) = self.path.resolve_member(claims) else {
            return;
        };
        if let Some(s) = found.as_str() {
            s.split_ascii_whitespace().for_each(&mut one);
        } else {
            found.each_string(|s| one(&s));
        }
    }
}

impl From<ClaimPath> for ClaimSource {
    fn from(path: ClaimPath) -> Self {
        Self::new(path)
    }
}

/// The built-in [`ClaimsConfig`] with agno's claim names as defaults.
///
/// - `user_id` from `sub`, `session_id` from `session_id`: strings (an integer is accepted and
///   rendered in decimal); any other type refuses the token rather than guessing. A `sub` that
///   is not a string never gets here: claim validation refuses it (RFC 7519 §4.1.2).
/// - scopes from `scopes`, `scope` and `scp`, read in that order and merged (duplicates dropped):
///   each a JSON array of strings or one space-delimited string (RFC 8693 §4.2), so the
///   `scope` of RFC 9068 / Auth0 / Google / Cognito and the `scp` of Entra ID (string) and Okta
///   (array) work out of the box; non-string array items grant nothing. Any other claim, nested
///   ones included, can feed scopes through [`StandardClaims::scopes_from`] (with a prefix for
///   roles), and the identity-provider recipes ([`StandardClaims::keycloak`],
///   [`StandardClaims::auth0`], [`StandardClaims::entra_id`], [`StandardClaims::okta`],
///   [`StandardClaims::google`], [`StandardClaims::cognito`]) set them up.
///   [`StandardClaims::agent_os`] reads `scopes` only, like agno.
/// - `dependencies` / `session_state`: the listed claims copied when present.
///
/// ```
/// use jwt_core::{ClaimsConfig, StandardClaims};
/// let id = StandardClaims::default().identity(
///     serde_json::json!({"sub": "u1", "scp": ["orders.read"], "scope": "openid orders.read"})
///         .as_object().unwrap(),
/// )?;
/// assert_eq!(id.scopes, ["openid", "orders.read"]);
/// # Ok::<(), jwt_core::InvalidToken>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until it is used: keep the value each setter returns"]
pub struct StandardClaims {
    user_id: String,
    session_id: String,
    scopes: Vec<ClaimSource>,
    dependencies: Vec<String>,
    session_state: Vec<String>,
    reserved: ReservedSubjects,
}

/// The claims [`StandardClaims::default`] reads scopes from, in order.
pub const DEFAULT_SCOPE_CLAIMS: [&str; 3] = ["scopes", "scope", "scp"];

impl Default for StandardClaims {
    fn default() -> Self {
        Self {
            user_id: "sub".into(),
            session_id: "session_id".into(),
            scopes: DEFAULT_SCOPE_CLAIMS.map(ClaimSource::key).to_vec(),
            dependencies: Vec::new(),
            session_state: Vec::new(),
            reserved: ReservedSubjects::default(),
        }
    }
}

impl StandardClaims {
    /// The claim holding the user id (default `sub`).
    pub fn user_id_claim(mut self, name: impl Into<String>) -> Self {
        self.user_id = name.into();
        self
    }

    /// The claim holding the session id (default `session_id`).
    pub fn session_id_claim(mut self, name: impl Into<String>) -> Self {
        self.session_id = name.into();
        self
    }

    /// The top-level claims holding scopes, read in order and merged, replacing every scope
    /// source (default [`DEFAULT_SCOPE_CLAIMS`]: `scopes`, `scope`, `scp`). Names are taken
    /// verbatim (`cognito:groups`); for nested claims or prefixes see
    /// [`StandardClaims::scopes_from`].
    pub fn scope_claims<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = names.into_iter().map(ClaimSource::key).collect();
        self
    }

    /// Replaces every scope source.
    pub fn scope_sources<I>(mut self, sources: I) -> Self
    where
        I: IntoIterator<Item = ClaimSource>,
    {
        self.scopes = sources.into_iter().collect();
        self
    }

    /// Adds a scope source, read after the ones already configured: a nested claim, with an
    /// optional prefix for roles or groups (see [`ClaimSource`]).
    ///
    /// ```
    /// use jwt_core::{ClaimPath, ClaimSource, ClaimsConfig, StandardClaims};
    /// let claims = StandardClaims::default()
    ///     .scopes_from(ClaimPath::parse("/resource_access/shop.api/roles")?)
    ///     .scopes_from(ClaimSource::key("https://shop.example/roles").prefix("role::")?);
    /// let id = claims.identity(serde_json::json!({
    ///     "resource_access": {"shop.api": {"roles": ["orders-writer"]}},
    ///     "https://shop.example/roles": ["admin"],
    /// }).as_object().unwrap())?;
    /// assert_eq!(id.scopes, ["orders-writer", "role::admin"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scopes_from(mut self, source: impl Into<ClaimSource>) -> Self {
        self.scopes.push(source.into());
        self
    }

    /// Claims copied into `dependencies`.
    pub fn dependencies_claims<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dependencies = names.into_iter().map(Into::into).collect();
        self
    }

    /// Claims copied into `session_state`.
    pub fn session_state_claims<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.session_state = names.into_iter().map(Into::into).collect();
        self
    }

    /// Subjects to refuse with 401 `Invalid token subject`.
    pub fn reserved_subjects(mut self, reserved: ReservedSubjects) -> Self {
        self.reserved = reserved;
        self
    }

    /// Checks that no claim name is empty.
    ///
    /// # Errors
    /// [`ConfigError::Empty`] naming the empty setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.user_id.is_empty() {
            return Err(ConfigError::Empty("user_id claim name"));
        }
        if self.session_id.is_empty() {
            return Err(ConfigError::Empty("session_id claim name"));
        }
        if self
            .scopes
            .iter()
            .any(|s| s.path.segments().iter().any(String::is_empty))
        {
            return Err(ConfigError::Empty("scope claim name"));
        }
        Ok(())
    }
}

/// The prefixes of roles, client roles and groups (the identity-provider recipes'): closed to every
/// other source, like every configured source's prefix, even where no source of this
/// configuration uses them (routes are written with them).
const RESERVED_NAMESPACES: [&str; 3] = [ROLE_PREFIX, CLIENT_ROLE_PREFIX, GROUP_PREFIX];

/// The prefix of role names (Keycloak realm roles, Entra ID app roles): the role `admin` is the
/// scope `role::admin`.
pub const ROLE_PREFIX: &str = "role::";
/// The prefix of Keycloak client roles: the role `orders-writer` of the configured client is the
/// scope `client-role::orders-writer`.
pub const CLIENT_ROLE_PREFIX: &str = "client-role::";
/// The prefix of group names (Okta `groups`, Cognito `cognito:groups`): the group `admins` is the
/// scope `group::admins`.
pub const GROUP_PREFIX: &str = "group::";

fn id_claim<L: ClaimLookup + ?Sized>(
    claims: &L,
    name: &str,
) -> Result<Option<String>, InvalidToken> {
    let Some(member) = claims.member(name).filter(|m| !m.is_null()) else {
        return Ok(None);
    };
    if let Some(s) = member.as_str() {
        return Ok(Some(s.into_owned()));
    }
    match member.as_number() {
        Some(n) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        _ => Err(InvalidToken::InvalidClaim(name.to_owned())),
    }
}

fn copy<L: ClaimLookup + ?Sized>(claims: &L, names: &[String]) -> Map<String, Value> {
    names
        .iter()
        .filter_map(|n| claims.member(n).map(|v| (n.clone(), v.to_value())))
        .collect()
}

/// Drops repeated strings, keeping the first of each, in linear time (the strings come from a
/// verified token, so the unkeyed [`FastBuild`] hash is safe here).
fn dedup_in_order(items: &mut Vec<String>) {
    if items.len() <= 16 {
        let mut at = 0;
        while at < items.len() {
            if items[..at].contains(&items[at]) {
                items.remove(at);
            } else {
                at += 1;
            }
        }
        return;
    }
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity_and_hasher(items.len(), FastBuild::default());
        items.iter().map(|s| seen.insert(s.as_str())).collect()
    };
    let mut keep = keep.into_iter();
    items.retain(|_| keep.next().unwrap_or(false));
}

impl ClaimsConfig for StandardClaims {
    fn check_config(&self) -> Result<(), ConfigError> {
        self.validate()
    }

    fn identity(&self, claims: &Map<String, Value>) -> Result<Identity, InvalidToken> {
        self.identity_of(claims)
    }
}

impl StandardClaims {
    /// The identity in `claims`, a tree or a verified payload read in place.
    pub(crate) fn identity_of<L: ClaimLookup + ?Sized>(
        &self,
        claims: &L,
    ) -> Result<Identity, InvalidToken> {
        let user_id = id_claim(claims, &self.user_id)?;
        if let Some(sub) = &user_id
            && self.reserved.is_reserved(sub)
        {
            return Err(InvalidToken::ReservedSubject);
        }
        let session_id = id_claim(claims, &self.session_id)?;
        let mut scopes: Vec<String> = Vec::new();
        for source in &self.scopes {
            source.collect(claims, &self.scopes, &mut |s| scopes.push(s.to_owned()));
        }
        dedup_in_order(&mut scopes);
        Ok(Identity {
            user_id,
            session_id,
            scopes,
            dependencies: copy(claims, &self.dependencies),
            session_state: copy(claims, &self.session_state),
        })
    }
}

/// The engine's claims mapping: the built-in one, read in place from a verified payload, or a
/// custom one, which reads a tree.
#[derive(Debug)]
pub(crate) enum ClaimRules {
    Standard(StandardClaims),
    Custom(Box<dyn ClaimsConfig>),
}

impl Default for ClaimRules {
    fn default() -> Self {
        ClaimRules::Standard(StandardClaims::default())
    }
}

impl ClaimRules {
    /// `claims`, as the built-in mapping when it is one.
    pub(crate) fn of<C: ClaimsConfig + 'static>(claims: C) -> Self {
        match (&claims as &dyn std::any::Any).downcast_ref::<StandardClaims>() {
            Some(standard) => ClaimRules::Standard(standard.clone()),
            None => ClaimRules::Custom(Box::new(claims)),
        }
    }

    pub(crate) fn check_config(&self) -> Result<(), ConfigError> {
        match self {
            ClaimRules::Standard(s) => s.check_config(),
            ClaimRules::Custom(c) => c.check_config(),
        }
    }

    /// The identity in `claims` (a custom mapping gets them as a tree).
    pub(crate) fn identity<L: ClaimLookup + ?Sized>(
        &self,
        claims: &L,
    ) -> Result<Identity, InvalidToken> {
        match self {
            ClaimRules::Standard(s) => s.identity_of(claims),
            ClaimRules::Custom(c) => c.identity(&claims.tree()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::claim_path::ClaimPath;
    use serde_json::json;

    fn id(cfg: &StandardClaims, v: Value) -> Result<Identity, InvalidToken> {
        cfg.identity(v.as_object().unwrap())
    }

    #[test]
    fn defaults() {
        let i = id(
            &StandardClaims::default(),
            json!({"sub":"u1","session_id":"s1","scopes":["agents:read","agents:read","teams:read"]}),
        )
        .unwrap();
        assert_eq!(i.user_id.as_deref(), Some("u1"));
        assert_eq!(i.session_id.as_deref(), Some("s1"));
        assert_eq!(i.scopes, ["agents:read", "teams:read"]);
        assert!(i.dependencies.is_empty());
    }

    #[test]
    fn default_reads_scopes_scope_and_scp() {
        let i = id(
            &StandardClaims::default(),
            json!({"scopes": ["a"], "scope": "b a", "scp": "c", "other": ["d"]}),
        )
        .unwrap();
        assert_eq!(i.scopes, ["a", "b", "c"]);
        let okta_shape = id(
            &StandardClaims::default(),
            json!({"scp": ["orders.read", "openid"]}),
        )
        .unwrap();
        assert_eq!(okta_shape.scopes, ["orders.read", "openid"]);
        // The AgentOS preset keeps agno's single `scopes` claim.
        let agno = id(
            &StandardClaims::agent_os(),
            json!({"scopes": ["a"], "scope": "b", "scp": "c"}),
        )
        .unwrap();
        assert_eq!(agno.scopes, ["a"]);
    }

    #[test]
    fn nested_sources_and_prefixes() {
        let cfg = StandardClaims::default()
            .scope_claims(["scope"])
            .scopes_from(
                ClaimSource::path("realm_access.roles")
                    .unwrap()
                    .prefix("role::")
                    .unwrap(),
            )
            .scopes_from(
                ClaimSource::key("cognito:groups")
                    .prefix("group::")
                    .unwrap(),
            )
            .scopes_from(ClaimPath::pointer("/a.b/c").unwrap());
        let i = id(
            &cfg,
            json!({
                "scope": "admin orders.read",
                "realm_access": {"roles": ["admin", 7, "admin"]},
                "cognito:groups": "ops  dev",
                "a.b": {"c": ["x"]},
                "a": {"b": {"c": ["never"]}}
            }),
        )
        .unwrap();
        // The role `admin` and the scope `admin` stay apart.
        assert_eq!(
            i.scopes,
            [
                "admin",
                "orders.read",
                "role::admin",
                "group::ops",
                "group::dev",
                "x"
            ]
        );
        assert!(
            id(&cfg, json!({"realm_access": {"roles": {"admin": true}}}))
                .unwrap()
                .scopes
                .is_empty()
        );
        // Replacing every source.
        let only = StandardClaims::default().scope_sources([ClaimSource::key("perms")]);
        assert_eq!(
            id(&only, json!({"perms": ["p"], "scopes": ["s"]}))
                .unwrap()
                .scopes,
            ["p"]
        );
        let none = StandardClaims::default().scope_sources([]);
        assert!(
            id(&none, json!({"scopes": ["s"]}))
                .unwrap()
                .scopes
                .is_empty()
        );
    }

    #[test]
    fn a_scope_never_stands_for_a_role_or_group() {
        // Keycloak-shaped: roles under `role::`, scopes in `scope`. A scope claim value spelled
        // like a role (or a group, client role, or any configured prefix) grants nothing.
        let cfg = StandardClaims::default()
            .scopes_from(
                ClaimSource::path("realm_access.roles")
                    .unwrap()
                    .prefix("role::")
                    .unwrap(),
            )
            .scopes_from(ClaimSource::key("teams").prefix("team::").unwrap());
        let i = id(
            &cfg,
            json!({
                "scope": "orders.read role::orders-admin group::ops",
                "scp": ["client-role::writer", "team::blue"],
                "scopes": ["role::x"],
                "realm_access": {"roles": ["viewer"]},
            }),
        )
        .unwrap();
        assert_eq!(i.scopes, ["orders.read", "role::viewer"]);
        // Without any prefixed source, the recipes' namespaces are still closed to scopes.
        let plain = id(
            &StandardClaims::default(),
            json!({"scope": "role::admin client-role::w group::g orders.read"}),
        )
        .unwrap();
        assert_eq!(plain.scopes, ["orders.read"]);
        // A prefixed source cannot write into a longer namespace either: with `role:`, a role
        // named `:admin` would land under `role::`.
        let short = StandardClaims::default()
            .scope_claims(Vec::<String>::new())
            .scopes_from(ClaimSource::key("roles").prefix("role:").unwrap());
        let i = id(&short, json!({"roles": [":admin", "reader"]})).unwrap();
        assert_eq!(i.scopes, ["role:reader"]);
        // The source's own namespace is kept, whatever the value holds.
        let own = StandardClaims::default()
            .scopes_from(ClaimSource::key("roles").prefix("role::").unwrap());
        let i = id(&own, json!({"roles": ["role::x", "group::y"]})).unwrap();
        assert_eq!(i.scopes, ["role::role::x", "role::group::y"]);
    }

    #[test]
    fn prefixes_must_be_scope_token_characters() {
        for bad in ["role ", "r\u{0}", "rôle:", "q\"", "\\"] {
            assert_eq!(
                ClaimSource::key("roles").prefix(bad),
                Err(ClaimPathError::InvalidPrefix { prefix: bad.into() }),
                "{bad:?}"
            );
        }
        let ok = ClaimSource::key("roles").prefix("").unwrap();
        assert_eq!(ok.value_prefix(), "");
        assert_eq!(ok.claim_path(), &ClaimPath::key("roles"));
        assert!(ClaimSource::path("a..b").is_err());
        assert_eq!(
            ClaimSource::from(ClaimPath::key("x")),
            ClaimSource::key("x")
        );
    }

    #[test]
    fn validate_refuses_empty_claim_names() {
        assert!(
            StandardClaims::default()
                .scope_claims([""])
                .validate()
                .is_err()
        );
        assert!(
            StandardClaims::default()
                .scopes_from(ClaimSource::key(""))
                .validate()
                .is_err()
        );
        assert!(
            StandardClaims::default()
                .scopes_from(ClaimSource::path("a.b").unwrap())
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn scope_claim_shapes() {
        let cfg = StandardClaims::default().scope_claims(["scope", "scp", "scopes"]);
        let i = id(
            &cfg,
            json!({"scope":"  a:read\tb:read  ","scp":["c:read", 5, null, "a:read"],"scopes":{"x":1}}),
        )
        .unwrap();
        assert_eq!(i.scopes, ["a:read", "b:read", "c:read"]);
        assert!(id(&cfg, json!({})).unwrap().scopes.is_empty());
        assert!(id(&cfg, json!({"scope": 7})).unwrap().scopes.is_empty());
    }

    #[test]
    fn ids_must_be_strings_or_integers() {
        let cfg = StandardClaims::default();
        assert_eq!(
            id(&cfg, json!({"sub": 42})).unwrap().user_id.as_deref(),
            Some("42")
        );
        assert_eq!(id(&cfg, json!({"sub": null})).unwrap().user_id, None);
        for bad in [json!(1.5), json!(true), json!(["a"]), json!({"a":1})] {
            assert_eq!(
                id(&cfg, json!({"sub": bad})),
                Err(InvalidToken::InvalidClaim("sub".into()))
            );
        }
        assert!(id(&cfg, json!({"session_id": []})).is_err());
    }

    #[test]
    fn dependencies_and_session_state() {
        let cfg = StandardClaims::default()
            .dependencies_claims(["name", "email", "absent"])
            .session_state_claims(["org", "roles"]);
        let i = id(
            &cfg,
            json!({"sub":"u","name":"Ann","email":"a@x","org":"acme","roles":["r1"]}),
        )
        .unwrap();
        assert_eq!(json!(i.dependencies), json!({"name":"Ann","email":"a@x"}));
        assert_eq!(json!(i.session_state), json!({"org":"acme","roles":["r1"]}));
    }

    #[test]
    fn custom_claim_names() {
        let cfg = StandardClaims::default()
            .user_id_claim("uid")
            .session_id_claim("sid");
        let i = id(&cfg, json!({"uid":"x","sid":"y","sub":"ignored"})).unwrap();
        assert_eq!(
            (i.user_id.as_deref(), i.session_id.as_deref()),
            (Some("x"), Some("y"))
        );
        assert!(
            StandardClaims::default()
                .user_id_claim("")
                .validate()
                .is_err()
        );
        assert!(StandardClaims::default().validate().is_ok());
    }

    #[test]
    fn reserved_subjects() {
        let cfg = StandardClaims::agent_os();
        for sub in ["__scheduler__", "sa:x", "__oauth__:x"] {
            assert_eq!(
                id(&cfg, json!({"sub": sub})),
                Err(InvalidToken::ReservedSubject)
            );
        }
        assert!(id(&cfg, json!({"sub": "__scheduler__x"})).is_ok());
        assert!(id(&cfg, json!({"sub": "sax"})).is_ok());
        assert!(id(&StandardClaims::default(), json!({"sub": "sa:x"})).is_ok());
    }
}
