//! A form for any tool's arguments, built from the tool's JSON Schema:
//! strings, numbers, booleans, enums, arrays and nested objects. The server
//! checks the result against the same schema; its errors, field by field,
//! show next to their fields.

use leptos::prelude::*;
use protocol::{Args, Decision, EditedAction, FieldError};
use serde_json::{Map, Value};

use super::focus::{back, on_escape};
use super::CardMode;

#[component]
pub(super) fn SchemaForm(
    schema: Value,
    args: Args,
    name: String,
    index: usize,
    key: String,
    errors: Signal<Vec<FieldError>>,
    mode: RwSignal<CardMode>,
    busy: Signal<bool>,
    on_choose: Callback<Decision>,
) -> impl IntoView {
    // The values live here, not in the DOM's reactive graph: typing does
    // not redraw the form; adding or removing an item, or the server's
    // errors, do (`drawn`).
    let value = StoredValue::new(Value::Object(args));
    let drawn = RwSignal::new(0u32);
    let prefix = format!("/decisions/{index}/edited_action/args");
    let html = move || {
        drawn.track();
        let mut out = String::new();
        errors.with(|errors| {
            value.with_value(|v| {
                let form = Form {
                    errors,
                    prefix: &prefix,
                    key: &key,
                };
                form.field(&mut out, &schema, "", "Arguments", v);
            })
        });
        out
    };
    let edit = move |ev: leptos::ev::Event| {
        let Some(target) = element(&ev) else { return };
        let (Some(path), Some(kind)) = (
            target.get_attribute("data-path"),
            target.get_attribute("data-kind"),
        ) else {
            return;
        };
        let text = event_target_value(&ev);
        let new = match kind.as_str() {
            "boolean" => Some(Value::Bool(event_target_checked(&ev))),
            "string" => Some(Value::String(text)),
            // Empty leaves the field out.
            _ if text.trim().is_empty() => None,
            // Numbers, enum options and anything else: JSON (serde_json's
            // reader is in the module already); what does not parse goes
            // as text, for the server to name.
            _ => Some(serde_json::from_str(text.trim()).unwrap_or(Value::String(text))),
        };
        value.update_value(|v| match new {
            Some(new) => put(v, &path, new),
            None => drop(take(v, &path)),
        });
    };
    let click = move |ev: leptos::ev::MouseEvent| {
        let Some(button) =
            element(&ev).and_then(|t| t.closest("[data-add], [data-remove]").ok().flatten())
        else {
            return;
        };
        value.update_value(|v| {
            if let Some(item) = button.get_attribute("data-remove") {
                drop(take(v, &item));
            } else if let Some(list) = button.get_attribute("data-add") {
                let blank = button.get_attribute("data-blank").unwrap_or_default();
                let mut items = take(v, &list)
                    .and_then(|l| l.as_array().cloned())
                    .unwrap_or_default();
                items.push(serde_json::from_str(&blank).unwrap_or(Value::Null));
                put(v, &list, Value::Array(items));
            }
        });
        drawn.update(|n| *n += 1);
    };
    let run = move |_| {
        if let Value::Object(args) = value.get_value() {
            on_choose.run(Decision::Edit {
                edited_action: EditedAction {
                    name: name.clone(),
                    args,
                },
            });
        }
    };
    view! {
        <div class="schema-form" data-testid="schema-form" on:keydown=on_escape(mode, "e")>
            <div inner_html=html on:input=edit on:change=edit on:click=click></div>
            <div class="actions">
                <button class="primary" data-testid="run-edited" disabled=busy on:click=run>
                    "Run with these arguments"
                </button>
                <button type="button" aria-keyshortcuts="Escape" on:click=back(mode, "e")>"Cancel"</button>
            </div>
        </div>
    }
}

fn element(ev: &leptos::web_sys::Event) -> Option<leptos::web_sys::Element> {
    use leptos::wasm_bindgen::JsCast;
    ev.target()?.dyn_into().ok()
}

/// Draws the fields as HTML: one string, not a view per field kind, which
/// cost the browser's module 14 KiB.
struct Form<'a> {
    errors: &'a [FieldError],
    /// The server's paths start with it: `/decisions/{i}/edited_action/args`.
    prefix: &'a str,
    key: &'a str,
}

