//! The hierarchical scope grammar and matcher (agno-behaviour.md §4).
//!
//! | scope | kind | grants |
//! |---|---|---|
//! | `agent_os:admin` (configurable) | admin | everything |
//! | `agents:read` | global | `read` on every agent, and the full listing |
//! | `agents:*:run` | wildcard | same as global for matching |
//! | `agents:my-agent:run` | per-resource | `run` on `my-agent` only |
//! | anything else (`a:b:c:d`, `word`, empty parts, characters outside RFC 6749 scope-tokens) | unknown | nothing |
//!
//! Comparison is exact and case-sensitive. A configurable alias table rewrites resource names on
//! both sides (the AgentOS preset reads the legacy `system` as `config`).

use std::collections::BTreeSet;
use std::sync::Arc;

/// The default admin scope.
pub const DEFAULT_ADMIN_SCOPE: &str = "agent_os:admin";

/// Grammar settings: the admin scope and resource aliases.
///
/// ```
/// use jwt_core::{Scope, ScopeRules};
/// let rules = ScopeRules::default().admin_scope("root").alias("system", "config");
/// assert_eq!(Scope::parse("root", &rules), Scope::Admin);
/// assert!(matches!(Scope::parse("agent_os:admin", &rules), Scope::Global { .. }));
/// assert_eq!(Scope::parse("system:read", &rules), Scope::parse("config:read", &rules));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRules {
    admin: String,
    aliases: Vec<(String, String)>,
}

impl Default for ScopeRules {
    fn default() -> Self {
        Self {
            admin: DEFAULT_ADMIN_SCOPE.to_owned(),
            aliases: Vec::new(),
        }
    }
}

impl ScopeRules {
    /// Replaces the admin scope (the default one is then an ordinary scope).
    pub fn admin_scope(mut self, scope: impl Into<String>) -> Self {
        self.admin = scope.into();
        self
    }

    /// Reads resource `from` as `to` in every scope.
    pub fn alias(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.aliases.push((from.into(), to.into()));
        self
    }

    /// The admin scope.
    pub fn admin(&self) -> &str {
        &self.admin
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
    /// Anything else: grants nothing and is satisfied by admin only.
    Unknown(String),
}

/// RFC 6749 §3.3 `scope-token` characters: `%x21 / %x23-5B / %x5D-7E`.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
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
    Unknown,
}

impl<'a> ScopeRef<'a> {
    pub(crate) fn parse(s: &'a str, rules: &'a ScopeRules) -> Self {
        if s == rules.admin {
            return ScopeRef::Admin;
        }
        if !is_scope_token(s) {
            return ScopeRef::Unknown;
        }
        let mut parts = s.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(res), Some(action), None, None) if !res.is_empty() && !action.is_empty() => {
                ScopeRef::Global {
                    resource: rules.resource(res),
                    action,
                }
            }
            (Some(res), Some("*"), Some(action), None) if !res.is_empty() && !action.is_empty() => {
                ScopeRef::Wildcard {
                    resource: rules.resource(res),
                    action,
                }
            }
            (Some(res), Some(id), Some(action), None)
                if !res.is_empty() && !id.is_empty() && !action.is_empty() =>
            {
                ScopeRef::PerResource {
                    resource: rules.resource(res),
                    id,
                    action,
                }
            }
            _ => ScopeRef::Unknown,
        }
    }

    fn resource_action(&self) -> Option<(&'a str, &'a str)> {
        match *self {
            ScopeRef::Global { resource, action }
            | ScopeRef::Wildcard { resource, action }
            | ScopeRef::PerResource {
                resource, action, ..
            } => Some((resource, action)),
            ScopeRef::Admin | ScopeRef::Unknown => None,
        }
    }

    /// Whether a caller holding `self` satisfies `required` (agno-behaviour.md §4).
    fn grants(&self, required: &ScopeRef<'_>) -> bool {
        if *self == ScopeRef::Admin {
            return true;
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
    /// let r = ScopeRules::default();
    /// assert_eq!(Scope::parse("agent_os:admin", &r), Scope::Admin);
    /// assert!(matches!(Scope::parse("agents:*:run", &r), Scope::Wildcard { .. }));
    /// assert!(matches!(Scope::parse("a:b:c:d", &r), Scope::Unknown(_)));
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
            Scope::Unknown(_) => ScopeRef::Unknown,
        }
    }

    /// Whether a caller holding `self` satisfies the requirement `required`.
    ///
    /// ```
    /// use jwt_core::{Scope, ScopeRules};
    /// let r = ScopeRules::default();
    /// let p = |s| Scope::parse(s, &r);
    /// assert!(p("agents:read").grants(&p("agents:a1:read")));
    /// assert!(p("agents:*:run").grants(&p("agents:run")));
    /// assert!(p("agents:a1:run").grants(&p("agents:a1:run")));
    /// assert!(!p("agents:a1:run").grants(&p("agents:a2:run")));
    /// assert!(!p("agents:a1:read").grants(&p("agents:read")));
    /// assert!(!p("agents:read").grants(&p("agents:run")));
    /// ```
    pub fn grants(&self, required: &Scope) -> bool {
        self.as_ref().grants(&required.as_ref())
    }
}

