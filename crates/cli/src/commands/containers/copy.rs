//! `cp`: files and directories between a container and the local file system, in either
//! direction, or a tar stream on stdin/stdout with `-`, following docker's client: the
//! engine archives or extracts one path, and this side decides (from both sides' stats)
//! which directory an archive goes into and what its top entry is renamed to.

use std::path::Path;

use berth_api::client::body_from_blocking_reader;
use berth_api::{Client, ClientError};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::copy_local::{self as local, CopyInfo};
use crate::app::CpArgs;
use crate::error::{CliError, CliResult};

/// docker's `splitCpArg`: `CONTAINER:PATH`, unless the argument is an absolute path or an
/// explicitly relative one (`./file:name`).
fn split_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.starts_with('.') => (Some(c), p),
        _ => (None, arg),
    }
}

/// A 404 from either archive endpoint means the container or the path is missing; docker's
/// client says so in these words.
fn not_found<'a>(container: &'a str, path: &'a str) -> impl FnOnce(ClientError) -> CliError + 'a {
    move |e| {
        if e.is_not_found() {
            CliError::general(format!("Error: No such container:path: {container}:{path}"))
        } else {
            e.into()
        }
    }
}

pub async fn cp(client: &Client, args: CpArgs) -> CliResult {
    if args.source.is_empty() {
        return Err(CliError::general("source can not be empty"));
    }
    if args.destination.is_empty() {
        return Err(CliError::general("destination can not be empty"));
    }
    match (split_arg(&args.source), split_arg(&args.destination)) {
        ((Some(_), _), (Some(_), _)) => Err(CliError::general(
            "copying between containers is not supported",
        )),
        ((Some(c), src), (None, dst)) => from_container(client, c, src, dst, &args).await,
        ((None, src), (Some(c), dst)) => to_container(client, src, c, dst, &args).await,
        _ => Err(CliError::general(
            "must specify at least one container source",
        )),
    }
}

/// docker's `ValidateOutputPath`: the destination's directory must exist, and the
/// destination, if it exists, be a directory or a regular file.
fn validate_output(dst: &str) -> CliResult {
    let d = local::dir(&local::clean(dst));
    if d != "." && !Path::new(&d).exists() {
        return Err(CliError::general(format!(
            "invalid output path: directory {d:?} does not exist"
        )));
    }
    if let Ok(m) = std::fs::metadata(dst) {
        if !m.is_dir() && !m.is_file() {
            return Err(CliError::general(format!(
                "invalid output path: {dst:?} must be a directory or a regular file"
            )));
        }
    }
    Ok(())
}

async fn from_container(
    client: &Client,
    container: &str,
    src: &str,
    dst: &str,
    args: &CpArgs,
) -> CliResult {
    let dst = if dst == "-" {
        dst.to_string()
    } else {
        local::absolute(dst)?
    };
    if dst != "-" {
        validate_output(&dst)?;
    }
    let mut src = src.to_string();
    let mut rebase = None;
    if args.follow_link {
        if let Ok(stat) = client.container_stat_path(container, &src).await {
            if stat.is_symlink() {
                let target = if stat.link_target.starts_with('/') {
                    stat.link_target.clone()
                } else {
                    local::clean(&format!(
                        "{}/{}",
                        local::split_dir_entry(&src).0,
                        stat.link_target
                    ))
                };
                let (resolved, name) = local::rebase_name(&src, &target);
                src = resolved;
                rebase = name;
            }
        }
    }
    let (stat, body) = client
        .container_archive(container, &src)
        .await
        .map_err(not_found(container, &src))?;
    if dst == "-" {
        return super::super::archive::copy_body(body, &mut std::io::stdout().lock(), None).await;
    }
    let src_info = CopyInfo {
        path: src.clone(),
        exists: true,
        is_dir: stat.is_dir(),
        rebase: rebase.clone(),
    };
    let dst_info = local::destination_info(&dst)?;
    let (dst_dir, prepared) = local::prepare(&src_info, &dst_info)?;
    // The archive's top entry is named after the path asked for; rename it once, to what
    // the destination needs (or back to the name before a followed link).
    let src_base = local::split_dir_entry(&src).1;
    let rename = match (prepared, rebase) {
        (Some((_, to)), _) => Some((src_base, to)),
        (None, Some(name)) => Some((src_base, name)),
        (None, None) => None,
    };
    let dst_dir = std::path::PathBuf::from(dst_dir);
    let preserve = args.archive;
    feed_blocking(body, move |reader| {
        super::copy_extract::extract(reader, &dst_dir, rename.as_ref(), preserve)
    })
    .await
}

