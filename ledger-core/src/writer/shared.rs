//! [`SharedWriter`]: the writer behind a mutex, for engines that append from
//! several threads.

use std::sync::Arc;

use parking_lot::Mutex;

use super::{Entry, Receipt, Writer};
use crate::error::Result;
use crate::op_error::AppendError;

/// A cloneable handle to one [`Writer`], shared by several threads. Each
/// append takes a short lock; the benches measure its cost under contention.
#[derive(Clone, Debug)]
pub struct SharedWriter {
    inner: Arc<Mutex<Writer>>,
}

impl SharedWriter {
    /// Wraps a writer.
    pub fn new(writer: Writer) -> Self {
        SharedWriter {
            inner: Arc::new(Mutex::new(writer)),
        }
    }

    /// Appends one record.
    pub fn append(&self, entry: &Entry<'_>) -> Result<Receipt, AppendError> {
        self.inner.lock().append(entry)
    }

    /// Appends several records under one lock.
    pub fn append_batch(&self, entries: &[Entry<'_>]) -> Result<Vec<Receipt>, AppendError> {
        self.inner.lock().append_batch(entries)
    }

    /// Runs `f` with exclusive access to the writer.
    pub fn with<R>(&self, f: impl FnOnce(&mut Writer) -> R) -> R {
        f(&mut self.inner.lock())
    }
}
