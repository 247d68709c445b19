//! TCP keep-alive on the connections the server accepts (`KWANJE_TCP_KEEPALIVE_SECS`), HTTP and
//! plain TCP STOMP alike. The server runs in this process, so its side of a loopback connection
//! shows in `/proc/self/net/tcp`, with the kernel's timer for it: 2 is the keep-alive timer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Backend, Server};

/// The `timer_active` field of the socket `local` -> `remote` in `/proc/self/net/tcp`.
fn timer_of(local: SocketAddr, remote: SocketAddr) -> Option<u8> {
    let hex = |a: SocketAddr| format!("0100007F:{:04X}", a.port());
    let table = std::fs::read_to_string("/proc/self/net/tcp").expect("/proc/self/net/tcp");
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&hex(local).as_str()) && fields.get(2) == Some(&hex(remote).as_str()))
            .then(|| fields.get(5)?.split(':').next()?.parse().ok())
            .flatten()
    })
}

/// Connects to `server` and waits until the server's end of the connection shows.
async fn server_timer(server: SocketAddr) -> u8 {
    let client = tokio::net::TcpStream::connect(server).await.unwrap();
    let local = client.local_addr().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(timer) = timer_of(server, local) {
            // Accepted, but the server may not have set its options yet: wait for the timer.
            if timer == 2 || Instant::now() > deadline {
                return timer;
            }
        }
        assert!(Instant::now() < deadline, "the server's side of {local} never showed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn http_addr(s: &Server) -> SocketAddr {
    s.base.trim_start_matches("http://").parse().unwrap()
}

#[actix_web::test]
async fn accepted_connections_have_keepalive_on() {
    let s = Server::start_with(Backend::Sqlite, |c| c.stomp_tcp = Some("127.0.0.1:0".into())).await;
    assert_eq!(server_timer(http_addr(&s)).await, 2, "HTTP/WebSocket connection");
    assert_eq!(server_timer(s.stomp_tcp.unwrap()).await, 2, "TCP STOMP connection");
}

#[actix_web::test]
async fn keepalive_can_be_turned_off() {
    let s = Server::start_with(Backend::Sqlite, |c| {
        c.stomp_tcp = Some("127.0.0.1:0".into());
        c.tcp_keepalive_secs = 0;
    })
    .await;
    // The server sets its options when it accepts, before it serves: once a request on this
    // connection is answered, they are set (or, here, not).
    let mut client = tokio::net::TcpStream::connect(http_addr(&s)).await.unwrap();
    client
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: kwanje\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 12];
    client.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    // Until the client's kernel acknowledges the answer the server's side shows its
    // retransmit timer (1); then no timer at all, where keep-alive would show 2.
    let local = client.local_addr().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while timer_of(http_addr(&s), local) == Some(1) {
        assert!(Instant::now() < deadline, "the answer was never acknowledged");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(timer_of(http_addr(&s), local), Some(0));
}
