//! One module per group of commands; `run` sends each command to its handler.

mod archive;
mod build;
mod containers;
mod events;
mod image_ops;
mod images;
mod inspect;
mod networks;
mod registry;
mod system;
mod volumes;

use std::io::{BufRead, IsTerminal, Write};

use clap::CommandFactory;

use crate::app::{App, BuilderCommand, Command, ImageCommand, SystemCommand};
use crate::context;
use crate::error::{CliError, CliResult};

pub async fn run(app: App) -> CliResult {
    let host = app.host.clone();
    let client = || async { context::connect(host.as_deref()).await };
    match app.command {
        Command::Completion(args) => {
            let mut cmd = App::command();
            clap_complete::generate(args.shell, &mut cmd, "berth", &mut std::io::stdout());
            Ok(())
        }
        Command::Daemon { .. } => Err(CliError::usage(
            "`daemon` must be the first argument: berth daemon [OPTIONS]",
        )),
        Command::System(SystemCommand::DialStdio) => system::dial_stdio(host.as_deref()).await,
        Command::Version(args) => system::version(host.as_deref(), args.format.as_deref()).await,
        Command::Build(args) => build::build(&client().await?, args).await,
        Command::Images(args) | Command::Image(ImageCommand::Ls(args)) => {
            images::list(&client().await?, args).await
        }
        Command::Image(ImageCommand::Inspect(args)) => {
            inspect::images(&client().await?, args).await
        }
        Command::Inspect(args) => inspect::any(&client().await?, args).await,
        Command::Network(cmd) => networks::network(&client().await?, cmd).await,
        Command::Volume(cmd) => volumes::volume(&client().await?, cmd).await,
        Command::History(args) | Command::Image(ImageCommand::History(args)) => {
            image_ops::history(&client().await?, args).await
        }
        Command::Tag(args) | Command::Image(ImageCommand::Tag(args)) => {
            image_ops::tag(&client().await?, args).await
        }
        Command::Rmi(args) | Command::Image(ImageCommand::Rm(args)) => {
            image_ops::remove(&client().await?, args).await
        }
        Command::Image(ImageCommand::Prune(args)) => image_ops::prune(&client().await?, args).await,
        Command::Pull(args) | Command::Image(ImageCommand::Pull(args)) => {
            registry::pull(&client().await?, args).await
        }
        Command::Push(args) | Command::Image(ImageCommand::Push(args)) => {
            registry::push(&client().await?, args).await
        }
        Command::Login(args) => registry::login(&client().await?, args).await,
        Command::Logout(args) => registry::logout(args).await,
        Command::Load(args) | Command::Image(ImageCommand::Load(args)) => {
            archive::load(&client().await?, args).await
        }
        Command::Save(args) | Command::Image(ImageCommand::Save(args)) => {
            archive::save(&client().await?, args).await
        }
        Command::Import(args) | Command::Image(ImageCommand::Import(args)) => {
            archive::import(&client().await?, args).await
        }
        Command::Info(args) | Command::System(SystemCommand::Info(args)) => {
            system::info(&client().await?, args.format.as_deref(), host.as_deref()).await
        }
        Command::System(SystemCommand::Df(args)) => system::df(&client().await?, args).await,
        Command::System(SystemCommand::Prune(args)) => system::prune(&client().await?, args).await,
        Command::Builder(BuilderCommand::Prune(args)) => {
            system::builder_prune(&client().await?, args).await
        }
        Command::Run(a) => containers::run(client().await?, a).await,
        Command::Create(a) => containers::create(&client().await?, a).await,
        Command::Start(a) => containers::start(client().await?, a).await,
        Command::Stop(a) => containers::stop(&client().await?, a).await,
        Command::Restart(a) => containers::restart(&client().await?, a).await,
        Command::Kill(a) => containers::kill(&client().await?, a).await,
        Command::Rm(a) => containers::rm(&client().await?, a).await,
        Command::Ps(a) => containers::ps(&client().await?, a).await,
        Command::Logs(a) => containers::logs(&client().await?, a).await,
        Command::Wait(a) => containers::wait(&client().await?, a).await,
        Command::Attach(a) => containers::attach(client().await?, a).await,
        Command::Cp(a) => containers::cp(&client().await?, a).await,
        Command::Diff(a) => containers::diff(&client().await?, a).await,
        Command::Commit(a) => containers::commit(&client().await?, a).await,
        Command::Export(a) => containers::export(&client().await?, a).await,
        Command::Exec(a) => containers::exec(client().await?, a).await,
        Command::Container(cmd) => containers::container(client().await?, cmd).await,
        Command::Pause(a) => containers::pause(&client().await?, a).await,
        Command::Unpause(a) => containers::unpause(&client().await?, a).await,
        Command::Rename(a) => containers::rename(&client().await?, a).await,
        Command::Update(a) => containers::update(&client().await?, a).await,
        Command::Top(a) => containers::top(&client().await?, a).await,
        Command::Stats(a) => containers::stats(client().await?, a).await,
        Command::Port(a) => containers::port(&client().await?, a).await,
        Command::Events(a) | Command::System(SystemCommand::Events(a)) => {
            events::events(&client().await?, a).await
        }
    }
}

/// Writes `text` to stdout.
fn print(text: &str) -> CliResult {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// docker's confirmation prompt; anything but `y` or `yes` is a no.
fn confirm(message: &str) -> bool {
    eprint!("{message}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}
