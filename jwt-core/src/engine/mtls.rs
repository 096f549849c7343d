//! Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf.x5t#S256` names a client
//! certificate is accepted only over a connection that presents that certificate. The
//! certificate comes from the TLS connection ([`crate::RequestParts::client_certificate`]), or,
//! behind a TLS-terminating proxy, from the proxy's header ([`CertHeader`]), honoured only when
//! the direct peer ([`crate::RequestParts::peer_addr`]) is one of the trusted proxies.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ipnet::IpNet;
use subtle::ConstantTimeEq as _;

use crate::error::{AuthErrorKind, ConfigError, InvalidToken};
use crate::keys::crypto::sha256;
use crate::render::AuthError;
use crate::token::request::{HeaderLookup, RequestParts, lookup};

/// Whether tokens must be bound to the client's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MtlsMode {
    /// A bound token needs its certificate; an unbound one passes as a bearer token.
    IfBound,
    /// Every token must be bound to the certificate the client presents.
    Required,
}

/// Where a TLS-terminating proxy in front of the service puts the client's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertHeader {
    /// Envoy's `x-forwarded-client-cert`: one element whose `Hash=` is the hex SHA-256 of the
    /// certificate's DER and/or whose `Cert=` is the URL-encoded PEM (both must agree).
    EnvoyXfcc,
    /// nginx's `$ssl_client_escaped_cert` (URL-encoded PEM), sent in `ssl-client-cert`
    /// (`proxy_set_header ssl-client-cert $ssl_client_escaped_cert;`); empty: no certificate.
    NginxEscapedPem,
}

impl CertHeader {
    fn name(self) -> &'static str {
        match self {
            CertHeader::EnvoyXfcc => "x-forwarded-client-cert",
            CertHeader::NginxEscapedPem => "ssl-client-cert",
        }
    }
}

/// RFC 8705 certificate-bound tokens, for [`crate::JwtAuthBuilder::mtls`].
///
/// ```
/// use jwt_core::{CertHeader, Mtls};
/// // Behind Envoy on 10.0.0.0/8: its header is read from those peers only.
/// let mtls = Mtls::if_bound().trusted_proxy(CertHeader::EnvoyXfcc, ["10.0.0.0/8", "127.0.0.1"])?;
/// assert!(Mtls::required().trusted_proxy(CertHeader::EnvoyXfcc, ["not an address"]).is_err());
/// # let _ = mtls; Ok::<(), jwt_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until it is used: keep the value each setter returns"]
pub struct Mtls {
    pub(crate) mode: MtlsMode,
    proxy: Option<(CertHeader, Vec<IpNet>)>,
}

impl Mtls {
    /// A bound token needs its certificate; unbound tokens pass.
    pub fn if_bound() -> Self {
        Self {
            mode: MtlsMode::IfBound,
            proxy: None,
        }
    }

    /// Every token must be bound to the presented certificate.
    pub fn required() -> Self {
        Self {
            mode: MtlsMode::Required,
            proxy: None,
        }
    }

