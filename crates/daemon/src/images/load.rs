//! `POST /images/load`: images from a `docker save` archive or an OCI image layout.
//!
//! The archive is read once, each entry staged into the content store as it streams past
//! (digest-named blobs verified on the way). Then its index says which entries are configs
//! and layers; the layers are unpacked in parallel and checked against the config's diff
//! IDs; and only then are the images recorded and named, in one transaction. A failure at
//! any point records nothing, and the lease's release collects what was staged.

use std::collections::HashMap;

use berth_api::types::JsonMessage;
use berth_store::model::{media_type, ImageConfig};
use berth_store::reference::Reference;
use berth_store::{BlobInfo, BlobRef, Digest, LayerRecord};
use serde::Deserialize;

use super::archive::StagedArchive;
use super::register::NewImage;
use super::unpack::{LayerJob, Progress};
use super::{ImageService, Lease};
use crate::error::{EngineError, EngineResult};

/// One image an archive describes, before its content is checked.
struct ImageSpec {
    config: BlobInfo,
    manifest: Option<BlobRef>,
    layers: Vec<(BlobInfo, String)>,
    names: Vec<Reference>,
}

/// An entry of a docker-save `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";

impl ImageService {
    /// Loads every image in the archive; returns the lines docker prints for it.
    pub fn load(
        &self,
        reader: impl std::io::Read + Send,
        progress: Progress<'_>,
    ) -> EngineResult<Vec<String>> {
        let mut lease = self.lease();
        let started = std::time::Instant::now();
        let staged = StagedArchive::read(self, reader, &mut lease, progress)?;
        let staged_at = started.elapsed();
        let specs = if staged.contains("manifest.json") {
            self.docker_archive_specs(&staged, &mut lease)?
        } else if staged.contains("index.json") {
            self.oci_layout_specs(&staged, &mut lease)?
        } else {
            return Err(EngineError::invalid(
                "invalid image archive: it has neither manifest.json (docker save) nor index.json (OCI layout)",
            ));
        };
        if specs.is_empty() {
            return Err(EngineError::invalid("the archive describes no images"));
        }
        let mut configs = Vec::new();
        let mut jobs = Vec::new();
        for spec in &specs {
            let config = self.config_of(&spec.config)?;
            if config.rootfs.diff_ids.len() != spec.layers.len() {
                return Err(EngineError::invalid(format!(
                    "image {} has {} layers but its config lists {} diff IDs",
                    spec.config.digest,
                    spec.layers.len(),
                    config.rootfs.diff_ids.len()
                )));
            }
            for ((blob, _), diff_id) in spec.layers.iter().zip(&config.rootfs.diff_ids) {
                jobs.push(LayerJob {
                    diff_id: diff_id.clone(),
                    blob: blob.clone(),
                });
            }
            configs.push(config);
        }
        let sizes = self.unpack_layers(
            jobs,
            &staged.unpacked,
            &mut lease,
            progress,
            "Loading layer",
        )?;
        let unpacked_at = started.elapsed();

        let mut lines = Vec::new();
        let mut images = Vec::new();
        for (spec, config) in specs.into_iter().zip(configs) {
            let layers = spec
                .layers
                .iter()
                .zip(&config.rootfs.diff_ids)
                .map(|((blob, mt), diff_id)| {
                    let s = sizes[diff_id];
                    LayerRecord {
                        diff_id: diff_id.clone(),
                        blob: BlobRef {
                            digest: blob.digest.clone(),
                            size: blob.size,
                            media_type: mt.clone(),
                        },
                        tar_size: s.tar_size,
                        unpacked_size: s.unpacked_size,
                    }
                })
                .collect();
            if spec.names.is_empty() {
                lines.push(format!("Loaded image ID: {}", spec.config.digest));
            }
            for n in &spec.names {
                lines.push(format!("Loaded image: {}", n.familiar_string()));
            }
            images.push(NewImage {
                id: spec.config.digest.clone(),
                config,
                manifest: spec.manifest,
                layers,
                names: spec.names,
                parent: None,
            });
        }
        let loaded: Vec<_> = images.iter().map(|i| i.id.clone()).collect();
        let notes = self.register(images)?;
        for id in &loaded {
            self.announce("load", id, &id.to_string());
        }
        tracing::debug!(?staged_at, ?unpacked_at, registered_at = ?started.elapsed(), "load timings");
        drop(lease);
        Ok(notes.into_iter().chain(lines).collect())
    }

