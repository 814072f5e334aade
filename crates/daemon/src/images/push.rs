//! `POST /images/{name}/push`: pushing an image's blobs and manifest to its registry.
//!
//! Each layer, a few at once: HEAD (the registry has it: done) → a cross-repository mount
//! from a repository on the same registry that an image here came from → an upload. A layer
//! stored uncompressed (built or committed here) is gzip-compressed while it uploads, into
//! the content store at the same time, and the image records are pointed at the compressed
//! blob: the next push, to any registry, sends it without compressing again. Then the config,
//! and the manifest last, so a registry never holds a manifest whose blobs are missing.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_api::types::JsonMessage;
use berth_distribution::client::{Body, Client, ClientError, Credentials, Mount, Session};
use berth_store::content::Expected;
use berth_store::model::media_type;
use berth_store::reference::Reference;
use berth_store::{BlobRef, Change, ContentStore, Digest, ImageRecord, LayerRecord};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use tokio::runtime::Handle;

use super::unpack::Progress;
use super::{ImageService, Lease, MAX_METADATA_BLOB};
use crate::error::{EngineError, EngineResult, ErrorKind};

/// docker's default `max-concurrent-uploads`.
const PARALLEL_UPLOADS: usize = 5;

#[derive(Debug, Clone)]
pub struct PushRequest {
    /// A name with a tag, or a bare name to push every tag of it.
    pub reference: Reference,
    pub credentials: Credentials,
}

impl ImageService {
    /// Pushes `req`; progress goes to `progress`, and the final messages (digest lines and
    /// docker's `aux` records) are returned.
    pub fn push(
        &self,
        rt: &Handle,
        client: &Arc<Client>,
        req: &PushRequest,
        progress: Progress<'_>,
    ) -> EngineResult<()> {
        let name = req.reference.name_only();
        let targets = self.push_targets(&req.reference)?;
        progress(JsonMessage::status(format!(
            "The push refers to repository [{}]",
            name.name()
        )));
        let sources = self.mount_sources(&name, &targets);
        let session = rt
            .block_on(Session::open(
                client,
                name.domain(),
                name.path(),
                req.credentials.clone(),
                true,
                &sources.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
            ))
            .map_err(|e| push_error(&name, e))?;
        for (tag_ref, id) in targets {
            let mut lease = self.lease();
            let record = self
                .store
                .view()
                .get(&id)
                .cloned()
                .ok_or_else(|| EngineError::not_found(format!("No such image: {id}")))?;
            let layers = self.push_layers(rt, &session, &record, &sources, &mut lease, progress)?;
            self.push_config(rt, &session, &id)?;
            let (bytes, mt) = self.manifest_for(&record, &layers)?;
            let tag = tag_ref.tag().unwrap_or("latest").to_string();
            let digest = rt
                .block_on(session.put_manifest(&tag, &mt, Bytes::from(bytes.clone())))
                .map_err(|e| push_error(&name, e))?;
            let stored = self.keep_manifest(&bytes, &mt, &mut lease)?;
            let mut changes = Vec::new();
            if record.manifest.as_ref().map(|m| &m.digest) != Some(&stored.digest) {
                let mut updated = self
                    .store
                    .view()
                    .get(&id)
                    .cloned()
                    .unwrap_or(record.clone());
                updated.manifest = Some(stored);
                changes.push(Change::PutImage(updated));
            }
            changes.push(Change::SetReference(
                name.with_digest(digest.clone()),
                id.clone(),
            ));
            self.store.apply(changes)?;
            progress(JsonMessage::status(format!(
                "{tag}: digest: {digest} size: {}",
                bytes.len()
            )));
            progress(JsonMessage {
                aux: Some(serde_json::json!({
                    "Tag": tag,
                    "Digest": digest.to_string(),
                    "Size": bytes.len(),
                })),
                ..Default::default()
            });
            self.announce("push", &id, &tag_ref.familiar_string());
            drop(lease);
        }
        Ok(())
    }

    /// The tagged references to push: the one named, or every tag of a bare name.
    fn push_targets(&self, r: &Reference) -> EngineResult<Vec<(Reference, Digest)>> {
        let view = self.store.view();
        if r.tag().is_some() {
            return match view.lookup(r) {
                Some(id) => Ok(vec![(r.clone(), id.clone())]),
                None => Err(EngineError::not_found(format!(
                    "An image does not exist locally with the tag: {}",
                    r.familiar_string()
                ))),
            };
        }
        let name = r.name();
        let all: Vec<_> = view
            .references()
            .filter(|(x, _)| x.tag().is_some() && x.name() == name)
            .map(|(x, id)| (x.clone(), id.clone()))
            .collect();
        if all.is_empty() {
            return Err(EngineError::not_found(format!(
                "An image does not exist locally with the tag: {}",
                r.familiar_name()
            )));
        }
        Ok(all)
    }

