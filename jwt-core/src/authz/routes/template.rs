//! Scope templates: required scopes that name path parameters.

use std::borrow::Cow;

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
