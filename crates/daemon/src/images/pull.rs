//! `POST /images/create?fromImage=`: pulling an image from a registry.
//!
//! Resolve the name → fetch the manifest (an index is narrowed to this host's platform, or
//! the one asked for) → store the config → every layer at once, each streaming from the
//! registry through digest verification and decompression into its layer directory while
//! the compressed blob is kept → register the image and its names in one transaction. Until
//! that transaction nothing is visible; a failure releases the lease and collects what was
//! written, and a pull interrupted by a crash leaves only unreferenced content that the
//! next start removes.

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use berth_api::types::JsonMessage;
use berth_distribution::client::{Client, ClientError, Credentials, Manifest, Session};
use berth_store::content::Expected;
use berth_store::model::media_type;
use berth_store::reference::Reference;
use berth_store::{BlobInfo, BlobRef, ContentStore, Digest, LayerRecord};
use tokio::runtime::Handle;

use super::register::NewImage;
use super::unpack::{LayerJob, Progress, Unpacked};
use super::{ImageService, Lease, MAX_METADATA_BLOB};
use crate::error::{EngineError, EngineResult, ErrorKind};

/// docker's default `max-concurrent-downloads`.
const PARALLEL_DOWNLOADS: usize = 3;

/// What to pull.
#[derive(Debug, Clone)]
pub struct PullRequest {
    /// A name with a tag or a digest; a bare name pulls every tag.
    pub reference: Reference,
    pub all_tags: bool,
    /// `os/arch[/variant]`, or the host's when absent.
    pub platform: Option<String>,
    pub credentials: Credentials,
    /// Set when whoever asked has gone (a client that hung up): the pull stops at its next
    /// read from the registry, and keeps nothing, as docker's does.
    pub cancelled: Arc<AtomicBool>,
}

/// Where a pull reads from: the registry session, the runtime its I/O runs on, and the
/// request's cancellation.
struct Remote<'a> {
    rt: &'a Handle,
    session: &'a Session,
    cancelled: &'a AtomicBool,
}

impl Remote<'_> {
    fn check(&self) -> EngineResult<()> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(EngineError::unavailable(CANCELLED));
        }
        Ok(())
    }
}

const CANCELLED: &str = "the pull was cancelled: its client went away";

/// A registry response body that stops with an error once the pull is cancelled.
struct UntilCancelled<'a, R> {
    inner: R,
    cancelled: &'a AtomicBool,
}

impl<R: Read> Read for UntilCancelled<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(std::io::Error::other(CANCELLED));
        }
        self.inner.read(buf)
    }
}

/// One tag (or digest) pulled.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub digest: Digest,
    pub fresh: bool,
}

impl ImageService {
    /// Pulls `req`, reporting docker's progress messages; returns its final status lines.
    pub fn pull(
        &self,
        rt: &Handle,
        client: &Arc<Client>,
        req: &PullRequest,
        progress: Progress<'_>,
    ) -> EngineResult<Vec<String>> {
        let reference = &req.reference;
        let session = rt
            .block_on(Session::open(
                client,
                reference.domain(),
                reference.path(),
                req.credentials.clone(),
                false,
                &[],
            ))
            .map_err(|e| pull_error(reference, e))?;
        let targets: Vec<Reference> = if req.all_tags {
            let mut tags = rt
                .block_on(session.tags())
                .map_err(|e| pull_error(reference, e))?;
            tags.sort();
            tags.iter()
                .map(|t| reference.with_tag(t))
                .collect::<Result<_, _>>()
                .map_err(|e| EngineError::invalid(e.to_string()))?
        } else {
            vec![reference.clone()]
        };
        let remote = Remote {
            rt,
            session: &session,
            cancelled: &req.cancelled,
        };
        let mut fresh_any = false;
        let mut lines = Vec::new();
        for target in &targets {
            remote.check()?;
            let pulled = self.pull_one(&remote, target, req.platform.as_deref(), progress)?;
            fresh_any |= pulled.fresh;
            lines.push(format!("Digest: {}", pulled.digest));
        }
        let name = if req.all_tags {
            reference.familiar_name()
        } else {
            reference.familiar_string()
        };
        lines.push(if fresh_any {
            format!("Status: Downloaded newer image for {name}")
        } else {
            format!("Status: Image is up to date for {name}")
        });
        Ok(lines)
    }

