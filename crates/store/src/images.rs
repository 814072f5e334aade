//! Image records and the references (tags and digests) that name them, kept in the
//! metadata database and mirrored in memory.
//!
//! Every change is one database transaction: registering an image together with its tags,
//! retagging, or deleting, either happens whole or not at all. Reads are served from the
//! in-memory mirror, which is only updated after the transaction commits.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use chrono::{DateTime, Utc};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::reference::Reference;
use crate::Digest;

const IMAGES: TableDefinition<&str, &[u8]> = TableDefinition::new("images");
const REFERENCES: TableDefinition<&str, &str> = TableDefinition::new("image_references");

/// What Berth knows of one image beyond its config blob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The digest of the config blob: the image ID.
    pub id: Digest,
    /// The manifest the image arrived with, when it arrived with one (OCI layouts, pulls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<BlobRef>,
    /// One entry per layer, bottom first, matching the config's diff IDs.
    pub layers: Vec<LayerRecord>,
    /// The image this one was built on, for images built locally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Digest>,
    /// When the config's `created` is absent, this is shown instead; also breaks ties.
    pub registered: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tag_time: Option<DateTime<Utc>>,
    /// Sum of the unpacked sizes of the layers.
    pub size: u64,
    /// `created` from the config, kept here so listings need not read the blob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    /// Labels from the config, for the same reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A blob in the content store and how to interpret it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
}

/// A layer of an image: the blob it is stored as and what it unpacks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// The digest of the uncompressed tar: the key of the unpacked layer directory.
    pub diff_id: Digest,
    /// The stored blob, possibly compressed.
    pub blob: BlobRef,
    /// Length of the uncompressed tar stream.
    pub tar_size: u64,
    /// Bytes of file content once unpacked.
    pub unpacked_size: u64,
}

impl ImageRecord {
    pub fn created_or_registered(&self) -> DateTime<Utc> {
        self.created.unwrap_or(self.registered)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("metadata database: {0}")]
    Db(#[from] redb::Error),
    #[error("metadata database: corrupt {what} record {key:?}: {reason}")]
    Corrupt {
        what: &'static str,
        key: String,
        reason: String,
    },
    #[error("metadata database: encoding record: {0}")]
    Encode(#[from] serde_json::Error),
}

pub(crate) fn db_err(e: impl Into<redb::Error>) -> MetadataError {
    MetadataError::Db(e.into())
}

/// One change in a transaction.
#[derive(Debug, Clone)]
pub enum Change {
    PutImage(ImageRecord),
    DeleteImage(Digest),
    /// Points a tag or digest reference at an image, replacing what it named before.
    SetReference(Reference, Digest),
    RemoveReference(Reference),
}

#[derive(Debug, Default)]
struct Mirror {
    images: HashMap<Digest, ImageRecord>,
    references: BTreeMap<Reference, Digest>,
}

/// The image records and references of one engine.
#[derive(Debug)]
pub struct ImageStore {
    db: Arc<Database>,
    mirror: RwLock<Mirror>,
}

/// A consistent read view of the store.
pub struct ImageView<'a> {
    mirror: RwLockReadGuard<'a, Mirror>,
}

impl ImageStore {
    /// Opens the image tables of `db`, creating them when missing, and loads them.
    pub fn open(db: Arc<Database>) -> Result<Self, MetadataError> {
        let tx = db.begin_write().map_err(db_err)?;
        tx.open_table(IMAGES).map_err(db_err)?;
        tx.open_table(REFERENCES).map_err(db_err)?;
        tx.commit().map_err(db_err)?;

        let mut mirror = Mirror::default();
        let rtx = db.begin_read().map_err(db_err)?;
        let images = rtx.open_table(IMAGES).map_err(db_err)?;
        for item in images.iter().map_err(db_err)? {
            let (key, value) = item.map_err(db_err)?;
            let record: ImageRecord =
                serde_json::from_slice(value.value()).map_err(|e| MetadataError::Corrupt {
                    what: "image",
                    key: key.value().to_string(),
                    reason: e.to_string(),
                })?;
            mirror.images.insert(record.id.clone(), record);
        }
        let refs = rtx.open_table(REFERENCES).map_err(db_err)?;
        for item in refs.iter().map_err(db_err)? {
            let (key, value) = item.map_err(db_err)?;
            let corrupt = |reason: String| MetadataError::Corrupt {
                what: "reference",
                key: key.value().to_string(),
                reason,
            };
            let reference =
                Reference::parse_normalized(key.value()).map_err(|e| corrupt(e.to_string()))?;
            let id = Digest::parse(value.value()).map_err(|e| corrupt(e.to_string()))?;
            mirror.references.insert(reference, id);
        }
        Ok(ImageStore {
            db,
            mirror: RwLock::new(mirror),
        })
    }

