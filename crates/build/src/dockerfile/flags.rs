//! Instruction flags (`--from=…`, `--link`, `--mount=…` repeated), checked against the set
//! each instruction accepts, with BuildKit's error messages.

use std::collections::BTreeMap;

use super::suggest::did_you_mean;

/// What kind of value a flag takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `--link`, `--link=true`, `--link=false`.
    Bool,
    /// `--from=x`, once.
    Str,
    /// `--mount=…`, any number of times.
    Strings,
}

/// The flags an instruction was given, by name.
#[derive(Default)]
pub(super) struct Flags {
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Flags {
    /// Parses `raw` (`--name[=value]` words) against `spec`.
    pub(super) fn parse(raw: &[String], spec: &[(&'static str, Kind)]) -> Result<Self, String> {
        let mut flags = Flags::default();
        for arg in raw {
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {arg}"));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(&(key, kind)) = spec.iter().find(|(n, _)| *n == name) else {
                let names: Vec<&str> = spec.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "unknown flag: {name}{}",
                    did_you_mean(name, &names, "--")
                ));
            };
            let slot = flags.values.entry(key).or_default();
            if !slot.is_empty() && kind != Kind::Strings {
                return Err(format!("duplicate flag specified: {name}"));
            }
            let value = match (kind, value) {
                (Kind::Bool, None) => "true".to_string(),
                (Kind::Bool, Some("")) => return Err(format!("missing a value on flag: {name}")),
                (Kind::Bool, Some(v)) => match v.to_ascii_lowercase().as_str() {
                    "true" => "true".to_string(),
                    "false" => "false".to_string(),
                    _ => return Err(format!("expecting boolean value for flag {name}, not: {v}")),
                },
                (_, None) => return Err(format!("missing a value on flag: {name}")),
                (_, Some(v)) => v.to_string(),
            };
            slot.push(value);
        }
        Ok(flags)
    }

    /// A string flag's value, when given.
    pub(super) fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.first()).cloned()
    }

    /// A boolean flag: given without `=false`.
    pub(super) fn bool(&self, name: &str) -> bool {
        self.string(name).as_deref() == Some("true")
    }

    /// Every value of a repeatable flag, in order.
    pub(super) fn strings(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }
}
