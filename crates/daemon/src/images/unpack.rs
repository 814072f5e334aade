//! Unpacking the layers of images being registered: each distinct layer once, several at a
//! time, streaming from its blob through decompression into the layer store, with
//! progress reported as it goes.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};

use berth_api::types::JsonMessage;
use berth_store::{BlobInfo, ContentStore, Digest, LayerRecord};

use super::{ImageService, Lease};
use crate::error::{EngineError, EngineResult};

/// Receives progress messages; called from several threads.
pub type Progress<'a> = &'a (dyn Fn(JsonMessage) + Sync);

pub fn no_progress(_: JsonMessage) {}

/// A layer to make present: its expected diff ID and the blob it is stored as.
#[derive(Debug, Clone)]
pub struct LayerJob {
    pub diff_id: Digest,
    pub blob: BlobInfo,
}

/// What unpacking (or finding) a layer established.
#[derive(Debug, Clone, Copy)]
pub struct LayerSizes {
    pub tar_size: u64,
    pub unpacked_size: u64,
}

/// A layer unpacked from a stream, and what its diff ID turned out to be.
#[derive(Debug, Clone)]
pub struct Unpacked {
    pub diff_id: Digest,
    pub sizes: LayerSizes,
}

/// Reads the chunks sent through a channel; an error chunk is passed on as a read error
/// (so a broken upload fails the unpack instead of ending it early), a closed channel is
/// the end. Each chunk read through goes back on `spent`, for the sender to fill again:
/// megabyte buffers made and freed per chunk would cost a mapping, page faults and an
/// unmapping each (the allocator maps big blocks separately, see `alloc`).
pub struct ChannelReader {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    spent: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl ChannelReader {
    pub fn new(
        rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
        spent: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    ) -> Self {
        ChannelReader {
            rx,
            spent,
            chunk: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let done = std::mem::replace(&mut self.chunk, chunk);
                    if let (Some(spent), true) = (&self.spent, done.capacity() > 0) {
                        let _ = spent.send(done);
                    }
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Counts the bytes read through it and reports progress every so often.
struct Counting<'p, R> {
    inner: R,
    count: u64,
    reported: u64,
    report: Option<(&'p (dyn Fn(u64) + Sync), u64)>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if let Some((report, every)) = self.report {
            if self.count - self.reported >= every || (n == 0 && self.count != self.reported) {
                self.reported = self.count;
                report(self.count);
            }
        }
        Ok(n)
    }
}

impl ImageService {
    /// Makes every layer of `jobs` present, leasing each first. Layers in `ready` (by blob)
    /// were unpacked while their blob streamed in and are used when their diff ID is the
    /// expected one. Returns the sizes of each layer.
    pub fn unpack_layers(
        &self,
        jobs: Vec<LayerJob>,
        ready: &HashMap<Digest, Unpacked>,
        lease: &mut Lease<'_>,
        progress: Progress<'_>,
        status: &str,
    ) -> EngineResult<HashMap<Digest, LayerSizes>> {
        let mut unique: HashMap<Digest, LayerJob> = HashMap::new();
        for job in jobs {
            unique.entry(job.diff_id.clone()).or_insert(job);
        }
        let mut results = HashMap::new();
        let mut todo = Vec::new();
        for (diff_id, job) in unique {
            lease.layer(&diff_id);
            let streamed = ready
                .get(&job.blob.digest)
                .filter(|u| {
                    u.diff_id == diff_id
                        && self.layers.exists(&diff_id.to_string()).unwrap_or(false)
                })
                .map(|u| u.sizes);
            let known = || {
                self.known_record(&diff_id, false).map(|l| LayerSizes {
                    tar_size: l.tar_size,
                    unpacked_size: l.unpacked_size,
                })
            };
            match streamed.or_else(known) {
                Some(sizes) => {
                    results.insert(diff_id, sizes);
                }
                None => todo.push(job),
            }
        }
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let sizes = super::parallel::run(&todo, threads, None, |job| {
            self.unpack_one(job, progress, status)
        })?;
        results.extend(todo.into_iter().map(|j| j.diff_id).zip(sizes));
        Ok(results)
    }

    /// Unpacks a layer stream of unknown diff ID (plain or compressed), publishing it under
    /// the diff ID it hashes to. The caller leases that diff ID afterwards.
    pub fn unpack_stream(&self, reader: impl Read + Send) -> EngineResult<Unpacked> {
        let tar = berth_snapshot::decompress(reader)
            .map_err(|e| EngineError::invalid(format!("reading layer: {e}")))?;
        let mut counted = Counting {
            inner: tar,
            count: 0,
            reported: 0,
            report: None,
        };
        let info = self
            .layers
            .unpack(&mut counted, None)
            .map_err(|e| EngineError::new(crate::error::snapshot_kind(e.kind()), e.to_string()))?;
        let diff_id =
            Digest::parse(&info.diff_id).map_err(|e| EngineError::internal(e.to_string()))?;
        Ok(Unpacked {
            diff_id,
            sizes: LayerSizes {
                tar_size: counted.count,
                unpacked_size: info.size,
            },
        })
    }

    /// The record some image holds of a layer that is already unpacked; with `blob`, only
    /// one whose blob is in the content store too (what a pull may name for its image).
    pub(super) fn known_record(&self, diff_id: &Digest, blob: bool) -> Option<LayerRecord> {
        if !self.layers.exists(&diff_id.to_string()).unwrap_or(false) {
            return None;
        }
        let view = self.store.view();
        let found = view
            .images()
            .flat_map(|i| i.layers.iter())
            .find(|l| &l.diff_id == diff_id && (!blob || self.content.exists(&l.blob.digest)))
            .cloned();
        found
    }

    fn unpack_one(
        &self,
        job: &LayerJob,
        progress: Progress<'_>,
        status: &str,
    ) -> EngineResult<LayerSizes> {
        let path = self.content.blob_path(&job.blob.digest);
        let file = File::open(&path).map_err(|e| {
            EngineError::internal(format!("opening layer blob {}: {e}", job.blob.digest))
        })?;
        let id = job.diff_id.short().to_string();
        let total = job.blob.size as i64;
        let report = |n: u64| progress(JsonMessage::progress(&id, status, n as i64, total));
        let compressed = Counting {
            inner: BufReader::with_capacity(1 << 20, file),
            count: 0,
            reported: 0,
            report: Some((&report, 4 << 20)),
        };
        let tar = berth_snapshot::decompress(compressed)
            .map_err(|e| EngineError::invalid(format!("layer {}: {e}", job.blob.digest)))?;
        let mut counted = Counting {
            inner: tar,
            count: 0,
            reported: 0,
            report: None,
        };
        let info = self
            .layers
            .unpack(&mut counted, Some(&job.diff_id.to_string()))
            .map_err(|e| layer_error(&job.blob.digest, e))?;

        Ok(LayerSizes {
            tar_size: counted.count,
            unpacked_size: info.size,
        })
    }
}

fn layer_error(blob: &Digest, e: berth_snapshot::LayerError) -> EngineError {
    EngineError::new(
        crate::error::snapshot_kind(e.kind()),
        format!("layer {blob}: {e}"),
    )
}
