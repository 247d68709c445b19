//! A TCP proxy a test can cut, to make a database "briefly gone" (as crates.io's chaos proxy).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct ChaosProxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

/// A fresh PostgreSQL schema of `TEST_DATABASE_URL` reached through a [`ChaosProxy`]:
/// `(proxy, database URL)`. Only for tests ignored without the variable (`cfg(pg_tests)`).
pub async fn proxied_postgres() -> (ChaosProxy, String) {
    let base = super::pg_url().expect("TEST_DATABASE_URL (the build saw it, this run does not)");
    let url = super::fresh_pg_schema(&base);
    let host_port = base
        .split('@')
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("127.0.0.1:5432");
    let upstream = std::net::ToSocketAddrs::to_socket_addrs(host_port)
        .ok()
        .and_then(|mut addrs| addrs.next())
        .unwrap_or_else(|| panic!("TEST_DATABASE_URL names no address: {host_port}"));
    let proxy = ChaosProxy::start(upstream).await;
    let proxied = url.replacen(host_port, &proxy.addr.to_string(), 1);
    (proxy, proxied)
}

impl ChaosProxy {
    /// Listens on loopback port 0 and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> ChaosProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (up2, conns2) = (up.clone(), conns.clone());
        actix_web::rt::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = actix_web::rt::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns2.lock().unwrap().push(task);
            }
        });
        ChaosProxy { addr, up, conns }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.conns.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
