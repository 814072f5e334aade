//! What the shim starts for an exec: the command with docker's environment, working
//! directory, user and groups — and docker's refusals and messages around it.

use berth_api::types::ExecConfig;
use berth_runtime::shim::protocol::ExecProcess;

use super::record::{ContainerRecord, Status};
use crate::error::{EngineError, EngineResult, ErrorKind};

/// docker's `ReplaceOrAppendEnvValues`: each of `overrides` replaces the entry of its key in
/// `base`, or is appended.
fn replace_or_append(base: &mut Vec<String>, overrides: &[String]) {
    let key = |kv: &str| kv.split('=').next().unwrap_or_default().to_string();
    for o in overrides {
        match base.iter_mut().find(|b| key(b) == key(o)) {
            Some(b) => *b = o.clone(),
            None => base.push(o.clone()),
        }
    }
}

/// An exec's environment, as docker builds it: PATH, HOSTNAME (and TERM with a terminal),
/// overridden by the container's Env, then by the exec's. HOME is added by the shim from the
/// user's passwd entry when missing.
pub fn exec_environment(rec: &ContainerRecord, env: &[String], tty: bool) -> Vec<String> {
    let mut out = vec![
        super::spec::DEFAULT_PATH.to_string(),
        format!("HOSTNAME={}", rec.config.hostname),
    ];
    if tty {
        out.push("TERM=xterm".to_string());
    }
    replace_or_append(&mut out, rec.config.env.as_deref().unwrap_or(&[]));
    replace_or_append(&mut out, env);
    out
}

/// The process the shim starts for `config` in the container of `rec`.
pub fn exec_process(rec: &ContainerRecord, config: &ExecConfig) -> ExecProcess {
    ExecProcess {
        args: config.cmd.clone(),
        env: exec_environment(rec, &config.env, config.tty),
        cwd: if config.working_dir.is_empty() {
            rec.config.working_dir.clone()
        } else {
            config.working_dir.clone()
        },
        user: if config.user.is_empty() {
            rec.config.user.clone()
        } else {
            config.user.clone()
        },
        groups: rec.host_config.group_add.clone().unwrap_or_default(),
        tty: config.tty,
        stdin: config.attach_stdin,
        stdout: config.attach_stdout,
        stderr: config.attach_stderr,
        privileged: config.privileged,
    }
}

/// docker's refusal to exec in a container that is not running.
pub fn require_running(rec: &ContainerRecord) -> EngineResult<()> {
    match rec.state.status {
        Status::Running => Ok(()),
        Status::Paused => Err(EngineError::conflict(format!(
            "Container {} is paused, unpause the container before exec",
            rec.id
        ))),
        Status::Restarting => Err(EngineError::conflict(format!(
            "Container {} is restarting, wait until the container is running",
            rec.id
        ))),
        _ => Err(EngineError::conflict(format!(
            "Container {} is not running",
            rec.id
        ))),
    }
}

/// docker's message for a process that could not start in the container.
pub fn start_failed(message: &str) -> EngineError {
    EngineError::new(
        ErrorKind::Internal,
        format!("OCI runtime exec failed: exec failed: unable to start container process: {message}: unknown"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_is_dockers() {
        let mut rec: ContainerRecord = serde_json::from_value(serde_json::json!({
            "id": "c", "name": "n", "created": "2024-01-01T00:00:00Z", "image": "i",
            "image_id": format!("sha256:{}", "0".repeat(64)),
            "config": {"Hostname": "h", "Env": ["PATH=/bin", "A=1"]},
            "host_config": {}
        }))
        .unwrap();
        assert_eq!(
            exec_environment(&rec, &["A=2".into(), "B=3".into()], true),
            ["PATH=/bin", "HOSTNAME=h", "TERM=xterm", "A=2", "B=3"]
        );
        rec.config.env = None;
        assert_eq!(
            exec_environment(&rec, &[], false),
            [
                super::super::spec::DEFAULT_PATH.to_string(),
                "HOSTNAME=h".into()
            ]
        );
    }
}
