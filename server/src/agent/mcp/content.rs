//! A tool's result as the model reads it: its text, and a note for content
//! a chat model cannot be shown (images, audio, binary resources).

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};

/// Longest result passed on: a fetched page can be megabytes, and the
/// model's context is not.
const MAX_CHARS: usize = 50_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub text: String,
    /// The tool failed (its own error, or the server's): the model hears
    /// it as an error and the run goes on.
    pub is_error: bool,
}

impl Outcome {
    pub fn error(text: String) -> Self {
        Self {
            text,
            is_error: true,
        }
    }
}

pub fn outcome(result: CallToolResult) -> Outcome {
    let mut parts: Vec<String> = result.content.iter().map(describe).collect();
    if parts.is_empty() {
        if let Some(structured) = &result.structured_content {
            parts.push(structured.to_string());
        }
    }
    let mut text = parts.join("\n\n");
    if text.chars().count() > MAX_CHARS {
        let cut = text
            .char_indices()
            .nth(MAX_CHARS)
            .map_or(text.len(), |(i, _)| i);
        text.truncate(cut);
        text.push_str("\n\n[The result was cut here: it was longer than 50,000 characters.]");
    }
    let is_error = result.is_error == Some(true);
    if is_error {
        text = format!("The tool reported an error: {text}");
    }
    Outcome { text, is_error }
}

fn describe(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(text) => text.text.clone(),
        ContentBlock::Image(image) => format!(
            "[An image ({}) that this console cannot pass to the model.]",
            image.mime_type
        ),
        ContentBlock::Audio(audio) => format!(
            "[Audio ({}) that this console cannot pass to the model.]",
            audio.mime_type
        ),
        ContentBlock::Resource(embedded) => match &embedded.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => {
                format!("[Resource {uri}]\n{text}")
            }
            ResourceContents::BlobResourceContents { uri, mime_type, .. } => format!(
                "[Binary resource {uri} ({}) that this console cannot pass to the model.]",
                mime_type.as_deref().unwrap_or("unknown type")
            ),
            _ => "[A resource of a kind this console does not know.]".into(),
        },
        ContentBlock::ResourceLink(link) => {
            format!("[Resource link: {} ({})]", link.uri, link.name)
        }
        _ => "[Content of a kind this console does not know.]".into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn result(value: serde_json::Value) -> CallToolResult {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn text_passes_and_the_rest_is_named() {
        let got = outcome(result(json!({"content": [
            {"type": "text", "text": "It is noon."},
            {"type": "image", "data": "iVBOR", "mimeType": "image/png"}
        ]})));
        assert!(!got.is_error);
        assert_eq!(
            got.text,
            "It is noon.\n\n[An image (image/png) that this console cannot pass to the model.]"
        );
    }

    #[test]
    fn a_tool_error_is_an_error_and_long_text_is_cut() {
        let got = outcome(result(
            json!({"content": [{"type": "text", "text": "no such file"}], "isError": true}),
        ));
        assert!(got.is_error);
        assert_eq!(got.text, "The tool reported an error: no such file");
        let long = outcome(result(
            json!({"content": [{"type": "text", "text": "é".repeat(60_000)}]}),
        ));
        assert!(long.text.starts_with(&"é".repeat(MAX_CHARS)));
        assert!(long.text.ends_with("characters.]"));
    }
}
