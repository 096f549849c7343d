//! The URL a DPoP proof must name (`htu`, RFC 9449 §4.3): where the request's public URL comes
//! from ([`HtuOrigin`]) and the normalisation both sides go through before they are compared
//! (RFC 3986 §6.2.2 syntax-based and §6.2.3 scheme-based: case of scheme and host, default
//! port, dot segments, percent-encoding; no query, no fragment).

use std::fmt::Write as _;

use crate::error::DpopRejection;
use crate::token::request::{HeaderLookup, RequestParts, lookup};

/// Where the scheme and host of the request's URL come from, for the `htu` check.
///
/// The path is always the path the request was sent to (the one the router matched, mount
/// prefix included).
///
/// ```
/// use jwt_core::HtuOrigin;
/// // The API's public base URL: the safest choice, and the default when a protected
/// // resource (RFC 9728) is configured (its scheme and host).
/// let fixed = HtuOrigin::Fixed("https://api.example.com".into());
/// // Behind a reverse proxy that sets X-Forwarded-Proto / X-Forwarded-Host (or Forwarded).
/// let proxied = HtuOrigin::TrustedProxy;
/// # let _ = (fixed, proxied);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HtuOrigin {
    /// A fixed base URL: `scheme://host[:port]` and optionally a path prefix the proxy in front
    /// strips (`https://example.com/api` when `/api/agents` reaches this server as `/agents`).
    Fixed(String),
    /// The request's own `Host` header with this scheme (`http` or `https`). Only for a server
    /// clients reach directly: the host is then whatever the client says it called.
    Host(String),
    /// A reverse proxy you trust sets the public scheme and host: `X-Forwarded-Proto` and
    /// `X-Forwarded-Host` (each exactly once, one value), or else one `Forwarded` element with
    /// `proto` and `host` (RFC 7239). A request without them, or with several values, is
    /// refused: make sure the service is reachable only through that proxy, which must
    /// overwrite (not append to) these headers.
    TrustedProxy,
}

/// An [`HtuOrigin`] checked at build time.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// Normalised `scheme://host[:port]` plus the prefix path (no trailing `/`).
    Fixed(String),
    Host(&'static str),
    TrustedProxy,
}

impl Origin {
    pub(crate) fn new(origin: &HtuOrigin) -> Option<Self> {
        match origin {
            HtuOrigin::Fixed(base) => {
                let mut normal = normalize(base)?;
                while normal.ends_with('/') {
                    normal.pop();
                }
                let parsed = url::Url::parse(base).ok()?;
                (parsed.query().is_none() && parsed.fragment().is_none())
                    .then_some(Self::Fixed(normal))
            }
            HtuOrigin::Host(scheme) => match scheme.to_ascii_lowercase().as_str() {
                "http" => Some(Self::Host("http")),
                "https" => Some(Self::Host("https")),
                _ => None,
            },
            HtuOrigin::TrustedProxy => Some(Self::TrustedProxy),
        }
    }

    /// The request's URL (not normalised), without query.
    pub(crate) fn request_url(&self, req: &dyn RequestParts) -> Result<String, DpopRejection> {
        let path = req.path();
        // A URL parser reads `\` as `/`: such a path would compare equal to another one.
        if path.contains('\\') || !path.starts_with('/') {
            return Err(DpopRejection::UnknownRequestUrl);
        }
        let one = |name: &str| match lookup(req, name) {
            HeaderLookup::One(v) => std::str::from_utf8(v)
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && !v.contains(',')),
            HeaderLookup::Missing | HeaderLookup::Several => None,
        };
        let (scheme, host) = match self {
            Self::Fixed(base) => return Ok(format!("{base}{path}")),
            Self::Host(scheme) => (
                *scheme,
                one("host").ok_or(DpopRejection::UnknownRequestUrl)?,
            ),
            Self::TrustedProxy => match (one("x-forwarded-proto"), one("x-forwarded-host")) {
                (Some(proto), Some(host)) => (proto, host),
                (None, None) => {
                    forwarded(one("forwarded").ok_or(DpopRejection::UnknownRequestUrl)?)
                        .ok_or(DpopRejection::UnknownRequestUrl)?
                }
                _ => return Err(DpopRejection::UnknownRequestUrl),
            },
        };
        if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") || !is_host(host) {
            return Err(DpopRejection::UnknownRequestUrl);
        }
        Ok(format!("{scheme}://{host}{path}"))
    }
}

