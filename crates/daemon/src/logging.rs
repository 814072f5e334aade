//! Structured logs through `tracing`, to stderr, as text or JSON, with a level that a
//! configuration reload can change.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, reload, EnvFilter, Registry};

use crate::args::{LogFormat, LogLevel};

/// Changes the log level of the running daemon.
pub struct LogControl {
    handle: reload::Handle<EnvFilter, Registry>,
}

fn filter(level: LogLevel) -> EnvFilter {
    // BERTH_LOG (a full filter directive) wins, for debugging one module at a time.
    std::env::var("BERTH_LOG")
        .ok()
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| {
            // The netlink library logs every error reply at warn, and Berth asks on purpose
            // for links that may not exist yet; Berth reports the failures that matter.
            EnvFilter::new(format!("{},nlink=error", level.as_filter()))
        })
}

pub fn init(level: LogLevel, format: LogFormat) -> LogControl {
    let (layer, handle) = reload::Layer::new(filter(level));
    let registry = tracing_subscriber::registry().with(layer);
    let result = match format {
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init(),
    };
    if let Err(e) = result {
        eprintln!("berth daemon: logging already initialised: {e}");
    }
    LogControl { handle }
}

impl LogControl {
    pub fn set_level(&self, level: LogLevel) {
        if let Err(e) = self.handle.reload(filter(level)) {
            tracing::warn!(error = %e, "could not change the log level");
        }
    }
}
