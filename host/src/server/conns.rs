//! The bound on open HTTP connections, and who makes room when it is reached.
//!
//! Every accepted connection holds a [`Slot`] in the [`Connections`] table until it ends
//! (a WebSocket upgrade ends it: sessions have their own bound). A connection is *idle*
//! from the moment the server, having read everything the client sent, finds it still
//! has no complete request (a read that would block: before the first request head,
//! between keep-alive requests, while a body trickles in) until a complete request
//! arrives; [`Watched`] notes that moment on the socket itself. At the bound, once no
//! connection has ended by itself for [`SHED_IDLE_MIN`] (the table is stuck, not just
//! busy: in a burst of real clients slots free up all the time as they upgrade or finish),
//! the accept loop sheds the connection that has been idle longest, provided it has been
//! idle for at least [`SHED_IDLE_MIN`]; otherwise the new connection waits for a slot.
//! Connections running a request are never shed, and neither are freshly accepted ones
//! that the server has not read yet (so a burst of new clients does not shed itself).
//! A connection chosen to be shed reads once more before it closes: when the request had
//! arrived but the (busy) server had not read it yet, it is spared ([`Slot::spare`]) and
//! the accept loop chooses again; only a client that has sent no complete request for
//! [`SHED_IDLE_MIN`] is closed.
//!
//! A connection whose response write would block (the client does not read) counts as
//! idle too, from the moment the write blocked until a write goes through: at the bound
//! it is shed like a silent reader, and [`Slot::write_stalled`] ends it once a write has
//! been blocked for the write timeout, bound or not.

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

use crate::constants::SHED_IDLE_MIN;

/// `idle_since` of a connection that is not waiting for its client.
const NOT_WAITING: u64 = u64::MAX;

