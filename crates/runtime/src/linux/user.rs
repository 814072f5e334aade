//! Who the container process runs as: `--user` (`name`, `uid`, `name:group`, `uid:gid`)
//! resolved against the container's own /etc/passwd and /etc/group, read through a
//! confined lookup so a symlinked /etc in the image cannot point at the host's files.

use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;

use super::paths::{open_in_root, Create};

/// A resolved identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoGroup(String),
    #[error("invalid user specification {0:?}")]
    Invalid(String),
}

/// Reads a file under the container root, confined; missing or unreadable is empty.
fn read_confined(root: impl AsFd, path: &str) -> String {
    let Ok(fd) = open_in_root(root, Path::new(path), Create::Nothing) else {
        return String::new();
    };
    // Reopen the O_PATH descriptor for reading through its magic link, which names
    // exactly the file resolved above.
    let Ok(mut f) = std::fs::File::open(super::paths::fd_path(&fd)) else {
        return String::new();
    };
    let mut s = String::new();
    let _ = f.by_ref().take(4 << 20).read_to_string(&mut s);
    s
}

struct Passwd {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

fn parse_passwd(text: &str) -> Vec<Passwd> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(Passwd {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

/// (name, gid, members)
fn parse_group(text: &str) -> Vec<(String, u32, Vec<String>)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            let members = f[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect();
            Some((f[0].to_string(), f[2].parse().ok()?, members))
        })
        .collect()
}

/// Resolves `spec` (empty means root) inside the container root, as docker does: numeric
/// ids need no entry (a missing passwd entry for a uid is fine), names must exist;
/// supplementary groups come from /etc/group membership (unless a group is given) plus
/// `extra_groups`.
pub fn resolve(
    root: impl AsFd,
    spec: &str,
    extra_groups: &[String],
) -> Result<Identity, UserError> {
    let root = root.as_fd();
    let passwd = parse_passwd(&read_confined(root, "/etc/passwd"));
    let groups = parse_group(&read_confined(root, "/etc/group"));
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let (uid, mut gid, home, name) = match user_part.parse::<u32>() {
        Ok(uid) => match passwd.iter().find(|p| p.uid == uid) {
            Some(p) => (uid, p.gid, p.home.clone(), Some(p.name.clone())),
            None => (uid, 0, "/".to_string(), None),
        },
        Err(_) => {
            let p = passwd
                .iter()
                .find(|p| p.name == user_part)
                .ok_or_else(|| UserError::NoUser(user_part.to_string()))?;
            (p.uid, p.gid, p.home.clone(), Some(p.name.clone()))
        }
    };
    if let Some(g) = group_part {
        if g.is_empty() {
            return Err(UserError::Invalid(spec.to_string()));
        }
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => groups
                .iter()
                .find(|(n, _, _)| n == g)
                .map(|(_, id, _)| *id)
                .ok_or_else(|| UserError::NoGroup(g.to_string()))?,
        };
    }
    let mut additional = Vec::new();
    // Membership groups come only with the implicit form: `user:group` names the one group.
    if let (Some(name), None) = (&name, group_part) {
        for (_, id, members) in &groups {
            if members.iter().any(|m| m == name) && *id != gid && !additional.contains(id) {
                additional.push(*id);
            }
        }
    }
    for g in extra_groups {
        let id = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => groups
                .iter()
                .find(|(n, _, _)| n == g)
                .map(|(_, id, _)| *id)
                .ok_or_else(|| UserError::NoGroup(g.clone()))?,
        };
        if !additional.contains(&id) {
            additional.push(id);
        }
    }
    Ok(Identity {
        uid,
        gid,
        additional_gids: additional,
        home,
    })
}

/// Takes the identity `uid`, `gid` and supplementary `groups`, keeping the capabilities
/// across the change (the caller sets them right after). In a process about to exec.
pub fn switch_to(uid: u32, gid: u32, groups: &[u32]) -> Result<(), super::StartError> {
    use super::StartError;
    use rustix::thread::{Gid, Uid};
    let groups: Vec<Gid> = groups.iter().map(|g| Gid::from_raw(*g)).collect();
    rustix::thread::set_keep_capabilities(true)
        .map_err(|e| StartError::os("prctl(PR_SET_KEEPCAPS)", e))?;
    rustix::thread::set_thread_groups(&groups).map_err(|e| StartError::os("setgroups", e))?;
    let gid = Gid::from_raw(gid);
    rustix::thread::set_thread_res_gid(gid, gid, gid).map_err(|e| StartError::os("setgid", e))?;
    let uid = Uid::from_raw(uid);
    rustix::thread::set_thread_res_uid(uid, uid, uid).map_err(|e| StartError::os("setuid", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{Mode, OFlags};

    fn root_with(passwd: &str, group: &str) -> (tempfile::TempDir, std::os::fd::OwnedFd) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/passwd"), passwd).unwrap();
        std::fs::write(dir.path().join("etc/group"), group).unwrap();
        let fd =
            rustix::fs::open(dir.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        (dir, fd)
    }

    #[test]
    fn resolves_docker_user_forms() {
        let (_d, root) = root_with(
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
            "root:x:0:\napp:x:1000:\nwheel:x:10:app\nstaff:x:50:\n",
        );
        let id = resolve(&root, "", &[]).unwrap();
        assert_eq!((id.uid, id.gid, id.home.as_str()), (0, 0, "/root"));
        let id = resolve(&root, "app", &[]).unwrap();
        assert_eq!(
            (id.uid, id.gid, id.additional_gids.clone()),
            (1000, 1000, vec![10])
        );
        let id = resolve(&root, "app:staff", &[]).unwrap();
        assert_eq!(
            (id.gid, id.additional_gids),
            (50, vec![]),
            "no membership groups"
        );
        assert_eq!(resolve(&root, "1000:7", &[]).unwrap().gid, 7);
        let id = resolve(&root, "4242", &["staff".into()]).unwrap();
        assert_eq!(
            (id.uid, id.gid, id.home.as_str(), id.additional_gids.clone()),
            (4242, 0, "/", vec![50])
        );
        assert_eq!(
            resolve(&root, "nobody", &[]).unwrap_err(),
            UserError::NoUser("nobody".into())
        );
        assert!(matches!(
            resolve(&root, "app:nogroup", &[]),
            Err(UserError::NoGroup(_))
        ));
        assert!(resolve(&root, "app:", &[]).is_err());
    }

    #[test]
    fn a_symlinked_etc_does_not_reach_the_host() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
        let root =
            rustix::fs::open(dir.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        // The host has a root entry; the confined lookup must not see it.
        assert!(matches!(
            resolve(&root, "root", &[]),
            Err(UserError::NoUser(_))
        ));
    }
}
