//! `peer-server`: the crates a user would pick instead of jwt-rbac, each serving the contract of
//! `bench-server` (examples/agentos-demo/src/bin/bench.rs) so that `cargo xtask bench http` can
//! measure them in the same paired runs as ours: `GET /hello` needs a bearer token (HS256 or
//! RS256 with the bench keys, audience `agentos`, issuer `https://idp.example.test`, expiry,
//! 10 s of leeway) holding the scope `hello:read` in its `scopes` claim, 401 without a valid token,
//! 403 without the scope; `GET /health` needs no token. `--mode bare` serves both routes on the
//! peer's own framework version without authentication: the baseline each peer is measured
//! beside.
//!
//! Prints `listening on http://127.0.0.1:<port>`, then `token <jwt>` (`token -` when bare).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use serde::Deserialize;

const AUDIENCE: &str = "agentos";
const ISSUER: &str = "https://idp.example.test";
const HELLO_SCOPE: &str = "hello:read";
const LEEWAY_SECS: u64 = 10;
const HELLO: &str = "Hello, World!";
const HEALTHY: &str = "ok";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Peer {
    /// axum-jwt-auth 0.7 on axum 0.8: its `Claims` extractor, the scope checked in the handler.
    #[value(name = "axum-jwt-auth")]
    AxumJwtAuth,
    /// jwt-authorizer 0.15 on axum 0.7: its layer with a claims check.
    #[value(name = "jwt-authorizer")]
    JwtAuthorizer,
    /// actix-web-httpauth 0.8 on actix-web 4: its bearer middleware with a `jsonwebtoken`
    /// validator.
    #[value(name = "actix-web-httpauth")]
    ActixWebHttpauth,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Bare,
    Hs256,
    Rs256,
}

#[derive(Parser)]
struct Args {
    #[arg(long, value_enum)]
    peer: Peer,
    #[arg(long, value_enum, default_value = "bare")]
    mode: Mode,
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// bench-server's key directory (`hs256.secret`, `rsa.key`, `jwks.json`).
    #[arg(long)]
    keys_dir: PathBuf,
}

/// The claims every peer reads.
#[derive(Clone, Debug, Deserialize)]
struct PeerClaims {
    #[serde(default)]
    scopes: Vec<String>,
}

impl PeerClaims {
    fn allowed(&self) -> bool {
        self.scopes.iter().any(|s| s == HELLO_SCOPE)
    }
}

/// The verification key a peer is given.
enum Key {
    /// The HS256 secret, as text: jwt-authorizer takes a secret only as `&str`, so every peer
    /// gets the hex form of bench-server's secret bytes (as long as our own secret, 64 bytes).
    Secret(String),
    /// The RSA public key as a JWK (from bench-server's `jwks.json`).
    Rsa(serde_json::Value),
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The key for `mode` and a token it accepts, with the claims bench-server's tokens carry.
fn key_and_token(dir: &Path, mode: Mode) -> Result<Option<(Key, String)>, String> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let claims = serde_json::json!({"sub": "bench", "aud": AUDIENCE, "iss": ISSUER,
        "exp": now() + 3600, "iat": now(), "scopes": [HELLO_SCOPE]});
    let (key, encoding, header) = match mode {
        Mode::Bare => return Ok(None),
        Mode::Hs256 => {
            let secret: String = read(&dir.join("hs256.secret"))?
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let encoding = EncodingKey::from_secret(secret.as_bytes());
            (Key::Secret(secret), encoding, Header::new(Algorithm::HS256))
        }
        Mode::Rs256 => {
            let jwks: serde_json::Value = serde_json::from_slice(&read(&dir.join("jwks.json"))?)
                .map_err(|e| format!("jwks.json: {e}"))?;
            let jwk = jwks["keys"]
                .as_array()
                .and_then(|keys| keys.iter().find(|k| k["kty"] == "RSA"))
                .cloned()
                .ok_or("jwks.json has no RSA key")?;
            let encoding = EncodingKey::from_rsa_pem(&read(&dir.join("rsa.key"))?)
                .map_err(|e| format!("rsa.key: {e}"))?;
            let mut header = Header::new(Algorithm::RS256);
            header.kid = jwk["kid"].as_str().map(str::to_owned);
            (Key::Rsa(jwk), encoding, header)
        }
    };
    let token = encode(&header, &claims, &encoding).map_err(|e| e.to_string())?;
    Ok(Some((key, token)))
}

fn ready(port: u16, token: Option<&str>) {
    println!("listening on http://127.0.0.1:{port}");
    println!("token {}", token.unwrap_or("-"));
    let _ = std::io::stdout().flush();
}

/// The key and `jsonwebtoken::Validation` of the contract (algorithm, audience, issuer, leeway)
/// for a peer that hands `jsonwebtoken` its own: a macro over the crate because the peers use two
/// major versions of it (10 and 11) whose types differ. Expands to `(DecodingKey, Validation)`
/// and returns a `String` error from the calling function.
macro_rules! decoding {
    ($jwt:ident, $key:expr) => {{
        let (key, alg) = match $key {
            $crate::Key::Secret(secret) => (
                $jwt::DecodingKey::from_secret(secret.as_bytes()),
                $jwt::Algorithm::HS256,
            ),
            $crate::Key::Rsa(jwk) => {
                let jwk = serde_json::from_value(jwk).map_err(|e| e.to_string())?;
                (
                    $jwt::DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?,
                    $jwt::Algorithm::RS256,
                )
            }
        };
        let mut validation = $jwt::Validation::new(alg);
        validation.set_audience(&[$crate::AUDIENCE]);
        validation.set_issuer(&[$crate::ISSUER]);
        validation.leeway = $crate::LEEWAY_SECS;
        (key, validation)
    }};
}

/// Binds `127.0.0.1:port` for a tokio-based peer and prints the ready lines.
async fn listen(port: u16, token: Option<&str>) -> Result<tokio::net::TcpListener, String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    ready(
        listener.local_addr().map_err(|e| e.to_string())?.port(),
        token,
    );
    Ok(listener)
}

mod actix_web_httpauth_peer;
mod axum_jwt_auth_peer;
mod jwt_authorizer_peer;

fn main() -> ExitCode {
    let args = Args::parse();
    let result = key_and_token(&args.keys_dir, args.mode).and_then(|setup| {
        let (key, token) = setup.unzip();
        match args.peer {
            Peer::ActixWebHttpauth => actix_web_httpauth_peer::serve(key, args.port, token),
            peer => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async move {
                    if peer == Peer::AxumJwtAuth {
                        axum_jwt_auth_peer::serve(key, args.port, token).await
                    } else {
                        jwt_authorizer_peer::serve(key, args.port, token).await
                    }
                })
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peer-server: {e}");
            ExitCode::FAILURE
        }
    }
}
