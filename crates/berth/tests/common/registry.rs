//! The registry harness: a `berth registry serve` child on 127.0.0.1 (a free port, a
//! temporary root), a small blocking HTTP/1.1 client for it (plain or over rustls), and
//! helpers that push small OCI images blob by blob. The child is stopped and the root removed
//! when the harness drops, whether or not the test passed.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_rustls::rustls;

use super::http::read_response;
pub use super::http::Response;
use super::images::sha256;
use super::BERTH;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// What a request sends after its headers.
pub enum Body<'a> {
    Bytes(&'a [u8]),
    /// A `Content-Length` of this many bytes, then nothing: the server must answer first.
    Declared(u64),
    /// Chunked transfer of `chunk`-sized chunks, up to `max` bytes or until the server stops
    /// reading, from a thread of its own while the answer is read.
    Endless {
        chunk: usize,
        max: u64,
    },
}

pub struct Registry {
    pub dir: tempfile::TempDir,
    pub addr: String,
    /// The `Authorization` sent by [`Registry::req`].
    pub auth: Option<String>,
    /// The address it listens on (any port).
    host: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    child: Option<Child>,
}

/// A fresh directory for a registry's root and the files a test prepares beside it.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("berth-registry-test-")
        .tempdir()
        .unwrap()
}

impl Registry {
    pub fn start(args: &[&str]) -> Registry {
        Registry::start_in(tempdir(), args)
    }

    /// Starts a registry rooted in `dir/root` with extra `args`.
    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Registry {
        Registry::start_on_in("127.0.0.1", dir, args)
    }

    /// Starts a registry listening on `host` (an address of this machine), rooted in
    /// `dir/root`, with extra `args`.
    pub fn start_on_in(host: &str, dir: tempfile::TempDir, args: &[&str]) -> Registry {
        let mut reg = Registry {
            dir,
            addr: String::new(),
            auth: None,
            host: host.to_string(),
            tls: None,
            child: None,
        };
        reg.launch(args);
        reg
    }