    pub(super) fn config_of(&self, blob: &BlobInfo) -> EngineResult<ImageConfig> {
        self.config(&blob.digest).map_err(|e| {
            EngineError::invalid(format!("image config {}: {}", blob.digest, e.message))
        })
    }

    fn docker_archive_specs(
        &self,
        staged: &StagedArchive,
        lease: &mut Lease<'_>,
    ) -> EngineResult<Vec<ImageSpec>> {
        let bytes = staged.read_small(self, "manifest.json")?;
        let entries: Vec<ArchiveManifest> = serde_json::from_slice(&bytes).map_err(|e| {
            EngineError::invalid(format!("invalid manifest.json in the archive: {e}"))
        })?;
        let mut specs = Vec::new();
        for entry in entries {
            let names = entry
                .repo_tags
                .unwrap_or_default()
                .iter()
                .map(|t| {
                    Reference::parse_docker_ref(t).map_err(|e| {
                        EngineError::invalid(format!("invalid tag {t:?} in the archive: {e}"))
                    })
                })
                .collect::<EngineResult<Vec<_>>>()?;
            let config = staged.blob(self, &entry.config, lease)?;
            let mut layers = Vec::new();
            for path in &entry.layers {
                let blob = staged.blob(self, path, lease)?;
                let mt = self.sniff_layer_media_type(&blob.digest);
                layers.push((blob, mt));
            }
            specs.push(ImageSpec {
                config,
                manifest: None,
                layers,
                names,
            });
        }
        Ok(specs)
    }

    fn oci_layout_specs(
        &self,
        staged: &StagedArchive,
        lease: &mut Lease<'_>,
    ) -> EngineResult<Vec<ImageSpec>> {
        let bytes = staged.read_small(self, "index.json")?;
        let index = oci_spec::image::ImageIndex::from_reader(bytes.as_slice())
            .map_err(|e| EngineError::invalid(format!("invalid index.json in the archive: {e}")))?;
        let mut by_manifest: HashMap<Digest, ImageSpec> = HashMap::new();
        let mut order = Vec::new();
        for desc in index.manifests() {
            let annotations = desc.annotations().clone().unwrap_or_default();
            let name = annotations
                .get(CONTAINERD_NAME)
                .or_else(|| {
                    annotations
                        .get(REF_NAME)
                        .filter(|n| n.contains(':') || n.contains('/'))
                })
                .map(|n| {
                    Reference::parse_docker_ref(n).map_err(|e| {
                        EngineError::invalid(format!("invalid image name {n:?} in index.json: {e}"))
                    })
                })
                .transpose()?;
            let manifest = self.pick_manifest(staged, desc, 0)?;
            let spec = match by_manifest.get_mut(&manifest.digest) {
                Some(spec) => spec,
                None => {
                    order.push(manifest.digest.clone());
                    let spec = self.manifest_spec(staged, &manifest, lease)?;
                    by_manifest.entry(manifest.digest.clone()).or_insert(spec)
                }
            };
            if let Some(n) = name {
                if !spec.names.contains(&n) {
                    spec.names.push(n);
                }
            }
        }
        Ok(order
            .into_iter()
            .filter_map(|d| by_manifest.remove(&d))
            .collect())
    }

