//! The durable path of accepted events: group-committed log first, event store second.
//!
//! ```text
//! request ─► EventSink::reserve ─► Reservation::send
//!   ─► [log thread] append + fdatasync ─► Ack resolves (202)
//!        └─► [store thread] batch ─► EventStore::stage(rows, position)
//!                                 ─► commit (a whole row group, or when due)
//! ```
//!
//! Invariants:
//! - An [`Ack`] (and `submit`) resolves `Ok` only after the records are on disk in the ingest log.
//! - The store records the log position it has applied in the same transaction as the rows;
//!   on start-up, [`start`] replays the log after that position first, so nothing is lost or doubled.
//!   Staged rows not yet committed exist only in the store's open transaction; when a write fails
//!   they are staged again from the log the same way.
//! - Log segments are deleted only once the store holds everything in them.
//! - Request handlers never wait on the event store; when the log cannot keep up the queue fills
//!   and `reserve` fails fast with [`SubmitError::Overloaded`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc as std_mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use tillit_store::events::{Commit, EventStore, EventStoreError};
use tillit_store::ingest_log::{self, Applied, IngestLog, LogPosition};
use tillit_store::{EventRecord, codec};

/// Durable rows that may wait for the store thread. Committing a whole row group keeps the store
/// thread busy for a few hundred milliseconds; with this much room (about the rows that arrive
/// meanwhile at 40 000 events/s, a few MB) the log keeps acknowledging instead of stalling all
/// ingest behind it: p99 141–199 ms with 16 384 rows, 16–19 ms with 32 768 or more, peak RSS
/// 198 MB against 187–189 (BENCHMARKS.md). Bounded by rows, not groups: a group may hold one
/// request or thousands, and 2048 groups once let peak memory double.
const STORE_QUEUE_ROWS: usize = 32_768;

/// Messages (row groups and commands) the store channel holds; the row budget binds first.
const STORE_QUEUE_MESSAGES: usize = 4_096;

/// Rows handed to the store thread and not yet taken: the log thread waits while it is full.
#[derive(Default)]
struct RowBudget {
    queued: Mutex<usize>,
    freed: Condvar,
}

impl RowBudget {
    /// Waits for room for `n` rows (a group larger than the whole budget waits for an empty queue).
    fn take(&self, n: usize) {
        let mut queued = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        while *queued > 0 && *queued + n > STORE_QUEUE_ROWS {
            queued = self.freed.wait(queued).unwrap_or_else(|e| e.into_inner());
        }
        *queued += n;
    }

    fn give_back(&self, n: usize) {
        let mut queued = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        *queued = queued.saturating_sub(n);
        self.freed.notify_all();
    }
}

/// Tuning for the writer.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Requests that may wait for the log at once before new ones get 503.
    pub queue_capacity: usize,
    /// Most records staged in the store at once. Small enough that a batch's Arrow copy stays a
    /// few MB: batches of 100 000 rows peaked ~25 MB higher under load (BENCHMARKS.md).
    pub batch_rows: usize,
    /// Longest time an accepted record waits for its store commit, unless ingest is busy enough to
    /// fill a whole row group (see [`FILL_WAIT`]).
    pub flush_interval: Duration,
    pub segment_bytes: u64,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            queue_capacity: 16_384,
            batch_rows: 8_192,
            flush_interval: Duration::from_secs(1),
            segment_bytes: 64 << 20,
        }
    }
}

/// Why [`EventSink::submit`] did not take the records.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("ingest queue is full")]
    Overloaded,
    #[error("the event writer has stopped")]
    Closed,
    #[error("could not write the ingest log: {0}")]
    Io(String),
}

struct Pending {
    bytes: Vec<u8>,
    records: Vec<EventRecord>,
    ack: oneshot::Sender<Result<(), String>>,
}

/// Counters for health and benchmarks.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Events written to the ingest log and synced: each one is, or is about to be, acknowledged.
    pub accepted: AtomicU64,
    pub stored: AtomicU64,
    pub store_errors: AtomicU64,
    /// Group commits: one log write and fdatasync each.
    pub log_writes: AtomicU64,
}

