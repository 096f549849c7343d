//! Where a request carries its token: the `Authorization` header (RFC 6750 §2.1), a named cookie,
//! an ordered list of sources, or a strict list that refuses two different credentials.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;

use crate::error::AuthErrorKind;
use crate::render::AuthError;
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
///
/// # Implementing it
///
/// `extract` reads the request through [`RequestParts`] (every value of a header, in order) and
/// refuses what is ambiguous instead of picking one: two values of the header are a 400, as the
/// built-in sources answer. `missing_detail` is the 401's message when there is no token;
/// `describe` names the source in messages. The engine then checks the token's length,
/// verifies it and caches it; a source never decodes it. Give a custom source to
/// [`crate::JwtAuthBuilder::token_source`].
///
/// ```
/// use std::borrow::Cow;
/// use jwt_core::{AuthError, AuthErrorKind, JwtAuth, RequestParts, SimpleRequest, StaticKeys, TokenSource};
///
/// /// The token in `X-Api-Token`, sent once, as it is.
/// #[derive(Debug)]
/// struct ApiTokenHeader;
///
/// impl TokenSource for ApiTokenHeader {
///     fn extract<'r>(&self, req: &'r dyn RequestParts) -> Result<Option<&'r str>, AuthError> {
///         let mut values = Vec::new();
///         req.for_each_header("x-api-token", &mut |v| values.push(v));
///         match values.as_slice() {
///             [] => Ok(None),
///             [one] => std::str::from_utf8(one).map(Some).map_err(|_| {
///                 AuthError::new(AuthErrorKind::InvalidRequest("X-Api-Token is not text"))
///             }),
///             _ => Err(AuthError::new(AuthErrorKind::InvalidRequest("several X-Api-Token headers"))),
///         }
///     }
///
///     fn missing_detail(&self) -> Cow<'static, str> {
///         Cow::Borrowed("X-Api-Token header missing")
///     }
///
///     fn describe(&self) -> String {
///         "X-Api-Token header".to_owned()
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let auth = JwtAuth::builder()
///     .verifier(StaticKeys::hs256([7u8; 32])?)
///     .issuer("https://idp.example.com")
///     .token_source(ApiTokenHeader)
///     .build()?;
/// let none = auth.authenticate(&SimpleRequest::new("GET", "/")).await.unwrap_err();
/// assert_eq!((none.status(), none.detail().as_ref()), (401, "X-Api-Token header missing"));
/// let two = SimpleRequest::new("GET", "/").header("X-Api-Token", "a").header("X-Api-Token", "b");
/// assert_eq!(auth.authenticate(&two).await.unwrap_err().status(), 400);
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub trait TokenSource: Any + Send + Sync + fmt::Debug {
    /// Returns the token, `None` when this source has none, or an error.
    fn extract<'r>(&self, req: &'r dyn RequestParts) -> Result<Option<&'r str>, AuthError>;

    /// The 401 `detail` when no token was found.
    fn missing_detail(&self) -> Cow<'static, str>;

    /// A short name for messages (`Authorization header`, `'access_token' cookie`).
    fn describe(&self) -> String;
}

/// What [`locate`] left to check of a token: the engine runs it only on a token-cache miss
/// (every cached token passed it when it was first verified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingCheck {
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
    pub(crate) fn run(self, token: &[u8]) -> Result<&str, AuthError> {
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
/// [`BearerHeader::dangerous_allow_raw_token`] is on, in which case a value without any scheme is taken
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

    /// Accepts a value with no scheme at all as the token (agno compatibility): a relaxation of
    /// RFC 6750, so any header value is tried as a token.
    pub fn dangerous_allow_raw_token(mut self) -> Self {
        self.allow_raw = true;
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

impl BearerHeader {
    /// The token's bytes as sent, their character check left to the caller.
    pub(crate) fn locate<'r>(
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
}

impl TokenSource for BearerHeader {
    fn extract<'r>(&self, req: &'r dyn RequestParts) -> Result<Option<&'r str>, AuthError> {
        match self.locate(req)? {
            Some((token, pending)) => pending.run(token).map(Some),
            None => Ok(None),
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

impl AnyOf {
    /// The first source's token, as [`locate`] finds it; a strict list compares every
    /// credential, so each is checked whole first.
    fn locate<'r>(
        &self,
        req: &'r dyn RequestParts,
    ) -> Result<Option<(&'r [u8], PendingCheck)>, AuthError> {
        if self.strict {
            return Ok(self
                .extract(req)?
                .map(|t| (t.as_bytes(), PendingCheck::Done)));
        }
        for source in &self.sources {
            if let Some(found) = locate(source.as_ref(), req)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

/// What the engine asks of a source: the token's bytes as sent, the check of its characters
/// (UTF-8 included) left as a [`PendingCheck`] that the engine runs unless the bytes are a token
/// it already accepted (a token-cache hit). The built-in sources skip the check this way; any
/// other source goes through [`TokenSource::extract`], which checks everything.
pub(crate) fn locate<'r>(
    source: &dyn TokenSource,
    req: &'r dyn RequestParts,
) -> Result<Option<(&'r [u8], PendingCheck)>, AuthError> {
    let any: &dyn Any = source;
    if let Some(bearer) = any.downcast_ref::<BearerHeader>() {
        return bearer.locate(req);
    }
    if let Some(list) = any.downcast_ref::<AnyOf>() {
        return list.locate(req);
    }
    Ok(source
        .extract(req)?
        .map(|t| (t.as_bytes(), PendingCheck::Done)))
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
        let src = BearerHeader::new().dangerous_allow_raw_token();
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
