//! A half-finished edit kept in the tab's `sessionStorage`, so a reload of
//! the same thread gives it back. One line for the topic, one per step
//! (neither can hold a newline: they are single-line inputs), rather than
//! JSON: no serializer code in the WebAssembly for it.

/// The storage key of a request's edit.
pub(super) fn key(interrupt_id: &str, index: usize) -> String {
    format!("hitl-draft:{interrupt_id}:{index}")
}

pub(super) fn load(key: &str) -> Option<(String, Vec<String>)> {
    #[cfg(feature = "hydrate")]
    return decode(&storage()?.get_item(key).ok()??);
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

pub(super) fn save(key: &str, topic: &str, steps: &[String]) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = storage() {
        let _ = storage.set_item(key, &encode(topic, steps));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, topic, steps);
}

pub(super) fn clear(key: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = storage() {
        let _ = storage.remove_item(key);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = key;
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

#[cfg_attr(not(any(feature = "hydrate", test)), allow(dead_code))]
fn encode(topic: &str, steps: &[String]) -> String {
    let mut text = topic.replace('\n', " ");
    for step in steps {
        text.push('\n');
        text.push_str(&step.replace('\n', " "));
    }
    text
}

#[cfg_attr(not(any(feature = "hydrate", test)), allow(dead_code))]
fn decode(text: &str) -> Option<(String, Vec<String>)> {
    let mut lines = text.split('\n').map(str::to_owned);
    let topic = lines.next()?;
    Some((topic, lines.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_reads_back_as_it_was_written() {
        let steps = vec!["Read".to_owned(), String::new(), "two\nlines".to_owned()];
        let (topic, back) = decode(&encode("Topic", &steps)).unwrap();
        assert_eq!(topic, "Topic");
        assert_eq!(back, ["Read", "", "two lines"]);
        assert_eq!(decode(&encode("", &[])).unwrap(), (String::new(), vec![]));
    }
}
