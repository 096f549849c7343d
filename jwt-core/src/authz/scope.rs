//! The scope grammar and matcher: agno's hierarchical scopes and the
//! plain OAuth scopes every identity provider issues.
//!
//! | scope | kind | grants |
//! |---|---|---|
//! | the admin scope, if the rules have one (`agent_os:admin` in [`ScopeRules::agent_os`]) | admin | everything |
//! | `agents:read` | global | `read` on every agent, and the full listing |
//! | `agents:*:run` | wildcard | same as global for matching |
//! | `agents:my-agent:run` | per-resource | `run` on `my-agent` only |
//! | any other RFC 6749 scope-token (`orders.read`, `read`, `Files.Read`, `api://x/y`, `https://example.com/scope`, `a:b:c:d`, `agents::read`, `role::admin`) | exact | exactly the same string |
//! | not a scope-token (empty, whitespace, control or non-ASCII characters, `"`, `\`) | unknown | nothing |
//!
//! The hierarchical rows apply only under a hierarchical grammar ([`ScopeRules::hierarchical`],
//! [`ScopeRules::agent_os`], the AgentOS preset); under the default, plain rules every scope is
//! exact, so an identity provider's `orders:read` is never granted by `orders:*:read`.
//!
//! Under a hierarchical grammar a scope is hierarchical when it has two or three non-empty `:`-separated parts and neither its
//! resource nor its action contains `/` (so URL-shaped scopes such as `https://example.com/scope`
//! stay exact). Comparison is exact and case-sensitive. A configurable alias table rewrites
//! resource names of hierarchical scopes on both sides (the AgentOS preset reads the legacy
//! `system` as `config`). A route table refuses, when it is built, to require a scope that no
//! token could ever satisfy (see [`crate::RouteTableBuilder::build`]).

use std::collections::BTreeSet;
use std::fmt;
use std::hash::Hasher;
use std::sync::{Arc, OnceLock};

use crate::error::ConfigError;
use crate::fast_hash::FastHasher;
use crate::token::claims::is_scope_char;

/// The default admin scope.
pub const DEFAULT_ADMIN_SCOPE: &str = "agent_os:admin";

/// Grammar settings: which grammar scopes are read with (exact or hierarchical), the admin scope
/// (or none) and resource aliases.
///
/// The default is the plain OAuth reading an identity provider's scopes expect: every scope is
/// an exact permission (`orders:read` is granted by `orders:read` only, never by `orders:*:read`)
/// and no scope grants everything. [`ScopeRules::agent_os`] is agno's reading: hierarchical
/// scopes (`agents:read` grants `agents:a1:read`) and the admin scope `agent_os:admin`.
///
/// ```
/// use jwt_core::{Scope, ScopeRules, ScopeSet};
/// // Plain: exact permissions, no master key.
/// let plain = ScopeSet::parse(["orders:*:read", "agent_os:admin"], &ScopeRules::default());
/// assert!(!plain.can("orders:read") && !plain.can("orders:o1:read") && !plain.is_admin());
/// assert!(plain.can("orders:*:read"));
/// // agno's grammar: the hierarchy and its admin scope.
/// let agno = ScopeSet::parse(["orders:*:read"], &ScopeRules::agent_os());
/// assert!(agno.can("orders:read") && agno.can("orders:o1:read"));
/// // The hierarchy without a master key, and aliases.
/// let rules = ScopeRules::hierarchical().alias("system", "config");
/// assert_eq!(rules.admin(), None);
/// assert!(matches!(Scope::parse("system:read", &rules), Scope::Global { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[must_use = "a builder does nothing until it is used: keep the value each setter returns"]
pub struct ScopeRules {
    admin: Option<String>,
    hierarchical: bool,
    aliases: Vec<(String, String)>,
}

impl ScopeRules {
    /// The plain OAuth reading (the default): every scope an exact permission, no admin scope.
    pub fn plain() -> Self {
        Self::default()
    }

    /// The hierarchical grammar (`resource:action`, `resource:id:action`, `resource:*:action`)
    /// without an admin scope.
    pub fn hierarchical() -> Self {
        Self {
            hierarchical: true,
            ..Self::default()
        }
    }

    /// agno's reading: the hierarchical grammar and the admin scope [`DEFAULT_ADMIN_SCOPE`]
    /// (`agent_os:admin`), which grants everything.
    pub fn agent_os() -> Self {
        Self {
            admin: Some(DEFAULT_ADMIN_SCOPE.to_owned()),
            hierarchical: true,
            aliases: Vec::new(),
        }
    }

    /// Whether `resource:action` scopes are read hierarchically (`true`) or each scope is an
    /// exact permission (`false`).
    pub fn with_hierarchy(mut self, on: bool) -> Self {
        self.hierarchical = on;
        self
    }

    /// Whether the hierarchical grammar is on.
    pub fn is_hierarchical(&self) -> bool {
        self.hierarchical
    }

    /// Switches the admin scope off, keeping the grammar and the aliases.
    pub fn no_admin_scope(mut self) -> Self {
        self.admin = None;
        self
    }

