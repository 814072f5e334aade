//! The registry server: `berth registry serve` runs an OCI distribution registry over
//! Berth's content store, and `berth registry gc` deletes what no manifest references.
//!
//! A request flows [`listen`] (TCP, TLS) → [`http`] → [`action::parse`] (an [`action::Action`])
//! → [`auth`] → [`handlers`] (over [`storage`] and [`uploads`], answering a
//! [`handlers::Reply`]) → back to `http`, which writes it. [`gc`] is the collector both
//! commands run.

mod action;
mod auth;
mod body;
mod cli;
mod errors;
mod gc;
mod handlers;
mod http;
mod listen;
mod manifest;
mod names;
mod sendfile;
mod storage;
mod tls;
mod uploads;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use berth_store::{ContentError, FsContentStore};
use clap::Parser;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use self::auth::{AuthError, Authenticator, Htpasswd, TokenAuth, TokenConfig};
use self::cli::{Command, GcArgs, RegistryArgs, ServeArgs};
use self::gc::GcOptions;
use self::storage::Storage;

#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("creating the storage root {}: {source}", path.display())]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// Runs `berth registry …` with `args` (the first being the program name).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match RegistryArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match args.command {
        Command::Serve(a) => run_serve(a),
        Command::Gc(a) => run_gc(a),
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn run_serve(args: ServeArgs) -> ExitCode {
    init_logging(&args.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("berth-registry")
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("berth registry: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth registry: {e}");
            ExitCode::FAILURE
        }
    }
}

fn authenticator(args: &ServeArgs) -> Result<Authenticator, AuthError> {
    if let Some(path) = &args.htpasswd {
        return Ok(Authenticator::Basic(Htpasswd::load(path)?));
    }
    if let (Some(realm), Some(issuer), Some(service), Some(key)) = (
        &args.token_realm,
        &args.token_issuer,
        &args.token_service,
        &args.token_key,
    ) {
        let config = TokenConfig {
            realm: realm.clone(),
            issuer: issuer.clone(),
            service: service.clone(),
            key: key.clone(),
        };
        return Ok(Authenticator::Token(Box::new(TokenAuth::load(&config)?)));
    }
    Ok(Authenticator::Open)
}

async fn serve(args: ServeArgs) -> Result<(), ServeError> {
    std::fs::create_dir_all(&args.root).map_err(|source| ServeError::Root {
        path: args.root.clone(),
        source,
    })?;
    let store = FsContentStore::open(Storage::content_root(&args.root))?;
    let auth = authenticator(&args)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ => None,
    };
    let listener = TcpListener::bind(&args.addr)
        .await
        .map_err(|source| ServeError::Listen {
            addr: args.addr.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: args.addr.clone(),
        source,
    })?;
    let ctx = Arc::new(handlers::Ctx {
        storage: Storage::new(&args.root),
        store,
        uploads: uploads::Uploads::new(args.max_uploads),
        max_upload: args.max_upload_size,
    });
    let state = Arc::new(http::State {
        ctx: ctx.clone(),
        auth,
        read_only: args.read_only,
    });
    tokio::spawn(purge_uploads(ctx.clone(), args.upload_purge_age));
    if !args.gc_interval.is_zero() {
        let opts = GcOptions {
            dry_run: false,
            delete_untagged: false,
            grace: args.gc_grace,
        };
        tokio::spawn(scheduled_gc(ctx.storage.clone(), args.gc_interval, opts));
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Printed whatever the log level: scripts and tests read the address from this line.
    eprintln!("berth registry: listening on {addr} ({scheme})");
    listen::run(listener, tls, state, shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

async fn purge_uploads(ctx: Arc<handlers::Ctx>, age: Duration) {
    let every = (age / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
    loop {
        tokio::time::sleep(every).await;
        let n = ctx.uploads.purge(age);
        if n > 0 {
            tracing::info!(count = n, "purged stale upload sessions");
        }
    }
}

async fn scheduled_gc(storage: Storage, every: Duration, opts: GcOptions) {
    loop {
        tokio::time::sleep(every).await;
        let (storage, opts) = (storage.clone(), opts.clone());
        match tokio::task::spawn_blocking(move || gc::collect(&storage, &opts)).await {
            Ok(Ok(report)) => tracing::info!(
                blobs = report.blobs.len(),
                bytes = report.bytes,
                spared = report.spared,
                "garbage collection done"
            ),
            Ok(Err(e)) => tracing::error!(error = %e, "garbage collection failed"),
            Err(e) => tracing::error!(error = %e, "garbage collection panicked"),
        }
    }
}

fn run_gc(args: GcArgs) -> ExitCode {
    init_logging(&args.log_level);
    if !args.root.is_dir() {
        eprintln!(
            "berth registry gc: {} is not a registry root",
            args.root.display()
        );
        return ExitCode::FAILURE;
    }
    let opts = GcOptions {
        dry_run: args.dry_run,
        delete_untagged: args.delete_untagged,
        grace: args.grace,
    };
    match gc::collect(&Storage::new(&args.root), &opts) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("berth registry gc: {e}");
            ExitCode::FAILURE
        }
    }
}
