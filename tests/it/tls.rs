//! TLS on every listener (`KWANJE_TLS_CERT`, `KWANJE_TLS_KEY`): HTTP, WebSocket, SockJS and TCP
//! STOMP over TLS with real clients, plain connections to the TLS ports refused, a certificate
//! renewed on SIGHUP while sessions stay open, and settings that cannot be served refused at
//! start.
//!
//! The test makes its own certificate authority (rcgen) and trusts only it: the clients check
//! the server's certificate as a gate PC would.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kwanje::auth::Role;
use kwanje::broker::messages::GetBrokerStats;
use kwanje::config::Config;
use kwanje::stomp::Command;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::realtime::client::{frame, Stomp, WAIT};
use crate::support::{Backend, Server};

/// A test CA and the server certificate it signs, written where the server reads them.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let pki = Pki {
            ca,
            dir: tempfile::tempdir().unwrap(),
        };
        pki.issue();
        pki
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    /// A new server certificate (a new key too) for 127.0.0.1 and localhost, written over the
    /// files; returns its DER, which a client sees in the handshake.
    fn issue(&self) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        write_atomically(&self.cert(), &cert.pem());
        write_atomically(&self.key(), &key.serialize_pem());
        cert.der().to_vec()
    }

    /// A client configuration that trusts this CA only.
    fn client(&self) -> Arc<rustls::ClientConfig> {
        Arc::new(self.client_builder().with_no_client_auth())
    }

    /// As `client`, presenting a client certificate this CA signs with `cn` as its subject's
    /// common name (a gate PC's certificate names its client id).
    fn client_with_cert(&self, cn: &str) -> Arc<rustls::ClientConfig> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = self
            .client_builder()
            .with_client_auth_cert(vec![cert.der().clone()], key)
            .unwrap();
        Arc::new(config)
    }

    fn client_builder(&self) -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(self.ca.der().to_vec())).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
    }

    /// The CA's certificate, for `KWANJE_TLS_CLIENT_CA`.
    fn ca_file(&self) -> PathBuf {
        let path = self.dir.path().join("client-ca.pem");
        std::fs::write(&path, self.ca.pem()).unwrap();
        path
    }

    fn configure(&self, c: &mut Config) {
        c.tls_cert = Some(self.cert());
        c.tls_key = Some(self.key());
        c.stomp_tcp = Some("127.0.0.1:0".into());
    }
}

/// A renewal tool writes the new file beside the old and renames it: the server never reads half.
fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A TLS connection to `addr` checking the server's certificate for 127.0.0.1.
async fn tls(pki: &Pki, addr: SocketAddr) -> TlsStream<TcpStream> {
    tls_as(pki.client(), addr).await
}

/// As `tls`, with the client configuration `config` (a client certificate, say).
async fn tls_as(config: Arc<rustls::ClientConfig>, addr: SocketAddr) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = ServerName::IpAddress(addr.ip().into());
    TlsConnector::from(config).connect(name, tcp).await.unwrap()
}

