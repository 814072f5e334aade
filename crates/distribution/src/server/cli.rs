//! The flags of `berth registry serve` and `berth registry gc`, and the parsers for the
//! durations (`24h`, `90s`, `1h30m`, `0`) and sizes (`512MiB`, `10G`, bytes) they take.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

pub const DEFAULT_ROOT: &str = "/var/lib/berth-registry";

#[derive(Debug, Parser)]
#[command(
    name = "berth registry",
    about = "An OCI distribution registry over Berth's content store"
)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the larger variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the registry API
    Serve(ServeArgs),
    /// Delete the blobs no manifest references (safe while `serve` runs on the same root)
    Gc(GcArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the address is printed)
    #[arg(long, default_value = "127.0.0.1:5000")]
    pub addr: String,
    /// Where blobs and repository metadata live
    #[arg(long, default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Serve HTTPS with this PEM certificate chain
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require HTTP Basic auth against this htpasswd file (bcrypt entries, `htpasswd -B`)
    #[arg(long, conflicts_with = "token_realm")]
    pub htpasswd: Option<PathBuf>,
    /// Require bearer tokens, obtained from this token service URL
    #[arg(long, requires_all = ["token_issuer", "token_service", "token_key"])]
    pub token_realm: Option<String>,
    /// The `iss` tokens must carry
    #[arg(long, requires = "token_realm")]
    pub token_issuer: Option<String>,
    /// The `aud` tokens must carry, and the `service` of the challenge
    #[arg(long, requires = "token_realm")]
    pub token_service: Option<String>,
    /// PEM public key or certificate that verifies tokens (RS256 or ES256)
    #[arg(long, requires = "token_realm")]
    pub token_key: Option<PathBuf>,
    /// Refuse every write (pushes, deletes) with 405 UNSUPPORTED
    #[arg(long)]
    pub read_only: bool,
    /// Largest blob an upload may grow to (bytes; K, M, G, KiB, MiB, GiB suffixes)
    #[arg(long, value_parser = parse_size, default_value = "32GiB")]
    pub max_upload_size: u64,
    /// Upload sessions untouched for this long are dropped with their data
    #[arg(long, value_parser = parse_duration, default_value = "24h")]
    pub upload_purge_age: Duration,
    /// Open upload sessions allowed at once; more get 429 TOOMANYREQUESTS
    #[arg(long, default_value_t = 1000)]
    pub max_uploads: usize,
    /// Run garbage collection this often (0 = never)
    #[arg(long, value_parser = parse_duration, default_value = "0")]
    pub gc_interval: Duration,
    /// Scheduled collection spares blobs and manifests younger than this
    #[arg(long, value_parser = parse_duration, default_value = "1h")]
    pub gc_grace: Duration,
    /// Log filter (error, warn, info, debug, trace, or tracing directives)
    #[arg(long, env = "BERTH_LOG", default_value = "info")]
    pub log_level: String,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// The registry's storage root
    #[arg(long, default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Report what would be removed without removing it
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete manifests no tag reaches (directly, through an index or as a referrer)
    #[arg(long)]
    pub delete_untagged: bool,
    /// Spare blobs and manifests committed or touched within this long (pushes in progress)
    #[arg(long, value_parser = parse_duration, default_value = "1h")]
    pub grace: Duration,
    /// Log filter
    #[arg(long, env = "BERTH_LOG", default_value = "warn")]
    pub log_level: String,
}

/// `0`, `500ms`, `90s`, `15m`, `24h`, `2d`, or sums of them (`1h30m`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration (try 90s, 15m, 24h)".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit_len = rest[digits..]
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        if digits == 0 || unit_len == 0 {
            return Err(format!("invalid duration {s:?} (try 90s, 15m, 24h)"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}"))?;
        let unit = match &rest[digits..digits + unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86400),
            u => return Err(format!("invalid duration {s:?}: unknown unit {u:?}")),
        };
        let part = unit
            .checked_mul(u32::try_from(n).map_err(|_| format!("duration {s:?} too long"))?)
            .ok_or_else(|| format!("duration {s:?} too long"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("duration {s:?} too long"))?;
        rest = &rest[digits + unit_len..];
    }
    Ok(total)
}

/// Bytes, with an optional decimal (K, M, G, T) or binary (KiB, MiB, GiB, TiB) suffix.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = s[..digits]
        .parse()
        .map_err(|_| format!("invalid size {s:?}"))?;
    let mult: u64 = match s[digits..].trim() {
        "" | "B" => 1,
        "K" | "KB" => 1_000,
        "M" | "MB" => 1_000_000,
        "G" | "GB" => 1_000_000_000,
        "T" | "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        u => return Err(format!("invalid size {s:?}: unknown unit {u:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "h", "10", "10x", "-1s", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert_eq!(parse_size("3G"), Ok(3_000_000_000));
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("1XB").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }

    #[test]
    fn token_flags_come_together() {
        let parse = |a: &[&str]| RegistryArgs::try_parse_from(a);
        assert!(parse(&["r", "serve", "--token-realm", "http://x"]).is_err());
        assert!(parse(&["r", "serve", "--tls-cert", "c.pem"]).is_err());
        assert!(parse(&["r", "serve", "--htpasswd", "f"]).is_ok());
        let ok = parse(&[
            "r",
            "serve",
            "--token-realm",
            "http://auth/token",
            "--token-issuer",
            "i",
            "--token-service",
            "s",
            "--token-key",
            "k.pem",
        ]);
        assert!(ok.is_ok());
    }
}
