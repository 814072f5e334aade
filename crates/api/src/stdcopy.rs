//! Docker's multiplexed stream format (attach and logs of containers without a terminal):
//! frames of an 8-byte header — stream (0 stdin, 1 stdout, 2 stderr), three zero bytes, the
//! payload length big-endian — followed by the payload.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Splits `input` into `stdout` and `stderr` until it ends.
pub async fn demux(
    input: &mut (impl AsyncRead + Unpin),
    stdout: &mut (impl AsyncWrite + Unpin),
    stderr: &mut (impl AsyncWrite + Unpin),
) -> std::io::Result<()> {
    let mut header = [0u8; 8];
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match input.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let mut left = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        while left > 0 {
            let n = left.min(buf.len());
            input.read_exact(&mut buf[..n]).await?;
            match header[0] {
                2 => {
                    stderr.write_all(&buf[..n]).await?;
                    stderr.flush().await?;
                }
                _ => {
                    stdout.write_all(&buf[..n]).await?;
                    stdout.flush().await?;
                }
            }
            left -= n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_frames_by_stream() {
        let mut input: Vec<u8> = Vec::new();
        input.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 3]);
        input.extend_from_slice(b"out");
        input.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 3]);
        input.extend_from_slice(b"err");
        input.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 1]);
        input.extend_from_slice(b"!");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        demux(&mut input.as_slice(), &mut out, &mut err)
            .await
            .unwrap();
        assert_eq!(out, b"out!");
        assert_eq!(err, b"err");
    }
}