    /// Sets the admin scope, which grants every scope (the previous one, if any, is then an
    /// ordinary scope). It must be one scope-token: [`crate::RouteTableBuilder::build`] refuses
    /// anything else.
    pub fn admin_scope(mut self, scope: impl Into<String>) -> Self {
        self.admin = Some(scope.into());
        self
    }

    /// Reads resource `from` as `to` in every hierarchical scope.
    pub fn alias(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.aliases.push((from.into(), to.into()));
        self
    }

    /// The admin scope, or `None` when there is none.
    pub fn admin(&self) -> Option<&str> {
        self.admin.as_deref()
    }

    /// Checks the admin scope: when on, it must be one RFC 6749 scope-token.
    ///
    /// # Errors
    /// [`ConfigError::Empty`] for an empty admin scope, [`ConfigError::InvalidScopeTemplate`]
    /// (route `"admin scope"`) for one that is not a scope-token.
    ///
    /// ```
    /// use jwt_core::ScopeRules;
    /// assert!(ScopeRules::default().validate().is_ok());
    /// assert!(ScopeRules::agent_os().validate().is_ok());
    /// assert!(ScopeRules::default().admin_scope("").validate().is_err());
    /// assert!(ScopeRules::default().admin_scope("super user").validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.admin.as_deref() {
            None => Ok(()),
            Some("") => Err(ConfigError::Empty("admin scope")),
            Some(admin) => match scope_token_error(admin) {
                None => Ok(()),
                Some(reason) => Err(ConfigError::InvalidScopeTemplate {
                    route: "admin scope".to_owned(),
                    scope: admin.to_owned(),
                    reason,
                }),
            },
        }
    }

    fn resource<'a>(&'a self, name: &'a str) -> &'a str {
        self.aliases
            .iter()
            .find(|(from, _)| from == name)
            .map_or(name, |(_, to)| to)
    }
}

/// A parsed scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// The admin scope: grants everything.
    Admin,
    /// `resource:action`: the action on every resource of that type.
    Global {
        /// The resource type.
        resource: String,
        /// The action.
        action: String,
    },
    /// `resource:*:action`: equivalent to global for matching.
    Wildcard {
        /// The resource type.
        resource: String,
        /// The action.
        action: String,
    },
    /// `resource:id:action`: the action on one resource.
    PerResource {
        /// The resource type.
        resource: String,
        /// The resource id.
        id: String,
        /// The action.
        action: String,
    },
    /// Any other RFC 6749 scope-token (`orders.read`, `read`, `Files.Read`, `api://x/y`,
    /// `a:b:c:d`, `role::admin`): a flat permission, granted by exactly the same string (and
    /// admin), granting exactly itself.
    Exact(String),
    /// Not a scope-token (empty, whitespace, control or non-ASCII characters, `"` or `\`):
    /// grants nothing and is satisfied by admin only. A route table refuses to require one.
    Unknown(String),
}

/// RFC 6749 §3.3 `scope-token`: one or more of `%x21 / %x23-5B / %x5D-7E`.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_scope_char)
}

/// Why `s` is not a scope-token (no token could ever hold it), or `None` when it is one.
pub(crate) fn scope_token_error(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("empty scope");
    }
    s.bytes().find(|b| !is_scope_char(*b)).map(char_error)
}

/// Why byte `b` cannot appear in a scope-token.
pub(crate) fn char_error(b: u8) -> &'static str {
    match b {
        b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => {
            "contains whitespace: a scope is one RFC 6749 scope-token (space-delimited lists are split)"
        }
        0x00..=0x1f | 0x7f => "contains a control character",
        b'"' | b'\\' => "contains '\"' or '\\', which RFC 6749 scope-tokens exclude",
        _ => "contains a non-ASCII character, which RFC 6749 scope-tokens exclude",
    }
}

/// A scope borrowed from its text, parsed without allocating: how required scopes are checked
/// on the hot path. [`Scope::parse`] is this plus owned strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeRef<'a> {
    Admin,
    Global {
        resource: &'a str,
        action: &'a str,
    },
    Wildcard {
        resource: &'a str,
        action: &'a str,
    },
    PerResource {
        resource: &'a str,
        id: &'a str,
        action: &'a str,
    },
    Exact(&'a str),
    Unknown,
}

/// What one pass over a scope finds: every byte a scope-token character, where the first three
/// `:` are, and which of the parts they delimit contain a `/` (a hierarchical resource or action
/// is non-empty and without `/`, so URL-shaped scopes stay exact).
struct Shape {
    parts: usize,
    colons: [usize; 3],
    slash: [bool; 4],
}

impl Shape {
    /// The shape of `s`, or `None` when it is not a scope-token.
    #[inline]
    fn of(s: &str) -> Option<Shape> {
        /// 0: not a scope-token character; 1: other; 2: `:`; 3: `/`.
        const CLASS: [u8; 256] = {
            let mut t = [0u8; 256];
            let mut b = 0;
            while b < 256 {
                t[b] = match b as u8 {
                    b':' => 2,
                    b'/' => 3,
                    c if is_scope_char(c) => 1,
                    _ => 0,
                };
                b += 1;
            }
            t
        };
        if s.is_empty() {
            return None;
        }
        let mut shape = Shape {
            parts: 1,
            colons: [0; 3],
            slash: [false; 4],
        };
        for (at, &b) in s.as_bytes().iter().enumerate() {
            match CLASS[usize::from(b)] {
                0 => return None,
                2 => {
                    if shape.parts <= 3 {
                        shape.colons[shape.parts - 1] = at;
                    }
                    shape.parts += 1;
                }
                3 => shape.slash[shape.parts.min(4) - 1] = true,
                _ => {}
            }
        }
        Some(shape)
    }
}

