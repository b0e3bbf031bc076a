//! The bound on open HTTP connections, and who makes room when it is reached.
//!
//! Every accepted connection holds a [`Slot`] in the [`Connections`] table until it ends
//! (a WebSocket upgrade ends it: sessions have their own bound). A connection is *idle*
//! from the moment the server, having read everything the client sent, finds it still
//! has no complete request (a read that would block: before the first request head,
//! between keep-alive requests, while a body trickles in) until a complete request
//! arrives; [`Watched`] notes that moment on the socket itself. At the bound, the accept
//! loop sheds the connection that has been idle longest, provided it has been idle for
//! at least [`SHED_IDLE_MIN`]; when none qualifies the new connection waits for a slot.
//! Connections running a request are never shed, and neither are freshly accepted ones
//! that the server has not read yet (so a burst of new clients does not shed itself).

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// `idle_since` of a connection that is not waiting for its client.
const NOT_WAITING: u64 = u64::MAX;

/// Youngest idle connection that may be shed to make room (see the module docs).
pub const SHED_IDLE_MIN: Duration = Duration::from_millis(100);

/// The open connections, at most `max` of them.
#[derive(Debug)]
pub struct Connections {
    max: usize,
    epoch: Instant,
    table: Mutex<Table>,
    /// Signalled whenever a slot is released.
    freed: Notify,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    open: HashMap<u64, Arc<Entry>>,
}

/// What the table knows about one connection.
#[derive(Debug)]
pub struct Entry {
    /// Running a request whose body has fully arrived.
    busy: AtomicBool,
    /// Nanoseconds from the table's epoch to when the connection became idle, or
    /// [`NOT_WAITING`].
    idle_since: AtomicU64,
    /// The table's epoch (for [`Watched`]).
    epoch: Instant,
    /// Set once the connection was chosen to be shed.
    shedding: AtomicBool,
    /// Wakes the connection's task to close it.
    shed: Notify,
}

/// One connection's place in the table; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    entry: Arc<Entry>,
    table: Arc<Connections>,
}

impl Connections {
    /// Create a table of at most `max` connections (at least one).
    #[must_use]
    pub fn new(max: usize) -> Arc<Connections> {
        Arc::new(Connections {
            max: max.max(1),
            epoch: Instant::now(),
            table: Mutex::new(Table::default()),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Return the number of open connections.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().open.len()
    }

    /// Return `true` when no connection is open.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Take a slot for a new connection, shedding the longest-idle one or waiting when
    /// the table is full (cancel-safe).
    pub async fn open(self: &Arc<Self>) -> Slot {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let wait = match self.try_open() {
                Ok(slot) => return slot,
                Err(wait) => wait,
            };
            // Woken by a freed slot, or when the youngest idle connection becomes old
            // enough to shed.
            let _ = tokio::time::timeout(wait, freed).await;
        }
    }

    /// A slot if there is room; otherwise shed one connection if one qualifies and return
    /// how long to wait before trying again.
    fn try_open(self: &Arc<Self>) -> Result<Slot, Duration> {
        let mut table = self.lock();
        if table.open.len() < self.max {
            let id = table.next_id;
            table.next_id += 1;
            let entry = Arc::new(Entry {
                busy: AtomicBool::new(false),
                idle_since: AtomicU64::new(NOT_WAITING),
                epoch: self.epoch,
                shedding: AtomicBool::new(false),
                shed: Notify::new(),
            });
            table.open.insert(id, entry.clone());
            return Ok(Slot {
                id,
                entry,
                table: self.clone(),
            });
        }
        let now = self.now_nanos();
        let oldest = table
            .open
            .values()
            .filter(|entry| {
                !entry.busy.load(Ordering::Relaxed)
                    && !entry.shedding.load(Ordering::Relaxed)
                    && entry.idle_since.load(Ordering::Relaxed) != NOT_WAITING
            })
            .min_by_key(|entry| entry.idle_since.load(Ordering::Relaxed));
        let min_nanos = u64::try_from(SHED_IDLE_MIN.as_nanos()).unwrap_or(u64::MAX);
        match oldest {
            Some(entry) => {
                let idle = now.saturating_sub(entry.idle_since.load(Ordering::Relaxed));
                if idle >= min_nanos {
                    entry.shedding.store(true, Ordering::Relaxed);
                    entry.shed.notify_one();
                    // Its slot is released as soon as its task has dropped the socket.
                    Err(SHED_IDLE_MIN)
                } else {
                    Err(Duration::from_nanos(min_nanos - idle))
                }
            }
            None => Err(SHED_IDLE_MIN),
        }
    }
}

impl Entry {
    /// The server would block reading: from now on the connection is idle (unless it
    /// already was, or is running a request).
    fn waiting(&self) {
        if self.idle_since.load(Ordering::Relaxed) == NOT_WAITING
            && !self.busy.load(Ordering::Relaxed)
        {
            let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(NOT_WAITING - 1);
            self.idle_since.store(now, Ordering::Relaxed);
        }
    }
}

impl Slot {
    /// Mark the connection as running a complete request (it cannot be shed).
    pub fn busy(&self) {
        self.entry.busy.store(true, Ordering::Relaxed);
        self.entry.idle_since.store(NOT_WAITING, Ordering::Relaxed);
    }

