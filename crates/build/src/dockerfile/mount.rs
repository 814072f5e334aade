//! `RUN --mount=type=…,key=value,…`: bind, cache, tmpfs, secret and ssh mounts, with the
//! defaults and checks of BuildKit's dockerfile frontend.
//!
//! Values are taken literally: variable references in mount options are not expanded.

/// A mount's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    /// Files from the context, a stage or an image (`from=`); the default type.
    Bind,
    /// A persistent cache directory shared between builds.
    Cache,
    /// An empty tmpfs.
    Tmpfs,
    /// A build secret as a file (default `/run/secrets/<id>`) or an environment variable.
    Secret,
    /// The SSH agent socket.
    Ssh,
}

impl MountType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "bind" => MountType::Bind,
            "cache" => MountType::Cache,
            "tmpfs" => MountType::Tmpfs,
            "secret" => MountType::Secret,
            "ssh" => MountType::Ssh,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Many writers at once (the default).
    Shared,
    /// Each writer gets its own copy.
    Private,
    /// One writer at a time; others wait.
    Locked,
}

/// One `--mount` of a RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `type=`.
    pub kind: MountType,
    /// `target=` (also `dst=`, `destination=`, `dest=`).
    pub target: Option<String>,
    /// `source=` / `src=`: the path within `from`, or the secret's source.
    pub source: Option<String>,
    /// `from=`: the stage or image to mount from (bind, cache).
    pub from: Option<String>,
    /// `id=`: the cache's or secret's id.
    pub id: Option<String>,
    /// `sharing=`; cache mounts default to shared.
    pub sharing: Option<Sharing>,
    /// `mode=` in octal (cache, secret, ssh).
    pub mode: Option<u32>,
    /// `uid=` (cache, secret, ssh).
    pub uid: Option<u32>,
    /// `gid=` (cache, secret, ssh).
    pub gid: Option<u32>,
    /// Read-only: the default for bind, secret and ssh; `rw`/`ro` override.
    pub readonly: bool,
    /// `required` (secret, ssh): fail when the secret or agent is missing.
    pub required: bool,
    /// `size=` of a tmpfs, in bytes.
    pub size: Option<u64>,
    /// `env=` of a secret: expose it as this environment variable.
    pub env: Option<String>,
}

