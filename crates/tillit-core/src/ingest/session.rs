//! Live sessions, in memory: a visit lasts until 30 minutes pass without an event.
//!
//! A session's visit attributes (source, campaign, entry page, device, location) are fixed by its
//! first event and copied onto every later event. A visit also ends at midnight UTC, when the
//! salt changes: carrying it over would tie yesterday's visitor id to today's in the stored
//! events (one session id on both), which is exactly the link the daily salt exists to break.
//! Day roll-ups in the event store rely on it too: no visit spans two UTC days.
//!
//! Memory: a busy site has millions of live sessions, but far fewer distinct attribute sets, so
//! attribute sets are interned and shared; a live session costs a few dozen bytes.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use crossbeam_utils::CachePadded;

use tillit_store::record::counts_for_visit;
use tillit_store::{EventRecord, SessionAttrs, VisitDelta, VisitState};

pub const SESSION_TIMEOUT_SECS: i64 = 30 * 60;
const SHARDS: usize = 16;

#[derive(Clone, Debug)]
struct Session {
    id: u64,
    last_seen: i64,
    attrs: Arc<SessionAttrs>,
    /// Totals of its non-engagement events, for the next event's [`VisitDelta`] (`None` only for
    /// a restored session whose stored events were all engagement).
    totals: Option<VisitState>,
}

type Key = (u32, u64);

/// Hashes session keys. The visitor id in a key is already the output of a keyed hash that no
/// client can predict (the salt is secret), so it needs mixing, not SipHash's flood resistance;
/// SipHash per lookup was a visible share of the ingest profile.
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        // FxHash's step: rotate, mix in, multiply by an odd constant.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type SessionMap = HashMap<Key, Session, BuildHasherDefault<KeyHasher>>;

/// The table of live sessions, sharded so concurrent requests rarely contend.
pub struct Sessions {
    // Each shard on cache lines of its own: unpadded, two or three shared a line, and requests on
    // different cores locking neighbouring shards pulled the line back and forth.
    shards: Vec<CachePadded<Mutex<SessionMap>>>,
    interned: Vec<CachePadded<Mutex<HashSet<Arc<SessionAttrs>>>>>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            shards: (0..SHARDS).map(|_| CachePadded::new(Mutex::new(SessionMap::default()))).collect(),
            interned: (0..SHARDS).map(|_| CachePadded::new(Mutex::new(HashSet::new()))).collect(),
        }
    }
}

/// The event a session is looked up for.
#[derive(Clone, Copy, Debug)]
pub struct Visit<'a> {
    pub site_id: u32,
    /// The visitor id under the salt of the event's UTC day.
    pub visitor: u64,
    pub ts: i64,
    /// False for engagement events: they may not start a session, nor count towards its totals.
    pub may_start: bool,
    /// Whether the event is interactive (for the visit's bounce).
    pub interactive: bool,
    /// The path, for pageviews: fills a missing entry page.
    pub pageview_path: Option<&'a str>,
}

/// What [`Sessions::assign`] decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Assigned {
    pub session_id: u64,
    pub attrs: Arc<SessionAttrs>,
    pub is_new: bool,
    /// What the event adds to its visit's totals.
    pub delta: VisitDelta,
}

impl Sessions {
    fn shard(&self, key: &Key) -> &Mutex<SessionMap> {
        // Middle bits: the map inside uses the low bits for buckets and the top 7 as tags, and
        // keys sharing those within a shard would crowd its probes.
        let h = BuildHasherDefault::<KeyHasher>::default().hash_one(key);
        &self.shards[(h >> 40) as usize % SHARDS]
    }

    /// The shared copy of an attribute set.
    fn intern(&self, attrs: SessionAttrs) -> Arc<SessionAttrs> {
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(&attrs) as usize;
        let mut set = self.interned[h % SHARDS].lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = set.get(&attrs) {
            return existing.clone();
        }
        let arc = Arc::new(attrs);
        set.insert(arc.clone());
        arc
    }

