//! Scope parsing and matching: `Scope::parse`, `ScopeSet::can` / `grants` / `accessible_ids`
//! with arbitrary strings, checking the grammar's invariants.

#![no_main]

use jwt_core::{AccessibleIds, Scope, ScopeRules, ScopeSet};
use jwt_core_fuzz::{fields, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Line 0: the required scope; line 1: a resource name; the rest: granted scopes.
    let parts = fields(data, 34);
    let required = text(parts[0]);
    let resource = parts.get(1).map(|r| text(r)).unwrap_or_default();
    let granted: Vec<String> = parts.iter().skip(2).map(|s| text(s)).collect();

    for rules in [
        ScopeRules::agent_os(),
        ScopeRules::agent_os().alias("system", "config"),
        ScopeRules::agent_os().admin_scope(required.clone()),
        ScopeRules::hierarchical(),
    ] {
        let set = ScopeSet::parse(&granted, &rules);
        let req = Scope::parse(&required, &rules);
        let can = set.can(&required);
        assert_eq!(can, set.grants(&req));
        assert_eq!(can, set.scopes().iter().any(|s| s.grants(&req)));

        // Admin grants everything; an unknown scope is granted by admin only.
        if set.is_admin() {
            assert!(can);
        }
        if matches!(req, Scope::Unknown(_)) {
            assert_eq!(can, set.is_admin());
        }
        // An exact permission is granted by admin or by exactly the same string.
        if let Scope::Exact(text) = &req {
            let held = set
                .scopes()
                .iter()
                .any(|s| matches!(s, Scope::Exact(t) if t == text));
            assert_eq!(can, set.is_admin() || held);
        }
        if rules.admin().is_none() {
            assert!(!set.is_admin());
        }
        for s in set.scopes() {
            // Every scope-token (hierarchical, exact or admin) grants itself.
            if !matches!(s, Scope::Unknown(_)) {
                assert!(s.grants(s), "{s:?} does not grant itself");
            }
            // A per-resource scope never grants the global scope of its resource.
            if let Scope::PerResource {
                resource, action, ..
            } = s
                && rules.admin() != Some(format!("{resource}:{action}").as_str())
            {
                let global = Scope::Global {
                    resource: resource.clone(),
                    action: action.clone(),
                };
                assert!(!s.grants(&global));
            }
        }

        // accessible_ids agrees with can() on the ids it lists.
        for action in ["read", "run"] {
            match set.accessible_ids(&resource, &[action]) {
                AccessibleIds::All => {}
                AccessibleIds::Only(ids) => {
                    if rules == ScopeRules::agent_os() {
                        for id in &ids {
                            let scope = format!("{resource}:{id}:{action}");
                            assert!(set.can(&scope), "{scope} listed but not granted");
                        }
                    }
                }
            }
        }
    }
});
