//! Scope templates: required scopes that name path parameters.

use std::borrow::Cow;

use crate::authz::scope::char_error;
use crate::token::claims::is_scope_char;

/// A required scope, possibly naming path parameters: `agents:{agent_id}:run`.
///
/// ```
/// use jwt_core::ScopeTemplate;
/// let t = ScopeTemplate::new("agents:{agent_id}:run");
/// assert_eq!(t.render(&[("agent_id", "a1".into())]), "agents:a1:run");
/// assert_eq!(t.params().collect::<Vec<_>>(), ["agent_id"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeTemplate {
    text: String,
}

impl ScopeTemplate {
    /// A template from its text.
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The names of the parameters it uses.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.text
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
    }

    fn is_literal(&self) -> bool {
        !self.text.contains('{')
    }

    /// Checks that some token could satisfy the template: its literal parts are RFC 6749
    /// scope-token characters and each `{name}` is a well-formed parameter (whether the route
    /// binds it is the table's check). A path parameter may still render to text no token holds
    /// (`/items/a%20b`); only admin satisfies that, as documented.
    ///
    /// # Errors
    /// Why no token could ever hold the rendered scope.
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        let text = self.text.as_str();
        if text.trim().is_empty() {
            return Err("empty scope");
        }
        let mut rest = text;
        while !rest.is_empty() {
            let literal_end = rest.find(['{', '}']).unwrap_or(rest.len());
            if let Some(bad) = rest[..literal_end].bytes().find(|b| !is_scope_char(*b)) {
                return Err(char_error(bad));
            }
            rest = &rest[literal_end..];
            if rest.starts_with('}') {
                return Err("unbalanced braces");
            }
            if let Some(after) = rest.strip_prefix('{') {
                let Some(close) = after
                    .find(['{', '}'])
                    .filter(|&i| after[i..].starts_with('}'))
                else {
                    return Err("unbalanced braces");
                };
                let name = &after[..close];
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err("parameter names are [A-Za-z0-9_-]+");
                }
                rest = &after[close + 1..];
            }
        }
        Ok(())
    }

    /// Substitutes parameters by name; an unknown name is left as written. A template without
    /// parameters is returned borrowed.
    pub fn render(&self, params: &[(&str, Cow<'_, str>)]) -> Cow<'_, str> {
        if self.is_literal() {
            return Cow::Borrowed(&self.text);
        }
        let mut out = String::with_capacity(self.text.len() + 16);
        let mut rest = self.text.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            match after.split_once('}') {
                Some((name, tail)) => {
                    match params.iter().find(|(n, _)| *n == name) {
                        Some((_, v)) => out.push_str(v),
                        None => {
                            out.push('{');
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = tail;
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::ScopeTemplate;

    #[test]
    fn check_accepts_what_a_token_can_hold() {
        for ok in [
            "agents:{agent_id}:run",
            "orders.read",
            "read",
            "Files.Read",
            "api://x/y",
            "https://example.com/scope",
            "admin:items:a1:read",
            "role::admin",
            "{scope}",
            "items:{id}:{action}",
        ] {
            assert_eq!(ScopeTemplate::new(ok).check(), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn check_refuses_what_no_token_can_hold() {
        for (bad, why) in [
            ("", "empty scope"),
            ("   ", "empty scope"),
            ("orders.read orders.write", "whitespace"),
            ("orders.read\t", "whitespace"),
            ("orders\u{0}", "control"),
            ("orders\u{7f}", "control"),
            ("say\"hi\"", "exclude"),
            ("back\\slash", "exclude"),
            ("caf\u{e9}", "non-ASCII"),
            ("agents:{agent_id:run", "unbalanced"),
            ("agents:agent_id}:run", "unbalanced"),
            ("agents:{a{b}}:run", "unbalanced"),
            ("agents:{}:run", "parameter names"),
            ("agents:{a b}:run", "parameter names"),
            ("agents:{a.b}:run", "parameter names"),
            ("a b:{id}", "whitespace"),
        ] {
            let err = ScopeTemplate::new(bad).check().unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
