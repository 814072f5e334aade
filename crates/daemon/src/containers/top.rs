//! `docker top`: the host's `ps`, run with the user's arguments and narrowed to the
//! container's processes (those in its cgroup), which therefore show with their host PIDs,
//! as in docker.

use std::sync::Arc;

use berth_api::types::ContainerTopResponse;

use super::record::Status;
use super::ContainerService;
use crate::error::{EngineError, EngineResult};

/// docker's check: a `key=PID…` column rename is only allowed for the `pid` column, since
/// the PID column is how rows are matched to the container.
fn validate_ps_args(args: &str) -> EngineResult<()> {
    let tokens: Vec<&str> = args.split_whitespace().collect();
    let leading_space = args.starts_with(char::is_whitespace);
    for (i, token) in tokens.iter().enumerate() {
        if i == 0 && !leading_space {
            continue;
        }
        let Some((key, value)) = token.rsplit_once('=') else {
            continue;
        };
        let value = if value.is_empty() {
            tokens.get(i + 1).copied().unwrap_or("")
        } else {
            value
        };
        if value.starts_with("PID") && key != "pid" {
            let value: String = value.chars().take_while(|c| !c.is_whitespace()).collect();
            return Err(EngineError::invalid(format!(
                "specifying \"{key}={value}\" is not allowed"
            )));
        }
    }
    Ok(())
}

/// Keeps the rows of `ps` output whose PID is one of `pids` (and the thread rows, with `-`
/// for a PID, that follow such a row); the last column takes the rest of the line.
fn parse_ps_output(output: &str, pids: &[u32]) -> EngineResult<ContainerTopResponse> {
    let mut lines = output.split('\n');
    let titles: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| EngineError::internal("Couldn't find PID field in ps output"))?;
    let mut processes = Vec::new();
    let mut in_container = false;
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.len() < titles.len() {
            continue;
        }
        let keep = if fields[pid_col] == "-" {
            in_container
        } else {
            let pid: u32 = fields[pid_col].parse().map_err(|e| {
                EngineError::internal(format!("Unexpected pid '{}': {e}", fields[pid_col]))
            })?;
            in_container = pids.contains(&pid);
            in_container
        };
        if keep {
            let last = titles.len() - 1;
            let mut row: Vec<String> = fields[..last].iter().map(|f| f.to_string()).collect();
            row.push(fields[last..].join(" "));
            processes.push(row);
        }
    }
    Ok(ContainerTopResponse { titles, processes })
}

/// Runs the host's `ps` with `args`, asking it for just `pids` first (`-q`); some options
/// cannot be combined with `-q`, so it runs again without it if that fails.
async fn run_ps(args: &[&str], pids: &[u32]) -> EngineResult<String> {
    let list = pids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let ps = |extra: Option<String>| {
        let mut cmd = tokio::process::Command::new("ps");
        cmd.args(args).args(extra).kill_on_drop(true);
        cmd.output()
    };
    let first = ps(Some(format!("-q{list}"))).await;
    if let Ok(out) = &first {
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
    }
    let out = ps(None)
        .await
        .map_err(|e| EngineError::internal(format!("ps: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr.lines().next().unwrap_or("").trim().to_string();
        let why = if why.is_empty() {
            out.status.to_string()
        } else {
            why
        };
        return Err(EngineError::internal(format!("ps: {why}")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl ContainerService {
    pub async fn top(
        self: &Arc<Self>,
        name: &str,
        ps_args: &str,
    ) -> EngineResult<ContainerTopResponse> {
        let ps_args = if ps_args.trim().is_empty() {
            "-ef"
        } else {
            ps_args
        };
        validate_ps_args(ps_args)?;
        let c = self.find(name)?;
        let rec = c.record();
        match rec.state.status {
            Status::Running | Status::Paused => {}
            Status::Restarting => {
                return Err(EngineError::conflict(format!(
                    "Container {} is restarting, wait until the container is running",
                    c.id
                )))
            }
            _ => {
                return Err(EngineError::conflict(format!(
                    "Container {} is not running",
                    c.id
                )))
            }
        }
        let pids = self.cgroup_of(&rec)?.pids()?;
        let args: Vec<&str> = ps_args.split_whitespace().collect();
        let output = run_ps(&args, &pids).await?;
        let top = parse_ps_output(&output, &pids)?;
        self.announce(&rec, "top", &[]);
        Ok(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_the_containers_only() {
        let out = "UID PID PPID C STIME TTY TIME CMD\n\
                   root 10 1 0 10:00 ? 00:00:00 sleep 100\n\
                   root 11 10 0 10:00 ? 00:00:00 sh -c echo hi\n\
                   root 12 1 0 10:00 ? 00:00:00 other\n";
        let top = parse_ps_output(out, &[10, 11]).unwrap();
        assert_eq!(top.titles.len(), 8);
        assert_eq!(top.processes.len(), 2);
        assert_eq!(top.processes[0][1], "10");
        assert_eq!(top.processes[1][7], "sh -c echo hi");
        let threads = "PID LWP CMD\n10 - sleep\n- 10 -\n12 - other\n- 12 -\n";
        let top = parse_ps_output(threads, &[10]).unwrap();
        assert_eq!(
            top.processes.len(),
            2,
            "the thread row of a kept process stays"
        );
        assert!(parse_ps_output("UID CMD\nroot x\n", &[1]).is_err());
    }

    #[test]
    fn pid_column_cannot_be_renamed() {
        assert!(validate_ps_args("-ef").is_ok());
        assert!(validate_ps_args("-o pid=PID,comm").is_ok());
        let e = validate_ps_args("-o user=PID").unwrap_err();
        assert_eq!(e.message, "specifying \"user=PID\" is not allowed");
    }
}
