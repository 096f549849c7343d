//! The demo's own keys: an HS256 secret, an RSA and an EC key pair, and a JWKS file with the
//! two public keys, generated into the data directory on first run.
//!
//! The three secret files (`hs256.secret`, `rsa.key`, `ec.key`) are created with mode 0600 on
//! unix (owner read/write only); `jwks.json` holds public keys and keeps the default mode. An
//! existing secret file that group or others may access is tightened to 0600 on load, or refused
//! with an error naming the file when that is not possible.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jwt_core::{Algorithm, EncodingKey, mint};
use serde_json::{Value, json};

use crate::DemoError;

/// The `kid`s of the demo's asymmetric keys.
pub const RSA_KID: &str = "demo-rs256";
/// See [`RSA_KID`].
pub const EC_KID: &str = "demo-es256";

const HS_FILE: &str = "hs256.secret";
const RSA_FILE: &str = "rsa.key";
const EC_FILE: &str = "ec.key";
/// The JWKS file name inside the data directory.
pub const JWKS_FILE: &str = "jwks.json";

/// The demo's signing keys (private: never logged).
pub struct DemoKeys {
    dir: PathBuf,
    hs_secret: Vec<u8>,
    rsa_pem: Vec<u8>,
    ec_pem: Vec<u8>,
}

impl std::fmt::Debug for DemoKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoKeys")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |e| DemoError::Io(format!("{}: {e}", path.display()))
}

/// Writes a secret file readable by its owner only: a new file created with mode 0600 (unix),
/// then renamed over `dir/name`, so the secret never sits in a file with wider permissions (an
/// existing file's mode is not inherited).
fn write_secret(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), DemoError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.new"));
    // A leftover of an interrupted run; create_new below refuses to reuse it.
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io(&tmp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(io(&path))
}

/// Makes sure an existing secret file is not accessible by group or others (unix): tightens it
/// to 0600, or fails with the file and the fix when it cannot (another owner, read-only disk).
#[cfg(unix)]
fn ensure_private(path: &Path) -> Result<(), DemoError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
        DemoError::Key(format!(
            "{} is accessible by other users (mode {mode:03o}) and cannot be restricted to 0600 \
             ({e}): run `chmod 600 {}` or regenerate the keys with `cargo xtask keys`",
            path.display(),
            path.display()
        ))
    })?;
    eprintln!(
        "agentos-demo: {} was accessible by other users (mode {mode:03o}); restricted to 0600",
        path.display()
    );
    Ok(())
}

#[cfg(not(unix))]
fn ensure_private(_path: &Path) -> Result<(), DemoError> {
    Ok(())
}

