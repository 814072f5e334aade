//! `berth network …`: create, ls, inspect, rm, connect, disconnect and prune, with docker
//! 20.10's requests, output and errors.

mod create;
pub(crate) mod flags;
pub(crate) mod list;

use berth_api::types::{
    EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, NetworkDisconnectRequest,
};
use berth_api::Client;

use crate::app::{
    NetworkCommand, NetworkConnectArgs, NetworkDisconnectArgs, NetworkPruneArgs, NetworkRmArgs,
};
use crate::error::{CliError, CliResult};
use flags::{filter_flags, string_slice, validate_links};

const PRUNE_WARNING: &str =
    "WARNING! This will remove all custom networks not used by at least one container.";

pub async fn network(client: &Client, cmd: NetworkCommand) -> CliResult {
    match cmd {
        NetworkCommand::Create(a) => create::create(client, a).await,
        NetworkCommand::Ls(a) => list::list(client, a).await,
        NetworkCommand::Inspect(a) => super::inspect::networks(client, a).await,
        NetworkCommand::Rm(a) => remove(client, a).await,
        NetworkCommand::Connect(a) => connect(client, a).await,
        NetworkCommand::Disconnect(a) => disconnect(client, a).await,
        NetworkCommand::Prune(a) => prune(client, a).await,
    }
}

/// Removes each network in turn: its name on stdout when removed, the error on stderr when
/// not; exit status 1 if any failed.
async fn remove(client: &Client, args: NetworkRmArgs) -> CliResult {
    let mut failed = false;
    for name in &args.networks {
        match client.network_remove(name).await {
            Ok(()) => super::print(&format!("{name}\n"))?,
            Err(e) if e.is_connect() => return Err(e.into()),
            Err(e) if e.is_not_found() => {
                eprintln!("Error: No such network: {name}");
                failed = true;
            }
            Err(e) => {
                eprintln!("{}", CliError::from(e).message);
                failed = true;
            }
        }
    }
    if failed {
        Err(CliError::silent(1))
    } else {
        Ok(())
    }
}

/// docker's `convertDriverOpt`: `key=value` pairs, trimmed.
fn driver_opts(opts: &[String]) -> CliResult<std::collections::BTreeMap<String, String>> {
    opts.iter()
        .map(|o| {
            o.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| CliError::general("invalid key/value pair format in driver options"))
        })
        .collect()
}

/// The body docker's `network connect` sends: the endpoint settings always present, with
/// whatever of them was given.
fn connect_request(args: &NetworkConnectArgs) -> CliResult<NetworkConnectRequest> {
    validate_links(&args.link)?;
    let aliases = string_slice("--alias", &args.alias)?;
    let link_local_ips = string_slice("--link-local-ip", &args.link_local_ip)?;
    let opts = driver_opts(&string_slice("--driver-opt", &args.driver_opt)?)?;
    Ok(NetworkConnectRequest {
        container: args.container.clone(),
        endpoint_config: Some(EndpointSettings {
            ipam_config: Some(EndpointIpamConfig {
                ipv4_address: args.ip.clone().unwrap_or_default(),
                ipv6_address: args.ip6.clone().unwrap_or_default(),
                link_local_ips,
            }),
            links: (!args.link.is_empty()).then(|| args.link.clone()),
            aliases: Some(aliases),
            driver_opts: Some(opts),
            ..Default::default()
        }),
    })
}

async fn connect(client: &Client, args: NetworkConnectArgs) -> CliResult {
    let req = connect_request(&args)?;
    Ok(client.network_connect(&args.network, &req).await?)
}

async fn disconnect(client: &Client, args: NetworkDisconnectArgs) -> CliResult {
    let req = NetworkDisconnectRequest {
        container: args.container,
        force: args.force,
    };
    Ok(client.network_disconnect(&args.network, &req).await?)
}

/// What docker prints after a prune: nothing when nothing went.
fn prune_report(deleted: &[String]) -> String {
    if deleted.is_empty() {
        return String::new();
    }
    let mut out = String::from("Deleted Networks:\n");
    for id in deleted {
        out.push_str(id);
        out.push('\n');
    }
    out.push('\n');
    out
}

async fn prune(client: &Client, args: NetworkPruneArgs) -> CliResult {
    let filters = filter_flags(&args.filter, "--filter")?;
    if !args.force && !super::confirm(PRUNE_WARNING) {
        return Ok(());
    }
    let report = client.network_prune(&filters).await?;
    super::print(&prune_report(&report.networks_deleted))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn connect_args() -> NetworkConnectArgs {
        NetworkConnectArgs {
            network: "n1".into(),
            container: "ctr".into(),
            ..Default::default()
        }
    }

    #[test]
    fn connect_body_with_nothing_given() {
        let v = serde_json::to_value(connect_request(&connect_args()).unwrap()).unwrap();
        assert_eq!(v["Container"], "ctr");
        let ep = &v["EndpointConfig"];
        assert_eq!(ep["IPAMConfig"], json!({}));
        assert!(ep["Links"].is_null());
        assert_eq!(ep["Aliases"], json!([]));
        assert_eq!(ep["DriverOpts"], json!({}));
    }

    #[test]
    fn connect_body_with_every_flag() {
        let a = NetworkConnectArgs {
            ip: Some("10.0.0.2".into()),
            ip6: Some("fd00::2".into()),
            alias: vec!["a,b".into(), "c".into(), "\"d,e\"".into()],
            link: vec!["x".into(), "y:z".into()],
            link_local_ip: vec!["169.254.0.1".into()],
            driver_opt: vec![" A = B ".into()],
            ..connect_args()
        };
        let v = serde_json::to_value(connect_request(&a).unwrap()).unwrap();
        let ep = &v["EndpointConfig"];
        assert_eq!(
            ep["IPAMConfig"],
            json!({"IPv4Address": "10.0.0.2", "IPv6Address": "fd00::2", "LinkLocalIPs": ["169.254.0.1"]})
        );
        assert_eq!(ep["Links"], json!(["x", "y:z"]));
        assert_eq!(ep["Aliases"], json!(["a", "b", "c", "d,e"]));
        assert_eq!(ep["DriverOpts"], json!({"A": "B"}));
    }

    #[test]
    fn connect_refusals() {
        let a = NetworkConnectArgs {
            driver_opt: vec!["foo".into()],
            ..connect_args()
        };
        let e = connect_request(&a).unwrap_err();
        assert_eq!(e.message, "invalid key/value pair format in driver options");
        assert_eq!(e.status, 1);
        let a = NetworkConnectArgs {
            link: vec!["a:b:c".into()],
            ..connect_args()
        };
        let e = connect_request(&a).unwrap_err();
        assert_eq!(
            e.message,
            "invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c"
        );
        assert_eq!(e.status, 125);
    }

    #[test]
    fn prune_output() {
        assert_eq!(prune_report(&[]), "");
        assert_eq!(
            prune_report(&["n1".into(), "n2".into()]),
            "Deleted Networks:\nn1\nn2\n\n"
        );
        assert_eq!(
            format!("{PRUNE_WARNING}\nAre you sure you want to continue? [y/N] "),
            "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] "
        );
    }
}
