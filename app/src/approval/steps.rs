//! The step list being edited, as a value: each step keeps an id, so a row
//! (and what has focus in it) survives other rows moving, and the edits are
//! tested without a browser.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepList {
    steps: Vec<(usize, String)>,
    next_id: usize,
}

impl StepList {
    pub fn new(steps: impl IntoIterator<Item = String>) -> Self {
        let steps: Vec<_> = steps.into_iter().enumerate().collect();
        Self {
            next_id: steps.len(),
            steps,
        }
    }

    /// `(id, text)` in order.
    pub fn rows(&self) -> &[(usize, String)] {
        &self.steps
    }

    pub fn texts(&self) -> Vec<String> {
        self.steps.iter().map(|(_, t)| t.clone()).collect()
    }

    /// Where step `id` is, from 0.
    pub fn position(&self, id: usize) -> Option<usize> {
        self.steps.iter().position(|(k, _)| *k == id)
    }

    /// Step `id`'s text ("" once removed).
    pub fn text(&self, id: usize) -> &str {
        self.steps
            .iter()
            .find(|(k, _)| *k == id)
            .map_or("", |(_, t)| t.as_str())
    }

    pub fn set(&mut self, id: usize, text: String) {
        if let Some(step) = self.steps.iter_mut().find(|(k, _)| *k == id) {
            step.1 = text;
        }
    }

    /// Moves step `id` up (`by < 0`) or down; nothing past either end.
    pub fn shift(&mut self, id: usize, by: isize) {
        let Some(i) = self.steps.iter().position(|(k, _)| *k == id) else {
            return;
        };
        let j = i as isize + by;
        if j >= 0 && (j as usize) < self.steps.len() {
            self.steps.swap(i, j as usize);
        }
    }

    pub fn remove(&mut self, id: usize) {
        self.steps.retain(|(k, _)| *k != id);
    }

    /// Appends an empty step; its id.
    pub fn add(&mut self) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        self.steps.push((id, String::new()));
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> StepList {
        StepList::new(["a", "b", "c"].map(String::from))
    }

    #[test]
    fn moving_keeps_ids_and_stops_at_the_ends() {
        let mut steps = list();
        steps.shift(2, -1);
        assert_eq!(steps.texts(), ["a", "c", "b"]);
        assert_eq!(steps.rows()[1], (2, "c".to_owned()));
        steps.shift(0, -1);
        steps.shift(1, 1);
        assert_eq!(steps.texts(), ["a", "c", "b"], "moved past an end");
        steps.shift(7, 1);
        assert_eq!(
            steps.texts(),
            ["a", "c", "b"],
            "an unknown id moves nothing"
        );
    }

    #[test]
    fn edits_follow_the_step_not_the_position() {
        let mut steps = list();
        steps.shift(0, 1);
        steps.set(0, "first, now second".into());
        assert_eq!(steps.texts(), ["b", "first, now second", "c"]);
        steps.remove(1);
        assert_eq!(steps.texts(), ["first, now second", "c"]);
        steps.set(1, "gone".into());
        assert_eq!(steps.texts(), ["first, now second", "c"]);
    }

    #[test]
    fn added_steps_never_reuse_an_id() {
        let mut steps = list();
        steps.remove(2);
        let id = steps.add();
        assert_eq!(id, 3);
        assert_eq!(steps.add(), 4);
        assert_eq!(steps.texts(), ["a", "b", "", ""]);
    }
}