/// A `Host` value: a name or IPv4 address, or a bracketed IPv6 address, and an optional port;
/// nothing a URL parser would read as a path, user, escape or whitespace.
fn is_host(host: &str) -> bool {
    let port_ok = |port: Option<&str>| {
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if let Some(rest) = host.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        let v6_ok = !v6.is_empty()
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return v6_ok
            && (after.is_empty() || after.strip_prefix(':').is_some_and(|p| port_ok(Some(p))));
    }
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && port_ok(port)
}

/// `proto` and `host` of a single-element `Forwarded` header (RFC 7239 §4).
fn forwarded(value: &str) -> Option<(&str, &str)> {
    let (mut proto, mut host) = (None, None);
    for pair in value.split(';') {
        let (name, v) = pair.trim().split_once('=')?;
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        let slot = match name.trim().to_ascii_lowercase().as_str() {
            "proto" => &mut proto,
            "host" => &mut host,
            _ => continue,
        };
        if slot.replace(v).is_some() {
            return None;
        }
    }
    Some((proto?, host?))
}

/// Whether `text` is, exactly as written, an absolute `http(s)` URI in RFC 3986 syntax
/// (§3, §4.3): `scheme "://" host [":" port] path-abempty ["?" query] ["#" fragment]`, every
/// character a URI character and every `%` an escape. What a lenient (WHATWG) URL parser would
/// repair is refused instead: surrounding or embedded whitespace, tabs and control characters,
/// `\`, a missing or extra `/` after the scheme (`https:api.example.com`, `https:///x`),
/// user information, non-ASCII text, an empty host or port.
pub(crate) fn is_strict_absolute_uri(text: &str) -> bool {
    let bytes = text.as_bytes();
    let uri_char = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b':'
                    | b'/'
                    | b'?'
                    | b'#'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
                    | b'['
                    | b']'
            )
    };
    if !bytes.iter().all(|&b| uri_char(b)) {
        return false;
    }
    // Every `%` starts an escape.
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if !bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return false;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // `[` and `]` only delimit an IPv6 host; no user information; a host that a URL parser
    // reads exactly as written.
    !tail.contains(['[', ']'])
        && !authority.contains('@')
        && !authority.contains('%')
        && is_host(authority)
        && !authority.ends_with(':')
}

