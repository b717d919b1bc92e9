//! The durable path of accepted events: group-committed log first, event store second.
//!
//! ```text
//! request ─► EventSink::submit ─► [log thread] append + fdatasync ─► ack (202)
//!                                        │
//!                                        └─► [store thread] batch ─► EventStore::insert(rows, position)
//! ```
//!
//! Invariants:
//! - `submit` returns `Ok` only after the records are on disk in the ingest log.
//! - The store thread records the log position it has applied in the same transaction as the rows;
//!   on start-up, [`start`] replays the log after that position first, so nothing is lost or doubled.
//! - Log segments are deleted only once the store holds everything in them.
//! - Request handlers never wait on the event store; when the log cannot keep up the queue fills
//!   and `submit` fails fast with [`SubmitError::Overloaded`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc as std_mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use tillit_store::events::{EventStore, EventStoreError};
use tillit_store::ingest_log::{self, IngestLog, LogPosition};
use tillit_store::{EventRecord, codec};

/// Durable rows that may wait for the store thread. A DuckDB checkpoint blocks every commit while
/// it runs; with this much room the log keeps acknowledging meanwhile (a few MB of records)
/// instead of stalling all ingest behind it. Bounded by rows, not groups: a group may hold one
/// request or thousands, and 2048 groups once let peak memory double (BENCHMARKS.md).
const STORE_QUEUE_ROWS: usize = 16_384;

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
    /// Most records the store receives in one transaction. Small enough that a transaction's
    /// working memory in DuckDB (its uncommitted rows and their Arrow copy) stays a few MB: at
    /// 100 000 rows (a second of ingest per commit) peak RSS under load was ~25 MB higher, for
    /// ~12 % less CPU per event (BENCHMARKS.md).
    pub batch_rows: usize,
    /// Longest time an accepted record waits before it is written to the store.
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
        self.reserve()?.submit(records).await
    }

    /// Takes a place in the queue, or fails fast when it is full. Ingest reserves before it
    /// assigns sessions: an event refused with 503 must not have advanced its visit's totals
    /// (the next event's [`tillit_store::VisitDelta`] would count it).
    pub fn reserve(&self) -> Result<Reservation, SubmitError> {
        let permit = self.tx.clone().try_reserve_owned().map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::Overloaded,
            mpsc::error::TrySendError::Closed(_) => SubmitError::Closed,
        })?;
        Ok(Reservation { permit, stats: self.stats.clone() })
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

/// A place in the writer's queue (see [`EventSink::reserve`]); dropping it gives the place back.
pub struct Reservation {
    permit: mpsc::OwnedPermit<Pending>,
    stats: Arc<WriterStats>,
}

