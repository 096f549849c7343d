//! Where a value sits in a token's claims: [`ClaimPath`] (a top-level member, an RFC 6901 JSON
//! pointer or a dotted path) and its [`ClaimPathError`].

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::token::payload::{ClaimLookup, Member};

pub use crate::error::ClaimPathError;

/// A path to a value inside the claims: a list of member names from the top-level object
/// (an all-digit name also indexes an array).
///
/// - [`ClaimPath::key`]: one top-level member, verbatim, whatever it contains
///   (`cognito:groups`, `https://example.com/roles`);
/// - [`ClaimPath::pointer`]: an RFC 6901 JSON pointer, `/realm_access/roles` (`~1` is `/`, `~0`
///   is `~`): reaches any member, including names with dots or slashes;
/// - [`ClaimPath::dotted`]: `realm_access.roles` (names cannot contain `.`);
/// - [`ClaimPath::parse`] (also `str::parse`): a pointer when it starts with `/`, else dotted.
///
/// ```
/// use jwt_core::ClaimPath;
/// let claims = serde_json::json!({
///     "realm_access": {"roles": ["admin"]},
///     "resource_access": {"shop.api": {"roles": ["orders-writer"]}},
///     "cognito:groups": ["admins"],
/// });
/// let claims = claims.as_object().unwrap();
/// let roles = ClaimPath::parse("realm_access.roles")?;
/// assert_eq!(roles, ClaimPath::parse("/realm_access/roles")?);
/// assert_eq!(roles.resolve(claims), Some(&serde_json::json!(["admin"])));
/// // A member name with a dot: a JSON pointer (or `from_segments`).
/// let client = ClaimPath::pointer("/resource_access/shop.api/roles")?;
/// assert!(client.resolve(claims).is_some());
/// // A colon is an ordinary character, in every form.
/// assert!(ClaimPath::parse("cognito:groups")?.resolve(claims).is_some());
/// assert_eq!(client.to_string(), "/resource_access/shop.api/roles");
/// # Ok::<(), jwt_core::ClaimPathError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimPath {
    segments: Vec<String>,
}

impl ClaimPath {
    /// One top-level member, named verbatim (an empty name never matches and is refused by
    /// [`crate::StandardClaims::validate`]).
    pub fn key(name: impl Into<String>) -> Self {
        Self {
            segments: vec![name.into()],
        }
    }

    /// A path from member names taken as they are, unchecked: an empty name never matches and
    /// is refused by [`crate::StandardClaims::validate`].
    pub(crate) fn from_literal(segments: Vec<String>) -> Self {
        Self { segments }
    }

    /// A path from its member names, verbatim.
    ///
    /// # Errors
    /// [`ClaimPathError::Empty`] for no name, [`ClaimPathError::EmptySegment`] for an empty one.
    pub fn from_segments<I, S>(segments: I) -> Result<Self, ClaimPathError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let segments: Vec<String> = segments.into_iter().map(Into::into).collect();
        if segments.is_empty() {
            return Err(ClaimPathError::Empty);
        }
        if segments.iter().any(String::is_empty) {
            return Err(ClaimPathError::EmptySegment {
                path: segments.join("."),
            });
        }
        Ok(Self { segments })
    }

    /// An RFC 6901 JSON pointer: `/realm_access/roles`, `/resource_access/my.client/roles`,
    /// `/https:~1~1example.com~1roles`.
    ///
    /// # Errors
    /// [`ClaimPathError::Empty`] for `""` or `/`, [`ClaimPathError::NotAPointer`] without the
    /// leading `/`, [`ClaimPathError::EmptySegment`] for an empty member name,
    /// [`ClaimPathError::BadEscape`] for `~` not followed by `0` or `1`.
    pub fn pointer(pointer: &str) -> Result<Self, ClaimPathError> {
        if pointer.is_empty() {
            return Err(ClaimPathError::Empty);
        }
        let Some(rest) = pointer.strip_prefix('/') else {
            return Err(ClaimPathError::NotAPointer {
                path: pointer.to_owned(),
            });
        };
        if rest.is_empty() {
            return Err(ClaimPathError::Empty);
        }
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            if raw.is_empty() {
                return Err(ClaimPathError::EmptySegment {
                    path: pointer.to_owned(),
                });
            }
            segments.push(unescape(raw).ok_or_else(|| ClaimPathError::BadEscape {
                path: pointer.to_owned(),
            })?);
        }
        Ok(Self { segments })
    }

    /// A dotted path: `realm_access.roles`. Member names cannot contain `.` here; use
    /// [`ClaimPath::pointer`] or [`ClaimPath::key`] for those.
    ///
    /// # Errors
    /// [`ClaimPathError::Empty`] for `""`, [`ClaimPathError::EmptySegment`] for `a..b`, `.a`,
    /// `a.`.
    pub fn dotted(path: &str) -> Result<Self, ClaimPathError> {
        if path.is_empty() {
            return Err(ClaimPathError::Empty);
        }
        Self::from_segments(path.split('.')).map_err(|_| ClaimPathError::EmptySegment {
            path: path.to_owned(),
        })
    }

    /// A JSON pointer when `path` starts with `/`, else a dotted path.
    ///
    /// # Errors
    /// As [`ClaimPath::pointer`] and [`ClaimPath::dotted`].
    pub fn parse(path: &str) -> Result<Self, ClaimPathError> {
        if path.starts_with('/') {
            Self::pointer(path)
        } else {
            Self::dotted(path)
        }
    }

    /// The member names, from the top-level object down.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The value at this path, if every member exists. An all-digit member name without
    /// leading zeros also indexes an array (RFC 6901).
    pub fn resolve<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        match self.resolve_member(claims)? {
            Member::Tree(value) => Some(value),
            Member::Raw(_) => None,
        }
    }

    /// The member at this path in a tree or a payload read in place.
    pub(crate) fn resolve_member<'a, L: ClaimLookup + ?Sized>(
        &self,
        claims: &'a L,
    ) -> Option<Member<'a>> {
        let (first, rest) = self.segments.split_first()?;
        let mut value = claims.member(first)?;
        for segment in rest {
            value = value.child(segment, array_index(segment))?;
        }
        Some(value)
    }
}

