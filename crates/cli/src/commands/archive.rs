//! `load`, `save` and `import`: image archives in and out, streamed both ways.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use std::io::Write;

use berth_api::client::{body_from_blocking_reader, empty_body, Body, ImportOptions};
use berth_api::Client;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use indicatif::ProgressBar;

use crate::app::{ImportArgs, LoadArgs, SaveArgs};
use crate::error::{CliError, CliResult};
use crate::progress;
use crate::transfer::{self, Counted};

/// A file as a request body, with an upload bar on a terminal.
fn file_body(path: &Path, label: &str) -> CliResult<Body> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::general(format!("open {}: {e}", path.display())))?;
    let size = file.metadata().ok().map(|m| m.len());
    Ok(body_from_blocking_reader(Counted::new(
        file,
        transfer::bar(label, size),
    )))
}

fn stdin_body() -> Body {
    body_from_blocking_reader(std::io::stdin())
}

pub async fn load(client: &Client, args: LoadArgs) -> CliResult {
    let body = match &args.input {
        Some(path) => file_body(path, "Sending")?,
        None => {
            if super::stdin_is_terminal() {
                return Err(CliError::general(
                    "requested load from stdin, but stdin is empty",
                ));
            }
            stdin_body()
        }
    };
    let quiet = args.quiet || !std::io::stdout().is_terminal();
    let stream = client.images_load(body, quiet).await?;
    progress::display(stream).await
}

pub async fn save(client: &Client, args: SaveArgs) -> CliResult {
    if args.output.is_none() && std::io::stdout().is_terminal() {
        return Err(CliError::general(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        ));
    }
    let body = client.images_save(&args.images).await?;
    match &args.output {
        None => copy_body(body, &mut std::io::stdout().lock(), None).await,
        Some(path) => save_to_file(body, path, "failed to save image").await,
    }
}

/// Writes the body's chunks as they arrive. The writes block, which is fine here: nothing
/// else runs in the CLI meanwhile, and whole chunks make far fewer system calls than an
/// async file would.
pub(super) async fn copy_body(
    mut body: Incoming,
    out: &mut dyn Write,
    bar: Option<ProgressBar>,
) -> CliResult {
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| CliError::general(format!("saving: {e}")))?;
        if let Ok(data) = frame.into_data() {
            out.write_all(&data)
                .map_err(|e| CliError::general(format!("saving: {e}")))?;
            if let Some(b) = &bar {
                b.inc(data.len() as u64);
            }
        }
    }
    out.flush()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(())
}

/// Writes to a temporary file beside `path` and renames it into place only once the whole
/// archive arrived, so a failed save never leaves a truncated archive under the name.
/// `failure` starts the message of an error (`failed to save image`).
pub(super) async fn save_to_file(body: Incoming, path: &Path, failure: &str) -> CliResult {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| CliError::general(format!("invalid output file {}", path.display())))?;
    let temp: PathBuf = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let failed =
        |e: std::io::Error| CliError::general(format!("{failure}: {}: {e}", path.display()));
    let result = async {
        let mut file = std::fs::File::create(&temp).map_err(failed)?;
        copy_body(body, &mut file, transfer::bar("Saving", None)).await?;
        file.sync_all()?;
        std::fs::rename(&temp, path).map_err(failed)
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

pub async fn import(client: &Client, args: ImportArgs) -> CliResult {
    let is_url = args.source.starts_with("http://") || args.source.starts_with("https://");
    let (source, body) = if args.source == "-" {
        ("-".to_string(), stdin_body())
    } else if is_url {
        (args.source.clone(), empty_body())
    } else {
        (
            "-".to_string(),
            file_body(Path::new(&args.source), "Importing")?,
        )
    };
    let opts = ImportOptions {
        source,
        repo: args.reference.clone().unwrap_or_default(),
        tag: String::new(),
        message: args.message.clone().unwrap_or_default(),
        changes: args.change.clone(),
        platform: args.platform.clone().unwrap_or_default(),
    };
    let stream = client.image_import(body, &opts).await?;
    progress::display(stream).await
}