    /// Finds or starts the session for an event. `start` builds the visit attributes if a new
    /// session begins, or refuses it with `None`. Returns `None` when no session is live and the
    /// event may not start one (engagement events) or `start` refused.
    pub fn assign(&self, visit: Visit<'_>, start: impl FnOnce() -> Option<SessionAttrs>) -> Option<Assigned> {
        let Visit { site_id, visitor, ts, may_start, interactive, pageview_path } = visit;
        let key = (site_id, visitor);
        let live = |s: &Session| {
            ts - s.last_seen <= SESSION_TIMEOUT_SECS && ts.div_euclid(86_400) == s.last_seen.div_euclid(86_400)
        };
        let mut shard = self.shard(&key).lock().unwrap_or_else(|e| e.into_inner());
        // Updated in place: one lookup, no copy of the session, on the path most events take.
        if let Some(session) = shard.get_mut(&key).filter(|s| live(s)) {
            session.last_seen = session.last_seen.max(ts);
            let delta = if may_start { add_to(&mut session.totals, ts, interactive) } else { VisitDelta::default() };
            if let Some(path) = pageview_path
                && session.attrs.entry_page.is_empty()
            {
                let mut attrs = (*session.attrs).clone();
                attrs.entry_page = path.to_owned();
                session.attrs = self.intern(attrs);
            }
            return Some(Assigned { session_id: session.id, attrs: session.attrs.clone(), is_new: false, delta });
        }
        if !may_start {
            return None;
        }
        let mut attrs = start()?;
        if let Some(path) = pageview_path {
            attrs.entry_page = path.to_owned();
        }
        let (totals, delta) = VisitState::start(ts, interactive);
        let session = Session { id: new_session_id(), last_seen: ts, attrs: self.intern(attrs), totals: Some(totals) };
        let out = Assigned { session_id: session.id, attrs: session.attrs.clone(), is_new: true, delta };
        shard.insert(key, session);
        Some(out)
    }