/// The certificate the server presents to a new connection now.
async fn presented(pki: &Pki, addr: SocketAddr) -> Vec<u8> {
    let stream = tls(pki, addr).await;
    stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn http_addr(s: &Server) -> SocketAddr {
    s.url("").trim_start_matches("https://").parse().unwrap()
}

/// A STOMP session over `wss://…/ws`, connected as `client`.
async fn wss_session(s: &Server, pki: &Pki, client: &str) -> Stomp {
    let addr = http_addr(s);
    let stream = tls(pki, addr).await;
    let mut stomp = Stomp::open_over(Box::new(stream), &format!("wss://{addr}/ws"), &["v12.stomp"]).await;
    stomp.connect(&s.token(client, Role::Client, Some(client)), "1.2").await;
    stomp
}

/// A STOMP session over TCP inside TLS, connected as `client`.
async fn tls_tcp_session(s: &Server, pki: &Pki, client: &str) -> Stomp {
    let stream = tls(pki, s.stomp_tcp.unwrap()).await;
    let mut stomp = Stomp::over_stream(Box::new(stream));
    stomp.connect(&s.token(client, Role::Client, Some(client)), "1.2").await;
    stomp
}

async fn beat(stomp: &mut Stomp, device: &str, receipt: &str) {
    let body = format!(r#"{{"devices":[{{"id":"{device}","status":"ok"}}]}}"#);
    stomp
        .send_with_receipt(
            "/app/heartbeat",
            &[("content-type", "application/json")],
            &body,
            receipt,
        )
        .await;
}

#[actix_web::test]
async fn http_websocket_sockjs_and_tcp_stomp_are_served_over_tls() {
    let pki = Pki::new();
    let s = Server::start_with(Backend::Sqlite, |c| pki.configure(c))
        .await
        .trusting(pki.client());
    assert!(s.url("").starts_with("https://"), "{}", s.url(""));

    // HTTPS: the API, with the server's certificate checked against the test CA.
    let (status, health) = s.get("/healthz").await;
    assert_eq!(status, 200, "{health}");
    s.register("gate-1", &["cam-ws", "cam-tcp", "cam-sockjs"], 60_000, 3)
        .await;

    // WebSocket (wss://) and TCP STOMP inside TLS: heartbeats reach the devices.
    let mut ws = wss_session(&s, &pki, "gate-1").await;
    beat(&mut ws, "cam-ws", "hb-ws").await;
    let mut tcp = tls_tcp_session(&s, &pki, "gate-1").await;
    beat(&mut tcp, "cam-tcp", "hb-tcp").await;

    // SockJS's websocket transport over TLS: the open frame, then STOMP inside SockJS frames.
    let addr = http_addr(&s);
    let request = format!("wss://{addr}/sockjs/000/tlstest1/websocket")
        .into_client_request()
        .unwrap();
    let (mut sockjs, _) = tokio_tungstenite::client_async(request, tls(&pki, addr).await)
        .await
        .unwrap();
    assert_eq!(next_text(&mut sockjs).await, "o");
    let token = s.token("gate-1", Role::Client, Some("gate-1"));
    let connect = frame("CONNECT", &[("accept-version", "1.2"), ("passcode", &token)], "");
    let send = frame(
        "SEND",
        &[("destination", "/app/heartbeat"), ("receipt", "hb-sockjs")],
        r#"{"devices":[{"id":"cam-sockjs","status":"ok"}]}"#,
    );
    let batch = serde_json::to_string(&[connect, send]).unwrap();
    sockjs.send(Message::text(batch)).await.unwrap();
    let mut seen = String::new();
    while !seen.contains("receipt-id:hb-sockjs") {
        seen.push_str(&next_text(&mut sockjs).await);
    }
    assert!(seen.contains("CONNECTED"), "{seen}");

    for device in ["cam-ws", "cam-tcp", "cam-sockjs"] {
        s.wait_for(&format!("/api/v1/devices/{device}"), WAIT, |d| d["state"] == "up")
            .await;
    }
}

/// The next text message of a SockJS websocket, skipping heartbeats (`h`).
async fn next_text<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a SockJS frame in time")
            .expect("the websocket is open")
            .unwrap();
        if let Message::Text(text) = message {
            if text.as_str() != "h" {
                return text.to_string();
            }
        }
    }
}

#[actix_web::test]
async fn plain_connections_to_the_tls_ports_are_refused_without_a_session() {
    let pki = Pki::new();
    let s = Server::start_with(Backend::Sqlite, |c| pki.configure(c))
        .await
        .trusting(pki.client());

    // A plain HTTP request to the HTTPS port: no HTTP answer, the connection is closed.
    let mut http = TcpStream::connect(http_addr(&s)).await.unwrap();
    http.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: kwanje\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut http).await;
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // A plain STOMP CONNECT to the TLS STOMP port: no CONNECTED, the connection is closed.
    let token = s.token("gate-1", Role::Client, Some("gate-1"));
    let mut stomp = TcpStream::connect(s.stomp_tcp.unwrap()).await.unwrap();
    stomp
        .write_all(frame("CONNECT", &[("accept-version", "1.2"), ("passcode", &token)], "").as_bytes())
        .await
        .unwrap();
    let answer = read_until_closed(&mut stomp).await;
    assert!(
        !String::from_utf8_lossy(&answer).contains("CONNECTED"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    let stats = s.state.broker.send(GetBrokerStats).await.unwrap();
    assert_eq!(stats.sessions, 0, "{stats:?}");

    // A client that trusts another CA does not complete the handshake.
    let other = Pki::new();
    let tcp = TcpStream::connect(s.stomp_tcp.unwrap()).await.unwrap();
    let name = ServerName::IpAddress(s.stomp_tcp.unwrap().ip().into());
    assert!(TlsConnector::from(other.client()).connect(name, tcp).await.is_err());
}

/// What the peer sends until it closes (a TLS alert, or nothing).
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "still open: {:?}", String::from_utf8_lossy(&got));
    got
}

