//! Where a request carries its token: the `Authorization` header (RFC 6750 §2.1), a named cookie,
//! an ordered list of sources, or a strict list that refuses two different credentials.

use std::borrow::Cow;
use std::fmt;

use crate::error::{AuthError, AuthErrorKind};
use crate::token::charset;
use crate::token::request::{HeaderLookup, RequestParts, lookup};

/// Finds the token in a request.
///
/// `Ok(None)` means "no credential here"; an `Err` is a malformed request (400) or an unusable
/// credential (401). Implement it for a custom transport (a query parameter, a second header).
///
/// ```
/// use jwt_core::{BearerHeader, SimpleRequest, TokenSource};
/// let req = SimpleRequest::new("GET", "/").header("Authorization", "Bearer abc.def.ghi");
/// assert_eq!(BearerHeader::default().extract(&req).unwrap(), Some("abc.def.ghi"));
/// ```
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// Returns the token, `None` when this source has none, or an error.
    fn extract<'r>(&self, req: &'r dyn RequestParts) -> Result<Option<&'r str>, AuthError>;

    /// Like [`TokenSource::extract`], but the token's bytes as sent, leaving the check of its
    /// characters (UTF-8 included) to the caller as a [`PendingCheck`], which it runs unless
    /// the bytes are a token it has already accepted (a token-cache hit: every cached token
    /// passed that check). The engine calls this; the default runs every check in `extract`.
    ///
    /// # Errors
    /// As [`TokenSource::extract`].
    fn locate<'r>(
        &self,
        req: &'r dyn RequestParts,
    ) -> Result<Option<(&'r [u8], PendingCheck)>, AuthError> {
        Ok(self
            .extract(req)?
            .map(|t| (t.as_bytes(), PendingCheck::Done)))
    }

    /// The 401 `detail` when no token was found.
    fn missing_detail(&self) -> Cow<'static, str>;

    /// A short name for messages (`Authorization header`, `'access_token' cookie`).
    fn describe(&self) -> String;
}

/// What [`TokenSource::locate`] left to check of a token.
///
/// ```
/// use jwt_core::PendingCheck;
/// assert_eq!(PendingCheck::B64Token.run(b"a.b.c").unwrap(), "a.b.c");
/// assert_eq!(PendingCheck::B64Token.run(b"a b").unwrap_err().status(), 400);
/// assert_eq!(PendingCheck::B64Token.run(b"\xff").unwrap_err().status(), 400);
/// assert_eq!(PendingCheck::Done.run(b"a b").unwrap(), "a b");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PendingCheck {
    /// Nothing: the source checked everything (the bytes are UTF-8).
    Done,
    /// The RFC 6750 `b64token` grammar of an `Authorization` header credential.
    B64Token,
}

impl PendingCheck {
    /// Runs the check, giving the token as text.
    ///
    /// # Errors
    /// 400 `invalid_request` when the token is not what its header allows (or, for bytes a
    /// source did not check, not UTF-8).
    pub fn run(self, token: &[u8]) -> Result<&str, AuthError> {
        let invalid = |msg| AuthError::new(AuthErrorKind::InvalidRequest(msg));
        let text =
            std::str::from_utf8(token).map_err(|_| invalid("Malformed Authorization header"))?;
        match self {
            PendingCheck::Done => Ok(text),
            PendingCheck::B64Token if is_b64token(text) => Ok(text),
            PendingCheck::B64Token => Err(invalid(
                "Malformed Authorization header: expected exactly one token",
            )),
        }
    }
}

