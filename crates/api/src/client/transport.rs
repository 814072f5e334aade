//! Opening a byte stream to the engine: a unix socket, a TCP connection, or the stdio of
//! `ssh host berth system dial-stdio`.

use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::Host;

/// A connection to the engine, whichever way it was made.
pub enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
    Ssh(Box<SshStream>),
}

/// The stdio of an ssh child running `berth system dial-stdio` on the remote host. The
/// child is killed when the stream is dropped.
pub struct SshStream {
    _child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

pub async fn connect(host: &Host) -> io::Result<Stream> {
    match host {
        Host::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
        Host::Tcp(addr) => {
            let s = TcpStream::connect(addr.as_str()).await?;
            s.set_nodelay(true)?;
            Ok(Stream::Tcp(s))
        }
        Host::Ssh { user, host, port } => {
            let mut cmd = Command::new("ssh");
            if let Some(u) = user {
                cmd.arg("-l").arg(u);
            }
            if let Some(p) = port {
                cmd.arg("-p").arg(p.to_string());
            }
            cmd.arg("--")
                .arg(host)
                .args(["berth", "system", "dial-stdio"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true);
            let mut child = cmd
                .spawn()
                .map_err(|e| io::Error::new(e.kind(), format!("starting ssh: {e}")))?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                return Err(io::Error::other("ssh started without piped stdio"));
            };
            Ok(Stream::Ssh(Box::new(SshStream {
                _child: child,
                stdin,
                stdout,
            })))
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Ssh(s) => Pin::new(&mut s.stdout).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Ssh(s) => Pin::new(&mut s.stdin).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Ssh(s) => Pin::new(&mut s.stdin).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Ssh(s) => Pin::new(&mut s.stdin).poll_shutdown(cx),
        }
    }
}