async fn to_container(
    client: &Client,
    src: &str,
    container: &str,
    dst: &str,
    args: &CpArgs,
) -> CliResult {
    let src = if src == "-" {
        src.to_string()
    } else {
        local::absolute(src)?
    };
    let mut dst_info = CopyInfo {
        path: dst.to_string(),
        ..CopyInfo::default()
    };
    let mut stat = client.container_stat_path(container, dst).await;
    if let Ok(s) = &stat {
        if s.is_symlink() {
            let target = if s.link_target.starts_with('/') {
                s.link_target.clone()
            } else {
                local::clean(&format!(
                    "{}/{}",
                    local::split_dir_entry(dst).0,
                    s.link_target
                ))
            };
            dst_info.path = target.clone();
            stat = client.container_stat_path(container, &target).await;
        }
    }
    // A failed stat may only mean the destination does not exist yet: the extraction
    // decides, and reports any conflict.
    if let Ok(s) = &stat {
        dst_info.exists = true;
        dst_info.is_dir = s.is_dir();
    }
    if src == "-" {
        if !dst_info.is_dir {
            return Err(CliError::general(format!(
                "destination \"{container}:{dst}\" must be a directory"
            )));
        }
        let body = body_from_blocking_reader(std::io::stdin());
        return client
            .container_extract(container, &dst_info.path, body, true, args.archive)
            .await
            .map_err(not_found(container, dst));
    }
    let src_info = local::source_info(&src, args.follow_link)?;
    let (dst_dir, rename) = local::prepare(&src_info, &dst_info)?;
    let top = match &rename {
        Some((_, to)) => to.clone(),
        None => src_info
            .rebase
            .clone()
            .unwrap_or_else(|| local::split_dir_entry(&src_info.path).1),
    };
    let (reader, writer) = std::io::pipe()?;
    let packer = std::thread::spawn(move || local::write_tar(&src_info, &top, writer));
    let sent = client
        .container_extract(
            container,
            &dst_dir,
            body_from_blocking_reader(reader),
            true,
            args.archive,
        )
        .await;
    // A local read failure explains a failed upload better than the engine can.
    match packer.join() {
        Ok(Err(e)) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(CliError::general(format!("archiving {src}: {e}")))
        }
        Err(_) => return Err(CliError::general(format!("archiving {src} failed"))),
        _ => {}
    }
    sent.map_err(not_found(container, dst))
}

/// Runs the blocking `consume` on a thread of its own, feeding it the response body as it
/// arrives.
async fn feed_blocking(
    mut body: Incoming,
    consume: impl FnOnce(ChannelReader) -> CliResult + Send + 'static,
) -> CliResult {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Bytes>(4);
    let worker = std::thread::spawn(move || {
        let reader = ChannelReader {
            rx,
            cur: Bytes::new(),
        };
        consume(reader)
    });
    let mut fed: CliResult = Ok(());
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    // The consumer stopped (an error it reports): stop feeding it.
                    if tx.send(data).is_err() {
                        break;
                    }
                }
            }
            Err(e) => {
                fed = Err(CliError::general(format!("reading the archive: {e}")));
                break;
            }
        }
    }
    drop(tx);
    let consumed = worker
        .join()
        .unwrap_or_else(|_| Err(CliError::general("extracting the archive failed")));
    consumed.and(fed)
}

/// The chunks of a body as a blocking reader.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<Bytes>,
    cur: Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.recv() {
                Ok(next) => self.cur = next,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_split_as_dockers() {
        assert_eq!(split_arg("c:/etc"), (Some("c"), "/etc"));
        assert_eq!(split_arg("/abs:x"), (None, "/abs:x"));
        assert_eq!(split_arg("./a:b"), (None, "./a:b"));
        assert_eq!(split_arg("file"), (None, "file"));
        assert_eq!(split_arg("-"), (None, "-"));
    }
}