    pub fn launch(&mut self, args: &[&str]) {
        let mut child = Command::new(BERTH)
            .args([
                "registry",
                "serve",
                "--addr",
                &format!("{}:0", self.host),
                "--root",
            ])
            .arg(self.root())
            .args(args)
            .env("BERTH_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = self.log_path();
        let (tx, rx) = std::sync::mpsc::channel();
        // Drains the child's stderr into the log for as long as it runs, handing over the
        // address it printed.
        std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(file, "{line}");
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
            }
        });
        self.child = Some(child);
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => self.addr = addr,
            Err(_) => panic!("the registry did not come up:\n{}", self.log()),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("registry.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Speaks HTTPS, trusting the PEM certificate at `ca`.
    pub fn trust(&mut self, ca: &Path) {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&std::fs::read(ca).unwrap()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        self.tls = Some(Arc::new(config));
    }

    /// SIGTERM, then SIGKILL if it lingers.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    pub fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Body) -> Response {
        self.req_as(self.auth.as_deref(), method, path, headers, body)
    }

    /// A request with `auth` as its `Authorization` (or none).
    pub fn req_as(
        &self,
        auth: Option<&str>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Response {
        let tcp = TcpStream::connect(&self.addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if let Some(a) = auth {
            head.push_str(&format!("Authorization: {a}\r\n"));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        match &body {
            Body::Bytes(b) => head.push_str(&format!("Content-Length: {}\r\n", b.len())),
            Body::Declared(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
            Body::Endless { .. } => head.push_str("Transfer-Encoding: chunked\r\n"),
        }
        head.push_str("\r\n");
        match &self.tls {
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
                let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
                let mut s = rustls::StreamOwned::new(conn, tcp);
                s.write_all(head.as_bytes()).unwrap();
                if let Body::Bytes(b) = body {
                    s.write_all(b).unwrap();
                }
                s.flush().unwrap();
                read_response(s, method)
            }
            None => {
                let mut s = tcp;
                s.write_all(head.as_bytes()).unwrap();
                match body {
                    // A server that refuses early may close before the body is all sent.
                    Body::Bytes(b) => drop(s.write_all(b)),
                    Body::Declared(_) => {}
                    Body::Endless { chunk, max } => {
                        let mut w = s.try_clone().unwrap();
                        std::thread::spawn(move || {
                            let data = vec![b'x'; chunk];
                            let mut sent = 0u64;
                            while sent < max {
                                let frame =
                                    [format!("{chunk:x}\r\n").as_bytes(), &data, b"\r\n"].concat();
                                if w.write_all(&frame).is_err() {
                                    return;
                                }
                                sent += chunk as u64;
                            }
                            let _ = w.write_all(b"0\r\n\r\n");
                        });
                    }
                }
                read_response(s, method)
            }
        }
    }

    pub fn get(&self, path: &str) -> Response {
        self.req("GET", path, &[], Body::Bytes(b""))
    }

    pub fn head(&self, path: &str) -> Response {
        self.req("HEAD", path, &[], Body::Bytes(b""))
    }

    /// Pushes a blob in one POST; returns its digest.
    pub fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let d = sha256(bytes);
        let r = self.req(
            "POST",
            &format!("/v2/{repo}/blobs/uploads/?digest={d}"),
            &[("Content-Type", "application/octet-stream")],
            Body::Bytes(bytes),
        );
        assert_eq!(r.status, 201, "pushing a blob to {repo}: {}", r.text());
        d
    }

    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Response {
        self.req(
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("Content-Type", media_type)],
            Body::Bytes(bytes),
        )
    }

    /// Pushes a small image (its layer and config made from `seed`) and tags it.
    pub fn push_image(&self, repo: &str, tag: &str, seed: &str) -> Pushed {
        let layer = format!("layer of {seed}\n").repeat(64).into_bytes();
        let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]}, "config": {"Labels": {"seed": seed}}})).unwrap();
        let layers = vec![self.push_blob(repo, &layer)];
        let config_digest = self.push_blob(repo, &config);
        let manifest = manifest_bytes(&config, &[layer]);
        let r = self.put_manifest(repo, tag, OCI_MANIFEST, &manifest);
        assert_eq!(r.status, 201, "pushing {repo}:{tag}: {}", r.text());
        Pushed {
            digest: sha256(&manifest),
            manifest,
            config: config_digest,
            layers,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An image pushed by [`Registry::push_image`].
pub struct Pushed {
    pub manifest: Vec<u8>,
    pub digest: String,
    pub config: String,
    pub layers: Vec<String>,
}

pub fn descriptor(media_type: &str, bytes: &[u8]) -> serde_json::Value {
    json!({"mediaType": media_type, "digest": sha256(bytes), "size": bytes.len()})
}

/// An OCI image manifest for `config` and `layers`.
pub fn manifest_bytes(config: &[u8], layers: &[Vec<u8>]) -> Vec<u8> {
    let layers: Vec<_> = layers.iter().map(|l| descriptor(OCI_LAYER, l)).collect();
    serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, config), "layers": layers})).unwrap()
}

/// Every value of a header that may repeat.
pub fn all_headers<'a>(r: &'a Response, name: &str) -> Vec<&'a str> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The first error code of an error body.
pub fn code(r: &Response) -> String {
    r.json()["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// One plain-HTTP request to any registry at `addr`, its body sent whole.
pub fn plain_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    read_response(s, method)
}

/// `openssl …` in `dir`, which must succeed.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An ES256 token-signing key made with openssl in `dir`: the key to mint with, and the
/// path of its public half (`public.pem`, what `--token-key` takes).
pub fn es256_key(dir: &Path) -> (jsonwebtoken::EncodingKey, PathBuf) {
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec.pem",
        ],
    );
    openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            "ec.pem",
            "-out",
            "private.pem",
        ],
    );
    openssl(
        dir,
        &[
            "pkey",
            "-in",
            "private.pem",
            "-pubout",
            "-out",
            "public.pem",
        ],
    );
    let pem = std::fs::read(dir.join("private.pem")).unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_pem(&pem).unwrap();
    (key, dir.join("public.pem"))
}

/// A test CA and a certificate it signed for 127.0.0.1, in `dir`: (`ca.pem`, `cert.pem`,
/// `key.pem`).
pub fn test_certificate(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    test_certificate_for(dir, "127.0.0.1")
}

/// A test CA and a certificate it signed for the IP address `ip`, in `dir`.
pub fn test_certificate_for(dir: &Path, ip: &str) -> (PathBuf, PathBuf, PathBuf) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Berth Test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.csr",
            "-subj",
            &format!("/CN={ip}"),
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        format!("subjectAltName=IP:{ip}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "cert.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "cert.pem",
        ],
    );
    (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}
