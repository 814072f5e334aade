//! Debian's docker-registry (distribution 2.8), started on a free loopback port over a
//! private root: a registry nobody here wrote, for Berth's client to pull from and push to.
//! Also a tiny HTTP/1.1 client for putting hand-made content into it.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Distribution {
    pub dir: tempfile::TempDir,
    pub addr: String,
    child: Child,
}

impl Distribution {
    /// Starts a registry; with `user` set, HTTP basic auth from an htpasswd (bcrypt) file.
    pub fn start(user: Option<(&str, &str)>) -> Distribution {
        Distribution::start_on("127.0.0.1", user)
    }

    /// Starts a registry listening on `host` (an address of this machine).
    pub fn start_on(host: &str, user: Option<(&str, &str)>) -> Distribution {
        let dir = tempfile::Builder::new()
            .prefix("berth-distribution-")
            .tempdir()
            .unwrap();
        let port = TcpListener::bind((host, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("{host}:{port}");
        let mut auth = String::new();
        if let Some((u, p)) = user {
            let out = Command::new("htpasswd")
                .args(["-Bbn", u, p])
                .output()
                .unwrap();
            assert!(out.status.success(), "htpasswd failed");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, out.stdout).unwrap();
            auth = format!(
                "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                file.display()
            );
        }
        // Manifests may name foreign layers by URL, as Docker Hub's do (distribution refuses
        // every URL unless told which to allow).
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\nvalidation:\n  manifests:\n    urls:\n      allow:\n        - ^https?://\n{auth}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let r = Distribution { dir, addr, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&r.addr).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        r
    }

    /// Where distribution keeps a blob's bytes.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Uploads a blob monolithically (POST then PUT with the digest).
    pub fn put_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = crate::common::images::sha256(bytes);
        let r = request(
            &self.addr,
            "POST",
            &format!("/v2/{repo}/blobs/uploads/"),
            &[],
            b"",
        );
        assert_eq!(
            r.0,
            202,
            "starting an upload: {}",
            String::from_utf8_lossy(&r.2)
        );
        let location = header(&r.1, "location").unwrap();
        let path = location
            .split_once(&self.addr)
            .map_or(location.as_str(), |(_, p)| p);
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = request(
            &self.addr,
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            bytes,
        );
        assert_eq!(r.0, 201, "uploading: {}", String::from_utf8_lossy(&r.2));
        digest
    }

    /// Pushes a manifest (or index) under `reference`; returns its digest.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let r = request(
            &self.addr,
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("Content-Type", media_type)],
            bytes,
        );
        assert_eq!(
            r.0,
            201,
            "pushing a manifest: {}",
            String::from_utf8_lossy(&r.2)
        );
        crate::common::images::sha256(bytes)
    }

    /// The tags the registry lists for `repo`.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let r = request(
            &self.addr,
            "GET",
            &format!("/v2/{repo}/tags/list"),
            &[],
            b"",
        );
        let v: serde_json::Value = serde_json::from_slice(&r.2).unwrap();
        let mut tags: Vec<String> = v["tags"]
            .as_array()
            .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        tags.sort();
        tags
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// One HTTP/1.1 request (connection closed after): status, headers, body.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let r = crate::common::registry::plain_request(addr, method, path, headers, body);
    (r.status, r.headers, r.body)
}
