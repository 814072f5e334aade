//! The `hello-world` image built into Berth, so that a fresh machine can run its first
//! container with no network: a static program of about a kilobyte that prints a greeting,
//! generated here byte for byte (so the image ID is the same on every machine).

use berth_store::content::Expected;
use berth_store::model::{media_type, History, ImageConfig, RootFs, RunConfig};
use berth_store::reference::{parse_any, ImageRef, Reference};
use berth_store::{BlobRef, Digest, LayerRecord};
use chrono::{DateTime, Utc};

use super::register::NewImage;
use super::ImageService;
use crate::error::{EngineError, EngineResult};

const GREETING: &str = "
Hello from Berth!
This message shows that your installation appears to be working correctly.

To generate this message, Berth took the following steps:
 1. The berth client contacted the berth daemon.
 2. The berth daemon found the \"hello-world\" image built into Berth itself,
    so no registry was needed.
 3. The berth daemon created a new container from that image which runs the
    executable that produced the output you are currently reading.
 4. The berth daemon streamed that output to the berth client, which sent it
    to your terminal.

To try something more ambitious, build an image from a Dockerfile with
 $ berth build -t myapp .
or bring one in with `berth load` or `berth pull`, then `berth run` it.
";

/// When the image says it was created (fixed, so its ID never changes).
const CREATED: &str = "2026-01-01T00:00:00Z";
const LOAD_ADDRESS: u64 = 0x40_0000;
const ELF_HEADER: usize = 64;
const PROGRAM_HEADER: usize = 56;

/// Whether `name` means the built-in image (`hello-world`, `hello-world:latest`, or the
/// fully qualified forms).
pub fn names_hello_world(name: &str) -> bool {
    match parse_any(name) {
        Ok(ImageRef::Named(r)) => {
            r.name() == "docker.io/library/hello-world"
                && r.digest().is_none()
                && r.tag().is_none_or(|t| t == "latest")
        }
        _ => false,
    }
}

/// Machine code that writes the greeting to stdout and exits 0, for this host; the
/// greeting follows the code directly.
fn program_code(message_len: u32) -> Option<(u16, Vec<u8>)> {
    let len = message_len.to_le_bytes();
    match std::env::consts::ARCH {
        "x86_64" => {
            let mut code = vec![
                0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (write)
                0xbf, 0x01, 0x00, 0x00, 0x00, // mov edi, 1 (stdout)
                0x48, 0x8d, 0x35, 0x10, 0x00, 0x00, 0x00, // lea rsi, [rip+16] (the greeting)
                0xba, // mov edx, len
            ];
            code.extend_from_slice(&len);
            code.extend_from_slice(&[
                0x0f, 0x05, // syscall
                0xb8, 0x3c, 0x00, 0x00, 0x00, // mov eax, 60 (exit)
                0x31, 0xff, // xor edi, edi
                0x0f, 0x05, // syscall
            ]);
            Some((0x3e, code))
        }
        "aarch64" if message_len < 1 << 16 => {
            let words: [u32; 8] = [
                0xd280_0020,                      // mov x0, #1
                0x1000_00e1,                      // adr x1, .+28 (the greeting)
                0xd280_0002 | (message_len << 5), // mov x2, #len
                0xd280_0808,                      // mov x8, #64 (write)
                0xd400_0001,                      // svc #0
                0xd280_0000,                      // mov x0, #0
                0xd280_0ba8,                      // mov x8, #93 (exit)
                0xd400_0001,                      // svc #0
            ];
            Some((0xb7, words.iter().flat_map(|w| w.to_le_bytes()).collect()))
        }
        _ => None,
    }
}

/// A complete static ELF executable printing the greeting.
pub fn hello_program() -> Option<Vec<u8>> {
    let message = GREETING.trim_start_matches('\n').as_bytes();
    let (machine, code) = program_code(message.len() as u32)?;
    let total = (ELF_HEADER + PROGRAM_HEADER + code.len() + message.len()) as u64;
    let entry = LOAD_ADDRESS + (ELF_HEADER + PROGRAM_HEADER) as u64;
    let mut elf = Vec::with_capacity(total as usize);
    elf.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]); // 64-bit, little endian, v1
    elf.extend_from_slice(&[0; 8]);
    elf.extend_from_slice(&2u16.to_le_bytes()); // executable
    elf.extend_from_slice(&machine.to_le_bytes());
    elf.extend_from_slice(&1u32.to_le_bytes());
    elf.extend_from_slice(&entry.to_le_bytes());
    elf.extend_from_slice(&(ELF_HEADER as u64).to_le_bytes()); // program headers follow
    elf.extend_from_slice(&0u64.to_le_bytes()); // no section headers
    elf.extend_from_slice(&0u32.to_le_bytes());
    for half in [ELF_HEADER as u16, PROGRAM_HEADER as u16, 1, 64, 0, 0] {
        elf.extend_from_slice(&half.to_le_bytes());
    }
    elf.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    elf.extend_from_slice(&5u32.to_le_bytes()); // read + execute
    elf.extend_from_slice(&0u64.to_le_bytes());
    elf.extend_from_slice(&LOAD_ADDRESS.to_le_bytes());
    elf.extend_from_slice(&LOAD_ADDRESS.to_le_bytes());
    elf.extend_from_slice(&total.to_le_bytes());
    elf.extend_from_slice(&total.to_le_bytes());
    elf.extend_from_slice(&0x1000u64.to_le_bytes());
    elf.extend_from_slice(&code);
    elf.extend_from_slice(message);
    Some(elf)
}