/// The `Authorization` header (or another header) with the `Bearer` scheme.
///
/// Grammar (RFC 6750 §2.1, RFC 9110 §11.1): the scheme is compared case-insensitively, one or more
/// spaces follow it, then one `b64token`. `Bearer` with no token, a tab, or two tokens is a
/// malformed request (400 `invalid_request`); several `Authorization` headers likewise. Another
/// scheme (`Basic ...`) is treated as "no bearer credential" (401 without an error code), unless
/// [`BearerHeader::allow_raw_token`] is on, in which case a value without any scheme is taken
/// whole as the token, as agno does.
///
/// ```
/// use jwt_core::{BearerHeader, SimpleRequest, TokenSource};
/// let src = BearerHeader::default();
/// let ok = SimpleRequest::new("GET", "/").header("authorization", "bearer  t.o.k");
/// assert_eq!(src.extract(&ok).unwrap(), Some("t.o.k"));
/// let bad = SimpleRequest::new("GET", "/").header("Authorization", "Bearer");
/// assert_eq!(src.extract(&bad).unwrap_err().status(), 400);
/// ```
#[derive(Debug, Clone)]
pub struct BearerHeader {
    name: Cow<'static, str>,
    scheme: Cow<'static, str>,
    allow_raw: bool,
}

impl Default for BearerHeader {
    fn default() -> Self {
        Self {
            name: Cow::Borrowed("Authorization"),
            scheme: Cow::Borrowed("Bearer"),
            allow_raw: false,
        }
    }
}

impl BearerHeader {
    /// The `Authorization` header with the `Bearer` scheme.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads another header (still expecting the scheme).
    pub fn header_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = name.into();
        self
    }

    /// Expects another scheme name instead of `Bearer`.
    pub fn scheme(mut self, scheme: impl Into<Cow<'static, str>>) -> Self {
        self.scheme = scheme.into();
        self
    }

    /// Accepts a value with no scheme at all as the token (agno compatibility).
    pub fn allow_raw_token(mut self, allow: bool) -> Self {
        self.allow_raw = allow;
        self
    }

    /// The token's bytes, its characters left to [`PendingCheck::B64Token`]: on a token-cache
    /// hit the header is read without a pass over the token.
    fn parse<'r>(&self, value: &'r [u8]) -> Result<Option<(&'r [u8], PendingCheck)>, AuthError> {
        let invalid = |msg| Err(AuthError::new(AuthErrorKind::InvalidRequest(msg)));
        let blank = |b: &u8| matches!(b, b' ' | b'\t');
        // HTTP strips surrounding optional whitespace; do the same for values handed over raw.
        let start = value.iter().position(|b| !blank(b)).unwrap_or(value.len());
        let end = value
            .iter()
            .rposition(|b| !blank(b))
            .map_or(start, |i| i + 1);
        let value = &value[start..end];
        if value.is_empty() {
            return Ok(None);
        }
        let scheme_len = value.iter().position(blank).unwrap_or(value.len());
        let (scheme, rest) = value.split_at(scheme_len);
        // The exact spelling first (the usual `Bearer`): a plain comparison.
        if scheme != self.scheme.as_bytes() && !scheme.eq_ignore_ascii_case(self.scheme.as_bytes())
        {
            if std::str::from_utf8(value).is_err() {
                return invalid("Malformed Authorization header");
            }
            if self.allow_raw && rest.is_empty() {
                return Ok(Some((value, PendingCheck::Done)));
            }
            return Err(AuthError::new(AuthErrorKind::UnsupportedScheme));
        }
        if rest.first() == Some(&b'\t') {
            return invalid("Malformed Authorization header: expected a space after the scheme");
        }
        let skip = rest.iter().take_while(|b| **b == b' ').count();
        let token = &rest[skip..];
        if token.is_empty() {
            return invalid("Malformed Authorization header: missing token");
        }
        Ok(Some((token, PendingCheck::B64Token)))
    }
}

/// RFC 6750 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty() && charset::all_in(body.as_bytes(), &charset::B64TOKEN)
}

