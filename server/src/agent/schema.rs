//! Tool arguments checked against the tool's own JSON Schema: the model's
//! calls before they run or wait, and a person's edits before they are
//! accepted, with what is wrong field by field.

use jsonschema::error::ValidationErrorKind;
use protocol::{Args, FieldError};
use serde_json::Value;

use crate::contract::ArgsError;

/// At most this many field errors are reported: a schema of a thousand
/// properties and a person who cleared them all need not fill a frame.
const MAX_DETAILS: usize = 20;

pub struct ArgsSchema {
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for ArgsSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArgsSchema")
    }
}

impl ArgsSchema {
    /// Compiles a schema. External `$ref`s are not fetched: a tool server
    /// does not make this server reach the network.
    pub fn new(schema: &Value) -> Result<Self, String> {
        jsonschema::validator_for(schema)
            .map(|validator| Self { validator })
            .map_err(|e| format!("the tool's input schema is not valid JSON Schema: {e}"))
    }

    pub fn check(&self, args: &Args) -> Result<(), ArgsError> {
        let instance = Value::Object(args.clone());
        let details: Vec<FieldError> = self
            .validator
            .iter_errors(&instance)
            .take(MAX_DETAILS)
            .map(|error| {
                let mut path = error.instance_path().to_string();
                // A missing property is the property's fault, not its parent's.
                if let ValidationErrorKind::Required {
                    property: Value::String(name),
                } = error.kind()
                {
                    path.push('/');
                    path.push_str(&name.replace('~', "~0").replace('/', "~1"));
                }
                FieldError {
                    path,
                    message: error.to_string(),
                }
            })
            .collect();
        match details.first() {
            None => Ok(()),
            Some(first) => Err(ArgsError {
                message: match details.len() {
                    1 => format!("{} ({})", first.message, pointer_or_root(&first.path)),
                    n => format!(
                        "{n} fields do not fit the schema; first: {} ({})",
                        first.message,
                        pointer_or_root(&first.path)
                    ),
                },
                details,
            }),
        }
    }
}

fn pointer_or_root(path: &str) -> &str {
    if path.is_empty() {
        "the arguments"
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn args(value: Value) -> Args {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn every_field_at_fault_is_named_by_pointer() {
        let schema = ArgsSchema::new(&json!({
            "type": "object",
            "properties": {
                "url": {"type": "string", "format": "uri"},
                "max_length": {"type": "integer", "minimum": 1},
                "options": {
                    "type": "object",
                    "properties": {"raw": {"type": "boolean"}},
                    "required": ["raw"]
                }
            },
            "required": ["url"]
        }))
        .unwrap();
        assert_eq!(
            schema.check(&args(json!({"url": "https://a.example/"}))),
            Ok(())
        );
        let error = schema
            .check(&args(json!({"max_length": 0, "options": {"raw": "yes"}})))
            .unwrap_err();
        let mut paths: Vec<_> = error.details.iter().map(|d| d.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["/max_length", "/options/raw", "/url"]);
        assert!(error.message.starts_with("3 fields"), "{}", error.message);
        let missing = error.details.iter().find(|d| d.path == "/url").unwrap();
        assert!(missing.message.contains("required"), "{}", missing.message);
    }

    #[test]
    fn a_schema_that_is_not_one_is_refused() {
        assert!(ArgsSchema::new(&json!({"type": "no such type"})).is_err());
    }
}