#[actix_web::test]
async fn a_certificate_renewed_on_sighup_is_served_and_open_sessions_stay() {
    let pki = Pki::new();
    let first = std::fs::read(pki.cert()).unwrap();
    let s = Server::start_with(Backend::Sqlite, |c| pki.configure(c))
        .await
        .trusting(pki.client());
    s.register("gate-1", &["cam-1"], 60_000, 3).await;
    let mut ws = wss_session(&s, &pki, "gate-1").await;
    let mut tcp = tls_tcp_session(&s, &pki, "gate-1").await;
    let served = presented(&pki, http_addr(&s)).await;
    assert!(pem_holds(&first, &served));

    let renewed = pki.issue();
    hang_up();
    for addr in [http_addr(&s), s.stomp_tcp.unwrap()] {
        until_presented(&pki, addr, &renewed).await;
    }
    // The sessions opened before the renewal are still open, on the old certificate.
    beat(&mut ws, "cam-1", "after-ws").await;
    beat(&mut tcp, "cam-1", "after-tcp").await;

    // A renewal that went wrong (a truncated file): the renewed certificate is still served.
    write_atomically(&pki.cert(), "-----BEGIN CERTIFICATE-----\nMIIB\n");
    hang_up();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(presented(&pki, http_addr(&s)).await, renewed);
    beat(&mut ws, "cam-1", "still-ws").await;
}

/// SIGHUP to this process, as `kill -HUP` from an operator or a certificate renewal hook.
fn hang_up() {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn until_presented(pki: &Pki, addr: SocketAddr, want: &[u8]) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if presented(pki, addr).await == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{addr} still presents the old certificate"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the PEM text `pem` holds the certificate `der`.
fn pem_holds(pem: &[u8], der: &[u8]) -> bool {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem).any(|cert| cert.unwrap().as_ref() == der)
}

#[actix_web::test]
async fn tls_settings_that_cannot_be_served_stop_the_start_with_the_reason() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("k.db").display());
    let start = |tweak: &dyn Fn(&mut Config)| {
        let mut config = Config::with_database(&url);
        config.bind = "127.0.0.1:0".into();
        config.admin_password = Some("admin-pw".into());
        tweak(&mut config);
        kwanje::app::start(config, false)
    };

    let half = start(&|c| c.tls_cert = Some(pki.cert())).await.unwrap_err();
    assert!(half.to_string().contains("KWANJE_TLS_KEY"), "{half}");

    let other = Pki::new();
    let mismatched = start(&|c| {
        c.tls_cert = Some(pki.cert());
        c.tls_key = Some(other.key());
    })
    .await
    .unwrap_err();
    assert!(
        mismatched.to_string().contains("does not serve the certificate"),
        "{mismatched}"
    );

    let missing = start(&|c| {
        c.tls_cert = Some(dir.path().join("nowhere.pem"));
        c.tls_key = Some(pki.key());
    })
    .await
    .unwrap_err();
    assert!(missing.to_string().contains("nowhere.pem"), "{missing}");

    let ca_alone = start(&|c| c.tls_client_ca = Some(pki.ca_file())).await.unwrap_err();
    assert!(ca_alone.to_string().contains("KWANJE_TLS_CERT"), "{ca_alone}");
    let bad_mode = start(&|c| {
        c.tls_cert = Some(pki.cert());
        c.tls_key = Some(pki.key());
        c.tls_client_ca = Some(pki.ca_file());
        c.tls_client_cert = "either".into();
    })
    .await
    .unwrap_err();
    assert!(bad_mode.to_string().contains("KWANJE_TLS_CLIENT_CERT"), "{bad_mode}");
    let not_a_ca = start(&|c| {
        c.tls_cert = Some(pki.cert());
        c.tls_key = Some(pki.key());
        c.tls_client_ca = Some(pki.key());
    })
    .await
    .unwrap_err();
    assert!(not_a_ca.to_string().contains("server.key"), "{not_a_ca}");
}

/// A CONNECT with `token` (none: no credential at all); returns the answer, CONNECTED or ERROR.
async fn connect_with(stomp: &mut Stomp, token: Option<&str>) -> kwanje::stomp::Frame {
    let mut headers = vec![("accept-version", "1.2")];
    if let Some(token) = token {
        headers.push(("passcode", token));
    }
    stomp.send_text(&frame("CONNECT", &headers, "")).await;
    stomp.recv().await
}

/// STOMP sessions as `config` over WebSocket and TCP, both inside TLS.
async fn sessions_as(s: &Server, config: &Arc<rustls::ClientConfig>) -> [Stomp; 2] {
    let addr = http_addr(s);
    let ws = Stomp::open_over(
        Box::new(tls_as(config.clone(), addr).await),
        &format!("wss://{addr}/ws"),
        &["v12.stomp"],
    )
    .await;
    let tcp = Stomp::over_stream(Box::new(tls_as(config.clone(), s.stomp_tcp.unwrap()).await));
    [ws, tcp]
}