    /// Follows nested indexes down to the manifest for this host's platform.
    fn pick_manifest(
        &self,
        staged: &StagedArchive,
        desc: &oci_spec::image::Descriptor,
        depth: usize,
    ) -> EngineResult<BlobRef> {
        let digest = oci_digest(desc.digest())?;
        let mt = desc.media_type().to_string();
        if media_type::is_image_manifest(&mt) {
            return Ok(BlobRef {
                digest,
                size: desc.size(),
                media_type: mt,
            });
        }
        if !media_type::is_index(&mt) || depth > 4 {
            return Err(EngineError::invalid(format!(
                "unsupported manifest type {mt} for {digest} in the archive"
            )));
        }
        let bytes = staged.read_small(self, &blob_path(&digest))?;
        check_digest(&bytes, &digest)?;
        let index = oci_spec::image::ImageIndex::from_reader(bytes.as_slice())
            .map_err(|e| EngineError::invalid(format!("invalid index {digest}: {e}")))?;
        let arch = berth_store::model::host_architecture();
        let chosen = index
            .manifests()
            .iter()
            .find(|m| {
                m.platform().as_ref().is_some_and(|p| {
                    p.os().to_string() == "linux" && p.architecture().to_string() == arch
                })
            })
            .or_else(|| (index.manifests().len() == 1).then(|| &index.manifests()[0]))
            .ok_or_else(|| {
                EngineError::invalid(format!("index {digest} has no image for linux/{arch}"))
            })?;
        self.pick_manifest(staged, chosen, depth + 1)
    }

    fn manifest_spec(
        &self,
        staged: &StagedArchive,
        manifest: &BlobRef,
        lease: &mut Lease<'_>,
    ) -> EngineResult<ImageSpec> {
        let path = blob_path(&manifest.digest);
        let bytes = staged.read_small(self, &path)?;
        check_digest(&bytes, &manifest.digest)?;
        let m = oci_spec::image::ImageManifest::from_reader(bytes.as_slice()).map_err(|e| {
            EngineError::invalid(format!("invalid manifest {}: {e}", manifest.digest))
        })?;
        staged.blob(self, &path, lease)?;
        let config = staged.blob(self, &blob_path(&oci_digest(m.config().digest())?), lease)?;
        let mut layers = Vec::new();
        for l in m.layers() {
            let d = oci_digest(l.digest())?;
            let mt = l.media_type().to_string();
            if !staged.contains(&blob_path(&d)) {
                return Err(EngineError::invalid(format!(
                    "layer {d} ({mt}) of manifest {} is missing from the archive",
                    manifest.digest
                )));
            }
            layers.push((staged.blob(self, &blob_path(&d), lease)?, mt));
        }
        Ok(ImageSpec {
            config,
            manifest: Some(manifest.clone()),
            layers,
            names: Vec::new(),
        })
    }

    /// The layer media type matching how a blob is compressed.
    pub(super) fn sniff_layer_media_type(&self, blob: &Digest) -> String {
        let mut magic = [0u8; 4];
        let n = std::fs::File::open(self.content.blob_path(blob))
            .and_then(|mut f| std::io::Read::read(&mut f, &mut magic))
            .unwrap_or(0);
        match berth_snapshot::Compression::detect(&magic[..n]) {
            berth_snapshot::Compression::Gzip => media_type::OCI_LAYER_GZIP,
            berth_snapshot::Compression::Zstd => media_type::OCI_LAYER_ZSTD,
            berth_snapshot::Compression::None => media_type::OCI_LAYER,
        }
        .to_string()
    }
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().as_str(), d.hex())
}

fn oci_digest(d: &oci_spec::image::Digest) -> EngineResult<Digest> {
    Digest::parse(d.as_ref()).map_err(|e| EngineError::invalid(e.to_string()))
}

fn check_digest(bytes: &[u8], want: &Digest) -> EngineResult<()> {
    let got = Digest::sha256(bytes);
    if &got == want {
        Ok(())
    } else {
        Err(EngineError::invalid(format!(
            "blob {want} in the archive does not match its digest (got {got})"
        )))
    }
}

/// Loading progress for an API client: what a message would say, ignored when quiet.
pub fn loaded_message(line: &str) -> JsonMessage {
    JsonMessage::stream(format!("{line}\n"))
}
