//! The shared route table, the tokens and the generated (path spelling × token) corpus.
//!
//! Everything here is deterministic: the same base paths, spelled the same ways, crossed with
//! the same tokens, in the same order on every run.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use jwt_core::{JwtAuth, RouteTable, StaticKeys, mint};
use serde_json::json;

/// The admin scope of the table.
pub(crate) const ADMIN_SCOPE: &str = "root";

/// Route names: each framework's handler answers with one of these, and [`required_scopes`]
/// maps it back to what the table demands.
pub(crate) mod route {
    /// `GET /items`.
    pub(crate) const ITEMS: &str = "GET /items";
    /// `GET /items/{id}`.
    pub(crate) const ITEM: &str = "GET /items/{id}";
    /// `POST /items/{id}/runs`.
    pub(crate) const ITEM_RUNS: &str = "POST /items/{id}/runs";
    /// `POST /admin@reset`: a literal segment with a reserved character.
    pub(crate) const ADMIN_RESET: &str = "POST /admin@reset";
    /// `GET /files/{*path}`: a tail.
    pub(crate) const FILES: &str = "GET /files/{*path}";
    /// `GET /health`: excluded.
    pub(crate) const HEALTH: &str = "GET /health";
    /// `GET /api/admin/items`: in the nested mount.
    pub(crate) const ADMIN_ITEMS: &str = "GET /api/admin/items";
    /// `GET /api/admin/items/{id}`: in the nested mount.
    pub(crate) const ADMIN_ITEM: &str = "GET /api/admin/items/{id}";
}

/// What a route demands: `None` for the excluded `/health`, else the scope templates.
pub(crate) fn required_scopes(route_name: &str) -> Option<Option<&'static [&'static str]>> {
    Some(match route_name {
        route::ITEMS => Some(&["items:read"]),
        route::ITEM => Some(&["items:{id}:read"]),
        route::ITEM_RUNS => Some(&["items:{id}:run"]),
        route::ADMIN_RESET => Some(&["admin:reset"]),
        route::FILES => Some(&["files:read"]),
        route::HEALTH => None,
        route::ADMIN_ITEMS => Some(&["admin:items:read"]),
        route::ADMIN_ITEM => Some(&["admin:items:{id}:read"]),
        _ => return None,
    })
}

/// The one `JwtAuth` every server uses: HS256 with the conformance secret and a custom table.
pub(crate) fn auth() -> JwtAuth {
    let table = RouteTable::builder()
        .route(route::ITEMS, ["items:read"])
        .route(route::ITEM, ["items:{id}:read"])
        .route(route::ITEM_RUNS, ["items:{id}:run"])
        .route(route::ADMIN_RESET, ["admin:reset"])
        .route(route::FILES, ["files:read"])
        .exclude("/health")
        .route(route::ADMIN_ITEMS, ["admin:items:read"])
        .route(route::ADMIN_ITEM, ["admin:items:{id}:read"])
        .admin_scope(ADMIN_SCOPE)
        .build()
        .expect("valid route table");
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(conformance::HS_SECRET).expect("valid secret"))
        .scopes(table)
        .build()
        .expect("valid configuration")
}

/// One token of the corpus.
#[derive(Debug)]
pub(crate) struct Token {
    /// A short name for reports.
    pub(crate) name: &'static str,
    /// The `Authorization` header value, if any.
    pub(crate) header: Option<String>,
    /// Whether the middleware must accept it.
    pub(crate) valid: bool,
    /// The scopes it carries (they grant something only when `valid`).
    pub(crate) scopes: Vec<&'static str>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The tokens: none, garbage, invalid ones carrying the admin scope, and valid ones from no
/// scope up to the admin scope.
pub(crate) fn tokens() -> Vec<Token> {
    let now = now();
    let signed = |secret: &[u8], exp: u64, scopes: &[&str]| {
        let claims = json!({"sub": "alice", "exp": exp, "scopes": scopes});
        let token = mint::hs256(secret, &claims).expect("mint");
        Some(format!("Bearer {token}"))
    };
    let valid = |name, scopes: &[&'static str]| Token {
        name,
        header: signed(conformance::HS_SECRET, now + 3600, scopes),
        valid: true,
        scopes: scopes.to_vec(),
    };
    vec![
        Token {
            name: "none",
            header: None,
            valid: false,
            scopes: Vec::new(),
        },
        Token {
            name: "garbage",
            header: Some("Bearer not.a.jwt".into()),
            valid: false,
            scopes: Vec::new(),
        },
        Token {
            name: "expired-root",
            header: signed(conformance::HS_SECRET, now - 3600, &[ADMIN_SCOPE]),
            valid: false,
            scopes: vec![ADMIN_SCOPE],
        },
        Token {
            name: "wrong-key-root",
            header: signed(conformance::HS_OTHER, now + 3600, &[ADMIN_SCOPE]),
            valid: false,
            scopes: vec![ADMIN_SCOPE],
        },
        valid("no-scopes", &[]),
        valid("items:read", &["items:read"]),
        valid("items:a1:read", &["items:a1:read"]),
        valid("items:a-1:read", &["items:a-1:read"]),
        valid("items:a1:run", &["items:a1:run"]),
        valid("admin:reset", &["admin:reset"]),
        valid("admin:items:read", &["admin:items:read"]),
        valid("files:read", &["files:read"]),
        valid("root", &[ADMIN_SCOPE]),
    ]
}

/// How a base path's segment is matched by the routers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A literal segment.
    Literal,
    /// A `{param}` segment.
    Param,
    /// A segment inside a `{*tail}`.
    Tail,
}

