//! Progress on long work (export, append of a big file, verify, stats),
//! drawn on standard error only when it is a terminal: a pipe or a log
//! file never sees a progress bar.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bytes of the segment files in `dir` (0 when it cannot be listed):
/// how much work a verification has ahead of it.
pub fn segment_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(ledger_core::segment::names::SegmentName::parse)
                        .is_some()
                })
                .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                .sum()
        })
        .unwrap_or(0)
}

/// A spinner for a verification of `dir` when it holds more than 256 MiB
/// of segments; nothing otherwise.
pub fn verifying(dir: &std::path::Path) -> Progress {
    let bytes = segment_bytes(dir);
    if bytes > 256 << 20 {
        Progress::spinner(&format!("verifying {}", crate::human::bytes(bytes)))
    } else {
        Progress::hidden()
    }
}

/// A progress bar or spinner on standard error, or nothing when standard
/// error is not a terminal. Cleared when finished or dropped.
#[derive(Debug)]
pub struct Progress(Option<ProgressBar>);

fn visible() -> bool {
    std::io::stderr().is_terminal()
}

impl Progress {
    /// Nothing drawn.
    pub fn hidden() -> Self {
        Progress(None)
    }

    /// A bar counting `unit`s up to `total`, labelled `what`.
    pub fn bar(total: u64, what: &str, unit: &str) -> Self {
        if !visible() {
            return Self::hidden();
        }
        let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let template =
            format!("{{msg}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit} ({{eta}} left)");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(what.to_owned());
        Progress(Some(pb))
    }

    /// A bar counting bytes up to `total`, labelled `what`.
    pub fn bytes(total: u64, what: &str) -> Self {
        if !visible() {
            return Self::hidden();
        }
        let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        ) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(what.to_owned());
        Progress(Some(pb))
    }

    /// A spinner with a message, for work whose size is unknown.
    pub fn spinner(what: &str) -> Self {
        if !visible() {
            return Self::hidden();
        }
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            pb.set_style(style);
        }
        pb.set_message(what.to_owned());
        pb.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(pb))
    }

    /// Sets the position.
    pub fn set(&self, pos: u64) {
        if let Some(pb) = &self.0 {
            pb.set_position(pos);
        }
    }

    /// Sets the total (for work whose size becomes known on the way).
    pub fn set_total(&self, total: u64) {
        if let Some(pb) = &self.0 {
            pb.set_length(total);
        }
    }

    /// Replaces the message.
    pub fn message(&self, what: String) {
        if let Some(pb) = &self.0 {
            pb.set_message(what);
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
