//! Query string parameters, read the way docker's server reads them.

use berth_api::filters::Filters;

use crate::error::{EngineError, EngineResult};

#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// A terminal size from `h` and `w` (`…/resize`).
    pub fn terminal_size(&self) -> EngineResult<(u16, u16)> {
        let dim = |k: &str| {
            self.get(k)
                .and_then(|v| v.parse::<u16>().ok())
                .ok_or_else(|| {
                    crate::error::EngineError::invalid(format!("invalid or missing {k}"))
                })
        };
        Ok((dim("h")?, dim("w")?))
    }

    pub fn parse(query: Option<&str>) -> Query {
        let pairs = query
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Query { pairs }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn string(&self, key: &str) -> String {
        self.get(key).unwrap_or_default().to_string()
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// docker's boolean parameters: absent, empty, `0`, `no`, `false` and `none` are false.
    pub fn bool(&self, key: &str) -> bool {
        match self.get(key) {
            None => false,
            Some(v) => !matches!(
                v.to_ascii_lowercase().as_str(),
                "" | "0" | "no" | "false" | "none"
            ),
        }
    }

    pub fn filters(&self) -> EngineResult<Filters> {
        Filters::from_json(self.get("filters").unwrap_or_default())
            .map_err(|e| EngineError::invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_booleans_and_repeated_keys() {
        let q = Query::parse(Some(
            "all=1&digests=false&names=a&names=b%2Fc&x=&force=True",
        ));
        assert!(q.bool("all"));
        assert!(!q.bool("digests"));
        assert!(!q.bool("x"));
        assert!(!q.bool("missing"));
        assert!(q.bool("force"));
        assert_eq!(q.all("names"), ["a", "b/c"]);
    }

    #[test]
    fn bad_filters_are_an_invalid_argument() {
        let q = Query::parse(Some("filters=%7Bnope"));
        assert!(q.filters().is_err());
    }
}
