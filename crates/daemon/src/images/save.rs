//! `GET /images/get`: one or more images as a tar archive that both `docker load` (it
//! reads `manifest.json`) and OCI tools (they read `index.json`) accept. Layers are written
//! uncompressed, so their digests are the diff IDs, as both formats expect.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};

use berth_store::model::media_type;
use berth_store::reference::{parse_any, ImageRef, Reference};
use berth_store::{ContentStore, Digest, ImageRecord};
use serde_json::json;

use super::ImageService;
use crate::error::{EngineError, EngineResult};

/// What an archive will hold: each image once, with the names it is saved under.
pub struct SavePlan {
    images: Vec<(ImageRecord, Vec<Reference>)>,
}

impl ImageService {
    /// Resolves every name first, so that a bad name fails the request before any byte of
    /// the archive is sent.
    pub fn plan_save(&self, names: &[String]) -> EngineResult<SavePlan> {
        if names.is_empty() {
            return Err(EngineError::invalid("no images given to save"));
        }
        let mut plan: Vec<(ImageRecord, Vec<Reference>)> = Vec::new();
        for name in names {
            for (id, tag) in self.save_targets(name)? {
                let record = self.record(&id)?;
                match plan.iter_mut().find(|(r, _)| r.id == id) {
                    Some((_, tags)) => tags.extend(tag.filter(|t| !tags.contains(t))),
                    None => plan.push((record, tag.into_iter().collect())),
                }
            }
        }
        Ok(SavePlan { images: plan })
    }

    /// The images a name stands for: a repository without a tag means all its tags.
    fn save_targets(&self, name: &str) -> EngineResult<Vec<(Digest, Option<Reference>)>> {
        if let Ok(ImageRef::Named(r)) = parse_any(name) {
            if r.tag().is_none() && r.digest().is_none() {
                let view = self.store.view();
                let all: Vec<(Digest, Option<Reference>)> = view
                    .references()
                    .filter(|(t, _)| t.digest().is_none() && t.name() == r.name())
                    .map(|(t, id)| (id.clone(), Some(t.clone())))
                    .collect();
                drop(view);
                if !all.is_empty() {
                    return Ok(all);
                }
            }
            let id = self.resolve_for_use(name)?;
            let tag = super::with_default_tag(&r);
            let named = tag.digest().is_none() && self.store.view().lookup(&tag) == Some(&id);
            return Ok(vec![(id, named.then_some(tag))]);
        }
        Ok(vec![(self.resolve_for_use(name)?, None)])
    }

