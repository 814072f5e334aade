//! The image service: images as the user sees them, over the content store (blobs), the
//! layer store (unpacked layers) and the image records. HTTP-free: the HTTP layer and any
//! later API call these methods.

mod announce;
mod archive;
mod build_cache;
mod builtin;
mod changes;
mod commit;
mod convert;
mod filters;
mod gc;
mod import;
mod list;
mod load;
mod parallel;
mod pull;
mod push;
mod register;
mod remove;
mod save;
mod unpack;

use std::path::Path;
use std::sync::Arc;

use berth_snapshot::LayerStore;
use berth_store::reference::{id_prefix, parse_any, ImageRef, Reference};
use berth_store::{BuildCache, Digest, FsContentStore, ImageStore};

use crate::error::{EngineError, EngineResult};
use crate::events::EventBus;

pub use changes::{apply as apply_changes, parse_changes};
pub use commit::{commit_name, CommitImage};
pub use convert::{from_api_config, to_api_config};
pub use filters::{labels_match, path_match};
pub use gc::{Collected, Lease};
pub use import::ImportRequest;
pub use list::ListOptions;
pub use load::loaded_message;
pub use pull::PullRequest;
pub use push::PushRequest;
pub use remove::RemoveOptions;
pub use save::SavePlan;
pub use unpack::{no_progress, Progress};

/// Upper bound for blobs that are read whole (manifests, configs, indexes).
pub const MAX_METADATA_BLOB: u64 = 16 << 20;

pub struct ImageService {
    content: FsContentStore,
    layers: LayerStore,
    store: ImageStore,
    build_cache: BuildCache,
    gc: gc::GcState,
    events: Arc<EventBus>,
}

impl ImageService {
    /// Opens the image stores under `data_root`, sharing the metadata database `db`; what
    /// happens to images is published on `events`.
    pub fn open(
        data_root: &Path,
        db: Arc<redb::Database>,
        events: Arc<EventBus>,
    ) -> EngineResult<ImageService> {
        let content = FsContentStore::open(data_root.join("content"))?;
        let layers = LayerStore::open(data_root.join("layers"))
            .map_err(|e| EngineError::internal(format!("opening the layer store: {e}")))?;
        let store = ImageStore::open(db.clone())?;
        let build_cache = BuildCache::open(db)?;
        Ok(ImageService {
            content,
            layers,
            store,
            build_cache,
            gc: gc::GcState::default(),
            events,
        })
    }

    pub fn content(&self) -> &FsContentStore {
        &self.content
    }

    pub fn layers(&self) -> &LayerStore {
        &self.layers
    }

    pub fn store(&self) -> &ImageStore {
        &self.store
    }

    /// The build cache's index: step keys to the images the steps made.
    pub fn build_cache(&self) -> &BuildCache {
        &self.build_cache
    }

    pub fn count(&self) -> usize {
        self.store.view().len()
    }

    /// Resolves what a user typed — a reference, a full ID, or a unique ID prefix — to an
    /// image ID. A name without tag or digest means `:latest`.
    pub fn resolve(&self, name: &str) -> EngineResult<Digest> {
        let no_such = || EngineError::not_found(format!("No such image: {name}"));
        let parsed = parse_any(name).map_err(|_| no_such());
        let view = self.store.view();
        match parsed {
            Ok(ImageRef::Id(id)) => view.get(&id).map(|r| r.id.clone()).ok_or_else(no_such),
            Ok(ImageRef::Named(r)) => {
                let r = with_default_tag(&r);
                if let Some(id) = view.lookup(&r) {
                    return Ok(id.clone());
                }
                match id_prefix(name).map(|p| view.match_prefix(p)) {
                    Some(berth_store::images::PrefixMatch::One(id)) => Ok(id),
                    _ => Err(EngineError::not_found(format!(
                        "No such image: {}",
                        r.familiar_string()
                    ))),
                }
            }
            Err(e) => match id_prefix(name).map(|p| view.match_prefix(p)) {
                Some(berth_store::images::PrefixMatch::One(id)) => Ok(id),
                _ => Err(e),
            },
        }
    }

    /// Like [`resolve`](Self::resolve), for commands that use the image's content: the
    /// built-in `hello-world` image is registered on first use.
    pub fn resolve_for_use(&self, name: &str) -> EngineResult<Digest> {
        match self.resolve(name) {
            Err(e)
                if e.kind == crate::error::ErrorKind::NotFound
                    && builtin::names_hello_world(name) =>
            {
                builtin::register_hello_world(self)?;
                self.resolve(name)
            }
            other => other,
        }
    }
}

/// `name` as a reference with `:latest` added when it has neither tag nor digest.
pub fn with_default_tag(r: &Reference) -> Reference {
    if r.tag().is_none() && r.digest().is_none() {
        r.with_tag("latest").unwrap_or_else(|_| r.clone())
    } else {
        r.clone()
    }
}

/// Whether `name` means the image built into Berth, which is provided, not pulled.
pub fn is_builtin(name: &str) -> bool {
    builtin::names_hello_world(name)
}

impl ImageService {
    /// Provides the built-in image for a pull of its name.
    pub fn provide_builtin(&self, name: &str) -> EngineResult<Digest> {
        self.resolve_for_use(name)
    }
}
