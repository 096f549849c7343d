//! Certificates for mutual TLS tests, generated on every run (rcgen, ECDSA P-256): a CA, a
//! server certificate for `localhost` and `127.0.0.1`, and client certificates it signs; and
//! a second CA nobody trusts, for a client the server must turn away.

#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A certificate and its key, PEM and DER.
pub(crate) struct Leaf {
    /// The certificate, PEM.
    pub(crate) cert_pem: String,
    /// The certificate's DER (what a token's `cnf.x5t#S256` hashes).
    pub(crate) der: Vec<u8>,
    /// The private key, PKCS#8 PEM.
    pub(crate) key_pem: String,
}

impl Leaf {
    /// The certificate and key in one PEM (a client identity for reqwest).
    pub(crate) fn identity_pem(&self) -> String {
        format!("{}{}", self.cert_pem, self.key_pem)
    }
}

/// A CA and what it signed.
pub(crate) struct Pki {
    /// The CA certificate, PEM: the roots clients and servers trust.
    pub(crate) ca_pem: String,
    /// The server's certificate (`localhost`, `127.0.0.1`).
    pub(crate) server: Leaf,
    /// Client certificates signed by the CA (`CN=<name>`).
    pub(crate) clients: Vec<Leaf>,
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).expect("CA certificate");
    (cert.pem(), Issuer::new(params, key))
}

fn leaf(
    issuer: &Issuer<'_, KeyPair>,
    names: &[&str],
    cn: &str,
    usage: ExtendedKeyUsagePurpose,
) -> Leaf {
    let key = KeyPair::generate().expect("key");
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).expect("certificate");
    Leaf {
        cert_pem: cert.pem(),
        der: cert.der().to_vec(),
        key_pem: key.serialize_pem(),
    }
}

impl Pki {
    /// A CA, the server's certificate and one client certificate per name in `clients`.
    pub(crate) fn new(clients: &[&str]) -> Self {
        let (ca_pem, issuer) = ca("jwt-rbac test CA");
        let server = leaf(
            &issuer,
            &["localhost", "127.0.0.1"],
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let clients = clients
            .iter()
            .map(|cn| leaf(&issuer, &[], cn, ExtendedKeyUsagePurpose::ClientAuth))
            .collect();
        Self {
            ca_pem,
            server,
            clients,
        }
    }

    /// A client certificate from a CA nobody trusts.
    pub(crate) fn stranger(cn: &str) -> Leaf {
        let (_, issuer) = ca("an untrusted CA");
        leaf(&issuer, &[], cn, ExtendedKeyUsagePurpose::ClientAuth)
    }

    /// A reqwest client trusting only this CA, presenting `identity` if given.
    pub(crate) fn client(&self, identity: Option<&Leaf>) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA");
        let mut builder = reqwest::Client::builder()
            .tls_certs_only([ca])
            .timeout(std::time::Duration::from_secs(10));
        if let Some(leaf) = identity {
            let id = reqwest::Identity::from_pem(leaf.identity_pem().as_bytes()).expect("identity");
            builder = builder.identity(id);
        }
        builder.build().expect("client")
    }
}