/// A caller's parsed scopes.
///
/// ```
/// use jwt_core::{ScopeRules, ScopeSet};
/// let set = ScopeSet::parse(["agents:a:read", "agents:b:run"], &ScopeRules::default());
/// assert!(set.can("agents:a:read"));
/// assert!(!set.can("agents:read"));
/// assert!(set.accessible_ids("agents", &["read"]).contains("a"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet {
    scopes: Arc<[Scope]>,
    rules: Arc<ScopeRules>,
}

impl ScopeSet {
    /// Parses the given scope strings.
    pub fn parse<I, S>(scopes: I, rules: &ScopeRules) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::with_rules(scopes, Arc::new(rules.clone()))
    }

    pub(crate) fn with_rules<I, S>(scopes: I, rules: Arc<ScopeRules>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes: Vec<Scope> = scopes
            .into_iter()
            .map(|s| Scope::parse(s.as_ref(), &rules))
            .collect();
        Self {
            scopes: scopes.into(),
            rules,
        }
    }

    /// The parsed scopes.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    /// The grammar the scopes were parsed with.
    pub fn rules(&self) -> &ScopeRules {
        &self.rules
    }

    /// Whether the set holds the admin scope.
    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    /// Whether some scope grants `required` (parsed with the same grammar).
    pub fn grants(&self, required: &Scope) -> bool {
        let required = required.as_ref();
        self.scopes.iter().any(|s| s.as_ref().grants(&required))
    }

    /// Whether some scope grants the requirement written as `required` (no allocation).
    pub fn can(&self, required: &str) -> bool {
        let required = ScopeRef::parse(required, &self.rules);
        self.scopes.iter().any(|s| s.as_ref().grants(&required))
    }

    /// The ids of `resource` on which the caller may perform one of `actions`
    /// (agno's `get_accessible_resource_ids`).
    pub fn accessible_ids(&self, resource: &str, actions: &[&str]) -> AccessibleIds {
        let resource = self.rules.resource(resource);
        let mut ids = BTreeSet::new();
        for scope in self.scopes.iter() {
            match scope {
                Scope::Admin => return AccessibleIds::All,
                Scope::Global {
                    resource: r,
                    action,
                }
                | Scope::Wildcard {
                    resource: r,
                    action,
                } if r == resource && actions.contains(&action.as_str()) => {
                    return AccessibleIds::All;
                }
                Scope::PerResource {
                    resource: r,
                    id,
                    action,
                } if r == resource && actions.contains(&action.as_str()) => {
                    ids.insert(id.clone());
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Scope {
        Scope::parse(s, &ScopeRules::default())
    }

    fn set(scopes: &[&str]) -> ScopeSet {
        ScopeSet::parse(scopes, &ScopeRules::default())
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
        for unknown in [
            "a:b:c:d",
            "justoneword",
            "",
            ":read",
            "agents:",
            "agents::read",
            "agents:read ",
            "agents:\u{0}:read",
            "agents:\"x\":read",
            "agents:\\:read",
            "аgents:read",
            "agents:read\u{200b}",
        ] {
            assert!(matches!(p(unknown), Scope::Unknown(_)), "{unknown:?}");
        }
    }

    #[test]
    fn custom_admin_replaces_default() {
        let rules = ScopeRules::default().admin_scope("os:root");
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
        assert!(!set(&["made-up"]).can("made-up"));
        assert!(!set(&[]).can("agents:read"));
    }

    #[test]
    fn aliases_apply_to_both_sides() {
        let rules = ScopeRules::default().alias("system", "config");
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
        fn parse_never_panics(s in "\\PC{0,60}") {
            let _ = p(&s);
        }
    }
}
