//! `berth daemon` command-line flags, spelled as dockerd spells them.

use std::path::PathBuf;

use clap::{ArgAction, Parser, ValueEnum};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "berth daemon",
    about = "Run the Berth engine",
    version,
    disable_version_flag = true
)]
pub struct DaemonArgs {
    /// Daemon socket(s) to listen on (unix:///path or tcp://host:port)
    #[arg(short = 'H', long = "host", value_name = "HOST", action = ArgAction::Append)]
    pub hosts: Vec<String>,

    /// Root directory of persistent Berth state
    #[arg(long, value_name = "DIR")]
    pub data_root: Option<PathBuf>,

    /// Root directory for execution state files (sockets, shim state)
    #[arg(long, value_name = "DIR")]
    pub exec_root: Option<PathBuf>,

    /// Path to use for the daemon PID file
    #[arg(short = 'p', long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,

    /// Set the logging level
    #[arg(short = 'l', long, value_enum, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,

    /// Set the logging format
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Enable debug mode
    #[arg(short = 'D', long)]
    pub debug: bool,

    /// Daemon configuration file
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// Group for the unix socket
    #[arg(short = 'G', long, value_name = "GROUP")]
    pub group: Option<String>,

    /// Enable insecure registry communication
    #[arg(long = "insecure-registry", value_name = "REGISTRY", action = ArgAction::Append)]
    pub insecure_registries: Vec<String>,

    /// Preferred registry mirror
    #[arg(long = "registry-mirror", value_name = "URL", action = ArgAction::Append)]
    pub registry_mirrors: Vec<String>,

    /// Parent cgroup for all containers
    #[arg(long, value_name = "PARENT")]
    pub cgroup_parent: Option<String>,

    /// Default driver for container logs
    #[arg(long = "log-driver", value_name = "DRIVER")]
    pub log_driver: Option<String>,

    /// Default log driver options for containers
    #[arg(long = "log-opt", value_name = "KEY=VALUE", action = ArgAction::Append)]
    pub log_opts: Vec<String>,

    /// Name of the bridge device of the default "bridge" network (default "berth0")
    #[arg(short = 'b', long = "bridge", value_name = "NAME")]
    pub bridge: Option<String>,

    /// Address and prefix of the default bridge (e.g. 10.88.0.1/16); chosen from free
    /// private ranges when absent
    #[arg(long = "bip", value_name = "CIDR")]
    pub bip: Option<String>,

    /// Set key=value labels to the daemon
    #[arg(long = "label", value_name = "KEY=VALUE", action = ArgAction::Append)]
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl LogLevel {
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error | LogLevel::Fatal => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}
