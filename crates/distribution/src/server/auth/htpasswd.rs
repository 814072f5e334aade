//! HTTP Basic credentials checked against an htpasswd file of bcrypt entries (what
//! `htpasswd -B` writes; distribution accepts no other kind either). A pair that verified
//! once is remembered by its hash, so a client that sends its password with every request
//! pays bcrypt once, not per request.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use super::{read_file, AuthError};

/// How many verified pairs are remembered before the memory is cleared.
const REMEMBERED: usize = 1024;

/// The cost `htpasswd -B` uses by default.
const DUMMY_COST: u32 = 5;

pub struct Htpasswd {
    users: Arc<HashMap<String, String>>,
    /// A hash of nothing anyone knows, checked for unknown users so that a missing user and
    /// a wrong password take the same time.
    dummy: String,
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
}

impl Htpasswd {
    pub fn load(path: &Path) -> Result<Htpasswd, AuthError> {
        let text = String::from_utf8_lossy(&read_file(path)?).into_owned();
        Htpasswd::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Htpasswd, AuthError> {
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: &str| AuthError::Htpasswd {
                path: origin.to_string(),
                line: i + 1,
                reason: reason.to_string(),
            };
            let (user, hash) = line
                .split_once(':')
                .ok_or_else(|| err("expected user:hash"))?;
            if !["$2y$", "$2a$", "$2b$"].iter().any(|p| hash.starts_with(p)) {
                return Err(err(
                    "only bcrypt entries are supported (make them with htpasswd -B)",
                ));
            }
            users.insert(user.to_string(), hash.to_string());
        }
        Ok(Htpasswd {
            users: Arc::new(users),
            dummy: bcrypt::hash(hex::encode(Sha256::digest(origin.as_bytes())), DUMMY_COST)
                .unwrap_or_default(),
            verified: Arc::new(Mutex::new(HashSet::new())),
        })
    }

    pub async fn verify(&self, user: &str, password: &str) -> bool {
        let hash = self.users.get(user).cloned();
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .chain_update([0])
            .chain_update(hash.as_deref().unwrap_or("").as_bytes())
            .finalize()
            .into();
        if hash.is_some() && self.verified.lock().is_ok_and(|v| v.contains(&key)) {
            return true;
        }
        let password = password.to_string();
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy.clone());
        // bcrypt is slow by design: off the async threads.
        let ok =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false)
                && known;
        if ok {
            if let Ok(mut v) = self.verified.lock() {
                if v.len() >= REMEMBERED {
                    v.clear();
                }
                v.insert(key);
            }
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bcrypt_entries_verify() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let h = Htpasswd::parse(&format!("# users\nalice:{hash}\n\n"), "test").unwrap();
        assert!(h.verify("alice", "s3cret").await);
        assert!(h.verify("alice", "s3cret").await, "remembered");
        assert!(!h.verify("alice", "wrong").await);
        assert!(!h.verify("bob", "s3cret").await);
    }

    #[test]
    fn other_hash_kinds_are_refused() {
        let e = Htpasswd::parse("a:$apr1$xyz$abc\n", "f").err().unwrap();
        assert!(e.to_string().contains("f:1"), "{e}");
        assert!(Htpasswd::parse("nocolon\n", "f").is_err());
    }
}
