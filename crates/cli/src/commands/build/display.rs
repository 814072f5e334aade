//! How a build's output is shown. Plain (`--progress=plain`, or not a terminal): the engine's
//! lines as they come, docker's classic output. On a terminal (`auto` or `tty`): one line per
//! step with its number, whether it came from the cache and how long it took, and under the
//! running step the tail of its output, redrawn in place.

use std::io::Write;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Lines of a running step's output kept on screen.
const TAIL: usize = 5;

pub enum Display {
    Plain,
    Tty(Box<Live>),
}

impl Display {
    pub fn new(progress: &str, quiet: bool) -> Display {
        use std::io::IsTerminal;
        let tty = match progress {
            "plain" => false,
            "tty" => true,
            _ => std::io::stdout().is_terminal(),
        };
        if quiet || !tty {
            Display::Plain
        } else {
            Display::Tty(Box::new(Live::new()))
        }
    }

    /// Shows a `stream` message's text.
    pub fn text(&mut self, text: &str) {
        match self {
            Display::Plain => {
                let mut out = std::io::stdout();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            Display::Tty(live) => live.text(text),
        }
    }

    /// The build ended (well or not): the last step's line is settled.
    pub fn finish(&mut self, failed: bool) {
        if let Display::Tty(live) = self {
            live.end_step(failed);
        }
    }
}

/// The terminal display's state.
pub struct Live {
    multi: MultiProgress,
    bar: Option<ProgressBar>,
    /// The running step: its header, when it started, whether it was cached, its last lines.
    step: Option<(String, Instant, bool, Vec<String>)>,
    partial: String,
    started: Instant,
}

impl Live {
    fn new() -> Live {
        Live {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            bar: None,
            step: None,
            partial: String::new(),
            started: Instant::now(),
        }
    }

    fn text(&mut self, text: &str) {
        self.partial.push_str(text);
        while let Some(n) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=n).collect();
            self.line(line.trim_end_matches('\n'));
        }
    }

    fn line(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("Step ") {
            self.end_step(false);
            let header = match rest.split_once(" : ") {
                Some((n, what)) => format!("[{n}] {what}"),
                None => rest.to_string(),
            };
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(header.clone());
            self.bar = Some(bar);
            self.step = Some((header, Instant::now(), false, Vec::new()));
            return;
        }
        if let Some(rest) = line.strip_prefix("Successfully built ") {
            self.end_step(false);
            let _ = self.multi.println(format!(
                "=> built {rest} in {:.1}s",
                self.started.elapsed().as_secs_f64()
            ));
            return;
        }
        if line.starts_with("Successfully tagged ") {
            let _ = self
                .multi
                .println(format!("=> {}", &line["Successfully ".len()..]));
            return;
        }
        let Some((header, _, cached, tail)) = &mut self.step else {
            let _ = self.multi.println(line);
            return;
        };
        if line == " ---> Using cache" {
            *cached = true;
            return;
        }
        if line.starts_with(" ---> ") {
            return;
        }
        tail.push(line.to_string());
        if tail.len() > TAIL {
            tail.remove(0);
        }
        if let Some(bar) = &self.bar {
            let shown: Vec<String> = tail.iter().map(|l| format!("  │ {l}")).collect();
            bar.set_message(format!("{header}\n{}", shown.join("\n")));
        }
    }

    /// Replaces the running step's spinner with its settled line.
    fn end_step(&mut self, failed: bool) {
        let (Some((header, started, cached, tail)), Some(bar)) =
            (self.step.take(), self.bar.take())
        else {
            return;
        };
        bar.finish_and_clear();
        let status = if failed {
            "ERROR".to_string()
        } else if cached {
            "CACHED".to_string()
        } else {
            format!("{:.1}s", started.elapsed().as_secs_f64())
        };
        let _ = self.multi.println(format!("=> {header}  {status}"));
        if failed {
            for l in tail {
                let _ = self.multi.println(format!("  │ {l}"));
            }
        }
    }
}
