//! Certificate-bound tokens (RFC 8705) through the engine: the certificate from the TLS
//! connection or from a trusted proxy's header, the modes, the refusals and their challenges,
//! a token bound both to a DPoP key and to a certificate, and the metadata. The engine only
//! hashes the certificate's DER, so fixed bytes stand for certificates here; real TLS through
//! each adapter is the adapters' to prove.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jwt_core::{
    AuthError, CertHeader, Dpop, HtuOrigin, JwtAuth, Mtls, Outcome, ProtectedResourceMetadata,
    SimpleRequest, StaticKeys, certificate_thumbprint, mint,
};
use serde_json::{Value, json};

const SECRET: &[u8] = b"mtls-tests-secret-0123456789abcdef!!";
const CERT: &[u8] = b"the DER of the client certificate the token is bound to";
const OTHER: &[u8] = b"the DER of another client's certificate";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn token(cnf: Option<Value>) -> String {
    let mut claims = json!({"sub": "client-1", "exp": now() + 600});
    if let Some(cnf) = cnf {
        claims["cnf"] = cnf;
    }
    mint::hs256(SECRET, &claims).unwrap()
}

fn bound() -> String {
    token(Some(json!({"x5t#S256": certificate_thumbprint(CERT)})))
}

fn auth(mtls: Mtls) -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .mtls(mtls)
        .build()
        .unwrap()
}

async fn send(auth: &JwtAuth, token: &str, cert: Option<&[u8]>) -> Result<Outcome, AuthError> {
    let bearer = format!("Bearer {token}");
    let mut req = SimpleRequest::new("GET", "/orders").header("Authorization", &bearer);
    if let Some(der) = cert {
        req = req.client_certificate(der);
    }
    auth.authenticate(&req).await
}

fn refused(result: Result<Outcome, AuthError>) -> (u16, &'static str, String) {
    let err = result.unwrap_err();
    (err.status(), err.reason(), err.www_authenticate())
}

