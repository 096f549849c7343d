//! A verified JWT's claims read where they lie: the payload's JSON text is kept as it came, its
//! top-level members are indexed in one strict pass (no duplicate names at any depth, an object
//! only), and each rule reads the one member it needs, parsed in place. No tree is built for a
//! decision; [`Claims::tree`] builds the `serde_json` map once, when a handler or a rare rule
//! (a `cnf`, an `act`, a custom [`crate::ClaimsConfig`]) asks for it.
//!
//! [`ClaimLookup`] is what the claim rules ([`crate::Validation`], [`crate::StandardClaims`])
//! read through, so that a tree (an introspection answer, an API key's claims, a custom
//! verifier's) and a payload are judged by the same code.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};
use smallvec::SmallVec;

use crate::error::InvalidToken;
use crate::token::jose::{KeySeed, MemberSeed, Strict, parse_strict_json};

/// Read access to a token's claims, one top-level member at a time.
pub(crate) trait ClaimLookup {
    /// The member `name`, if present.
    fn member(&self, name: &str) -> Option<Member<'_>>;

    /// The claims as a `serde_json` map: borrowed when they are one, else built.
    fn tree(&self) -> Cow<'_, Map<String, Value>>;
}

impl ClaimLookup for Map<String, Value> {
    fn member(&self, name: &str) -> Option<Member<'_>> {
        self.get(name).map(Member::Tree)
    }

    fn tree(&self) -> Cow<'_, Map<String, Value>> {
        Cow::Borrowed(self)
    }
}

/// One claim value: in a tree, or still JSON text (already checked strict).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Member<'a> {
    Tree(&'a Value),
    Raw(&'a RawValue),
}

impl<'a> Member<'a> {
    fn first(raw: &RawValue) -> u8 {
        raw.get().as_bytes().first().copied().unwrap_or(b' ')
    }

    /// JSON `null`.
    pub(crate) fn is_null(self) -> bool {
        match self {
            Member::Tree(v) => v.is_null(),
            Member::Raw(r) => r.get() == "null",
        }
    }

    /// A JSON string.
    pub(crate) fn is_string(self) -> bool {
        match self {
            Member::Tree(v) => v.is_string(),
            Member::Raw(r) => Self::first(r) == b'"',
        }
    }

    /// The string, borrowed unless it holds escapes; `None` for any other type.
    pub(crate) fn as_str(self) -> Option<Cow<'a, str>> {
        match self {
            Member::Tree(v) => v.as_str().map(Cow::Borrowed),
            Member::Raw(r) if Self::first(r) == b'"' => {
                let text = r.get();
                // Checked JSON: a string without escapes is its text between the quotes.
                match text.get(1..text.len() - 1) {
                    Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
                    _ => KeySeed
                        .deserialize(&mut serde_json::Deserializer::from_str(text))
                        .ok(),
                }
            }
            Member::Raw(_) => None,
        }
    }

    /// The number; `None` for any other type.
    pub(crate) fn as_number(self) -> Option<Cow<'a, Number>> {
        match self {
            Member::Tree(Value::Number(n)) => Some(Cow::Borrowed(n)),
            Member::Tree(_) => None,
            Member::Raw(r) if matches!(Self::first(r), b'-' | b'0'..=b'9') => {
                let text = r.get();
                // Checked JSON: up to 19 digits alone are a `u64`, as serde_json reads them.
                if text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit()) {
                    return text
                        .parse::<u64>()
                        .ok()
                        .map(|n| Cow::Owned(Number::from(n)));
                }
                serde_json::from_str(text).ok().map(Cow::Owned)
            }
            Member::Raw(_) => None,
        }
    }

    /// Calls `each` with every element of an array; `false` (nothing called) when it is not one.
    pub(crate) fn each_item(self, mut each: impl FnMut(Member<'a>)) -> bool {
        match self {
            Member::Tree(Value::Array(items)) => {
                items.iter().map(Member::Tree).for_each(each);
                true
            }
            Member::Tree(_) => false,
            Member::Raw(r) if Self::first(r) == b'[' => {
                let mut de = serde_json::Deserializer::from_str(r.get());
                de::Deserializer::deserialize_seq(&mut de, Items(&mut each)).is_ok()
            }
            Member::Raw(_) => false,
        }
    }

    /// Calls `each` with every string element of an array (any other element skipped); `false`
    /// (nothing called) when it is not an array.
    pub(crate) fn each_string(self, mut each: impl FnMut(Cow<'a, str>)) -> bool {
        match self {
            Member::Tree(Value::Array(items)) => {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .for_each(|s| each(Cow::Borrowed(s)));
                true
            }
            Member::Tree(_) => false,
            Member::Raw(r) if Self::first(r) == b'[' => {
                let mut de = serde_json::Deserializer::from_str(r.get());
                let unused = Cell::new(false);
                de::Deserializer::deserialize_seq(&mut de, Strings(&mut each, &unused)).is_ok()
            }
            Member::Raw(_) => false,
        }
    }

    /// An object's member `name`, or an array's element at `index` (as RFC 6901 reads it).
    pub(crate) fn child(self, name: &str, index: Option<usize>) -> Option<Member<'a>> {
        match self {
            Member::Tree(Value::Object(map)) => map.get(name).map(Member::Tree),
            Member::Tree(Value::Array(items)) => items.get(index?).map(Member::Tree),
            Member::Tree(_) => None,
            Member::Raw(r) => match Self::first(r) {
                b'{' => {
                    let mut de = serde_json::Deserializer::from_str(r.get());
                    de::Deserializer::deserialize_map(&mut de, Find(name)).ok()?
                }
                b'[' => {
                    let (mut at, mut found) = (0usize, None);
                    let wanted = index?;
                    self.each_item(|item| {
                        if at == wanted {
                            found = Some(item);
                        }
                        at += 1;
                    });
                    found
                }
                _ => None,
            },
        }
    }

    /// The value as a tree.
    pub(crate) fn to_value(self) -> Value {
        match self {
            Member::Tree(v) => v.clone(),
            // Checked strict when the payload was indexed.
            Member::Raw(r) => parse_strict_json(r.get().as_bytes()).unwrap_or(Value::Null),
        }
    }
}