impl TokenSource for BearerHeader {
    fn extract<'r>(&self, req: &'r dyn RequestParts) -> Result<Option<&'r str>, AuthError> {
        match self.locate(req)? {
            Some((token, pending)) => pending.run(token).map(Some),
            None => Ok(None),
        }
    }

    fn locate<'r>(
        &self,
        req: &'r dyn RequestParts,
    ) -> Result<Option<(&'r [u8], PendingCheck)>, AuthError> {
        match lookup(req, &self.name) {
            HeaderLookup::Missing => Ok(None),
            HeaderLookup::Several => Err(AuthError::new(AuthErrorKind::InvalidRequest(
                "Several Authorization headers",
            ))),
            HeaderLookup::One(v) => self.parse(v),
        }
    }

    fn missing_detail(&self) -> Cow<'static, str> {
        Cow::Borrowed("Authorization header missing")
    }

    fn describe(&self) -> String {
        format!("{} header", self.name)
    }
}

/// A named cookie (default `access_token`), read from every `Cookie` header.
///
/// ```
/// use jwt_core::{CookieToken, SimpleRequest, TokenSource};
/// let req = SimpleRequest::new("GET", "/").header("Cookie", "theme=dark; access_token=a.b.c");
/// assert_eq!(CookieToken::default().extract(&req).unwrap(), Some("a.b.c"));
/// ```
#[derive(Debug, Clone)]
pub struct CookieToken {
    name: Cow<'static, str>,
}

impl Default for CookieToken {
    fn default() -> Self {
        Self::new("access_token")
    }
}

impl CookieToken {
    /// The cookie called `name`.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Self { name: name.into() }
    }

    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl TokenSource for CookieToken {
    fn extract<'r>(&self, req: &'r dyn RequestParts) -> Result<Option<&'r str>, AuthError> {
        let mut found: Option<&'r str> = None;
        let mut conflict = false;
        req.for_each_header("cookie", &mut |raw| {
            let Ok(raw) = std::str::from_utf8(raw) else {
                return;
            };
            for cookie in cookie::Cookie::split_parse(raw).flatten() {
                if cookie.name_raw() != Some(&*self.name) {
                    continue;
                }
                let Some(value) = cookie.value_raw() else {
                    continue;
                };
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                if value.is_empty() {
                    continue;
                }
                match found {
                    None => found = Some(value),
                    Some(prev) if prev != value => conflict = true,
                    Some(_) => {}
                }
            }
        });
        if conflict {
            return Err(AuthError::new(AuthErrorKind::InvalidRequest(
                "Several different token cookies",
            )));
        }
        Ok(found)
    }

    fn missing_detail(&self) -> Cow<'static, str> {
        Cow::Owned(format!("JWT cookie '{}' missing", self.name))
    }

    fn describe(&self) -> String {
        format!("'{}' cookie", self.name)
    }
}

/// Several sources in order.
///
/// In the default mode the first source that yields a token wins (agno's `both`: header, then
/// cookie; a present but invalid header token is not retried from the cookie). In strict mode
/// every source is read, and two *different* credentials make the request malformed (400
/// `invalid_request`, RFC 6750 §2).
///
/// ```
/// use jwt_core::{AnyOf, BearerHeader, CookieToken, SimpleRequest, TokenSource};
/// let both = AnyOf::new(vec![Box::new(BearerHeader::new()), Box::new(CookieToken::default())]);
/// let req = SimpleRequest::new("GET", "/")
///     .header("Authorization", "Bearer h.h.h")
///     .header("Cookie", "access_token=c.c.c");
/// assert_eq!(both.extract(&req).unwrap(), Some("h.h.h"));
/// let strict = AnyOf::header_then_cookie("access_token").into_strict();
/// assert_eq!(strict.extract(&req).unwrap_err().status(), 400);
/// ```
#[derive(Debug)]
pub struct AnyOf {
    sources: Vec<Box<dyn TokenSource>>,
    strict: bool,
}

impl AnyOf {
    /// First-match over `sources`.
    pub fn new(sources: Vec<Box<dyn TokenSource>>) -> Self {
        Self {
            sources,
            strict: false,
        }
    }

    /// Strict mode over `sources`: two different credentials give 400.
    pub fn strict(sources: Vec<Box<dyn TokenSource>>) -> Self {
        Self {
            sources,
            strict: true,
        }
    }

