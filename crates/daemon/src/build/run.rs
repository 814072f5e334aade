//! A RUN step: a container of the parent image runs the command with the step's
//! environment, network and mounts; its output streams to the build; on success its changes
//! are committed as the step's image. The container is removed either way.

use std::collections::BTreeMap;

use berth_api::types::{ContainerConfig, ContainerCreateRequest, HostConfig, Mount, TmpfsOptions};
use berth_build::backend::{BackendError, RunOutcome, RunStep, StepMount};
use tokio::io::AsyncReadExt;

use super::{backend_error, EngineBackend};
use crate::containers::{AttachOptions, CreateOptions, RemoveOptions, WaitCondition};

pub(super) fn run(
    b: &EngineBackend,
    step: &RunStep,
    output: &mut dyn std::io::Write,
) -> Result<RunOutcome, BackendError> {
    if step.parent.id.is_empty() {
        return Err(BackendError(
            "RUN needs an image with a shell to run in: this stage is FROM scratch".into(),
        ));
    }
    let parent_config = b.run_config(&step.parent)?;
    // The images `--mount=type=bind,from=` reads, each under a snapshot held for the step.
    let mut held = Vec::new();
    let mut image_binds = Vec::new();
    for m in &step.mounts {
        if let StepMount::ImageBind { image, source, .. } = m {
            let snap = super::copy::Snapshot::over(b, image)?;
            let found = berth_runtime::linux::paths::open_in_root(
                &snap.root,
                std::path::Path::new(source),
                berth_runtime::linux::paths::Create::Nothing,
            )
            .map_err(|e| BackendError(format!("--mount=type=bind,from: {source}: {e}")))?;
            // The path the kernel resolved, inside the snapshot: what the bind mounts.
            let real = std::fs::read_link(format!(
                "/proc/self/fd/{}",
                std::os::fd::AsRawFd::as_raw_fd(&found)
            ))
            .map_err(|e| BackendError(format!("--mount=type=bind,from: {source}: {e}")))?;
            image_binds.push(real);
            held.push(snap);
        }
    }
    let request = create_request(b, step, &image_binds);
    let containers = b.engine.containers.clone();
    let id = containers
        .create(CreateOptions {
            name: None,
            request,
        })
        .map_err(backend_error)?;
    // The output is written here, on the build's thread, not in the task: the build's
    // response stream may block, which async code must not.
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let task = b
        .handle
        .spawn(run_attached(containers.clone(), id.clone(), tx));
    let mut stopped = false;
    loop {
        // A second of silence sends an empty write: that is how a client that went away is
        // noticed while a step prints nothing.
        let chunk = match rx.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok(chunk) => chunk,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Vec::new(),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        // A refused write means the build was cancelled: the step is killed (once), and
        // the rest of its output drained until it has exited.
        if output.write(&chunk).is_err() && !stopped {
            stopped = true;
            if let Err(e) = b.handle.block_on(containers.kill(&id, "SIGKILL")) {
                tracing::warn!(container = %id, error = %e.message, "stopping a cancelled build step");
            }
        }
        let _ = output.flush();
    }
    let ran = b
        .handle
        .block_on(task)
        .unwrap_or_else(|e| Err(BackendError(format!("the step's task failed: {e}"))));
    let outcome = match ran {
        Ok(0) => b
            .commit_snapshot(
                &step.parent,
                &id,
                parent_config,
                id.clone(),
                (&step.created_by, &step.step),
            )
            .map(RunOutcome::Image),
        Ok(code) => Ok(RunOutcome::Failed { code }),
        Err(e) => Err(e),
    };
    let removed = b.handle.block_on(containers.remove(
        &id,
        RemoveOptions {
            force: true,
            volumes: true,
        },
    ));
    if let Err(e) = removed {
        tracing::warn!(container = %id, error = %e.message, "removing a build step's container");
    }
    drop(held);
    outcome
}

