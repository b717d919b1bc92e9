//! The ingest log: an append-only, group-committed log of accepted events.
//!
//! Invariant: a batch is acknowledged only after `fdatasync` returned for the bytes that hold it, so
//! an acknowledged event survives a crash at any moment. The event store records, in the same
//! transaction as the rows, the log position it has applied; on start-up everything after that
//! position is replayed, so each record reaches the store exactly once.
//!
//! Layout: a directory of segment files named by a zero-padded, increasing number. Each record is
//! `len: u32 LE | crc32(payload): u32 LE | payload`. A writer never appends to a segment it did not
//! create, so a torn tail (a crash mid-write, never acknowledged) can only sit at the end of a
//! segment; replay stops reading that segment there. Segments that lie wholly before the applied
//! position are deleted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const HEADER_LEN: usize = 8;
/// Refuse absurd lengths when reading, so a corrupt header cannot make replay allocate gigabytes.
const MAX_RECORD_LEN: u32 = 64 * 1024 * 1024;

/// A position in the log: the end of a record (or the start of a segment when `offset` is 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LogPosition {
    pub segment: u64,
    pub offset: u64,
}

/// How far the event store has applied the log: every record before `log`, and then the first
/// `skip` rows of the records after it. `skip` lets the store commit a whole row group that ends
/// inside a log record (one group commit of the log holds many requests); replay drops those rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub log: LogPosition,
    pub skip: u64,
}

impl Applied {
    /// Everything up to the end of the record that ends at `log`.
    pub fn at(log: LogPosition) -> Applied {
        Applied { log, skip: 0 }
    }
}

/// The writing end of the log. Exactly one exists per data directory at a time.
pub struct IngestLog {
    dir: PathBuf,
    file: File,
    segment: u64,
    offset: u64,
    max_segment_bytes: u64,
    buf: Vec<u8>,
}

impl IngestLog {
    /// Opens the log in `dir` for appending, in a fresh segment after every existing one.
    pub fn open(dir: &Path, max_segment_bytes: u64) -> io::Result<IngestLog> {
        fs::create_dir_all(dir)?;
        let next = list_segments(dir)?.last().map_or(1, |last| last + 1);
        let file = create_segment(dir, next)?;
        Ok(IngestLog {
            dir: dir.to_path_buf(),
            file,
            segment: next,
            offset: 0,
            max_segment_bytes,
            buf: Vec::with_capacity(1 << 20),
        })
    }

    /// Appends the payloads as one group and makes them durable. Returns the position just after
    /// the last one. On error nothing may be acknowledged: the group is lost, not half-written
    /// (a torn tail is skipped on replay), and the log moves to a fresh segment.
    pub fn append<'a>(&mut self, payloads: impl IntoIterator<Item = &'a [u8]>) -> io::Result<LogPosition> {
        if self.offset >= self.max_segment_bytes {
            self.rotate()?;
        }
        self.buf.clear();
        for payload in payloads {
            let len = u32::try_from(payload.len())
                .ok()
                .filter(|len| *len <= MAX_RECORD_LEN)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "log record too large"))?;
            self.buf.extend_from_slice(&len.to_le_bytes());
            self.buf.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            self.buf.extend_from_slice(payload);
        }
        let res = self.file.write_all(&self.buf).and_then(|()| self.file.sync_data());
        if let Err(err) = res {
            // The segment may now end in a partial group; never write after it.
            let _ = self.rotate();
            return Err(err);
        }
        self.offset += self.buf.len() as u64;
        Ok(self.position())
    }

    /// The position after the last durable record.
    pub fn position(&self) -> LogPosition {
        LogPosition { segment: self.segment, offset: self.offset }
    }

    fn rotate(&mut self) -> io::Result<()> {
        let next = self.segment + 1;
        self.file = create_segment(&self.dir, next)?;
        self.segment = next;
        self.offset = 0;
        Ok(())
    }
}

/// What a replay found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub records: u64,
    /// Segments that ended in an incomplete or corrupt record (a crash mid-write).
    pub torn_tails: u64,
}

/// Calls `apply` for every record after `after`, in log order, with the position after it.
pub fn replay<E: From<io::Error>>(
    dir: &Path,
    after: LogPosition,
    apply: impl FnMut(&[u8], LogPosition) -> Result<(), E>,
) -> Result<ReplayStats, E> {
    replay_until(dir, after, None, apply)
}

/// [`replay`], stopping after the record that ends at `until` (when given). The log may grow
/// meanwhile: everything up to a position the writer returned is complete and on disk, so a
/// live log can be re-read up to there.
pub fn replay_until<E: From<io::Error>>(
    dir: &Path,
    after: LogPosition,
    until: Option<LogPosition>,
    mut apply: impl FnMut(&[u8], LogPosition) -> Result<(), E>,
) -> Result<ReplayStats, E> {
    let mut stats = ReplayStats::default();
    if !dir.exists() {
        return Ok(stats);
    }
    for segment in list_segments(dir)? {
        if segment < after.segment {
            continue;
        }
        if until.is_some_and(|u| segment > u.segment) {
            break;
        }
        let mut bytes = Vec::new();
        File::open(segment_path(dir, segment))?.read_to_end(&mut bytes)?;
        let mut offset = if segment == after.segment { after.offset as usize } else { 0 };
        while offset < bytes.len() {
            let Some(header) = bytes.get(offset..offset + HEADER_LEN) else {
                stats.torn_tails += 1;
                break;
            };
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            let start = offset + HEADER_LEN;
            let payload = (len <= MAX_RECORD_LEN).then(|| bytes.get(start..start + len as usize)).flatten();
            let Some(payload) = payload.filter(|p| crc32fast::hash(p) == crc) else {
                stats.torn_tails += 1;
                break;
            };
            offset = start + len as usize;
            let pos = LogPosition { segment, offset: offset as u64 };
            apply(payload, pos)?;
            stats.records += 1;
            if until == Some(pos) {
                return Ok(stats);
            }
        }
    }
    Ok(stats)
}

