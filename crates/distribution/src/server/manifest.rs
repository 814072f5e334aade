//! Reading pushed manifests: which of the four kinds (OCI manifest and index, Docker schema 2
//! manifest and manifest list) a body is, whether it is well formed, what it references
//! (for the push's existence checks and the collector's mark), and the descriptor it gets in
//! its subject's referrers list.

use std::collections::BTreeMap;

use berth_store::model::media_type as mt;
use berth_store::Digest;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Image,
    Index,
}

/// The descriptor fields the registry relies on.
#[derive(Debug, Clone, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default)]
    pub urls: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Manifest {
    pub media_type: String,
    pub kind: Kind,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    pub manifests: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub artifact_type: Option<String>,
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<i64>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
    annotations: Option<BTreeMap<String, String>>,
}

/// The media type of a `Content-Type` header, parameters dropped.
pub fn bare_media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

impl Manifest {
    /// Parses a pushed body. `content_type` is the request's, which must agree with the
    /// body's own `mediaType` when both are there. The error says what is wrong.
    pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Manifest, String> {
        let raw: Raw =
            serde_json::from_slice(body).map_err(|e| format!("manifest is not valid: {e}"))?;
        if raw.schema_version != Some(2) {
            return Err(format!(
                "unsupported schemaVersion {:?} (2 is required)",
                raw.schema_version
            ));
        }
        let header = content_type
            .map(bare_media_type)
            .filter(|t| !t.is_empty() && *t != "application/octet-stream");
        let media_type = match (&raw.media_type, header) {
            (Some(body), Some(header)) if body != header => {
                return Err(format!(
                    "mediaType {body:?} does not match the Content-Type {header:?}"
                ))
            }
            (Some(body), _) => body.clone(),
            (None, Some(header)) => header.to_string(),
            (None, None) if raw.manifests.is_some() => mt::OCI_INDEX.to_string(),
            (None, None) => mt::OCI_MANIFEST.to_string(),
        };
        let kind = if mt::is_image_manifest(&media_type) {
            Kind::Image
        } else if mt::is_index(&media_type) {
            Kind::Index
        } else {
            return Err(format!("unsupported manifest media type {media_type:?}"));
        };
        match kind {
            Kind::Image if raw.config.is_none() => return Err("manifest has no config".into()),
            Kind::Image if raw.layers.is_none() => return Err("manifest has no layers".into()),
            Kind::Index if raw.manifests.is_none() => return Err("index has no manifests".into()),
            _ => {}
        }
        Ok(Manifest {
            media_type,
            kind,
            config: raw.config,
            layers: raw.layers.unwrap_or_default(),
            manifests: raw.manifests.unwrap_or_default(),
            subject: raw.subject,
            artifact_type: raw.artifact_type.filter(|a| !a.is_empty()),
            annotations: raw.annotations,
        })
    }

    /// What must already be in the repository for this manifest to be accepted: its config,
    /// layers and child manifests. Foreign layers (with `urls`) live elsewhere, and the
    /// subject may arrive later, so neither is required.
    pub fn required(&self) -> impl Iterator<Item = &Descriptor> {
        self.config
            .iter()
            .chain(&self.layers)
            .chain(&self.manifests)
            .filter(|d| d.urls.is_empty())
    }

    /// Everything this manifest keeps alive, the subject included.
    pub fn references(&self) -> impl Iterator<Item = &Digest> {
        self.config
            .iter()
            .chain(&self.layers)
            .chain(&self.manifests)
            .chain(&self.subject)
            .map(|d| &d.digest)
    }

    /// The descriptor of this manifest in its subject's referrers list: `artifactType` is its
    /// own, else (for an image) its config's media type; its annotations are copied.
    pub fn referrer_descriptor(&self, digest: &Digest, size: u64) -> Value {
        let mut d = json!({
            "mediaType": self.media_type,
            "digest": digest.to_string(),
            "size": size,
        });
        let artifact_type = self.artifact_type.clone().or_else(|| match self.kind {
            Kind::Image => self.config.as_ref().map(|c| c.media_type.clone()),
            Kind::Index => None,
        });
        if let Some(a) = artifact_type {
            d["artifactType"] = json!(a);
        }
        if let Some(a) = self.annotations.as_ref().filter(|a| !a.is_empty()) {
            d["annotations"] = json!(a);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(mt: &str, bytes: &[u8]) -> Value {
        json!({"mediaType": mt, "digest": Digest::sha256(bytes).to_string(), "size": bytes.len()})
    }

    #[test]
    fn kinds_and_checks() {
        let image = json!({"schemaVersion": 2, "mediaType": mt::OCI_MANIFEST,
            "config": desc(mt::OCI_CONFIG, b"c"), "layers": [desc(mt::OCI_LAYER, b"l")]});
        let m = Manifest::parse(image.to_string().as_bytes(), Some(mt::OCI_MANIFEST)).unwrap();
        assert_eq!(m.kind, Kind::Image);
        assert_eq!(m.required().count(), 2);
        let wrong = Manifest::parse(image.to_string().as_bytes(), Some(mt::OCI_INDEX));
        assert!(wrong.unwrap_err().contains("does not match"));
        let list = json!({"schemaVersion": 2, "mediaType": mt::DOCKER_MANIFEST_LIST,
            "manifests": [desc(mt::DOCKER_MANIFEST, b"m")]});
        let m = Manifest::parse(list.to_string().as_bytes(), None).unwrap();
        assert_eq!(m.kind, Kind::Index);
        for bad in [
            json!({"schemaVersion": 1}).to_string(),
            json!({"schemaVersion": 2, "mediaType": mt::OCI_MANIFEST, "layers": []}).to_string(),
            json!({"schemaVersion": 2, "mediaType": "text/plain", "layers": []}).to_string(),
            json!({"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:zz", "size": 1}, "layers": []}).to_string(),
            "{not json".to_string(),
        ] {
            assert!(Manifest::parse(bad.as_bytes(), None).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn an_artifacts_referrer_descriptor() {
        let art = json!({"schemaVersion": 2, "mediaType": mt::OCI_MANIFEST,
            "config": desc("application/vnd.oci.empty.v1+json", b"{}"), "layers": [],
            "subject": desc(mt::OCI_MANIFEST, b"s"),
            "annotations": {"org.example": "yes"}});
        let m = Manifest::parse(art.to_string().as_bytes(), None).unwrap();
        let d = m.referrer_descriptor(&Digest::sha256(b"a"), 10);
        assert_eq!(d["artifactType"], "application/vnd.oci.empty.v1+json");
        assert_eq!(d["annotations"]["org.example"], "yes");
        assert_eq!(m.references().count(), 2);
    }
}
