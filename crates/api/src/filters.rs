//! The `filters` query parameter of list and prune endpoints: a JSON object from filter name
//! to values. The docker CLI encodes values as `{"name":{"value":true}}`; docker-py and older
//! clients send `{"name":["value"]}`. Both are accepted; the CLI form is what Berth sends.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, Vec<String>>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid filter: {0}")]
pub struct FilterError(pub String);

impl Filters {
    pub fn new() -> Self {
        Filters::default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, name: &str, value: &str) {
        let values = self.0.entry(name.to_string()).or_default();
        if !values.iter().any(|v| v == value) {
            values.push(value.to_string());
        }
    }

    /// Parses a `--filter` argument of the form `name=value`.
    pub fn add_arg(&mut self, arg: &str) -> Result<(), FilterError> {
        let (name, value) = arg.split_once('=').ok_or_else(|| {
            FilterError(format!("bad format of filter (expected name=value): {arg}"))
        })?;
        self.add(name.trim().to_ascii_lowercase().as_str(), value);
        Ok(())
    }

    pub fn get(&self, name: &str) -> &[String] {
        self.0.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Refuses filter names the endpoint does not know, as docker does.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), FilterError> {
        match self.names().find(|n| !allowed.contains(n)) {
            Some(n) => Err(FilterError(format!("invalid filter '{n}'"))),
            None => Ok(()),
        }
    }

    /// The single boolean value of a filter such as `dangling`, if given.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, FilterError> {
        match self.get(name) {
            [] => Ok(None),
            [v] => match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(FilterError(format!(
                    "invalid filter '{name}={v}': expected true or false"
                ))),
            },
            _ => Err(FilterError(format!(
                "invalid filter '{name}': more than one value"
            ))),
        }
    }

    pub fn to_json(&self) -> String {
        let obj: serde_json::Map<String, Value> = self
            .0
            .iter()
            .map(|(k, vs)| {
                let set = vs.iter().map(|v| (v.clone(), Value::Bool(true))).collect();
                (k.clone(), Value::Object(set))
            })
            .collect();
        Value::Object(obj).to_string()
    }

    pub fn from_json(s: &str) -> Result<Filters, FilterError> {
        let mut out = Filters::new();
        if s.trim().is_empty() {
            return Ok(out);
        }
        let value: Value = serde_json::from_str(s)
            .map_err(|e| FilterError(format!("invalid filters JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(FilterError("filters must be a JSON object".into()));
        };
        for (name, values) in map {
            match values {
                Value::Array(items) => {
                    for item in items {
                        match item {
                            Value::String(s) => out.add(&name, &s),
                            other => {
                                return Err(FilterError(format!(
                                    "invalid value {other} for filter '{name}'"
                                )))
                            }
                        }
                    }
                }
                Value::Object(set) => {
                    for (v, enabled) in set {
                        if enabled.as_bool().unwrap_or(false) {
                            out.add(&name, &v);
                        }
                    }
                }
                other => {
                    return Err(FilterError(format!(
                        "invalid value {other} for filter '{name}'"
                    )))
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_cli_encoding() {
        let mut f = Filters::new();
        f.add_arg("dangling=true").unwrap();
        f.add_arg("label=a=b").unwrap();
        let json = f.to_json();
        assert_eq!(json, r#"{"dangling":{"true":true},"label":{"a=b":true}}"#);
        assert_eq!(Filters::from_json(&json).unwrap(), f);
    }

    #[test]
    fn accepts_the_list_encoding() {
        let f = Filters::from_json(r#"{"reference":["busybox*","alpine"]}"#).unwrap();
        assert_eq!(f.get("reference"), ["busybox*", "alpine"]);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(Filters::from_json("[1]").is_err());
        assert!(Filters::from_json("{").is_err());
        assert!(Filters::from_json(r#"{"a":5}"#).is_err());
        assert!(Filters::new().add_arg("novalue").is_err());
        let f = Filters::from_json(r#"{"dangling":["maybe"]}"#).unwrap();
        assert!(f.bool("dangling").is_err());
        assert!(f.validate(&["label"]).is_err());
    }
}