impl<'a> ScopeRef<'a> {
    pub(crate) fn parse(s: &'a str, rules: &'a ScopeRules) -> Self {
        let Some(shape) = Shape::of(s) else {
            return ScopeRef::Unknown;
        };
        if rules.admin.as_deref() == Some(s) {
            return ScopeRef::Admin;
        }
        if !rules.hierarchical {
            return ScopeRef::Exact(s);
        }
        let name = |from: usize, to: usize, part: usize| to > from && !shape.slash[part];
        let colons = shape.colons;
        match shape.parts {
            2 => {
                let c = colons[0];
                if name(0, c, 0) && name(c + 1, s.len(), 1) {
                    return ScopeRef::Global {
                        resource: rules.resource(&s[..c]),
                        action: &s[c + 1..],
                    };
                }
            }
            3 => {
                let (c0, c1) = (colons[0], colons[1]);
                let (res, id, action) = (&s[..c0], &s[c0 + 1..c1], &s[c1 + 1..]);
                if name(0, c0, 0) && name(c1 + 1, s.len(), 2) && !id.is_empty() {
                    let resource = rules.resource(res);
                    return if id == "*" {
                        ScopeRef::Wildcard { resource, action }
                    } else {
                        ScopeRef::PerResource {
                            resource,
                            id,
                            action,
                        }
                    };
                }
            }
            _ => {}
        }
        ScopeRef::Exact(s)
    }

    fn resource_action(&self) -> Option<(&'a str, &'a str)> {
        match *self {
            ScopeRef::Global { resource, action }
            | ScopeRef::Wildcard { resource, action }
            | ScopeRef::PerResource {
                resource, action, ..
            } => Some((resource, action)),
            ScopeRef::Admin | ScopeRef::Exact(_) | ScopeRef::Unknown => None,
        }
    }

    /// Whether a caller holding `self` satisfies `required` (an exact
    /// permission only by the same string).
    fn grants(&self, required: &ScopeRef<'_>) -> bool {
        match (self, required) {
            (ScopeRef::Admin, _) => return true,
            (ScopeRef::Exact(held), ScopeRef::Exact(req)) => return held == req,
            _ => {}
        }
        let (Some((res, act)), Some((req_res, req_act))) =
            (self.resource_action(), required.resource_action())
        else {
            return false;
        };
        if res != req_res || act != req_act {
            return false;
        }
        match (self, required) {
            (ScopeRef::Global { .. } | ScopeRef::Wildcard { .. }, _) => true,
            (ScopeRef::PerResource { id, .. }, ScopeRef::PerResource { id: req_id, .. }) => {
                id == req_id
            }
            _ => false,
        }
    }
}

impl Scope {
    /// Parses one scope string under `rules`.
    ///
    /// ```
    /// use jwt_core::{Scope, ScopeRules};
    /// let r = ScopeRules::agent_os();
    /// assert_eq!(Scope::parse("agent_os:admin", &r), Scope::Admin);
    /// assert!(matches!(Scope::parse("agents:*:run", &r), Scope::Wildcard { .. }));
    /// assert_eq!(Scope::parse("orders.read", &r), Scope::Exact("orders.read".into()));
    /// assert!(matches!(Scope::parse("https://example.com/scope", &r), Scope::Exact(_)));
    /// assert!(matches!(Scope::parse("a:b:c:d", &r), Scope::Exact(_)));
    /// assert!(matches!(Scope::parse("two words", &r), Scope::Unknown(_)));
    /// ```
    pub fn parse(s: &str, rules: &ScopeRules) -> Scope {
        match ScopeRef::parse(s, rules) {
            ScopeRef::Admin => Scope::Admin,
            ScopeRef::Global { resource, action } => Scope::Global {
                resource: resource.to_owned(),
                action: action.to_owned(),
            },
            ScopeRef::Wildcard { resource, action } => Scope::Wildcard {
                resource: resource.to_owned(),
                action: action.to_owned(),
            },
            ScopeRef::PerResource {
                resource,
                id,
                action,
            } => Scope::PerResource {
                resource: resource.to_owned(),
                id: id.to_owned(),
                action: action.to_owned(),
            },
            ScopeRef::Exact(exact) => Scope::Exact(exact.to_owned()),
            ScopeRef::Unknown => Scope::Unknown(s.to_owned()),
        }
    }

