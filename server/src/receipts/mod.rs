//! Signed receipts: every resolution of an interrupt is signed with the
//! server's Ed25519 key over the RFC 8785 (JCS) form of what was proposed,
//! what was decided, by whom and when. Anyone with the public key
//! (`GET /api/receipts/key`) can check one; `server verify-receipt` does it
//! offline.

mod cli;

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use protocol::{Args, Jwk, Receipt, ReceiptPayload};
use sha2::{Digest, Sha256};

use crate::settings::Secret;

pub use cli::run as verify_receipt_command;

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("the receipt key is not a base64url 32-byte Ed25519 seed")]
    BadKey,
    #[error("receipt key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("the public key is not an Ed25519 JWK ({0})")]
    BadPublicKey(String),
    #[error("the receipt was signed with key {receipt}, not {key}")]
    OtherKey { receipt: String, key: String },
    #[error("the signature does not match the payload: the receipt was altered or forged")]
    BadSignature,
}

/// The server's signing key.
pub struct Signer {
    key: SigningKey,
    jwk: Jwk,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.jwk.kid)
    }
}

/// Where the key is kept when `HITL_RECEIPT_KEY` gives none.
pub const KEY_FILE: &str = "receipt.key";

impl Signer {
    /// `HITL_RECEIPT_KEY` if given, else the key file in `data_dir`,
    /// created (readable by this user only) on first start.
    pub fn load(given: Option<&Secret>, data_dir: &Path) -> Result<Self, ReceiptError> {
        if let Some(given) = given {
            return Self::from_text(given.expose());
        }
        let path = data_dir.join(KEY_FILE);
        let file_error = |source| ReceiptError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_text(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut seed = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
                std::fs::create_dir_all(data_dir).map_err(file_error)?;
                write_private(&path, &URL_SAFE_NO_PAD.encode(seed)).map_err(file_error)?;
                tracing::info!(path = %path.display(), "receipt signing key created");
                Ok(Self::from_seed(seed))
            }
            Err(e) => Err(file_error(e)),
        }
    }

    fn from_text(text: &str) -> Result<Self, ReceiptError> {
        let text = text.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
            .map_err(|_| ReceiptError::BadKey)?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| ReceiptError::BadKey)?;
        Ok(Self::from_seed(seed))
    }

    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let jwk = public_jwk(&key.verifying_key());
        Self { key, jwk }
    }

    /// The public half, as `GET /api/receipts/key` serves it.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    /// Signs `payload`, whose `kid` must be this key's.
    pub fn sign(&self, payload: ReceiptPayload) -> Receipt {
        debug_assert_eq!(payload.kid, self.jwk.kid);
        let signature = self.key.sign(&canonical(&payload));
        Receipt {
            payload,
            signature: URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        }
    }
}

/// Checks `receipt` against the public key `key`.
pub fn verify(receipt: &Receipt, key: &Jwk) -> Result<(), ReceiptError> {
    if key.kty != "OKP" || key.crv != "Ed25519" {
        return Err(ReceiptError::BadPublicKey(format!(
            "{} {}",
            key.kty, key.crv
        )));
    }
    if receipt.payload.kid != key.kid {
        return Err(ReceiptError::OtherKey {
            receipt: receipt.payload.kid.clone(),
            key: key.kid.clone(),
        });
    }
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&key.x)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ReceiptError::BadPublicKey("x is not 32 bytes of base64url".into()))?;
    let public =
        VerifyingKey::from_bytes(&x).map_err(|e| ReceiptError::BadPublicKey(e.to_string()))?;
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(&receipt.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(ReceiptError::BadSignature)?;
    public
        .verify_strict(
            &canonical(&receipt.payload),
            &Signature::from_bytes(&signature),
        )
        .map_err(|_| ReceiptError::BadSignature)
}

/// Lowercase hex SHA-256 of `args` in RFC 8785 form: what a receipt names,
/// and what a tool's arguments must hash to before it runs.
pub fn args_digest(args: &Args) -> String {
    hex(&Sha256::digest(canonical(args)))
}

fn canonical<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json_canonicalizer::to_vec(value).expect("receipt values are plain JSON")
}

/// The JWK of `key`, its `kid` the RFC 7638 thumbprint.
fn public_jwk(key: &VerifyingKey) -> Jwk {
    let x = URL_SAFE_NO_PAD.encode(key.to_bytes());
    let thumbprint = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    Jwk {
        kty: "OKP".into(),
        crv: "Ed25519".into(),
        kid: URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint.as_bytes())),
        x,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Decision, ReceiptAction, ResolvedBy};
    use serde_json::json;

    fn payload(kid: &str) -> ReceiptPayload {
        let args: Args = serde_json::from_value(json!({"topic": "tides", "steps": ["a"]})).unwrap();
        ReceiptPayload {
            thread_id: "t".into(),
            interrupt_id: "i".into(),
            run_id: "r".into(),
            actions: vec![ReceiptAction {
                name: "create_research_plan".into(),
                args_sha256: args_digest(&args),
            }],
            decisions: vec![Decision::Approve],
            by: ResolvedBy::User,
            decided_by: Some(protocol::DecidedBy {
                user_id: "u".into(),
                name: "Ada".into(),
            }),
            decided_at: "2026-12-07T12:00:00Z".into(),
            server: "s".into(),
            kid: kid.into(),
        }
    }

    #[test]
    fn a_receipt_verifies_with_its_key_and_fails_when_altered() {
        let signer = Signer::from_seed([7; 32]);
        let receipt = signer.sign(payload(signer.kid()));
        verify(&receipt, signer.jwk()).unwrap();

        let mut altered = receipt.clone();
        altered.payload.decided_by.as_mut().unwrap().name = "Mallory".into();
        assert!(matches!(
            verify(&altered, signer.jwk()),
            Err(ReceiptError::BadSignature)
        ));
        let mut altered = receipt.clone();
        altered.payload.actions[0].args_sha256 = args_digest(&Args::new());
        assert!(matches!(
            verify(&altered, signer.jwk()),
            Err(ReceiptError::BadSignature)
        ));

        let other = Signer::from_seed([8; 32]);
        assert!(matches!(
            verify(&receipt, other.jwk()),
            Err(ReceiptError::OtherKey { .. })
        ));
        let mut forged_key = other.jwk().clone();
        forged_key.kid = signer.kid().into();
        assert!(matches!(
            verify(&receipt, &forged_key),
            Err(ReceiptError::BadSignature)
        ));
    }

    #[test]
    fn the_digest_is_of_the_canonical_form() {
        let a: Args = serde_json::from_str(r#"{"b": 1, "a": [1.0, "x"]}"#).unwrap();
        let b: Args = serde_json::from_str(r#"{"a":[1,"x"],"b":1}"#).unwrap();
        assert_eq!(args_digest(&a), args_digest(&b));
        // sha256('{"a":[1,"x"],"b":1}')
        assert_eq!(args_digest(&b).len(), 64);
        assert_ne!(args_digest(&a), args_digest(&Args::new()));
    }

    #[test]
    fn the_key_file_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = Signer::load(None, dir.path()).unwrap();
        let again = Signer::load(None, dir.path()).unwrap();
        assert_eq!(first.jwk(), again.jwk());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let given = Secret::new(URL_SAFE_NO_PAD.encode([7u8; 32]));
        assert_eq!(
            Signer::load(Some(&given), dir.path()).unwrap().jwk(),
            Signer::from_seed([7; 32]).jwk()
        );
        assert!(matches!(
            Signer::load(Some(&Secret::new("short".into())), dir.path()),
            Err(ReceiptError::BadKey)
        ));
    }
}