    /// Reads the certificate from `header` when the direct peer is one of `peers` (addresses
    /// or CIDR blocks: `10.0.0.5`, `fd00::/64`; an IPv4 peer seen as `::ffff:a.b.c.d` matches
    /// its IPv4 entry); from any other peer the header is ignored. The peer's own TLS
    /// certificate, if any, is then not the client's and is not read; with no peer address (an
    /// adapter that does not give it) no certificate is read at all.
    ///
    /// The header is only as good as the proxy that writes it: the proxy must replace whatever
    /// a client sent (Envoy: `forward_client_cert_details: SANITIZE_SET`; nginx:
    /// `proxy_set_header ssl-client-cert $ssl_client_escaped_cert;`), and only the proxies may
    /// reach the service (list them narrowly: anyone else in the list could write the header).
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] for an address that does not parse, no address, or a
    /// block that holds every address (`0.0.0.0/0`, `::/0`).
    pub fn trusted_proxy<I, S>(mut self, header: CertHeader, peers: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut nets = Vec::new();
        for peer in peers {
            let peer = peer.as_ref().trim();
            let net = peer
                .parse::<IpNet>()
                .or_else(|_| peer.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| ConfigError::InvalidSetting {
                    setting: "Mtls::trusted_proxy",
                    reason: "a peer is not an IP address or CIDR block",
                })?;
            if net.prefix_len() == 0 {
                return Err(ConfigError::InvalidSetting {
                    setting: "Mtls::trusted_proxy",
                    reason: "every address is not a trusted proxy: name the proxies",
                });
            }
            nets.push(canonical_net(net));
        }
        if nets.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "Mtls::trusted_proxy",
                reason: "no trusted peer",
            });
        }
        self.proxy = Some((header, nets));
        Ok(self)
    }

    /// The mode.
    pub fn mode(&self) -> MtlsMode {
        self.mode
    }

    /// The check of one request: `bound` is the token's `cnf.x5t#S256`, if any.
    pub(crate) fn check(
        &self,
        req: &dyn RequestParts,
        bound: Option<&str>,
    ) -> Result<(), AuthError> {
        let Some(bound) = bound else {
            return match self.mode {
                MtlsMode::Required => Err(InvalidToken::CertificateBindingRequired.into()),
                MtlsMode::IfBound => Ok(()),
            };
        };
        // A binding that is no SHA-256 thumbprint can match no certificate.
        let Some(expected) = URL_SAFE_NO_PAD.decode(bound).ok().filter(|d| d.len() == 32) else {
            return Err(InvalidToken::InvalidClaim("cnf".into()).into());
        };
        let presented = self
            .presented(req)?
            .ok_or(InvalidToken::CertificateRequired)?;
        if bool::from(presented.ct_eq(expected.as_slice())) {
            Ok(())
        } else {
            Err(InvalidToken::CertificateMismatch.into())
        }
    }

    /// The SHA-256 thumbprint of the client's certificate: the trusted proxy's header when the
    /// peer is one, else the TLS connection's certificate.
    fn presented(&self, req: &dyn RequestParts) -> Result<Option<[u8; 32]>, AuthError> {
        if let Some((header, peers)) = &self.proxy {
            // Behind a proxy, an unknown peer is not trusted, and its connection's certificate
            // (the proxy's own, or nobody's) is never the client's.
            let Some(peer) = req.peer_addr() else {
                return Ok(None);
            };
            // `::ffff:10.1.2.3` (an IPv4 proxy seen by a server on `[::]`) is 10.1.2.3.
            let peer = peer.to_canonical();
            if !peers.iter().any(|net| net.contains(&peer)) {
                return Ok(req.client_certificate().map(sha256));
            }
            let ambiguous = || {
                AuthError::new(AuthErrorKind::InvalidRequest(
                    "Ambiguous client certificate",
                ))
            };
            return match lookup(req, header.name()) {
                HeaderLookup::Missing => Ok(None),
                HeaderLookup::Several => Err(ambiguous()),
                HeaderLookup::One(value) => {
                    let value = std::str::from_utf8(value).map_err(|_| ambiguous())?;
                    match header {
                        CertHeader::EnvoyXfcc => xfcc_thumbprint(value),
                        CertHeader::NginxEscapedPem => escaped_pem_thumbprint(value),
                    }
                    .map_err(|()| ambiguous())
                }
            };
        }
        Ok(req.client_certificate().map(sha256))
    }
}

/// `net` with an IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) written as the IPv4 one.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
            Some(v4) if v6.prefix_len() >= 96 => {
                ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4)
            }
            _ => net,
        },
        IpNet::V4(_) => net,
    }
}

/// The RFC 8705 thumbprint of a certificate: base64url (no padding) of the SHA-256 of its DER,
/// what a bound token carries as `cnf.x5t#S256`.
///
/// ```
/// assert_eq!(jwt_core::certificate_thumbprint(b"").len(), 43);
/// ```
pub fn certificate_thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha256(der))
}