/// The submitting end. Cheap to clone.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Pending>,
    stats: Arc<WriterStats>,
}

impl EventSink {
    /// Makes the records durable. Returns once they are in the ingest log on disk.
    pub async fn submit(&self, records: Vec<EventRecord>) -> Result<(), SubmitError> {
        if records.is_empty() {
            return Ok(());
        }
        self.reserve()?.send(records).wait().await
    }

    /// Takes a place in the queue, or fails fast when it is full. Ingest reserves before it
    /// assigns sessions: an event refused with 503 must not have advanced its visit's totals
    /// (the next event's [`tillit_store::VisitDelta`] would count it).
    pub fn reserve(&self) -> Result<Reservation<'_>, SubmitError> {
        // Borrowed, not owned: a reservation lives only while the request is worked on, and an
        // owned permit would clone the sender, two contended atomics per event.
        let permit = self.tx.try_reserve().map_err(|e| match e {
            mpsc::error::TrySendError::Full(()) => SubmitError::Overloaded,
            mpsc::error::TrySendError::Closed(()) => SubmitError::Closed,
        })?;
        Ok(Reservation { permit })
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

/// A place in the writer's queue (see [`EventSink::reserve`]); dropping it gives the place back.
pub struct Reservation<'a> {
    permit: mpsc::Permit<'a, Pending>,
}

impl Reservation<'_> {
    /// Hands the records to the log thread without waiting; the [`Ack`] says when they are on disk.
    pub fn send(self, records: Vec<EventRecord>) -> Ack {
        if records.is_empty() {
            return Ack(None);
        }
        let bytes = codec::encode(&records);
        let (ack, done) = oneshot::channel();
        self.permit.send(Pending { bytes, records, ack });
        Ack(Some(done))
    }
}

/// The answer to [`Reservation::send`]: holds nothing of the request, so a handler can let go of
/// everything else before it waits.
#[must_use = "the records are durable only once the ack resolves"]
pub struct Ack(Option<oneshot::Receiver<Result<(), String>>>);

impl Ack {
    /// Returns once the records are in the ingest log on disk (at once if there were none).
    pub async fn wait(self) -> Result<(), SubmitError> {
        let Some(done) = self.0 else { return Ok(()) };
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SubmitError::Io(e)),
            Err(_) => Err(SubmitError::Closed),
        }
    }
}

enum StoreMsg {
    Rows(Vec<EventRecord>, LogPosition),
    Command(Box<dyn FnOnce(&mut EventStore) + Send>),
    Flush(std_mpsc::Sender<Result<(), String>>),
    Stop,
}

/// Access to the store thread for jobs and health checks: runs closures on the thread that owns the
/// store, in order with the writes.
#[derive(Clone)]
pub struct StoreHandle {
    tx: std_mpsc::SyncSender<StoreMsg>,
}

impl StoreHandle {
    /// Runs `f` on the store thread and returns its result.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut EventStore) -> T + Send + 'static,
    ) -> Result<T, SubmitError> {
        let (tx, rx) = oneshot::channel();
        let job = Box::new(move |store: &mut EventStore| {
            let _ = tx.send(f(store));
        });
        let sender = self.tx.clone();
        // The channel is bounded; sending may block briefly, so not on a runtime worker.
        tokio::task::spawn_blocking(move || sender.send(StoreMsg::Command(job)))
            .await
            .map_err(|_| SubmitError::Closed)?
            .map_err(|_| SubmitError::Closed)?;
        rx.await.map_err(|_| SubmitError::Closed)
    }

    /// Writes everything accepted so far to the store.
    pub fn flush_blocking(&self) -> Result<(), SubmitError> {
        let (tx, rx) = std_mpsc::channel();
        self.tx.send(StoreMsg::Flush(tx)).map_err(|_| SubmitError::Closed)?;
        rx.recv().map_err(|_| SubmitError::Closed)?.map_err(SubmitError::Io)
    }
}

/// The running writer: join it on shutdown to flush everything.
pub struct EventWriter {
    log_thread: JoinHandle<()>,
    store_thread: JoinHandle<()>,
}