/// Visits an array's elements as raw values.
struct Items<'f, F>(&'f mut F);

impl<'de, F: FnMut(Member<'de>)> Visitor<'de> for Items<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            (self.0)(Member::Raw(item));
        }
        Ok(())
    }
}

/// Visits an array's string elements, borrowed unless they hold escapes (any other element is
/// read past: the text was checked strict when it was indexed).
struct Strings<'f, 'c, F>(&'f mut F, &'c Cell<bool>);

impl<'de, F: FnMut(Cow<'de, str>)> Visitor<'de> for Strings<'_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element_seed(MemberSeed(self.1))? {
            if let Some(s) = item {
                (self.0)(s);
            }
        }
        Ok(())
    }
}

/// Finds one member of an object, as a raw value.
struct Find<'n>(&'n str);

impl<'de> Visitor<'de> for Find<'_> {
    type Value = Option<Member<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        // Read to the end: serde_json refuses a map left before its closing brace.
        let mut found = None;
        while let Some(key) = access.next_key_seed(KeySeed)? {
            if found.is_none() && key == self.0 {
                found = Some(Member::Raw(access.next_value::<&'de RawValue>()?));
            } else {
                access.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The top-level members of a payload: names and raw values, borrowed from its text.
pub(crate) struct Members<'a> {
    text: &'a str,
    members: SmallVec<[(Cow<'a, str>, &'a RawValue); 16]>,
}

impl<'a> Members<'a> {
    /// Indexes `text`: strict JSON (as [`parse_strict_json`]: the same refusals, for the same
    /// reasons) holding an object.
    pub(crate) fn index(text: &'a str) -> Result<Self, InvalidToken> {
        // First the whole text, read as a tree would be but keeping nothing: repeated names at
        // any depth, serde_json's nesting limit, numbers out of range, escapes naming no
        // character. Capturing raw values only skips over them, checking none of these.
        let duplicate = Cell::new(false);
        let mut de = serde_json::Deserializer::from_str(text);
        let checked = Strict(&duplicate)
            .deserialize(&mut de)
            .and_then(|()| de.end());
        match checked {
            Ok(()) => {}
            Err(_) if duplicate.get() => return Err(InvalidToken::DuplicateMember),
            Err(_) => return Err(InvalidToken::Malformed),
        }
        // Checked JSON: the only refusal left is a value that is not an object.
        let mut de = serde_json::Deserializer::from_str(text);
        match de::Deserializer::deserialize_map(&mut de, Top) {
            Ok(members) => Ok(Self { text, members }),
            Err(_) => Err(InvalidToken::ClaimsNotObject),
        }
    }
}

impl ClaimLookup for Members<'_> {
    fn member(&self, name: &str) -> Option<Member<'_>> {
        self.members
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, raw)| Member::Raw(raw))
    }

    fn tree(&self) -> Cow<'_, Map<String, Value>> {
        Cow::Owned(payload_tree(self.text))
    }
}