    /// Repositories on the same registry known to hold blobs of these images (they were
    /// pulled from or pushed to there): blob digest → repository.
    fn mount_sources(
        &self,
        name: &Reference,
        targets: &[(Reference, Digest)],
    ) -> Vec<(Digest, String)> {
        let view = self.store.view();
        let wanted: std::collections::HashSet<&Digest> = targets
            .iter()
            .filter_map(|(_, id)| view.get(id))
            .flat_map(|rec| rec.layers.iter().map(|l| &l.blob.digest))
            .collect();
        let mut out = Vec::new();
        for (r, id) in view.references() {
            if r.digest().is_none() || r.domain() != name.domain() || r.path() == name.path() {
                continue;
            }
            let Some(rec) = view.get(id) else { continue };
            for l in &rec.layers {
                if wanted.contains(&l.blob.digest)
                    && !out
                        .iter()
                        .any(|(d, p): &(Digest, String)| d == &l.blob.digest && p == r.path())
                {
                    out.push((l.blob.digest.clone(), r.path().to_string()));
                }
            }
        }
        out
    }

    fn push_layers(
        &self,
        rt: &Handle,
        session: &Session,
        record: &ImageRecord,
        sources: &[(Digest, String)],
        lease: &mut Lease<'_>,
        progress: Progress<'_>,
    ) -> EngineResult<Vec<BlobRef>> {
        for l in &record.layers {
            progress(JsonMessage::item(l.diff_id.short(), "Preparing"));
        }
        let lease = Mutex::new(lease);
        super::parallel::run(&record.layers, PARALLEL_UPLOADS, Some(rt), |layer| {
            self.push_layer(rt, session, layer, sources, &lease, progress)
        })
    }

    fn push_layer(
        &self,
        rt: &Handle,
        session: &Session,
        layer: &LayerRecord,
        sources: &[(Digest, String)],
        lease: &Mutex<&mut Lease<'_>>,
        progress: Progress<'_>,
    ) -> EngineResult<BlobRef> {
        let id = layer.diff_id.short().to_string();
        let fail = |e: ClientError| step_error(&format!("pushing layer {}", layer.diff_id), e);
        if layer.blob.digest == layer.diff_id {
            return self.push_compressing(rt, session, layer, lease, progress);
        }
        let blob = layer.blob.clone();
        if is_foreign(&blob.media_type) {
            // As docker: a foreign (non-distributable) layer stays where its URLs say; the
            // manifest names it and the registry is not sent it.
            progress(JsonMessage::item(&id, "Skipped foreign layer"));
            return Ok(blob);
        }
        if rt
            .block_on(session.blob_size(&blob.digest))
            .map_err(fail)?
            .is_some()
        {
            progress(JsonMessage::item(&id, "Layer already exists"));
            return Ok(blob);
        }
        let mut location = None;
        for (_, from) in sources.iter().filter(|(d, _)| d == &blob.digest) {
            match rt
                .block_on(session.mount(&blob.digest, from))
                .map_err(fail)?
            {
                Mount::Mounted => {
                    progress(JsonMessage::item(&id, format!("Mounted from {from}")));
                    return Ok(blob);
                }
                Mount::Upload(at) => location = Some(at),
            }
        }
        let location = match location {
            Some(l) => l,
            None => rt.block_on(session.start_upload()).map_err(fail)?,
        };
        let path = self.content.blob_path(&blob.digest);
        let file = std::fs::File::open(&path)
            .map_err(|e| EngineError::internal(format!("opening blob {}: {e}", blob.digest)))?;
        lock(lease).blob(&blob.digest);
        let sent = Arc::new(AtomicU64::new(0));
        let body = reader_body(file, sent.clone());
        let next = self
            .with_progress(
                rt,
                &id,
                blob.size,
                &sent,
                progress,
                session.patch(&location, body),
            )
            .map_err(fail)?;
        rt.block_on(session.close_upload(&next, &blob.digest, Bytes::new()))
            .map_err(fail)?;
        progress(JsonMessage::item(&id, "Pushed"));
        Ok(blob)
    }