fn invalid(description: &str) -> String {
    format!(r#"Bearer realm="api", error="invalid_token", error_description="{description}""#)
}

#[tokio::test]
async fn mtls_bound_token_passes_with_its_certificate_only() {
    let auth = auth(Mtls::if_bound());
    send(&auth, &bound(), Some(CERT)).await.unwrap();
    assert_eq!(
        refused(send(&auth, &bound(), Some(OTHER)).await),
        (
            401,
            "certificate_mismatch",
            invalid("client certificate mismatch")
        )
    );
    assert_eq!(
        refused(send(&auth, &bound(), None).await),
        (
            401,
            "certificate_required",
            invalid("client certificate required")
        )
    );
    // Refused on a token-cache hit too: the certificate is checked on every request.
    send(&auth, &bound(), Some(CERT)).await.unwrap();
    assert_eq!(
        refused(send(&auth, &bound(), Some(OTHER)).await).1,
        "certificate_mismatch"
    );
}

#[tokio::test]
async fn mtls_modes_if_bound_and_required() {
    let plain = token(None);
    send(&auth(Mtls::if_bound()), &plain, None).await.unwrap();
    send(&auth(Mtls::if_bound()), &plain, Some(CERT))
        .await
        .unwrap();
    let required = auth(Mtls::required());
    assert_eq!(
        refused(send(&required, &plain, Some(CERT)).await),
        (
            401,
            "certificate_binding_required",
            invalid("certificate-bound token required")
        )
    );
    send(&required, &bound(), Some(CERT)).await.unwrap();
}

#[tokio::test]
async fn mtls_malformed_or_empty_binding_and_no_configuration_are_refused() {
    let auth = auth(Mtls::if_bound());
    for (cnf, reason) in [
        (json!({"x5t#S256": ""}), "sender_constrained"),
        (json!({"x5t#S256": 5}), "sender_constrained"),
        (json!({"x5t#S256": "not-a-thumbprint"}), "invalid_claim"),
        (
            json!({"x5t#S256": certificate_thumbprint(CERT), "x5t": "sha1"}),
            "sender_constrained",
        ),
        (json!({}), "sender_constrained"),
    ] {
        let t = token(Some(cnf.clone()));
        assert_eq!(
            refused(send(&auth, &t, Some(CERT)).await).1,
            reason,
            "{cnf}"
        );
    }
    // Without mutual TLS configured, a certificate-bound token is what a stolen one looks like.
    let plain = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .build()
        .unwrap();
    assert_eq!(
        refused(send(&plain, &bound(), Some(CERT)).await).1,
        "sender_constrained"
    );
}

#[tokio::test]
async fn mtls_token_bound_to_a_dpop_key_and_a_certificate_needs_both_proofs() {
    let key = crate::dpop::p256();
    let jkt = jwt_core::jwk_thumbprint(&key.jwk).unwrap();
    let both = token(Some(
        json!({"jkt": jkt, "x5t#S256": certificate_thumbprint(CERT)}),
    ));
    let origin = "https://api.example.com";
    let dpop_and_mtls = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .mtls(Mtls::if_bound())
        .dpop(Dpop::allowed().origin(HtuOrigin::Fixed(origin.into())))
        .build()
        .unwrap();
    let send_dpop = |cert: Option<&'static [u8]>| {
        let proof = crate::dpop::proof(&key, "GET", &format!("{origin}/orders"), &both, |_| {});
        let auth = dpop_and_mtls.clone();
        let both = both.clone();
        async move {
            let header = format!("DPoP {both}");
            let mut req = SimpleRequest::new("GET", "/orders")
                .header("Authorization", &header)
                .header("DPoP", &proof);
            if let Some(der) = cert {
                req = req.client_certificate(der);
            }
            auth.authenticate(&req).await
        }
    };
    send_dpop(Some(CERT)).await.unwrap();
    assert_eq!(refused(send_dpop(None).await).1, "certificate_required");
    assert_eq!(
        refused(send_dpop(Some(OTHER)).await).1,
        "certificate_mismatch"
    );
    // As a bearer token with its certificate: the DPoP binding is unproven.
    assert_eq!(
        refused(send(&dpop_and_mtls, &both, Some(CERT)).await).1,
        "sender_constrained"
    );
    // Only one of the two proofs configured: refused whatever is presented.
    assert_eq!(
        refused(send(&auth(Mtls::if_bound()), &both, Some(CERT)).await).1,
        "sender_constrained"
    );
}

fn pem(der: &[u8]) -> String {
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        STANDARD.encode(der)
    )
}