    pub fn view(&self) -> ImageView<'_> {
        ImageView {
            // A poisoned lock means a panic mid-update of the mirror, which only happens
            // after the database committed; the mirror's content is still usable.
            mirror: self.mirror.read().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Applies `changes` atomically. A reference may only name an image that exists after
    /// the transaction; deleting an image removes every reference to it.
    pub fn apply(&self, changes: Vec<Change>) -> Result<(), MetadataError> {
        let mut mirror = self.mirror.write().unwrap_or_else(|e| e.into_inner());
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut images = tx.open_table(IMAGES).map_err(db_err)?;
            let mut refs = tx.open_table(REFERENCES).map_err(db_err)?;
            for change in &changes {
                match change {
                    Change::PutImage(record) => {
                        let bytes = serde_json::to_vec(record)?;
                        images
                            .insert(record.id.to_string().as_str(), bytes.as_slice())
                            .map_err(db_err)?;
                    }
                    Change::DeleteImage(id) => {
                        images.remove(id.to_string().as_str()).map_err(db_err)?;
                        for (r, target) in &mirror.references {
                            if target == id {
                                refs.remove(r.to_string().as_str()).map_err(db_err)?;
                            }
                        }
                    }
                    Change::SetReference(r, id) => {
                        refs.insert(r.to_string().as_str(), id.to_string().as_str())
                            .map_err(db_err)?;
                    }
                    Change::RemoveReference(r) => {
                        refs.remove(r.to_string().as_str()).map_err(db_err)?;
                    }
                }
            }
        }
        tx.commit().map_err(db_err)?;
        for change in changes {
            match change {
                Change::PutImage(record) => {
                    mirror.images.insert(record.id.clone(), record);
                }
                Change::DeleteImage(id) => {
                    mirror.images.remove(&id);
                    mirror.references.retain(|_, target| *target != id);
                }
                Change::SetReference(r, id) => {
                    mirror.references.insert(r, id);
                }
                Change::RemoveReference(r) => {
                    mirror.references.remove(&r);
                }
            }
        }
        Ok(())
    }
}

/// What a short, user-typed ID prefix resolved to.
#[derive(Debug, PartialEq, Eq)]
pub enum PrefixMatch {
    None,
    One(Digest),
    Ambiguous,
}

impl ImageView<'_> {
    pub fn get(&self, id: &Digest) -> Option<&ImageRecord> {
        self.mirror.images.get(id)
    }

    pub fn images(&self) -> impl Iterator<Item = &ImageRecord> {
        self.mirror.images.values()
    }

    pub fn len(&self) -> usize {
        self.mirror.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.mirror.images.is_empty()
    }

    pub fn lookup(&self, reference: &Reference) -> Option<&Digest> {
        self.mirror.references.get(reference)
    }

    /// Every reference (tags first, then digests, each sorted) naming `id`.
    pub fn references_to(&self, id: &Digest) -> Vec<&Reference> {
        let mut refs: Vec<&Reference> = self
            .mirror
            .references
            .iter()
            .filter(|(_, target)| *target == id)
            .map(|(r, _)| r)
            .collect();
        refs.sort_by_key(|r| (r.digest().is_some(), r.to_string()));
        refs
    }

