//! SIGHUP reads the certificate and key again (a renewed certificate is served without a
//! restart and without dropping a session).

use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};

use super::CertSlot;

/// Reloads `slot` on every SIGHUP the process receives, for as long as the returned task runs.
/// Installing it also keeps SIGHUP from ending the process, its default.
pub fn reload_on_sighup(slot: Arc<CertSlot>) -> std::io::Result<actix_web::rt::task::JoinHandle<()>> {
    let mut hangups = signal(SignalKind::hangup())?;
    Ok(actix_web::rt::spawn(async move {
        while hangups.recv().await.is_some() {
            match slot.reload() {
                Ok(()) => log::info!("tls certificate reloaded cert={}", slot.cert_path().display()),
                Err(err) => log::warn!(
                    "tls certificate reload failed, the previous one is still served cert={} error={err}",
                    slot.cert_path().display()
                ),
            }
        }
    }))
}