/// A request path before respelling: method and segments.
#[derive(Debug)]
struct Base {
    method: &'static str,
    segments: Vec<(&'static str, Kind)>,
}

/// The base requests: every route, wrong methods, and unknown paths (some near the nest).
fn bases() -> Vec<Base> {
    use Kind::{Literal as L, Param as P, Tail as T};
    let b = |method, segments: &[(&'static str, Kind)]| Base {
        method,
        segments: segments.to_vec(),
    };
    vec![
        // Every route.
        b("GET", &[("items", L)]),
        b("GET", &[("items", L), ("a1", P)]),
        b("GET", &[("items", L), ("a-1", P)]),
        b("POST", &[("items", L), ("a1", P), ("runs", L)]),
        b("POST", &[("admin@reset", L)]),
        b("GET", &[("files", L), ("docs", T), ("a1.txt", T)]),
        b("GET", &[("health", L)]),
        b("GET", &[("api", L), ("admin", L), ("items", L)]),
        b("GET", &[("api", L), ("admin", L), ("items", L), ("a1", P)]),
        // Wrong methods.
        b("POST", &[("items", L)]),
        b("DELETE", &[("items", L), ("a1", P)]),
        b("GET", &[("items", L), ("a1", P), ("runs", L)]),
        b("GET", &[("admin@reset", L)]),
        b("POST", &[("health", L)]),
        b(
            "DELETE",
            &[("api", L), ("admin", L), ("items", L), ("a1", P)],
        ),
        // Unknown paths.
        b("GET", &[("nothing", L)]),
        b("GET", &[("items", L), ("a1", P), ("extra", L)]),
        b("GET", &[("api", L), ("admin", L)]),
        b("GET", &[("api", L), ("admin", L), ("other", L)]),
        b("GET", &[("api", L), ("items", L)]),
        b("GET", &[("admin", L), ("items", L)]),
    ]
}

/// `%XX` for a byte, upper-case hex.
fn enc(b: u8) -> String {
    format!("%{b:02X}")
}

/// Every percent-escape of `s`, in upper-case hex.
fn enc_all(s: &str) -> String {
    s.bytes().map(enc).collect()
}

fn join(segments: &[String]) -> String {
    let mut out = String::new();
    for s in segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Every spelling of one base path (deduplicated, in a fixed order).
fn spellings(base: &Base) -> Vec<String> {
    let plain: Vec<String> = base.segments.iter().map(|(s, _)| (*s).to_owned()).collect();
    let n = plain.len();
    let mut out = vec![join(&plain)];
    // Trailing and doubled slashes.
    out.push(format!("{}/", join(&plain)));
    out.push(format!("{}//", join(&plain)));
    for i in 0..n {
        let mut segs = plain.clone();
        segs.insert(i, String::new());
        out.push(join(&segs));
    }
    for (i, (seg, kind)) in base.segments.iter().enumerate() {
        let with = |value: String| {
            let mut segs = plain.clone();
            segs[i] = value;
            join(&segs)
        };
        // One character percent-encoded, upper and lower hex.
        for (j, b) in seg.bytes().enumerate() {
            let upper = enc(b);
            let lower = upper.to_ascii_lowercase();
            out.push(with(format!("{}{upper}{}", &seg[..j], &seg[j + 1..])));
            if lower != upper {
                out.push(with(format!("{}{lower}{}", &seg[..j], &seg[j + 1..])));
            }
        }
        // The whole segment encoded; its first character double-encoded.
        out.push(with(enc_all(seg)));
        out.push(with(format!("%25{:02X}{}", seg.as_bytes()[0], &seg[1..])));
        // `;` path parameters, case changes, non-ASCII (raw and encoded).
        out.push(with(format!("{seg};x")));
        out.push(with(format!("{};x", &seg[..1])));
        if *kind == Kind::Literal {
            let mut upper = (*seg).to_owned();
            upper[..1].make_ascii_uppercase();
            out.push(with(upper));
            out.push(with(seg.to_ascii_uppercase()));
        }
        out.push(with(format!("{seg}\u{e9}")));
        out.push(with(format!("{seg}%C3%A9")));
        out.push(with(format!("{seg}%c3%a9")));
        if *kind != Kind::Literal {
            // Parameter values that routers and the core might read differently.
            for value in [
                "", ".", "..", "%2e", "%2E%2e", "a%2F1", "a%2f1", "a%252F1", "a%2Da1", "a%zz",
                "a%", "a%00", "%FF", "%C3%A9", "\u{e9}", "a+1", "a%201", "a@1", "a:1", "a%3A1",
            ] {
                out.push(with(value.to_owned()));
            }
        }
        // A segment joined to the next by an encoded slash.
        if i + 1 < n {
            let mut segs = plain.clone();
            let next = segs.remove(i + 1);
            segs[i] = format!("{seg}%2F{next}");
            out.push(join(&segs));
            let mut segs = plain.clone();
            let next = segs.remove(i + 1);
            segs[i] = format!("{seg}%2f{next}");
            out.push(join(&segs));
        }
    }
    // Dot segments, raw and encoded, at every position.
    for i in 0..=n {
        for dots in [
            vec!["."],
            vec!["zz", ".."],
            vec!["%2e"],
            vec!["%2E"],
            vec!["zz", "%2E%2e"],
            vec!["zz", "%2e%2e"],
            vec!["zz", ".%2E"],
        ] {
            let mut segs = plain.clone();
            for (k, d) in dots.iter().enumerate() {
                segs.insert(i + k, (*d).to_owned());
            }
            out.push(join(&segs));
        }
    }
    // `..` that climbs back to the same path.
    if n >= 2 {
        let mut segs = plain.clone();
        segs.insert(1, "..".into());
        segs.insert(1, plain[1].clone());
        out.push(join(&segs));
    }
    // Whole-path case change.
    out.push(join(&plain).to_ascii_uppercase());
    let mut seen = BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// One request of the corpus.
#[derive(Debug)]
pub(crate) struct Case {
    /// The method.
    pub(crate) method: &'static str,
    /// The request target, exactly as written on the wire.
    pub(crate) path: String,
    /// Index into the token list.
    pub(crate) token: usize,
}

/// The corpus: every spelling of every base path crossed with every token (`tokens` long).
pub(crate) fn cases(tokens: usize) -> Vec<Case> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for base in bases() {
        for path in spellings(&base) {
            if !seen.insert((base.method, path.clone())) {
                continue;
            }
            for token in 0..tokens {
                out.push(Case {
                    method: base.method,
                    path: path.clone(),
                    token,
                });
            }
        }
    }
    out
}

/// A plain request every adapter must route to a known handler when the admin token is sent.
#[derive(Debug)]
pub(crate) struct Canary {
    /// The method.
    pub(crate) method: &'static str,
    /// The path, spelled plainly.
    pub(crate) path: &'static str,
    /// The handler that must run.
    pub(crate) route: &'static str,
    /// The parameters it must see.
    pub(crate) params: &'static [(&'static str, &'static str)],
}

/// The canaries: the plain spelling of every route. They prove each server is up, routes, and
/// reports what its handler saw, so the checks cannot pass on servers that answer nothing.
pub(crate) fn canaries() -> Vec<Canary> {
    let c = |method, path, route, params| Canary {
        method,
        path,
        route,
        params,
    };
    vec![
        c("GET", "/items", route::ITEMS, &[]),
        c("GET", "/items/a1", route::ITEM, &[("id", "a1")]),
        c("POST", "/items/a1/runs", route::ITEM_RUNS, &[("id", "a1")]),
        c("POST", "/admin@reset", route::ADMIN_RESET, &[]),
        c(
            "GET",
            "/files/docs/a1.txt",
            route::FILES,
            &[("path", "docs/a1.txt")],
        ),
        c("GET", "/health", route::HEALTH, &[]),
        c("GET", "/api/admin/items", route::ADMIN_ITEMS, &[]),
        c(
            "GET",
            "/api/admin/items/a1",
            route::ADMIN_ITEM,
            &[("id", "a1")],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_cover_the_brief() {
        let base = Base {
            method: "POST",
            segments: vec![
                ("items", Kind::Literal),
                ("a-1", Kind::Param),
                ("runs", Kind::Literal),
            ],
        };
        let s = spellings(&base);
        for want in [
            "/items/a-1/runs",
            "/items/a%2D1/runs",
            "/items/a%2d1/runs",
            "/items/%61%2D%31/runs",
            "/items/%2561-1/runs",
            "/items//runs",
            "/items/a-1/runs/",
            "//items/a-1/runs",
            "/items/./a-1/runs",
            "/items/zz/../a-1/runs",
            "/items/zz/%2E%2e/a-1/runs",
            "/items;x/a-1/runs",
            "/Items/a-1/runs",
            "/items/a%2F1/runs",
            "/items/a-1\u{e9}/runs",
            "/items/a-1%C3%A9/runs",
        ] {
            assert!(s.iter().any(|p| p == want), "missing {want}");
        }
    }
}
