//! Single Dockerfile instructions that change an image's config (CMD, ENV, EXPOSE, …),
//! parsed from one line. `import -c` and `commit -c` take these as "changes".

use std::time::Duration;

use crate::words::{parse_pairs, split_words};

/// How a command is given: JSON (exec) form, or a shell string run with the image's shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `["exe", "arg"]`: run as is.
    Exec(Vec<String>),
    /// `exe arg`: given to the shell as one string.
    Shell(String),
}

impl Command {
    /// The argv this command becomes, wrapping the shell form in `shell` (`/bin/sh -c`).
    pub fn argv(&self, shell: &[String]) -> Vec<String> {
        match self {
            Command::Exec(v) => v.clone(),
            Command::Shell(s) => {
                let mut v = shell.to_vec();
                v.push(s.clone());
                v
            }
        }
    }
}

/// A HEALTHCHECK; unset durations and retries mean the engine's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    /// `None` for `HEALTHCHECK NONE`, which disables an inherited check.
    pub test: Option<Command>,
    /// `--interval`: time between probes.
    pub interval: Option<Duration>,
    /// `--timeout`: how long one probe may take.
    pub timeout: Option<Duration>,
    /// `--start-period`: failures during it do not count.
    pub start_period: Option<Duration>,
    /// `--start-interval`: how often to probe during the start period.
    pub start_interval: Option<Duration>,
    /// `--retries`: consecutive failures before the container is unhealthy.
    pub retries: Option<u32>,
}

/// A change for `import -c` / `commit -c`: an instruction that edits an image's config.
/// (Whole Dockerfiles are parsed by [`crate::dockerfile`], into its own `Instruction`.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// `CMD`.
    Cmd(Command),
    /// `ENTRYPOINT`.
    Entrypoint(Command),
    /// `ENV`, quotes removed.
    Env(Vec<(String, String)>),
    /// `LABEL`, quotes removed.
    Label(Vec<(String, String)>),
    /// Ports normalized to `port/proto`, ranges expanded.
    Expose(Vec<String>),
    /// `VOLUME` paths.
    Volume(Vec<String>),
    /// `WORKDIR`.
    Workdir(String),
    /// `USER`.
    User(String),
    /// `STOPSIGNAL`.
    StopSignal(String),
    /// `ONBUILD` trigger text.
    OnBuild(String),
    /// `HEALTHCHECK`.
    Healthcheck(Healthcheck),
    /// `SHELL`.
    Shell(Vec<String>),
}

/// A change that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// An instruction that is not a config change (RUN, COPY, …).
    #[error("{0} is not a valid change command")]
    NotAChange(String),
    /// A change instruction with bad arguments.
    #[error("{instruction}: {reason}")]
    Invalid {
        /// The instruction's keyword.
        instruction: String,
        /// What is wrong.
        reason: String,
    },
    /// An empty line.
    #[error("empty change")]
    Empty,
}

/// Instructions `import -c` and `commit -c` accept, as docker's.
const CHANGE_COMMANDS: [&str; 11] = [
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "ONBUILD",
    "USER",
    "VOLUME",
    "WORKDIR",
    "STOPSIGNAL",
];

/// Parses one change line, e.g. `CMD ["sh"]` or `ENV A=b`.
pub fn parse_change(line: &str) -> Result<Instruction, ParseError> {
    let line = line.trim();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let name = word.to_ascii_uppercase();
    if !CHANGE_COMMANDS.contains(&name.as_str()) {
        return Err(ParseError::NotAChange(word.to_string()));
    }
    parse_instruction(&name, rest.trim())
}

