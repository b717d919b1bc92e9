//! The pipeline proper: a validated request plus the client's IP and user agent in, anonymous
//! event records out. The IP and the user agent go no further than this module.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;

use tillit_store::{EventRecord, SessionAttrs};

use super::body::EventRequest;
use super::geo::GeoDb;
use super::page::{self, strip_www};
use super::session::{Sessions, Visit};
use super::source;
use super::useragent::UaParser;
use super::visitor::{DailySalt, visitor_id, visitor_id_for_key};

static BUILTIN_SPAM: &str = include_str!("../../data/referrer-spam.txt");

/// What the pipeline needs to know about a site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteInfo {
    pub id: u32,
    pub domain: String,
    /// The domain before a recent change, still accepted (see `sites::PREVIOUS_DOMAIN_GRACE_SECS`).
    pub previous_domain: Option<String>,
}

/// The request's sender, known only to this pipeline.
#[derive(Clone, Copy, Debug)]
pub struct Client<'a> {
    pub ip: IpAddr,
    pub user_agent: &'a str,
}

/// What an import knows about an event's visit beyond the request: events exported from another
/// analytics tool carry a visitor identifier of that tool and the visit's attributes, already
/// derived there, instead of an IP address and a user agent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Imported<'a> {
    /// The import's key for the line, which makes importing it again a no-op.
    pub key: Option<u64>,
    /// The exporting tool's visitor identifier. It takes the place of the IP address and user
    /// agent in the visitor id's keyed hash (under the import's salt for the day, as they would).
    pub visitor: Option<&'a str>,
    /// Visit attributes as the export holds them; they replace what would be derived.
    pub attrs: Option<&'a VisitOverrides>,
}

/// Visit attributes given rather than derived (see [`Imported`]). The channel is always derived,
/// from the source and campaign values after these are applied, as for a live event.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitOverrides {
    pub referrer: Option<String>,
    pub source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_content: Option<String>,
    pub utm_term: Option<String>,
    pub click_id: Option<String>,
    pub device: Option<String>,
    pub browser: Option<String>,
    pub browser_version: Option<String>,
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub region_name: Option<String>,
    pub city: Option<String>,
    pub city_geoname_id: Option<u32>,
}

impl VisitOverrides {
    /// Applies the given attributes to a derived set, then derives the channel again.
    fn apply(&self, attrs: &mut SessionAttrs) {
        let set = |field: &mut String, value: &Option<String>| {
            if let Some(v) = value {
                field.clone_from(v);
            }
        };
        set(&mut attrs.referrer, &self.referrer);
        set(&mut attrs.source, &self.source);
        set(&mut attrs.utm_medium, &self.utm_medium);
        set(&mut attrs.utm_source, &self.utm_source);
        set(&mut attrs.utm_campaign, &self.utm_campaign);
        set(&mut attrs.utm_content, &self.utm_content);
        set(&mut attrs.utm_term, &self.utm_term);
        set(&mut attrs.click_id, &self.click_id);
        set(&mut attrs.device, &self.device);
        set(&mut attrs.browser, &self.browser);
        set(&mut attrs.browser_version, &self.browser_version);
        set(&mut attrs.os, &self.os);
        set(&mut attrs.os_version, &self.os_version);
        set(&mut attrs.country, &self.country);
        set(&mut attrs.region, &self.region);
        set(&mut attrs.region_name, &self.region_name);
        set(&mut attrs.city, &self.city);
        if let Some(id) = self.city_geoname_id {
            attrs.city_geoname_id = id;
        }
        attrs.channel =
            source::channel(&attrs.source, &attrs.utm_source, &attrs.utm_medium, &attrs.utm_campaign, &attrs.click_id)
                .to_owned();
    }
}

/// Why an event was not stored although the request was valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    UnknownSite,
    Bot,
    SpamReferrer,
    /// An engagement event with no live session to belong to.
    NoSession,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::UnknownSite => "unknown site",
            DropReason::Bot => "bot",
            DropReason::SpamReferrer => "referrer spam",
            DropReason::NoSession => "engagement without a session",
        }
    }
}

/// The outcome for one request: records to store, and what was dropped.
#[derive(Debug, Default)]
pub struct Processed {
    pub records: Vec<EventRecord>,
    pub dropped: Vec<DropReason>,
}

/// The ingest pipeline with its live state (sites, salts, sessions). Shared by all requests.
pub struct Ingestor {
    // Read by every event and replaced rarely: an `ArcSwap` reads without writing to memory other
    // threads read, where a lock (or an `Arc` clone) bounced a cache line between the cores.
    sites: ArcSwap<HashMap<String, SiteInfo>>,
    salts: ArcSwap<DailySalt>,
    sessions: Sessions,
    ua: UaParser,
    geo: Option<GeoDb>,
    spam: HashSet<String>,
}