    fn pull_one(
        &self,
        remote: &Remote<'_>,
        target: &Reference,
        platform: Option<&str>,
        progress: Progress<'_>,
    ) -> EngineResult<Pulled> {
        let (rt, session) = (remote.rt, remote.session);
        let label = target
            .digest()
            .map(|d| d.to_string())
            .or_else(|| target.tag().map(str::to_string))
            .unwrap_or_default();
        progress(JsonMessage::item(
            &label,
            format!("Pulling from {}", target.path()),
        ));
        let wanted = label.clone();
        let top = rt
            .block_on(session.manifest(&wanted))
            .map_err(|e| pull_error(target, e))?;
        let mut lease = self.lease();
        let manifest = if media_type::is_index(&top.media_type) {
            let chosen = choose_platform(&top, platform)?;
            let m = rt
                .block_on(session.manifest(&chosen.to_string()))
                .map_err(|e| pull_error(target, e))?;
            self.keep(&top.bytes, &top_ref(&top), &mut lease)?;
            m
        } else {
            top.clone()
        };
        if !media_type::is_image_manifest(&manifest.media_type) {
            return Err(EngineError::invalid(format!(
                "{}: unsupported manifest type {}",
                target.familiar_string(),
                manifest.media_type
            )));
        }
        let parsed =
            oci_spec::image::ImageManifest::from_reader(manifest.bytes.as_ref()).map_err(|e| {
                EngineError::invalid(format!("invalid manifest {}: {e}", manifest.digest))
            })?;
        let manifest_blob = self.keep(&manifest.bytes, &top_ref(&manifest), &mut lease)?;

        let config_digest = digest_of(parsed.config().digest())?;
        let config_blob = self.fetch_small(remote, &config_digest, &mut lease)?;
        let config = self.config_of(&config_blob)?;
        let layers: Vec<BlobRef> = parsed
            .layers()
            .iter()
            .map(|l| {
                Ok(BlobRef {
                    digest: digest_of(l.digest())?,
                    size: l.size(),
                    media_type: l.media_type().to_string(),
                })
            })
            .collect::<EngineResult<_>>()?;
        // Foreign (non-distributable) layers name where they live.
        let urls: Vec<Vec<String>> = parsed
            .layers()
            .iter()
            .map(|l| l.urls().clone().unwrap_or_default())
            .collect();
        if config.rootfs.diff_ids.len() != layers.len() {
            return Err(EngineError::invalid(format!(
                "image {config_digest} has {} layers but its config lists {} diff IDs",
                layers.len(),
                config.rootfs.diff_ids.len()
            )));
        }
        // "Downloaded newer image" when the name did not already mean this image.
        let named_before = self.store.view().lookup(target) == Some(&config_digest);
        let records = self.pull_layers(
            remote,
            (&layers, &urls),
            &config.rootfs.diff_ids,
            &mut lease,
            progress,
        )?;

        let mut names = Vec::new();
        if target.tag().is_some() {
            names.push(target.clone());
        }
        names.push(target.name_only().with_digest(top.digest.clone()));
        // A pull whose client left just now still names nothing.
        remote.check()?;
        self.register(vec![NewImage {
            id: config_digest.clone(),
            config,
            manifest: Some(manifest_blob),
            layers: records,
            names,
            parent: None,
        }])?;
        self.announce("pull", &config_digest, &target.familiar_string());
        drop(lease);
        Ok(Pulled {
            digest: top.digest,
            fresh: !named_before,
        })
    }

    /// Makes every layer present: found, streamed from the registry, or unpacked from a
    /// blob already here. Returns their records.
    fn pull_layers(
        &self,
        remote: &Remote<'_>,
        (layers, urls): (&[BlobRef], &[Vec<String>]),
        diff_ids: &[Digest],
        lease: &mut Lease<'_>,
        progress: Progress<'_>,
    ) -> EngineResult<Vec<LayerRecord>> {
        let mut records: Vec<Option<LayerRecord>> = vec![None; layers.len()];
        let mut fetch = Vec::new();
        for (i, (blob, diff_id)) in layers.iter().zip(diff_ids).enumerate() {
            let id = blob.digest.short().to_string();
            lease.layer(diff_id);
            if let Some(known) = self.known_record(diff_id, true) {
                progress(JsonMessage::item(&id, "Already exists"));
                records[i] = Some(known);
            } else {
                progress(JsonMessage::item(&id, "Pulling fs layer"));
                fetch.push(i);
            }
        }
        let (streamed, blobs) =
            self.download_layers(remote, (layers, urls), &fetch, lease, progress)?;
        let jobs = fetch
            .iter()
            .map(|&i| LayerJob {
                diff_id: diff_ids[i].clone(),
                blob: blobs[&i].clone(),
            })
            .collect();
        let sizes = self.unpack_layers(jobs, &streamed, lease, progress, "Extracting")?;
        for &i in &fetch {
            let s = sizes[&diff_ids[i]];
            progress(JsonMessage::item(layers[i].digest.short(), "Pull complete"));
            records[i] = Some(LayerRecord {
                diff_id: diff_ids[i].clone(),
                blob: layers[i].clone(),
                tar_size: s.tar_size,
                unpacked_size: s.unpacked_size,
            });
        }
        let records = records
            .into_iter()
            .map(|r| r.ok_or_else(|| EngineError::internal("a layer was left out of the pull")))
            .collect::<EngineResult<_>>()?;
        Ok(records)
    }

