//! Site settings and their validation, shared by the CLI and the admin API.

use tillit_store::app::Site;

use crate::ingest::SiteInfo;

/// Default retention of analytics events: 25 months.
pub const DEFAULT_RETENTION_DAYS: u32 = 25 * 31;

/// A validated new site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSite {
    pub domain: String,
    pub timezone: String,
    pub retention_days: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SiteError {
    #[error("invalid domain {0:?}: use a host name such as example.com")]
    Domain(String),
    #[error("unknown time zone {0:?}: use an IANA name such as Europe/Oslo")]
    Timezone(String),
    #[error("retention must be between 1 and 3650 days")]
    Retention,
}

impl NewSite {
    pub fn parse(domain: &str, timezone: Option<&str>, retention_days: u32) -> Result<NewSite, SiteError> {
        let domain = normalise_domain(domain);
        let valid = !domain.is_empty()
            && domain.len() <= 253
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !label.starts_with('-')
            });
        if !valid {
            return Err(SiteError::Domain(domain));
        }
        let timezone = timezone.unwrap_or("UTC").trim().to_owned();
        if jiff::tz::TimeZone::get(&timezone).is_err() {
            return Err(SiteError::Timezone(timezone));
        }
        if !(1..=3650).contains(&retention_days) {
            return Err(SiteError::Retention);
        }
        Ok(NewSite { domain, timezone, retention_days })
    }
}

/// Lowercases, trims, and strips a scheme, a path and a leading `www.`.
pub fn normalise_domain(raw: &str) -> String {
    let mut d = raw.trim().to_ascii_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = d.strip_prefix(scheme) {
            d = rest.to_owned();
        }
    }
    let d = d.split('/').next().unwrap_or_default();
    d.strip_prefix("www.").unwrap_or(d).trim_end_matches('.').to_owned()
}

/// How long a site's previous domain keeps working after a change of domain: Plausible's 72 hours, time
/// enough to update the tracker snippet and API clients without losing events or answers in between.
pub const PREVIOUS_DOMAIN_GRACE_SECS: i64 = 72 * 3600;

/// The site's previous domain while it still answers at `now`.
pub fn previous_domain(site: &Site, now: i64) -> Option<&str> {
    let changed_at = site.domain_changed_at?;
    (now - changed_at < PREVIOUS_DOMAIN_GRACE_SECS).then_some(site.previous_domain.as_deref()).flatten()
}

/// Whether requests naming `domain` (normalised) reach this site at `now`.
pub fn answers_to(site: &Site, domain: &str, now: i64) -> bool {
    site.domain == domain || previous_domain(site, now) == Some(domain)
}

/// The site with its settings replaced by `new` at `now`. A new domain keeps the old one answering for
/// [`PREVIOUS_DOMAIN_GRACE_SECS`]; changing back to the previous domain ends the grace at once.
pub fn changed(current: &Site, new: NewSite, now: i64) -> Site {
    let (previous_domain, domain_changed_at) = if new.domain == current.domain {
        (current.previous_domain.clone(), current.domain_changed_at)
    } else if current.previous_domain.as_deref() == Some(new.domain.as_str()) {
        (None, None)
    } else {
        (Some(current.domain.clone()), Some(now))
    };
    Site {
        domain: new.domain,
        timezone: new.timezone,
        retention_days: new.retention_days,
        previous_domain,
        domain_changed_at,
        ..current.clone()
    }
}

/// What the ingest pipeline needs of a site at `now`.
pub fn info(site: Site, now: i64) -> SiteInfo {
    let previous_domain = previous_domain(&site, now).map(str::to_owned);
    SiteInfo { id: site.id, domain: site.domain, previous_domain }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(domain: &str) -> Site {
        Site {
            id: 7,
            domain: domain.into(),
            timezone: "UTC".into(),
            retention_days: 30,
            created_at: 0,
            previous_domain: None,
            domain_changed_at: None,
        }
    }

    #[test]
    fn previous_domain_answers_for_72_hours() {
        let new = NewSite::parse("new.test", None, 30).unwrap();
        let renamed = changed(&site("old.test"), new, 1_000);
        assert_eq!(renamed.domain, "new.test");
        assert!(answers_to(&renamed, "new.test", 1_000));
        assert!(answers_to(&renamed, "old.test", 1_000 + PREVIOUS_DOMAIN_GRACE_SECS - 1));
        assert!(!answers_to(&renamed, "old.test", 1_000 + PREVIOUS_DOMAIN_GRACE_SECS));
        assert_eq!(info(renamed.clone(), 1_000).previous_domain.as_deref(), Some("old.test"));
        assert_eq!(info(renamed.clone(), 1_000 + PREVIOUS_DOMAIN_GRACE_SECS).previous_domain, None);
        // Other settings keep the grace; changing back ends it.
        let zone = changed(&renamed, NewSite::parse("new.test", Some("Europe/Oslo"), 30).unwrap(), 2_000);
        assert_eq!(zone.domain_changed_at, Some(1_000));
        let back = changed(&zone, NewSite::parse("old.test", None, 30).unwrap(), 3_000);
        assert_eq!((back.previous_domain, back.domain_changed_at), (None, None));
    }

    #[test]
    fn domains_and_zones() {
        assert_eq!(
            NewSite::parse(" https://WWW.Example.com/x ", Some("Europe/Oslo"), 30).unwrap().domain,
            "example.com"
        );
        assert_eq!(NewSite::parse("a.test", None, 30).unwrap().timezone, "UTC");
        assert!(matches!(NewSite::parse("bad domain", None, 30), Err(SiteError::Domain(_))));
        assert!(matches!(NewSite::parse("", None, 30), Err(SiteError::Domain(_))));
        assert!(matches!(NewSite::parse("a.test", Some("Mars/Olympus"), 30), Err(SiteError::Timezone(_))));
        assert_eq!(NewSite::parse("a.test", None, 0), Err(SiteError::Retention));
    }
}