    /// Writes the archive of `plan` to `out`.
    pub fn write_save(&self, plan: &SavePlan, out: impl Write) -> EngineResult<()> {
        let mut tar = tar::Builder::new(out);
        tar.mode(tar::HeaderMode::Deterministic);
        let io = |e: io::Error| EngineError::internal(format!("writing the archive: {e}"));
        for dir in ["blobs/", "blobs/sha256/"] {
            let mut h = header(tar::EntryType::Directory, 0);
            h.set_mode(0o755);
            tar.append_data(&mut h, dir, io::empty()).map_err(io)?;
        }
        let mut written: HashSet<Digest> = HashSet::new();
        let mut index = Vec::new();
        let mut docker_manifest = Vec::new();
        for (record, tags) in &plan.images {
            if written.insert(record.id.clone()) {
                let size = self.content.info(&record.id)?.size;
                let file = self.open_blob(&record.id)?;
                append_blob(&mut tar, &record.id, size, file).map_err(io)?;
            }
            for layer in &record.layers {
                if written.insert(layer.diff_id.clone()) {
                    let tar_stream = self.layer_tar(layer)?;
                    append_blob(&mut tar, &layer.diff_id, layer.tar_size, tar_stream)
                        .map_err(io)?;
                }
            }
            let config_size = self.content.info(&record.id)?.size;
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": media_type::OCI_MANIFEST,
                "config": {
                    "mediaType": media_type::OCI_CONFIG,
                    "digest": record.id.to_string(),
                    "size": config_size,
                },
                "layers": record.layers.iter().map(|l| json!({
                    "mediaType": media_type::OCI_LAYER,
                    "digest": l.diff_id.to_string(),
                    "size": l.tar_size,
                })).collect::<Vec<_>>(),
            });
            let manifest_bytes =
                serde_json::to_vec(&manifest).map_err(|e| EngineError::internal(e.to_string()))?;
            let manifest_digest = Digest::sha256(&manifest_bytes);
            if written.insert(manifest_digest.clone()) {
                append_blob(
                    &mut tar,
                    &manifest_digest,
                    manifest_bytes.len() as u64,
                    manifest_bytes.as_slice(),
                )
                .map_err(io)?;
            }
            let descriptor = |annotations: Option<serde_json::Value>| {
                let mut d = json!({
                    "mediaType": media_type::OCI_MANIFEST,
                    "digest": manifest_digest.to_string(),
                    "size": manifest_bytes.len(),
                });
                if let Some(a) = annotations {
                    d["annotations"] = a;
                }
                d
            };
            if tags.is_empty() {
                index.push(descriptor(None));
            }
            for t in tags {
                index.push(descriptor(Some(json!({
                    "io.containerd.image.name": t.to_string(),
                    "org.opencontainers.image.ref.name": t.tag().unwrap_or("latest"),
                }))));
            }
            docker_manifest.push(json!({
                "Config": blob_path(&record.id),
                "RepoTags": if tags.is_empty() { serde_json::Value::Null } else {
                    tags.iter().map(|t| t.familiar_string()).collect::<Vec<_>>().into()
                },
                "Layers": record.layers.iter().map(|l| blob_path(&l.diff_id)).collect::<Vec<_>>(),
            }));
        }
        let index = json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_INDEX,
            "manifests": index,
        });
        for (name, value) in [
            ("index.json", index),
            ("manifest.json", serde_json::Value::Array(docker_manifest)),
            ("oci-layout", json!({"imageLayoutVersion": "1.0.0"})),
        ] {
            let bytes =
                serde_json::to_vec(&value).map_err(|e| EngineError::internal(e.to_string()))?;
            let mut h = header(tar::EntryType::Regular, bytes.len() as u64);
            tar.append_data(&mut h, name, bytes.as_slice())
                .map_err(io)?;
        }
        tar.into_inner().map_err(io)?.flush().map_err(io)?;
        for (record, _) in &plan.images {
            self.announce("save", &record.id, &record.id.to_string());
        }
        Ok(())
    }

    fn open_blob(&self, d: &Digest) -> EngineResult<BufReader<File>> {
        let file = File::open(self.content.blob_path(d))
            .map_err(|e| EngineError::internal(format!("opening blob {d}: {e}")))?;
        Ok(BufReader::with_capacity(1 << 20, file))
    }

    /// A layer as its uncompressed tar stream.
    fn layer_tar(&self, layer: &berth_store::LayerRecord) -> EngineResult<Box<dyn Read + Send>> {
        let file = self.open_blob(&layer.blob.digest)?;
        if layer.blob.digest == layer.diff_id {
            return Ok(Box::new(file));
        }
        berth_snapshot::decompress(file)
            .map_err(|e| EngineError::internal(format!("layer {}: {e}", layer.blob.digest)))
    }
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().as_str(), d.hex())
}

fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// Appends a blob entry, failing if the source does not yield exactly `size` bytes (which
/// would corrupt the archive).
fn append_blob<W: Write>(
    tar: &mut tar::Builder<W>,
    d: &Digest,
    size: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut h = header(tar::EntryType::Regular, size);
    let mut counted = ExactReader {
        inner: data,
        left: size,
    };
    tar.append_data(&mut h, blob_path(d), &mut counted)?;
    if counted.left != 0 {
        return Err(io::Error::other(format!(
            "blob {d} is shorter than recorded"
        )));
    }
    Ok(())
}

/// Yields at most `left` bytes, and errors if the source has more.
struct ExactReader<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other("blob is longer than recorded")),
            };
        }
        let max = buf.len().min(self.left as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}
