//! Registry credentials as the Engine API carries them: `AuthConfig` (the body of
//! `POST /auth`, and base64url JSON in the `X-Registry-Auth` header of pull and push).

use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// `base64(username:password)`, as config.json stores it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(
        default,
        rename = "serveraddress",
        skip_serializing_if = "String::is_empty"
    )]
    pub server_address: String,
    #[serde(
        default,
        rename = "identitytoken",
        skip_serializing_if = "String::is_empty"
    )]
    pub identity_token: String,
    #[serde(
        default,
        rename = "registrytoken",
        skip_serializing_if = "String::is_empty"
    )]
    pub registry_token: String,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are never printed.
        f.debug_struct("AuthConfig")
            .field("username", &self.username)
            .field("server_address", &self.server_address)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// The `X-Registry-Auth` header value: URL-safe base64 of the JSON.
    pub fn to_header(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        crate::base64::encode_url_safe(&json)
    }

    /// Decodes an `X-Registry-Auth` value (URL-safe or standard base64 of the JSON).
    pub fn from_header(text: &str) -> Result<AuthConfig, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(AuthConfig::default());
        }
        let json = crate::base64::decode_either(text)?;
        serde_json::from_slice(&json).map_err(|e| e.to_string())
    }

    /// The user name and password, from the fields or from `auth`.
    pub fn user_password(&self) -> Result<(String, String), String> {
        if !self.username.is_empty() || self.auth.is_empty() {
            return Ok((self.username.clone(), self.password.clone()));
        }
        let raw = crate::base64::decode(&self.auth)?;
        let raw = String::from_utf8_lossy(&raw);
        let (u, p) = raw.split_once(':').unwrap_or((&raw, ""));
        Ok((u.to_string(), p.to_string()))
    }
}

/// The answer of `POST /auth`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResponse {
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(
        rename = "IdentityToken",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub identity_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_secrets_stay_hidden() {
        let a = AuthConfig {
            username: "u?>".into(),
            password: "p~~?".into(),
            server_address: "r:5000".into(),
            ..Default::default()
        };
        let h = a.to_header();
        assert!(!h.contains('+') && !h.contains('/'));
        assert_eq!(AuthConfig::from_header(&h).unwrap(), a);
        assert!(!format!("{a:?}").contains("p~~"));
        let b = AuthConfig {
            auth: crate::base64::encode(b"alice:s3:cret"),
            ..Default::default()
        };
        assert_eq!(
            b.user_password().unwrap(),
            ("alice".to_string(), "s3:cret".to_string())
        );
        assert_eq!(
            AuthConfig::from_header("e30=").unwrap(),
            AuthConfig::default()
        );
        assert!(AuthConfig::from_header("!!").is_err());
    }
}