    pub(crate) fn as_ref(&self) -> ScopeRef<'_> {
        match self {
            Scope::Admin => ScopeRef::Admin,
            Scope::Global { resource, action } => ScopeRef::Global { resource, action },
            Scope::Wildcard { resource, action } => ScopeRef::Wildcard { resource, action },
            Scope::PerResource {
                resource,
                id,
                action,
            } => ScopeRef::PerResource {
                resource,
                id,
                action,
            },
            Scope::Exact(s) => ScopeRef::Exact(s),
            Scope::Unknown(_) => ScopeRef::Unknown,
        }
    }

    /// Whether a caller holding `self` satisfies the requirement `required`.
    ///
    /// ```
    /// use jwt_core::{Scope, ScopeRules};
    /// let r = ScopeRules::agent_os();
    /// let p = |s| Scope::parse(s, &r);
    /// assert!(p("agents:read").grants(&p("agents:a1:read")));
    /// assert!(p("agents:*:run").grants(&p("agents:run")));
    /// assert!(p("agents:a1:run").grants(&p("agents:a1:run")));
    /// assert!(!p("agents:a1:run").grants(&p("agents:a2:run")));
    /// assert!(!p("agents:a1:read").grants(&p("agents:read")));
    /// assert!(!p("agents:read").grants(&p("agents:run")));
    /// assert!(p("orders.read").grants(&p("orders.read")));
    /// assert!(!p("orders.read").grants(&p("Orders.Read")));
    /// assert!(!p("orders").grants(&p("orders:read")));
    /// ```
    pub fn grants(&self, required: &Scope) -> bool {
        self.as_ref().grants(&required.as_ref())
    }
}

/// A caller's parsed scopes.
///
/// ```
/// use jwt_core::{ScopeRules, ScopeSet};
/// let set = ScopeSet::parse(["agents:a:read", "agents:b:run"], &ScopeRules::agent_os());
/// assert!(set.can("agents:a:read"));
/// assert!(!set.can("agents:read"));
/// assert!(set.accessible_ids("agents", &["read"]).contains("a"));
/// ```
///
/// Built without parsing or copying a scope: the strings are kept as given and a requirement
/// is checked against them with a cheap suffix filter, so a token with a hundred roles costs
/// little more to authorize than one with a single scope. A set kept for reuse (the token
/// cache) is indexed once, after which a check costs the same whatever the set's size.
#[derive(Clone, Default)]
pub struct ScopeSet {
    strings: Vec<String>,
    rules: Arc<ScopeRules>,
    admin: bool,
    parsed: OnceLock<Box<[Scope]>>,
    /// `(hash of a grant key, position in strings)`, sorted; built by [`ScopeSet::index`].
    index: OnceLock<Box<[(u64, u32)]>>,
}

/// Sets at most this large are checked by scanning; larger ones are indexed when reused.
const INDEX_FROM: usize = 8;

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeSet")
            .field("scopes", &self.strings)
            .field("rules", &self.rules)
            .finish()
    }
}

impl PartialEq for ScopeSet {
    fn eq(&self, other: &Self) -> bool {
        self.strings == other.strings && self.rules == other.rules
    }
}

impl Eq for ScopeSet {}

