//! One STOMP connection of a simulated client, over WebSocket (awc) or plain TCP, framed by the
//! crate's own codec ([`crate::stomp`]): CONNECT and wait for CONNECTED, then frames in and out.
//! Cancel-safe reads, so a session loop can `select!` on them beside its timers.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::stomp::{encode_to_bytes, Command, Decoder, Frame, Inbound, Limits, Version};

/// How long CONNECT may wait for CONNECTED.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The STOMP heart-beat a simulated client asks for, both ways (as the README's gate PC does).
pub const HEART_BEAT_MS: u64 = 10_000;

/// What carries the frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// WebSocket at `/ws` of the HTTP server.
    Ws,
    /// Plain TCP STOMP at this address (the server's `KWANJE_STOMP_TCP`).
    Tcp(SocketAddr),
}

type WsFramed = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

enum Wire {
    Ws(Box<WsFramed>),
    Tcp(tokio::net::TcpStream),
}

/// An open, CONNECTED STOMP session.
pub struct Link {
    wire: Wire,
    decoder: Decoder,
    buf: BytesMut,
    version: Version,
    /// The server's `session` header.
    pub session: String,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// Opens the transport to the server at `http_base` and CONNECTs with `token`.
    pub async fn open(http_base: &str, transport: &Transport, token: &str) -> anyhow::Result<Link> {
        let wire = match transport {
            Transport::Ws => {
                let url = format!("{}/ws", ws_base(http_base));
                let (_resp, framed) = awc::Client::builder()
                    .timeout(CONNECT_TIMEOUT)
                    .finish()
                    .ws(&url)
                    .protocols(["v12.stomp"])
                    .max_frame_size(4 * 1024 * 1024)
                    .connect()
                    .await
                    .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
                Wire::Ws(Box::new(framed))
            }
            Transport::Tcp(addr) => Wire::Tcp(
                tokio::net::TcpStream::connect(addr)
                    .await
                    .with_context(|| format!("tcp {addr}"))?,
            ),
        };
        let mut link = Link {
            wire,
            decoder: Decoder::new(Limits {
                max_frame_bytes: 4 * 1024 * 1024,
                ..Limits::default()
            }),
            buf: BytesMut::with_capacity(8 * 1024),
            version: Version::V1_2,
            session: String::new(),
        };
        let connect = Frame::new(Command::Connect)
            .with_header("accept-version", "1.2")
            .with_header("host", "kwanje")
            .with_header("heart-beat", format!("{HEART_BEAT_MS},{HEART_BEAT_MS}"))
            .with_header("Authorization", format!("Bearer {token}"));
        link.send(&connect).await?;
        let reply = tokio::time::timeout(CONNECT_TIMEOUT, link.next_frame())
            .await
            .context("no CONNECTED in time")??
            .context("closed before CONNECTED")?;
        match reply.command {
            Command::Connected => {
                link.session = reply.header("session").unwrap_or_default().to_owned();
                link.decoder.set_version(Version::V1_2);
                Ok(link)
            }
            _ => anyhow::bail!(
                "CONNECT refused: {} {}",
                reply.command,
                reply.header("message").unwrap_or_default()
            ),
        }
    }

    pub async fn send(&mut self, frame: &Frame) -> anyhow::Result<()> {
        let bytes = encode_to_bytes(frame, self.version);
        self.send_bytes(bytes).await
    }

    /// A STOMP heart-beat (one EOL).
    pub async fn beat(&mut self) -> anyhow::Result<()> {
        self.send_bytes(Bytes::from_static(b"\n")).await
    }

    async fn send_bytes(&mut self, bytes: Bytes) -> anyhow::Result<()> {
        match &mut self.wire {
            Wire::Ws(ws) => ws
                .send(awc::ws::Message::Binary(bytes))
                .await
                .map_err(|e| anyhow::anyhow!("ws send: {e}")),
            Wire::Tcp(tcp) => tcp.write_all(&bytes).await.context("tcp send"),
        }
    }

    /// The next frame (heart-beats skipped); `None` when the server closed. Cancel-safe.
    pub async fn next_frame(&mut self) -> anyhow::Result<Option<Frame>> {
        loop {
            while let Some(item) = self.decoder.decode(&mut self.buf).context("frame from server")? {
                if let Inbound::Frame(frame) = item {
                    return Ok(Some(frame));
                }
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Reads more bytes into the buffer; `false` at the end of the connection.
    async fn fill(&mut self) -> anyhow::Result<bool> {
        match &mut self.wire {
            Wire::Tcp(tcp) => Ok(tcp.read_buf(&mut self.buf).await.context("tcp read")? > 0),
            Wire::Ws(ws) => loop {
                match ws.next().await {
                    None => return Ok(false),
                    Some(Err(e)) => anyhow::bail!("ws read: {e}"),
                    Some(Ok(frame)) => match frame {
                        awc::ws::Frame::Text(b) | awc::ws::Frame::Binary(b) => {
                            self.buf.extend_from_slice(&b);
                            return Ok(true);
                        }
                        awc::ws::Frame::Ping(p) => ws
                            .send(awc::ws::Message::Pong(p))
                            .await
                            .map_err(|e| anyhow::anyhow!("ws pong: {e}"))?,
                        awc::ws::Frame::Close(_) => return Ok(false),
                        awc::ws::Frame::Pong(_) | awc::ws::Frame::Continuation(_) => {}
                    },
                }
            },
        }
    }

    /// DISCONNECT and close (best effort: the drill's "gate PC drops" is [`Link::drop_now`]).
    pub async fn close(mut self) {
        let _ = self.send(&Frame::new(Command::Disconnect)).await;
        self.drop_now().await;
    }

    /// Closes the transport without a DISCONNECT, as a gate PC losing its network would.
    pub async fn drop_now(self) {
        match self.wire {
            Wire::Ws(mut ws) => {
                let _ = ws.close().await;
            }
            Wire::Tcp(mut tcp) => {
                let _ = tcp.shutdown().await;
            }
        }
    }
}

fn ws_base(http_base: &str) -> String {
    let base = http_base.trim_end_matches('/');
    if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    }
}