/// Parses the arguments of instruction `name` (upper case).
pub fn parse_instruction(name: &str, args: &str) -> Result<Instruction, ParseError> {
    let invalid = |reason: String| ParseError::Invalid {
        instruction: name.to_string(),
        reason,
    };
    let need_args = || {
        if args.is_empty() {
            Err(invalid("requires at least one argument".into()))
        } else {
            Ok(())
        }
    };
    Ok(match name {
        "CMD" => Instruction::Cmd(command(args)),
        "ENTRYPOINT" => Instruction::Entrypoint(command(args)),
        "SHELL" => match json_array(args) {
            Some(v) if !v.is_empty() => Instruction::Shell(v),
            _ => return Err(invalid("requires the arguments to be in JSON form".into())),
        },
        "ENV" | "LABEL" => {
            need_args()?;
            let pairs = parse_pairs(args, name).map_err(invalid)?;
            if name == "ENV" {
                Instruction::Env(pairs)
            } else {
                Instruction::Label(pairs)
            }
        }
        "EXPOSE" => {
            need_args()?;
            let mut ports = Vec::new();
            for spec in split_words(args).map_err(invalid)? {
                ports.extend(expand_port(&spec).map_err(invalid)?);
            }
            Instruction::Expose(ports)
        }
        "VOLUME" => {
            need_args()?;
            let vols = match json_array(args) {
                Some(v) => v,
                None => split_words(args).map_err(invalid)?,
            };
            if vols.iter().any(|v| v.trim().is_empty()) {
                return Err(invalid(
                    "volume specified can not be an empty string".into(),
                ));
            }
            Instruction::Volume(vols)
        }
        "WORKDIR" => {
            need_args()?;
            Instruction::Workdir(args.to_string())
        }
        "USER" => {
            need_args()?;
            Instruction::User(args.to_string())
        }
        "STOPSIGNAL" => {
            need_args()?;
            Instruction::StopSignal(args.to_string())
        }
        "ONBUILD" => {
            need_args()?;
            let first = args
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            if matches!(first.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
                return Err(invalid(format!(
                    "{first} isn't allowed as an ONBUILD trigger"
                )));
            }
            Instruction::OnBuild(args.to_string())
        }
        "HEALTHCHECK" => Instruction::Healthcheck(healthcheck(args).map_err(invalid)?),
        other => return Err(ParseError::NotAChange(other.to_string())),
    })
}

/// JSON form when the arguments are a JSON array of strings, shell form otherwise.
fn command(args: &str) -> Command {
    match json_array(args) {
        Some(v) => Command::Exec(v),
        None => Command::Shell(args.to_string()),
    }
}

fn json_array(args: &str) -> Option<Vec<String>> {
    if !args.trim_start().starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(args).ok()
}

/// `80` → `80/tcp`; `8000-8002/udp` → three ports.
pub(crate) fn expand_port(spec: &str) -> Result<Vec<String>, String> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let parse = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("invalid port: {p:?}"))
    };
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let p = parse(ports)?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(format!("invalid port range: {ports}"));
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

fn healthcheck(args: &str) -> Result<Healthcheck, String> {
    let mut rest = args.trim();
    let mut hc = Healthcheck {
        test: None,
        interval: None,
        timeout: None,
        start_period: None,
        start_interval: None,
        retries: None,
    };
    while let Some(flag) = rest.strip_prefix("--") {
        let (word, tail) = flag.split_once(char::is_whitespace).unwrap_or((flag, ""));
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("flag --{word} needs a value"))?;
        match key {
            "interval" => hc.interval = Some(duration(value)?),
            "timeout" => hc.timeout = Some(duration(value)?),
            "start-period" => hc.start_period = Some(duration(value)?),
            "start-interval" => hc.start_interval = Some(duration(value)?),
            "retries" => {
                hc.retries =
                    Some(
                        value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                            format!("--retries must be at least 1, got {value:?}")
                        })?,
                    )
            }
            other => return Err(format!("unknown flag: --{other}")),
        }
        rest = tail.trim_start();
    }
    let (kind, cmd) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    match kind.to_ascii_uppercase().as_str() {
        "NONE" if cmd.trim().is_empty() => Ok(hc),
        "NONE" => Err("HEALTHCHECK NONE takes no arguments".into()),
        "CMD" if !cmd.trim().is_empty() => {
            hc.test = Some(command(cmd.trim()));
            Ok(hc)
        }
        _ => Err("expected NONE or CMD followed by a command".into()),
    }
}

