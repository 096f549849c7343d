//! The small, framework-free view of a request that the engine reads: method, path and headers as
//! plain strings/bytes, so that http 0.2 (actix) and http 1 (axum, poem, warp) adapters feed it alike.

/// What the core needs to know about a request. Adapters implement it over their own request type
/// without copying: header values are handed over as borrowed bytes.
///
/// ```
/// use jwt_core::{RequestParts, SimpleRequest};
/// let req = SimpleRequest::new("GET", "/agents").header("Authorization", "Bearer abc");
/// let mut seen = Vec::new();
/// req.for_each_header("authorization", &mut |v| seen.push(v));
/// assert_eq!(seen, [b"Bearer abc".as_slice()]);
/// ```
pub trait RequestParts {
    /// The method, e.g. `GET` (case-sensitive, as sent).
    fn method(&self) -> &str;
    /// The path, without the query string, as sent (not percent-decoded).
    fn path(&self) -> &str;
    /// Calls `f` with every value of the header `name` (matched case-insensitively), in order.
    fn for_each_header<'a>(&'a self, name: &str, f: &mut dyn FnMut(&'a [u8]));

    /// The body, when the adapter read it: only on an MCP endpoint, where the engine asks for
    /// it ([`crate::JwtAuth::body_limit`]). [`RequestBody::Unread`] by default.
    fn body(&self) -> RequestBody<'_> {
        RequestBody::Unread
    }

    /// The DER of the client certificate the TLS connection presented (mutual TLS), for
    /// certificate-bound tokens ([`crate::Mtls`]). `None` by default: no TLS client certificate
    /// (or the adapter does not see the connection).
    fn client_certificate(&self) -> Option<&[u8]> {
        None
    }

    /// The address of the direct peer (a client, or a proxy in front of the service), for
    /// [`crate::Mtls::trusted_proxy`]. `None` by default.
    fn peer_addr(&self) -> Option<std::net::IpAddr> {
        None
    }
}

/// The body of a request as the adapter hands it to the engine ([`RequestParts::body`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RequestBody<'a> {
    /// Not read: the engine did not ask for it.
    #[default]
    Unread,
    /// The whole body.
    Bytes(&'a [u8]),
    /// Longer than [`crate::JwtAuth::body_limit`]: refused.
    TooLarge,
    /// The connection failed while the body was read: refused.
    Unreadable,
}

/// A request body as an adapter read it for the engine: the bytes (`B`: `Bytes`, `Vec<u8>`),
/// or why there are none. [`ReadBody::view`] is what the engine reads.
///
/// ```
/// use jwt_core::{ReadBody, RequestBody};
/// let read = ReadBody::Bytes(b"{}".to_vec());
/// assert_eq!(read.view(), RequestBody::Bytes(b"{}"));
/// assert_eq!(ReadBody::<Vec<u8>>::TooLarge.view(), RequestBody::TooLarge);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadBody<B> {
    /// The whole body.
    Bytes(B),
    /// Longer than the limit: reading stopped there.
    TooLarge,
    /// The body failed while it was read (the client went away, a framing error).
    Unreadable,
}

impl<B: AsRef<[u8]>> ReadBody<B> {
    /// What the engine reads ([`RequestParts::body`]).
    pub fn view(&self) -> RequestBody<'_> {
        match self {
            ReadBody::Bytes(b) => RequestBody::Bytes(b.as_ref()),
            ReadBody::TooLarge => RequestBody::TooLarge,
            ReadBody::Unreadable => RequestBody::Unreadable,
        }
    }

    /// The bytes, when the body was read whole.
    pub fn into_bytes(self) -> Option<B> {
        match self {
            ReadBody::Bytes(b) => Some(b),
            ReadBody::TooLarge | ReadBody::Unreadable => None,
        }
    }
}

/// How many values a header has, and the first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderLookup<'a> {
    Missing,
    One(&'a [u8]),
    Several,
}

pub(crate) fn lookup<'a>(req: &'a (impl RequestParts + ?Sized), name: &str) -> HeaderLookup<'a> {
    let mut found = HeaderLookup::Missing;
    req.for_each_header(name, &mut |v| {
        found = match found {
            HeaderLookup::Missing => HeaderLookup::One(v),
            _ => HeaderLookup::Several,
        }
    });
    found
}

pub(crate) fn has_header(req: &(impl RequestParts + ?Sized), name: &str) -> bool {
    lookup(req, name) != HeaderLookup::Missing
}

/// A borrowed [`RequestParts`] built from string slices: for tests, examples and adapters whose
/// framework has no header map worth borrowing.
///
/// ```
/// use jwt_core::{RequestParts, SimpleRequest};
/// let req = SimpleRequest::new("POST", "/agents/a1/runs").header("Cookie", "access_token=t");
/// assert_eq!(req.method(), "POST");
/// assert_eq!(req.path(), "/agents/a1/runs");
/// ```
#[derive(Debug, Clone, Default)]
pub struct SimpleRequest<'a> {
    method: &'a str,
    path: &'a str,
    headers: Vec<(&'a str, &'a [u8])>,
    body: RequestBody<'a>,
    certificate: Option<&'a [u8]>,
    peer: Option<std::net::IpAddr>,
}

impl<'a> SimpleRequest<'a> {
    /// A request with no headers.
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Self {
            method,
            path,
            headers: Vec::new(),
            body: RequestBody::Unread,
            certificate: None,
            peer: None,
        }
    }

    /// Sets the TLS client certificate (DER) the connection presented.
    pub fn client_certificate(mut self, der: &'a [u8]) -> Self {
        self.certificate = Some(der);
        self
    }

    /// Sets the direct peer's address.
    pub fn peer_addr(mut self, ip: std::net::IpAddr) -> Self {
        self.peer = Some(ip);
        self
    }

    /// Sets the body (as an adapter does on an MCP endpoint).
    pub fn body(mut self, body: RequestBody<'a>) -> Self {
        self.body = body;
        self
    }

    /// Adds a header (repeat the call for repeated headers).
    pub fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value.as_bytes()));
        self
    }

    /// Adds a header whose value is raw bytes (e.g. not UTF-8).
    pub fn header_bytes(mut self, name: &'a str, value: &'a [u8]) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl RequestParts for SimpleRequest<'_> {
    fn method(&self) -> &str {
        self.method
    }

    fn path(&self) -> &str {
        self.path
    }

    fn for_each_header<'a>(&'a self, name: &str, f: &mut dyn FnMut(&'a [u8])) {
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case(name) {
                f(v);
            }
        }
    }

    fn body(&self) -> RequestBody<'_> {
        self.body
    }

    fn client_certificate(&self) -> Option<&[u8]> {
        self.certificate
    }

    fn peer_addr(&self) -> Option<std::net::IpAddr> {
        self.peer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_counts_values() {
        let req = SimpleRequest::new("GET", "/")
            .header("A", "1")
            .header("a", "2")
            .header("B", "3");
        assert_eq!(lookup(&req, "a"), HeaderLookup::Several);
        assert_eq!(lookup(&req, "b"), HeaderLookup::One(b"3"));
        assert_eq!(lookup(&req, "c"), HeaderLookup::Missing);
        assert!(has_header(&req, "B"));
    }
}
