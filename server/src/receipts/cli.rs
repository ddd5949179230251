//! `server verify-receipt FILE [--key KEY_FILE]`: checks receipts offline.
//! FILE holds a receipt, an audit record with one, or the whole audit log
//! of `GET /api/threads/{id}/decisions`. KEY_FILE holds the JWK of
//! `GET /api/receipts/key` or the set of `GET /api/receipts/keys`; without
//! it, this machine's own key (`HITL_RECEIPT_KEY` or the data directory's).

use std::process::ExitCode;

use protocol::{Jwk, Receipt};
use serde_json::Value;

use super::{verify, Signer};
use crate::settings::Settings;

const USAGE: &str = "usage: server verify-receipt FILE [--key KEY_FILE]";

pub fn run(args: &[String]) -> ExitCode {
    match check(args) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("verify-receipt: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(args: &[String]) -> Result<Vec<String>, String> {
    let (file, key_file) = match args {
        [file] => (file, None),
        [file, flag, key] if flag == "--key" => (file, Some(key)),
        _ => return Err(USAGE.into()),
    };
    let keys = match key_file {
        Some(path) => keys_in(&read_json(path)?)?,
        None => {
            let settings = Settings::from_env().map_err(|e| e.to_string())?;
            let signer = Signer::load(settings.auth.receipt_key.as_ref(), &settings.data_dir)
                .map_err(|e| e.to_string())?;
            vec![signer.jwk().clone()]
        }
    };
    let receipts = receipts_in(&read_json(file)?)?;
    if receipts.is_empty() {
        return Err(format!("{file} holds no receipt"));
    }
    let mut lines = Vec::new();
    for receipt in &receipts {
        let payload = &receipt.payload;
        let key = keys.iter().find(|k| k.kid == payload.kid).ok_or_else(|| {
            format!(
                "receipt for {} is not valid: no key {}",
                payload.interrupt_id, payload.kid
            )
        })?;
        verify(receipt, key)
            .map_err(|e| format!("receipt for {} is not valid: {e}", payload.interrupt_id))?;
        let who = payload
            .decided_by
            .as_ref()
            .map_or("nobody (it expired, or sign-in was off)".to_owned(), |p| {
                format!("{} ({})", p.name, p.user_id)
            });
        lines.push(format!(
            "receipt for interrupt {} of thread {}: valid; decided by {who} at {}, signed by key {}",
            payload.interrupt_id, payload.thread_id, payload.decided_at, payload.kid
        ));
    }
    Ok(lines)
}

fn read_json(path: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))
}

/// A JWK, or a JWK set.
fn keys_in(value: &Value) -> Result<Vec<Jwk>, String> {
    let keys = value.get("keys").unwrap_or(value);
    let keys = match keys {
        Value::Array(keys) => keys.clone(),
        one => vec![one.clone()],
    };
    keys.into_iter()
        .map(|k| serde_json::from_value(k).map_err(|e| format!("not a JWK: {e}")))
        .collect()
}

/// A receipt, a record with one, or a list of records.
fn receipts_in(value: &Value) -> Result<Vec<Receipt>, String> {
    let one = |v: &Value| -> Result<Receipt, String> {
        let receipt = v.get("receipt").unwrap_or(v);
        serde_json::from_value(receipt.clone()).map_err(|e| format!("not a receipt: {e}"))
    };
    match value {
        Value::Array(records) => records.iter().map(one).collect(),
        record => Ok(vec![one(record)?]),
    }
}
