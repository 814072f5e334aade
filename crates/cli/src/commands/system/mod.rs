//! `version`, `info`, `system df`, `system prune` and `system dial-stdio`.

mod df;
mod prune;

pub use df::df;
pub use prune::{builder_prune, prune};

use berth_api::types::SystemInfo;
use berth_api::{Client, Host};
use serde_json::{json, Value};

use crate::context;
use crate::error::{CliError, CliResult};
use crate::format::units::bytes_size;
use crate::format::Template;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn client_version() -> Value {
    json!({
        "Platform": {"Name": "Berth"},
        "Version": VERSION,
        "ApiVersion": berth_api::API_VERSION,
        "DefaultAPIVersion": berth_api::API_VERSION,
        "Os": "linux",
        "Arch": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
        "Context": "default",
    })
}

fn render(template: &str, data: &Value) -> CliResult<String> {
    Ok(Template::parse(template)?.render(data)?)
}

pub async fn version(host: Option<&str>, format: Option<&str>) -> CliResult {
    let client = context::connect(host).await?;
    let server = client.version().await;
    let data = json!({
        "Client": client_version(),
        "Server": server.as_ref().ok().map(|s| serde_json::to_value(s).unwrap_or(Value::Null)),
    });
    let out = match format {
        // As docker: when the engine is unreachable, its error wins over the template's.
        Some(f) => match (render(f, &data), &server) {
            (Ok(text), _) => format!("{text}\n"),
            (Err(_), Err(_)) => String::new(),
            (Err(e), Ok(_)) => return Err(e),
        },
        None => {
            let c = &data["Client"];
            let mut out = format!(
                "Client:\n Version:           {}\n API version:       {}\n OS/Arch:           linux/{}\n Context:           default\n",
                c["Version"].as_str().unwrap_or_default(),
                c["ApiVersion"].as_str().unwrap_or_default(),
                c["Arch"].as_str().unwrap_or_default(),
            );
            if let Ok(s) = &server {
                out.push_str(&format!("\nServer: {}\n", s.platform.name));
                for comp in &s.components {
                    out.push_str(&format!(
                        " {}:\n  Version:          {}\n",
                        comp.name, comp.version
                    ));
                }
                out.push_str(&format!(
                    "  API version:      {} (minimum version {})\n  Rust version:     {}\n  Git commit:       {}\n  Built:            {}\n  OS/Arch:          {}/{}\n  Experimental:     {}\n",
                    s.api_version, s.min_api_version, s.go_version, s.git_commit, s.build_time, s.os, s.arch, s.experimental
                ));
            }
            out
        }
    };
    super::print(&out)?;
    server.map(|_| ()).map_err(CliError::from)
}

pub async fn info(client: &Client, format: Option<&str>, host: Option<&str>) -> CliResult {
    let info = client.info().await?;
    if let Some(f) = format {
        let mut data = serde_json::to_value(&info).unwrap_or(Value::Null);
        data["ClientInfo"] = json!({"Debug": false, "Context": "default"});
        return super::print(&format!("{}\n", render(f, &data)?));
    }
    let _ = host;
    super::print(&info_text(&info))
}

fn info_text(i: &SystemInfo) -> String {
    let list = |items: &[String]| items.join(" ");
    let mut s = String::from("Client:\n Context:    default\n Debug Mode: false\n\nServer:\n");
    s += &format!(
        " Containers: {}\n  Running: {}\n  Paused: {}\n  Stopped: {}\n Images: {}\n Server Version: {}\n Storage Driver: {}\n",
        i.containers, i.containers_running, i.containers_paused, i.containers_stopped, i.images, i.server_version, i.driver
    );
    for [k, v] in &i.driver_status {
        s += &format!("  {k}: {v}\n");
    }
    s += &format!(
        " Logging Driver: {}\n Cgroup Driver: {}\n Cgroup Version: {}\n Plugins:\n  Volume: {}\n  Network: {}\n  Log: {}\n Swarm: {}\n",
        i.logging_driver, i.cgroup_driver, i.cgroup_version, list(&i.plugins.volume), list(&i.plugins.network),
        list(&i.plugins.log), i.swarm.local_node_state
    );
    s += &format!(
        " Runtimes: {}\n Default Runtime: {}\n Security Options:{}\n",
        i.runtimes.keys().cloned().collect::<Vec<_>>().join(" "),
        i.default_runtime,
        i.security_options
            .iter()
            .map(|o| format!("\n  {o}"))
            .collect::<String>()
    );
    s += &format!(
        " Kernel Version: {}\n Operating System: {}\n OSType: {}\n Architecture: {}\n CPUs: {}\n Total Memory: {}\n Name: {}\n ID: {}\n Berth Root Dir: {}\n Debug Mode: {}\n",
        i.kernel_version, i.operating_system, i.os_type, i.architecture, i.ncpu, bytes_size(i.mem_total as f64),
        i.name, i.id, i.docker_root_dir, i.debug
    );
    if i.debug {
        s += &format!(
            "  File Descriptors: {}\n  Threads: {}\n  System Time: {}\n",
            i.n_fd, i.n_goroutines, i.system_time
        );
    }
    s += &format!(
        " Registry: {}\n Labels:{}\n Experimental: {}\n Insecure Registries:\n",
        i.index_server_address,
        i.labels
            .iter()
            .map(|l| format!("\n  {l}"))
            .collect::<String>(),
        i.experimental_build
    );
    for r in &i.registry_config.insecure_registry_cidrs {
        s += &format!("  {r}\n");
    }
    if !i.registry_config.mirrors.is_empty() {
        s += " Registry Mirrors:\n";
        for m in &i.registry_config.mirrors {
            s += &format!("  {m}\n");
        }
    }
    s += &format!(" Live Restore Enabled: {}\n", i.live_restore_enabled);
    for w in &i.warnings {
        s += &format!("\n{w}");
    }
    if !i.warnings.is_empty() {
        s.push('\n');
    }
    s
}

/// Connects stdin and stdout to the local engine's socket, for `ssh host berth system
/// dial-stdio` as a transport.
pub async fn dial_stdio(host: Option<&str>) -> CliResult {
    let (host, _) = context::resolve_host(host)?;
    let Host::Unix(path) = &host else {
        return Err(CliError::usage(format!(
            "dial-stdio needs a local unix socket, not {host}"
        )));
    };
    let socket = tokio::net::UnixStream::connect(path)
        .await
        .map_err(|e| CliError::general(format!("connecting to {host}: {e}")))?;
    let (mut from_engine, mut to_engine) = socket.into_split();
    let upstream = async {
        let r = tokio::io::copy(&mut tokio::io::stdin(), &mut to_engine).await;
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut to_engine).await;
        r
    };
    let downstream = async {
        let mut out = tokio::io::stdout();
        let r = tokio::io::copy(&mut from_engine, &mut out).await;
        let _ = tokio::io::AsyncWriteExt::flush(&mut out).await;
        r
    };
    let (up, down) = tokio::join!(upstream, downstream);
    up.and(down)
        .map(|_| ())
        .map_err(|e| CliError::general(format!("dial-stdio: {e}")))
}