impl Form<'_> {
    /// The field at `path` (a JSON Pointer within the arguments).
    fn field(&self, out: &mut String, schema: &Value, path: &str, label: &str, value: &Value) {
        let kind = match &schema["type"] {
            Value::String(kind) => kind.as_str(),
            // `["string", "null"]`: the first type that is not null.
            Value::Array(kinds) => kinds
                .iter()
                .filter_map(Value::as_str)
                .find(|k| *k != "null")
                .unwrap_or(""),
            _ if schema.get("properties").is_some() => "object",
            _ => "",
        };
        let id = format!("{}{}", self.key, path.replace('/', "-"));
        let error = self
            .errors
            .iter()
            .find(|e| e.path.strip_prefix(self.prefix) == Some(path))
            .map(|e| {
                format!(
                    "<p class=\"field-error\" id=\"{id}-error\">{}</p>",
                    escape(&e.message)
                )
            })
            .unwrap_or_default();
        let invalid = if error.is_empty() {
            String::new()
        } else {
            format!(" aria-invalid=\"true\" aria-describedby=\"{id}-error\"")
        };
        let hint = schema["description"]
            .as_str()
            .map(|d| format!("<small class=\"hint\">{}</small>", escape(d)))
            .unwrap_or_default();
        let at = |token: &str| value.get(token).unwrap_or(&Value::Null);
        let (label, path_attr) = (escape(label), escape(path));
        match kind {
            "object" | "array" => {
                out.push_str(&format!(
                    "<fieldset class=\"{kind}\" data-path=\"{path_attr}\"><legend>{label}</legend>{hint}{error}"
                ));
                if kind == "object" {
                    for (name, sub) in schema["properties"].as_object().into_iter().flatten() {
                        self.field(
                            out,
                            sub,
                            &format!("{path}/{}", pointer_token(name)),
                            name,
                            at(name),
                        );
                    }
                } else {
                    out.push_str("<ol>");
                    for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                        let item_path = format!("{path}/{i}");
                        out.push_str("<li>");
                        self.field(
                            out,
                            &schema["items"],
                            &item_path,
                            &format!("Item {}", i + 1),
                            item,
                        );
                        out.push_str(&format!(
                            "<button type=\"button\" class=\"small\" data-remove=\"{}\">Remove</button></li>",
                            escape(&item_path)
                        ));
                    }
                    out.push_str(&format!(
                        "</ol><button type=\"button\" class=\"small\" data-add=\"{path_attr}\" data-blank=\"{}\">Add item</button>",
                        escape(&blank(&schema["items"]).to_string())
                    ));
                }
                out.push_str("</fieldset>");
            }
            _ => {
                let common = format!("id=\"{id}\" data-path=\"{path_attr}\"{invalid}");
                let control = if let Some(options) = schema["enum"].as_array() {
                    let options: String = options
                        .iter()
                        .map(|o| {
                            let text = o.as_str().map_or_else(|| o.to_string(), str::to_owned);
                            let selected = if o == value { " selected" } else { "" };
                            format!(
                                "<option value=\"{}\"{selected}>{}</option>",
                                escape(&o.to_string()),
                                escape(&text)
                            )
                        })
                        .collect();
                    format!("<select {common} data-kind=\"enum\"><option value=\"\"></option>{options}</select>")
                } else {
                    match (kind, value) {
                        ("boolean", v) => format!(
                            "<input type=\"checkbox\" {common} data-kind=\"boolean\"{}>",
                            if v == &Value::Bool(true) { " checked" } else { "" }
                        ),
                        ("number" | "integer", v) => format!(
                            "<input type=\"number\" step=\"{}\" {common} data-kind=\"number\" value=\"{}\">",
                            if kind == "integer" { "1" } else { "any" },
                            if v.is_null() { String::new() } else { escape(&v.to_string()) }
                        ),
                        ("string", v) => format!(
                            "<input type=\"text\" {common} data-kind=\"string\" value=\"{}\">",
                            escape(v.as_str().unwrap_or_default())
                        ),
                        // A schema this form does not draw: its JSON, as text.
                        (_, v) => format!(
                            "<textarea class=\"json\" {common} data-kind=\"json\">{}</textarea>",
                            if v.is_null() { String::new() } else { escape(&v.to_string()) }
                        ),
                    }
                };
                out.push_str(&format!(
                    "<div class=\"field\" data-path=\"{path_attr}\"><label for=\"{id}\">{label}</label>{hint}{control}{error}</div>"
                ));
            }
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A new array item of this schema.
fn blank(schema: &Value) -> Value {
    match schema["type"].as_str() {
        Some("object") => Value::Object(Map::new()),
        Some("array") => Value::Array(Vec::new()),
        Some("boolean") => Value::Bool(false),
        Some("number" | "integer") => Value::from(0),
        _ => Value::String(String::new()),
    }
}

fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Sets the value at `path`, making the objects on the way.
fn put(root: &mut Value, path: &str, new: Value) {
    let mut at = root;
    for token in path.split('/').skip(1) {
        let token = unescape(token);
        at = match at {
            Value::Array(list) => match token.parse::<usize>() {
                Ok(i) if i < list.len() => &mut list[i],
                _ => return,
            },
            other => {
                if !other.is_object() {
                    *other = Value::Object(Map::new());
                }
                other
                    .as_object_mut()
                    .expect("made an object")
                    .entry(token)
                    .or_insert(Value::Null)
            }
        };
    }
    *at = new;
}

/// Removes and returns the value at `path`.
fn take(root: &mut Value, path: &str) -> Option<Value> {
    let (parent, last) = path.rsplit_once('/')?;
    let last = unescape(last);
    match root.pointer_mut(parent)? {
        Value::Object(map) => map.remove(&last),
        Value::Array(list) => {
            let i: usize = last.parse().ok()?;
            (i < list.len()).then(|| list.remove(i))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pointers_set_and_take_nested_values() {
        let mut v = json!({"a": {"list": [1, 2]}});
        put(&mut v, "/a/b~1c", json!("x"));
        put(&mut v, "/new/deep", json!(true));
        put(&mut v, "/a/list/1", json!(3));
        assert_eq!(
            v,
            json!({"a": {"list": [1, 3], "b/c": "x"}, "new": {"deep": true}})
        );
        assert_eq!(take(&mut v, "/a/list/0"), Some(json!(1)));
        assert_eq!(take(&mut v, "/a/b~1c"), Some(json!("x")));
        assert_eq!(take(&mut v, "/nothing/here"), None);
        assert_eq!(v, json!({"a": {"list": [3]}, "new": {"deep": true}}));
        assert_eq!(blank(&json!({"type": "integer"})), json!(0));
    }

    #[test]
    fn fields_are_drawn_from_the_schema_with_the_servers_errors() {
        let schema = json!({"type": "object", "properties": {
            "edits": {"type": "array", "items": {"type": "object", "properties": {
                "oldText": {"type": "string"}}}},
            "mode": {"enum": ["fast", "safe"]},
            "dry": {"type": "boolean"},
            "n": {"type": "integer", "description": "How <many>"}}});
        let value = json!({"edits": [{"oldText": "a\"b"}], "mode": "safe", "dry": true, "n": 3});
        let errors = [FieldError {
            path: "/decisions/0/edited_action/args/edits/0/oldText".into(),
            message: "too short".into(),
        }];
        let form = Form {
            errors: &errors,
            prefix: "/decisions/0/edited_action/args",
            key: "k",
        };
        let mut html = String::new();
        form.field(&mut html, &schema, "", "Arguments", &value);
        for part in [
            r#"<fieldset class="array" data-path="/edits">"#,
            r#"id="k-edits-0-oldText" data-path="/edits/0/oldText" aria-invalid="true""#,
            r#"value="a&quot;b""#,
            r#"<p class="field-error" id="k-edits-0-oldText-error">too short</p>"#,
            r#"data-remove="/edits/0""#,
            r#"data-add="/edits" data-blank="{}""#,
            r#"<option value="&quot;safe&quot;" selected>safe</option>"#,
            r#"data-kind="boolean" checked>"#,
            r#"step="1" id="k-n" data-path="/n" data-kind="number" value="3""#,
            "How &lt;many&gt;",
        ] {
            assert!(html.contains(part), "{part} not in {html}");
        }
    }
}