/// RFC 6901 §4 array index: `0` or digits without a leading zero.
fn array_index(segment: &str) -> Option<usize> {
    let digits = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    if !digits || (segment.len() > 1 && segment.starts_with('0')) {
        return None;
    }
    segment.parse().ok()
}

/// `~1` → `/`, `~0` → `~`; `None` for any other `~`.
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

impl FromStr for ClaimPath {
    type Err = ClaimPathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The JSON pointer form (`/realm_access/roles`, `~` and `/` escaped).
impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.segments {
            write!(f, "/{}", segment.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn path(s: &str) -> Vec<String> {
        ClaimPath::parse(s).unwrap().segments().to_vec()
    }

    #[test]
    fn forms() {
        assert_eq!(path("realm_access.roles"), ["realm_access", "roles"]);
        assert_eq!(path("/realm_access/roles"), ["realm_access", "roles"]);
        assert_eq!(path("scope"), ["scope"]);
        assert_eq!(path("cognito:groups"), ["cognito:groups"]);
        assert_eq!(path("/cognito:groups"), ["cognito:groups"]);
        assert_eq!(path("/a.b/c"), ["a.b", "c"]);
        assert_eq!(path("/https:~1~1x.test~1roles"), ["https://x.test/roles"]);
        assert_eq!(path("/a~0b"), ["a~b"]);
        assert_eq!(path("/a~01"), ["a~1"]);
        assert_eq!(ClaimPath::key("a.b/c").segments(), ["a.b/c"]);
        assert_eq!("x.y".parse::<ClaimPath>().unwrap().segments(), ["x", "y"]);
    }

    #[test]
    fn errors() {
        assert_eq!(ClaimPath::parse(""), Err(ClaimPathError::Empty));
        assert_eq!(ClaimPath::parse("/"), Err(ClaimPathError::Empty));
        assert_eq!(ClaimPath::pointer(""), Err(ClaimPathError::Empty));
        assert_eq!(
            ClaimPath::pointer("realm_access/roles"),
            Err(ClaimPathError::NotAPointer {
                path: "realm_access/roles".into()
            })
        );
        for bad in ["a..b", ".a", "a.", "."] {
            assert!(
                matches!(
                    ClaimPath::parse(bad),
                    Err(ClaimPathError::EmptySegment { .. })
                ),
                "{bad}"
            );
        }
        for bad in ["/a//b", "/a/", "//"] {
            assert!(
                matches!(
                    ClaimPath::parse(bad),
                    Err(ClaimPathError::EmptySegment { .. })
                ),
                "{bad}"
            );
        }
        for bad in ["/a~", "/a~2", "/~x"] {
            assert!(
                matches!(ClaimPath::parse(bad), Err(ClaimPathError::BadEscape { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            ClaimPath::from_segments(Vec::<String>::new()),
            Err(ClaimPathError::Empty)
        );
        assert!(ClaimPath::from_segments(["a", ""]).is_err());
    }

    #[test]
    fn resolve() {
        let claims = json!({
            "realm_access": {"roles": ["a", "b"]},
            "resource_access": {"my.client": {"roles": ["c"]}, "other": {"roles": ["d"]}},
            "list": [{"x": 1}, {"x": 2}],
            "scope": "s1 s2",
        });
        let claims = claims.as_object().unwrap();
        let at = |p: &str| ClaimPath::parse(p).unwrap().resolve(claims).cloned();
        assert_eq!(at("realm_access.roles"), Some(json!(["a", "b"])));
        assert_eq!(at("/resource_access/my.client/roles"), Some(json!(["c"])));
        // The dotted form splits `my.client`: not found, never a guess.
        assert_eq!(at("resource_access.my.client.roles"), None);
        assert_eq!(at("list.1.x"), Some(json!(2)));
        assert_eq!(at("/list/0/x"), Some(json!(1)));
        assert_eq!(at("list.01.x"), None);
        assert_eq!(at("list.-"), None);
        assert_eq!(at("list.9"), None);
        assert_eq!(at("scope.x"), None);
        assert_eq!(at("missing.roles"), None);
        assert_eq!(at("realm_access.roles.0"), Some(json!("a")));
    }

    #[test]
    fn display_is_a_pointer_that_parses_back() {
        let p = ClaimPath::from_segments(["https://x.test/roles", "a~b", "c.d"]).unwrap();
        assert_eq!(p.to_string(), "/https:~1~1x.test~1roles/a~0b/c.d");
        assert_eq!(ClaimPath::parse(&p.to_string()).unwrap(), p);
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = ClaimPath::parse(&s);
        }

        #[test]
        fn pointer_round_trips(segs in proptest::collection::vec("[a-z~/.:]{1,6}", 1..4)) {
            let p = ClaimPath::from_segments(segs.clone()).unwrap();
            let back = ClaimPath::pointer(&p.to_string()).unwrap();
            prop_assert_eq!(back.segments(), &segs[..]);
        }
    }
}
