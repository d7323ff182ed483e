//! Progress of `migrate`: one bar per entity on standard error when it is a terminal, nothing
//! otherwise (logs and pipes stay clean; the final report says what was copied).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar for the entity being copied, replaced when the next entity starts.
pub struct EntityBars {
    enabled: bool,
    current: Option<(String, ProgressBar)>,
}

impl EntityBars {
    /// Drawn on standard error if it is a terminal; hidden otherwise.
    pub fn on_stderr() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
            current: None,
        }
    }

    /// `done` of `total` records of `entity` handled.
    pub fn update(&mut self, entity: &str, done: usize, total: usize) {
        if !self.enabled {
            return;
        }
        if self.current.as_ref().is_none_or(|(e, _)| e != entity) {
            self.finish();
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{prefix:<14} [{bar:30}] {pos}/{len}") {
                bar.set_style(style.progress_chars("#>-"));
            }
            bar.set_prefix(entity.to_string());
            self.current = Some((entity.to_string(), bar));
        }
        if let Some((_, bar)) = &self.current {
            bar.set_position(done as u64);
        }
    }

    /// Leaves the last bar on screen, complete.
    pub fn finish(&mut self) {
        if let Some((_, bar)) = self.current.take() {
            bar.finish();
        }
    }
}
