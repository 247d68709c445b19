//! One STOMP connection of a simulated client, over WebSocket (awc), SockJS's websocket
//! transport or plain TCP, framed by the crate's own codec ([`crate::stomp`]): CONNECT and wait
//! for CONNECTED, then frames in and out. Cancel-safe reads, so a session loop can `select!` on
//! them beside its timers.
//!
//! Over SockJS each STOMP frame travels as one message of SockJS's framing: the client sends a
//! JSON array of strings, the server answers `o` (open), `h` (heartbeat), `a[...]` (messages)
//! and `c[code,reason]` (close), as a browser's `sockjs-client` would see them.

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
    /// SockJS's websocket transport at `/sockjs/{server}/{session}/websocket`.
    SockJs,
    /// Plain TCP STOMP at this address (the server's `KWANJE_STOMP_TCP`).
    Tcp(SocketAddr),
}

type WsFramed = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

enum Wire {
    Ws(Box<WsFramed>),
    SockJs(Box<WsFramed>),
    Tcp(tokio::net::TcpStream),
}

async fn websocket(url: &str, protocols: &[&str]) -> anyhow::Result<Box<WsFramed>> {
    let (_resp, framed) = awc::Client::builder()
        .timeout(CONNECT_TIMEOUT)
        .finish()
        .ws(url)
        .protocols(protocols)
        .max_frame_size(4 * 1024 * 1024)
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    Ok(Box::new(framed))
}

/// What one SockJS frame from the server says.
#[derive(Debug, PartialEq)]
enum SockJsFrame {
    /// `o` and `h`: nothing for STOMP.
    Control,
    /// `a[...]`: the messages, in order.
    Messages(Vec<String>),
    /// `c[code,reason]`: the session is over.
    Close,
}

fn sockjs_frame(text: &[u8]) -> anyhow::Result<SockJsFrame> {
    match text.split_first() {
        Some((b'o' | b'h', [])) => Ok(SockJsFrame::Control),
        Some((b'a', rest)) => Ok(SockJsFrame::Messages(
            serde_json::from_slice(rest).context("a SockJS message frame that is not a JSON array of strings")?,
        )),
        Some((b'c', _)) => Ok(SockJsFrame::Close),
        _ => anyhow::bail!("unknown SockJS frame {:?}", String::from_utf8_lossy(text)),
    }
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
            Transport::Ws => Wire::Ws(websocket(&format!("{}/ws", ws_base(http_base)), &["v12.stomp"]).await?),
            Transport::SockJs => {
                use rand::distr::{Alphanumeric, SampleString};
                let url = format!(
                    "{}/sockjs/{:03}/{}/websocket",
                    ws_base(http_base),
                    rand::random_range(0..1000),
                    Alphanumeric.sample_string(&mut rand::rng(), 16)
                );
                Wire::SockJs(websocket(&url, &[]).await?)
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
            Wire::SockJs(ws) => {
                let frame = std::str::from_utf8(&bytes).context("a STOMP frame that is not UTF-8")?;
                let text = serde_json::to_string(&[frame]).context("sockjs frame")?;
                ws.send(awc::ws::Message::Text(text.into()))
                    .await
                    .map_err(|e| anyhow::anyhow!("sockjs send: {e}"))
            }
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
            Wire::SockJs(ws) => loop {
                match ws.next().await {
                    None => return Ok(false),
                    Some(Err(e)) => anyhow::bail!("sockjs read: {e}"),
                    Some(Ok(awc::ws::Frame::Text(text))) => match sockjs_frame(&text)? {
                        SockJsFrame::Control => {}
                        SockJsFrame::Messages(messages) => {
                            for message in messages {
                                self.buf.extend_from_slice(message.as_bytes());
                            }
                            return Ok(true);
                        }
                        SockJsFrame::Close => return Ok(false),
                    },
                    Some(Ok(awc::ws::Frame::Ping(p))) => ws
                        .send(awc::ws::Message::Pong(p))
                        .await
                        .map_err(|e| anyhow::anyhow!("sockjs pong: {e}"))?,
                    Some(Ok(awc::ws::Frame::Close(_))) => return Ok(false),
                    Some(Ok(_)) => {}
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
            Wire::Ws(mut ws) | Wire::SockJs(mut ws) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockjs_frames_are_read_as_the_protocol_defines_them() {
        assert_eq!(sockjs_frame(b"o").unwrap(), SockJsFrame::Control);
        assert_eq!(sockjs_frame(b"h").unwrap(), SockJsFrame::Control);
        assert_eq!(
            sockjs_frame(br#"a["CONNECTED\nversion:1.2\n\n\u0000","\n"]"#).unwrap(),
            SockJsFrame::Messages(vec!["CONNECTED\nversion:1.2\n\n\0".into(), "\n".into()])
        );
        assert_eq!(sockjs_frame(br#"c[3000,"Go away!"]"#).unwrap(), SockJsFrame::Close);
        assert!(sockjs_frame(b"a{}").is_err());
        assert!(sockjs_frame(b"x").is_err());
        assert!(sockjs_frame(b"").is_err());
    }
}