/// A Go-style duration as Dockerfiles write them (`30s`, `1m30s`, `500ms`, `0`).
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}");
    let mut total = Duration::ZERO;
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest == "0" {
        return Ok(total);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let (num, tail) = rest.split_at(split);
        let value: f64 = num.parse().map_err(|_| bad())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let secs = match unit {
            "h" => value * 3600.0,
            "m" => value * 60.0,
            "s" => value,
            "ms" => value / 1e3,
            "us" | "µs" | "μs" => value / 1e6,
            "ns" => value / 1e9,
            _ => return Err(bad()),
        };
        total += Duration::from_secs_f64(secs);
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_in_both_forms() {
        assert_eq!(
            parse_change(r#"CMD ["sh", "-c", "echo hi"]"#).unwrap(),
            Instruction::Cmd(Command::Exec(vec![
                "sh".into(),
                "-c".into(),
                "echo hi".into()
            ]))
        );
        assert_eq!(
            parse_change("cmd echo hi").unwrap(),
            Instruction::Cmd(Command::Shell("echo hi".into()))
        );
        // Not valid JSON: docker falls back to the shell form.
        assert_eq!(
            parse_change("ENTRYPOINT [oops").unwrap(),
            Instruction::Entrypoint(Command::Shell("[oops".into()))
        );
        let sh = vec!["/bin/sh".to_string(), "-c".to_string()];
        assert_eq!(Command::Shell("x".into()).argv(&sh), ["/bin/sh", "-c", "x"]);
    }

    #[test]
    fn env_expose_volume_label() {
        assert_eq!(
            parse_change("ENV A=1 B=\"x y\"").unwrap(),
            Instruction::Env(vec![("A".into(), "1".into()), ("B".into(), "x y".into())])
        );
        assert_eq!(
            parse_change("EXPOSE 80 53/udp 8000-8001").unwrap(),
            Instruction::Expose(vec![
                "80/tcp".into(),
                "53/udp".into(),
                "8000/tcp".into(),
                "8001/tcp".into()
            ])
        );
        assert_eq!(
            parse_change(r#"VOLUME ["/data", "/logs"]"#).unwrap(),
            Instruction::Volume(vec!["/data".into(), "/logs".into()])
        );
        assert_eq!(
            parse_change("VOLUME /a /b").unwrap(),
            Instruction::Volume(vec!["/a".into(), "/b".into()])
        );
        assert_eq!(
            parse_change("LABEL version=1.0").unwrap(),
            Instruction::Label(vec![("version".into(), "1.0".into())])
        );
    }

    #[test]
    fn healthchecks() {
        let hc =
            parse_change("HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://x/").unwrap();
        let Instruction::Healthcheck(hc) = hc else {
            panic!()
        };
        assert_eq!(hc.interval, Some(Duration::from_secs(5)));
        assert_eq!(hc.retries, Some(3));
        assert_eq!(hc.test, Some(Command::Shell("curl -f http://x/".into())));
        let Instruction::Healthcheck(none) = parse_change("HEALTHCHECK NONE").unwrap() else {
            panic!()
        };
        assert!(none.test.is_none());
        assert!(parse_change("HEALTHCHECK --interval=xs CMD x").is_err());
        assert!(parse_change("HEALTHCHECK --bogus=1 CMD x").is_err());
        assert!(parse_change("HEALTHCHECK").is_err());
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(
            parse_change("RUN echo").unwrap_err().to_string(),
            "RUN is not a valid change command"
        );
        assert!(parse_change("").is_err());
        assert!(parse_change("EXPOSE 99999").is_err());
        assert!(parse_change("EXPOSE 80/xyz").is_err());
        assert!(parse_change("ENV").is_err());
        assert!(parse_change("WORKDIR").is_err());
        assert!(parse_change("ONBUILD FROM x").is_err());
        assert!(parse_change("VOLUME [\"\"]").is_err());
    }
}
