//! Applying Dockerfile-style changes (`import -c`, `commit -c`) to an image's run config.

use std::collections::BTreeMap;

use berth_build::{parse_change, Instruction};
use berth_store::model::{Empty, HealthConfig, RunConfig};

use crate::error::{EngineError, EngineResult};

const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// Parses every change first, so that one bad change leaves the config untouched.
pub fn parse_changes(changes: &[String]) -> EngineResult<Vec<Instruction>> {
    changes
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| parse_change(c).map_err(|e| EngineError::invalid(e.to_string())))
        .collect()
}

pub fn apply(config: &mut RunConfig, instructions: Vec<Instruction>) {
    for i in instructions {
        let shell: Vec<String> = config
            .shell
            .clone()
            .unwrap_or_else(|| DEFAULT_SHELL.iter().map(|s| s.to_string()).collect());
        match i {
            Instruction::Cmd(c) => config.cmd = Some(c.argv(&shell)),
            Instruction::Entrypoint(c) => {
                config.entrypoint = Some(c.argv(&shell));
                // As in docker, a new ENTRYPOINT drops a CMD that came before it.
                config.cmd = None;
            }
            Instruction::Env(pairs) => {
                let env = config.env.get_or_insert_with(Vec::new);
                for (k, v) in pairs {
                    let entry = format!("{k}={v}");
                    match env
                        .iter_mut()
                        .find(|e| e.split('=').next() == Some(k.as_str()))
                    {
                        Some(slot) => *slot = entry,
                        None => env.push(entry),
                    }
                }
            }
            Instruction::Label(pairs) => {
                let labels = config.labels.get_or_insert_with(BTreeMap::new);
                labels.extend(pairs);
            }
            Instruction::Expose(ports) => {
                let set = config.exposed_ports.get_or_insert_with(BTreeMap::new);
                set.extend(ports.into_iter().map(|p| (p, Empty {})));
            }
            Instruction::Volume(vols) => {
                let set = config.volumes.get_or_insert_with(BTreeMap::new);
                set.extend(vols.into_iter().map(|v| (v, Empty {})));
            }
            Instruction::Workdir(dir) => {
                config.working_dir = if dir.starts_with('/') || config.working_dir.is_empty() {
                    dir
                } else {
                    format!("{}/{dir}", config.working_dir.trim_end_matches('/'))
                };
            }
            Instruction::User(u) => config.user = u,
            Instruction::StopSignal(s) => config.stop_signal = s,
            // An empty trigger is the builder's way of saying the inherited triggers ran and
            // the new image does not keep them.
            Instruction::OnBuild(t) if t.is_empty() => config.on_build = None,
            Instruction::OnBuild(t) => config.on_build.get_or_insert_with(Vec::new).push(t),
            Instruction::Shell(s) => config.shell = Some(s),
            Instruction::Healthcheck(h) => {
                let ns = |d: Option<std::time::Duration>| d.map_or(0, |d| d.as_nanos() as i64);
                config.healthcheck = Some(HealthConfig {
                    test: Some(match &h.test {
                        None => vec!["NONE".into()],
                        Some(berth_build::Command::Exec(v)) => std::iter::once("CMD".to_string())
                            .chain(v.iter().cloned())
                            .collect(),
                        Some(berth_build::Command::Shell(s)) => vec!["CMD-SHELL".into(), s.clone()],
                    }),
                    interval: ns(h.interval),
                    timeout: ns(h.timeout),
                    start_period: ns(h.start_period),
                    retries: h.retries.map_or(0, i64::from),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(lines: &[&str]) -> RunConfig {
        let mut c = RunConfig::default();
        let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        apply(&mut c, parse_changes(&lines).unwrap());
        c
    }

    #[test]
    fn applies_docker_semantics() {
        let c = changed(&[
            "ENV A=1",
            "ENV A=2 B=3",
            "CMD echo hi",
            "WORKDIR /app",
            "WORKDIR sub",
            "EXPOSE 80",
        ]);
        assert_eq!(c.env.unwrap(), ["A=2", "B=3"]);
        assert_eq!(c.cmd.unwrap(), ["/bin/sh", "-c", "echo hi"]);
        assert_eq!(c.working_dir, "/app/sub");
        assert!(c.exposed_ports.unwrap().contains_key("80/tcp"));
        let c = changed(&["HEALTHCHECK --interval=1s CMD [\"true\"]"]);
        let h = c.healthcheck.unwrap();
        assert_eq!(h.test.unwrap(), ["CMD", "true"]);
        assert_eq!(h.interval, 1_000_000_000);
    }

    #[test]
    fn one_bad_change_refuses_them_all() {
        let lines = vec!["ENV A=1".to_string(), "RUN rm -rf /".to_string()];
        assert!(parse_changes(&lines).is_err());
    }
}
