//! A SockJS test client: each transport spoken by hand (awc for the HTTP ones, tokio-tungstenite
//! for the WebSocket), SockJS frames parsed with serde_json, the STOMP frames inside decoded.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use awc::error::PayloadError;
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, Stream, StreamExt};
use kwanje::stomp::{Command, Decoder, Frame, Inbound, Limits, Version};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::client::{frame, logs, WAIT};
use crate::support::Server;

/// A SockJS frame as the server wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockFrame {
    Open,
    Heartbeat,
    Messages(Vec<String>),
    Close(u16, String),
}

/// Parses one frame (no transport framing around it).
pub fn parse(text: &str) -> SockFrame {
    match text.as_bytes().first() {
        Some(b'o') if text == "o" => SockFrame::Open,
        Some(b'h') if text == "h" => SockFrame::Heartbeat,
        Some(b'a') => SockFrame::Messages(serde_json::from_str(&text[1..]).expect("a[...] is JSON")),
        Some(b'c') => {
            let (code, reason): (u16, String) = serde_json::from_str(&text[1..]).expect("c[...] is JSON");
            SockFrame::Close(code, reason)
        }
        _ => panic!("not a SockJS frame: {text:?}"),
    }
}

/// A SockJS transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Polling,
    Streaming,
    EventSource,
    WebSocket,
}

type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// A random session id.
pub fn new_session_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// An HTTP client whose requests may wait as long as a long poll.
pub fn http() -> awc::Client {
    awc::Client::builder().timeout(Duration::from_secs(60)).finish()
}

/// Reads a streaming response to its first `len` bytes (or its end).
pub async fn read_exact(body: &mut BodyStream, buf: &mut Vec<u8>, len: usize) -> Vec<u8> {
    while buf.len() < len {
        match tokio::time::timeout(WAIT, body.next())
            .await
            .expect("streamed bytes in time")
        {
            Some(chunk) => buf.extend_from_slice(&chunk.expect("a chunk")),
            None => break,
        }
    }
    let rest = buf.split_off(len.min(buf.len()));
    std::mem::replace(buf, rest)
}

pub struct SockJs {
    /// `http://host/sockjs/{server}/{session}`.
    pub url: String,
    pub transport: Transport,
    http: awc::Client,
    stream: Option<BodyStream>,
    ws: Option<WebSocketStream<MaybeTlsStream<TcpStream>>>,
    /// Streamed bytes not yet split into frames.
    buf: Vec<u8>,
    frames: VecDeque<SockFrame>,
    /// The streaming response ended (the byte limit, or the session closed).
    pub ended: bool,
    decoder: Decoder,
    stomp: BytesMut,
}

impl SockJs {
    /// Opens a new session over `transport` and reads its open frame.
    pub async fn open(s: &Server, transport: Transport) -> SockJs {
        logs();
        let url = s.url(&format!(
            "/sockjs/{:03}/{}",
            rand::random::<u16>() % 1000,
            new_session_id()
        ));
        let mut sock = SockJs {
            url,
            transport,
            http: http(),
            stream: None,
            ws: None,
            buf: Vec::new(),
            frames: VecDeque::new(),
            ended: false,
            decoder: Decoder::new(Limits::default()),
            stomp: BytesMut::new(),
        };
        sock.receive().await;
        assert_eq!(sock.next_frame().await, Some(SockFrame::Open));
        sock
    }

    /// Starts the transport's receiving side (a new streaming response; a WebSocket).
    pub async fn receive(&mut self) {
        self.ended = false;
        match self.transport {
            Transport::Polling => {}
            Transport::Streaming | Transport::EventSource => {
                let (method, path, prelude) = match self.transport {
                    Transport::Streaming => ("POST", "xhr_streaming", format!("{}\n", "h".repeat(2048))),
                    _ => ("GET", "eventsource", "\r\n".to_owned()),
                };
                let resp = self
                    .http
                    .request(method.parse().unwrap(), format!("{}/{path}", self.url))
                    .send()
                    .await
                    .expect("receiving request");
                assert_eq!(resp.status().as_u16(), 200);
                let mut body: BodyStream = Box::pin(resp);
                self.buf.clear();
                let got = read_exact(&mut body, &mut self.buf, prelude.len()).await;
                assert_eq!(String::from_utf8(got).unwrap(), prelude);
                self.stream = Some(body);
            }
            Transport::WebSocket => {
                let ws_url = format!("{}/websocket", self.url.replacen("http://", "ws://", 1));
                let (ws, _) = tokio_tungstenite::connect_async(ws_url).await.expect("websocket");
                self.ws = Some(ws);
            }
        }
    }

    /// One poll (`POST .../xhr`): its whole body.
    pub async fn poll(&self) -> String {
        let mut resp = self.http.post(format!("{}/xhr", self.url)).send().await.expect("poll");
        assert_eq!(resp.status().as_u16(), 200);
        let body = resp.body().limit(16 * 1024 * 1024).await.expect("poll body");
        String::from_utf8(body.to_vec()).unwrap()
    }

    /// The next SockJS frame; `None` once a streaming response or the WebSocket ended.
    pub async fn next_frame(&mut self) -> Option<SockFrame> {
        tokio::time::timeout(WAIT, self.next_frame_inner())
            .await
            .expect("a SockJS frame in time")
    }