    pub fn references(&self) -> impl Iterator<Item = (&Reference, &Digest)> {
        self.mirror.references.iter()
    }

    /// Images whose parent is `id`.
    pub fn children(&self, id: &Digest) -> Vec<&Digest> {
        self.mirror
            .images
            .values()
            .filter(|r| r.parent.as_ref() == Some(id))
            .map(|r| &r.id)
            .collect()
    }

    /// Resolves a hex prefix of an image ID, as docker lets users type `3f57d9401f8d`.
    pub fn match_prefix(&self, prefix: &str) -> PrefixMatch {
        let mut found = None;
        for id in self.mirror.images.keys() {
            if id.hex().starts_with(prefix) {
                if found.is_some() {
                    return PrefixMatch::Ambiguous;
                }
                found = Some(id.clone());
            }
        }
        found.map_or(PrefixMatch::None, PrefixMatch::One)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u8) -> ImageRecord {
        ImageRecord {
            id: Digest::sha256(&[n]),
            manifest: None,
            layers: vec![],
            parent: None,
            registered: Utc::now(),
            last_tag_time: None,
            size: n as u64,
            created: None,
            labels: BTreeMap::new(),
        }
    }

    fn open(dir: &std::path::Path) -> ImageStore {
        let db = Database::create(dir.join("meta.redb")).unwrap();
        ImageStore::open(Arc::new(db)).unwrap()
    }

    fn tag(s: &str) -> Reference {
        Reference::parse_docker_ref(s).unwrap()
    }

    #[test]
    fn records_and_references_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let a = record(1);
        {
            let store = open(dir.path());
            store
                .apply(vec![
                    Change::PutImage(a.clone()),
                    Change::SetReference(tag("busybox"), a.id.clone()),
                    Change::SetReference(tag("example.com/x/y:1"), a.id.clone()),
                ])
                .unwrap();
        }
        let store = open(dir.path());
        let view = store.view();
        assert_eq!(view.get(&a.id), Some(&a));
        assert_eq!(view.lookup(&tag("busybox:latest")), Some(&a.id));
        assert_eq!(view.references_to(&a.id).len(), 2);
    }

    #[test]
    fn deleting_an_image_drops_its_references() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let (a, b) = (record(1), record(2));
        store
            .apply(vec![
                Change::PutImage(a.clone()),
                Change::PutImage(b.clone()),
                Change::SetReference(tag("a"), a.id.clone()),
                Change::SetReference(tag("b"), b.id.clone()),
            ])
            .unwrap();
        store
            .apply(vec![Change::DeleteImage(a.id.clone())])
            .unwrap();
        let view = store.view();
        assert!(view.get(&a.id).is_none());
        assert!(view.lookup(&tag("a")).is_none());
        assert_eq!(view.lookup(&tag("b")), Some(&b.id));
        drop(view);
        drop(store);
        let store = open(dir.path());
        assert!(store.view().lookup(&tag("a")).is_none());
    }

    #[test]
    fn retagging_moves_the_reference() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let (a, b) = (record(1), record(2));
        store
            .apply(vec![
                Change::PutImage(a.clone()),
                Change::PutImage(b.clone()),
                Change::SetReference(tag("app"), a.id.clone()),
            ])
            .unwrap();
        store
            .apply(vec![Change::SetReference(tag("app"), b.id.clone())])
            .unwrap();
        let view = store.view();
        assert_eq!(view.lookup(&tag("app")), Some(&b.id));
        assert!(view.references_to(&a.id).is_empty());
    }

    #[test]
    fn id_prefixes_resolve_uniquely() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let a = record(1);
        store.apply(vec![Change::PutImage(a.clone())]).unwrap();
        let view = store.view();
        assert_eq!(
            view.match_prefix(&a.id.hex()[..6]),
            PrefixMatch::One(a.id.clone())
        );
        assert_eq!(view.match_prefix("zz"), PrefixMatch::None);
    }
}