/// Parses the value of one `--mount` flag.
pub(super) fn parse(spec: &str) -> Result<Mount, String> {
    let mut m = Mount {
        kind: MountType::Bind,
        target: None,
        source: None,
        from: None,
        id: None,
        sharing: None,
        mode: None,
        uid: None,
        gid: None,
        readonly: false,
        required: false,
        size: None,
        env: None,
    };
    let mut readonly: Option<bool> = None;
    for field in csv_fields(spec)? {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
            None => (field.to_ascii_lowercase(), None),
        };
        let unexpected =
            |m: &Mount| format!("unexpected key '{key}' for mount type '{}'", m.kind.name());
        let Some(value) = value else {
            match key.as_str() {
                "readonly" | "ro" => readonly = Some(true),
                "readwrite" | "rw" => readonly = Some(false),
                "required" if matches!(m.kind, MountType::Secret | MountType::Ssh) => {
                    m.required = true
                }
                "required" => return Err(unexpected(&m)),
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        let invalid = || format!("invalid value for {key}: {value}");
        match key.as_str() {
            "type" => {
                m.kind = MountType::parse(&value)
                    .ok_or_else(|| format!("unsupported mount type {value:?}"))?
            }
            "target" | "dst" | "destination" | "dest" => m.target = Some(value),
            "source" | "src" => m.source = Some(value),
            "from" => m.from = Some(value),
            "id" => m.id = Some(value),
            "env" => m.env = Some(value),
            "readonly" | "ro" => readonly = Some(parse_bool(&value).ok_or_else(invalid)?),
            "readwrite" | "rw" => readonly = Some(!parse_bool(&value).ok_or_else(invalid)?),
            "required" if matches!(m.kind, MountType::Secret | MountType::Ssh) => {
                m.required = parse_bool(&value).ok_or_else(invalid)?
            }
            "required" => return Err(unexpected(&m)),
            "size" if m.kind == MountType::Tmpfs => {
                m.size = Some(ram_in_bytes(&value).ok_or_else(invalid)?)
            }
            "size" => return Err(unexpected(&m)),
            "sharing" => {
                m.sharing = Some(match value.to_ascii_lowercase().as_str() {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    "locked" => Sharing::Locked,
                    _ => return Err(format!("unsupported sharing value {value:?}")),
                })
            }
            "mode" => {
                m.mode = Some(
                    u32::from_str_radix(&value, 8)
                        .map_err(|_| format!("invalid value {value} for mode"))?,
                )
            }
            "uid" => {
                m.uid = Some(
                    value
                        .parse()
                        .map_err(|_| format!("invalid value {value} for uid"))?,
                )
            }
            "gid" => {
                m.gid = Some(
                    value
                        .parse()
                        .map_err(|_| format!("invalid value {value} for gid"))?,
                )
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    check(&mut m, readonly)?;
    Ok(m)
}

/// The checks and defaults that depend on the whole mount.
fn check(m: &mut Mount, readonly: Option<bool>) -> Result<(), String> {
    let kind = m.kind.name();
    if !matches!(
        m.kind,
        MountType::Secret | MountType::Ssh | MountType::Cache
    ) {
        for (name, set) in [
            ("mode", m.mode.is_some()),
            ("uid", m.uid.is_some()),
            ("gid", m.gid.is_some()),
        ] {
            if set {
                return Err(format!("{name} not allowed for {kind:?} type mounts"));
            }
        }
    }
    // Caches and tmpfs are written to; everything else is read-only unless asked.
    m.readonly = readonly.unwrap_or(!matches!(m.kind, MountType::Cache | MountType::Tmpfs));
    if m.sharing.is_some() && m.kind != MountType::Cache {
        return Err(format!("invalid cache sharing set for {kind} mount"));
    }
    match m.kind {
        MountType::Cache => {
            m.sharing.get_or_insert(Sharing::Shared);
        }
        MountType::Secret => {
            if m.from.is_some() {
                return Err("secret mount should not have a from".into());
            }
            if m.source.is_some() && m.id.is_some() {
                return Err("both source and id can't be set".into());
            }
            if m.source.is_none() && m.target.is_none() && m.id.is_none() && m.env.is_none() {
                return Err("invalid secret mount. one of source, target required".into());
            }
        }
        _ => {}
    }
    if matches!(
        m.kind,
        MountType::Bind | MountType::Cache | MountType::Tmpfs
    ) && m.target.is_none()
    {
        return Err(format!("mount type {kind} requires a target"));
    }
    Ok(())
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `64m`, `1g`, `512k`, `100` (bytes): binary multiples, an optional `b`/`ib` suffix.
fn ram_in_bytes(s: &str) -> Option<u64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let lower = lower.strip_suffix('i').unwrap_or(lower);
    let (num, unit) = match lower.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => lower.split_at(i),
        None => (lower, ""),
    };
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return None,
    };
    let n: f64 = num.trim().parse().ok().filter(|n: &f64| *n >= 0.0)?;
    Some((n * (1u64 << shift) as f64) as u64)
}

/// One CSV record, as Go's `encoding/csv` reads it: `,` separates, a field that starts with
/// `"` is quoted and `""` inside it is a quote. Empty fields are dropped.
fn csv_fields(s: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut at_start = true;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if at_start => {
                loop {
                    match chars.next() {
                        None => return Err(format!("invalid mount {s:?}: unterminated quote")),
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => field.push(c),
                    }
                }
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err(format!("invalid mount {s:?}: text after a closing quote"));
                }
                at_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    fields.push(field);
    Ok(fields.into_iter().filter(|f| !f.is_empty()).collect())
}