    /// Forgets sessions idle for longer than the timeout. Returns how many were dropped.
    pub fn evict(&self, now: i64) -> usize {
        let mut n = 0;
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let before = shard.len();
            shard.retain(|_, s| now - s.last_seen <= SESSION_TIMEOUT_SECS);
            n += before - shard.len();
        }
        // Attribute sets no live session uses any more.
        for set in &self.interned {
            set.lock().unwrap_or_else(|e| e.into_inner()).retain(|a| Arc::strong_count(a) > 1);
        }
        n
    }

    /// Rebuilds live sessions after a restart from stored events (oldest first): every event of
    /// each session that may still be live, so its totals are whole.
    pub fn restore(&self, events: &[EventRecord]) {
        for e in events {
            let key = (e.site_id, e.visitor_id);
            let attrs = self.intern((*e.session).clone());
            let mut shard = self.shard(&key).lock().unwrap_or_else(|e| e.into_inner());
            if shard.get(&key).is_none_or(|s| s.id != e.session_id) {
                let fresh = Session { id: e.session_id, last_seen: e.ts, attrs: attrs.clone(), totals: None };
                shard.insert(key, fresh);
            }
            let Some(session) = shard.get_mut(&key) else { continue };
            session.last_seen = session.last_seen.max(e.ts);
            session.attrs = attrs;
            if counts_for_visit(&e.name) {
                add_to(&mut session.totals, e.ts, e.interactive);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map(|s| s.len()).unwrap_or(0)).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Adds an event to a visit's totals (starting them if it has none); returns its delta.
fn add_to(totals: &mut Option<VisitState>, ts: i64, interactive: bool) -> VisitDelta {
    match totals {
        Some(t) => t.add(ts, interactive),
        None => {
            let (t, delta) = VisitState::start(ts, interactive);
            *totals = Some(t);
            delta
        }
    }
}

/// Next session id: seconds since the epoch at start-up, shifted left 22 bits, then counting up.
///
/// Why not random: ids of nearby events lie close together, so the event store packs them into a
/// few bits each instead of 8 bytes (a large share of the bytes stored per event). Unique across
/// restarts as long as fewer than 4 M sessions a second begin on average, and never zero (zero
/// means "none" elsewhere). Consecutive ids say only that two sessions began one after the other,
/// which the timestamps already tell; they carry nothing about the visitor.
static NEXT_SESSION_ID: LazyLock<AtomicU64> = LazyLock::new(|| {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs());
    AtomicU64::new(secs.max(1) << 22)
});

fn new_session_id() -> u64 {
    NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(site_id: u32, visitor: u64, ts: i64, may_start: bool, pageview_path: Option<&str>) -> Visit<'_> {
        Visit { site_id, visitor, ts, may_start, interactive: true, pageview_path }
    }

    fn attrs(source: &str) -> SessionAttrs {
        SessionAttrs { source: source.into(), ..SessionAttrs::default() }
    }

    #[test]
    fn first_event_fixes_the_visit() {
        let s = Sessions::default();
        let a = s.assign(visit(1, 10, 1000, true, Some("/")), || Some(attrs("Google"))).unwrap();
        let b = s.assign(visit(1, 10, 1100, true, Some("/b")), || Some(attrs("Bing"))).unwrap();
        assert!(a.is_new && !b.is_new);
        assert_eq!(a.session_id, b.session_id);
        assert_eq!(b.attrs.source, "Google");
        assert_eq!(b.attrs.entry_page, "/");
    }

    #[test]
    fn thirty_minutes_of_silence_ends_a_session() {
        let s = Sessions::default();
        let a = s.assign(visit(1, 10, 0, true, None), || Some(attrs("a"))).unwrap();
        let b = s.assign(visit(1, 10, SESSION_TIMEOUT_SECS, true, None), || Some(attrs("b"))).unwrap();
        assert_eq!(a.session_id, b.session_id);
        let c = s.assign(visit(1, 10, 2 * SESSION_TIMEOUT_SECS + 1, true, None), || Some(attrs("c"))).unwrap();
        assert_ne!(b.session_id, c.session_id);
        drop((a, b, c));
        assert_eq!(s.evict(10 * SESSION_TIMEOUT_SECS), 1);
        assert!(s.is_empty());
        assert!(s.interned.iter().all(|set| set.lock().unwrap().is_empty()), "unused attribute sets are dropped");
    }

    #[test]
    fn visits_end_at_midnight_utc() {
        let s = Sessions::default();
        let before = s.assign(visit(1, 111, 86_000, true, Some("/x")), || Some(attrs("Google"))).unwrap();
        // Even with the same id (a salt rotated late), the new UTC day starts a new visit.
        let after = s.assign(visit(1, 111, 86_500, true, Some("/y")), || Some(attrs("Bing"))).unwrap();
        assert!(after.is_new);
        assert_ne!(before.session_id, after.session_id);
        assert_eq!(after.attrs.source, "Bing");
        assert_eq!(after.attrs.entry_page, "/y");
        // Nor can engagement after midnight continue yesterday's visit.
        assert!(s.assign(visit(1, 222, 86_600, false, None), || Some(attrs("a"))).is_none());
    }

    #[test]
    fn identical_visits_share_one_attribute_set() {
        let s = Sessions::default();
        let a = s.assign(visit(1, 1, 0, true, Some("/")), || Some(attrs("Google"))).unwrap();
        let b = s.assign(visit(1, 2, 0, true, Some("/")), || Some(attrs("Google"))).unwrap();
        assert_ne!(a.session_id, b.session_id);
        assert!(Arc::ptr_eq(&a.attrs, &b.attrs));
    }

    #[test]
    fn deltas_add_up_to_the_visit_and_survive_a_restore() {
        let go = |s: &Sessions, ts: i64, engagement: bool, interactive: bool| {
            let v = Visit { site_id: 1, visitor: 5, ts, may_start: !engagement, interactive, pageview_path: None };
            s.assign(v, || Some(attrs("x"))).unwrap()
        };
        let s = Sessions::default();
        let first = go(&s, 1_000, false, true);
        assert_eq!(first.delta, VisitDelta { starts: true, bounce: 1, duration: 0 });
        assert_eq!(go(&s, 1_100, true, true).delta, VisitDelta::default(), "engagement adds nothing");
        let third = go(&s, 1_200, false, true).delta;
        assert_eq!(third, VisitDelta { starts: false, bounce: -1, duration: 200 });
        // Restart: the visit's events come back from the store and the totals with them.
        let stored: Vec<EventRecord> = [(1_000, "pageview"), (1_100, "engagement"), (1_200, "pageview")]
            .iter()
            .map(|(ts, name)| EventRecord {
                site_id: 1,
                ts: *ts,
                name: (*name).into(),
                hostname: String::new(),
                pathname: "/".into(),
                visitor_id: 5,
                session_id: first.session_id,
                interactive: true,
                props: Vec::new(),
                revenue: None,
                scroll_depth: None,
                engagement_ms: None,
                session: Arc::new(attrs("x")),
                import_key: None,
                visit: VisitDelta::default(),
            })
            .collect();
        let restored = Sessions::default();
        restored.restore(&stored);
        let fourth = go(&restored, 1_500, false, false);
        assert_eq!(fourth.session_id, first.session_id);
        assert_eq!(fourth.delta, VisitDelta { starts: false, bounce: 0, duration: 300 });
        // An event that arrives late (earlier than the visit's first) still adds up.
        let fifth = go(&restored, 900, false, false).delta;
        assert_eq!(fifth, VisitDelta { starts: false, bounce: 0, duration: 100 });
        let total = [first.delta, third, fourth.delta, fifth]
            .iter()
            .fold((0, 0, 0), |(n, b, d), x| (n + i32::from(x.starts), b + i32::from(x.bounce), d + x.duration));
        assert_eq!(total, (1, 0, 600), "one visit, not a bounce, 900..1500");
    }

    #[test]
    fn engagement_never_starts_a_session() {
        let s = Sessions::default();
        assert!(s.assign(visit(1, 10, 0, false, None), || Some(attrs("a"))).is_none());
    }
}
