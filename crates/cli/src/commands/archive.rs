//! `load`, `save` and `import`: image archives in and out, streamed both ways.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use berth_api::client::{body_from_reader, body_into_reader, empty_body, Body, ImportOptions};
use berth_api::Client;

use crate::app::{ImportArgs, LoadArgs, SaveArgs};
use crate::error::{CliError, CliResult};
use crate::progress;
use crate::transfer::{self, Counted};

/// A file as a request body, with an upload bar on a terminal.
async fn file_body(path: &Path, label: &str) -> CliResult<Body> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| CliError::general(format!("open {}: {e}", path.display())))?;
    let size = file.metadata().await.ok().map(|m| m.len());
    Ok(body_from_reader(Counted::new(
        file,
        transfer::bar(label, size),
    )))
}

pub async fn load(client: &Client, args: LoadArgs) -> CliResult {
    let body = match &args.input {
        Some(path) => file_body(path, "Sending").await?,
        None => {
            if super::stdin_is_terminal() {
                return Err(CliError::general(
                    "requested load from stdin, but stdin is empty",
                ));
            }
            body_from_reader(tokio::io::stdin())
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
    let bar = args
        .output
        .as_ref()
        .and_then(|_| transfer::bar("Saving", None));
    let mut reader = Counted::new(body_into_reader(body), bar);
    match &args.output {
        None => {
            let mut out = tokio::io::stdout();
            tokio::io::copy(&mut reader, &mut out)
                .await
                .map_err(|e| CliError::general(format!("saving: {e}")))?;
            tokio::io::AsyncWriteExt::flush(&mut out).await?;
            Ok(())
        }
        Some(path) => save_to_file(&mut reader, path).await,
    }
}

/// Writes to a temporary file beside `path` and renames it into place only once the whole
/// archive arrived, so a failed save never leaves a truncated archive under the name.
async fn save_to_file(reader: &mut (impl tokio::io::AsyncRead + Unpin), path: &Path) -> CliResult {
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
    let result = async {
        let mut file = tokio::fs::File::create(&temp).await.map_err(|e| {
            CliError::general(format!("failed to save image: {}: {e}", path.display()))
        })?;
        tokio::io::copy(reader, &mut file)
            .await
            .map_err(|e| CliError::general(format!("saving: {e}")))?;
        file.sync_all().await?;
        tokio::fs::rename(&temp, path).await.map_err(|e| {
            CliError::general(format!("failed to save image: {}: {e}", path.display()))
        })
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result
}

pub async fn import(client: &Client, args: ImportArgs) -> CliResult {
    let is_url = args.source.starts_with("http://") || args.source.starts_with("https://");
    let (source, body) = if args.source == "-" {
        ("-".to_string(), body_from_reader(tokio::io::stdin()))
    } else if is_url {
        (args.source.clone(), empty_body())
    } else {
        (
            "-".to_string(),
            file_body(Path::new(&args.source), "Importing").await?,
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