    async fn next_frame_inner(&mut self) -> Option<SockFrame> {
        loop {
            if let Some(frame) = self.frames.pop_front() {
                return Some(frame);
            }
            match self.transport {
                Transport::Polling => {
                    let body = self.poll().await;
                    assert!(body.ends_with('\n'), "{body:?}");
                    self.frames.extend(body.lines().map(parse));
                }
                Transport::Streaming | Transport::EventSource => {
                    let (separator, prefix) = match self.transport {
                        Transport::Streaming => ("\n", ""),
                        _ => ("\r\n\r\n", "data: "),
                    };
                    if let Some(at) = find(&self.buf, separator.as_bytes()) {
                        let rest = self.buf.split_off(at + separator.len());
                        let event = String::from_utf8(std::mem::replace(&mut self.buf, rest)).unwrap();
                        let text = event[..at].strip_prefix(prefix).expect("an event's data");
                        return Some(parse(text));
                    }
                    let stream = self.stream.as_mut()?;
                    match stream.next().await {
                        Some(chunk) => self.buf.extend_from_slice(&chunk.expect("a chunk")),
                        None => {
                            assert!(self.buf.is_empty(), "a partial frame at the end: {:?}", self.buf);
                            self.stream = None;
                            self.ended = true;
                            return None;
                        }
                    }
                }
                Transport::WebSocket => {
                    let ws = self.ws.as_mut()?;
                    match ws.next().await {
                        Some(Ok(Message::Text(text))) => return Some(parse(text.as_str())),
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            self.ws = None;
                            self.ended = true;
                            return None;
                        }
                        Some(Ok(other)) => panic!("unexpected WebSocket message {other:?}"),
                    }
                }
            }
        }
    }

    /// `xhr_send` with a raw body: status and body.
    pub async fn send_raw(&self, body: &str) -> (u16, String) {
        let mut resp = self
            .http
            .post(format!("{}/xhr_send", self.url))
            .insert_header(("Content-Type", "text/plain"))
            .send_body(body.to_owned())
            .await
            .expect("xhr_send");
        let text = resp.body().await.expect("xhr_send body");
        (resp.status().as_u16(), String::from_utf8(text.to_vec()).unwrap())
    }

    /// Sends SockJS messages (the transport's way).
    pub async fn send(&mut self, messages: &[&str]) {
        let json = serde_json::to_string(messages).unwrap();
        match self.ws.as_mut() {
            Some(ws) => ws.send(Message::text(json)).await.expect("ws send"),
            None => {
                let (status, body) = self.send_raw(&json).await;
                assert_eq!((status, body.as_str()), (204, ""));
            }
        }
    }

    /// Drops the receiving side (a streaming response) without reading it to the end.
    pub fn drop_receiver(&mut self) {
        self.stream = None;
        self.buf.clear();
    }

    /// Sends one WebSocket text message as it is.
    pub async fn send_ws_text(&mut self, text: &str) {
        let ws = self.ws.as_mut().expect("a WebSocket transport");
        ws.send(Message::text(text.to_owned())).await.expect("ws send");
    }

    /// Sends a STOMP frame as one SockJS message.
    pub async fn send_stomp(&mut self, command: &str, headers: &[(&str, &str)], body: &str) {
        self.send(&[&frame(command, headers, body)]).await;
    }

    /// The next STOMP frame, skipping heartbeats of both protocols; panics on a close.
    pub async fn next_stomp(&mut self) -> Frame {
        loop {
            while let Some(item) = self.decoder.decode(&mut self.stomp).expect("server frames decode") {
                if let Inbound::Frame(frame) = item {
                    if frame.command == Command::Connected {
                        let version = frame
                            .header("version")
                            .and_then(Version::parse)
                            .unwrap_or(Version::V1_0);
                        self.decoder.set_version(version);
                    }
                    return frame;
                }
            }
            match self.next_frame().await {
                Some(SockFrame::Messages(messages)) => {
                    for message in messages {
                        self.stomp.extend_from_slice(message.as_bytes());
                    }
                }
                Some(SockFrame::Heartbeat) => {}
                Some(SockFrame::Open) => panic!("a second open frame"),
                Some(SockFrame::Close(code, reason)) => panic!("closed: {code} {reason}"),
                None if self.transport == Transport::Streaming || self.transport == Transport::EventSource => {
                    self.receive().await;
                }
                None => panic!("the transport ended"),
            }
        }
    }

    /// The next STOMP frame, which must be `command`.
    pub async fn expect_stomp(&mut self, command: Command) -> Frame {
        let frame = self.next_stomp().await;
        assert_eq!(
            frame.command,
            command,
            "{frame:?} body={:?}",
            String::from_utf8_lossy(&frame.body)
        );
        frame
    }

    /// CONNECT with a bearer token; returns CONNECTED.
    pub async fn connect(&mut self, token: &str) -> Frame {
        let bearer = format!("Bearer {token}");
        let headers = [
            ("accept-version", "1.2"),
            ("host", "kwanje"),
            ("Authorization", bearer.as_str()),
        ];
        self.send_stomp("CONNECT", &headers, "").await;
        self.expect_stomp(Command::Connected).await
    }

    /// SUBSCRIBE with a receipt, waiting for it.
    pub async fn subscribe(&mut self, id: &str, destination: &str) {
        let receipt = format!("sub-{id}");
        let headers = [("id", id), ("destination", destination), ("receipt", receipt.as_str())];
        self.send_stomp("SUBSCRIBE", &headers, "").await;
        let got = self.expect_stomp(Command::Receipt).await;
        assert_eq!(got.header("receipt-id"), Some(receipt.as_str()));
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