/// The comparable form of an absolute `http(s)` URL: lower-case scheme and host, no default
/// port, dot segments removed, percent-escapes of unreserved characters decoded and the others
/// upper-cased, an empty path as `/`; query and fragment dropped. `None` for anything else
/// (another scheme, credentials, not a strict RFC 3986 URI: [`is_strict_absolute_uri`]).
pub(crate) fn normalize(text: &str) -> Option<String> {
    if !is_strict_absolute_uri(text) {
        return None;
    }
    let url = url::Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let mut out = format!("{}://{}", url.scheme(), url.host_str()?);
    if let Some(port) = url.port() {
        let _ = write!(out, ":{port}");
    }
    let path = url.path();
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(byte));
            } else {
                let _ = write!(out, "%{byte:02X}");
            }
            i += 3;
            continue;
        }
        out.push(char::from(bytes[i]));
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::request::SimpleRequest;

    #[test]
    fn dpop_htu_normalisation() {
        let n = |s: &str| normalize(s);
        let same = |a: &str, b: &str| assert_eq!(n(a), n(b), "{a} vs {b}");
        same("https://api.example.com/a", "HTTPS://API.Example.COM:443/a");
        same("http://api.example.com/a", "http://api.example.com:80/a");
        same("https://api.example.com", "https://api.example.com/");
        same(
            "https://api.example.com/a/./b/../c",
            "https://api.example.com/a/c",
        );
        same(
            "https://api.example.com/%7euser",
            "https://api.example.com/~user",
        );
        same(
            "https://api.example.com/a%2fb",
            "https://api.example.com/a%2Fb",
        );
        same(
            "https://api.example.com/a?x=1#f",
            "https://api.example.com/a",
        );
        assert_ne!(
            n("https://api.example.com/a"),
            n("https://api.example.com/A")
        );
        assert_ne!(
            n("https://api.example.com/a"),
            n("http://api.example.com/a")
        );
        assert_ne!(
            n("https://api.example.com:8443/a"),
            n("https://api.example.com/a")
        );
        assert_eq!(n("ftp://api.example.com/a"), None);
        // Nothing a lenient URL parser would repair: refused, not normalised.
        for bad in [
            " https://api.example.com/a",
            "https://api.example.com/a ",
            "\thttps://api.example.com/a",
            "https://api.example.com/a\t",
            "https://api.exa\tmple.com/a",
            "https://api.example.com/a\nb",
            "https://api.example.com/a\u{0}",
            "https://api.example.com/a\u{7f}",
            "https:\\\\api.example.com\\a",
            "https://api.example.com\\a",
            "https:api.example.com/a",
            "https:/api.example.com/a",
            "https:///api.example.com/a",
            "https://api.example.com/a b",
            "https://api.example.com/\u{e9}",
            "https://api.example.com/a%2",
            "https://api.example.com/a%zz",
            "https://@api.example.com/a",
            "https://api.example.com:/a",
            "https://api.example.com/a[1]",
            "https://api.example.com/a\"b",
            "https://api.example.com/<a>",
            "https://api.example.com/a{b}|^`",
            "https://",
            "https:///",
        ] {
            assert_eq!(n(bad), None, "{bad:?}");
            assert!(!is_strict_absolute_uri(bad), "{bad:?}");
        }
        for good in [
            "https://api.example.com",
            "HTTPS://API.example.com:8443/a/b?q=1#f",
            "http://127.0.0.1:9/x",
            "http://[::1]:8443/a;b=c/%7Euser",
            "https://api.example.com/a!$&'()*+,;=:@-._~",
        ] {
            assert!(is_strict_absolute_uri(good), "{good}");
            assert!(n(good).is_some(), "{good}");
        }
        assert_eq!(n("https://user:pw@api.example.com/a"), None);
        assert_eq!(n("/relative"), None);
    }

    #[test]
    fn request_urls_from_each_origin() {
        let req = SimpleRequest::new("GET", "/agents/a1")
            .header("Host", "api.example.com")
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", "public.example.com");
        let fixed = Origin::new(&HtuOrigin::Fixed("HTTPS://Api.Example.com/base/".into())).unwrap();
        assert_eq!(
            fixed.request_url(&req).unwrap(),
            "https://api.example.com/base/agents/a1"
        );
        let host = Origin::new(&HtuOrigin::Host("http".into())).unwrap();
        assert_eq!(
            host.request_url(&req).unwrap(),
            "http://api.example.com/agents/a1"
        );
        let proxy = Origin::new(&HtuOrigin::TrustedProxy).unwrap();
        assert_eq!(
            proxy.request_url(&req).unwrap(),
            "https://public.example.com/agents/a1"
        );
        let forwarded = SimpleRequest::new("GET", "/x").header(
            "Forwarded",
            "for=1.2.3.4;proto=https;host=\"p.example.com\"",
        );
        assert_eq!(
            proxy.request_url(&forwarded).unwrap(),
            "https://p.example.com/x"
        );
        let chained = SimpleRequest::new("GET", "/x")
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", "a.example.com, b.example.com");
        assert!(proxy.request_url(&chained).is_err());
        for bad in [
            "api.example.com\\admin",
            "a%2eb",
            "a b",
            "user@h",
            "h:port",
            "h:123456",
            "[zz]",
        ] {
            let req = SimpleRequest::new("GET", "/x").header("Host", bad);
            assert!(host.request_url(&req).is_err(), "{bad}");
        }
        for good in ["h", "h:8080", "127.0.0.1:9", "[::1]", "[::1]:8443"] {
            let req = SimpleRequest::new("GET", "/x").header("Host", good);
            assert!(host.request_url(&req).is_ok(), "{good}");
        }
        let backslash = SimpleRequest::new("GET", "/a\\b").header("Host", "h");
        assert!(host.request_url(&backslash).is_err());
        let two_hosts = SimpleRequest::new("GET", "/x")
            .header("Host", "a.example.com")
            .header("Host", "b.example.com");
        assert!(host.request_url(&two_hosts).is_err());
        assert!(proxy.request_url(&SimpleRequest::new("GET", "/x")).is_err());
        assert!(Origin::new(&HtuOrigin::Fixed("https://a.example.com/?q".into())).is_none());
        assert!(Origin::new(&HtuOrigin::Host("ftp".into())).is_none());
    }
}
