//! Container file system bodies: the stat of a path in a container (`HEAD`/`GET
//! /containers/{id}/archive`, sent base64-encoded in a header), the changes of
//! `/containers/{id}/changes`, and the query of `POST /commit`.

use serde::{Deserialize, Serialize};

/// The response header holding a [`ContainerPathStat`].
pub const PATH_STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// Go's `os.FileMode` bits, in which the stat's `mode` is expressed.
pub mod file_mode {
    pub const DIR: u32 = 1 << 31;
    pub const SYMLINK: u32 = 1 << 27;
    pub const DEVICE: u32 = 1 << 26;
    pub const NAMED_PIPE: u32 = 1 << 25;
    pub const SOCKET: u32 = 1 << 24;
    pub const SETUID: u32 = 1 << 23;
    pub const SETGID: u32 = 1 << 22;
    pub const CHAR_DEVICE: u32 = 1 << 21;
    pub const STICKY: u32 = 1 << 20;

    /// A Unix `st_mode` as Go's `FileMode`.
    pub fn from_unix(st_mode: u32) -> u32 {
        let mut m = st_mode & 0o777;
        m |= match st_mode & 0o170000 {
            0o040000 => DIR,
            0o120000 => SYMLINK,
            0o060000 => DEVICE,
            0o020000 => DEVICE | CHAR_DEVICE,
            0o010000 => NAMED_PIPE,
            0o140000 => SOCKET,
            _ => 0,
        };
        if st_mode & 0o4000 != 0 {
            m |= SETUID;
        }
        if st_mode & 0o2000 != 0 {
            m |= SETGID;
        }
        if st_mode & 0o1000 != 0 {
            m |= STICKY;
        }
        m
    }
}

/// `types.ContainerPathStat`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerPathStat {
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` (see [`file_mode`]).
    pub mode: u32,
    /// RFC 3339.
    pub mtime: String,
    /// For a symlink, what it resolves to inside the container.
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

impl ContainerPathStat {
    /// The header value: the JSON, base64-encoded.
    pub fn encode(&self) -> String {
        crate::base64::encode(&serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(header: &str) -> Result<ContainerPathStat, String> {
        let json = crate::base64::decode(header)?;
        serde_json::from_slice(&json).map_err(|e| format!("invalid path stat: {e}"))
    }

    pub fn is_dir(&self) -> bool {
        self.mode & file_mode::DIR != 0
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & file_mode::SYMLINK != 0
    }
}

/// An entry of `GET /containers/{id}/changes`: `Kind` 0 modified, 1 added, 2 deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilesystemChange {
    pub path: String,
    pub kind: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_gos() {
        assert_eq!(file_mode::from_unix(0o040755), file_mode::DIR | 0o755);
        assert_eq!(file_mode::from_unix(0o120777), file_mode::SYMLINK | 0o777);
        assert_eq!(file_mode::from_unix(0o100644), 0o644);
        assert_eq!(
            file_mode::from_unix(0o041777),
            file_mode::DIR | file_mode::STICKY | 0o777
        );
    }

    #[test]
    fn the_header_round_trips() {
        let s = ContainerPathStat {
            name: "passwd".into(),
            size: 42,
            mode: 0o644,
            mtime: "2024-01-01T00:00:00Z".into(),
            link_target: String::new(),
        };
        let h = s.encode();
        assert_eq!(ContainerPathStat::decode(&h).unwrap(), s);
        assert!(ContainerPathStat::decode("!!").is_err());
    }
}