impl EventWriter {
    /// Waits until every accepted record is in the store and the threads have exited. Call after
    /// every [`EventSink`] clone is dropped (the log thread stops when the last one goes).
    pub fn join(self) {
        let _ = self.log_thread.join();
        let _ = self.store_thread.join();
    }
}

/// What replay found at start-up.
#[derive(Debug, Default)]
pub struct Recovery {
    pub replayed_records: u64,
    pub replayed_events: u64,
    pub torn_tails: u64,
}

/// Replays the log into the store, then starts the log and store threads.
pub fn start(
    log_dir: &Path,
    mut store: EventStore,
    options: WriterOptions,
) -> Result<(EventSink, StoreHandle, EventWriter, Recovery), WriterError> {
    let recovery = recover(log_dir, &mut store, options.batch_rows, None)?;
    store.checkpoint()?;
    let log = IngestLog::open(log_dir, options.segment_bytes).map_err(|e| WriterError::Log(e.to_string()))?;
    let stats = Arc::new(WriterStats::default());
    let (tx, rx) = mpsc::channel::<Pending>(options.queue_capacity.max(1));
    // Bounded: when the store falls behind, the log thread waits, the queue fills, requests get 503.
    let (store_tx, store_rx) = std_mpsc::sync_channel::<StoreMsg>(STORE_QUEUE_MESSAGES);
    let budget = Arc::new(RowBudget::default());

    let log_store_tx = store_tx.clone();
    let log_budget = budget.clone();
    let log_stats = stats.clone();
    let log_thread = std::thread::Builder::new()
        .name("ingest-log".into())
        .spawn(move || log_loop(log, rx, log_store_tx, &log_budget, &log_stats))
        .map_err(|e| WriterError::Log(e.to_string()))?;
    let dir = log_dir.to_path_buf();
    let store_stats = stats.clone();
    let store_thread = std::thread::Builder::new()
        .name("event-store".into())
        .spawn(move || store_loop(store, store_rx, dir, options, store_stats, &budget))
        .map_err(|e| WriterError::Log(e.to_string()))?;
    Ok((EventSink { tx, stats }, StoreHandle { tx: store_tx }, EventWriter { log_thread, store_thread }, recovery))
}

#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error("ingest log: {0}")]
    Log(String),
    #[error(transparent)]
    Store(#[from] EventStoreError),
}

/// Stages everything the log holds after the store's applied position (up to `until`, when
/// given) and commits it: at start-up, and after a failed store write rolled back what was staged.
fn recover(
    log_dir: &Path,
    store: &mut EventStore,
    batch_rows: usize,
    until: Option<LogPosition>,
) -> Result<Recovery, WriterError> {
    let applied = store.applied_position()?;
    let mut recovery = Recovery::default();
    let mut rows: Vec<EventRecord> = Vec::new();
    let mut last = None;
    // The first rows after the position are in the store already: a commit ended inside them.
    let mut skip = usize::try_from(applied.skip).unwrap_or(usize::MAX);
    let stats = ingest_log::replay_until::<WriterError>(log_dir, applied.log, until, |payload, pos| {
        match codec::decode(payload) {
            Ok(mut records) => {
                let committed = skip.min(records.len());
                records.drain(..committed);
                skip -= committed;
                recovery.replayed_events += records.len() as u64;
                rows.extend(records);
            }
            // A record that passed its checksum but does not decode was written by an incompatible
            // version; keep the log (it is not released) and refuse to start rather than lose it.
            Err(e) => return Err(WriterError::Log(format!("{e} (before {pos:?})"))),
        }
        last = Some(pos);
        if rows.len() >= batch_rows {
            store.stage(&rows, Applied::at(pos))?;
            rows.clear();
        }
        Ok(())
    })?;
    if let Some(pos) = last {
        store.stage(&rows, Applied::at(pos))?;
    }
    store.commit_staged()?;
    recovery.replayed_records = stats.records;
    recovery.torn_tails = stats.torn_tails;
    ingest_log::release(log_dir, store.applied_position()?.log).map_err(|e| WriterError::Log(e.to_string()))?;
    Ok(recovery)
}

impl From<std::io::Error> for WriterError {
    fn from(e: std::io::Error) -> Self {
        WriterError::Log(e.to_string())
    }
}

