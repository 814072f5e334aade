//! `run`, `create` and `start`: creating containers (fetching the image first when the
//! engine does not have it), and attaching to them the way docker's CLI does — attach and
//! wait are set up before the start, so no output and no exit is ever missed.

use std::sync::Arc;

use berth_api::client::AttachParams;
use berth_api::{Client, ClientError};

use super::{request, streams};
use crate::app::{CreateArgs, CreateFlags, RunArgs, StartArgs};
use crate::error::{CliError, CliResult};
use crate::image_names::with_latest;

/// Creates the container; a missing image is fetched, as docker's `run` pulls it.
async fn create_container(
    client: &Client,
    flags: &CreateFlags,
    req: &berth_api::types::ContainerCreateRequest,
) -> CliResult<String> {
    let name = flags.name.clone().unwrap_or_default();
    // As docker: the ID file is claimed before the container exists, so a clash creates
    // nothing, and given up if the create fails.
    let cidfile = flags.cidfile.as_deref().map(CidFile::claim).transpose()?;
    if flags.pull == "always" {
        pull_image(client, flags).await?;
    }
    let created = match client.container_create(&name, req).await {
        Err(e)
            if flags.pull == "missing"
                && e.is_not_found()
                && e.to_string().contains("No such image") =>
        {
            eprintln!(
                "Unable to find image '{}' locally",
                with_latest(&flags.image)
            );
            pull_image(client, flags).await?;
            client.container_create(&name, req).await
        }
        other => other,
    }
    .map_err(run_error)?;
    for w in &created.warnings {
        eprintln!("WARNING: {w}");
    }
    if let Some(cidfile) = cidfile {
        cidfile.write(&created.id)?;
    }
    Ok(created.id)
}

/// Pulls the image of `flags` for `run`/`create`, showing the pull's progress.
async fn pull_image(client: &Client, flags: &CreateFlags) -> CliResult {
    let image = with_latest(&flags.image);
    let opts = berth_api::client::PullOptions {
        platform: flags.platform.clone().unwrap_or_default(),
        auth: crate::credentials::lookup(&crate::image_names::registry_of(&image)),
    };
    let stream = client
        .image_pull(&image, "", &opts)
        .await
        .map_err(run_error)?;
    crate::progress::display_on_stderr(stream)
        .await
        .map_err(|e| CliError { status: 125, ..e })
}

/// A `--cidfile` claimed for the container about to be created; removed again if it is
/// dropped before the ID is written.
struct CidFile {
    path: std::path::PathBuf,
    file: Option<std::fs::File>,
}

impl CidFile {
    fn claim(path: &std::path::Path) -> CliResult<CidFile> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    CliError::usage(format!(
                        "container ID file found, make sure the other container isn't running or delete {}",
                        path.display()
                    ))
                } else {
                    CliError::usage(format!("failed to create the container ID file: {e}"))
                }
            })?;
        Ok(CidFile {
            path: path.to_path_buf(),
            file: Some(file),
        })
    }

    fn write(mut self, id: &str) -> CliResult {
        use std::io::Write;
        let mut file = self
            .file
            .take()
            .ok_or_else(|| CliError::general("cidfile"))?;
        file.write_all(id.as_bytes()).map_err(|e| {
            CliError::usage(format!("failed to write the container ID to the file: {e}"))
        })
    }
}

