//! Showing the JSON progress messages of load, import, pull and push: live bars per item on a
//! terminal, plain lines otherwise, and the stream's error as the command's error.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};

use berth_api::client::JsonMessageStream;
use berth_api::types::JsonMessage;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{CliError, CliResult};

/// Renders `stream` to stdout until it ends; an error message in it fails the command.
pub async fn display(stream: JsonMessageStream) -> CliResult {
    display_on(stream, false).await
}

/// Renders `stream` to stderr: the pull `run` and `create` do before their own output.
pub async fn display_on_stderr(stream: JsonMessageStream) -> CliResult {
    display_on(stream, true).await
}

async fn display_on(mut stream: JsonMessageStream, stderr: bool) -> CliResult {
    let tty = if stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let multi = MultiProgress::with_draw_target(match (tty, stderr) {
        (false, _) => ProgressDrawTarget::hidden(),
        (true, false) => ProgressDrawTarget::stdout(),
        (true, true) => ProgressDrawTarget::stderr(),
    });
    let mut out: Box<dyn Write> = if stderr {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    let mut bars: HashMap<String, ProgressBar> = HashMap::new();
    let style =
        ProgressStyle::with_template("{prefix}: {msg:<22} [{bar:40}] {bytes}/{total_bytes}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    while let Some(msg) = stream.next().await {
        let msg = msg?;
        if let Some(err) = error_of(&msg) {
            multi.clear().ok();
            return Err(CliError::general(err));
        }
        match (&msg.id, &msg.progress_detail) {
            (Some(id), Some(detail)) if tty => {
                let bar = bars.entry(id.clone()).or_insert_with(|| {
                    let b = multi.add(ProgressBar::new(0));
                    b.set_style(style.clone());
                    b.set_prefix(id.clone());
                    b
                });
                bar.set_length(detail.total.unwrap_or(0).max(0) as u64);
                bar.set_position(detail.current.unwrap_or(0).max(0) as u64);
                bar.set_message(msg.status.clone().unwrap_or_default());
            }
            (Some(_), Some(_)) => {}
            (Some(id), None) => {
                let status = msg.status.clone().unwrap_or_default();
                match bars.remove(id) {
                    Some(bar) => {
                        bar.set_style(
                            ProgressStyle::with_template("{prefix}: {msg}")
                                .unwrap_or_else(|_| ProgressStyle::default_bar()),
                        );
                        bar.finish_with_message(status);
                    }
                    None if tty => {
                        multi.println(format!("{id}: {status}")).ok();
                    }
                    None => {
                        writeln!(out, "{id}: {status}")?;
                    }
                }
            }
            (None, _) => print_plain(&multi, &mut out, &msg)?,
        }
    }
    Ok(())
}

fn error_of(m: &JsonMessage) -> Option<String> {
    m.error_detail
        .as_ref()
        .map(|d| d.message.clone())
        .or_else(|| m.error.clone())
}

fn print_plain(multi: &MultiProgress, out: &mut dyn Write, m: &JsonMessage) -> CliResult {
    let text = match (&m.stream, &m.status) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => format!("{s}\n"),
        (None, None) => return Ok(()),
    };
    if multi.is_hidden() {
        out.write_all(text.as_bytes())?;
        out.flush()?;
    } else {
        multi.suspend(|| {
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        });
    }
    Ok(())
}
