//! The container commands.

mod copy;
mod copy_extract;
mod copy_local;
mod endpoints;
mod exec;
mod fs;
mod logs;
mod manage;
mod ops;
mod ports;
mod ps;
mod request;
pub(crate) use request::{ram_in_bytes, ulimit};
mod run;
mod stats;
mod stats_entry;
mod streams;
mod top;
mod volumes;

use berth_api::Client;

use crate::app::ContainerCommand;
use crate::error::CliResult;

pub use copy::cp;
pub use exec::exec;
pub use fs::{commit, diff, export};
pub use logs::logs;
pub use manage::{attach, kill, prune, restart, rm, stop, wait};
pub use ops::{pause, port, rename, unpause, update};
pub use ps::{headers as ps_headers, ps, row as ps_row};
pub(super) use request::duration_ns;
pub use run::{create, run, start};
pub use stats::stats;
pub use top::top;

pub async fn container(client: Client, cmd: ContainerCommand) -> CliResult {
    match cmd {
        ContainerCommand::Run(a) => run(client, a).await,
        ContainerCommand::Create(a) => create(&client, a).await,
        ContainerCommand::Start(a) => start(client, a).await,
        ContainerCommand::Stop(a) => stop(&client, a).await,
        ContainerCommand::Restart(a) => restart(&client, a).await,
        ContainerCommand::Kill(a) => kill(&client, a).await,
        ContainerCommand::Rm(a) => rm(&client, a).await,
        ContainerCommand::Ls(a) => ps(&client, a).await,
        ContainerCommand::Logs(a) => logs(&client, a).await,
        ContainerCommand::Wait(a) => wait(&client, a).await,
        ContainerCommand::Attach(a) => attach(client, a).await,
        ContainerCommand::Exec(a) => exec(client, a).await,
        ContainerCommand::Inspect(a) => super::inspect::containers(&client, a).await,
        ContainerCommand::Prune(a) => prune(&client, a).await,
        ContainerCommand::Pause(a) => pause(&client, a).await,
        ContainerCommand::Unpause(a) => unpause(&client, a).await,
        ContainerCommand::Rename(a) => rename(&client, a).await,
        ContainerCommand::Update(a) => update(&client, a).await,
        ContainerCommand::Top(a) => top(&client, a).await,
        ContainerCommand::Stats(a) => stats(client, a).await,
        ContainerCommand::Port(a) => port(&client, a).await,
        ContainerCommand::Cp(a) => cp(&client, a).await,
        ContainerCommand::Diff(a) => diff(&client, a).await,
        ContainerCommand::Commit(a) => commit(&client, a).await,
        ContainerCommand::Export(a) => export(&client, a).await,
    }
}