impl Ingestor {
    pub fn new(ua: UaParser, geo: Option<GeoDb>, extra_spam: &str, salts: DailySalt) -> Ingestor {
        let spam = BUILTIN_SPAM
            .lines()
            .chain(extra_spam.lines())
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_ascii_lowercase)
            .collect();
        Ingestor {
            sites: ArcSwap::from_pointee(HashMap::new()),
            salts: ArcSwap::from_pointee(salts),
            sessions: Sessions::default(),
            ua,
            geo,
            spam,
        }
    }

    /// Replaces the set of known sites.
    pub fn set_sites(&self, sites: impl IntoIterator<Item = SiteInfo>) {
        let map = sites
            .into_iter()
            .flat_map(|s| {
                let previous = s.previous_domain.clone().map(|d| (d, s.clone()));
                std::iter::once((s.domain.clone(), s)).chain(previous)
            })
            .collect();
        self.sites.store(Arc::new(map));
    }

    pub fn site(&self, domain: &str) -> Option<SiteInfo> {
        self.sites.load().get(domain).cloned()
    }

    pub fn set_salts(&self, salts: DailySalt) {
        self.salts.store(Arc::new(salts));
    }

    pub fn salts(&self) -> DailySalt {
        DailySalt::clone(&self.salts.load())
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    pub fn geo(&self) -> Option<&GeoDb> {
        self.geo.as_ref()
    }

    /// Processes a live request received at `now`.
    pub fn process(&self, req: &EventRequest, client: Client<'_>, now: i64) -> Processed {
        self.process_with(req, client, now, &self.salts.load(), &self.sessions, Imported::default())
    }

    /// Processes a request with an explicit time, salts and session table (imports use their own).
    pub fn process_with(
        &self,
        req: &EventRequest,
        client: Client<'_>,
        ts: i64,
        salts: &DailySalt,
        sessions: &Sessions,
        imported: Imported<'_>,
    ) -> Processed {
        let mut out = Processed::default();
        let sites = self.sites.load();
        let mut targets: Vec<&SiteInfo> = req.domains.iter().filter_map(|d| sites.get(d)).collect();
        let unknown = req.domains.len() - targets.len();
        // A site named twice (its domain and its previous one) counts the event once.
        if targets.len() > 1 {
            let mut seen = Vec::with_capacity(targets.len());
            targets.retain(|s| {
                let first = !seen.contains(&s.id);
                if first {
                    seen.push(s.id);
                }
                first
            });
        }
        out.dropped.extend(std::iter::repeat_n(DropReason::UnknownSite, unknown));
        if targets.is_empty() {
            return out;
        }
        let reject_all = |out: &mut Processed, reason| out.dropped.extend(std::iter::repeat_n(reason, targets.len()));
        if self.is_spam(req.referrer.as_deref()) {
            reject_all(&mut out, DropReason::SpamReferrer);
            return out;
        }
        // The user agent is parsed only when a session starts: a live session's visitor id hashes
        // the same user agent, which was no bot when the session began. Engagement events cannot
        // start one, so theirs is checked up front, for the drop reason.
        let agent = OnceCell::new();
        let agent = || {
            agent.get_or_init(|| {
                // An exported event without a user agent: the exporting tool counted it as a
                // person, and its attributes come with it.
                if imported.visitor.is_some() && client.user_agent.trim().is_empty() {
                    return Arc::new(super::useragent::Agent::default());
                }
                self.ua.parse(client.user_agent)
            })
        };
        if req.is_engagement() && agent().is_bot {
            reject_all(&mut out, DropReason::Bot);
            return out;
        }
        let page = page::normalise(&req.url, req.hash_mode);
        let is_pageview = req.name == "pageview";
        for site in targets {
            let visitor = match imported.visitor {
                Some(key) => visitor_id_for_key(&salts.current, ts, site.id, key),
                None => visitor_id(&salts.current, ts, site.id, client.ip, client.user_agent, &page.hostname),
            };
            let start = || {
                let agent = agent();
                if agent.is_bot {
                    return None;
                }
                let origin = source::classify(req.referrer.as_deref(), &page.hostname, &page.campaign);
                let location = self.geo.as_ref().map(|g| g.lookup(client.ip)).unwrap_or_default();
                let mut attrs = SessionAttrs {
                    entry_page: String::new(),
                    referrer: origin.referrer,
                    source: origin.source,
                    channel: origin.channel,
                    utm_medium: origin.utm_medium,
                    utm_source: page.campaign.tagged_source.clone(),
                    utm_campaign: page.campaign.utm_campaign.clone(),
                    utm_content: page.campaign.utm_content.clone(),
                    utm_term: page.campaign.utm_term.clone(),
                    click_id: page.campaign.click_id.clone(),
                    device: agent.device.clone(),
                    browser: agent.browser.clone(),
                    browser_version: agent.browser_version.clone(),
                    os: agent.os.clone(),
                    os_version: agent.os_version.clone(),
                    country: location.country,
                    region: location.region,
                    city: location.city,
                    city_geoname_id: location.city_geoname_id,
                    region_name: location.region_name,
                };
                if let Some(given) = imported.attrs {
                    given.apply(&mut attrs);
                }
                Some(attrs)
            };
            let pageview_path = is_pageview.then_some(page.pathname.as_str());
            let visit = Visit {
                site_id: site.id,
                visitor,
                ts,
                may_start: !req.is_engagement(),
                interactive: req.interactive,
                pageview_path,
            };
            let Some(assigned) = sessions.assign(visit, start) else {
                let bot = agent().is_bot;
                out.dropped.push(if bot { DropReason::Bot } else { DropReason::NoSession });
                continue;
            };
            out.records.push(EventRecord {
                site_id: site.id,
                ts,
                name: req.name.clone(),
                hostname: page.hostname.clone(),
                pathname: page.pathname.clone(),
                visitor_id: visitor,
                session_id: assigned.session_id,
                interactive: req.interactive,
                props: req.props.clone(),
                revenue: req.revenue.clone(),
                scroll_depth: req.scroll_depth,
                engagement_ms: req.engagement_ms,
                session: assigned.attrs,
                import_key: imported.key,
                visit: assigned.delta,
            });
        }
        out
    }

    fn is_spam(&self, referrer: Option<&str>) -> bool {
        let Some(host) = referrer.and_then(referrer_host) else {
            return false;
        };
        let host = strip_www(&host);
        // The host or any parent domain on the list.
        let mut rest = host;
        loop {
            if self.spam.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) if parent.contains('.') => rest = parent,
                _ => return false,
            }
        }
    }
}