/// The tree of a payload already indexed (so strict and an object).
fn payload_tree(text: &str) -> Map<String, Value> {
    match parse_strict_json(text.as_bytes()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

type TopMembers<'de> = SmallVec<[(Cow<'de, str>, &'de RawValue); 16]>;

/// The members of a checked text's top-level object (any other value is refused by
/// `deserialize_map`).
struct Top;

impl<'de> Visitor<'de> for Top {
    type Value = TopMembers<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut members = TopMembers::new();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            members.push((key, access.next_value::<&'de RawValue>()?));
        }
        Ok(members)
    }
}

/// A principal's claims: a tree, or a verified payload's text whose tree is built on first use.
#[derive(Debug)]
pub(crate) enum Claims {
    Tree(Map<String, Value>),
    Payload {
        text: String,
        tree: OnceLock<Map<String, Value>>,
    },
}

impl Claims {
    /// The claims of a payload already indexed by [`Members::index`].
    pub(crate) fn payload(text: String) -> Self {
        Claims::Payload {
            text,
            tree: OnceLock::new(),
        }
    }

    /// The claims as a `serde_json` map, built once.
    pub(crate) fn tree(&self) -> &Map<String, Value> {
        match self {
            Claims::Tree(map) => map,
            Claims::Payload { text, tree } => tree.get_or_init(|| payload_tree(text)),
        }
    }

    /// A rough size in memory, for the token cache's weigher.
    pub(crate) fn estimated_bytes(&self) -> usize {
        match self {
            Claims::Tree(map) => json_bytes_of(map),
            Claims::Payload { text, tree } => 24 + text.len() + tree.get().map_or(0, json_bytes_of),
        }
    }
}

/// A rough size of a claims map in memory.
fn json_bytes_of(map: &Map<String, Value>) -> usize {
    48 + map
        .iter()
        .map(|(k, v)| 48 + k.len() + json_bytes(v))
        .sum::<usize>()
}

/// A rough size of a JSON value in memory.
fn json_bytes(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) => 16,
        Value::String(s) => 24 + s.len(),
        Value::Array(a) => 24 + a.iter().map(json_bytes).sum::<usize>(),
        Value::Object(o) => json_bytes_of(o),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn index(text: &str) -> Result<(), InvalidToken> {
        Members::index(text).map(drop)
    }

    #[test]
    fn index_is_as_strict_as_the_tree() {
        for (text, want) in [
            (r#"{"a":1,"a":2}"#, Err(InvalidToken::DuplicateMember)),
            (r#"{"a":{"b":1,"b":1}}"#, Err(InvalidToken::DuplicateMember)),
            (
                r#"{"a":[{"b":1},{"c":[{"d":1,"d":2}]}]}"#,
                Err(InvalidToken::DuplicateMember),
            ),
            (r#"[{"a":1,"a":2}]"#, Err(InvalidToken::DuplicateMember)),
            (r#"["a"]"#, Err(InvalidToken::ClaimsNotObject)),
            (r#""a""#, Err(InvalidToken::ClaimsNotObject)),
            ("7", Err(InvalidToken::ClaimsNotObject)),
            ("null", Err(InvalidToken::ClaimsNotObject)),
            (r#"{"a":1}x"#, Err(InvalidToken::Malformed)),
            (r#"{"a":1,}"#, Err(InvalidToken::Malformed)),
            (r#"{"a":01}"#, Err(InvalidToken::Malformed)),
            ("", Err(InvalidToken::Malformed)),
            (r#"{"a":{"b":1},"c":[1,{"b":2}],"\u0061b":3}"#, Ok(())),
            // What skipping a value would let through, a tree refuses: so does the index.
            (r#"{"a":1e400}"#, Err(InvalidToken::Malformed)),
            (r#"{"a":[1,-1e400]}"#, Err(InvalidToken::Malformed)),
            (r#"{"a":"\ud800"}"#, Err(InvalidToken::Malformed)),
            (r#"{"a":["x","\udc00y"]}"#, Err(InvalidToken::Malformed)),
            (
                r#"{"a":{"b":"\ud800\u0041"}}"#,
                Err(InvalidToken::Malformed),
            ),
            (r#"{"a":"\ud83d\ude00"}"#, Ok(())),
            (
                r#"{"a":1e300,"b":-0,"c":123456789012345678901234567890}"#,
                Ok(()),
            ),
        ] {
            assert_eq!(index(text), want, "{text}");
            let tree =
                crate::token::jose::parse_strict_json(text.as_bytes()).and_then(|v| match v {
                    Value::Object(_) => Ok(()),
                    _ => Err(InvalidToken::ClaimsNotObject),
                });
            assert_eq!(tree, want, "the tree disagrees on {text}");
        }
        // serde_json's nesting limit, the payload's own object counted, as for a tree.
        let deep = |n: usize| format!(r#"{{"a":{}"x"{}}}"#, "[".repeat(n), "]".repeat(n));
        assert_eq!(index(&deep(126)), Ok(()));
        assert_eq!(index(&deep(127)), Err(InvalidToken::Malformed));
        assert_eq!(index(r#"{"a":["x",[[1]]]}"#), Ok(()));
        assert_eq!(index(r#"{"a":["[{","x"]}"#), Ok(()));
        assert_eq!(
            index(r#"{"a":["{",{"b":1,"b":2}]}"#),
            Err(InvalidToken::DuplicateMember)
        );
        // A name spelled with an escape is the same name.
        assert_eq!(
            index(r#"{"ab":1,"\u0061b":2}"#),
            Err(InvalidToken::DuplicateMember)
        );
    }

    #[test]
    fn a_child_before_the_last_is_found() {
        let text = r#"{"o":{"a":1,"b":2},"l":["x","y"]}"#;
        let m = Members::index(text).unwrap();
        let o = m.member("o").unwrap();
        assert_eq!(o.child("a", None).unwrap().to_value(), json!(1));
        assert_eq!(o.child("b", None).unwrap().to_value(), json!(2));
        let l = m.member("l").unwrap();
        assert_eq!(
            l.child("0", Some(0)).unwrap().as_str().as_deref(),
            Some("x")
        );
        assert!(l.child("2", Some(2)).is_none());
    }

    #[test]
    fn many_members_are_checked_past_the_scan() {
        let mut text = String::from("{");
        for i in 0..40 {
            text.push_str(&format!("\"m{i}\":{i},"));
        }
        assert!(index(&format!("{text}\"m39\":0}}")).is_err());
        assert!(index(&format!("{text}\"m40\":0}}")).is_ok());
    }

    #[test]
    fn claims_build_their_tree_once_from_the_payload() {
        let text = r#"{"sub":"a","n":[1,2.5,{"x":null}]}"#;
        let claims = Claims::payload(text.to_owned());
        let want = json!({"sub": "a", "n": [1, 2.5, {"x": null}]});
        assert_eq!(Value::Object(claims.tree().clone()), want);
        assert!(std::ptr::eq(claims.tree(), claims.tree()));
    }

    /// Every reading of a member agrees between its text and its tree.
    fn same(raw: Member<'_>, tree: Member<'_>, depth: usize) {
        assert_eq!(raw.is_null(), tree.is_null());
        assert_eq!(raw.is_string(), tree.is_string());
        assert_eq!(raw.as_str(), tree.as_str());
        assert_eq!(raw.as_number(), tree.as_number());
        assert_eq!(raw.to_value(), tree.to_value());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        assert_eq!(raw.each_item(|m| a.push(m)), tree.each_item(|m| b.push(m)));
        assert_eq!(a.len(), b.len());
        let (mut x, mut y) = (Vec::new(), Vec::new());
        assert_eq!(
            raw.each_string(|s| x.push(s)),
            tree.each_string(|s| y.push(s))
        );
        assert_eq!(x, y);
        if depth == 0 {
            return;
        }
        for (x, y) in a.into_iter().zip(b) {
            same(x, y, depth - 1);
        }
        for name in ["a", "b", "0", "1", "7", "é"] {
            let index = name.parse().ok();
            match (raw.child(name, index), tree.child(name, index)) {
                (Some(x), Some(y)) => same(x, y, depth - 1),
                (None, None) => {}
                (x, y) => panic!("{name}: {x:?} against {y:?}"),
            }
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e12f64..1e12).prop_map(Value::from),
            "[ab0-9é\"\\\\ \\n]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[ab017é]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn members_read_as_the_tree_does(
            members in proptest::collection::btree_map("[ab017é]{1,2}", json_value(), 0..6),
            pretty in any::<bool>(),
        ) {
            let written: Map<String, Value> = members.into_iter().collect();
            let text = if pretty {
                serde_json::to_string_pretty(&written).unwrap()
            } else {
                serde_json::to_string(&written).unwrap()
            };
            // The tree a verifier would hand over: read from the same text (a float written and
            // read back may differ in its last digit).
            let Ok(Value::Object(tree)) = parse_strict_json(text.as_bytes()) else {
                panic!("not an object: {text}");
            };
            let raw = Members::index(&text).unwrap();
            prop_assert_eq!(&*raw.tree(), &tree);
            for name in tree.keys().map(String::as_str).chain(["zz"]) {
                match (raw.member(name), tree.member(name)) {
                    (Some(x), Some(y)) => same(x, y, 3),
                    (None, None) => {}
                    (x, y) => prop_assert!(false, "{}: {:?} against {:?}", name, x, y),
                }
            }
        }
    }
}
