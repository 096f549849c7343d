//! The `WWW-Authenticate` challenge of a refusal (RFC 6750 §3, RFC 9449 §7.1, RFC 9728 §5.1):
//! the scheme, the realm, the kind's error code, description and scope, the metadata URL and the
//! DPoP algorithms, every parameter header-safe.

use std::borrow::Cow;

use super::AuthError;
use crate::error::AuthErrorKind;

impl AuthError {
    /// The `WWW-Authenticate` value (RFC 6750 §3), or `None` for a 503 or 500.
    pub fn www_authenticate_value(&self) -> Option<String> {
        if matches!(self.status(), 500 | 503) {
            return None;
        }
        Some(self.www_authenticate())
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3). Every parameter is header-safe.
    ///
    /// With DPoP on (RFC 9449 §7.1), a refusal of a request sent with the `DPoP` scheme (and
    /// every refusal when DPoP is required) is a `DPoP` challenge (`DPoP error="...",
    /// error_description="...", algs="..."`); otherwise the `Bearer` challenge is followed by
    /// `DPoP algs="..."`, so a client learns it may use either.
    pub fn www_authenticate(&self) -> String {
        let dpop = self.style.as_ref().and_then(|s| s.dpop.as_ref());
        let dpop_error = matches!(
            self.kind,
            AuthErrorKind::InvalidDpopProof(_) | AuthErrorKind::UseDpopNonce(_)
        );
        let mut out = match dpop {
            Some(d) if self.dpop_scheme || dpop_error || d.required => {
                let mut out = String::from("DPoP ");
                self.push_error_params(&mut out);
                if !out.ends_with(' ') {
                    out.push_str(", ");
                }
                out.push_str(&format!("algs=\"{}\"", header_safe(&d.algs)));
                out
            }
            _ => {
                let mut out = format!("Bearer realm=\"{}\"", header_safe(&self.realm));
                let at = out.len();
                self.push_error_params(&mut out);
                if out.len() > at {
                    out.insert_str(at, ", ");
                }
                out
            }
        };
        if let Some(url) = self
            .style
            .as_ref()
            .and_then(|s| s.resource_metadata.as_deref())
        {
            out.push_str(&format!(", resource_metadata=\"{}\"", header_safe(url)));
        }
        if let Some(d) = dpop
            && out.starts_with("Bearer ")
        {
            out.push_str(&format!(", DPoP algs=\"{}\"", header_safe(&d.algs)));
        }
        out
    }

    /// `error`, `error_description` and `scope`, comma-separated (nothing when none apply); a
    /// 401's scope hint when the kind names no scope itself.
    fn push_error_params(&self, out: &mut String) {
        let mut params: Vec<String> = Vec::new();
        if let Some(code) = self.error_code() {
            params.push(format!("error=\"{code}\""));
        }
        if let Some(description) = self.kind.description() {
            params.push(format!(
                "error_description=\"{}\"",
                header_safe(description)
            ));
        }
        match self.kind.scope() {
            Some(scope) => params.push(format!("scope=\"{}\"", header_safe(&scope))),
            None => {
                if let Some(hint) = &self.scope_hint {
                    params.push(format!("scope=\"{}\"", header_safe(&hint.0)));
                }
            }
        }
        // RFC 9470 §3: what the client must obtain.
        if let AuthErrorKind::InsufficientUserAuthentication {
            acr_values,
            max_age,
        } = &self.kind
        {
            if !acr_values.is_empty() {
                let values = acr_values.join(" ");
                params.push(format!("acr_values=\"{}\"", header_safe(&values)));
            }
            if let Some(max_age) = max_age {
                params.push(format!("max_age=\"{max_age}\""));
            }
        }
        out.push_str(&params.join(", "));
    }
}

/// Keeps only the characters RFC 6750 §3 allows in a quoted auth-param
/// (`%x20-21 / %x23-5B / %x5D-7E`); anything else becomes `?`.
fn header_safe(s: &str) -> Cow<'_, str> {
    let ok = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    if s.chars().all(ok) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().map(|c| if ok(c) { c } else { '?' }).collect())
    }
}
