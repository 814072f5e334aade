//! The container commands.

mod exec;
mod logs;
mod manage;
mod ps;
mod request;
mod run;
mod streams;

use berth_api::Client;

use crate::app::ContainerCommand;
use crate::error::CliResult;

pub use exec::exec;
pub use logs::logs;
pub use manage::{attach, kill, prune, restart, rm, stop, wait};
pub use ps::ps;
pub use run::{create, run, start};

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
    }
}
