//! Exec bodies: creating an exec instance, starting it, and inspecting it.

use serde::{Deserialize, Serialize};

/// `POST /containers/{id}/exec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub detach_keys: String,
    pub tty: bool,
    #[serde(deserialize_with = "super::null_as_default")]
    pub env: Vec<String>,
    #[serde(deserialize_with = "super::null_as_default")]
    pub cmd: Vec<String>,
    pub privileged: bool,
    pub user: String,
    pub working_dir: String,
}

/// `POST /exec/{id}/start`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecStartConfig {
    pub detach: bool,
    pub tty: bool,
}

/// The process of an inspected exec instance (docker spells these fields in lower case).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessConfig {
    pub privileged: bool,
    pub user: String,
    pub tty: bool,
    pub entrypoint: String,
    pub arguments: Vec<String>,
}

/// `GET /exec/{id}/json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecInspect {
    #[serde(rename = "ID")]
    pub id: String,
    pub running: bool,
    /// Null until the process has exited.
    pub exit_code: Option<i64>,
    pub process_config: ProcessConfig,
    pub open_stdin: bool,
    pub open_stderr: bool,
    pub open_stdout: bool,
    pub can_remove: bool,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    pub detach_keys: String,
    pub pid: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_dockers() {
        let inspect = ExecInspect {
            id: "e".into(),
            container_id: "c".into(),
            process_config: ProcessConfig {
                entrypoint: "sh".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let v = serde_json::to_value(&inspect).unwrap();
        assert_eq!(v["ID"], "e");
        assert_eq!(v["ContainerID"], "c");
        assert!(v["ExitCode"].is_null());
        assert_eq!(v["ProcessConfig"]["entrypoint"], "sh");
        let config: ExecConfig =
            serde_json::from_str(r#"{"Cmd":["ls"],"Env":null,"AttachStdout":true}"#).unwrap();
        assert_eq!(config.cmd, ["ls"]);
        assert!(config.env.is_empty() && config.attach_stdout);
    }
}
