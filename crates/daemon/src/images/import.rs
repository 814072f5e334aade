//! `POST /images/create?fromSrc=…`: an image made from a root filesystem tarball (plain or
//! compressed), with Dockerfile-style changes to its config. The tarball streams once: it is
//! decompressed, stored as the layer's blob and unpacked in the same pass.

use std::io::{self, Read, Write};

use berth_store::content::Expected;
use berth_store::model::{media_type, History, ImageConfig, RootFs, RunConfig};
use berth_store::reference::Reference;
use berth_store::{BlobRef, ContentStore, Digest, LayerRecord};
use chrono::Utc;

use super::register::NewImage;
use super::{changes, ImageService};
use crate::error::{EngineError, EngineResult};

#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// `-` or the URL the tarball came from, for the default comment.
    pub source: String,
    pub repo: String,
    pub tag: String,
    pub message: String,
    pub changes: Vec<String>,
    /// `os[/arch[/variant]]`; the host's when empty.
    pub platform: String,
}

/// Copies everything read through it into a blob writer.
struct Tee<'w, R> {
    inner: R,
    sink: &'w mut dyn Write,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sink.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// `(os, architecture, variant)`.
type Platform = (String, String, String);

impl ImportRequest {
    /// Checks the name, platform and changes before any byte of the tarball is read.
    pub fn validate(&self) -> EngineResult<(Option<Reference>, RunConfig, Platform)> {
        let name = repo_tag(
            &self.repo,
            &self.tag,
            "cannot import with a digest reference",
        )?;
        let mut config = RunConfig::default();
        changes::apply(&mut config, changes::parse_changes(&self.changes)?);
        let platform = parse_platform(&self.platform)?;
        Ok((name, config, platform))
    }
}

/// The name an image is made under from `repo` and `tag` query parameters: none without a
/// repository, `:latest` without a tag; a digest reference is refused with `digest_error`.
pub(super) fn repo_tag(
    repo: &str,
    tag: &str,
    digest_error: &str,
) -> EngineResult<Option<Reference>> {
    if repo.is_empty() {
        return Ok(None);
    }
    let mut r = Reference::parse_normalized(repo)?;
    if r.digest().is_some() {
        return Err(EngineError::invalid(digest_error));
    }
    if !tag.is_empty() {
        r = r.with_tag(tag)?;
    }
    Ok(Some(super::with_default_tag(&r)))
}

fn parse_platform(p: &str) -> EngineResult<Platform> {
    let host = berth_store::model::host_architecture().to_string();
    if p.is_empty() {
        return Ok(("linux".into(), host, String::new()));
    }
    let parts: Vec<&str> = p.split('/').collect();
    match parts.as_slice() {
        ["linux"] => Ok(("linux".into(), host, String::new())),
        ["linux", arch] => Ok(("linux".into(), arch.to_string(), String::new())),
        ["linux", arch, variant] => Ok(("linux".into(), arch.to_string(), variant.to_string())),
        _ => Err(EngineError::invalid(format!(
            "invalid platform {p:?}: expected linux[/arch[/variant]]"
        ))),
    }
}

impl ImageService {
    /// Imports the tarball read from `reader`; returns the new image's ID.
    pub fn import(&self, reader: impl Read + Send, req: &ImportRequest) -> EngineResult<Digest> {
        let (name, run_config, (os, arch, variant)) = req.validate()?;
        let mut lease = self.lease();
        let tar = berth_snapshot::decompress(reader)
            .map_err(|e| EngineError::invalid(format!("reading the tarball: {e}")))?;
        let layer = self
            .store_layer(tar, &mut lease)
            .map_err(|e| e.context("importing"))?;
        let now = Utc::now();
        let comment = if req.message.is_empty() {
            format!("Imported from {}", req.source)
        } else {
            req.message.clone()
        };
        let config = ImageConfig {
            created: Some(now),
            architecture: arch,
            os,
            variant,
            config: Some(run_config),
            rootfs: RootFs::layers(vec![layer.diff_id.clone()]),
            history: vec![History {
                created: Some(now),
                comment: comment.clone(),
                ..Default::default()
            }],
            comment,
            ..Default::default()
        };
        let id = self.store_image(
            config,
            vec![layer],
            name.into_iter().collect(),
            None,
            &mut lease,
        )?;
        self.announce("import", &id, &id.to_string());
        Ok(id)
    }