impl Reservation {
    /// Makes the records durable. Returns once they are in the ingest log on disk.
    pub async fn submit(self, records: Vec<EventRecord>) -> Result<(), SubmitError> {
        if records.is_empty() {
            return Ok(());
        }
        let bytes = codec::encode(&records);
        let (ack, done) = oneshot::channel();
        let n = records.len() as u64;
        self.permit.send(Pending { bytes, records, ack });
        match done.await {
            Ok(Ok(())) => {
                self.stats.accepted.fetch_add(n, Ordering::Relaxed);
                Ok(())
            }
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
    let recovery = recover(log_dir, &mut store, options.batch_rows)?;
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

fn recover(log_dir: &Path, store: &mut EventStore, batch_rows: usize) -> Result<Recovery, WriterError> {
    let applied = store.applied_position()?;
    let mut recovery = Recovery::default();
    let mut rows: Vec<EventRecord> = Vec::new();
    let mut last = applied;
    let stats = ingest_log::replay::<WriterError>(log_dir, applied, |payload, pos| {
        match codec::decode(payload) {
            Ok(records) => {
                recovery.replayed_events += records.len() as u64;
                rows.extend(records);
            }
            // A record that passed its checksum but does not decode was written by an incompatible
            // version; keep the log (it is not released) and refuse to start rather than lose it.
            Err(e) => return Err(WriterError::Log(format!("{e} (before {pos:?})"))),
        }
        last = pos;
        if rows.len() >= batch_rows {
            store.insert(&rows, Some(last))?;
            rows.clear();
        }
        Ok(())
    })?;
    if last != applied {
        store.insert(&rows, Some(last))?;
    }
    recovery.replayed_records = stats.records;
    recovery.torn_tails = stats.torn_tails;
    // Everything before the last position is in the store now.
    ingest_log::release(log_dir, LogPosition { segment: last.segment + 1, offset: 0 })
        .map_err(|e| WriterError::Log(e.to_string()))?;
    store.checkpoint()?;
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
/// and wakes the requests waiting on it; at 22–30 k events/s this wait made groups ~3× larger (7 →
/// 20 events) and cut the log thread's CPU per event by ~30 %, for at most 200 µs more latency
/// (BENCHMARKS.md).
const GROUP_LINGER: Duration = Duration::from_micros(200);
const LINGER_UNTIL: usize = 64;

/// Moves whatever is queued (up to [`MAX_GROUP`]) into `group` without waiting.
fn drain(rx: &mut mpsc::Receiver<Pending>, group: &mut Vec<Pending>) {
    while group.len() < MAX_GROUP {
        match rx.try_recv() {
            Ok(p) => group.push(p),
            Err(_) => break,
        }
    }
}

fn store_loop(
    mut store: EventStore,
    rx: std_mpsc::Receiver<StoreMsg>,
    log_dir: PathBuf,
    options: WriterOptions,
    stats: Arc<WriterStats>,
    budget: &RowBudget,
) {
    let mut rows: Vec<EventRecord> = Vec::new();
    let mut pos: Option<LogPosition> = None;
    let mut oldest: Option<Instant> = None;
    let flush =
        |store: &mut EventStore, rows: &mut Vec<EventRecord>, pos: &mut Option<LogPosition>| -> Result<(), String> {
            let Some(p) = *pos else { return Ok(()) };
            // Retry until the store takes the batch: the rows are safe in the log meanwhile, and
            // blocking here backs up the queue so new requests get 503 rather than piling up in memory.
            let mut attempt = 0u32;
            loop {
                match store.insert(rows, Some(p)) {
                    Ok(()) => break,
                    Err(e) if attempt < 30 => {
                        stats.store_errors.fetch_add(1, Ordering::Relaxed);
                        warn!(error = %e, attempt, "event store write failed; retrying");
                        attempt += 1;
                        std::thread::sleep(Duration::from_millis(200 * u64::from(attempt.min(10))));
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
            stats.stored.fetch_add(rows.len() as u64, Ordering::Relaxed);
            rows.clear();
            *pos = None;
            if let Err(e) = ingest_log::release(&log_dir, p) {
                warn!(error = %e, "could not delete applied log segments");
            }
            Ok(())
        };
    loop {
        let timeout = match oldest {
            Some(t) => options.flush_interval.saturating_sub(t.elapsed()),
            None => Duration::from_secs(3600),
        };
        let msg = match rx.recv_timeout(timeout) {
            Ok(m) => Some(m),
            Err(std_mpsc::RecvTimeoutError::Timeout) => None,
            Err(std_mpsc::RecvTimeoutError::Disconnected) => Some(StoreMsg::Stop),
        };
        match msg {
            Some(StoreMsg::Rows(batch, p)) => {
                budget.give_back(batch.len());
                rows.extend(batch);
                pos = Some(p);
                oldest.get_or_insert_with(Instant::now);
                if rows.len() < options.batch_rows {
                    continue;
                }
            }
            Some(StoreMsg::Command(f)) => {
                f(&mut store);
                continue;
            }
            Some(StoreMsg::Flush(reply)) => {
                let res = flush(&mut store, &mut rows, &mut pos);
                oldest = None;
                let _ = reply.send(res);
                continue;
            }
            Some(StoreMsg::Stop) => {
                if let Err(e) = flush(&mut store, &mut rows, &mut pos) {
                    error!(error = %e, "final flush failed; events remain in the ingest log and replay at next start");
                }
                if let Err(e) = store.checkpoint() {
                    warn!(error = %e, "checkpoint at shutdown failed");
                }
                info!(stored = stats.stored.load(Ordering::Relaxed), "event writer stopped");
                return;
            }
            None => {}
        }
        if let Err(e) = flush(&mut store, &mut rows, &mut pos) {
            error!(error = %e, "event store write keeps failing; events remain in the ingest log");
        }
        oldest = None;
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
        let flusher = handle.clone();
        tokio::task::spawn_blocking(move || flusher.flush_blocking()).await.unwrap().unwrap();
        assert_eq!(handle.run(|s| s.count(None)).await.unwrap().unwrap(), 405);
        drop(sink);
        drop(handle);
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
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
        drop(sink);
        drop(handle);
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
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
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let (sink, handle, writer, recovery) =
                rt.block_on(async { start(&log_dir, store, WriterOptions::default()) }).unwrap();
            drop((sink, handle));
            writer.join();
            let _ = recovery;
        }
        let store = EventStore::open_duckdb(&db, &EventStoreOptions::default()).unwrap();
        assert_eq!(store.count(None).unwrap(), 2);
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
        drop((sink, handle));
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
    }
}
