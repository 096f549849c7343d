//! Turning verified claims into the identity handlers see: the [`ClaimsConfig`] trait and its
//! built-in [`StandardClaims`].

use std::fmt;

use serde_json::{Map, Value};

use crate::error::{ConfigError, InvalidToken};

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

/// Turns verified claims into an [`Identity`]. Implement it to read a custom claim layout
/// (e.g. Keycloak's `realm_access.roles`).
///
/// ```
/// use jwt_core::{ClaimsConfig, StandardClaims};
/// let claims = serde_json::json!({"sub": "alice", "scope": "agents:read teams:read"});
/// let id = StandardClaims::default()
///     .scope_claims(["scopes", "scope"])
///     .identity(claims.as_object().unwrap())?;
/// assert_eq!(id.user_id.as_deref(), Some("alice"));
/// assert_eq!(id.scopes, ["agents:read", "teams:read"]);
/// # Ok::<(), jwt_core::InvalidToken>(())
/// ```
pub trait ClaimsConfig: Send + Sync + fmt::Debug {
    /// Builds the identity, or refuses the token (e.g. a reserved subject).
    fn identity(&self, claims: &Map<String, Value>) -> Result<Identity, InvalidToken>;
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

/// The built-in [`ClaimsConfig`] with agno's claim names as defaults.
///
/// - `user_id` from `sub`, `session_id` from `session_id`: strings (an integer is accepted and
///   rendered in decimal); any other type refuses the token rather than guessing. A `sub` that
///   is not a string never gets here: claim validation refuses it (RFC 7519 §4.1.2).
/// - scopes from `scopes`: a JSON array of strings or one space-delimited string (RFC 8693 §4.2);
///   several claim names may be read (`scope`, `scp`); non-string array items grant nothing.
/// - `dependencies` / `session_state`: the listed claims copied when present.
#[derive(Debug, Clone)]
pub struct StandardClaims {
    user_id: String,
    session_id: String,
    scopes: Vec<String>,
    dependencies: Vec<String>,
    session_state: Vec<String>,
    reserved: ReservedSubjects,
}

impl Default for StandardClaims {
    fn default() -> Self {
        Self {
            user_id: "sub".into(),
            session_id: "session_id".into(),
            scopes: vec!["scopes".into()],
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

    /// The claims holding scopes, read in order and merged (default `["scopes"]`).
    pub fn scope_claims<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = names.into_iter().map(Into::into).collect();
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
        if self.scopes.iter().any(String::is_empty) {
            return Err(ConfigError::Empty("scope claim name"));
        }
        Ok(())
    }
}

fn id_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, InvalidToken> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        Some(_) => Err(InvalidToken::InvalidClaim(name.to_owned())),
    }
}

fn copy(claims: &Map<String, Value>, names: &[String]) -> Map<String, Value> {
    names
        .iter()
        .filter_map(|n| claims.get(n).map(|v| (n.clone(), v.clone())))
        .collect()
}

impl ClaimsConfig for StandardClaims {
    fn identity(&self, claims: &Map<String, Value>) -> Result<Identity, InvalidToken> {
        let user_id = id_claim(claims, &self.user_id)?;
        if let Some(sub) = &user_id
            && self.reserved.is_reserved(sub)
        {
            return Err(InvalidToken::ReservedSubject);
        }
        let session_id = id_claim(claims, &self.session_id)?;
        let mut scopes: Vec<String> = Vec::new();
        let mut push = |s: &str| {
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_owned());
            }
        };
        for name in &self.scopes {
            match claims.get(name) {
                Some(Value::String(s)) => s.split_ascii_whitespace().for_each(&mut push),
                Some(Value::Array(items)) => {
                    items.iter().filter_map(Value::as_str).for_each(&mut push)
                }
                _ => {}
            }
        }
        Ok(Identity {
            user_id,
            session_id,
            scopes,
            dependencies: copy(claims, &self.dependencies),
            session_state: copy(claims, &self.session_state),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
