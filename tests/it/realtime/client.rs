//! A STOMP test client over WebSocket (tokio-tungstenite) or TCP, plain or inside TLS: frames
//! written by hand (so the server's encoder is not checked against itself), received frames
//! decoded.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use kwanje::stomp::{Command, Decoder, Frame, Inbound, Limits, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long a test waits for a frame it expects.
pub const WAIT: Duration = Duration::from_secs(5);

/// A raw WebSocket from `tokio_tungstenite::connect_async` (the echo, the SockJS test services).
pub type Ws = WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The next message on a raw WebSocket, within [`WAIT`].
pub async fn next_message(ws: &mut Ws) -> Message {
    tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("an answer in time")
        .expect("the socket is open")
        .expect("a valid message")
}

/// Test logs (the server's panic hook logs panics, so without a logger a failed assertion in a
/// test would print nothing): `RUST_LOG`, or errors only.
pub fn logs() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("error"))
        .is_test(true)
        .try_init();
}

/// A frame as text: `COMMAND\nk:v\n...\n\nbody\0` (test values need no escaping).
pub fn frame(command: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!("{command}\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}:{value}\n"));
    }
    out.push('\n');
    out.push_str(body);
    out.push('\0');
    out
}

/// What `recv` saw.
#[derive(Debug)]
pub enum Event {
    Frame(Frame),
    /// A WebSocket close frame (code), or the connection's end (`None`).
    Closed(Option<u16>),
}

/// A connection's bytes, plain TCP or TLS over it.
pub trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}
pub type Io = Box<dyn Duplex>;

/// What carries the frames.
enum Wire {
    Ws(Box<WebSocketStream<Io>>),
    /// TCP: the bytes are the frames.
    Tcp(Io),
}

pub struct Stomp {
    wire: Wire,
    decoder: Decoder,
    buf: BytesMut,
    pub protocol: Option<String>,
    /// Pongs received, for the ping test.
    pub pongs: Vec<Bytes>,
    /// Heart-beat EOLs received.
    pub beats: usize,
}

/// A TCP socket to `addr`, with a small receive buffer when `recv_buffer` is set (a client that
/// reads slowly fills it fast).
async fn socket(addr: SocketAddr, recv_buffer: Option<u32>) -> TcpStream {
    logs();
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket.connect(addr).await.unwrap()
}

impl Stomp {
    /// Opens `ws://{base}/ws` offering `protocols` (none: no `Sec-WebSocket-Protocol`).
    pub async fn open(base: &str, protocols: &[&str]) -> Stomp {
        Stomp::open_path(base, "/ws", protocols, None).await
    }

    /// As `open`, with a small receive buffer when `recv_buffer` is set (a client that reads
    /// slowly fills it fast).
    pub async fn open_path(base: &str, path: &str, protocols: &[&str], recv_buffer: Option<u32>) -> Stomp {
        let addr = base.trim_start_matches("http://");
        let stream = socket(addr.parse().unwrap(), recv_buffer).await;
        Stomp::open_over(Box::new(stream), &format!("ws://{addr}{path}"), protocols).await
    }

