//! `logs`.

use berth_api::client::LogsParams;
use berth_api::Client;
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

use crate::app::LogsArgs;
use crate::error::{CliError, CliResult};

pub async fn logs(client: &Client, args: LogsArgs) -> CliResult {
    let info = client.container_inspect(&args.container).await?;
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let params = LogsParams {
        follow: args.follow,
        stdout: true,
        stderr: true,
        since: args.since.clone().unwrap_or_default(),
        until: args.until.clone().unwrap_or_default(),
        timestamps: args.timestamps,
        tail: args.tail.clone(),
        details: args.details,
    };
    let mut body = client.container_logs(&args.container, &params).await?;
    let io = |e: std::io::Error| CliError::general(format!("error reading logs: {e}"));
    if tty {
        let mut out = tokio::io::stdout();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| CliError::general(format!("error reading logs: {e}")))?;
            if let Ok(data) = frame.into_data() {
                out.write_all(&data).await.map_err(io)?;
                out.flush().await.map_err(io)?;
            }
        }
        return Ok(());
    }
    let mut reader = berth_api::client::body_into_reader(body);
    let (mut out, mut err) = (tokio::io::stdout(), tokio::io::stderr());
    berth_api::stdcopy::demux(&mut reader, &mut out, &mut err)
        .await
        .map_err(io)
}