impl Drop for CidFile {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// An error of `run`/`create` as docker reports it: prefixed, exit 125.
fn run_error(e: ClientError) -> CliError {
    let inner = CliError::from(e);
    CliError {
        message: format!("berth: {}\nSee 'berth run --help'.", inner.message),
        status: 125,
    }
}

/// docker's exit code for a failed start: 127 not found, 126 not executable, 125 other.
fn start_error(e: ClientError) -> CliError {
    let msg = CliError::from(e).message;
    let status =
        if msg.contains("executable file not found") || msg.contains("no such file or directory") {
            127
        } else if msg.contains("permission denied") || msg.contains("is a directory") {
            126
        } else {
            125
        };
    CliError {
        message: format!("berth: {msg}"),
        status,
    }
}

pub async fn create(client: &Client, args: CreateArgs) -> CliResult {
    let f = &args.create;
    let req = request::build(f, f.interactive, true, true, args.rm)?;
    let id = create_container(client, f, &req).await?;
    super::super::print(&format!("{id}\n"))
}

pub async fn run(client: Client, args: RunArgs) -> CliResult {
    let f = &args.create;
    let client = Arc::new(client);
    let streams: Vec<String> = args.attach.iter().map(|a| a.to_ascii_lowercase()).collect();
    for s in &streams {
        if !matches!(s.as_str(), "stdin" | "stdout" | "stderr") {
            return Err(CliError::usage(format!("invalid argument \"{s}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR")));
        }
    }
    if args.detach && !streams.is_empty() {
        return Err(CliError::usage("Conflicting options: -a and -d"));
    }
    let (attach_stdin, attach_stdout, attach_stderr) = if args.detach {
        (false, false, false)
    } else if streams.is_empty() {
        (f.interactive, true, true)
    } else {
        (
            streams.iter().any(|s| s == "stdin"),
            streams.iter().any(|s| s == "stdout"),
            streams.iter().any(|s| s == "stderr"),
        )
    };
    let keys = streams::detach_keys(args.detach_keys.as_deref())?;
    let req = request::build(f, attach_stdin, attach_stdout, attach_stderr, args.rm)?;
    let id = create_container(&client, f, &req).await?;
    if args.detach {
        client.container_start(&id).await.map_err(start_error)?;
        return super::super::print(&format!("{id}\n"));
    }

    // Attach and wait are set up together (neither needs the other), both before the start.
    let params = AttachParams {
        stdin: attach_stdin,
        stdout: attach_stdout,
        stderr: attach_stderr,
        logs: false,
        detach_keys: args.detach_keys.clone().unwrap_or_default(),
    };
    let attach = async {
        if attach_stdin || attach_stdout || attach_stderr {
            client.container_attach(&id, &params).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let condition = if args.rm { "removed" } else { "next-exit" };
    let (attached, waiting) = tokio::join!(attach, client.container_wait_begin(&id, condition));
    let attached = attached.map_err(run_error)?;
    let waiting = waiting.map_err(run_error)?;
    let raw = (f.tty && attach_stdin).then(streams::RawTerminal::enter);
    if let Err(e) = client.container_start(&id).await {
        drop(raw);
        let err = start_error(e);
        if args.rm {
            let _ = client.container_remove(&id, true, true).await;
        }
        return Err(err);
    }
    if f.tty {
        streams::follow_resizes(client.clone(), id.clone());
    }
    if args.sig_proxy && !f.tty {
        streams::proxy_signals(client.clone(), id.clone());
    }
    if let Some(conn) = attached {
        let stdin = attach_stdin.then_some(keys.as_slice());
        if streams::stream(conn, f.tty, stdin).await? == streams::Ended::Detached {
            return Ok(());
        }
    }
    drop(raw);
    let status = Client::container_wait_end(waiting)
        .await
        .map_err(|e| CliError {
            message: CliError::from(e).message,
            status: 125,
        })?;
    if let Some(err) = status.error {
        if !err.message.is_empty() && status.status_code == -1 {
            return Err(CliError {
                message: format!("berth: {}", err.message),
                status: 125,
            });
        }
    }
    CliError::exit_code(status.status_code)
}

pub async fn start(client: Client, args: StartArgs) -> CliResult {
    if args.attach || args.interactive {
        if args.containers.len() > 1 {
            return Err(CliError::usage(
                "you cannot start and attach multiple containers at once",
            ));
        }
        let client = Arc::new(client);
        let id = &args.containers[0];
        let info = client.container_inspect(id).await?;
        let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
        let stdin = args.interactive && info["Config"]["OpenStdin"].as_bool().unwrap_or(false);
        let params = AttachParams {
            stdin,
            stdout: true,
            stderr: true,
            logs: false,
            detach_keys: args.detach_keys.clone().unwrap_or_default(),
        };
        let keys = streams::detach_keys(args.detach_keys.as_deref())?;
        let conn = client.container_attach(id, &params).await?;
        let waiting = client.container_wait_begin(id, "next-exit").await?;
        let raw = (tty && stdin).then(streams::RawTerminal::enter);
        client.container_start(id).await.map_err(start_error)?;
        if tty {
            streams::follow_resizes(client.clone(), id.clone());
        } else {
            streams::proxy_signals(client.clone(), id.clone());
        }
        let ended = streams::stream(conn, tty, stdin.then_some(keys.as_slice())).await?;
        drop(raw);
        if ended == streams::Ended::Detached {
            return Ok(());
        }
        let status = Client::container_wait_end(waiting).await?;
        return CliError::exit_code(status.status_code);
    }
    let mut errors = Vec::new();
    for c in &args.containers {
        match client.container_start(c).await {
            Ok(_) => super::super::print(&format!("{c}\n"))?,
            Err(e) if e.is_connect() => return Err(e.into()),
            Err(e) => errors.push(CliError::from(e).message),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        errors
            .push("Error: failed to start containers: ".to_string() + &args.containers.join(", "));
        Err(CliError::general(errors.join("\n")))
    }
}
