//! The volume flags, spelled as docker spells them: `berth volume …` and the storage flags
//! of `run`/`create`.

use clap::{Args, Subcommand};

/// The volume and mount flags of `run` and `create`.
#[derive(Debug, Args, Clone, Default)]
pub struct ContainerVolumeFlags {
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume", value_name = "[SOURCE:]TARGET[:OPTIONS]")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long, value_name = "type=TYPE,target=PATH[,…]")]
    pub mount: Vec<String>,
    /// Optional volume driver for the container
    #[arg(long = "volume-driver", value_name = "DRIVER")]
    pub volume_driver: Option<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long = "volumes-from", value_name = "CONTAINER[:ro|rw]")]
    pub volumes_from: Vec<String>,
}

/// `berth volume …`
#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(VolumeCreateArgs),
    /// Display detailed information on one or more volumes
    Inspect(VolumeInspectArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(VolumeLsArgs),
    /// Remove all unused local volumes
    Prune(VolumePruneArgs),
    /// Remove one or more volumes. You cannot remove a volume that is in use by a container.
    #[command(visible_alias = "remove")]
    Rm(VolumeRmArgs),
}

#[derive(Debug, Args, Clone, Default)]
pub struct VolumeCreateArgs {
    /// Specify volume driver name
    #[arg(short, long, default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume
    #[arg(long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    pub opt: Vec<String>,
    /// Specify volume name
    #[arg(long, hide = true)]
    pub name: Option<String>,
    #[arg(value_name = "VOLUME")]
    pub volume: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct VolumeLsArgs {
    /// Provide filter values (e.g. 'dangling=true')
    #[arg(short, long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Pretty-print volumes using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Only display volume names
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct VolumeInspectArgs {
    /// Format the output using the given Go template
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(required = true, value_name = "VOLUME")]
    pub volumes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VolumeRmArgs {
    /// Force the removal of one or more volumes
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true, value_name = "VOLUME")]
    pub volumes: Vec<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct VolumePruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (e.g. 'label=<label>')
    #[arg(long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}