/// Deletes every segment that lies wholly before `applied`. Returns how many were deleted.
pub fn release(dir: &Path, applied: LogPosition) -> io::Result<usize> {
    let mut n = 0;
    for segment in list_segments(dir)? {
        if segment >= applied.segment {
            break;
        }
        fs::remove_file(segment_path(dir, segment))?;
        n += 1;
    }
    Ok(n)
}

/// Total bytes held in log segments (for health reporting).
pub fn size_on_disk(dir: &Path) -> io::Result<u64> {
    let mut total = 0;
    for segment in list_segments(dir)? {
        total += fs::metadata(segment_path(dir, segment))?.len();
    }
    Ok(total)
}

fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut segments = Vec::new();
    if !dir.exists() {
        return Ok(segments);
    }
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".log")) else { continue };
        if let Ok(n) = stem.parse::<u64>() {
            segments.push(n);
        }
    }
    segments.sort_unstable();
    Ok(segments)
}

fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:016}.log"))
}

fn create_segment(dir: &Path, segment: u64) -> io::Result<File> {
    let file = OpenOptions::new().create_new(true).append(true).open(segment_path(dir, segment))?;
    // The new directory entry must be durable too, or an fsynced record could vanish with its file.
    File::open(dir)?.sync_all()?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(dir: &Path, after: LogPosition) -> (Vec<Vec<u8>>, ReplayStats) {
        let mut out = Vec::new();
        let stats = replay::<io::Error>(dir, after, |p, _| {
            out.push(p.to_vec());
            Ok(())
        })
        .unwrap();
        (out, stats)
    }

    #[test]
    fn replays_after_position_across_segments() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = IngestLog::open(tmp.path(), 20).unwrap();
        let first = log.append([b"one".as_slice()]).unwrap();
        log.append([b"two".as_slice(), b"three".as_slice()]).unwrap();
        log.append([b"four".as_slice()]).unwrap(); // rotated: over 20 bytes
        assert_eq!(log.position().segment, 2);
        let (all, _) = collect(tmp.path(), LogPosition::default());
        assert_eq!(all, [b"one".to_vec(), b"two".to_vec(), b"three".to_vec(), b"four".to_vec()]);
        let (rest, _) = collect(tmp.path(), first);
        assert_eq!(rest.len(), 3);
        assert_eq!(release(tmp.path(), log.position()).unwrap(), 1);
        let (after_release, _) = collect(tmp.path(), LogPosition::default());
        assert_eq!(after_release, [b"four".to_vec()]);
    }

    #[test]
    fn replay_until_stops_at_a_group_end_even_as_the_log_grows() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = IngestLog::open(tmp.path(), 1 << 20).unwrap();
        let first = log.append([b"one".as_slice()]).unwrap();
        let second = log.append([b"two".as_slice(), b"three".as_slice()]).unwrap();
        log.append([b"four".as_slice()]).unwrap();
        let mut seen = Vec::new();
        let stats = replay_until::<io::Error>(tmp.path(), first, Some(second), |p, pos| {
            seen.push((p.to_vec(), pos));
            Ok(())
        })
        .unwrap();
        assert_eq!(stats.records, 2);
        assert_eq!(seen.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(), [b"two".to_vec(), b"three".to_vec()]);
        assert_eq!(seen.last().map(|(_, pos)| *pos), Some(second));
    }

    #[test]
    fn torn_tail_is_skipped_and_new_writes_go_to_a_new_segment() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = IngestLog::open(tmp.path(), 1 << 20).unwrap();
        log.append([b"kept".as_slice()]).unwrap();
        drop(log);
        // Simulate a crash in the middle of writing a record.
        let mut f = OpenOptions::new().append(true).open(segment_path(tmp.path(), 1)).unwrap();
        f.write_all(&[50, 0, 0, 0, 1, 2, 3, 4, b'x']).unwrap();
        let mut log = IngestLog::open(tmp.path(), 1 << 20).unwrap();
        log.append([b"later".as_slice()]).unwrap();
        let (all, stats) = collect(tmp.path(), LogPosition::default());
        assert_eq!(all, [b"kept".to_vec(), b"later".to_vec()]);
        assert_eq!(stats.torn_tails, 1);
    }

    #[test]
    fn corrupt_payload_is_detected() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = IngestLog::open(tmp.path(), 1 << 20).unwrap();
        log.append([b"abc".as_slice(), b"def".as_slice()]).unwrap();
        let path = segment_path(tmp.path(), 1);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, bytes).unwrap();
        let (all, stats) = collect(tmp.path(), LogPosition::default());
        assert_eq!(all, [b"abc".to_vec()]);
        assert_eq!(stats.torn_tails, 1);
    }
}
