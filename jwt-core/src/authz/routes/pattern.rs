//! Compiled route patterns: literal, parameter, glob and tail segments, and how they match a
//! request's decoded segments.

use crate::error::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Literal(String),
    Param(String),
    /// Literal pieces between `*`s: `public-*` is `["public-", ""]`.
    Glob(Vec<String>),
    Tail(String),
}

impl Segment {
    /// Higher is more specific.
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 4,
            Segment::Glob(parts) if parts.iter().any(|p| !p.is_empty()) => 3,
            Segment::Glob(_) | Segment::Param(_) => 2,
            Segment::Tail(_) => 1,
        }
    }
}

pub(super) fn glob_match(parts: &[String], s: &str) -> bool {
    let (first, rest) = match parts.split_first() {
        Some(x) => x,
        None => return s.is_empty(),
    };
    let Some(mut s) = s.strip_prefix(first.as_str()) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return s.is_empty();
    };
    for piece in middle {
        match s.find(piece.as_str()) {
            Some(i) => s = &s[i + piece.len()..],
            None => return false,
        }
    }
    s.len() >= last.len() && s.ends_with(last.as_str())
}

/// A match's bound parameters: each name and the index of its (first) segment.
pub(super) type Bindings<'p> = smallvec::SmallVec<[(&'p str, usize); 4]>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    pub(super) segments: Vec<Segment>,
}

impl Pattern {
    pub(super) fn parse(entry: &str, path: &str) -> Result<Self, ConfigError> {
        let err = |reason| ConfigError::InvalidRoute {
            route: entry.to_owned(),
            reason,
        };
        let Some(rest) = path.strip_prefix('/') else {
            return Err(err("the path must start with '/'"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut segments = Vec::new();
        if !rest.is_empty() {
            let raw: Vec<&str> = rest.split('/').collect();
            for (i, seg) in raw.iter().enumerate() {
                segments.push(segment(seg, i + 1 == raw.len()).map_err(err)?);
            }
        }
        let names: Vec<&str> = segments
            .iter()
            .filter_map(|s| match s {
                Segment::Param(n) | Segment::Tail(n) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != names.len() {
            return Err(err("a parameter name is used twice"));
        }
        Ok(Self { segments })
    }

    pub(super) fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(n) | Segment::Tail(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// Matches the decoded segments `segs`; on success `out` holds each bound parameter's name
    /// and the index of its (first) segment.
    pub(super) fn matches<'p>(&'p self, segs: &[&str], out: &mut Bindings<'p>) -> bool {
        out.clear();
        let n = self.segments.len();
        let tail = matches!(self.segments.last(), Some(Segment::Tail(_)));
        if tail {
            if segs.len() < n {
                return false;
            }
        } else if segs.len() != n {
            return false;
        }
        for (i, seg) in self.segments.iter().enumerate() {
            let value = segs[i];
            match seg {
                Segment::Literal(l) => {
                    if l != value {
                        return false;
                    }
                }
                Segment::Param(name) | Segment::Tail(name) => out.push((name, i)),
                Segment::Glob(parts) => {
                    if !glob_match(parts, value) {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Whether segment `i` is compared with literal text (a literal, or a glob with literal
    /// pieces), where an escaped request segment is ambiguous.
    pub(super) fn is_literal_at(&self, i: usize) -> bool {
        match self.segments.get(i) {
            Some(Segment::Literal(_)) => true,
            Some(Segment::Glob(parts)) => parts.iter().any(|p| !p.is_empty()),
            _ => false,
        }
    }

    pub(super) fn rank(&self) -> Vec<u8> {
        self.segments.iter().map(Segment::rank).collect()
    }
}

/// One segment of a route pattern (`last`: the pattern's last one, where a tail may be).
fn segment(seg: &str, last: bool) -> Result<Segment, &'static str> {
    if seg.is_empty() {
        return Err("empty path segment");
    }
    if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        return match inner.strip_prefix('*') {
            Some(_) if !last => Err("{*tail} must be the last segment"),
            Some(name) => check_name(name).map(|()| Segment::Tail(name.to_owned())),
            None => check_name(inner).map(|()| Segment::Param(inner.to_owned())),
        };
    }
    // axum 0.7, actix-web's older docs and express write `:id` and `*rest`; this table (like
    // axum 0.8, actix-web and poem) binds `{id}` and `{*rest}`. As literals or globs they would
    // never match what the user meant.
    if seg
        .strip_prefix(':')
        .is_some_and(|name| check_name(name).is_ok())
    {
        return Err("`:name` is not a parameter here: write `{name}` (axum 0.8 syntax)");
    }
    if seg
        .strip_prefix('*')
        .is_some_and(|name| check_name(name).is_ok())
    {
        return Err(
            "`*name` is not a tail parameter here: write `{*name}` (axum 0.8 syntax); a glob is `*` alone or with literal text such as `*.json`",
        );
    }
    if seg.contains(['{', '}']) {
        return Err("a parameter must fill its whole segment");
    }
    if seg.contains('%') {
        return Err("percent-escapes are not allowed in a route: write the decoded character");
    }
    if seg == "." || seg == ".." {
        return Err("dot segments never match a request path");
    }
    Ok(if seg.contains('*') {
        Segment::Glob(seg.split('*').map(str::to_owned).collect())
    } else {
        Segment::Literal(seg.to_owned())
    })
}

fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("parameter names are [A-Za-z0-9_-]+");
    }
    Ok(())
}
