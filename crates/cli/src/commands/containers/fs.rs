//! `diff`, `commit` and `export`: a container's file system as changes, as a new image, and
//! as a tar archive.

use std::io::IsTerminal;

use berth_api::client::CommitParams;
use berth_api::Client;

use crate::app::{CommitArgs, DiffArgs, ExportArgs};
use crate::error::{CliError, CliResult};

pub async fn diff(client: &Client, args: DiffArgs) -> CliResult {
    if args.container.is_empty() {
        return Err(CliError::general("Container name cannot be empty"));
    }
    let changes = client.container_changes(&args.container).await?;
    let mut out = String::new();
    for c in changes {
        let kind = match c.kind {
            0 => "C",
            1 => "A",
            2 => "D",
            _ => "?",
        };
        out.push_str(&format!("{kind} {}\n", c.path));
    }
    super::super::print(&out)
}

/// Splits `REPOSITORY[:TAG]` as docker's client does before sending it: a colon after the
/// last slash starts the tag (a registry's port is not one); a digest is refused.
fn split_reference(r: &str) -> CliResult<(String, String)> {
    if r.contains('@') {
        return Err(CliError::general(
            "refusing to create a tag with a digest reference",
        ));
    }
    let last_slash = r.rfind('/').map_or(0, |i| i + 1);
    match r[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            Ok((r[..at].to_string(), r[at + 1..].to_string()))
        }
        None => Ok((r.to_string(), String::new())),
    }
}

pub async fn commit(client: &Client, args: CommitArgs) -> CliResult {
    let (repo, tag) = match &args.reference {
        Some(r) => split_reference(r)?,
        None => (String::new(), String::new()),
    };
    let params = CommitParams {
        container: args.container,
        repo,
        tag,
        comment: args.message.unwrap_or_default(),
        author: args.author.unwrap_or_default(),
        pause: args.pause,
        changes: args.change,
        config: None,
    };
    let id = client.container_commit(&params).await?;
    super::super::print(&format!("{}\n", id.id))
}

pub async fn export(client: &Client, args: ExportArgs) -> CliResult {
    if args.output.is_none() && std::io::stdout().is_terminal() {
        return Err(CliError::general(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        ));
    }
    if let Some(dir) = args
        .output
        .as_deref()
        .and_then(|p| p.parent())
        .filter(|d| !d.as_os_str().is_empty())
    {
        if !dir.exists() {
            return Err(CliError::general(format!(
                "failed to export container: invalid output path: directory {:?} does not exist",
                dir.display().to_string()
            )));
        }
    }
    let body = client.container_export(&args.container).await?;
    match &args.output {
        None => super::super::archive::copy_body(body, &mut std::io::stdout().lock(), None).await,
        Some(path) => {
            super::super::archive::save_to_file(body, path, "failed to export container").await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_like_dockers_client() {
        let s = |r: &str| split_reference(r).unwrap();
        assert_eq!(s("app"), ("app".into(), "".into()));
        assert_eq!(s("me/app:v1"), ("me/app".into(), "v1".into()));
        assert_eq!(
            s("localhost:5000/app"),
            ("localhost:5000/app".into(), "".into())
        );
        assert_eq!(
            s("localhost:5000/app:2"),
            ("localhost:5000/app".into(), "2".into())
        );
        assert!(split_reference("app@sha256:abc").is_err());
    }
}
