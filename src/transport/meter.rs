//! The outbound meter: how many bytes a WebSocket session has written that the connection has
//! not taken yet.
//!
//! The session actor writes frames into its WebSocket context, which queues them until the HTTP
//! connection pulls the encoded bytes (it pulls only while its own write buffer has room, that
//! is while the client reads). The actor counts what it writes ([`Meter::wrote`]) and
//! [`Metered`], wrapped around the response stream, counts what the connection pulls; the
//! difference is the backlog a slow client makes the server hold, which the session bounds
//! (slow-consumer policy). Both run on the session's thread (the actor lives inside the
//! response stream), so the counters are plain cells.
//!
//! Owns only counting; it must not decide what to do about a backlog.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

/// Shared between a session actor and its response stream.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    written: Rc<Cell<u64>>,
    taken: Rc<Cell<u64>>,
}

/// The header of a server-to-client WebSocket frame (unmasked) carrying `len` payload bytes.
pub fn frame_header_len(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=65_535 => 4,
        _ => 10,
    }
}

impl Meter {
    /// The actor queued a WebSocket frame with `payload` bytes.
    pub fn wrote(&self, payload: usize) {
        let bytes = (payload + frame_header_len(payload)) as u64;
        self.written.set(self.written.get() + bytes);
    }

    /// Bytes queued and not yet taken by the connection.
    pub fn pending(&self) -> usize {
        usize::try_from(self.written.get().saturating_sub(self.taken.get())).unwrap_or(usize::MAX)
    }

    /// Wraps the response stream so what the connection pulls is counted.
    pub fn wrap<S>(&self, inner: S) -> Metered<S> {
        Metered {
            inner: Box::pin(inner),
            meter: self.clone(),
        }
    }
}

/// A response stream that counts the bytes the connection takes from it.
pub struct Metered<S> {
    inner: Pin<Box<S>>,
    meter: Meter,
}

impl<S, E> Stream for Metered<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            let taken = &self.meter.taken;
            taken.set(taken.get() + chunk.len() as u64);
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[test]
    fn pending_is_written_minus_taken_with_frame_headers() {
        let meter = Meter::default();
        meter.wrote(10);
        meter.wrote(200);
        assert_eq!(meter.pending(), 12 + 204);
        let chunks = vec![Ok::<_, ()>(Bytes::from(vec![0; 12 + 204]))];
        let mut stream = meter.wrap(futures_util::stream::iter(chunks));
        let next = futures_util::FutureExt::now_or_never(stream.next());
        assert!(matches!(next, Some(Some(Ok(_)))));
        assert_eq!(meter.pending(), 0);
        assert_eq!(frame_header_len(70_000), 10);
    }
}
