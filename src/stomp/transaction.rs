//! Open STOMP transactions of one session: frames buffered between BEGIN and COMMIT/ABORT.
//!
//! Owns the buffering and its caps only. It must not carry out what it buffers; COMMIT hands the
//! ops back to the session in order, ABORT (and disconnect) drops them.

use std::collections::HashMap;

use super::client::{AckTarget, Send};
use super::error::ProtocolError;

/// Cap on transactions open at once in one session.
pub const MAX_OPEN_TRANSACTIONS: usize = 16;
/// Cap on frames buffered in one transaction.
pub const MAX_TRANSACTION_FRAMES: usize = 256;
/// Cap on SEND body bytes buffered in one transaction, so a transaction cannot hold memory
/// unboundedly.
pub const MAX_TRANSACTION_BYTES: usize = 1024 * 1024;

/// A buffered frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TxOp<T> {
    /// A permitted SEND and where the gate said it goes.
    Send(Send, T),
    /// An ACK (`nack: false`) or NACK of an already validated message sequence number.
    Settle { seq: u64, target: AckTarget, nack: bool },
}

#[derive(Debug)]
struct Transaction<T> {
    ops: Vec<TxOp<T>>,
    bytes: usize,
}

impl<T> Default for Transaction<T> {
    fn default() -> Self {
        Transaction {
            ops: Vec::new(),
            bytes: 0,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Transactions<T> {
    open: HashMap<String, Transaction<T>>,
}

impl<T> Default for Transactions<T> {
    fn default() -> Self {
        Transactions { open: HashMap::new() }
    }
}

impl<T> Transactions<T> {
    pub fn begin(&mut self, id: &str) -> Result<(), ProtocolError> {
        if self.open.contains_key(id) {
            return Err(ProtocolError::DuplicateTransaction { id: id.to_owned() });
        }
        if self.open.len() >= MAX_OPEN_TRANSACTIONS {
            return Err(ProtocolError::TooManyTransactions {
                limit: MAX_OPEN_TRANSACTIONS,
            });
        }
        self.open.insert(id.to_owned(), Transaction::default());
        Ok(())
    }

    /// Fails when `id` is not open, so the caller can check before doing anything else.
    pub fn ensure_open(&self, id: &str) -> Result<(), ProtocolError> {
        if self.open.contains_key(id) {
            Ok(())
        } else {
            Err(ProtocolError::UnknownTransaction { id: id.to_owned() })
        }
    }

    pub fn push(&mut self, id: &str, op: TxOp<T>) -> Result<(), ProtocolError> {
        let Some(tx) = self.open.get_mut(id) else {
            return Err(ProtocolError::UnknownTransaction { id: id.to_owned() });
        };
        let bytes = match &op {
            TxOp::Send(send, _) => send.body.len(),
            TxOp::Settle { .. } => 0,
        };
        if tx.ops.len() >= MAX_TRANSACTION_FRAMES || tx.bytes + bytes > MAX_TRANSACTION_BYTES {
            return Err(ProtocolError::TransactionTooLarge {
                id: id.to_owned(),
                frames: MAX_TRANSACTION_FRAMES,
                bytes: MAX_TRANSACTION_BYTES,
            });
        }
        tx.bytes += bytes;
        tx.ops.push(op);
        Ok(())
    }

    /// Closes `id` and returns its ops in the order they arrived.
    pub fn commit(&mut self, id: &str) -> Result<Vec<TxOp<T>>, ProtocolError> {
        self.open
            .remove(id)
            .map(|tx| tx.ops)
            .ok_or_else(|| ProtocolError::UnknownTransaction { id: id.to_owned() })
    }

    pub fn abort(&mut self, id: &str) -> Result<(), ProtocolError> {
        self.commit(id).map(drop)
    }

    /// Aborts every open transaction (disconnect, error, transport gone); returns how many there
    /// were.
    pub fn abort_all(&mut self) -> usize {
        let count = self.open.len();
        self.open.clear();
        count
    }

    pub fn len(&self) -> usize {
        self.open.len()
    }
}
