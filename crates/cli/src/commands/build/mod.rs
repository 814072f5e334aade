//! `berth build`: the context packed (or read from STDIN), sent to `POST /build` with
//! docker's parameters, and the build's output shown as it streams; `-q` prints only the
//! image ID, `--iidfile` writes it.

mod context;

use std::collections::BTreeMap;
use std::io::{Read, Write};

use berth_api::client::{body_from_blocking_reader, bytes_body};
use berth_api::Client;

use crate::app::BuildArgs;
use crate::error::{CliError, CliResult};

pub async fn build(client: &Client, args: BuildArgs) -> CliResult {
    if args.context.contains("://") || args.context.starts_with("git@") {
        return Err(CliError::general(
            "building from a URL context is not supported by Berth yet",
        ));
    }
    if !matches!(args.progress.as_str(), "auto" | "plain" | "tty") {
        return Err(CliError::usage(format!(
            "invalid value {:?} for --progress: auto, plain or tty",
            args.progress
        )));
    }
    let mut query: Vec<(String, String)> = Vec::new();
    let (body, dockerfile) = if args.context == "-" {
        if args.file.as_deref() == Some("-") {
            return Err(CliError::usage(
                "invalid argument: can't use stdin for both build context and dockerfile",
            ));
        }
        let mut input = Vec::new();
        std::io::stdin()
            .read_to_end(&mut input)
            .map_err(|e| CliError::general(format!("reading the context from STDIN: {e}")))?;
        if looks_like_archive(&input) {
            (
                bytes_body(input),
                args.file.clone().unwrap_or_else(|| "Dockerfile".into()),
            )
        } else {
            // A Dockerfile alone: the context holds just it.
            let mut tar = tar::Builder::new(Vec::new());
            let mut header = tar::Header::new_gnu();
            header.set_size(input.len() as u64);
            header.set_mode(0o644);
            tar.append_data(&mut header, "Dockerfile", input.as_slice())
                .map_err(|e| CliError::general(e.to_string()))?;
            let tar = tar
                .into_inner()
                .map_err(|e| CliError::general(e.to_string()))?;
            (bytes_body(tar), "Dockerfile".to_string())
        }
    } else {
        let spec =
            context::ContextSpec::new(std::path::Path::new(&args.context), args.file.as_deref())?;
        let dockerfile = spec.dockerfile.clone();
        let (reader, writer) =
            std::io::pipe().map_err(|e| CliError::general(format!("making a pipe: {e}")))?;
        // 1 MiB rather than 64 KiB: a big context crosses it in far fewer wake-ups.
        let _ = rustix::pipe::fcntl_setpipe_size(&writer, 1 << 20);
        std::thread::spawn(move || {
            let _ = spec.write(writer);
        });
        (body_from_blocking_reader(reader), dockerfile)
    };
    query.push(("dockerfile".into(), dockerfile));
    for t in &args.tag {
        query.push(("t".into(), t.clone()));
    }
    let mut build_args: BTreeMap<String, Option<String>> = BTreeMap::new();
    for a in &args.build_arg {
        match a.split_once('=') {
            Some((k, v)) => build_args.insert(k.to_string(), Some(v.to_string())),
            None => build_args.insert(a.clone(), std::env::var(a).ok()),
        };
    }
    if !build_args.is_empty() {
        query.push((
            "buildargs".into(),
            serde_json::to_string(&build_args).unwrap_or_default(),
        ));
    }
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for l in &args.label {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        labels.insert(k.to_string(), v.to_string());
    }
    if !labels.is_empty() {
        query.push((
            "labels".into(),
            serde_json::to_string(&labels).unwrap_or_default(),
        ));
    }
    let mut secrets: BTreeMap<String, String> = BTreeMap::new();
    for s in &args.secret {
        let mut id = None;
        let mut src = None;
        for part in s.split(',') {
            match part.split_once('=') {
                Some(("id", v)) => id = Some(v.to_string()),
                Some(("src" | "source", v)) => src = Some(v.to_string()),
                Some(("type", "file")) => {}
                _ => {
                    return Err(CliError::usage(format!(
                        "invalid secret {s:?}: id=ID,src=PATH"
                    )))
                }
            }
        }
        let (Some(id), Some(src)) = (id, src) else {
            return Err(CliError::usage(format!(
                "invalid secret {s:?}: id=ID,src=PATH"
            )));
        };
        let abs = std::fs::canonicalize(&src)
            .map_err(|e| CliError::general(format!("secret {id}: {src}: {e}")))?;
        secrets.insert(id, abs.display().to_string());
    }
    if !secrets.is_empty() {
        query.push((
            "berth-secrets".into(),
            serde_json::to_string(&secrets).unwrap_or_default(),
        ));
    }
    if let Some(t) = &args.target {
        query.push(("target".into(), t.clone()));
    }
    if let Some(p) = &args.platform {
        query.push(("platform".into(), p.clone()));
    }
    if !args.add_host.is_empty() {
        query.push(("extrahosts".into(), args.add_host.join(",")));
    }
    for (k, on) in [
        ("nocache", args.no_cache),
        ("q", args.quiet),
        ("pull", args.pull),
        ("forcerm", args.force_rm),
    ] {
        if on {
            query.push((k.into(), "1".into()));
        }
    }
    query.push(("rm".into(), if args.rm { "1" } else { "0" }.into()));
    query.push(("networkmode".into(), args.network.clone()));

    let mut stream = client.build(body, &query).await?;
    let mut id = None;
    let mut out = std::io::stdout();
    while let Some(msg) = stream.next().await {
        let msg = msg?;
        if let Some(err) = msg
            .error_detail
            .as_ref()
            .map(|d| d.message.clone())
            .or(msg.error.clone())
        {
            let _ = out.flush();
            return Err(CliError::general(err));
        }
        if let Some(aux) = &msg.aux {
            if let Some(i) = aux.get("ID").and_then(|v| v.as_str()) {
                id = Some(i.to_string());
            }
        }
        if let (Some(text), false) = (&msg.stream, args.quiet) {
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
    let id = id.ok_or_else(|| CliError::general("the build ended without an image"))?;
    if args.quiet {
        println!("{id}");
    }
    if let Some(path) = &args.iidfile {
        std::fs::write(path, &id)
            .map_err(|e| CliError::general(format!("writing {}: {e}", path.display())))?;
    }
    Ok(())
}

/// A tar (plain or compressed) rather than a Dockerfile.
fn looks_like_archive(b: &[u8]) -> bool {
    b.starts_with(&[0x1f, 0x8b])
        || b.starts_with(b"BZh")
        || b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || b.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])
        || (b.len() >= 262 && &b[257..262] == b"ustar")
}
