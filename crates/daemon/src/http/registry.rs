//! What the Engine API carries for registries: the credentials in `X-Registry-Auth` (pull,
//! push) and `X-Registry-Config` (build: one per registry).

use berth_api::types::AuthConfig;
use berth_distribution::client::Credentials;
use http::HeaderMap;

use crate::error::{EngineError, EngineResult};

/// The client's credentials from an `AuthConfig`.
pub fn from_auth_config(config: AuthConfig) -> EngineResult<Credentials> {
    let (username, password) = config
        .user_password()
        .map_err(|e| EngineError::invalid(format!("invalid auth in the credentials: {e}")))?;
    Ok(Credentials {
        username,
        password,
        identity_token: config.identity_token,
        registry_token: config.registry_token,
    })
}

/// The credentials a request carries in `X-Registry-Auth`; none when it carries none.
pub fn credentials(headers: &HeaderMap) -> EngineResult<Credentials> {
    let Some(value) = headers.get("x-registry-auth") else {
        return Ok(Credentials::default());
    };
    let text = value
        .to_str()
        .map_err(|_| EngineError::invalid("X-Registry-Auth is not text"))?;
    let config = AuthConfig::from_header(text)
        .map_err(|e| EngineError::invalid(format!("invalid X-Registry-Auth header: {e}")))?;
    from_auth_config(config)
}

/// The credentials of `X-Registry-Config` (base64url JSON: registry address → AuthConfig),
/// keyed by registry as references name them (`docker.io`, `host:port`).
pub fn registry_config(
    headers: &HeaderMap,
) -> EngineResult<std::collections::HashMap<String, Credentials>> {
    let Some(value) = headers.get("x-registry-config") else {
        return Ok(Default::default());
    };
    let text = value
        .to_str()
        .map_err(|_| EngineError::invalid("X-Registry-Config is not text"))?
        .trim();
    if text.is_empty() {
        return Ok(Default::default());
    }
    let json = berth_api::base64::decode_either(text)
        .map_err(|e| EngineError::invalid(format!("invalid X-Registry-Config header: {e}")))?;
    let map: std::collections::HashMap<String, AuthConfig> = serde_json::from_slice(&json)
        .map_err(|e| EngineError::invalid(format!("invalid X-Registry-Config header: {e}")))?;
    map.into_iter()
        .map(|(address, config)| Ok((registry_of_address(&address), from_auth_config(config)?)))
        .collect()
}

/// The registry a login's `serveraddress` names (`https://index.docker.io/v1/` is Docker Hub).
pub fn registry_of_address(address: &str) -> String {
    let bare = address
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let bare = bare.split('/').next().unwrap_or(bare);
    match bare {
        "" | "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_registries() {
        assert_eq!(
            registry_of_address("https://index.docker.io/v1/"),
            "docker.io"
        );
        assert_eq!(registry_of_address("localhost:5000"), "localhost:5000");
        assert_eq!(
            registry_of_address("http://r.example:5000/"),
            "r.example:5000"
        );
    }

    #[test]
    fn build_credentials_are_read_per_registry() {
        let json = r#"{"https://index.docker.io/v1/":{"username":"a","password":"b"},"r:5000":{"auth":"dTpw"}}"#;
        let mut h = HeaderMap::new();
        h.insert(
            "x-registry-config",
            berth_api::base64::encode(json.as_bytes()).parse().unwrap(),
        );
        let map = registry_config(&h).unwrap();
        assert_eq!(map["docker.io"].username, "a");
        assert_eq!(map["r:5000"].username, "u");
        assert_eq!(map["r:5000"].password, "p");
    }
}
