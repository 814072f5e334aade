//! `berth build`: the context packed (or read from STDIN), sent to `POST /build` with
//! docker's parameters, and the build's output shown as it streams; `-q` prints only the
//! image ID, `--iidfile` writes it.

mod context;
mod display;

use std::collections::BTreeMap;
use std::io::Read;

use berth_api::client::{body_from_blocking_reader, bytes_body};
use berth_api::Client;

use crate::app::BuildArgs;
use crate::error::{CliError, CliResult};

pub async fn build(client: &Client, args: BuildArgs) -> CliResult {
    if args.context.starts_with("git@") || args.context.ends_with(".git") {
        return Err(CliError::general(
            "building from a git repository is not supported by Berth yet",
        ));
    }
    let remote = args.context.starts_with("http://") || args.context.starts_with("https://");
    if !matches!(args.progress.as_str(), "auto" | "plain" | "tty") {
        return Err(CliError::usage(format!(
            "invalid value {:?} for --progress: auto, plain or tty",
            args.progress
        )));
    }
    let mut query: Vec<(String, String)> = Vec::new();
    // The context: read in place by an engine on this host, else sent as a tar.
    let mut in_place: Option<(String, String)> = None;
    let mut spec_for_tar = None;
    let (body, dockerfile) = if remote {
        // The engine fetches the context tar itself.
        query.push(("remote".into(), args.context.clone()));
        (
            berth_api::client::empty_body(),
            args.file.clone().unwrap_or_else(|| "Dockerfile".into()),
        )
    } else if args.context == "-" {
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
        if matches!(client.host(), berth_api::Host::Unix(_)) && spec.extra_dockerfile.is_none() {
            in_place = context::identity(&spec.dir);
        }
        spec_for_tar = Some(spec);
        (berth_api::client::empty_body(), dockerfile)
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
    if !args.cache_from.is_empty() {
        // As docker's CLI sends it: a JSON array.
        let list = serde_json::Value::from(args.cache_from.clone()).to_string();
        query.push(("cachefrom".into(), list));
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
    if let Some(shm) = &args.shm_size {
        let bytes = crate::commands::containers::ram_in_bytes(shm)?;
        query.push(("shmsize".into(), bytes.to_string()));
    }
    if !args.ulimit.is_empty() {
        let limits = args
            .ulimit
            .iter()
            .map(|u| crate::commands::containers::ulimit(u))
            .collect::<CliResult<Vec<_>>>()?;
        query.push((
            "ulimits".into(),
            serde_json::to_string(&limits).unwrap_or_default(),
        ));
    }
    let output = args.output.as_deref().map(output_spec).transpose()?;
    query.push(("rm".into(), if args.rm { "1" } else { "0" }.into()));
    query.push(("networkmode".into(), args.network.clone()));

    let auths = crate::credentials::all();
    let mut stream = match (&in_place, spec_for_tar) {
        (Some((dir, id)), Some(spec)) => {
            let mut q = query.clone();
            q.push(("berth-context-dir".into(), dir.clone()));
            q.push(("berth-context-id".into(), id.clone()));
            match client
                .build(berth_api::client::empty_body(), &q, &auths)
                .await
            {
                Err(berth_api::client::ClientError::Api {
                    status: 400,
                    message,
                }) if message.contains("berth-context-dir cannot be used") => {
                    client.build(tar_body(spec)?, &query, &auths).await?
                }
                other => other?,
            }
        }
        (None, Some(spec)) => client.build(tar_body(spec)?, &query, &auths).await?,
        (_, None) => client.build(body, &query, &auths).await?,
    };
    let mut id = None;
    let mut shown = display::Display::new(&args.progress, args.quiet);
    while let Some(msg) = stream.next().await {
        let msg = match msg {
            Ok(m) => m,
            Err(e) => {
                shown.finish(true);
                return Err(e.into());
            }
        };
        if let Some(err) = msg
            .error_detail
            .as_ref()
            .map(|d| d.message.clone())
            .or(msg.error.clone())
        {
            shown.finish(true);
            return Err(CliError::general(err));
        }
        if let Some(aux) = &msg.aux {
            if let Some(i) = aux.get("ID").and_then(|v| v.as_str()) {
                id = Some(i.to_string());
            }
        }
        if let (Some(text), false) = (&msg.stream, args.quiet) {
            shown.text(text);
        }
    }
    shown.finish(false);
    let id = id.ok_or_else(|| CliError::general("the build ended without an image"))?;
    if args.quiet {
        println!("{id}");
    }
    if let Some(path) = &args.iidfile {
        std::fs::write(path, &id)
            .map_err(|e| CliError::general(format!("writing {}: {e}", path.display())))?;
    }
    if let Some(output) = output {
        export(client, &id, &output).await?;
    }
    Ok(())
}

/// `--output`: where the built image's files go.
enum Output {
    /// `type=local,dest=DIR` (or a path alone): the files, in a directory.
    Local(std::path::PathBuf),
    /// `type=tar,dest=FILE` (`-` for STDOUT): the files, as a tar.
    Tar(String),
}

fn output_spec(spec: &str) -> CliResult<Output> {
    if !spec.contains('=') {
        return Ok(Output::Local(spec.into()));
    }
    let mut kind = None;
    let mut dest = None;
    for part in spec.split(',') {
        match part.split_once('=') {
            Some(("type", v)) => kind = Some(v.to_string()),
            Some(("dest", v)) => dest = Some(v.to_string()),
            _ => {
                return Err(CliError::usage(format!(
                    "invalid --output {spec:?}: type=local|tar,dest=PATH"
                )))
            }
        }
    }
    let dest = dest
        .ok_or_else(|| CliError::usage(format!("invalid --output {spec:?}: dest= is missing")))?;
    match kind.as_deref() {
        None | Some("local") => Ok(Output::Local(dest.into())),
        Some("tar") => Ok(Output::Tar(dest)),
        Some(other) => Err(CliError::usage(format!(
            "--output type={other} is not supported by Berth (local or tar)"
        ))),
    }
}

/// The image's files through a container that is never started, exported and removed.
async fn export(client: &Client, id: &str, output: &Output) -> CliResult {
    let req = berth_api::types::ContainerCreateRequest {
        config: berth_api::types::ContainerConfig {
            image: id.to_string(),
            cmd: Some(vec!["/berth-export".into()]),
            ..Default::default()
        },
        ..Default::default()
    };
    let created = client.container_create("", &req).await?;
    let result = async {
        let body = client.container_export(&created.id).await?;
        let (reader, mut writer) = std::io::pipe().map_err(|e| CliError::general(e.to_string()))?;
        let sink: std::thread::JoinHandle<CliResult> = match output {
            Output::Tar(dest) => {
                let dest = dest.clone();
                std::thread::spawn(move || {
                    let mut reader = reader;
                    let copied = if dest == "-" {
                        std::io::copy(&mut reader, &mut std::io::stdout().lock())
                    } else {
                        std::fs::File::create(&dest)
                            .and_then(|mut f| std::io::copy(&mut reader, &mut f))
                    };
                    copied
                        .map(drop)
                        .map_err(|e| CliError::general(format!("writing {dest}: {e}")))
                })
            }
            Output::Local(dir) => {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    std::fs::create_dir_all(&dir)
                        .and_then(|()| tar::Archive::new(reader).unpack(&dir))
                        .map_err(|e| CliError::general(format!("writing {}: {e}", dir.display())))
                })
            }
        };
        super::archive::copy_body(body, &mut writer, None).await?;
        drop(writer);
        sink.join()
            .map_err(|_| CliError::general("writing the output failed"))?
    }
    .await;
    let _ = client.container_remove(&created.id, true, true).await;
    result
}

/// The context directory as a tar, packed on a thread of its own as it is sent.
fn tar_body(spec: context::ContextSpec) -> CliResult<berth_api::client::Body> {
    let (reader, writer) =
        std::io::pipe().map_err(|e| CliError::general(format!("making a pipe: {e}")))?;
    // 1 MiB rather than 64 KiB: a big context crosses it in far fewer wake-ups.
    let _ = rustix::pipe::fcntl_setpipe_size(&writer, 1 << 20);
    std::thread::spawn(move || {
        let _ = spec.write(writer);
    });
    Ok(body_from_blocking_reader(reader))
}

/// A tar (plain or compressed) rather than a Dockerfile.
fn looks_like_archive(b: &[u8]) -> bool {
    b.starts_with(&[0x1f, 0x8b])
        || b.starts_with(b"BZh")
        || b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || b.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])
        || (b.len() >= 262 && &b[257..262] == b"ustar")
}
