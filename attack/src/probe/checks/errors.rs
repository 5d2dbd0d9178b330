//! Over the whole run: no answer was a 5xx.

use super::{Outcome, Probe, fail, pass};

impl Probe {
    pub(super) fn no_5xx(&self) -> Outcome {
        let seen = self.target.seen();
        if seen.server_errors.is_empty() {
            pass(format!("{} answers, none 5xx", seen.answers))
        } else {
            fail(format!(
                "{} answers were 5xx: {}",
                seen.server_errors.len(),
                seen.server_errors.iter().take(6).cloned().collect::<Vec<_>>().join("; ")
            ))
        }
    }
}