/// `POST /api/v1/devices/{device}/heartbeat` over HTTPS as `config`, with `token` if given.
async fn http_beat(s: &Server, config: &Arc<rustls::ClientConfig>, device: &str, token: Option<&str>) -> u16 {
    let client = awc::Client::builder()
        .connector(awc::Connector::new().rustls_0_23(config.clone()))
        .finish();
    let mut request = client.post(s.url(&format!("/api/v1/devices/{device}/heartbeat")));
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let response = request.send_json(&serde_json::json!({"status": "ok"})).await.unwrap();
    response.status().as_u16()
}

/// A TLS server that checks client certificates against `pki`'s CA, as `mode` says, with one
/// gate PC `gate-1` hosting `cam-1`.
async fn mtls_server(pki: &Pki, mode: &str) -> Server {
    let ca = pki.ca_file();
    let s = Server::start_with(Backend::Sqlite, |c| {
        pki.configure(c);
        c.tls_client_ca = Some(ca.clone());
        c.tls_client_cert = mode.into();
    })
    .await
    .trusting(pki.client());
    s.register("gate-1", &["cam-1"], 60_000, 3).await;
    s
}

#[actix_web::test]
async fn a_gate_pc_certificate_stands_in_for_its_token() {
    let pki = Pki::new();
    let s = mtls_server(&pki, "instead").await;
    let gate_1 = pki.client_with_cert("gate-1");

    // No token anywhere: the certificate says who it is, on HTTP, WebSocket and TCP STOMP.
    assert_eq!(http_beat(&s, &gate_1, "cam-1", None).await, 200);
    for mut stomp in sessions_as(&s, &gate_1).await {
        let connected = connect_with(&mut stomp, None).await;
        assert_eq!(connected.command, Command::Connected, "{connected:?}");
        beat(&mut stomp, "cam-1", "hb").await;
    }

    // Without a certificate a token is still needed, and a token still works.
    assert_eq!(http_beat(&s, &pki.client(), "cam-1", None).await, 401);
    let token = s.token("gate-1", Role::Client, Some("gate-1"));
    assert_eq!(http_beat(&s, &pki.client(), "cam-1", Some(&token)).await, 200);
    let [mut ws, _] = sessions_as(&s, &pki.client()).await;
    let refused = connect_with(&mut ws, None).await;
    assert_eq!(refused.command, Command::Error, "{refused:?}");

    // A certificate and a token that name different clients: refused, whichever is right.
    let other = s.token("gate-2", Role::Client, Some("gate-2"));
    assert_eq!(http_beat(&s, &gate_1, "cam-1", Some(&other)).await, 401);
    let [mut ws, _] = sessions_as(&s, &gate_1).await;
    let mismatch = connect_with(&mut ws, Some(&other)).await;
    assert_eq!(mismatch.command, Command::Error);
    assert!(
        String::from_utf8_lossy(&mismatch.body).contains("names gate-1"),
        "{mismatch:?}"
    );

    // A client certificate from another CA fails the handshake.
    let stranger = Pki::new().client_with_cert("gate-1");
    let tcp = TcpStream::connect(s.stomp_tcp.unwrap()).await.unwrap();
    let name = ServerName::IpAddress(s.stomp_tcp.unwrap().ip().into());
    let handshake = TlsConnector::from(stranger).connect(name, tcp).await;
    // TLS 1.3 reports the refusal on the first read, after the client thinks it is done.
    if let Ok(mut stream) = handshake {
        let mut byte = [0u8; 1];
        assert!(!matches!(stream.read(&mut byte).await, Ok(n) if n > 0));
    }
}

#[actix_web::test]
async fn with_also_a_gate_pc_needs_its_token_and_its_certificate_and_people_need_neither_cert() {
    let pki = Pki::new();
    let s = mtls_server(&pki, "also").await;
    let token = s.token("gate-1", Role::Client, Some("gate-1"));
    let gate_1 = pki.client_with_cert("gate-1");

    assert_eq!(http_beat(&s, &gate_1, "cam-1", Some(&token)).await, 200);
    assert_eq!(http_beat(&s, &gate_1, "cam-1", None).await, 401);
    assert_eq!(http_beat(&s, &pki.client(), "cam-1", Some(&token)).await, 401);
    for mut stomp in sessions_as(&s, &gate_1).await {
        let connected = connect_with(&mut stomp, Some(&token)).await;
        assert_eq!(connected.command, Command::Connected, "{connected:?}");
    }
    for mut stomp in sessions_as(&s, &pki.client()).await {
        let refused = connect_with(&mut stomp, Some(&token)).await;
        assert_eq!(refused.command, Command::Error);
        assert!(
            String::from_utf8_lossy(&refused.body).contains("client certificate"),
            "{refused:?}"
        );
    }
    // The admin's browser has no certificate: its token is enough (s.get uses no certificate).
    let (status, _) = s.get("/api/v1/devices").await;
    assert_eq!(status, 200);
}