    /// Stores an uncompressed layer tar read from `tar` in one pass: as a blob, and unpacked
    /// in the layer store, both held by `lease` until an image references them.
    pub(super) fn store_layer(
        &self,
        tar: impl Read,
        lease: &mut super::Lease<'_>,
    ) -> EngineResult<LayerRecord> {
        let mut blob = self.content.ingest()?;
        let unpacked = {
            let mut tee = Tee {
                inner: tar,
                sink: &mut *blob,
            };
            self.layers.unpack(&mut tee, None).map_err(|e| {
                EngineError::new(crate::error::snapshot_kind(e.kind()), e.to_string())
            })?
        };
        let diff_id =
            Digest::parse(&unpacked.diff_id).map_err(|e| EngineError::internal(e.to_string()))?;
        let tar_size = blob.written();
        let blob = self.commit_leased(blob, &Expected::exact(&diff_id, tar_size), lease)?;
        lease.layer(&diff_id);
        if !self.layers.exists(&diff_id.to_string()).unwrap_or(false) {
            // Collected in the instant before the lease; unpack it again from its blob.
            let mut file = std::fs::File::open(self.content.blob_path(&diff_id))?;
            self.layers
                .unpack(&mut file, Some(&diff_id.to_string()))
                .map_err(|e| EngineError::internal(e.to_string()))?;
        }
        Ok(LayerRecord {
            diff_id,
            blob: BlobRef {
                digest: blob.digest,
                size: blob.size,
                media_type: media_type::OCI_LAYER.into(),
            },
            tar_size,
            unpacked_size: unpacked.size,
        })
    }

    /// Stores `config` as a blob and registers the image it makes with `layers` under
    /// `names`; returns the image ID.
    pub(super) fn store_image(
        &self,
        config: ImageConfig,
        layers: Vec<LayerRecord>,
        names: Vec<Reference>,
        parent: Option<Digest>,
        lease: &mut super::Lease<'_>,
    ) -> EngineResult<Digest> {
        let bytes =
            serde_json::to_vec(&config).map_err(|e| EngineError::internal(e.to_string()))?;
        let mut buf = vec![0u8; 64 * 1024];
        let config_blob =
            self.ingest_leased(&mut bytes.as_slice(), &Expected::default(), lease, &mut buf)?;
        let id = config_blob.digest.clone();
        self.register(vec![NewImage {
            id: id.clone(),
            config,
            manifest: None,
            layers,
            names: names.clone(),
            parent,
        }])?;
        for name in &names {
            self.announce("tag", &id, &name.familiar_string());
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_refuses_bad_input_up_front() {
        let bad = [
            ImportRequest {
                repo: "UPPER".into(),
                ..Default::default()
            },
            ImportRequest {
                repo: "x@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                    .into(),
                ..Default::default()
            },
            ImportRequest {
                repo: "x".into(),
                tag: "bad tag".into(),
                ..Default::default()
            },
            ImportRequest {
                changes: vec!["RUN x".into()],
                ..Default::default()
            },
            ImportRequest {
                platform: "windows".into(),
                ..Default::default()
            },
        ];
        for req in bad {
            assert!(req.validate().is_err(), "{req:?}");
        }
        let ok = ImportRequest {
            repo: "me/app".into(),
            tag: "v1".into(),
            changes: vec!["CMD [\"sh\"]".into()],
            ..Default::default()
        };
        let (name, config, _) = ok.validate().unwrap();
        assert_eq!(name.unwrap().familiar_string(), "me/app:v1");
        assert_eq!(config.cmd.unwrap(), ["sh"]);
    }
}
