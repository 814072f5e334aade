//! Who may do what: no auth, HTTP Basic against an htpasswd file, or docker's bearer-token
//! scheme. Each request's [`Access`] is checked here, before any handler runs; a refusal
//! carries the challenge (`WWW-Authenticate`) that tells a client how to authenticate for
//! exactly the scope the request needed.

mod htpasswd;
mod token;

use std::path::Path;

use super::action::Access;
use super::errors::{ApiError, Code};
use super::names::RepoName;

pub use htpasswd::Htpasswd;
pub use token::{TokenAuth, TokenConfig};

const BASIC_REALM: &str = "berth-registry";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Htpasswd {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("{path}: not a PEM RSA or EC (P-256) public key or certificate")]
    Key { path: String },
}

pub fn read_file(path: &Path) -> Result<Vec<u8>, AuthError> {
    std::fs::read(path).map_err(|source| AuthError::Read {
        path: path.display().to_string(),
        source,
    })
}

pub enum Authenticator {
    Open,
    Basic(Htpasswd),
    Token(Box<TokenAuth>),
}

/// Who a request is from, and what it may do.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: Option<String>,
    grants: Grants,
}

#[derive(Debug, Clone)]
enum Grants {
    Everything,
    Scoped(Vec<token::AccessEntry>),
}

impl Identity {
    pub fn allows(&self, access: &Access<'_>) -> bool {
        match &self.grants {
            Grants::Everything => true,
            Grants::Scoped(entries) => token::allows(entries, access),
        }
    }

    /// Whether it may pull from `repo` (a cross-repository mount's source).
    pub fn may_pull(&self, repo: &RepoName) -> bool {
        self.allows(&Access::Repo {
            name: repo,
            actions: &["pull"],
        })
    }
}

/// The `scope` a token must grant for `access`, as docker's token service spells it.
fn scope(access: &Access<'_>) -> Option<String> {
    match access {
        Access::Login => None,
        Access::Catalog => Some("registry:catalog:*".to_string()),
        Access::Repo { name, actions } => Some(format!("repository:{name}:{}", actions.join(","))),
    }
}

impl Authenticator {
    /// Checks `authorization` (the request's header) against what `access` needs.
    pub async fn check(
        &self,
        authorization: Option<&str>,
        access: &Access<'_>,
    ) -> Result<Identity, ApiError> {
        match self {
            Authenticator::Open => Ok(Identity {
                user: None,
                grants: Grants::Everything,
            }),
            Authenticator::Basic(htpasswd) => {
                let creds = authorization.and_then(basic_credentials);
                match creds {
                    Some((user, pass)) if htpasswd.verify(&user, &pass).await => Ok(Identity {
                        user: Some(user),
                        grants: Grants::Everything,
                    }),
                    _ => Err(
                        ApiError::new(401, Code::Unauthorized, "authentication required")
                            .with_header(
                                "WWW-Authenticate",
                                format!("Basic realm=\"{BASIC_REALM}\",charset=\"UTF-8\""),
                            ),
                    ),
                }
            }
            Authenticator::Token(tokens) => {
                let bearer = authorization.and_then(|a| {
                    a.strip_prefix("Bearer ")
                        .or_else(|| a.strip_prefix("bearer "))
                });
                let scope = scope(access);
                let claims = match bearer.map(|t| tokens.verify(t.trim())) {
                    Some(Ok(c)) => c,
                    Some(Err(why)) => {
                        tracing::debug!(reason = %why, "bearer token refused");
                        return Err(tokens.challenge(401, scope.as_deref(), Some("invalid_token")));
                    }
                    None => return Err(tokens.challenge(401, scope.as_deref(), None)),
                };
                let identity = Identity {
                    user: claims.sub.clone().filter(|s| !s.is_empty()),
                    grants: Grants::Scoped(claims.access),
                };
                if identity.allows(access) {
                    Ok(identity)
                } else {
                    Err(tokens.challenge(403, scope.as_deref(), Some("insufficient_scope")))
                }
            }
        }
    }
}

/// `Basic base64(user:password)` → (user, password).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let (scheme, value) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_parse() {
        assert_eq!(
            basic_credentials("Basic dXNlcjpwYTpzcw=="),
            Some(("user".into(), "pa:ss".into()))
        );
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
    }

    #[test]
    fn scopes_are_spelled_as_docker_does() {
        let n = RepoName::parse("a/b").unwrap();
        let a = Access::Repo {
            name: &n,
            actions: &["pull", "push"],
        };
        assert_eq!(scope(&a).unwrap(), "repository:a/b:pull,push");
        assert_eq!(scope(&Access::Catalog).unwrap(), "registry:catalog:*");
        assert_eq!(scope(&Access::Login), None);
    }
}
