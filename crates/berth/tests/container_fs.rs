//! A container's file system through the CLI and the API: `cp` both ways (running and
//! stopped containers, tar streams, owners, symlinks that must stay inside the container,
//! hostile archives), `diff`, `commit` (the image runs and holds the changes), `export`,
//! and the sizes `ps -s` and `inspect -s` report.
#![allow(clippy::unwrap_used)]

mod common;

#[path = "container_fs/api.rs"]
mod api;
#[path = "container_fs/cp.rs"]
mod cp;
#[path = "container_fs/image_ops.rs"]
mod image_ops;

use std::path::Path;

use common::Daemon;

pub use common::eventually;

/// A container that has run `script` and exited.
pub fn ran(d: &Daemon, name: &str, script: &str) {
    d.ok(&["run", "--name", name, "busybox", "sh", "-c", script]);
}

/// A container running `sleep` until the test ends.
pub fn running(d: &Daemon, name: &str) {
    d.ok(&["run", "-d", "--name", name, "busybox", "sleep", "1000"]);
}

pub fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

/// The names in a tar archive, in order.
pub fn names(archive: &[u8]) -> Vec<String> {
    tar::Archive::new(archive)
        .entries()
        .unwrap()
        .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
        .collect()
}

/// A tar of `(name, content)` regular files.
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn mounted(path: &Path) -> bool {
    read("/proc/self/mountinfo").contains(&path.display().to_string())
}

/// The JSON of a path stat header.
pub fn decode_stat(header: &str) -> serde_json::Value {
    let json = base64_decode(header);
    serde_json::from_slice(&json).unwrap()
}

pub fn base64_decode(text: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.trim_end_matches('=').bytes() {
        acc = (acc << 6) | A.iter().position(|&a| a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