/// The open connections, at most `max` of them.
#[derive(Debug)]
pub struct Connections {
    max: usize,
    epoch: Instant,
    table: Mutex<Table>,
    /// Signalled whenever a slot is released.
    freed: Notify,
    /// Nanoseconds from the epoch to when a connection last ended by itself (not shed).
    ended_at: AtomicU64,
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
    /// Nanoseconds from the table's epoch to when a write started to block, or
    /// [`NOT_WAITING`] while writes go through.
    write_blocked_since: AtomicU64,
    /// Signalled when a write starts to block.
    write_blocked: Notify,
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
            ended_at: AtomicU64::new(0),
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
                write_blocked_since: AtomicU64::new(NOT_WAITING),
                write_blocked: Notify::new(),
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
        let min_nanos = u64::try_from(SHED_IDLE_MIN.as_nanos()).unwrap_or(u64::MAX);
        let moving = now.saturating_sub(self.ended_at.load(Ordering::Relaxed));
        if moving < min_nanos {
            // Connections are ending by themselves: wait for one of their slots.
            return Err(Duration::from_nanos(min_nanos - moving));
        }
        let oldest = table
            .open
            .values()
            .filter(|entry| !entry.shedding.load(Ordering::Relaxed))
            .filter_map(|entry| Some((entry.waiting_since()?, entry)))
            .min_by_key(|(since, _)| *since);
        match oldest {
            Some((since, entry)) => {
                let idle = now.saturating_sub(since);
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
    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(NOT_WAITING - 1)
    }

    /// The server would block reading: from now on the connection is idle (unless it
    /// already was, or is running a request).
    fn waiting(&self) {
        if self.idle_since.load(Ordering::Relaxed) == NOT_WAITING
            && !self.busy.load(Ordering::Relaxed)
        {
            self.idle_since.store(self.now_nanos(), Ordering::Relaxed);
        }
    }

    /// A write would block: the client is not taking its response.
    fn write_blocked(&self) {
        if self.write_blocked_since.load(Ordering::Relaxed) == NOT_WAITING {
            self.write_blocked_since
                .store(self.now_nanos(), Ordering::Relaxed);
            self.write_blocked.notify_one();
        }
    }

    /// A write went through.
    fn wrote(&self) {
        if self.write_blocked_since.load(Ordering::Relaxed) != NOT_WAITING {
            self.write_blocked_since
                .store(NOT_WAITING, Ordering::Relaxed);
        }
    }

    /// When the connection started waiting for its client (to send a request, or to take
    /// a response), the earlier of the two; `None` while it runs a request or neither.
    fn waiting_since(&self) -> Option<u64> {
        if self.busy.load(Ordering::Relaxed) {
            return None;
        }
        let since = self
            .idle_since
            .load(Ordering::Relaxed)
            .min(self.write_blocked_since.load(Ordering::Relaxed));
        (since != NOT_WAITING).then_some(since)
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

    /// Return `true` while the connection waits for its client: the server found nothing
    /// to read and has no complete request from it, or a response write is blocked.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.entry.waiting_since().is_some()
    }

    /// Resolve once a write has been blocked for `limit` without a byte going through
    /// (the client does not read): the connection should then be dropped.
    pub async fn write_stalled(&self, limit: Duration) {
        let entry = &self.entry;
        loop {
            let blocked = entry.write_blocked.notified();
            tokio::pin!(blocked);
            blocked.as_mut().enable();
            let since = entry.write_blocked_since.load(Ordering::Relaxed);
            if since == NOT_WAITING {
                blocked.await;
                continue;
            }
            let deadline = entry.epoch + Duration::from_nanos(since) + limit;
            tokio::time::sleep_until(deadline).await;
            if entry.write_blocked_since.load(Ordering::Relaxed) == since {
                return;
            }
        }
    }

    /// Withdraw the connection from shedding (it was chosen, but its request had arrived
    /// before the server read it) and let the accept loop choose again at once.
    pub fn spare(&self) {
        self.entry.shedding.store(false, Ordering::Relaxed);
        self.table.freed.notify_waiters();
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

impl<S> Watched<S> {
    /// Note whether a write went through or would block (see the module docs).
    fn noted<T>(&self, polled: Poll<T>) -> Poll<T> {
        if polled.is_pending() {
            self.entry.write_blocked();
        } else {
            self.entry.wrote();
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
        let polled = Pin::new(&mut self.stream).poll_write(context, buf);
        self.noted(polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(context, bufs);
        self.noted(polled)
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
        if !self.entry.shedding.load(Ordering::Relaxed) {
            let now = self.table.now_nanos();
            self.table.ended_at.store(now, Ordering::Relaxed);
        }
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
    async fn a_table_whose_connections_end_by_themselves_sheds_nobody() {
        // Goal: right after a connection ended by itself (a burst of real clients
        // upgrading), a full table sheds no idle connection; once none has ended for
        // SHED_IDLE_MIN, it sheds the longest idle.
        let table = Connections::new(2);
        let idle = table.open().await;
        idle.entry.waiting();
        let upgraded = table.open().await;
        tokio::time::advance(Duration::from_secs(1)).await;
        drop(upgraded);
        let ended = Instant::now();
        let _unread = table.open().await;
        let newcomer = table.clone();
        let waiting = tokio::spawn(async move { newcomer.open().await });
        let early = tokio::time::timeout(SHED_IDLE_MIN / 2, idle.shed()).await;
        assert!(early.is_err(), "shed while connections were still ending");
        idle.shed().await;
        assert!(ended.elapsed() >= SHED_IDLE_MIN);
        drop(idle);
        drop(waiting.await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn a_chosen_connection_that_had_a_request_is_spared() {
        // Goal: a connection chosen to be shed whose request had in fact arrived is
        // spared, and the accept loop at once chooses the next longest idle instead.
        let table = Connections::new(2);
        let first = table.open().await;
        first.entry.waiting();
        tokio::time::advance(SHED_IDLE_MIN).await;
        let second = table.open().await;
        second.entry.waiting();
        tokio::time::advance(Duration::from_secs(1)).await;
        let newcomer = table.clone();
        let waiting = tokio::spawn(async move { newcomer.open().await });
        first.shed().await;
        assert!(first.is_idle());
        first.busy();
        assert!(!first.is_idle());
        let chosen_at = Instant::now();
        first.spare();
        second.shed().await;
        assert!(
            chosen_at.elapsed() < SHED_IDLE_MIN,
            "the next choice waited"
        );
        drop(second);
        let slot = waiting.await.unwrap();
        assert_eq!(table.len(), 2, "the spared connection and the newcomer");
        drop(slot);
    }

    #[tokio::test(start_paused = true)]
    async fn a_blocked_writer_is_shed_and_times_out() {
        // Goal: a connection whose response write blocks counts as waiting for its client
        // (shed at the bound, before a younger idle reader); write_stalled resolves once a
        // write has been blocked for the limit, and a write going through restarts it.
        let table = Connections::new(2);
        let writer = table.open().await;
        writer.entry.write_blocked();
        tokio::time::advance(SHED_IDLE_MIN).await;
        let reader = table.open().await;
        reader.entry.waiting();
        tokio::time::advance(SHED_IDLE_MIN).await;
        assert!(writer.is_idle());
        let newcomer = table.clone();
        let waiting = tokio::spawn(async move { newcomer.open().await });
        tokio::select! {
            () = writer.shed() => {}
            () = reader.shed() => panic!("the younger idle reader was shed first"),
        }
        let limit = Duration::from_secs(1);
        let stalled = tokio::time::timeout(limit / 2, writer.write_stalled(limit)).await;
        assert!(stalled.is_err(), "stalled before the limit");
        writer.entry.wrote();
        writer.entry.write_blocked();
        let started = Instant::now();
        writer.write_stalled(limit).await;
        assert!(started.elapsed() >= limit, "the timer did not restart");
        drop(writer);
        drop(waiting.await.unwrap());
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
