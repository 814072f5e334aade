//! Test images, made here from Debian's busybox-static: layers as tars, and archives in
//! the two formats `load` reads (docker save's and an OCI image layout).
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

pub const BUSYBOX: &str = "/bin/busybox";

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn hex_of(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

/// A tar layer from `(path, content, mode)` files; paths ending in `/` are directories and
/// `-> target` contents make symlinks.
pub fn layer(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content, mode) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(*mode);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        if let Some(dir) = path.strip_suffix('/') {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            b.append_data(&mut h, dir, std::io::empty()).unwrap();
        } else if let Some(target) = std::str::from_utf8(content)
            .ok()
            .and_then(|c| c.strip_prefix("-> "))
        {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, path, target).unwrap();
        } else {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(content.len() as u64);
            b.append_data(&mut h, path, *content).unwrap();
        }
    }
    b.into_inner().unwrap()
}

/// The busybox applets the test images link.
pub const APPLETS: [&str; 34] = [
    "sh", "ls", "cat", "echo", "true", "false", "sleep", "id", "head", "tr", "dd", "hostname",
    "mount", "grep", "ps", "wc", "kill", "touch", "mkdir", "env", "stat", "printf", "pwd",
    "umount", "unshare", "yes", "seq", "test", "expr", "date", "rm", "cp", "nsenter", "whoami",
];

/// A root filesystem layer with busybox as /bin/sh and friends.
pub fn busybox_layer() -> Vec<u8> {
    let busybox = std::fs::read(BUSYBOX).unwrap_or_else(|e| {
        panic!("{BUSYBOX}: {e} (install busybox-static: scripts/install-deps)")
    });
    let mut entries: Vec<(&str, &[u8], u32)> = vec![
        ("bin/", b"", 0o755),
        ("bin/busybox", &busybox, 0o755),
        ("etc/", b"", 0o755),
        (
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
            0o644,
        ),
        ("etc/group", b"root:x:0:\nnogroup:x:65534:\n", 0o644),
        ("tmp/", b"", 0o1777),
    ];
    for app in APPLETS {
        let path: &'static str = Box::leak(format!("bin/{app}").into_boxed_str());
        entries.push((path, b"-> busybox", 0o777));
    }
    layer(&entries)
}

/// An image: its layers and config.
#[derive(Clone)]
pub struct Image {
    pub layers: Vec<Vec<u8>>,
    pub config: Value,
    pub tags: Vec<String>,
}

impl Image {
    /// An image of `layers` running `cmd`, with a history entry per layer.
    pub fn new(layers: Vec<Vec<u8>>, cmd: &[&str]) -> Image {
        let diff_ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
        let mut history: Vec<Value> = (0..layers.len())
            .map(|i| json!({"created": "2024-01-01T00:00:00Z", "created_by": format!("/bin/sh -c #(nop) ADD layer{i} /")}))
            .collect();
        history.push(json!({"created": "2024-01-01T00:00:01Z", "created_by": format!("CMD {cmd:?}"), "empty_layer": true}));
        Image {
            config: json!({
                "architecture": host_arch(),
                "os": "linux",
                "created": "2024-01-01T00:00:01Z",
                "config": {"Env": ["PATH=/bin"], "Cmd": cmd, "Labels": {"org.test": "yes"}},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
                "history": history,
            }),
            layers,
            tags: Vec::new(),
        }
    }

    pub fn busybox() -> Image {
        Image::new(vec![busybox_layer()], &["sh"])
    }

    pub fn tagged(mut self, tag: &str) -> Image {
        self.tags.push(tag.to_string());
        self
    }

    pub fn config_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.config).unwrap()
    }

    /// The image ID docker computes: the digest of the config.
    pub fn id(&self) -> String {
        sha256(&self.config_bytes())
    }
}

pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    }
}

/// Appends a regular file entry.
pub fn append_file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, data).unwrap();
}

/// The archive `docker save` (20.10) writes: `<id>.json`, `<layer>/layer.tar`,
/// `manifest.json`, `repositories`.
pub fn docker_archive(images: &[Image]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut manifest = Vec::new();
    for img in images {
        let config = img.config_bytes();
        let config_name = format!("{}.json", hex_of(&sha256(&config)));
        append_file(&mut b, &config_name, &config);
        let mut layer_paths = Vec::new();
        for l in &img.layers {
            let dir = hex_of(&sha256(l)).to_string();
            let path = format!("{dir}/layer.tar");
            append_file(&mut b, &format!("{dir}/VERSION"), b"1.0");
            append_file(&mut b, &path, l);
            layer_paths.push(path);
        }
        manifest.push(json!({"Config": config_name, "RepoTags": img.tags, "Layers": layer_paths}));
    }
    append_file(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    b.into_inner().unwrap()
}

/// An OCI image layout in a tar, layers gzip-compressed when `gzip`.
pub fn oci_layout(images: &[Image], gzip: bool) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    append_file(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    let mut index = Vec::new();
    for img in images {
        let config = img.config_bytes();
        append_file(
            &mut b,
            &format!("blobs/sha256/{}", hex_of(&sha256(&config))),
            &config,
        );
        let mut descriptors = Vec::new();
        for l in &img.layers {
            let (blob, mt) = if gzip {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(l).unwrap();
                (
                    e.finish().unwrap(),
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                )
            } else {
                (l.clone(), "application/vnd.oci.image.layer.v1.tar")
            };
            append_file(
                &mut b,
                &format!("blobs/sha256/{}", hex_of(&sha256(&blob))),
                &blob,
            );
            descriptors.push(json!({"mediaType": mt, "digest": sha256(&blob), "size": blob.len()}));
        }
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
            "layers": descriptors,
        }))
        .unwrap();
        append_file(
            &mut b,
            &format!("blobs/sha256/{}", hex_of(&sha256(&manifest))),
            &manifest,
        );
        let desc = |name: Option<&String>| {
            let mut d = json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha256(&manifest), "size": manifest.len()});
            if let Some(n) = name {
                d["annotations"] = json!({"io.containerd.image.name": n, "org.opencontainers.image.ref.name": "latest"});
            }
            d
        };
        if img.tags.is_empty() {
            index.push(desc(None));
        }
        for t in &img.tags {
            index.push(desc(Some(&format!("docker.io/library/{t}"))));
        }
    }
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index});
    append_file(&mut b, "index.json", &serde_json::to_vec(&index).unwrap());
    b.into_inner().unwrap()
}

/// A tar holding one entry whose name is written verbatim (bypassing the tar crate's own
/// refusal of `..` and absolute paths), for hostile-archive tests.
pub fn raw_entry(name: &str, kind: tar::EntryType, link: &str, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// Raw entries joined into a tar with the end-of-archive blocks.
pub fn raw_tar(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.concat();
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// The content of the entry at `path` in a tar archive.
pub fn archive_entry(archive: &[u8], path: &str) -> Option<Vec<u8>> {
    let mut ar = tar::Archive::new(archive);
    let mut entry = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().to_str() == Some(path))?;
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut v).unwrap();
    Some(v)
}
