//! Registry credentials on disk: Berth's `config.json` (in `$BERTH_CONFIG`, else
//! `~/.berth`), in docker's format — `{"auths": {"<registry>": {"auth": base64(user:pass)}}}`
//! — so either tool's file works for the other. When Berth's file has no entry for a
//! registry, docker's own (`$DOCKER_CONFIG`, else `~/.docker`) is read. Written with
//! mode 0600 by write-temp-then-rename, so a crash never leaves half a file.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use berth_api::types::AuthConfig;
use serde_json::{Map, Value};

use crate::error::{CliError, CliResult};

/// The key docker uses for Docker Hub in `auths`.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// Berth's config file.
pub fn berth_config() -> Option<PathBuf> {
    std::env::var_os("BERTH_CONFIG")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".berth")))
        .map(|d| d.join("config.json"))
}

fn docker_config() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".docker")))
        .map(|d| d.join("config.json"))
}

/// The `auths` key for a registry (docker's for Docker Hub).
pub fn key_for(registry: &str) -> String {
    let bare = registry
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let bare = bare.strip_suffix("/v1").unwrap_or(bare);
    match bare {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_KEY.to_string(),
        other => other.to_string(),
    }
}

fn read(path: &PathBuf) -> CliResult<Map<String, Value>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| CliError::general(format!("reading {}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(CliError::general(format!(
            "reading {}: {e}",
            path.display()
        ))),
    }
}

fn entry(config: &Map<String, Value>, key: &str) -> Option<AuthConfig> {
    let auths = config.get("auths")?.as_object()?;
    let found = auths.get(key).or_else(|| {
        // Entries are sometimes written with a scheme or a trailing path.
        auths
            .iter()
            .find(|(k, _)| key_for(k) == key)
            .map(|(_, v)| v)
    })?;
    let mut auth: AuthConfig = serde_json::from_value(found.clone()).ok()?;
    let (user, password) = auth.user_password().ok()?;
    if user.is_empty() && auth.identity_token.is_empty() {
        return None;
    }
    auth.username = user;
    auth.password = password;
    auth.auth.clear();
    auth.server_address = key.to_string();
    Some(auth)
}

/// The stored credentials for `registry`, from Berth's file, else docker's.
pub fn lookup(registry: &str) -> Option<AuthConfig> {
    let key = key_for(registry);
    [berth_config(), docker_config()]
        .into_iter()
        .flatten()
        .find_map(|path| read(&path).ok().and_then(|c| entry(&c, &key)))
}

/// Every stored credential, by registry key (Berth's entries over docker's), for a build's
/// base images.
pub fn all() -> BTreeMap<String, AuthConfig> {
    let mut out = BTreeMap::new();
    for path in [docker_config(), berth_config()].into_iter().flatten() {
        let Ok(config) = read(&path) else { continue };
        let keys: Vec<String> = config
            .get("auths")
            .and_then(Value::as_object)
            .map(|a| a.keys().map(|k| key_for(k)).collect())
            .unwrap_or_default();
        for key in keys {
            if let Some(auth) = entry(&config, &key) {
                out.insert(key, auth);
            }
        }
    }
    out
}

/// Records credentials for `registry` in Berth's file.
pub fn store(registry: &str, auth: &AuthConfig) -> CliResult<PathBuf> {
    let path =
        berth_config().ok_or_else(|| CliError::general("no home directory for the config file"))?;
    let mut config = read(&path)?;
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(auths) = auths.as_object_mut() else {
        return Err(CliError::general(format!(
            "{}: \"auths\" is not an object",
            path.display()
        )));
    };
    let mut fields = BTreeMap::new();
    if auth.identity_token.is_empty() {
        let raw = format!("{}:{}", auth.username, auth.password);
        fields.insert(
            "auth",
            Value::String(berth_api::base64::encode(raw.as_bytes())),
        );
    } else {
        let raw = format!("{}:", auth.username);
        fields.insert(
            "auth",
            Value::String(berth_api::base64::encode(raw.as_bytes())),
        );
        fields.insert("identitytoken", Value::String(auth.identity_token.clone()));
    }
    auths.insert(
        key_for(registry),
        serde_json::to_value(fields).unwrap_or_default(),
    );
    write(&path, &config)?;
    Ok(path)
}

/// Forgets the credentials for `registry`; whether there were any.
pub fn remove(registry: &str) -> CliResult<bool> {
    let Some(path) = berth_config() else {
        return Ok(false);
    };
    let mut config = read(&path)?;
    let key = key_for(registry);
    let removed = config
        .get_mut("auths")
        .and_then(Value::as_object_mut)
        .map(|auths| {
            let before = auths.len();
            auths.retain(|k, _| key_for(k) != key);
            auths.len() != before
        })
        .unwrap_or(false);
    if removed {
        write(&path, &config)?;
    }
    Ok(removed)
}

fn write(path: &PathBuf, config: &Map<String, Value>) -> CliResult {
    let dir = path
        .parent()
        .ok_or_else(|| CliError::general(format!("{}: no directory", path.display())))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::general(format!("creating {}: {e}", dir.display())))?;
    let temp = dir.join(format!(".config.json.{}", std::process::id()));
    let bytes = serde_json::to_vec_pretty(config).unwrap_or_default();
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut f| {
            f.write_all(&bytes)?;
            f.write_all(b"\n")?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(CliError::general(format!(
            "writing {}: {e}",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_docker_s() {
        assert_eq!(key_for("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(key_for("https://index.docker.io/v1/"), DOCKER_HUB_KEY);
        assert_eq!(key_for("https://r.example:5000/"), "r.example:5000");
    }

    #[test]
    fn entries_decode_from_auth() {
        let config: Map<String, Value> = serde_json::from_str(&format!(
            r#"{{"auths":{{"http://r:5000":{{"auth":"{}"}}}}}}"#,
            berth_api::base64::encode(b"bob:pw")
        ))
        .unwrap();
        let a = entry(&config, "r:5000").unwrap();
        assert_eq!((a.username.as_str(), a.password.as_str()), ("bob", "pw"));
        assert!(entry(&config, "other").is_none());
    }
}
