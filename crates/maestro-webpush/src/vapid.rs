//! VAPID (RFC 8292): the server's P-256 key pair and the JWT that signs each push request.
//!
//! The key pair comes from the environment (`VAPID_PRIVATE_KEY`, base64url of the 32-byte
//! scalar, as `web-push generate-vapid-keys` prints it) or is generated on first start and kept
//! in the data directory (`vapid.json`, mode 0600). Several processes sharing a data directory
//! agree on one key: the file is created at most once (a hard link that fails when it exists).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;

use crate::error::WebPushError;

/// The server's VAPID key pair.
#[derive(Clone)]
pub struct VapidKeys {
    signing: SigningKey,
    public: String,
}

impl std::fmt::Debug for VapidKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKeys")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl VapidKeys {
    /// A new random key pair.
    pub fn generate() -> Result<Self, WebPushError> {
        loop {
            let mut scalar = [0u8; 32];
            getrandom::fill(&mut scalar).map_err(|e| WebPushError::Key(e.to_string()))?;
            // A random 32 bytes is a valid scalar but for a 2^-128 chance; draw again then.
            if let Ok(keys) = Self::from_scalar(&scalar) {
                return Ok(keys);
            }
        }
    }

    /// The key pair of a base64url private key.
    pub fn from_private(b64: &str) -> Result<Self, WebPushError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(b64.trim().trim_end_matches('='))
            .map_err(|_| WebPushError::Key("not base64url".into()))?;
        Self::from_scalar(&bytes)
    }

    fn from_scalar(bytes: &[u8]) -> Result<Self, WebPushError> {
        if bytes.len() != 32 {
            return Err(WebPushError::Key(format!(
                "{} bytes; a P-256 private key is 32",
                bytes.len()
            )));
        }
        let signing = SigningKey::from_slice(bytes)
            .map_err(|_| WebPushError::Key("not a valid P-256 private key".into()))?;
        let public =
            URL_SAFE_NO_PAD.encode(signing.verifying_key().to_encoded_point(false).as_bytes());
        Ok(Self { signing, public })
    }

    /// The base64url private key (what `VAPID_PRIVATE_KEY` takes).
    pub fn private(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.to_bytes())
    }

    /// The base64url uncompressed public key: the browser's `applicationServerKey`.
    pub fn public(&self) -> &str {
        &self.public
    }

    /// The key pair kept at `path`, created there first when there is none. Answers whether
    /// it was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), WebPushError> {
        let file_err = |source| WebPushError::KeyFile {
            path: path.to_path_buf(),
            source,
        };
        if let Some(keys) = Self::load(path)? {
            return Ok((keys, false));
        }
        let keys = Self::generate()?;
        let body = serde_json::to_vec_pretty(&json!({
            "publicKey": keys.public(),
            "privateKey": keys.private(),
        }))
        .map_err(|e| WebPushError::Key(e.to_string()))?;
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        write_private(&tmp, &body).map_err(file_err)?;
        // Whoever links first wins; the others read the winner's key.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
                }
                Ok((keys, true))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let keys = Self::load(path)?.ok_or_else(|| {
                    file_err(std::io::Error::other("vanished after it was created"))
                })?;
                Ok((keys, false))
            }
            Err(e) => Err(file_err(e)),
        }
    }

    fn load(path: &Path) -> Result<Option<Self>, WebPushError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(WebPushError::KeyFile {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| WebPushError::KeyFile {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            })?;
        let private = v["privateKey"]
            .as_str()
            .ok_or_else(|| WebPushError::KeyFile {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "no privateKey"),
            })?;
        Self::from_private(private).map(Some)
    }

    /// A VAPID JWT for the push service at `audience` (its origin), valid until `expires`
    /// (seconds since the epoch), naming `subject` (`mailto:` or `https:`) as the contact.
    pub fn jwt(&self, audience: &str, expires: u64, subject: &str) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = URL_SAFE_NO_PAD
            .encode(json!({"aud": audience, "exp": expires, "sub": subject}).to_string());
        let signing_input = format!("{header}.{claims}");
        let sig: Signature = self.signing.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(body)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    #[test]
    fn a_key_round_trips_through_its_private_form() {
        let k = VapidKeys::generate().unwrap();
        let again = VapidKeys::from_private(&k.private()).unwrap();
        assert_eq!(k.public(), again.public());
        assert_eq!(URL_SAFE_NO_PAD.decode(k.public()).unwrap().len(), 65);
        assert!(VapidKeys::from_private("AAAA").is_err());
        assert!(VapidKeys::from_private(&URL_SAFE_NO_PAD.encode([0u8; 32])).is_err());
    }

    #[test]
    fn the_jwt_verifies_with_the_public_key() {
        let k = VapidKeys::generate().unwrap();
        let jwt = k.jwt(
            "https://push.example",
            1_900_000_000,
            "mailto:ops@example.com",
        );
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let key =
            VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(k.public()).unwrap()).unwrap();
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
        key.verify(input.as_bytes(), &sig).unwrap();
        let claims = input.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example");
        assert_eq!(claims["exp"], 1_900_000_000u64);
    }

    #[test]
    fn the_key_file_is_made_once_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("maestro-vapid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vapid.json");
        let _ = std::fs::remove_file(&path);
        let (a, created) = VapidKeys::load_or_create(&path).unwrap();
        assert!(created);
        let (b, created) = VapidKeys::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(a.public(), b.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