/// The step's container: the command with the image's entrypoint cleared, the step's
/// environment on top of the image's, its network and mounts.
fn create_request(
    b: &EngineBackend,
    step: &RunStep,
    image_binds: &[std::path::PathBuf],
) -> ContainerCreateRequest {
    let mut image_binds = image_binds.iter();
    let network = match step.network.as_str() {
        "" | "default" => b.network.clone(),
        other => other.to_string(),
    };
    let network = if network == "default" {
        "bridge".to_string()
    } else {
        network
    };
    let mut tmpfs = BTreeMap::new();
    let mut mounts = Vec::new();
    for m in &step.mounts {
        match m {
            StepMount::Bind {
                source,
                target,
                read_only,
            } => mounts.push(Mount {
                kind: "bind".into(),
                source: source.display().to_string(),
                target: target.clone(),
                read_only: *read_only,
                ..Default::default()
            }),
            StepMount::ImageBind {
                target, read_only, ..
            } => {
                if let Some(source) = image_binds.next() {
                    mounts.push(Mount {
                        kind: "bind".into(),
                        source: source.display().to_string(),
                        target: target.clone(),
                        read_only: *read_only,
                        ..Default::default()
                    });
                }
            }
            StepMount::Tmpfs { target, size } => match size {
                Some(size) => mounts.push(Mount {
                    kind: "tmpfs".into(),
                    target: target.clone(),
                    tmpfs_options: Some(TmpfsOptions {
                        size_bytes: *size as i64,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                None => {
                    tmpfs.insert(target.clone(), String::new());
                }
            },
        }
    }
    let mut extra_hosts = b.extra_hosts.clone();
    extra_hosts.extend(step.extra_hosts.iter().cloned());
    ContainerCreateRequest {
        config: ContainerConfig {
            image: step.parent.id.clone(),
            cmd: Some(step.argv.clone()),
            entrypoint: Some(vec![String::new()]),
            env: Some(step.env.clone()),
            attach_stdout: true,
            attach_stderr: true,
            labels: Some(BTreeMap::from([(
                "com.berth.build.step".to_string(),
                "true".to_string(),
            )])),
            ..Default::default()
        },
        host_config: HostConfig {
            network_mode: network,
            extra_hosts: (!extra_hosts.is_empty()).then_some(extra_hosts),
            mounts: (!mounts.is_empty()).then_some(mounts),
            tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
            shm_size: b.shm_size,
            ulimits: (!b.ulimits.is_empty()).then(|| b.ulimits.clone()),
            ..Default::default()
        },
        networking_config: None,
    }
}

/// Starts container `id` attached, sends its output (docker's multiplexed frames, stdout
/// and stderr alike) to `output` as it comes, and returns its exit code.
async fn run_attached(
    containers: std::sync::Arc<crate::containers::ContainerService>,
    id: String,
    output: std::sync::mpsc::Sender<Vec<u8>>,
) -> Result<i64, BackendError> {
    let id = id.as_str();
    let waiter = containers
        .waiter(id, WaitCondition::NextExit)
        .map_err(backend_error)?;
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    containers
        .attach(
            id,
            AttachOptions {
                stdin: false,
                stdout: true,
                stderr: true,
                detach_keys: None,
                logs: false,
                stream: true,
            },
            Box::new(theirs),
        )
        .await;
    containers.start(id).await.map_err(backend_error)?;
    copy_frames(ours, output).await;
    let status = waiter.wait().await.map_err(backend_error)?;
    if let Some(err) = status.error.filter(|e| !e.message.is_empty()) {
        return Err(BackendError(err.message));
    }
    Ok(status.status_code)
}

/// Sends on the payloads of docker's stream frames (8-byte header: stream, 3 zeros, size).
async fn copy_frames(mut from: tokio::io::DuplexStream, out: std::sync::mpsc::Sender<Vec<u8>>) {
    let mut header = [0u8; 8];
    let mut buf = vec![0u8; 32 * 1024];
    while from.read_exact(&mut header).await.is_ok() {
        let mut left = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        while left > 0 {
            let want = left.min(buf.len());
            if from.read_exact(&mut buf[..want]).await.is_err() {
                return;
            }
            let _ = out.send(buf[..want].to_vec());
            left -= want;
        }
    }
}
