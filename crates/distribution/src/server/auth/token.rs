//! Docker's token authentication: the client gets a JWT from the token service named in the
//! challenge, and the registry checks its signature (RS256 or ES256, with the configured
//! public key or certificate), issuer, audience (the service), expiry, and the `access`
//! claim: `[{"type":"repository","name":…,"actions":["pull","push",…]}]`, plus
//! `registry:catalog:*` for the catalog.

use std::path::PathBuf;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::{read_file, AuthError};
use crate::server::action::Access;
use crate::server::errors::{ApiError, Code};

/// Clock difference tolerated between the token service and the registry.
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub realm: String,
    pub issuer: String,
    pub service: String,
    pub key: PathBuf,
}

pub struct TokenAuth {
    realm: String,
    service: String,
    key: DecodingKey,
    validation: Validation,
}

/// One grant of the `access` claim.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub actions: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Claims {
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub access: Vec<AccessEntry>,
}

impl TokenAuth {
    pub fn load(config: &TokenConfig) -> Result<TokenAuth, AuthError> {
        let pem = read_file(&config.key)?;
        let (key, algorithm) = if let Ok(k) = DecodingKey::from_ec_pem(&pem) {
            (k, Algorithm::ES256)
        } else if let Ok(k) = DecodingKey::from_rsa_pem(&pem) {
            (k, Algorithm::RS256)
        } else {
            return Err(AuthError::Key {
                path: config.key.display().to_string(),
            });
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.service]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Ok(TokenAuth {
            realm: config.realm.clone(),
            service: config.service.clone(),
            key,
            validation,
        })
    }

    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map(|t| t.claims)
    }

    /// A refusal telling the client where to get a token for `scope`: 401 when it has none
    /// (or a bad one), 403 when its token is valid but grants too little (RFC 6750 §3.1).
    pub fn challenge(&self, status: u16, scope: Option<&str>, error: Option<&str>) -> ApiError {
        let mut value = format!(
            "Bearer realm=\"{}\",service=\"{}\"",
            self.realm, self.service
        );
        if let Some(s) = scope {
            value.push_str(&format!(",scope=\"{s}\""));
        }
        if let Some(e) = error {
            value.push_str(&format!(",error=\"{e}\""));
        }
        let (code, message) = if status == 403 {
            (Code::Denied, "requested access to the resource is denied")
        } else {
            (Code::Unauthorized, "authentication required")
        };
        ApiError::new(status, code, message)
            .with_detail(scope.map_or(
                serde_json::Value::Null,
                |s| serde_json::json!({ "scope": s }),
            ))
            .with_header("WWW-Authenticate", value)
    }
}

/// Whether the granted entries cover `access`.
pub fn allows(entries: &[AccessEntry], access: &Access<'_>) -> bool {
    let granted = |kind: &str, name: &str, action: &str| {
        entries.iter().any(|e| {
            e.kind == kind && e.name == name && e.actions.iter().any(|a| a == action || a == "*")
        })
    };
    match access {
        Access::Login => true,
        Access::Catalog => granted("registry", "catalog", "*"),
        Access::Repo { name, actions } => actions
            .iter()
            .all(|a| granted("repository", name.as_str(), a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::names::RepoName;

    fn entry(kind: &str, name: &str, actions: &[&str]) -> AccessEntry {
        AccessEntry {
            kind: kind.into(),
            name: name.into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn grants_cover_what_they_name() {
        let n = RepoName::parse("a/b").unwrap();
        let push = Access::Repo {
            name: &n,
            actions: &["pull", "push"],
        };
        let pull = Access::Repo {
            name: &n,
            actions: &["pull"],
        };
        let only_pull = [entry("repository", "a/b", &["pull"])];
        assert!(allows(&only_pull, &pull));
        assert!(!allows(&only_pull, &push));
        assert!(allows(&[entry("repository", "a/b", &["*"])], &push));
        assert!(!allows(&[entry("repository", "a/c", &["*"])], &pull));
        assert!(!allows(&only_pull, &Access::Catalog));
        assert!(allows(
            &[entry("registry", "catalog", &["*"])],
            &Access::Catalog
        ));
        assert!(allows(&[], &Access::Login));
    }
}