fn log_loop(
    mut log: IngestLog,
    mut rx: mpsc::Receiver<Pending>,
    store_tx: std_mpsc::SyncSender<StoreMsg>,
    budget: &RowBudget,
    stats: &WriterStats,
) {
    let mut group: Vec<Pending> = Vec::with_capacity(MAX_GROUP);
    let mut last_group = 0;
    while let Some(first) = rx.blocking_recv() {
        group.push(first);
        drain(&mut rx, &mut group);
        // Under concurrent load (the last group was not a lone request), wait a moment for more
        // requests before paying for an fsync. A lone request is written at once.
        if last_group > 1 && group.len() < LINGER_UNTIL {
            std::thread::sleep(GROUP_LINGER);
            drain(&mut rx, &mut group);
        }
        last_group = group.len();
        match log.append(group.iter().map(|p| p.bytes.as_slice())) {
            Ok(pos) => {
                stats.log_writes.fetch_add(1, Ordering::Relaxed);
                let mut rows = Vec::with_capacity(group.iter().map(|p| p.records.len()).sum());
                let mut acks = Vec::with_capacity(group.len());
                for p in group.drain(..) {
                    rows.extend(p.records);
                    acks.push(p.ack);
                }
                // Hand the rows on before acknowledging, so anything acknowledged is already queued
                // for the store (a later flush sees it). Blocks when the store falls behind, which
                // backs the queue up into 503s.
                budget.take(rows.len());
                // Counted here rather than by each request: an event whose client has gone away
                // before its ack is still durable and will be stored.
                stats.accepted.fetch_add(rows.len() as u64, Ordering::Relaxed);
                if store_tx.send(StoreMsg::Rows(rows, pos)).is_err() {
                    error!("event store thread is gone; accepted events stay in the ingest log");
                }
                for ack in acks {
                    let _ = ack.send(Ok(()));
                }
            }
            Err(e) => {
                error!(error = %e, "ingest log write failed");
                for p in group.drain(..) {
                    let _ = p.ack.send(Err(e.to_string()));
                }
            }
        }
    }
    let _ = store_tx.send(StoreMsg::Stop);
}

/// Most requests in one log write.
const MAX_GROUP: usize = 4096;

/// How long the log thread waits for more requests to join a group under load, and the group size
/// that makes waiting unnecessary. Each fdatasync costs the log thread ~5 µs of CPU in the kernel
/// and wakes the requests waiting on it; at 22–30 k events/s a 200 µs wait made groups ~3× larger
/// (7 → 20 events) and cut the log thread's CPU per event by ~30 %. At ~40 k events/s, 500 µs
/// (up to 128 requests) instead of 200 µs (64) took groups from 26 to 43 events and the server's
/// CPU per event down ~7 % over six alternating pairs (a seventh came out even; BENCHMARKS.md
/// (n)), for at most 0.5 ms more latency; 1 ms was no better.
const GROUP_LINGER: Duration = Duration::from_micros(500);
const LINGER_UNTIL: usize = 128;

/// Moves whatever is queued (up to [`MAX_GROUP`]) into `group` without waiting.
fn drain(rx: &mut mpsc::Receiver<Pending>, group: &mut Vec<Pending>) {
    while group.len() < MAX_GROUP {
        match rx.try_recv() {
            Ok(p) => group.push(p),
            Err(_) => break,
        }
    }
}

/// Longest an accepted event waits for its store commit while ingest is busy enough to fill a
/// whole row group ([`EventStore::commit_rows`]) in that time; otherwise commits come every
/// `flush_interval`. Queries see an event once it is committed.
///
/// Why 10 s: below the rate that fills a group in this time, commits of part of a group go through
/// DuckDB's write-ahead log and are compressed again at the checkpoint that follows, which costs
/// more CPU and holds the group twice in memory. With 5 s that began at 24.6 k events/s, which a
/// busy 2-core machine falls to; there, peak RSS reached 223 MB and p99 94 ms. With 10 s, whole
/// groups are written from 12.3 k events/s up, and the same load peaked at 152–154 MB with a p99
/// of 34 ms (BENCHMARKS.md (n)). The cost: under such load, queries see events up to 10 s late.
const FILL_WAIT: Duration = Duration::from_secs(10);