    /// Downloads the layers at `which`, a few at a time, each unpacked as it streams.
    fn download_layers(
        &self,
        remote: &Remote<'_>,
        (layers, urls): (&[BlobRef], &[Vec<String>]),
        which: &[usize],
        lease: &mut Lease<'_>,
        progress: Progress<'_>,
    ) -> EngineResult<(HashMap<Digest, Unpacked>, HashMap<usize, BlobInfo>)> {
        let lease = std::sync::Mutex::new(lease);
        let results = super::parallel::run(which, PARALLEL_DOWNLOADS, Some(remote.rt), |&i| {
            self.download_layer(remote, (&layers[i], &urls[i]), &lease, progress)
        })?;
        let mut streamed = HashMap::new();
        let mut blobs = HashMap::new();
        for (&i, (info, unpacked)) in which.iter().zip(results) {
            if let Some(u) = unpacked {
                streamed.insert(info.digest.clone(), u);
            }
            blobs.insert(i, info);
        }
        Ok((streamed, blobs))
    }

    fn download_layer(
        &self,
        remote: &Remote<'_>,
        (blob, urls): (&BlobRef, &[String]),
        lease: &std::sync::Mutex<&mut Lease<'_>>,
        progress: Progress<'_>,
    ) -> EngineResult<(BlobInfo, Option<Unpacked>)> {
        let (rt, session) = (remote.rt, remote.session);
        let id = blob.digest.short().to_string();
        if let Ok(info) = self.content.info(&blob.digest) {
            // Kept from an earlier, interrupted pull: it is unpacked from here.
            lease
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .blob(&blob.digest);
            progress(JsonMessage::item(&id, "Download complete"));
            return Ok((info, None));
        }
        let (body, _) = rt
            .block_on(async {
                if !urls.is_empty() {
                    // As docker: a foreign layer comes from its URLs, or from the registry
                    // when none of them answers.
                    match session.foreign_blob(urls, &blob.digest).await {
                        Ok(found) => return Ok(found),
                        Err(e) => tracing::info!(layer = %blob.digest, error = %e,
                            "foreign layer not at its URLs; asking the registry"),
                    }
                }
                session.blob(&blob.digest).await
            })
            .map_err(|e| EngineError::unavailable(format!("layer {}: {e}", blob.digest)))?;
        let mut reader = UntilCancelled {
            inner: crate::http::body_reader(body),
            cancelled: remote.cancelled,
        };
        let total = blob.size as i64;
        let report = |n: u64| progress(JsonMessage::progress(&id, "Downloading", n as i64, total));
        let mut buf = vec![0u8; 1 << 20];
        let mut own = self.lease();
        let result = self
            .ingest_unpacking(
                &mut reader as &mut dyn Read,
                &Expected::exact(&blob.digest, blob.size),
                &mut own,
                &mut buf,
                &report,
            )
            .map_err(|e| e.context(format!("layer {}", blob.digest)));
        // The shared lease takes over what this download leased.
        let mut shared = lease.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok((info, unpacked)) = &result {
            shared.blob(&info.digest);
            if let Some(u) = unpacked {
                shared.layer(&u.diff_id);
            }
            progress(JsonMessage::item(&id, "Verifying Checksum"));
            progress(JsonMessage::item(&id, "Download complete"));
        }
        drop(shared);
        drop(own);
        result
    }

