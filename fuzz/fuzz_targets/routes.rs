//! Route-pattern compilation and matching: fuzzed entries and scope templates go through
//! `RouteTable::builder()...build()`, then fuzzed methods and paths through `lookup` (on that
//! table and on the AgentOS preset), with the bound parameters rendered into the templates.

#![no_main]

use std::sync::OnceLock;

use jwt_core::{Access, RouteTable};
use jwt_core_fuzz::{fields, text};
use libfuzzer_sys::fuzz_target;

fn preset() -> &'static RouteTable {
    static T: OnceLock<RouteTable> = OnceLock::new();
    T.get_or_init(|| RouteTable::agent_os().build().expect("preset"))
}

fn exercise(table: &RouteTable, method: &str, path: &str) {
    let Ok(m) = table.lookup(method, path) else {
        return;
    };
    if let Access::Scopes(templates) = &*m.access {
        for t in templates {
            let _ = t.render(&m.params);
        }
    }
    for check in m.checks {
        let _ = check.scope.render(&m.params);
    }
    if m.route.is_none() {
        assert!(m.params.is_empty(), "parameters without a route");
    }
}

fuzz_target!(|data: &[u8]| {
    // Lines: method, path, then (entry, scope) pairs; the kind of entry is picked by the first
    // character of the scope line.
    let parts = fields(data, 10);
    let method = text(parts[0]);
    let path = parts.get(1).map(|p| text(p)).unwrap_or_default();
    exercise(preset(), &method, &path);

    let mut builder = RouteTable::builder();
    let mut rest = parts.iter().skip(2);
    while let Some(entry) = rest.next() {
        let entry = text(entry);
        let scope = rest.next().map(|s| text(s)).unwrap_or_default();
        builder = match scope.chars().next() {
            Some('!') => builder.exclude(&entry),
            Some('?') => builder.optional(&entry),
            Some('=') => builder.authenticated(&entry),
            Some('@') => builder.resource_check(&entry, &scope[1..], "read", "thing"),
            Some('#') => builder.listing(&entry, &scope[1..], "read"),
            _ => builder.route(&entry, [scope.as_str()]),
        };
    }
    if let Ok(table) = builder.build() {
        exercise(&table, &method, &path);
        exercise(&table, "GET", &path);
    }
});