fn created() -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(CREATED)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The image's one layer (a tar holding `/hello`) and its config, both deterministic.
pub fn hello_image() -> EngineResult<(Vec<u8>, ImageConfig)> {
    let unavailable = || {
        EngineError::not_found(format!(
            "the built-in hello-world image is not available for {}",
            std::env::consts::ARCH
        ))
    };
    let program = hello_program().ok_or_else(unavailable)?;
    let created = created().ok_or_else(unavailable)?;
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(program.len() as u64);
    h.set_mode(0o755);
    h.set_mtime(created.timestamp() as u64);
    h.set_uid(0);
    h.set_gid(0);
    tar.append_data(&mut h, "hello", program.as_slice())
        .map_err(|e| EngineError::internal(e.to_string()))?;
    let layer = tar
        .into_inner()
        .map_err(|e| EngineError::internal(e.to_string()))?;
    let config = ImageConfig {
        created: Some(created),
        architecture: berth_store::model::host_architecture().into(),
        os: "linux".into(),
        config: Some(RunConfig {
            env: Some(vec![
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            ]),
            cmd: Some(vec!["/hello".into()]),
            ..Default::default()
        }),
        rootfs: RootFs::layers(vec![Digest::sha256(&layer)]),
        history: vec![
            History {
                created: Some(created),
                created_by: "COPY hello / # berth built-in".into(),
                ..Default::default()
            },
            History {
                created: Some(created),
                created_by: "CMD [\"/hello\"]".into(),
                empty_layer: true,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    Ok((layer, config))
}

/// Registers the built-in image as `hello-world:latest`.
pub fn register_hello_world(svc: &ImageService) -> EngineResult<()> {
    let (layer, config) = hello_image()?;
    let diff_id = Digest::sha256(&layer);
    let mut lease = svc.lease();
    let mut buf = vec![0u8; 64 * 1024];
    let blob = svc.ingest_leased(
        &mut layer.as_slice(),
        &Expected::digest(&diff_id),
        &mut lease,
        &mut buf,
    )?;
    lease.layer(&diff_id);
    let info = svc
        .layers
        .unpack(&mut layer.as_slice(), Some(&diff_id.to_string()))
        .map_err(|e| EngineError::internal(format!("unpacking the built-in image: {e}")))?;
    let config_bytes =
        serde_json::to_vec(&config).map_err(|e| EngineError::internal(e.to_string()))?;
    let config_blob = svc.ingest_leased(
        &mut config_bytes.as_slice(),
        &Expected::default(),
        &mut lease,
        &mut buf,
    )?;
    let name = Reference::parse_docker_ref("hello-world:latest")?;
    svc.register(vec![NewImage {
        id: config_blob.digest,
        config,
        manifest: None,
        layers: vec![LayerRecord {
            diff_id,
            blob: BlobRef {
                digest: blob.digest,
                size: blob.size,
                media_type: media_type::OCI_LAYER.into(),
            },
            tar_size: layer.len() as u64,
            unpacked_size: info.size,
        }],
        names: vec![name],
        parent: None,
    }])?;
    tracing::info!("registered the built-in hello-world image");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_runs_and_greets() {
        let Some(program) = hello_program() else {
            return;
        };
        assert!(program.len() < 4096, "{} bytes", program.len());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hello");
        std::fs::write(&path, &program).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = std::process::Command::new(&path).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("Hello from Berth!\n"), "{text}");
        assert!(text.ends_with("then `berth run` it.\n"));
    }

    #[test]
    fn the_image_is_deterministic() {
        let (a, ca) = hello_image().unwrap();
        let (b, cb) = hello_image().unwrap();
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_vec(&ca).unwrap(),
            serde_json::to_vec(&cb).unwrap()
        );
    }

    #[test]
    fn recognises_its_names() {
        for n in [
            "hello-world",
            "hello-world:latest",
            "docker.io/library/hello-world",
        ] {
            assert!(names_hello_world(n), "{n}");
        }
        for n in ["hello-world:1", "me/hello-world", "busybox"] {
            assert!(!names_hello_world(n), "{n}");
        }
    }
}