/// When the uncommitted rows (the oldest arrived `age` ago; `pending` of them) are due: at
/// [`FILL_WAIT`] if at the rate so far they fill a row group by then, else at `flush_interval`.
fn commit_due_in(age: Duration, pending: usize, group: usize, flush_interval: Duration) -> Duration {
    let fills_in_time = pending > 0 && age.as_secs_f64() * group as f64 / pending as f64 <= FILL_WAIT.as_secs_f64();
    let deadline = if fills_in_time { FILL_WAIT } else { flush_interval.min(FILL_WAIT) };
    deadline.saturating_sub(age)
}

/// The store thread's writes: rows staged in batches, commits when due (see [`FILL_WAIT`]).
struct StoreWriter<'a> {
    store: EventStore,
    log_dir: PathBuf,
    options: WriterOptions,
    stats: &'a WriterStats,
    /// Rows received and not yet staged, and the log position they end at.
    rows: Vec<EventRecord>,
    pos: Option<LogPosition>,
    /// When the oldest row not yet committed arrived.
    since: Option<Instant>,
    /// A write failed: the store lacks rows the log holds, to be staged again from the log.
    behind: bool,
    /// Failed attempts to catch up in a row.
    attempts: u32,
}

impl StoreWriter<'_> {
    fn receive(&mut self, batch: Vec<EventRecord>, pos: LogPosition) {
        self.rows.extend(batch);
        self.pos = Some(pos);
        self.since.get_or_insert_with(Instant::now);
    }

    fn due_in(&self) -> Option<Duration> {
        let pending = self.rows.len() + self.store.staged_rows();
        self.since.map(|t| commit_due_in(t.elapsed(), pending, self.store.commit_rows(), self.options.flush_interval))
    }

    /// Stages what is buffered once a batch is full, and commits when due.
    fn step(&mut self) {
        let due = self.due_in().is_some_and(|d| d.is_zero());
        if (due || self.rows.len() >= self.options.batch_rows)
            && let Err(e) = self.write(due)
        {
            warn!(error = %e, "events wait in the ingest log for the store");
        }
    }

    /// Stages the buffered rows and, with `commit`, commits everything staged. A failed write rolls
    /// back what was staged; it is then staged again from the log before anything else.
    fn write(&mut self, commit: bool) -> Result<(), String> {
        let Some(pos) = self.pos else { return Ok(()) };
        if self.behind {
            self.rows.clear();
            return self.catch_up(pos);
        }
        let res = self.store.stage(&self.rows, Applied::at(pos)).and_then(|staged| {
            let committed = if commit { self.store.commit_staged()? } else { None };
            Ok(Commit::and(staged, committed))
        });
        self.rows.clear();
        match res {
            Ok(commit) => {
                if let Some(c) = commit {
                    self.committed(c);
                }
                // Rows left staged after a commit arrived about now.
                if self.store.staged_rows() == 0 {
                    self.since = None;
                } else if commit.is_some() {
                    self.since = Some(Instant::now());
                }
                Ok(())
            }
            Err(e) => {
                warn!(error = %e, "event store write failed; staging again from the ingest log");
                self.behind = true;
                self.catch_up(pos)
            }
        }
    }

    /// Stages and commits everything in the log after the store's position, up to `until`. On
    /// failure it waits a little before returning: the store thread falls behind, the log thread
    /// waits for it, and new requests get 503 rather than piling up.
    fn catch_up(&mut self, until: LogPosition) -> Result<(), String> {
        match recover(&self.log_dir, &mut self.store, self.options.batch_rows, Some(until)) {
            Ok(r) => {
                self.stats.stored.fetch_add(r.replayed_events, Ordering::Relaxed);
                self.behind = false;
                self.attempts = 0;
                self.since = None;
                Ok(())
            }
            Err(e) => {
                self.stats.store_errors.fetch_add(1, Ordering::Relaxed);
                self.attempts += 1;
                warn!(error = %e, attempt = self.attempts, "event store write failed; events remain in the ingest log");
                std::thread::sleep(Duration::from_millis(200 * u64::from(self.attempts.min(10))));
                Err(e.to_string())
            }
        }
    }

    /// Accounts for what a command's own write did to the rows staged before it (`staged`, and
    /// the position then): committed them, or, when that failed, rolled them back.
    fn after_command(&mut self, (staged, applied): (usize, Option<Applied>)) {
        if staged == 0 || self.store.staged_rows() > 0 {
            return;
        }
        match self.store.applied_position() {
            Ok(now) if Some(now) != applied => self.committed(Commit { applied: now, rows: staged as u64 }),
            // Rolled back: they must come from the log again.
            _ => {
                self.behind = true;
                self.since = Some(Instant::now());
                return;
            }
        }
        if self.rows.is_empty() {
            self.since = None;
        }
    }

    fn committed(&self, c: Commit) {
        self.stats.stored.fetch_add(c.rows, Ordering::Relaxed);
        if let Err(e) = ingest_log::release(&self.log_dir, c.applied.log) {
            warn!(error = %e, "could not delete applied log segments");
        }
    }
}