fn escaped(der: &[u8]) -> String {
    percent_encoding::utf8_percent_encode(&pem(der), percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn hex_sha256(der: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

async fn via_proxy(
    auth: &JwtAuth,
    peer: &str,
    headers: &[(&'static str, String)],
) -> Result<Outcome, AuthError> {
    let bearer = format!("Bearer {}", bound());
    let mut req = SimpleRequest::new("GET", "/orders")
        .header("Authorization", &bearer)
        .peer_addr(peer.parse::<IpAddr>().unwrap());
    for (name, value) in headers {
        req = req.header(name, value);
    }
    auth.authenticate(&req).await
}

#[tokio::test]
async fn mtls_proxy_header_only_from_a_trusted_peer_and_only_one_value() {
    let envoy = auth(
        Mtls::if_bound()
            .trusted_proxy(CertHeader::EnvoyXfcc, ["10.0.0.0/8", "::1"])
            .unwrap(),
    );
    let xfcc = |der: &[u8]| {
        (
            "x-forwarded-client-cert",
            format!(
                "By=spiffe://api;Hash={};Subject=\"CN=client-1\"",
                hex_sha256(der)
            ),
        )
    };
    via_proxy(&envoy, "10.1.2.3", &[xfcc(CERT)]).await.unwrap();
    via_proxy(
        &envoy,
        "::1",
        &[(
            "x-forwarded-client-cert",
            format!("Cert=\"{}\"", escaped(CERT)),
        )],
    )
    .await
    .unwrap();
    assert_eq!(
        refused(via_proxy(&envoy, "10.1.2.3", &[xfcc(OTHER)]).await).1,
        "certificate_mismatch"
    );
    // From any other peer the header is ignored: no certificate.
    assert_eq!(
        refused(via_proxy(&envoy, "192.0.2.7", &[xfcc(CERT)]).await).1,
        "certificate_required"
    );
    // Two values, or two elements (a second proxy): ambiguous, refused.
    for headers in [
        vec![xfcc(CERT), xfcc(CERT)],
        vec![(
            "x-forwarded-client-cert",
            format!("{},{}", xfcc(CERT).1, xfcc(CERT).1),
        )],
    ] {
        let (status, reason, _) = refused(via_proxy(&envoy, "10.1.2.3", &headers).await);
        assert_eq!((status, reason), (400, "invalid_request"));
    }
    let nginx = auth(
        Mtls::if_bound()
            .trusted_proxy(CertHeader::NginxEscapedPem, ["127.0.0.1"])
            .unwrap(),
    );
    via_proxy(&nginx, "127.0.0.1", &[("ssl-client-cert", escaped(CERT))])
        .await
        .unwrap();
    assert_eq!(
        refused(via_proxy(&nginx, "127.0.0.1", &[("ssl-client-cert", String::new())]).await).1,
        "certificate_required"
    );
    // Behind a trusted proxy, the connection's own certificate is the proxy's, not the client's.
    let bearer = format!("Bearer {}", bound());
    let req = SimpleRequest::new("GET", "/orders")
        .header("Authorization", &bearer)
        .peer_addr("127.0.0.1".parse().unwrap())
        .client_certificate(CERT);
    assert_eq!(
        refused(nginx.authenticate(&req).await).1,
        "certificate_required"
    );
}

#[tokio::test]
async fn mtls_proxy_peers_mapped_unknown_and_too_broad() {
    let envoy = auth(
        Mtls::if_bound()
            .trusted_proxy(CertHeader::EnvoyXfcc, ["10.0.0.0/8"])
            .unwrap(),
    );
    let header = || {
        (
            "x-forwarded-client-cert",
            format!("Hash=\"{}\"", hex_sha256(CERT)),
        )
    };
    // An IPv4 proxy seen by a server listening on `[::]`.
    via_proxy(&envoy, "::ffff:10.1.2.3", &[header()])
        .await
        .unwrap();
    assert_eq!(
        refused(via_proxy(&envoy, "::ffff:192.0.2.7", &[header()]).await).1,
        "certificate_required"
    );
    // No peer address: nothing is read, not even the connection's certificate.
    let bearer = format!("Bearer {}", bound());
    let (name, value) = header();
    let req = SimpleRequest::new("GET", "/orders")
        .header("Authorization", &bearer)
        .header(name, &value)
        .client_certificate(CERT);
    assert_eq!(
        refused(envoy.authenticate(&req).await).1,
        "certificate_required"
    );
    for everyone in ["0.0.0.0/0", "::/0"] {
        assert!(
            Mtls::if_bound()
                .trusted_proxy(CertHeader::EnvoyXfcc, [everyone])
                .is_err()
        );
    }
    // An API key's configured claims are held to the same rule as a token's.
    let keys = jwt_core::ApiKeys::new()
        .key(
            "an-api-key-0123456789abcdef",
            json!({"sub": "svc", "cnf": {"x5t#S256": certificate_thumbprint(CERT)}}),
        )
        .unwrap();
    let api = JwtAuth::builder()
        .verifier(keys)
        .mtls(Mtls::if_bound())
        .build()
        .unwrap();
    let req = SimpleRequest::new("GET", "/")
        .header("Authorization", "Bearer an-api-key-0123456789abcdef");
    assert_eq!(
        refused(api.authenticate(&req).await).1,
        "certificate_required"
    );
    let req = req.client_certificate(CERT);
    api.authenticate(&req).await.unwrap();
}

#[tokio::test]
async fn mtls_metadata_advertises_certificate_bound_tokens() {
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .protected_resource(ProtectedResourceMetadata::new("https://api.example.com"))
        .mtls(Mtls::if_bound())
        .build()
        .unwrap();
    let req = SimpleRequest::new("GET", "/.well-known/oauth-protected-resource");
    let Outcome::ResourceMetadata(json) = auth.authenticate(&req).await.unwrap() else {
        panic!("the metadata document");
    };
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["tls_client_certificate_bound_access_tokens"], true);
}
