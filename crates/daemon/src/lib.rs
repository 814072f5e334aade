//! The Berth engine (`berth daemon`): owns all state under its data root and serves the
//! Docker Engine API on its sockets.

mod alloc;
pub mod args;
pub mod build;
pub mod config;
pub mod containers;
mod durable;
pub mod engine;
pub mod error;
pub mod events;
mod fetch;
mod host;
pub mod http;
pub mod images;
mod json_record;
pub mod lock;
mod logging;
pub mod networks;
mod pipe;
pub mod server;
pub mod system;
mod timefmt;
mod trash;
pub mod volumes;

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};

use crate::args::DaemonArgs;
use crate::config::DaemonConfig;
use crate::engine::Engine;

/// Runs `berth daemon` with `args` (the first being the program name).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match DaemonArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(125)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let config = match DaemonConfig::load(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("berth daemon: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !rustix::process::geteuid().is_root() {
        eprintln!("berth daemon: the engine needs to be started with root privileges");
        return ExitCode::FAILURE;
    }
    alloc::tune();
    let logs = logging::init(config.log_level, config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("berth-engine")
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("berth daemon: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, config, logs)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("berth daemon: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    args: DaemonArgs,
    config: DaemonConfig,
    logs: logging::LogControl,
) -> Result<(), String> {
    engine::ensure_private_dir(&config.data_root, 0o711).map_err(|e| e.to_string())?;
    let lock =
        lock::EngineLock::acquire(&config.data_root, &config.pidfile).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;

    let opened = config.clone();
    let engine = tokio::task::spawn_blocking(move || Engine::open(opened))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let engine = Arc::new(engine);
    engine.containers.recover().await;
    engine.containers.prepare_shim();
    let listeners = server::bind(&config).await.map_err(|e| e.to_string())?;
    tracing::info!(
        version = system::VERSION,
        data_root = %config.data_root.display(),
        images = engine.images.count(),
        "engine ready"
    );

    let reload_engine = engine.clone();
    let shutdown = async move {
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM received"); return; }
                _ = int.recv() => { tracing::info!("SIGINT received"); return; }
                _ = hup.recv() => reload(&args, &reload_engine, &logs),
            }
        }
    };
    server::serve(listeners, engine.clone(), shutdown).await;
    // Containers outlive the engine; the cgroup parent, bridges and firewall table go only
    // when none is left.
    let running = engine.containers.count().1 > 0;
    engine.networks.shutdown(running).await;
    if !running {
        if let Ok(layout) = berth_runtime::cgroups::Layout::detect() {
            let _ = berth_runtime::cgroups::Cgroup::remove_parent(&layout, &config.cgroup_parent);
        }
    }
    drop(lock);
    tracing::info!("engine stopped");
    Ok(())
}

fn reload(args: &DaemonArgs, engine: &Engine, logs: &logging::LogControl) {
    match engine.config().reload(args) {
        Ok((next, notes)) => {
            logs.set_level(next.log_level);
            for note in notes {
                tracing::warn!("{note}");
            }
            tracing::info!(log_level = next.log_level.as_filter(), debug = next.debug, labels = ?next.labels, "configuration reloaded");
            engine.set_config(next);
        }
        Err(e) => {
            tracing::error!(error = %e, "configuration reload failed; keeping the running configuration")
        }
    }
}