    /// Mark the request as answered: the connection is idle again once the server finds
    /// nothing more to read.
    pub fn done(&self) {
        self.entry.busy.store(false, Ordering::Relaxed);
    }

    /// Wrap the connection's socket so that its reads tell the table when it is idle.
    #[must_use]
    pub fn watch<S>(&self, stream: S) -> Watched<S> {
        Watched {
            stream,
            entry: self.entry.clone(),
        }
    }

    /// Resolve when the accept loop has chosen this connection to be shed.
    pub async fn shed(&self) {
        self.entry.shed.notified().await;
    }
}

/// A socket whose reads that would block mark its connection idle (see the module docs).
#[derive(Debug)]
pub struct Watched<S> {
    stream: S,
    entry: Arc<Entry>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_read(context, buf);
        if polled.is_pending() {
            self.entry.waiting();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(context, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(context, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.table.lock().open.remove(&self.id);
        self.table.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn at_the_bound_the_longest_idle_connection_is_shed() {
        // Goal: a full table sheds the connection idle longest (not a busy one, not one
        // idle for less than SHED_IDLE_MIN) and hands its slot to the newcomer.
        let table = Connections::new(4);
        let oldest = table.open().await;
        oldest.entry.waiting();
        let busy = table.open().await;
        busy.entry.waiting();
        busy.busy();
        let unread = table.open().await;
        tokio::time::advance(Duration::from_secs(1)).await;
        let young = table.open().await;
        young.entry.waiting();
        let newcomer = table.clone();
        let waiting = tokio::spawn(async move { newcomer.open().await });
        tokio::select! {
            () = oldest.shed() => {}
            () = busy.shed() => panic!("a busy connection was shed"),
            () = unread.shed() => panic!("a connection not read yet was shed"),
            () = young.shed() => panic!("the younger idle connection was shed first"),
        }
        assert!(!waiting.is_finished(), "the slot is still held");
        drop(oldest);
        let slot = waiting.await.unwrap();
        assert_eq!(table.len(), 4);
        drop(slot);
        assert_eq!(table.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn young_idle_connections_are_not_shed() {
        // Goal: a burst of fresh connections does not shed itself; a newcomer waits until
        // the oldest has been idle for SHED_IDLE_MIN.
        let table = Connections::new(1);
        let first = table.open().await;
        first.entry.waiting();
        let started = Instant::now();
        let newcomer = table.clone();
        let waiting = tokio::spawn(async move { newcomer.open().await });
        first.shed().await;
        assert!(started.elapsed() >= SHED_IDLE_MIN);
        drop(first);
        drop(waiting.await.unwrap());
        assert!(table.is_empty());
    }
}