    /// Uploads an uncompressed layer gzip-compressed, keeping the compressed blob and
    /// pointing the image records at it.
    fn push_compressing(
        &self,
        rt: &Handle,
        session: &Session,
        layer: &LayerRecord,
        lease: &Mutex<&mut Lease<'_>>,
        progress: Progress<'_>,
    ) -> EngineResult<BlobRef> {
        let id = layer.diff_id.short().to_string();
        let fail = |e: ClientError| step_error(&format!("pushing layer {}", layer.diff_id), e);
        let location = rt.block_on(session.start_upload()).map_err(fail)?;
        let path = self.content.blob_path(&layer.blob.digest);
        let file = std::fs::File::open(&path)
            .map_err(|e| EngineError::internal(format!("opening layer {}: {e}", layer.diff_id)))?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
        let sent = Arc::new(AtomicU64::new(0));
        let body = channel_body(rx, sent.clone());
        let ingest = self.content.ingest()?;
        let (next, compressed) = std::thread::scope(|s| {
            let compressor = s.spawn(move || {
                let abort = tx.clone();
                let done = compress_into(file, ingest, tx);
                if let Err(e) = &done {
                    // The upload's body fails too, so the registry never takes a short blob
                    // for a whole one.
                    let _ = abort.blocking_send(Err(std::io::Error::new(e.kind(), e.to_string())));
                }
                done
            });
            let next = self.with_progress(
                rt,
                &id,
                layer.tar_size,
                &sent,
                progress,
                session.patch(&location, body),
            );
            (next, compressor.join())
        });
        let ingest = match compressed {
            Ok(Ok(ingest)) => ingest,
            Ok(Err(e)) => {
                return Err(EngineError::internal(format!(
                    "compressing layer {}: {e}",
                    layer.diff_id
                )))
            }
            Err(_) => {
                return Err(EngineError::internal(format!(
                    "compressing layer {} failed",
                    layer.diff_id
                )))
            }
        };
        let next = next.map_err(fail)?;
        let info = {
            let mut lease = lock(lease);
            self.commit_leased(ingest, &Expected::default(), &mut lease)?
        };
        rt.block_on(session.close_upload(&next, &info.digest, Bytes::new()))
            .map_err(fail)?;
        let blob = BlobRef {
            digest: info.digest,
            size: info.size,
            media_type: media_type::DOCKER_LAYER_GZIP.to_string(),
        };
        self.remember_compressed(&layer.diff_id, &blob)?;
        progress(JsonMessage::item(&id, "Pushed"));
        Ok(blob)
    }

    /// Points every image holding `diff_id` as an uncompressed blob at its compressed one.
    fn remember_compressed(&self, diff_id: &Digest, blob: &BlobRef) -> EngineResult<()> {
        self.content.sync()?;
        let changes: Vec<Change> = {
            let view = self.store.view();
            view.images()
                .filter(|i| {
                    i.layers
                        .iter()
                        .any(|l| &l.diff_id == diff_id && l.blob.digest == *diff_id)
                })
                .map(|i| {
                    let mut r = i.clone();
                    for l in r.layers.iter_mut().filter(|l| &l.diff_id == diff_id) {
                        l.blob = blob.clone();
                    }
                    Change::PutImage(r)
                })
                .collect()
        };
        Ok(self.store.apply(changes)?)
    }

    /// Runs an upload, reporting `Pushing` progress from `sent` while it goes.
    fn with_progress<T>(
        &self,
        rt: &Handle,
        id: &str,
        total: u64,
        sent: &AtomicU64,
        progress: Progress<'_>,
        upload: impl std::future::Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        // Progress is written from this thread between waits, never inside the runtime:
        // writing to the response may block.
        let _runtime = rt.enter();
        let mut upload = Box::pin(upload);
        loop {
            let tick = tokio::time::timeout(Duration::from_millis(250), &mut upload);
            match rt.block_on(tick) {
                Ok(r) => return r,
                Err(_) => {
                    let n = sent.load(Ordering::Relaxed);
                    progress(JsonMessage::progress(
                        id,
                        "Pushing",
                        n as i64,
                        total.max(n) as i64,
                    ));
                }
            }
        }
    }

    fn push_config(&self, rt: &Handle, session: &Session, id: &Digest) -> EngineResult<()> {
        let fail = |e: ClientError| step_error(&format!("pushing config {id}"), e);
        if rt.block_on(session.blob_size(id)).map_err(fail)?.is_some() {
            return Ok(());
        }
        let bytes = self.content.read_all(id, MAX_METADATA_BLOB)?;
        let location = rt.block_on(session.start_upload()).map_err(fail)?;
        rt.block_on(session.close_upload(&location, id, Bytes::from(bytes)))
            .map_err(fail)
    }

