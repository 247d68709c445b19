//! The response body of one receiving request (`xhr`, `xhr_streaming`, `eventsource`): a
//! channel from the session actor to the HTTP connection.
//!
//! The actor and the connection may run on different threads (the session lives on the worker
//! that opened it; each later request lands on any worker), so the body is fed through a
//! channel and the bytes written but not yet taken by the connection are counted in an atomic:
//! the STOMP driver's slow-consumer check reads it (through the actor's link) together with the
//! session's queue.
//!
//! When the connection drops the body, it tells the actor whether the response had ended
//! ([`ReceiverGone`]): a body dropped before its end means the client went away mid-way.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use actix::{Message, Recipient};
use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;

use super::session::ReceiverId;

/// A receiving request's body was dropped by its connection.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ReceiverGone {
    pub receiver: ReceiverId,
    /// Dropped before the response ended: the client went away.
    pub aborted: bool,
}

/// The actor's end: writes chunks, ends the response when dropped.
#[derive(Debug)]
pub struct BodyWriter {
    tx: mpsc::UnboundedSender<Bytes>,
    in_flight: Arc<AtomicUsize>,
}

/// The connection's end, a response body stream.
pub struct Body {
    rx: mpsc::UnboundedReceiver<Bytes>,
    in_flight: Arc<AtomicUsize>,
    /// Whom to tell when dropped (none: a one-off answer, not the session's receiver).
    gone: Option<(Recipient<ReceiverGone>, ReceiverId)>,
    ended: bool,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body").field("ended", &self.ended).finish()
    }
}

/// A body for the session's receiving request `receiver`; its drop is reported to `gone`.
pub fn channel(receiver: ReceiverId, gone: Recipient<ReceiverGone>) -> (BodyWriter, Body) {
    let (writer, mut body) = detached();
    body.gone = Some((gone, receiver));
    (writer, body)
}

/// A one-off body: `chunks`, each a chunk of its own, then the end.
pub fn once(chunks: impl IntoIterator<Item = String>) -> Body {
    let (writer, body) = detached();
    for chunk in chunks {
        writer.write(chunk);
    }
    body
}

fn detached() -> (BodyWriter, Body) {
    let (tx, rx) = mpsc::unbounded_channel();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let writer = BodyWriter {
        tx,
        in_flight: in_flight.clone(),
    };
    let body = Body {
        rx,
        in_flight,
        gone: None,
        ended: false,
    };
    (writer, body)
}

impl BodyWriter {
    /// Queues `text` for the connection; false when the connection dropped the body.
    pub fn write(&self, text: String) -> bool {
        if text.is_empty() {
            return !self.tx.is_closed();
        }
        let len = text.len();
        self.in_flight.fetch_add(len, Ordering::Relaxed);
        if self.tx.send(Bytes::from(text)).is_err() {
            self.in_flight.fetch_sub(len, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Bytes written that the connection has not taken.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

impl Stream for Body {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => {
                self.in_flight.fetch_sub(chunk.len(), Ordering::Relaxed);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if let Some((gone, receiver)) = self.gone.take() {
            gone.do_send(ReceiverGone {
                receiver,
                aborted: !self.ended,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::{FutureExt, StreamExt};

    use super::*;

    #[test]
    fn in_flight_is_written_minus_taken_and_the_end_is_the_writers_drop() {
        let (writer, mut body) = detached();
        assert!(writer.write("abc".into()));
        assert!(writer.write("de".into()));
        assert_eq!(writer.in_flight(), 5);
        let first = body.next().now_or_never().flatten().unwrap().unwrap();
        assert_eq!(&first[..], b"abc");
        assert_eq!(writer.in_flight(), 2);
        drop(writer);
        assert!(body.next().now_or_never().flatten().is_some());
        assert!(body.next().now_or_never().unwrap().is_none());
        assert!(body.ended);
    }

    #[test]
    fn writing_to_a_dropped_body_fails_and_counts_nothing() {
        let (writer, body) = detached();
        drop(body);
        assert!(!writer.write("abc".into()));
        assert_eq!(writer.in_flight(), 0);
    }

    #[test]
    fn a_one_off_body_is_its_text() {
        let mut body = once(["c[2010,\"x\"]\n".into()]);
        let chunk = body.next().now_or_never().flatten().unwrap().unwrap();
        assert_eq!(&chunk[..], b"c[2010,\"x\"]\n");
        assert!(body.next().now_or_never().unwrap().is_none());
    }
}