impl ScopeSet {
    /// Parses the given scope strings.
    pub fn parse<I, S>(scopes: I, rules: &ScopeRules) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let strings = scopes.into_iter().map(|s| s.as_ref().to_owned()).collect();
        Self::with_rules(strings, Arc::new(rules.clone()))
    }

    /// Takes the scope strings as they are (no copy, no parse).
    pub(crate) fn with_rules(strings: Vec<String>, rules: Arc<ScopeRules>) -> Self {
        let admin = rules
            .admin
            .as_deref()
            .is_some_and(|a| is_scope_token(a) && strings.iter().any(|s| s == a));
        Self {
            strings,
            rules,
            admin,
            parsed: OnceLock::new(),
            index: OnceLock::new(),
        }
    }

    /// The scope strings, in the order given.
    ///
    /// ```
    /// use jwt_core::{ScopeRules, ScopeSet};
    /// let set = ScopeSet::parse(["b:read", "a:read"], &ScopeRules::agent_os());
    /// assert_eq!(set.strings(), ["b:read", "a:read"]);
    /// ```
    pub fn strings(&self) -> &[String] {
        &self.strings
    }

    /// The parsed scopes (parsed on first use).
    pub fn scopes(&self) -> &[Scope] {
        self.parsed.get_or_init(|| {
            self.strings
                .iter()
                .map(|s| Scope::parse(s, &self.rules))
                .collect()
        })
    }

    /// The grammar the scopes were parsed with.
    pub fn rules(&self) -> &ScopeRules {
        &self.rules
    }

    /// Whether the set holds the admin scope.
    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// Whether some scope grants `required` (parsed with the same grammar).
    pub fn grants(&self, required: &Scope) -> bool {
        self.holds(&required.as_ref())
    }

    /// Whether some scope grants the requirement written as `required` (no allocation).
    pub fn can(&self, required: &str) -> bool {
        self.holds(&ScopeRef::parse(required, &self.rules))
    }

    fn holds(&self, required: &ScopeRef<'_>) -> bool {
        if self.admin {
            return true;
        }
        if let Some(index) = self.index.get() {
            return grant_keys(required)
                .into_iter()
                .flatten()
                .any(|key| self.probe(index, key, required));
        }
        // Only a scope ending in `:<action>` whose resource (the part before its first `:`,
        // aliases applied, as `ScopeRef::parse` reads it) is the required one, or one equal to an
        // exact requirement, can grant: everything else is skipped without being parsed.
        let rules = &*self.rules;
        let candidate: &dyn Fn(&str) -> bool = match *required {
            ScopeRef::Exact(req) => &move |held: &str| held == req,
            ScopeRef::Global { resource, action }
            | ScopeRef::Wildcard { resource, action }
            | ScopeRef::PerResource {
                resource, action, ..
            } => &move |held: &str| {
                held.len() > action.len()
                    && held.ends_with(action)
                    && held.as_bytes()[held.len() - action.len() - 1] == b':'
                    && held
                        .split_once(':')
                        .is_some_and(|(r, _)| rules.resource(r) == resource)
            },
            ScopeRef::Admin | ScopeRef::Unknown => return false,
        };
        self.strings
            .iter()
            .any(|held| candidate(held) && ScopeRef::parse(held, &self.rules).grants(required))
    }

    fn probe(&self, index: &[(u64, u32)], key: u64, required: &ScopeRef<'_>) -> bool {
        let from = index.partition_point(|(h, _)| *h < key);
        index[from..]
            .iter()
            .take_while(|(h, _)| *h == key)
            .any(|&(_, at)| {
                ScopeRef::parse(&self.strings[at as usize], &self.rules).grants(required)
            })
    }

    /// Indexes a set that will be checked many times (the token cache does this for the
    /// principals it keeps): afterwards a check costs the same whatever the set's size. Small
    /// sets are left to the scan, which is as fast for them.
    pub(crate) fn index(&self) {
        if self.strings.len() <= INDEX_FROM {
            return;
        }
        self.index.get_or_init(|| {
            let mut index: Vec<(u64, u32)> = self
                .strings
                .iter()
                .enumerate()
                .filter_map(|(at, s)| {
                    let key = held_key(&ScopeRef::parse(s, &self.rules))?;
                    Some((key, u32::try_from(at).ok()?))
                })
                .collect();
            index.sort_unstable();
            index.into()
        });
    }

    /// Bytes the index holds (for the cache's weight), once built.
    pub(crate) fn index_bytes(&self) -> usize {
        self.index
            .get()
            .map_or(0, |index| std::mem::size_of_val(&**index))
    }

    /// The ids of `resource` on which the caller may perform one of `actions`
    /// (agno's `get_accessible_resource_ids`).
    pub fn accessible_ids(&self, resource: &str, actions: &[&str]) -> AccessibleIds {
        if self.admin {
            return AccessibleIds::All;
        }
        let resource = self.rules.resource(resource);
        let mut ids = BTreeSet::new();
        for held in &self.strings {
            match ScopeRef::parse(held, &self.rules) {
                ScopeRef::Global {
                    resource: r,
                    action,
                }
                | ScopeRef::Wildcard {
                    resource: r,
                    action,
                } if r == resource && actions.contains(&action) => {
                    return AccessibleIds::All;
                }
                ScopeRef::PerResource {
                    resource: r,
                    id,
                    action,
                } if r == resource && actions.contains(&action) => {
                    ids.insert(id.to_owned());
                }
                _ => {}
            }
        }
        AccessibleIds::Only(ids)
    }
}

/// Which resources of a type a caller may see (for list filtering).
///
/// ```
/// use jwt_core::AccessibleIds;
/// let some = AccessibleIds::Only(["a".to_string()].into_iter().collect());
/// assert!(some.contains("a") && !some.contains("b"));
/// assert!(AccessibleIds::All.contains("anything"));
/// assert!(AccessibleIds::Only(Default::default()).is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessibleIds {
    /// Every resource (admin, global or wildcard scope).
    All,
    /// Only these ids (possibly none).
    Only(BTreeSet<String>),
}

impl AccessibleIds {
    /// Whether `id` is accessible.
    pub fn contains(&self, id: &str) -> bool {
        match self {
            AccessibleIds::All => true,
            AccessibleIds::Only(ids) => ids.contains(id),
        }
    }

    /// Whether nothing is accessible.
    pub fn is_empty(&self) -> bool {
        matches!(self, AccessibleIds::Only(ids) if ids.is_empty())
    }

    /// Keeps the items whose id is accessible.
    ///
    /// ```
    /// use jwt_core::AccessibleIds;
    /// let ids = AccessibleIds::Only(["b".to_string()].into_iter().collect());
    /// assert_eq!(ids.filter(vec!["a", "b"], |s| s), vec!["b"]);
    /// ```
    pub fn filter<T>(&self, items: impl IntoIterator<Item = T>, id: impl Fn(&T) -> &str) -> Vec<T> {
        items
            .into_iter()
            .filter(|item| self.contains(id(item)))
            .collect()
    }
}

/// The index key of what a held scope grants: `(resource, action)` for a global or wildcard
/// scope, `(resource, id, action)` for a per-resource one, the string for an exact one.
fn held_key(held: &ScopeRef<'_>) -> Option<u64> {
    match *held {
        ScopeRef::Global { resource, action } | ScopeRef::Wildcard { resource, action } => {
            Some(key(1, &[resource, action]))
        }
        ScopeRef::PerResource {
            resource,
            id,
            action,
        } => Some(key(2, &[resource, id, action])),
        ScopeRef::Exact(s) => Some(key(3, &[s])),
        ScopeRef::Admin | ScopeRef::Unknown => None,
    }
}

