//! A TCP session's socket, both ways: [`reads`] (or [`tls_reads`]), what the peer sends as it
//! arrives; and the [`Outbox`] with its writer, which sends queued frames in order and counts
//! the bytes not yet written (the backlog the slow-consumer policy bounds). A [`Socket`] is the
//! connection either plain or inside TLS.
//!
//! The writer runs on the session's context, so the count is a plain cell. When the outbox is
//! closed, the writer sends what is queued (the ERROR or RECEIPT last), then shuts the write side
//! (FIN) and ends.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Most bytes taken from the socket in one read; the core buffers partial frames.
pub const READ_CHUNK_BYTES: usize = 16 * 1024;
/// Most bytes taken from a TLS stream in one read. The buffer waits with the read, so it is
/// kept small; the TLS layer holds what did not fit until the next read.
pub const TLS_READ_CHUNK_BYTES: usize = 4 * 1024;

/// One accepted connection, plain or with its TLS handshake done.
pub enum Socket {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}
/// Queued frames written together in one write, up to this many bytes.
const MAX_BURST_BYTES: usize = 64 * 1024;

/// Frames queued for the writer, and the count of their bytes not yet written.
pub struct Outbox {
    queue: Option<mpsc::UnboundedSender<Bytes>>,
    queued: Rc<Cell<usize>>,
}

impl Outbox {
    /// An outbox for `socket`, and the writer that empties it, to run on the same thread; the
    /// writer ends once the outbox is closed and everything queued is written, or at an error.
    pub fn open<W>(socket: W) -> (Outbox, impl Future<Output = io::Result<()>>)
    where
        W: AsyncWrite + Unpin,
    {
        let (queue, queued_frames) = mpsc::unbounded_channel();
        let queued = Rc::new(Cell::new(0));
        let writer = write_out(socket, queued_frames, queued.clone());
        let outbox = Outbox {
            queue: Some(queue),
            queued,
        };
        (outbox, writer)
    }

    /// Queues one frame (dropped once the outbox is closed).
    pub fn push(&mut self, bytes: Bytes) {
        let Some(queue) = &self.queue else { return };
        let len = bytes.len();
        if queue.send(bytes).is_ok() {
            self.queued.set(self.queued.get() + len);
        }
    }

    /// Bytes queued and not yet written to the socket.
    pub fn pending(&self) -> usize {
        self.queued.get()
    }

    /// No more frames: the writer ends after what is queued.
    pub fn close(&mut self) {
        self.queue = None;
    }

    pub fn is_closed(&self) -> bool {
        self.queue.is_none()
    }
}

/// Writes queued frames in order (those waiting together in one write), then shuts the write
/// side once the queue is closed and empty.
async fn write_out<W: AsyncWrite + Unpin>(
    mut socket: W,
    mut queue: mpsc::UnboundedReceiver<Bytes>,
    queued: Rc<Cell<usize>>,
) -> io::Result<()> {
    while let Some(first) = queue.recv().await {
        let burst = gather(first, &mut queue);
        socket.write_all(&burst).await?;
        queued.set(queued.get().saturating_sub(burst.len()));
    }
    socket.shutdown().await
}

/// `first` and whatever else waits in `queue`, up to [`MAX_BURST_BYTES`].
fn gather(first: Bytes, queue: &mut mpsc::UnboundedReceiver<Bytes>) -> Bytes {
    let Ok(second) = queue.try_recv() else {
        return first;
    };
    let mut burst = BytesMut::with_capacity(first.len() + second.len());
    burst.extend_from_slice(&first);
    burst.extend_from_slice(&second);
    while burst.len() < MAX_BURST_BYTES {
        match queue.try_recv() {
            Ok(more) => burst.extend_from_slice(&more),
            Err(_) => break,
        }
    }
    burst.freeze()
}

/// What the peer sends, as it arrives, at most [`READ_CHUNK_BYTES`] at a time; ends at EOF, or
/// after the first error. An idle connection holds no read buffer.
pub fn reads(socket: OwnedReadHalf) -> impl Stream<Item = io::Result<Bytes>> {
    futures_util::stream::unfold(Some(socket), |socket| async move {
        let socket = socket?;
        loop {
            if let Err(err) = socket.readable().await {
                return Some((Err(err), None));
            }
            let mut chunk = [0u8; READ_CHUNK_BYTES];
            match socket.try_read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => return Some((Ok(Bytes::copy_from_slice(&chunk[..n])), Some(socket))),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                Err(err) => return Some((Err(err), None)),
            }
        }
    })
}

/// What the peer sends through TLS, as it is decrypted, at most [`TLS_READ_CHUNK_BYTES`] at a
/// time; ends at EOF (the peer's close_notify or FIN), or after the first error.
pub fn tls_reads<R>(socket: R) -> impl Stream<Item = io::Result<Bytes>>
where
    R: AsyncRead + Unpin,
{
    futures_util::stream::unfold(Some(socket), |socket| async move {
        let mut socket = socket?;
        let mut chunk = BytesMut::with_capacity(TLS_READ_CHUNK_BYTES);
        match socket.read_buf(&mut chunk).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(chunk.freeze()), Some(socket))),
            Err(err) => Some((Err(err), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    #[test]
    fn queued_frames_go_out_together_up_to_the_burst_limit() {
        let (queue, mut queued) = mpsc::unbounded_channel();
        queue.send(Bytes::from_static(b"one")).unwrap();
        assert_eq!(&gather(queued.try_recv().unwrap(), &mut queued)[..], b"one");
        for _ in 0..3 {
            queue.send(Bytes::from(vec![b'x'; MAX_BURST_BYTES / 2])).unwrap();
        }
        let burst = gather(queued.try_recv().unwrap(), &mut queued);
        assert_eq!(burst.len(), MAX_BURST_BYTES);
        assert_eq!(
            gather(queued.try_recv().unwrap(), &mut queued).len(),
            MAX_BURST_BYTES / 2
        );
    }

    #[tokio::test]
    async fn an_idle_reader_holds_no_read_buffer_and_ends_at_eof() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut reads = Box::pin(reads(server.into_split().0));
        // The type's size covers every state: the read chunk lives on the stack during a read.
        assert!(
            std::mem::size_of_val(&*reads) < 1024,
            "{}",
            std::mem::size_of_val(&*reads)
        );
        client.write_all(b"CONNECT\n\n\0").await.unwrap();
        assert_eq!(&reads.next().await.unwrap().unwrap()[..], b"CONNECT\n\n\0");
        client.shutdown().await.unwrap();
        assert!(reads.next().await.is_none());
    }
}
