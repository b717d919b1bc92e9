//! The ingest pipeline: from an Events API request to anonymous event records.
//!
//! Order of work, each step a module:
//! [`body`] parses and validates the request (pure) → [`page`] normalises the URL and keeps only
//! campaign parameters → [`source`] classifies the referrer and channel → [`useragent`] parses the
//! user agent and drops bots → [`geo`] looks the IP up → [`visitor`] hashes (site, IP, user agent)
//! under the day's salt → [`session`] assigns the visit. The IP address and the raw user agent are
//! dropped inside [`pipeline`]; nothing after it ever sees them.

pub mod body;
pub mod geo;
pub mod page;
pub mod pipeline;
pub mod redact;
pub mod session;
pub mod source;
pub mod useragent;
pub mod visitor;

pub use body::{EventRequest, ValidationErrors};
pub use pipeline::{Client, DropReason, Imported, Ingestor, Processed, SiteInfo, VisitOverrides};

/// The first `max` characters of `s`, borrowed (collecting `chars()` into a new string was a
/// visible share of the request handler's profile).
pub(crate) fn truncate_chars(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(end, _)| &s[..end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncate_chars_counts_characters_not_bytes() {
        assert_eq!(super::truncate_chars("åäö-abc", 3), "åäö");
        assert_eq!(super::truncate_chars("abc", 3), "abc");
        assert_eq!(super::truncate_chars("abc", 5), "abc");
        assert_eq!(super::truncate_chars("", 0), "");
        assert_eq!(super::truncate_chars("a😀b", 2), "a😀");
    }
}
