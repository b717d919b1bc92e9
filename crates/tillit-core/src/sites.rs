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

/// What the ingest pipeline needs of a site.
pub fn info(site: Site) -> SiteInfo {
    SiteInfo { id: site.id, domain: site.domain }
}

#[cfg(test)]
mod tests {
    use super::*;

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
