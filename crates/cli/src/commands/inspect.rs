//! `image inspect`, `container inspect`, `network inspect`, `volume inspect` and `inspect`:
//! the engine's JSON documents, or a template over each.

use berth_api::Client;
use serde_json::Value;

use crate::app::{
    ContainerInspectArgs, ImageInspectArgs, InspectArgs, NetworkInspectArgs, VolumeInspectArgs,
};
use crate::error::{CliError, CliResult};
use crate::format::render_inspect;

/// Fetches each object, prints what was found (as docker does, even when some were not),
/// then fails naming what was missing.
pub(crate) async fn inspect_each<F, Fut>(
    names: &[String],
    format: Option<&str>,
    missing: &str,
    fetch: F,
) -> CliResult
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Value>, CliError>>,
{
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        match fetch(name.clone()).await? {
            Some(v) => found.push(v),
            None => errors.push(format!("Error: No such {missing}: {name}")),
        }
    }
    let rendered = render_inspect(format, &found)?;
    super::print(&rendered.out)?;
    errors.extend(rendered.errors.iter().map(|e| e.to_string()));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::general(errors.join("\n")))
    }
}

async fn image(client: &Client, name: String) -> Result<Option<Value>, CliError> {
    match client.image_inspect(&name).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn images(client: &Client, args: ImageInspectArgs) -> CliResult {
    inspect_each(&args.images, args.format.as_deref(), "image", |n| {
        image(client, n)
    })
    .await
}

async fn container(client: &Client, name: String, size: bool) -> Result<Option<Value>, CliError> {
    match client.container_inspect_sized(&name, size).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn containers(client: &Client, args: ContainerInspectArgs) -> CliResult {
    inspect_each(&args.containers, args.format.as_deref(), "container", |n| {
        container(client, n, args.size)
    })
    .await
}

async fn network(client: &Client, name: String, verbose: bool) -> Result<Option<Value>, CliError> {
    match client.network_inspect(&name, verbose).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn networks(client: &Client, args: NetworkInspectArgs) -> CliResult {
    inspect_each(&args.networks, args.format.as_deref(), "network", |n| {
        network(client, n, args.verbose)
    })
    .await
}

/// `volume inspect` reads the volume as docker's typed client does and prints that: the
/// fields docker knows, in its order. `berth inspect` prints the engine's document as sent.
async fn volume(client: &Client, name: String, raw: bool) -> Result<Option<Value>, CliError> {
    let found = if raw {
        client.volume_inspect_raw(&name).await
    } else {
        client.volume_inspect(&name).await.and_then(|v| {
            serde_json::to_value(v).map_err(|e| berth_api::ClientError::Decode(e.to_string()))
        })
    };
    match found {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn volumes(client: &Client, args: VolumeInspectArgs) -> CliResult {
    inspect_each(&args.volumes, args.format.as_deref(), "volume", |n| {
        volume(client, n, false)
    })
    .await
}

/// `berth inspect`: any object by name or ID; without `--type`, containers are tried
/// before images, then networks, then volumes, in docker's order.
pub async fn any(client: &Client, args: InspectArgs) -> CliResult {
    let kind = args.kind.clone();
    let size = args.size;
    let missing = match kind.as_deref() {
        Some("image") => "image",
        Some("container") => "container",
        Some("network") => "network",
        Some("volume") => "volume",
        _ => "object",
    };
    inspect_each(&args.names, args.format.as_deref(), missing, |n| {
        let kind = kind.clone();
        async move {
            match kind.as_deref() {
                Some("container") => container(client, n, size).await,
                Some("image") => image(client, n).await,
                Some("network") => network(client, n, false).await,
                Some("volume") => volume(client, n, true).await,
                _ => {
                    if let Some(v) = container(client, n.clone(), size).await? {
                        return Ok(Some(v));
                    }
                    if let Some(v) = image(client, n.clone()).await? {
                        return Ok(Some(v));
                    }
                    if let Some(v) = network(client, n.clone(), false).await? {
                        return Ok(Some(v));
                    }
                    volume(client, n, true).await
                }
            }
        }
    })
    .await
}