    /// The header-then-cookie pair (agno's `TokenSource.BOTH`).
    pub fn header_then_cookie(cookie_name: impl Into<Cow<'static, str>>) -> Self {
        Self::new(vec![
            Box::new(BearerHeader::new()),
            Box::new(CookieToken::new(cookie_name)),
        ])
    }

    /// Turns this list into a strict one.
    pub fn into_strict(mut self) -> Self {
        self.strict = true;
        self
    }
}

impl TokenSource for AnyOf {
    fn extract<'r>(&self, req: &'r dyn RequestParts) -> Result<Option<&'r str>, AuthError> {
        let mut found: Option<&'r str> = None;
        for source in &self.sources {
            let Some(token) = source.extract(req)? else {
                continue;
            };
            if !self.strict {
                return Ok(Some(token));
            }
            match found {
                None => found = Some(token),
                Some(prev) if prev != token => {
                    return Err(AuthError::new(AuthErrorKind::InvalidRequest(
                        "Several different credentials in one request",
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(found)
    }

    fn locate<'r>(
        &self,
        req: &'r dyn RequestParts,
    ) -> Result<Option<(&'r [u8], PendingCheck)>, AuthError> {
        if self.strict {
            // Every credential is compared, so each is checked whole first.
            return Ok(self
                .extract(req)?
                .map(|t| (t.as_bytes(), PendingCheck::Done)));
        }
        for source in &self.sources {
            if let Some(found) = source.locate(req)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn missing_detail(&self) -> Cow<'static, str> {
        match self.sources.as_slice() {
            [] => Cow::Borrowed("Authorization header missing"),
            [one] => one.missing_detail(),
            [first, rest @ ..] => {
                // agno's wording for header + cookie; a general list for anything else.
                let names: Vec<String> = rest.iter().map(|s| s.describe()).collect();
                Cow::Owned(format!(
                    "JWT token missing from both {} and {}",
                    first.describe(),
                    names.join(" and ")
                ))
            }
        }
    }

    fn describe(&self) -> String {
        let names: Vec<String> = self.sources.iter().map(|s| s.describe()).collect();
        names.join(" or ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::request::SimpleRequest;

    fn header(v: &str) -> Result<Option<String>, u16> {
        let req = SimpleRequest::new("GET", "/").header("Authorization", v);
        BearerHeader::new()
            .extract(&req)
            .map(|t| t.map(str::to_owned))
            .map_err(|e| e.status())
    }

    #[test]
    fn bearer_grammar() {
        assert_eq!(header("Bearer a.b.c"), Ok(Some("a.b.c".into())));
        assert_eq!(header("bearer a.b.c"), Ok(Some("a.b.c".into())));
        assert_eq!(header("BEARER a.b.c"), Ok(Some("a.b.c".into())));
        assert_eq!(header("Bearer  a.b.c"), Ok(Some("a.b.c".into())));
        assert_eq!(header("Bearer a.b.c  "), Ok(Some("a.b.c".into())));
        assert_eq!(header("Bearer abc=="), Ok(Some("abc==".into())));
        assert_eq!(header("Bearer\ta.b.c"), Err(400));
        assert_eq!(header("Bearer"), Err(400));
        assert_eq!(header("Bearer "), Err(400));
        assert_eq!(header("Bearer a b"), Err(400));
        assert_eq!(header("Bearer a, Bearer b"), Err(400));
        assert_eq!(header("Bearer ="), Err(400));
        assert_eq!(header("Bearer a=b"), Err(400));
        assert_eq!(header(""), Ok(None));
        assert_eq!(header("   "), Ok(None));
        assert_eq!(header("Basic dXNlcjpwYXNz"), Err(401));
        assert_eq!(header("Bearera.b.c"), Err(401));
        assert_eq!(header("a.b.c"), Err(401));
    }

    #[test]
    fn raw_token_only_when_allowed() {
        let req = SimpleRequest::new("GET", "/").header("Authorization", "a.b.c");
        let src = BearerHeader::new().allow_raw_token(true);
        assert_eq!(src.extract(&req).unwrap(), Some("a.b.c"));
        let basic = SimpleRequest::new("GET", "/").header("Authorization", "Basic xyz");
        assert_eq!(src.extract(&basic).unwrap_err().status(), 401);
    }

    #[test]
    fn non_utf8_header_is_malformed() {
        let req = SimpleRequest::new("GET", "/").header_bytes("Authorization", b"Bearer \xff");
        assert_eq!(BearerHeader::new().extract(&req).unwrap_err().status(), 400);
    }

    #[test]
    fn two_authorization_headers_are_malformed() {
        let req = SimpleRequest::new("GET", "/")
            .header("Authorization", "Bearer a")
            .header("authorization", "Bearer b");
        let err = BearerHeader::new().extract(&req).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.error_code(), Some("invalid_request"));
    }

    #[test]
    fn custom_header_and_scheme() {
        let req = SimpleRequest::new("GET", "/").header("X-Token", "Token t.t.t");
        let src = BearerHeader::new().header_name("x-token").scheme("Token");
        assert_eq!(src.extract(&req).unwrap(), Some("t.t.t"));
        assert_eq!(src.describe(), "x-token header");
        assert_eq!(src.missing_detail(), "Authorization header missing");
    }

    #[test]
    fn cookie_lookup() {
        let src = CookieToken::new("jwt");
        let get = |v: &str| {
            let req = SimpleRequest::new("GET", "/").header("Cookie", v);
            src.extract(&req)
                .map(|t| t.map(str::to_owned))
                .map_err(|e| e.status())
        };
        assert_eq!(get("jwt=a.b.c"), Ok(Some("a.b.c".into())));
        assert_eq!(get("x=1; jwt=a.b.c; y=2"), Ok(Some("a.b.c".into())));
        assert_eq!(get("jwt=\"a.b.c\""), Ok(Some("a.b.c".into())));
        assert_eq!(get("jwt="), Ok(None));
        assert_eq!(get("jwtx=a"), Ok(None));
        assert_eq!(get("JWT=a"), Ok(None));
        assert_eq!(get("jwt=a; jwt=a"), Ok(Some("a".into())));
        assert_eq!(get("jwt=a; jwt=b"), Err(400));
        assert_eq!(src.missing_detail(), "JWT cookie 'jwt' missing");
    }

    #[test]
    fn cookie_across_several_headers() {
        let req = SimpleRequest::new("GET", "/")
            .header("Cookie", "a=1")
            .header("cookie", "access_token=t.t.t");
        assert_eq!(CookieToken::default().extract(&req).unwrap(), Some("t.t.t"));
    }

    #[test]
    fn any_of_first_wins_and_strict_mode() {
        let both = AnyOf::header_then_cookie("access_token");
        assert_eq!(
            both.missing_detail(),
            "JWT token missing from both Authorization header and 'access_token' cookie"
        );
        let only_cookie = SimpleRequest::new("GET", "/").header("Cookie", "access_token=c.c.c");
        assert_eq!(both.extract(&only_cookie).unwrap(), Some("c.c.c"));
        let same = SimpleRequest::new("GET", "/")
            .header("Authorization", "Bearer s.s.s")
            .header("Cookie", "access_token=s.s.s");
        let strict = AnyOf::header_then_cookie("access_token").into_strict();
        assert_eq!(strict.extract(&same).unwrap(), Some("s.s.s"));
        let bad_header = SimpleRequest::new("GET", "/")
            .header("Authorization", "Bearer")
            .header("Cookie", "access_token=c.c.c");
        assert_eq!(both.extract(&bad_header).unwrap_err().status(), 400);
        let none = SimpleRequest::new("GET", "/");
        assert_eq!(strict.extract(&none).unwrap(), None);
    }
}
