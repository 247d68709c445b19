//! A webhook receiver for the tests: an HTTP server on its own thread that records every POST
//! (its `Idempotency-Key` and JSON body), answering 200, or 503 while it is switched down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::Value;

/// One delivery as the receiver saw it, accepted or not.
#[derive(Debug, Clone)]
pub struct Got {
    pub key: String,
    pub body: Value,
    pub accepted: bool,
}

pub struct TestReceiver {
    pub url: String,
    got: Arc<Mutex<Vec<Got>>>,
    up: Arc<AtomicBool>,
}

#[derive(Clone)]
struct Shared {
    got: Arc<Mutex<Vec<Got>>>,
    up: Arc<AtomicBool>,
}

async fn hook(shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let accepted = shared.up.load(Ordering::SeqCst);
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.got.lock().unwrap().push(Got { key, body, accepted });
    if accepted {
        HttpResponse::Ok().finish()
    } else {
        HttpResponse::ServiceUnavailable().body("receiver down for the test")
    }
}

impl TestReceiver {
    /// Listening on 127.0.0.1 at `/hook`, up.
    pub fn start() -> TestReceiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let up = Arc::new(AtomicBool::new(true));
        let shared = Shared {
            got: got.clone(),
            up: up.clone(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(shared.clone()))
                        .route("/hook", web::post().to(hook))
                })
                .workers(1)
                .bind("127.0.0.1:0")
                .unwrap();
                let addr = server.addrs()[0];
                tx.send(addr).unwrap();
                server.run().await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        TestReceiver {
            url: format!("http://{addr}/hook"),
            got,
            up,
        }
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    /// Every delivery so far, in the order it arrived.
    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// The idempotency keys accepted, in order, each once (a repeat after its first acceptance
    /// is dropped, as a receiver would).
    pub fn accepted_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for g in self.got().into_iter().filter(|g| g.accepted) {
            if !keys.contains(&g.key) {
                keys.push(g.key);
            }
        }
        keys
    }
}