    /// Opens the WebSocket at `url` over `stream` (a TLS stream for `wss://`).
    pub async fn open_over(stream: Io, url: &str, protocols: &[&str]) -> Stomp {
        let mut request = url.into_client_request().unwrap();
        if !protocols.is_empty() {
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", protocols.join(", ").parse().unwrap());
        }
        let (ws, response) = tokio_tungstenite::client_async(request, stream).await.unwrap();
        let protocol = response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.to_str().unwrap().to_owned());
        Stomp::over(Wire::Ws(Box::new(ws)), protocol)
    }

    /// Connects to plain TCP STOMP at `addr`.
    pub async fn open_tcp(addr: SocketAddr) -> Stomp {
        Stomp::open_tcp_with(addr, None).await
    }

    /// As `open_tcp`, with a small receive buffer when `recv_buffer` is set.
    pub async fn open_tcp_with(addr: SocketAddr, recv_buffer: Option<u32>) -> Stomp {
        let stream = socket(addr, recv_buffer).await;
        // Each write goes out as written, so a test's split frames reach the server in pieces.
        stream.set_nodelay(true).unwrap();
        Stomp::over(Wire::Tcp(Box::new(stream)), None)
    }

    /// STOMP straight over `stream` (TCP STOMP inside TLS).
    pub fn over_stream(stream: Io) -> Stomp {
        Stomp::over(Wire::Tcp(stream), None)
    }

    fn over(wire: Wire, protocol: Option<String>) -> Stomp {
        Stomp {
            wire,
            decoder: Decoder::new(Limits::default()),
            buf: BytesMut::new(),
            protocol,
            pongs: Vec::new(),
            beats: 0,
        }
    }

    /// Sends `text`: a text message over WebSocket, the bytes themselves over TCP.
    pub async fn send_text(&mut self, text: &str) {
        match &mut self.wire {
            Wire::Ws(ws) => ws.send(Message::text(text.to_owned())).await.unwrap(),
            Wire::Tcp(tcp) => tcp.write_all(text.as_bytes()).await.unwrap(),
        }
    }

    /// Sends `bytes`: a binary message over WebSocket, the bytes themselves over TCP.
    pub async fn send_binary(&mut self, bytes: &[u8]) {
        match &mut self.wire {
            Wire::Ws(ws) => ws.send(Message::binary(bytes.to_vec())).await.unwrap(),
            Wire::Tcp(tcp) => tcp.write_all(bytes).await.unwrap(),
        }
    }

    fn ws(&mut self) -> &mut WebSocketStream<Io> {
        match &mut self.wire {
            Wire::Ws(ws) => ws,
            Wire::Tcp(_) => panic!("a WebSocket message on a TCP connection"),
        }
    }

    /// Sends a raw WebSocket message, e.g. a ping or a close.
    pub async fn send_ws(&mut self, message: Message) {
        self.ws().send(message).await.unwrap();
    }

    pub async fn close_ws(&mut self, code: u16) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: "bye".into(),
        };
        self.ws().send(Message::Close(Some(frame))).await.unwrap();
    }

    /// Shuts the write side of a TCP connection (the server reads EOF) and keeps reading.
    pub async fn shutdown_tcp(&mut self) {
        match &mut self.wire {
            Wire::Tcp(tcp) => tcp.shutdown().await.unwrap(),
            Wire::Ws(_) => panic!("a TCP shutdown on a WebSocket"),
        }
    }

    /// Drops the TCP connection without a close frame or DISCONNECT.
    pub fn drop_connection(self) {
        drop(self);
    }

    /// The next frame or close, skipping (and counting) heart-beats; `None` after `within` of
    /// nothing.
    pub async fn next_within(&mut self, within: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(item) = self.decoder.decode(&mut self.buf).expect("server frames decode") {
                match item {
                    Inbound::HeartBeat => self.beats += 1,
                    Inbound::Frame(frame) => {
                        if frame.command == Command::Connected {
                            let version = frame
                                .header("version")
                                .and_then(Version::parse)
                                .unwrap_or(Version::V1_0);
                            self.decoder.set_version(version);
                        }
                        return Some(Event::Frame(frame));
                    }
                }
            }
            let ws = match &mut self.wire {
                Wire::Ws(ws) => ws,
                Wire::Tcp(tcp) => {
                    let mut chunk = [0u8; 8 * 1024];
                    match tokio::time::timeout_at(deadline, tcp.read(&mut chunk)).await {
                        Err(_) => return None,
                        Ok(Ok(0)) | Ok(Err(_)) => return Some(Event::Closed(None)),
                        Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
                    }
                    continue;
                }
            };
            let message = match tokio::time::timeout_at(deadline, ws.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return Some(Event::Closed(None)),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => self.buf.extend_from_slice(text.as_bytes()),
                Message::Binary(data) => self.buf.extend_from_slice(&data),
                Message::Pong(data) => self.pongs.push(data),
                Message::Ping(_) | Message::Frame(_) => {}
                Message::Close(frame) => return Some(Event::Closed(frame.map(|f| u16::from(f.code)))),
            }
        }
    }

    /// The next frame; panics on a close or after [`WAIT`].
    pub async fn recv(&mut self) -> Frame {
        match self.next_within(WAIT).await {
            Some(Event::Frame(frame)) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame, which must be `command`.
    pub async fn expect(&mut self, command: Command) -> Frame {
        let frame = self.recv().await;
        assert_eq!(
            frame.command,
            command,
            "{frame:?} body={:?}",
            String::from_utf8_lossy(&frame.body)
        );
        frame
    }

    /// An ERROR frame, then the connection closes. Returns the ERROR.
    pub async fn expect_error(&mut self) -> Frame {
        let error = self.expect(Command::Error).await;
        self.expect_closed().await;
        error
    }

    /// A session that negotiated a 100 ms heart-beat and now says nothing: the server drops it
    /// with ERROR "heart-beat timeout", not before its 2 x 100 ms silence limit is near.
    pub async fn expect_heart_beat_timeout(&mut self) {
        let started = std::time::Instant::now();
        let error = self.expect_error().await;
        assert_eq!(error.header("message"), Some("heart-beat timeout"));
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );
    }

    /// The connection closes (a close frame or the end) with no frame before it.
    pub async fn expect_closed(&mut self) -> Option<u16> {
        match self.next_within(WAIT).await {
            Some(Event::Closed(code)) => code,
            other => panic!("expected the connection to close, got {other:?}"),
        }
    }

    /// Nothing but heart-beats arrives within `within`.
    pub async fn expect_silence(&mut self, within: Duration) {
        if let Some(event) = self.next_within(within).await {
            panic!("expected nothing, got {event:?}");
        }
    }

    /// CONNECT with `token` as a bearer header, accepting `versions`; returns CONNECTED.
    pub async fn connect(&mut self, token: &str, versions: &str) -> Frame {
        let bearer = format!("Bearer {token}");
        let text = frame(
            "CONNECT",
            &[
                ("accept-version", versions),
                ("host", "kwanje"),
                ("Authorization", &bearer),
            ],
            "",
        );
        self.send_text(&text).await;
        self.expect(Command::Connected).await
    }

    /// Sends `text` with a `receipt` header added by the caller, and waits for that RECEIPT.
    pub async fn await_receipt(&mut self, receipt: &str) {
        let frame = self.expect(Command::Receipt).await;
        assert_eq!(frame.header("receipt-id"), Some(receipt));
    }

    /// SUBSCRIBE (1.1/1.2 style, with id) and wait for its receipt, so later publications reach it.
    pub async fn subscribe(&mut self, id: &str, destination: &str, ack: &str) {
        let receipt = format!("sub-{id}");
        let text = frame(
            "SUBSCRIBE",
            &[
                ("id", id),
                ("destination", destination),
                ("ack", ack),
                ("receipt", &receipt),
            ],
            "",
        );
        self.send_text(&text).await;
        self.await_receipt(&receipt).await;
    }

    /// SEND with a receipt, waiting for it.
    pub async fn send_with_receipt(&mut self, destination: &str, headers: &[(&str, &str)], body: &str, receipt: &str) {
        let mut all = vec![("destination", destination), ("receipt", receipt)];
        all.extend_from_slice(headers);
        self.send_text(&frame("SEND", &all, body)).await;
        self.await_receipt(receipt).await;
    }

    /// The next MESSAGE's body as JSON.
    pub async fn recv_json(&mut self) -> (Frame, serde_json::Value) {
        let frame = self.expect(Command::Message).await;
        let json = serde_json::from_slice(&frame.body).unwrap_or_else(|e| panic!("{e}: {frame:?}"));
        (frame, json)
    }

    /// The next MESSAGE is a `/topic/presence` change of `client` to `online`.
    pub async fn expect_presence(&mut self, client: &str, online: bool) {
        let (_, json) = self.recv_json().await;
        assert_eq!(
            (json["client_id"].as_str(), json["online"].as_bool()),
            (Some(client), Some(online)),
            "{json}"
        );
    }

    /// MESSAGEs until one whose JSON satisfies `want`; panics after [`WAIT`].
    pub async fn recv_json_until(&mut self, want: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(Event::Frame(frame)) if frame.command == Command::Message => {
                    let json: serde_json::Value = serde_json::from_slice(&frame.body).unwrap();
                    if want(&json) {
                        return json;
                    }
                }
                other => panic!("expected a matching MESSAGE, got {other:?}"),
            }
        }
    }
}