/// The thumbprint in one Envoy XFCC element (`Hash=<hex>`, `Cert="<url-encoded PEM>"`); more
/// than one element (several proxies), a malformed value, or a `Hash` and a `Cert` that
/// disagree: `Err`.
fn xfcc_thumbprint(value: &str) -> Result<Option<[u8; 32]>, ()> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let mut hash = None;
    let mut cert = None;
    for pair in split_outside_quotes(value, ';')? {
        let (key, raw) = pair.split_once('=').ok_or(())?;
        let raw = raw.trim();
        let raw = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw);
        match key.trim().to_ascii_lowercase().as_str() {
            "hash" if hash.is_none() => hash = Some(hex32(raw)?),
            "cert" if cert.is_none() => cert = Some(escaped_pem_thumbprint(raw)?.ok_or(())?),
            "hash" | "cert" => return Err(()),
            _ => {}
        }
    }
    match (hash, cert) {
        (Some(h), Some(c)) if h != c => Err(()),
        (h, c) => Ok(h.or(c)),
    }
}

/// `value` split at `sep`, never inside a quoted string; a `,` outside quotes (a second XFCC
/// element) is `Err`.
fn split_outside_quotes(value: &str, sep: char) -> Result<Vec<&str>, ()> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => return Err(()),
            c if c == sep && !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err(());
    }
    parts.push(&value[start..]);
    Ok(parts)
}

/// 64 hex digits as 32 bytes.
fn hex32(text: &str) -> Result<[u8; 32], ()> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return Err(());
    }
    let digit = |b: u8| (b as char).to_digit(16).ok_or(());
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).map_err(|_| ())?;
    }
    Ok(out)
}

/// The thumbprint of a URL-encoded PEM certificate; empty: no certificate.
fn escaped_pem_thumbprint(value: &str) -> Result<Option<[u8; 32]>, ()> {
    let pem = percent_encoding::percent_decode_str(value.trim())
        .decode_utf8()
        .map_err(|_| ())?;
    if pem.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(sha256(&pem_certificate(&pem)?)))
}

/// The DER of the one `CERTIFICATE` block of `pem`.
fn pem_certificate(pem: &str) -> Result<Vec<u8>, ()> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN CERTIFICATE-----")
        .and_then(|rest| rest.trim_end().strip_suffix("-----END CERTIFICATE-----"))
        .ok_or(())?;
    if body.contains("-----") {
        return Err(());
    }
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD.decode(b64).map_err(|_| ())?;
    if der.is_empty() { Err(()) } else { Ok(der) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DER: &[u8] = b"not a real certificate, but DER bytes all the same";

    fn pem() -> String {
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            STANDARD.encode(DER)
        )
    }

    fn escaped() -> String {
        percent_encoding::utf8_percent_encode(&pem(), percent_encoding::NON_ALPHANUMERIC)
            .to_string()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn xfcc_hash_and_cert() {
        let want = sha256(DER);
        let hash = hex(&want);
        assert_eq!(
            xfcc_thumbprint(&format!("By=spiffe://x;Hash={hash};Subject=\"CN=a,O=b\"")),
            Ok(Some(want))
        );
        assert_eq!(
            xfcc_thumbprint(&format!("Cert=\"{}\"", escaped())),
            Ok(Some(want))
        );
        assert_eq!(
            xfcc_thumbprint(&format!("Hash={hash};Cert=\"{}\"", escaped())),
            Ok(Some(want))
        );
        assert_eq!(xfcc_thumbprint("By=spiffe://x;Subject=\"CN=a\""), Ok(None));
        assert_eq!(xfcc_thumbprint(""), Ok(None));
        let other = hex(&sha256(b"another"));
        for bad in [
            format!("Hash={other};Cert=\"{}\"", escaped()),
            format!("Hash={hash},Hash={hash}"),
            format!("Hash={hash};Hash={hash}"),
            "Hash=abc".to_owned(),
            format!("Hash={}", "zz".repeat(32)),
            "Cert=\"unterminated".to_owned(),
            "Cert=\"-----BEGIN CERTIFICATE-----\"".to_owned(),
        ] {
            assert_eq!(xfcc_thumbprint(&bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn nginx_escaped_pem() {
        assert_eq!(escaped_pem_thumbprint(&escaped()), Ok(Some(sha256(DER))));
        assert_eq!(escaped_pem_thumbprint(""), Ok(None));
        assert_eq!(escaped_pem_thumbprint("%2D%2D%2D"), Err(()));
        let two = format!("{}{}", pem(), pem());
        assert_eq!(pem_certificate(&two), Err(()));
    }
}