    /// The manifest to push: the one the image came with when it still describes exactly
    /// these blobs (so its digest stays the same), otherwise a new one.
    fn manifest_for(
        &self,
        record: &ImageRecord,
        layers: &[BlobRef],
    ) -> EngineResult<(Vec<u8>, String)> {
        if let Some(m) = &record.manifest {
            if let Ok(bytes) = self.content.read_all(&m.digest, MAX_METADATA_BLOB) {
                if let Ok(parsed) = oci_spec::image::ImageManifest::from_reader(bytes.as_slice()) {
                    let same = parsed.config().digest().as_ref() == record.id.to_string()
                        && parsed.layers().len() == layers.len()
                        && parsed
                            .layers()
                            .iter()
                            .zip(layers)
                            .all(|(a, b)| a.digest().as_ref() == b.digest.to_string());
                    if same {
                        return Ok((bytes, m.media_type.clone()));
                    }
                }
            }
        }
        let config_size = self.content.info(&record.id)?.size;
        let oci = layers
            .iter()
            .any(|l| l.media_type.starts_with("application/vnd.oci."));
        let (mt, config_mt) = if oci {
            (media_type::OCI_MANIFEST, media_type::OCI_CONFIG)
        } else {
            (media_type::DOCKER_MANIFEST, media_type::DOCKER_CONFIG)
        };
        let doc = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": mt,
            "config": { "mediaType": config_mt, "size": config_size, "digest": record.id.to_string() },
            "layers": layers.iter().map(|l| serde_json::json!({
                "mediaType": l.media_type, "size": l.size, "digest": l.digest.to_string(),
            })).collect::<Vec<_>>(),
        });
        let bytes =
            serde_json::to_vec_pretty(&doc).map_err(|e| EngineError::internal(e.to_string()))?;
        Ok((bytes, mt.to_string()))
    }

    fn keep_manifest(
        &self,
        bytes: &[u8],
        mt: &str,
        lease: &mut Lease<'_>,
    ) -> EngineResult<BlobRef> {
        let mut w = self.content.ingest()?;
        w.write_all(bytes)
            .map_err(|e| EngineError::internal(format!("writing a manifest: {e}")))?;
        let info = self.commit_leased(w, &Expected::default(), lease)?;
        Ok(BlobRef {
            digest: info.digest,
            size: info.size,
            media_type: mt.to_string(),
        })
    }
}

/// Gzips `file` into the content store and the upload channel at once (stretches that do
/// not compress are stored: see [`berth_snapshot::LayerGzip`]).
fn compress_into(
    file: std::fs::File,
    ingest: Box<dyn berth_store::content::Ingest>,
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
) -> std::io::Result<Box<dyn berth_store::content::Ingest>> {
    let tee = Tee { ingest, tx };
    let buffered = std::io::BufWriter::with_capacity(1 << 20, tee);
    let mut encoder = berth_snapshot::LayerGzip::new(buffered)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        encoder.write_all(&buf[..n])?;
    }
    let buffered = encoder.finish()?;
    let tee = buffered.into_inner().map_err(|e| e.into_error())?;
    Ok(tee.ingest)
}

/// Writes to the ingest and sends a copy of each chunk to the upload.
struct Tee {
    ingest: Box<dyn berth_store::content::Ingest>,
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.ingest.write_all(buf)?;
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the upload stopped")
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.ingest.flush()
    }
}

/// A request body streaming a file, counting what has been sent.
fn reader_body(file: std::fs::File, sent: Arc<AtomicU64>) -> Body {
    let stream =
        tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::from_std(file), 1 << 20);
    counted(stream, sent)
}

fn channel_body(
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    sent: Arc<AtomicU64>,
) -> Body {
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    counted(stream, sent)
}

fn counted(
    stream: impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + Sync + 'static,
    sent: Arc<AtomicU64>,
) -> Body {
    let frames = stream.map(move |chunk| {
        chunk.map(|c| {
            sent.fetch_add(c.len() as u64, Ordering::Relaxed);
            hyper::body::Frame::data(c)
        })
    });
    BodyExt::boxed(http_body_util::StreamBody::new(frames))
}

/// Docker's and OCI's media types for layers that are not to be pushed.
fn is_foreign(media_type: &str) -> bool {
    media_type == media_type::DOCKER_FOREIGN_LAYER || media_type.contains(".nondistributable.")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn push_error(name: &Reference, e: ClientError) -> EngineError {
    let kind = match &e {
        ClientError::NotFound(_) => ErrorKind::NotFound,
        ClientError::Unauthorized(_) => ErrorKind::Unauthorized,
        ClientError::Invalid(_) => ErrorKind::InvalidArgument,
        _ => ErrorKind::Unavailable,
    };
    let message = match &e {
        ClientError::Unauthorized(m) => {
            format!("denied: requested access to the resource is denied ({m})")
        }
        e => format!("pushing {}: {e}", name.familiar_name()),
    };
    EngineError::new(kind, message)
}

/// An error pushing one blob: a refusal stays a refusal, anything else is the registry's.
fn step_error(what: &str, e: ClientError) -> EngineError {
    match e {
        ClientError::Unauthorized(m) => EngineError::new(
            ErrorKind::Unauthorized,
            format!("{what}: denied: requested access to the resource is denied ({m})"),
        ),
        e => EngineError::unavailable(format!("{what}: {e}")),
    }
}