/// A referrer's host, lower-cased, as the URL parser would give it. Nearly every referrer is a
/// plain `https://host/…` with a host of ASCII letters, digits, dots and hyphens; those are read
/// directly, since a full parse per event was a visible share of the handler's profile. Anything
/// the parser might normalise (other schemes or cases, ports, user info, IPv4 forms, punycode,
/// empty labels, characters outside that set) goes through it.
fn referrer_host(referrer: &str) -> Option<String> {
    let plain = referrer.strip_prefix("https://").or_else(|| referrer.strip_prefix("http://")).and_then(|rest| {
        let host = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        let last_label = host.rsplit('.').next().unwrap_or("");
        let simple = host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && last_label.starts_with(|c: char| c.is_ascii_alphabetic())
            && !host.starts_with('.')
            && !host.contains("..")
            && !host.contains("xn--");
        simple.then(|| host.to_ascii_lowercase())
    });
    plain.or_else(|| url::Url::parse(referrer).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::body;
    use proptest::prelude::*;

    proptest! {
        /// The direct read of plain referrers agrees with the URL parser everywhere.
        #[test]
        fn referrer_host_agrees_with_the_url_parser(
            scheme in prop::sample::select(vec!["http://", "https://", "HTTPS://", "ftp://", "", "https:"]),
            host in "[a-zA-Z0-9.\\-:@%_\\[\\]]{0,16}|([a-z0-9-]{1,6}\\.){1,3}[a-z0-9]{1,4}",
            rest in "(/[a-z]{0,5})?[?#]?[a-z=]{0,4}",
        ) {
            let referrer = format!("{scheme}{host}{rest}");
            let parsed = url::Url::parse(&referrer).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase));
            prop_assert_eq!(referrer_host(&referrer), parsed);
        }
    }

    #[test]
    fn referrer_hosts_read_directly_and_by_the_parser() {
        assert_eq!(referrer_host("https://Spam.Example.com/x?y").as_deref(), Some("spam.example.com"));
        assert_eq!(referrer_host("http://a-b.test#f").as_deref(), Some("a-b.test"));
        // Left to the parser: a port, user info, an IPv4 short form, an upper-case scheme.
        assert_eq!(referrer_host("https://spam.test:8443/").as_deref(), Some("spam.test"));
        assert_eq!(referrer_host("https://u:p@spam.test/").as_deref(), Some("spam.test"));
        assert_eq!(referrer_host("http://127.1/").as_deref(), Some("127.0.0.1"));
        assert_eq!(referrer_host("HTTPS://SPAM.TEST").as_deref(), Some("spam.test"));
        assert_eq!(referrer_host("not a url"), None);
    }

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";

    fn ingestor() -> Ingestor {
        let i = Ingestor::new(UaParser::new(64).unwrap(), None, "extra-spam.test", DailySalt::random());
        i.set_sites([
            SiteInfo { id: 1, domain: "a.test".into(), previous_domain: None },
            SiteInfo { id: 2, domain: "b.test".into(), previous_domain: Some("old-b.test".into()) },
        ]);
        i
    }

    fn client(ip: &str) -> Client<'static> {
        Client { ip: ip.parse().unwrap(), user_agent: CHROME }
    }

    fn req(json: &str) -> EventRequest {
        body::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn fan_out_and_unknown_sites() {
        let i = ingestor();
        let p = i.process(
            &req(r#"{"n":"pageview","u":"https://a.test/x","d":"a.test,b.test,c.test"}"#),
            client("198.51.100.1"),
            100,
        );
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.dropped, [DropReason::UnknownSite]);
        assert_ne!(p.records[0].visitor_id, p.records[1].visitor_id, "ids differ per site");
        assert_eq!(p.records[0].session.entry_page, "/x");
        assert_eq!(p.records[0].session.browser, "Chrome");
    }

    #[test]
    fn a_previous_domain_reaches_its_site_once() {
        let i = ingestor();
        let old =
            i.process(&req(r#"{"n":"pageview","u":"https://b.test/","d":"old-b.test"}"#), client("198.51.100.1"), 1);
        assert_eq!((old.records.len(), old.records[0].site_id), (1, 2));
        let both = i.process(
            &req(r#"{"n":"pageview","u":"https://b.test/","d":"b.test,old-b.test"}"#),
            client("198.51.100.1"),
            2,
        );
        assert_eq!((both.records.len(), both.dropped.len()), (1, 0));
    }

    #[test]
    fn bots_spam_and_orphan_engagement_are_dropped() {
        let i = ingestor();
        let bot = Client { ip: "198.51.100.1".parse().unwrap(), user_agent: "Googlebot/2.1" };
        assert_eq!(i.process(&req(r#"{"n":"pageview","u":"https://a.test/"}"#), bot, 1).dropped, [DropReason::Bot]);
        // A bot starts no session, so its later events are still checked, whatever their kind.
        assert_eq!(i.process(&req(r#"{"n":"Signup","u":"https://a.test/"}"#), bot, 2).dropped, [DropReason::Bot]);
        let bot_engagement = req(r#"{"n":"engagement","u":"https://a.test/","sd":50}"#);
        assert_eq!(i.process(&bot_engagement, bot, 3).dropped, [DropReason::Bot]);
        assert_eq!(i.sessions().len(), 0);
        let spam = req(r#"{"n":"pageview","u":"https://a.test/","r":"https://x.semalt.com/"}"#);
        assert_eq!(i.process(&spam, client("198.51.100.1"), 1).dropped, [DropReason::SpamReferrer]);
        let extra = req(r#"{"n":"pageview","u":"https://a.test/","r":"https://extra-spam.test/"}"#);
        assert_eq!(i.process(&extra, client("198.51.100.1"), 1).dropped, [DropReason::SpamReferrer]);
        let engagement = req(r#"{"n":"engagement","u":"https://a.test/","sd":50}"#);
        assert_eq!(i.process(&engagement, client("198.51.100.2"), 1).dropped, [DropReason::NoSession]);
    }

    #[test]
    fn same_visitor_same_session_and_no_ip_in_records() {
        let i = ingestor();
        let first = i.process(
            &req(r#"{"n":"pageview","u":"https://a.test/?utm_source=news","r":"https://google.com/"}"#),
            client("198.51.100.9"),
            10,
        );
        let second = i.process(
            &req(r#"{"n":"Signup","u":"https://a.test/done","r":"https://bing.com/"}"#),
            client("198.51.100.9"),
            20,
        );
        let (a, b) = (&first.records[0], &second.records[0]);
        assert_eq!((a.visitor_id, a.session_id), (b.visitor_id, b.session_id));
        assert_eq!(b.session.source, "news");
        let json = serde_json::to_string(&second.records).unwrap();
        assert!(!json.contains("198.51.100.9") && !json.contains("Chrome/142"));
    }

    #[test]
    fn location_comes_from_the_geo_database() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("geo.mmdb");
        crate::ingest::geo::testdb::write(&path, &[("81.0.0.0".parse().unwrap(), 8, "NO", "03", "Oslo", 3_143_244)]);
        let geo = GeoDb::open(&path).unwrap();
        let i = Ingestor::new(UaParser::new(64).unwrap(), Some(geo), "", DailySalt::random());
        i.set_sites([SiteInfo { id: 1, domain: "a.test".into(), previous_domain: None }]);
        let p = i.process(&req(r#"{"n":"pageview","u":"https://a.test/"}"#), client("81.2.3.4"), 5);
        let s = &p.records[0].session;
        assert_eq!((s.country.as_str(), s.region.as_str(), s.city.as_str()), ("NO", "NO-03", "Oslo"));
        let unknown = i.process(&req(r#"{"n":"pageview","u":"https://a.test/"}"#), client("203.0.113.1"), 5);
        assert_eq!(unknown.records[0].session.country, "");
    }
}
