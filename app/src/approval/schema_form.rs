//! A form for any tool's arguments, built from the tool's JSON Schema:
//! strings, numbers, booleans, enums, arrays and nested objects. The server
//! checks the result against the same schema; its errors, field by field,
//! show next to their fields.

use leptos::prelude::*;
use protocol::{Args, Decision, EditedAction, FieldError};
use serde_json::{Map, Value};

use super::focus::{on_back, on_escape};
use super::forms::Shared;

/// What every field of one form shares.
#[derive(Clone)]
struct Form {
    value: RwSignal<Value>,
    errors: Signal<Vec<FieldError>>,
    /// The server's paths start with it: `/decisions/{i}/edited_action/args`.
    prefix: String,
    key: String,
}

/// What a form is built from.
pub(super) struct FormInput {
    pub schema: Args,
    pub args: Args,
    pub name: String,
    pub index: usize,
    pub key: String,
    pub errors: Signal<Vec<FieldError>>,
}

pub(super) fn schema_form(input: FormInput, with: Shared) -> AnyView {
    let FormInput {
        schema,
        args,
        name,
        index,
        key,
        errors,
    } = input;
    let Shared {
        mode,
        busy,
        on_choose,
    } = with;
    let form = Form {
        value: RwSignal::new(Value::Object(args)),
        errors,
        prefix: format!("/decisions/{index}/edited_action/args"),
        key,
    };
    let value = form.value;
    let run = move |_| {
        if let Value::Object(args) = value.get_untracked() {
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
            {field(&Value::Object(schema), String::new(), "Arguments".into(), &form)}
            <div class="actions">
                <button class="primary" data-testid="run-edited" disabled=busy on:click=run>
                    "Run with these arguments"
                </button>
                <button type="button" aria-keyshortcuts="Escape" on:click=on_back(mode, "e")>"Cancel"</button>
            </div>
        </div>
    }
    .into_any()
}

/// One field at `path` (a JSON Pointer within the arguments).
fn field(schema: &Value, path: String, label: String, form: &Form) -> AnyView {
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
    let id = format!("{}{}", form.key, path.replace('/', "-"));
    let error_id = format!("{id}-error");
    let wanted = format!("{}{path}", form.prefix);
    let errors = form.errors;
    let error = move || {
        errors.with(|all| {
            all.iter()
                .find(|e| e.path == wanted)
                .map(|e| e.message.clone())
        })
    };
    let invalid = {
        let error = error.clone();
        move || error().is_some().then_some("true")
    };
    let message = {
        let error_id = error_id.clone();
        move || error().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })
    };
    let value = form.value;
    let hint = schema["description"]
        .as_str()
        .map(|d| view! { <small class="hint">{d.to_owned()}</small> });
    match kind {
        "object" => {
            let fields: Vec<AnyView> = schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, sub)| {
                    field(sub, format!("{path}/{}", escape(name)), name.clone(), form)
                })
                .collect();
            view! {
                <fieldset class="object" data-path=path.clone()>
                    <legend>{label}</legend>
                    {hint}
                    {message}
                    {fields}
                </fieldset>
            }
            .into_any()
        }
        "array" => {
            let items = schema["items"].clone();
            let form = form.clone();
            let list_path = path.clone();
            let rows = move || {
                let len = value.with(|v| {
                    v.pointer(&list_path)
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len)
                });
                (0..len)
                    .map(|i| {
                        let item = format!("{list_path}/{i}");
                        let remove = item.clone();
                        view! {
                            <li>
                                {field(&items, item, format!("Item {}", i + 1), &form)}
                                <button type="button" class="small" on:click=move |_| value.update(|v| drop(take(v, &remove)))>
                                    "Remove"
                                </button>
                            </li>
                        }
                    })
                    .collect_view()
            };
            let blank = blank(&schema["items"]);
            let add_path = path.clone();
            view! {
                <fieldset class="array" data-path=path.clone()>
                    <legend>{label}</legend>
                    {hint}
                    {message}
                    <ol>{rows}</ol>
                    <button type="button" class="small" on:click=move |_| {
                        value.update(|v| {
                            let mut list = take(v, &add_path).and_then(|l| l.as_array().cloned()).unwrap_or_default();
                            list.push(blank.clone());
                            put(v, &add_path, Value::Array(list));
                        })
                    }>"Add item"</button>
                </fieldset>
            }
            .into_any()
        }
        _ => {
            let current = {
                let path = path.clone();
                move || value.with(|v| v.pointer(&path).cloned())
            };
            let input = leaf(schema, kind, &id, &error_id, &path, value, current, invalid);
            view! {
                <div class="field" data-path=path>
                    <label for=id>{label}</label>
                    {hint}
                    {input}
                    {message}
                </div>
            }
            .into_any()
        }
    }
}

