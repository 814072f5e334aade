//! The build cache's index: for each build step's cache key (its parent image, the
//! instruction after substitution, and the content of what it reads), the image the step
//! made. The images themselves are ordinary images; an entry whose image is gone is simply
//! a miss, so the index can never name something wrong, only something missing.

use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::images::db_err;
use crate::{Digest, MetadataError};

const BUILD_CACHE: TableDefinition<&str, &str> = TableDefinition::new("build_cache");
/// Notes builds leave for later ones (the files a COPY read, to tell why it missed).
const BUILD_NOTES: TableDefinition<&str, &str> = TableDefinition::new("build_notes");

#[derive(Debug)]
pub struct BuildCache {
    db: Arc<Database>,
}

impl BuildCache {
    /// Opens the cache table of `db`, creating it when missing.
    pub fn open(db: Arc<Database>) -> Result<BuildCache, MetadataError> {
        let tx = db.begin_write().map_err(db_err)?;
        tx.open_table(BUILD_CACHE).map_err(db_err)?;
        tx.open_table(BUILD_NOTES).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(BuildCache { db })
    }

    /// The image recorded for `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<Digest>, MetadataError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(BUILD_CACHE).map_err(db_err)?;
        let Some(value) = table.get(key).map_err(db_err)? else {
            return Ok(None);
        };
        Digest::parse(value.value())
            .map(Some)
            .map_err(|e| MetadataError::Corrupt {
                what: "build cache entry",
                key: key.to_string(),
                reason: e.to_string(),
            })
    }

    /// Records several entries in one transaction.
    pub fn put_all(&self, entries: &[(String, Digest)]) -> Result<(), MetadataError> {
        if entries.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut table = tx.open_table(BUILD_CACHE).map_err(db_err)?;
            for (key, id) in entries {
                table
                    .insert(key.as_str(), id.to_string().as_str())
                    .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    /// The note under `key`.
    pub fn note(&self, key: &str) -> Result<Option<String>, MetadataError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(BUILD_NOTES).map_err(db_err)?;
        Ok(table
            .get(key)
            .map_err(db_err)?
            .map(|v| v.value().to_string()))
    }

    /// Keeps notes, replacing older ones under the same keys.
    pub fn put_notes(&self, notes: &[(String, String)]) -> Result<(), MetadataError> {
        if notes.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut table = tx.open_table(BUILD_NOTES).map_err(db_err)?;
            for (k, v) in notes {
                table.insert(k.as_str(), v.as_str()).map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    /// Every entry, as (key, image).
    pub fn entries(&self) -> Result<Vec<(String, Digest)>, MetadataError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(BUILD_CACHE).map_err(db_err)?;
        let mut out = Vec::new();
        for item in table.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            if let Ok(id) = Digest::parse(v.value()) {
                out.push((k.value().to_string(), id));
            }
        }
        Ok(out)
    }

    /// Drops the entries whose image `gone` says no longer exists; returns how many.
    pub fn forget(&self, gone: impl Fn(&Digest) -> bool) -> Result<usize, MetadataError> {
        let stale: Vec<String> = self
            .entries()?
            .into_iter()
            .filter(|(_, id)| gone(id))
            .map(|(k, _)| k)
            .collect();
        if stale.is_empty() {
            return Ok(0);
        }
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut table = tx.open_table(BUILD_CACHE).map_err(db_err)?;
            for key in &stale {
                table.remove(key.as_str()).map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)?;
        Ok(stale.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_kept_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Database::create(dir.path().join("m.redb")).unwrap());
        let cache = BuildCache::open(db.clone()).unwrap();
        let a = Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap();
        let b = Digest::parse(&format!("sha256:{}", "b".repeat(64))).unwrap();
        assert_eq!(cache.get("k1").unwrap(), None);
        cache
            .put_all(&[("k1".into(), a.clone()), ("k2".into(), b.clone())])
            .unwrap();
        assert_eq!(cache.get("k1").unwrap(), Some(a.clone()));
        assert_eq!(cache.forget(|id| *id == b).unwrap(), 1);
        assert_eq!(cache.get("k2").unwrap(), None);
        let again = BuildCache::open(db).unwrap();
        assert_eq!(again.entries().unwrap(), vec![("k1".to_string(), a)]);
    }
}