    /// Fetches a config blob (small), verified, into the content store.
    fn fetch_small(
        &self,
        remote: &Remote<'_>,
        digest: &Digest,
        lease: &mut Lease<'_>,
    ) -> EngineResult<BlobInfo> {
        let (rt, session) = (remote.rt, remote.session);
        if let Ok(info) = self.content.info(digest) {
            lease.blob(digest);
            return Ok(info);
        }
        let bytes = rt
            .block_on(async {
                let (body, _) = session.blob(digest).await?;
                http_body_util::BodyExt::collect(http_body_util::Limited::new(
                    body,
                    MAX_METADATA_BLOB as usize,
                ))
                .await
                .map(|c| c.to_bytes())
                .map_err(|e| ClientError::unavailable(format!("reading blob {digest}: {e}")))
            })
            .map_err(|e| EngineError::unavailable(e.to_string()))?;
        let actual = Digest::sha256(&bytes);
        if &actual != digest {
            return Err(EngineError::invalid(
                ClientError::DigestMismatch {
                    what: "config",
                    expected: digest.clone(),
                    actual,
                }
                .to_string(),
            ));
        }
        self.keep(
            &bytes,
            &BlobRef {
                digest: digest.clone(),
                size: bytes.len() as u64,
                media_type: String::new(),
            },
            lease,
        )
        .map(|b| BlobInfo {
            digest: b.digest,
            size: b.size,
        })
    }

    /// Stores verified bytes (a manifest, an index, a config) under their digest, leased.
    fn keep(&self, bytes: &[u8], blob: &BlobRef, lease: &mut Lease<'_>) -> EngineResult<BlobRef> {
        let mut w = self.content.ingest()?;
        std::io::Write::write_all(&mut w, bytes)
            .map_err(|e| EngineError::internal(format!("writing blob {}: {e}", blob.digest)))?;
        let info =
            self.commit_leased(w, &Expected::exact(&blob.digest, bytes.len() as u64), lease)?;
        Ok(BlobRef {
            digest: info.digest,
            size: info.size,
            media_type: blob.media_type.clone(),
        })
    }
}

fn top_ref(m: &Manifest) -> BlobRef {
    BlobRef {
        digest: m.digest.clone(),
        size: m.bytes.len() as u64,
        media_type: m.media_type.clone(),
    }
}

/// The manifest of an index for `platform` (`os/arch[/variant]`), or this host's.
fn choose_platform(index: &Manifest, platform: Option<&str>) -> EngineResult<Digest> {
    let parsed = oci_spec::image::ImageIndex::from_reader(index.bytes.as_ref())
        .map_err(|e| EngineError::invalid(format!("invalid index {}: {e}", index.digest)))?;
    let host = format!("linux/{}", berth_store::model::host_architecture());
    let want = platform.filter(|p| !p.is_empty()).unwrap_or(&host);
    let mut parts = want.split('/');
    let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
    let chosen = parsed.manifests().iter().find(|m| {
        m.platform().as_ref().is_some_and(|p| {
            Some(p.os().to_string().as_str()) == os
                && Some(p.architecture().to_string().as_str()) == arch
                && (variant.is_none() || p.variant().as_deref() == variant)
        })
    });
    let chosen = chosen.ok_or_else(|| {
        EngineError::new(
            ErrorKind::NotFound,
            format!("no matching manifest for {want} in the manifest list entries"),
        )
    })?;
    digest_of(chosen.digest())
}

fn digest_of(d: &oci_spec::image::Digest) -> EngineResult<Digest> {
    Digest::parse(d.as_ref()).map_err(|e| EngineError::invalid(e.to_string()))
}

/// A registry error as the user should see it, naming what was being pulled.
fn pull_error(r: &Reference, e: ClientError) -> EngineError {
    let kind = match &e {
        ClientError::NotFound(_) => ErrorKind::NotFound,
        ClientError::Invalid(_) => ErrorKind::InvalidArgument,
        // As docker: a repository one may not pull is reported as one that is not there.
        ClientError::Unauthorized(_) => ErrorKind::NotFound,
        _ => ErrorKind::Unavailable,
    };
    let message = match &e {
        ClientError::NotFound(m) if m.starts_with("manifest for") => format!(
            "manifest for {} not found: manifest unknown",
            r.familiar_string()
        ),
        ClientError::Unauthorized(m) => format!(
            "pull access denied for {}, repository does not exist or may require 'docker login': {m}",
            r.familiar_name()
        ),
        e => format!("pulling {}: {e}", r.familiar_string()),
    };
    EngineError::new(kind, message)
}