/// The input for a string, number, boolean or enum; JSON text otherwise.
#[allow(clippy::too_many_arguments)]
fn leaf(
    schema: &Value,
    kind: &str,
    id: &str,
    error_id: &str,
    path: &str,
    value: RwSignal<Value>,
    current: impl Fn() -> Option<Value> + Clone + Send + Sync + 'static,
    invalid: impl Fn() -> Option<&'static str> + Clone + Send + Sync + 'static,
) -> AnyView {
    let path = path.to_owned();
    let set = move |new: Option<Value>| {
        let path = path.clone();
        value.update(move |v| match new {
            Some(new) => put(v, &path, new),
            None => drop(take(v, &path)),
        })
    };
    let (id, error_id) = (id.to_owned(), error_id.to_owned());
    if let Some(options) = schema["enum"].as_array() {
        let options: Vec<Value> = options.clone();
        let chosen = options.clone();
        let current = current.clone();
        return view! {
            <select id=id aria-invalid=invalid aria-describedby=error_id on:change=move |ev| {
                let i: usize = event_target_value(&ev).parse().unwrap_or(0);
                set(chosen.get(i).cloned());
            }>
                {options.into_iter().enumerate().map(|(i, option)| {
                    let current = current.clone();
                    let text = option.as_str().map_or_else(|| option.to_string(), str::to_owned);
                    view! { <option value=i.to_string() selected=move || current() == Some(option.clone())>{text}</option> }
                }).collect_view()}
            </select>
        }
        .into_any();
    }
    match kind {
        "boolean" => view! {
            <input type="checkbox" id=id aria-invalid=invalid aria-describedby=error_id
                prop:checked=move || current() == Some(Value::Bool(true))
                on:change=move |ev| set(Some(Value::Bool(event_target_checked(&ev)))) />
        }
        .into_any(),
        "number" | "integer" => {
            let integer = kind == "integer";
            view! {
                <input type="number" step=if integer { "1" } else { "any" } id=id aria-invalid=invalid aria-describedby=error_id
                    prop:value=move || current().map(|v| v.to_string()).unwrap_or_default()
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        // Empty leaves the field out; what does not parse goes as
                        // text, for the server to name.
                        set((!text.trim().is_empty()).then(|| {
                            text.trim().parse::<i64>().map(Value::from)
                                .ok()
                                .filter(|_| integer)
                                .or_else(|| text.trim().parse::<f64>().ok().map(Value::from))
                                .unwrap_or(Value::String(text))
                        }))
                    } />
            }
            .into_any()
        }
        "string" => view! {
            <input type="text" id=id aria-invalid=invalid aria-describedby=error_id
                prop:value=move || current().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
                on:input=move |ev| set(Some(Value::String(event_target_value(&ev)))) />
        }
        .into_any(),
        // A schema this form does not draw: its JSON, edited as text.
        _ => view! {
            <textarea id=id class="json" aria-invalid=invalid aria-describedby=error_id
                prop:value=move || current().map(|v| v.to_string()).unwrap_or_default()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    set(Some(serde_json::from_str(&text).unwrap_or(Value::String(text))))
                }></textarea>
        }
        .into_any(),
    }
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

fn escape(name: &str) -> String {
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
}