fn store_loop(
    store: EventStore,
    rx: std_mpsc::Receiver<StoreMsg>,
    log_dir: PathBuf,
    options: WriterOptions,
    stats: Arc<WriterStats>,
    budget: &RowBudget,
) {
    let mut w = StoreWriter {
        store,
        log_dir,
        options,
        stats: &stats,
        rows: Vec::new(),
        pos: None,
        since: None,
        behind: false,
        attempts: 0,
    };
    loop {
        let timeout = w.due_in().unwrap_or(Duration::from_secs(3600));
        let msg = match rx.recv_timeout(timeout) {
            Ok(m) => Some(m),
            Err(std_mpsc::RecvTimeoutError::Timeout) => None,
            Err(std_mpsc::RecvTimeoutError::Disconnected) => Some(StoreMsg::Stop),
        };
        match msg {
            Some(StoreMsg::Rows(batch, p)) => {
                budget.give_back(batch.len());
                w.receive(batch, p);
            }
            // Commands see what is committed and staged (health checks must not break up row
            // groups); the store commits what is staged before any write of its own.
            Some(StoreMsg::Command(f)) => {
                let staged = (w.store.staged_rows(), w.store.applied_position().ok());
                f(&mut w.store);
                w.after_command(staged);
                continue;
            }
            Some(StoreMsg::Flush(reply)) => {
                let _ = reply.send(w.write(true));
                continue;
            }
            Some(StoreMsg::Stop) => {
                if let Err(e) = w.write(true) {
                    error!(error = %e, "final flush failed; events remain in the ingest log and replay at next start");
                }
                if let Err(e) = w.store.checkpoint() {
                    warn!(error = %e, "checkpoint at shutdown failed");
                }
                info!(stored = stats.stored.load(Ordering::Relaxed), "event writer stopped");
                return;
            }
            None => {}
        }
        w.step();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillit_store::events::EventStoreOptions;

    fn record(i: u64) -> EventRecord {
        EventRecord {
            site_id: 1,
            ts: 1_700_000_000 + i as i64,
            name: "pageview".into(),
            hostname: "a.test".into(),
            pathname: format!("/p{i}"),
            visitor_id: i,
            session_id: i + 1,
            interactive: true,
            props: vec![("k".into(), format!("v{i}"))],
            revenue: None,
            scroll_depth: None,
            engagement_ms: None,
            session: Default::default(),
            import_key: None,
            visit: tillit_store::VisitDelta::default(),
        }
    }

    /// Sequential requests are written one by one (no wait for company); concurrent ones share
    /// log writes, and every one of them is stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_log_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open_duckdb(&tmp.path().join("events.duckdb"), &EventStoreOptions::default()).unwrap();
        let (sink, handle, writer, _) = start(&tmp.path().join("log"), store, WriterOptions::default()).unwrap();
        for i in 0..5 {
            sink.submit(vec![record(i)]).await.unwrap();
        }
        assert_eq!(sink.stats().log_writes.load(Ordering::Relaxed), 5, "one write per lone request");
        let tasks: Vec<_> = (0..400)
            .map(|i| {
                let sink = sink.clone();
                tokio::spawn(async move { sink.submit(vec![record(100 + i)]).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let writes = sink.stats().log_writes.load(Ordering::Relaxed) - 5;
        assert!(writes < 200, "400 concurrent requests took {writes} log writes");
        assert_eq!(stored_after_flush(&handle).await, 405);
        stop(sink, handle, writer).await;
    }

    /// A client that goes away before its ack still had its events written: they are stored and
    /// counted as accepted, so the health counters agree with the store.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_whose_waiter_left_are_stored_and_counted() {
        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open_duckdb(&tmp.path().join("events.duckdb"), &EventStoreOptions::default()).unwrap();
        let (sink, handle, writer, _) = start(&tmp.path().join("log"), store, WriterOptions::default()).unwrap();
        drop(sink.reserve().unwrap().send(vec![record(1), record(2)]));
        // Sent later through the same queue, so acknowledged no earlier than the first two.
        sink.reserve().unwrap().send(vec![record(3)]).wait().await.unwrap();
        assert_eq!(sink.stats().accepted.load(Ordering::Relaxed), 3);
        // A reservation given back unused sends nothing.
        drop(sink.reserve().unwrap());
        assert_eq!(stored_after_flush(&handle).await, 3);
        stop(sink, handle, writer).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn accepted_events_reach_the_store_and_survive_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("events.duckdb");
        let log = tmp.path().join("log");
        let store = EventStore::open_duckdb(&db, &EventStoreOptions::default()).unwrap();
        let (sink, handle, writer, _) = start(&log, store, WriterOptions::default()).unwrap();
        for i in 0..50 {
            sink.submit(vec![record(i), record(i + 1000)]).await.unwrap();
        }
        let n = handle.run(|s| s.count(None)).await.unwrap().unwrap();
        assert!(n <= 100);
        stop(sink, handle, writer).await;
        let store = EventStore::open_duckdb(&db, &EventStoreOptions::default()).unwrap();
        assert_eq!(store.count(None).unwrap(), 100);
    }

    #[test]
    fn log_written_but_not_stored_is_replayed_once() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("events.duckdb");
        let log_dir = tmp.path().join("log");
        // Records reach the log but the process "dies" before the store sees them.
        let mut log = IngestLog::open(&log_dir, 1 << 20).unwrap();
        // One payload as an older version wrote it (JSON), one as this one does.
        let old = serde_json::to_vec(&vec![record(1)]).unwrap();
        let new = codec::encode(&[record(2)]);
        log.append([old.as_slice(), new.as_slice()]).unwrap();
        drop(log);
        for _ in 0..2 {
            let store = EventStore::open_duckdb(&db, &EventStoreOptions::default()).unwrap();
            let (sink, handle, writer, _) = start_writer(&log_dir, store);
            drop((sink, handle));
            writer.join();
        }
        let store = EventStore::open_duckdb(&db, &EventStoreOptions::default()).unwrap();
        assert_eq!(store.count(None).unwrap(), 2);
    }

    /// A store commit that ended inside a log group (a whole row group) recorded how many of the
    /// group's rows it holds; replay stages only the rest.
    #[test]
    fn replay_resumes_inside_a_partly_committed_group() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("events.duckdb");
        let log_dir = tmp.path().join("log");
        let now = i64::try_from(std::time::SystemTime::UNIX_EPOCH.elapsed().unwrap().as_secs()).unwrap();
        let live = |i: u64| EventRecord { ts: now, ..record(i) };
        let mut log = IngestLog::open(&log_dir, 1 << 20).unwrap();
        let start = log.append([codec::encode(&[live(0)]).as_slice()]).unwrap();
        // One group of three requests, the second with two events.
        let payloads = [codec::encode(&[live(1)]), codec::encode(&[live(2), live(3)]), codec::encode(&[live(4)])];
        log.append(payloads.iter().map(Vec::as_slice)).unwrap();
        drop(log);
        let mut store = EventStore::open_duckdb(&db, &EventStoreOptions::default()).unwrap();
        // The store committed the first request and three rows of the group: up to event 3.
        store.insert(&[live(0)], Some(Applied::at(start))).unwrap();
        store.insert(&[live(1), live(2), live(3)], Some(Applied { log: start, skip: 3 })).unwrap();
        let (sink, handle, writer, recovery) = start_writer(&log_dir, store);
        assert_eq!(recovery.replayed_events, 1, "only event 4 was missing");
        drop((sink, handle));
        writer.join();
        let store = EventStore::open_duckdb(&db, &EventStoreOptions::default()).unwrap();
        let mut paths: Vec<String> = store.recent(now, 60).unwrap().into_iter().map(|r| r.pathname).collect();
        paths.sort();
        assert_eq!(paths, ["/p0", "/p1", "/p2", "/p3", "/p4"]);
    }

    /// Commits everything accepted so far and returns how many events the store holds.
    async fn stored_after_flush(handle: &StoreHandle) -> u64 {
        let flusher = handle.clone();
        tokio::task::spawn_blocking(move || flusher.flush_blocking()).await.unwrap().unwrap();
        handle.run(|s| s.count(None)).await.unwrap().unwrap()
    }

    /// Drops the submitting ends and waits for the writer's threads to finish.
    async fn stop(sink: EventSink, handle: StoreHandle, writer: EventWriter) {
        drop((sink, handle));
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
    }

    fn start_writer(log_dir: &Path, store: EventStore) -> (EventSink, StoreHandle, EventWriter, Recovery) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async { start(log_dir, store, WriterOptions::default()) }).unwrap()
    }

    #[test]
    fn commits_wait_for_a_row_group_only_while_one_fills_in_time() {
        let second = Duration::from_secs(1);
        let group = 122_880;
        // Quiet: due at the flush interval.
        assert_eq!(commit_due_in(Duration::from_millis(300), 50, group, second), Duration::from_millis(700));
        // Busy enough to fill a group within FILL_WAIT: held until then.
        assert_eq!(commit_due_in(second, 30_000, group, second), FILL_WAIT - second);
        // Not quite (12.3 s to fill a group): due now.
        assert_eq!(commit_due_in(second, 10_000, group, second), Duration::ZERO);
        // Never later than FILL_WAIT.
        assert_eq!(commit_due_in(FILL_WAIT, 120_000, group, second), Duration::ZERO);
    }

    #[test]
    fn the_store_queue_is_bounded_by_rows() {
        let budget = Arc::new(RowBudget::default());
        // One group larger than the whole budget still goes through when the queue is empty.
        budget.take(STORE_QUEUE_ROWS + 10);
        let (done_tx, done_rx) = std_mpsc::channel();
        let waiting = budget.clone();
        let handle = std::thread::spawn(move || {
            waiting.take(1);
            done_tx.send(()).unwrap();
        });
        assert!(done_rx.recv_timeout(Duration::from_millis(200)).is_err(), "a full queue makes the log wait");
        budget.give_back(STORE_QUEUE_ROWS + 10);
        done_rx.recv_timeout(Duration::from_secs(5)).expect("room again once the store took the rows");
        handle.join().unwrap();
        assert_eq!(*budget.queued.lock().unwrap(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_answers_overloaded_instead_of_waiting() {
        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open_duckdb(&tmp.path().join("e.duckdb"), &EventStoreOptions::default()).unwrap();
        let options = WriterOptions { queue_capacity: 1, ..WriterOptions::default() };
        let (sink, handle, writer, _) = start(&tmp.path().join("log"), store, options).unwrap();
        let mut tasks = Vec::new();
        for i in 0..400 {
            let sink = sink.clone();
            tasks.push(tokio::spawn(async move { sink.submit(vec![record(i)]).await }));
        }
        let (mut ok, mut overloaded) = (0u64, 0u64);
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(SubmitError::Overloaded) => overloaded += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert!(overloaded > 0, "a queue of one never filled");
        handle.flush_blocking().unwrap();
        assert_eq!(handle.run(|s| s.count(None)).await.unwrap().unwrap(), ok, "every accepted event is stored");
        stop(sink, handle, writer).await;
    }
}