impl DemoKeys {
    /// Loads the keys from `dir`, generating them first when any is missing.
    ///
    /// # Errors
    /// I/O or key errors.
    pub fn load_or_generate(dir: &Path) -> Result<Self, DemoError> {
        let complete = [HS_FILE, RSA_FILE, EC_FILE, JWKS_FILE]
            .iter()
            .all(|f| dir.join(f).is_file());
        if !complete {
            Self::generate(dir)?;
        }
        let read = |name: &str| {
            let path = dir.join(name);
            ensure_private(&path)?;
            std::fs::read(&path).map_err(io(&path))
        };
        let hs_text = read(HS_FILE)?;
        let hs_secret = URL_SAFE_NO_PAD
            .decode(String::from_utf8_lossy(&hs_text).trim())
            .map_err(|_| DemoError::Key(format!("{HS_FILE} is not base64url")))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            hs_secret,
            rsa_pem: read(RSA_FILE)?,
            ec_pem: read(EC_FILE)?,
        })
    }

    /// (Re)generates every key in `dir`.
    ///
    /// # Errors
    /// I/O or key-generation errors.
    pub fn generate(dir: &Path) -> Result<(), DemoError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let rng = SystemRandom::new();
        let mut secret = [0u8; 48];
        rng.fill(&mut secret)
            .map_err(|_| DemoError::Key("no randomness".into()))?;

        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| DemoError::Key("RSA key generation failed".into()))?;
        let rsa_der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa)
            .map_err(|_| DemoError::Key("RSA key encoding failed".into()))?;
        let components = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(rsa.public_key());

        let ec_doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| DemoError::Key("EC key generation failed".into()))?;
        let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ec_doc.as_ref())
            .map_err(|_| DemoError::Key("EC key parsing failed".into()))?;
        let point = ec.public_key().as_ref();
        let (x, y) = point.get(1..).unwrap_or_default().split_at(32);

        let jwks = json!({"keys": [
            {"kty": "RSA", "kid": RSA_KID, "use": "sig", "alg": "RS256",
             "n": URL_SAFE_NO_PAD.encode(&components.n), "e": URL_SAFE_NO_PAD.encode(&components.e)},
            {"kty": "EC", "kid": EC_KID, "use": "sig", "alg": "ES256", "crv": "P-256",
             "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)},
        ]});
        write_secret(dir, HS_FILE, URL_SAFE_NO_PAD.encode(secret).as_bytes())?;
        write_secret(
            dir,
            RSA_FILE,
            pem("PRIVATE KEY", rsa_der.as_ref()).as_bytes(),
        )?;
        write_secret(dir, EC_FILE, pem("PRIVATE KEY", ec_doc.as_ref()).as_bytes())?;
        // Public keys only: the default mode.
        let jwks_path = dir.join(JWKS_FILE);
        std::fs::write(
            &jwks_path,
            serde_json::to_string_pretty(&jwks)
                .unwrap_or_default()
                .as_bytes(),
        )
        .map_err(io(&jwks_path))
    }

    /// The HS256 secret.
    pub fn hs_secret(&self) -> &[u8] {
        &self.hs_secret
    }

    /// The JWKS file with the public RSA and EC keys.
    pub fn jwks_path(&self) -> PathBuf {
        self.dir.join(JWKS_FILE)
    }

    /// Mints a token with the key for `alg` (HS256, RS256 or ES256).
    ///
    /// # Errors
    /// An unsupported algorithm or a signing failure.
    pub fn mint(&self, alg: Algorithm, claims: &Value) -> Result<String, DemoError> {
        let (key, kid) = match alg {
            Algorithm::HS256 => (EncodingKey::from_secret(&self.hs_secret), None),
            Algorithm::RS256 => (
                EncodingKey::from_rsa_pem(&self.rsa_pem)
                    .map_err(|_| DemoError::Key("rsa.key is not a PEM RSA key".into()))?,
                Some(RSA_KID),
            ),
            Algorithm::ES256 => (
                EncodingKey::from_ec_pem(&self.ec_pem)
                    .map_err(|_| DemoError::Key("ec.key is not a PEM EC key".into()))?,
                Some(EC_KID),
            ),
            other => return Err(DemoError::Config(format!("the demo has no {other:?} key"))),
        };
        mint::sign(alg, &key, kid, Some("JWT"), claims).map_err(|e| DemoError::Key(e.to_string()))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn secret_files_are_0600_when_created_regenerated_and_loaded() {
        let dir = std::env::temp_dir().join(format!(
            "agentos-demo-keymode-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        let secrets = [HS_FILE, RSA_FILE, EC_FILE];
        DemoKeys::generate(&dir).expect("generate");
        for name in secrets {
            assert_eq!(mode(&dir.join(name)), 0o600, "{name} after generate");
        }
        // Regenerating over files with wider permissions does not inherit their mode.
        for name in secrets {
            chmod(&dir.join(name), 0o644);
        }
        DemoKeys::generate(&dir).expect("regenerate");
        for name in secrets {
            assert_eq!(mode(&dir.join(name)), 0o600, "{name} after regenerate");
        }
        // Existing files others may read are tightened on load.
        chmod(&dir.join(HS_FILE), 0o644);
        chmod(&dir.join(RSA_FILE), 0o640);
        chmod(&dir.join(EC_FILE), 0o604);
        DemoKeys::load_or_generate(&dir).expect("load");
        for name in secrets {
            assert_eq!(mode(&dir.join(name)), 0o600, "{name} after load");
        }
        assert!(
            std::fs::read_dir(&dir)
                .expect("dir")
                .flatten()
                .all(|e| !e.file_name().to_string_lossy().ends_with(".new")),
            "no temporary file left behind"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