/// The index keys under which a scope granting `required` is found.
fn grant_keys(required: &ScopeRef<'_>) -> [Option<u64>; 2] {
    match *required {
        ScopeRef::Global { resource, action } | ScopeRef::Wildcard { resource, action } => {
            [Some(key(1, &[resource, action])), None]
        }
        ScopeRef::PerResource {
            resource,
            id,
            action,
        } => [
            Some(key(1, &[resource, action])),
            Some(key(2, &[resource, id, action])),
        ],
        ScopeRef::Exact(s) => [Some(key(3, &[s])), None],
        ScopeRef::Admin | ScopeRef::Unknown => [None, None],
    }
}

/// The hash of a grant key ([`FastHasher`]: the scopes come from verified tokens, and every
/// index hit is confirmed by parsing the held scope).
fn key(kind: u8, parts: &[&str]) -> u64 {
    let mut h = FastHasher::default();
    h.write_u8(kind);
    for part in parts {
        h.write(part.as_bytes());
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Scope {
        Scope::parse(s, &ScopeRules::agent_os())
    }

    fn set(scopes: &[&str]) -> ScopeSet {
        ScopeSet::parse(scopes, &ScopeRules::agent_os())
    }

    #[test]
    fn parse_kinds() {
        assert_eq!(p("agent_os:admin"), Scope::Admin);
        assert_eq!(
            p("agents:read"),
            Scope::Global {
                resource: "agents".into(),
                action: "read".into()
            }
        );
        assert_eq!(
            p("agents:*:run"),
            Scope::Wildcard {
                resource: "agents".into(),
                action: "run".into()
            }
        );
        assert_eq!(
            p("agents:my-agent:run"),
            Scope::PerResource {
                resource: "agents".into(),
                id: "my-agent".into(),
                action: "run".into()
            }
        );
        // Scope-tokens outside the hierarchical grammar: exact permissions.
        for exact in [
            "a:b:c:d",
            "justoneword",
            ":read",
            "agents:",
            "agents::read",
            "orders.read",
            "Files.Read",
            "api://x/y",
            "https://example.com/scope",
            "admin:items:a1:read",
            "role::admin",
            "agents/x:read",
            "agents:read/x",
            "*",
        ] {
            assert_eq!(p(exact), Scope::Exact(exact.into()), "{exact:?}");
        }
        // Not scope-tokens: unknown, grant nothing.
        for unknown in [
            "",
            "agents:read ",
            "two words",
            "agents:\u{0}:read",
            "agents:\"x\":read",
            "agents:\\:read",
            "аgents:read",
            "agents:read\u{200b}",
            "tab\there",
        ] {
            assert!(matches!(p(unknown), Scope::Unknown(_)), "{unknown:?}");
        }
        // Ids may carry `/` (a path parameter decoded from `%2F`); resources and actions not.
        assert!(matches!(p("agents:a/b:run"), Scope::PerResource { .. }));
    }

    #[test]
    fn exact_permissions_match_only_themselves() {
        for scope in [
            "orders.read",
            "read",
            "Files.Read",
            "api://x/y",
            "https://example.com/scope",
            "admin:items:a1:read",
            "role::orders:write",
        ] {
            assert!(set(&[scope]).can(scope), "{scope}");
            assert!(set(&["agent_os:admin"]).can(scope), "admin {scope}");
            assert!(!set(&[&scope.to_uppercase()]).can(scope), "case {scope}");
            assert!(!set(&[&format!("{scope}x")]).can(scope), "longer {scope}");
            assert!(!set(&[]).can(scope));
        }
        // Nothing hierarchical grants an exact permission, and the reverse.
        assert!(
            !set(&["admin:read", "admin:items:read", "admin:*:read"]).can("admin:items:a1:read")
        );
        assert!(!set(&["admin:items:a1:read"]).can("admin:items:read"));
        assert!(!set(&["https:read"]).can("https://example.com/scope"));
        assert!(!set(&["https://example.com/scope"]).can("https:x://example.com/scope"));
        assert!(!set(&["orders"]).can("orders:read"));
        assert!(!set(&["role:admin"]).can("role::admin"));
        // A role name holding `:` behind a `::` prefix never turns hierarchical: `role::write`
        // does not grant `role::orders:write`.
        assert!(!set(&["role::write"]).can("role::orders:write"));
        assert!(set(&["role::orders:write"]).can("role::orders:write"));
        // Exact permissions never show up as accessible ids.
        assert!(
            set(&["agents.read", "agents::read"])
                .accessible_ids("agents", &["read"])
                .is_empty()
        );
    }

    #[test]
    fn plain_rules_match_colon_scopes_exactly() {
        let plain = ScopeRules::default();
        assert_eq!(plain, ScopeRules::plain());
        assert_eq!(plain.admin(), None);
        assert!(!plain.is_hierarchical());
        let held = ScopeSet::parse(
            [
                "orders:*:read",
                "orders:write",
                "agent_os:admin",
                "items:a1:read",
            ],
            &plain,
        );
        assert!(!held.is_admin());
        for (required, granted) in [
            ("orders:read", false),
            ("orders:o1:read", false),
            ("orders:o1:write", false),
            ("items:read", false),
            ("orders:*:read", true),
            ("orders:write", true),
            ("items:a1:read", true),
            ("agent_os:admin", true),
            ("anything", false),
        ] {
            assert_eq!(held.can(required), granted, "{required}");
        }
        // Every scope is exact under plain rules, whatever its shape.
        assert_eq!(
            Scope::parse("orders:*:read", &plain),
            Scope::Exact("orders:*:read".into())
        );
        // The same set under agno's grammar.
        let agno = ScopeSet::parse(["orders:*:read", "agent_os:admin"], &ScopeRules::agent_os());
        assert!(agno.is_admin());
        let tree = ScopeSet::parse(["orders:*:read"], &ScopeRules::hierarchical());
        assert!(tree.can("orders:read") && tree.can("orders:o1:read") && !tree.is_admin());
    }

    #[test]
    fn admin_can_be_switched_off() {
        let rules = ScopeRules::hierarchical();
        assert_eq!(rules.admin(), None);
        let s = ScopeSet::parse(["agent_os:admin"], &rules);
        assert!(!s.is_admin());
        assert!(!s.can("agents:read"));
        assert!(!s.can("made-up"));
        assert!(s.can("agent_os:admin"));
        assert_eq!(
            s.accessible_ids("agents", &["read"]),
            AccessibleIds::Only(BTreeSet::new())
        );
        // Aliases survive switching admin off; `admin_scope` switches it back on.
        let aliased = ScopeRules::agent_os()
            .alias("system", "config")
            .no_admin_scope();
        assert_eq!(aliased.admin(), None);
        assert!(ScopeSet::parse(["system:read"], &aliased).can("config:read"));
        let back = aliased.admin_scope("root");
        assert!(ScopeSet::parse(["root"], &back).is_admin());
        // An admin scope that is not a scope-token never matches anything.
        let odd = ScopeRules::agent_os().admin_scope("two words");
        assert!(!ScopeSet::parse(["two words"], &odd).is_admin());
    }

    #[test]
    fn admin_scope_validation() {
        assert!(ScopeRules::agent_os().validate().is_ok());
        assert!(ScopeRules::hierarchical().validate().is_ok());
        assert!(matches!(
            ScopeRules::agent_os().admin_scope("").validate(),
            Err(ConfigError::Empty("admin scope"))
        ));
        for bad in ["two words", "root\u{0}", "q\"x", "é"] {
            let err = ScopeRules::agent_os()
                .admin_scope(bad)
                .validate()
                .unwrap_err();
            assert!(
                matches!(&err, ConfigError::InvalidScopeTemplate { scope, .. } if scope == bad),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn custom_admin_replaces_default() {
        let rules = ScopeRules::agent_os().admin_scope("os:root");
        let s = ScopeSet::parse(["agent_os:admin"], &rules);
        assert!(!s.is_admin());
        assert!(!s.can("agents:read"));
        let root = ScopeSet::parse(["os:root"], &rules);
        assert!(root.is_admin());
        assert!(root.can("anything:at:all"));
    }

    #[test]
    fn agno_answers() {
        // agno-behaviour.md §4 "Answers".
        assert!(set(&["agents:read"]).can("agents:any-id:read"));
        assert!(set(&["agents:read"]).can("agents:read"));
        assert!(set(&["agents:*:run"]).can("agents:run"));
        assert!(set(&["agents:*:read"]).can("agents:read"));
        assert!(!set(&["agents:x:read"]).can("agents:read"));
        assert!(!set(&["agents:read"]).can("agents:run"));
        assert!(!set(&["agents:read"]).can("agents:write"));
        assert!(!set(&["agents:read"]).can("teams:read"));
        assert!(set(&["agent_os:admin"]).can("agents:x:delete"));
        assert!(set(&["agent_os:admin"]).can("made-up"));
        // agno grants nothing for a scope outside its grammar; ours reads it as an exact
        // permission (what identity providers issue: `orders.read`, `Files.Read`), so it grants
        // exactly itself. AgentOS tables require hierarchical scopes only, so no AgentOS answer
        // changes.
        assert!(set(&["made-up"]).can("made-up"));
        assert!(!set(&["made-up"]).can("agents:read"));
        assert!(!set(&["made-up"]).can("made-up:read"));
        assert!(!set(&[]).can("agents:read"));
    }

    #[test]
    fn aliases_apply_to_both_sides() {
        let rules = ScopeRules::agent_os().alias("system", "config");
        let s = ScopeSet::parse(["system:read"], &rules);
        assert!(s.can("config:read"));
        assert!(s.can("system:read"));
        assert_eq!(s.accessible_ids("system", &["read"]), AccessibleIds::All);
    }

    #[test]
    fn accessible_ids_listing() {
        // agno-behaviour.md §11.
        let ids = |scopes: &[&str], actions: &[&str]| set(scopes).accessible_ids("agents", actions);
        let both = ["read", "run"];
        assert_eq!(ids(&["agents:read"], &both), AccessibleIds::All);
        assert_eq!(ids(&["agents:*:read"], &both), AccessibleIds::All);
        assert_eq!(ids(&["agent_os:admin"], &both), AccessibleIds::All);
        let ab = ids(&["agents:a:read", "agents:b:read"], &both);
        assert!(ab.contains("a") && ab.contains("b") && !ab.contains("c"));
        assert!(ids(&["teams:read"], &both).is_empty());
        assert!(ids(&[], &both).is_empty());
        assert!(ids(&["agents:a:run"], &["read"]).is_empty());
        assert!(ids(&["agents:a:run"], &both).contains("a"));
        assert!(ids(&["agents:run"], &["read"]).is_empty());
        assert!(ids(&["agents:a:write"], &both).is_empty());
    }

    fn ident() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_-]{0,7}"
    }

    proptest! {
        #[test]
        fn admin_covers_everything(required in "\\PC{0,40}") {
            prop_assert!(set(&["agent_os:admin"]).can(&required));
        }

        #[test]
        fn per_id_scope_never_covers_another_id(
            res in ident(), a in ident(), b in ident(), act in ident()
        ) {
            prop_assume!(a != b);
            let holder = set(&[&format!("{res}:{a}:{act}")]);
            let q1 = format!("{res}:{b}:{act}");
            prop_assert!(!holder.can(&q1));
            let q2 = format!("{res}:{a}:{act}");
            prop_assert!(holder.can(&q2));
            let q3 = format!("{res}:{act}");
            prop_assert!(!holder.can(&q3));
            prop_assert!(!holder.accessible_ids(&res, &[&act]).contains(&b));
        }

        #[test]
        fn global_and_wildcard_cover_every_id(res in ident(), id in ident(), act in ident()) {
            for holder in [format!("{res}:{act}"), format!("{res}:*:{act}")] {
                let s = set(&[&holder]);
                let q4 = format!("{res}:{id}:{act}");
                prop_assert!(s.can(&q4));
                let q5 = format!("{res}:{act}");
                prop_assert!(s.can(&q5));
            }
        }

        #[test]
        fn actions_and_resources_are_independent(
            res in ident(), other in ident(), act in ident(), act2 in ident()
        ) {
            prop_assume!(res != other && act != act2);
            let s = set(&[&format!("{res}:{act}")]);
            let q6 = format!("{res}:{act2}");
            prop_assert!(!s.can(&q6));
            let q7 = format!("{other}:{act}");
            prop_assert!(!s.can(&q7));
        }

        #[test]
        fn scan_index_and_parsed_scopes_agree(
            held in proptest::collection::vec(
                "(agent_os:admin|[ab](:[*xy])?:(read|run)|[ab]|x:y:z:w|sys:read| )", 0..24),
            required in "([ab](:[*xy])?:(read|run)|[ab]|x:y:z:w|config:read|agent_os:admin)",
        ) {
            let rules = ScopeRules::agent_os().alias("sys", "config");
            let set = ScopeSet::parse(&held, &rules);
            let want = set.scopes().iter().any(|s| s.grants(&Scope::parse(&required, &rules)));
            prop_assert_eq!(set.can(&required), want);
            set.index();
            prop_assert_eq!(set.can(&required), want);
            prop_assert_eq!(set.is_admin(), held.iter().any(|h| h == "agent_os:admin"));
        }

        #[test]
        fn one_pass_parse_matches_the_split_grammar(s in "[a-c:*/ ]{0,10}|agent_os:admin") {
            // The grammar written the slow way, as a reference.
            let rules = ScopeRules::agent_os();
            let name = |p: &str| !p.is_empty() && !p.contains('/');
            let want = if !is_scope_token(&s) {
                ScopeRef::Unknown
            } else if s == DEFAULT_ADMIN_SCOPE {
                ScopeRef::Admin
            } else {
                let v: Vec<&str> = s.split(':').collect();
                match v.as_slice() {
                    [r, a] if name(r) && name(a) => ScopeRef::Global { resource: r, action: a },
                    [r, "*", a] if name(r) && name(a) => ScopeRef::Wildcard { resource: r, action: a },
                    [r, id, a] if name(r) && !id.is_empty() && name(a) => {
                        ScopeRef::PerResource { resource: r, id, action: a }
                    }
                    _ => ScopeRef::Exact(&s),
                }
            };
            prop_assert_eq!(ScopeRef::parse(&s, &rules), want);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,60}") {
            let _ = p(&s);
        }

        #[test]
        fn every_scope_token_grants_itself(s in "[\\x21\\x23-\\x5b\\x5d-\\x7e]{1,24}") {
            prop_assert!(set(&[&s]).can(&s));
            prop_assert!(ScopeSet::parse([&s], &ScopeRules::hierarchical()).can(&s));
        }

        #[test]
        fn an_exact_permission_grants_only_itself(
            held in "[a-zA-Z0-9./:_-]{1,16}", required in "[a-zA-Z0-9./:_-]{1,16}"
        ) {
            if let Scope::Exact(_) = p(&held) {
                prop_assert_eq!(set(&[&held]).can(&required), held == required);
            }
        }
    }
}
