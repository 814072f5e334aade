//! Talking to a container's shim over its socket, from the engine: one request per
//! connection (see `berth_runtime::shim::protocol`).

use std::path::Path;

use berth_runtime::shim::address::SocketAddress;
use berth_runtime::shim::protocol::{Reply, Request};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use crate::error::{EngineError, EngineResult};

/// Sends `req` and returns the reply line, with the connection (for `attach` and `wait`).
pub async fn request(socket: &Path, req: &Request) -> EngineResult<(Reply, BufReader<UnixStream>)> {
    let address = SocketAddress::new(socket);
    let connected = match &address {
        Ok(at) => UnixStream::connect(at.path()).await,
        Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
    };
    let stream = connected.map_err(|e| {
        EngineError::unavailable(format!(
            "the container's shim is not answering ({}): {e}",
            socket.display()
        ))
    })?;
    let mut stream = BufReader::new(stream);
    let mut line = serde_json::to_vec(req).map_err(|e| EngineError::internal(e.to_string()))?;
    line.push(b'\n');
    stream
        .get_mut()
        .write_all(&line)
        .await
        .map_err(|e| EngineError::unavailable(format!("talking to the shim: {e}")))?;
    let reply = read_reply(&mut stream).await?;
    Ok((reply, stream))
}

pub async fn read_reply(stream: &mut BufReader<UnixStream>) -> EngineResult<Reply> {
    let mut reply = String::new();
    stream
        .read_line(&mut reply)
        .await
        .map_err(|e| EngineError::unavailable(format!("talking to the shim: {e}")))?;
    if reply.is_empty() {
        return Err(EngineError::unavailable(
            "the container's shim closed the connection",
        ));
    }
    serde_json::from_str(&reply)
        .map_err(|e| EngineError::internal(format!("bad reply from the shim: {e}")))
}

/// Sends `req` and returns just the reply.
pub async fn call(socket: &Path, req: &Request) -> EngineResult<Reply> {
    Ok(request(socket, req).await?.0)
}
