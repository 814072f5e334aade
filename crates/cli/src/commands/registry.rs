//! `pull`, `push`, `login` and `logout`: images to and from registries, with the
//! credentials kept in the config file.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::os::fd::AsFd;

use berth_api::client::{JsonMessageStream, PullOptions};
use berth_api::types::AuthConfig;
use berth_api::Client;

use crate::app::{LoginArgs, LogoutArgs, PullArgs, PushArgs};
use crate::credentials::{self, DOCKER_HUB_KEY};
use crate::error::{CliError, CliResult};
use crate::image_names::{fully_qualified, registry_of, split_tag, with_latest};

pub async fn pull(client: &Client, args: PullArgs) -> CliResult {
    let (repo, tag) = split_tag(&args.name);
    let image = if args.all_tags {
        if tag.is_some() || args.name.contains('@') {
            return Err(CliError::usage("tag can't be used with --all-tags/-a"));
        }
        repo.to_string()
    } else {
        with_latest(&args.name)
    };
    let opts = PullOptions {
        platform: args.platform.clone().unwrap_or_default(),
        auth: credentials::lookup(&registry_of(&image)),
    };
    let stream = client.image_pull(&image, "", &opts).await?;
    show(stream, args.quiet).await?;
    println!("{}", fully_qualified(&image));
    Ok(())
}

pub async fn push(client: &Client, args: PushArgs) -> CliResult {
    let (repo, tag) = split_tag(&args.name);
    if args.name.contains('@') {
        return Err(CliError::usage(format!(
            "invalid reference {:?}: push takes a name and tag, not a digest",
            args.name
        )));
    }
    let tag = match (args.all_tags, tag) {
        (true, Some(_)) => return Err(CliError::usage("tag can't be used with --all-tags/-a")),
        (true, None) => "",
        (false, t) => t.unwrap_or("latest"),
    };
    let auth = credentials::lookup(&registry_of(repo));
    let stream = client.image_push(repo, tag, &auth).await?;
    show(stream, args.quiet).await?;
    if args.quiet {
        println!(
            "{}",
            if tag.is_empty() {
                repo.to_string()
            } else {
                format!("{repo}:{tag}")
            }
        );
    }
    Ok(())
}

/// Shows a pull's or push's progress, or, when quiet, only fails on its error.
async fn show(mut stream: JsonMessageStream, quiet: bool) -> CliResult {
    if !quiet {
        return crate::progress::display(stream).await;
    }
    while let Some(msg) = stream.next().await {
        let msg = msg?;
        if let Some(e) = msg.error_detail.map(|d| d.message).or(msg.error) {
            return Err(CliError::general(e));
        }
    }
    Ok(())
}

pub async fn login(client: &Client, args: LoginArgs) -> CliResult {
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| DOCKER_HUB_KEY.to_string());
    if args.password.is_some() && args.password_stdin {
        return Err(CliError::usage(
            "--password and --password-stdin are mutually exclusive",
        ));
    }
    if args.password_stdin && args.username.is_none() {
        return Err(CliError::usage(
            "Must provide --username with --password-stdin",
        ));
    }
    let interactive = std::io::stdin().is_terminal();
    let username = match args.username.clone() {
        Some(u) => u,
        None if interactive => prompt("Username: ")?,
        None => {
            return Err(CliError::general(
                "Cannot perform an interactive login from a non TTY device",
            ))
        }
    };
    let password = if args.password_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(p) = args.password.clone() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        p
    } else if interactive {
        prompt_hidden("Password: ")?
    } else {
        return Err(CliError::general(
            "Cannot perform an interactive login from a non TTY device",
        ));
    };
    if username.trim().is_empty() {
        return Err(CliError::usage("Username is required"));
    }
    if password.is_empty() {
        return Err(CliError::usage("Password is required"));
    }
    let auth = AuthConfig {
        username,
        password,
        server_address: server.clone(),
        ..Default::default()
    };
    let answer = client.login(&auth).await?;
    let stored = AuthConfig {
        identity_token: answer.identity_token.clone(),
        ..auth
    };
    let path = credentials::store(&server, &stored)?;
    eprintln!(
        "WARNING! Your password will be stored unencrypted in {}.",
        path.display()
    );
    println!("{}", answer.status);
    Ok(())
}

pub async fn logout(args: LogoutArgs) -> CliResult {
    let server = args.server.unwrap_or_else(|| DOCKER_HUB_KEY.to_string());
    let shown = credentials::key_for(&server);
    if credentials::remove(&server)? {
        println!("Removing login credentials for {shown}");
    } else {
        println!("Not logged in to {shown}");
    }
    Ok(())
}

fn prompt(label: &str) -> CliResult<String> {
    print!("{label}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Reads a line from the terminal with echo off.
fn prompt_hidden(label: &str) -> CliResult<String> {
    let stdin = std::io::stdin();
    let saved = rustix::termios::tcgetattr(stdin.as_fd()).ok();
    if let Some(saved) = &saved {
        let mut quiet = saved.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        let _ = rustix::termios::tcsetattr(
            stdin.as_fd(),
            rustix::termios::OptionalActions::Now,
            &quiet,
        );
    }
    let line = prompt(label);
    if let Some(saved) = &saved {
        let _ =
            rustix::termios::tcsetattr(stdin.as_fd(), rustix::termios::OptionalActions::Now, saved);
    }
    println!();
    line
}
