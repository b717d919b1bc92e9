//! Page URL normalisation: hostname, pathname and the campaign parameters, nothing else.
//!
//! The query string is never stored. Only `utm_*`, `ref` and `source` are kept (as visit
//! attributes), and click ids (`gclid`, `fbclid`, …) become a flag naming the parameter.

use url::Url;

use super::redact::redact;

const MAX_PARAM_CHARS: usize = 500;
const CLICK_IDS: [&str; 10] =
    ["gclid", "gbraid", "wbraid", "msclkid", "fbclid", "twclid", "ttclid", "li_fat_id", "yclid", "dclid"];

/// What is kept of a page URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// Host without `www.`, lowercased; `(none)` when the URL has none.
    pub hostname: String,
    /// Decoded path (plus `#fragment` in hash mode), redacted.
    pub pathname: String,
    pub campaign: Campaign,
}

/// Campaign parameters of the page URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Campaign {
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub utm_content: String,
    pub utm_term: String,
    /// `utm_source`, else `source`, else `ref`.
    pub tagged_source: String,
    pub click_id: String,
}

pub fn normalise(url: &Url, hash_mode: bool) -> Page {
    let hostname = match url.host_str() {
        Some(h) => strip_www(&h.to_ascii_lowercase()).to_owned(),
        None => "(none)".to_owned(),
    };
    let mut path = decode(url.path());
    if path.is_empty() {
        path = "/".to_owned();
    }
    if hash_mode && let Some(fragment) = url.fragment() {
        path.push('#');
        path.push_str(&decode(fragment));
    }
    let trimmed = path.trim_end();
    let pathname = redact(if trimmed.is_empty() { "/" } else { trimmed }).into_owned();

    let mut campaign = Campaign::default();
    let (mut source, mut ref_) = (String::new(), String::new());
    for (key, value) in url.query_pairs() {
        let value = clean_param(&value);
        let slot = match key.as_ref() {
            "utm_source" => &mut campaign.utm_source,
            "utm_medium" => &mut campaign.utm_medium,
            "utm_campaign" => &mut campaign.utm_campaign,
            "utm_content" => &mut campaign.utm_content,
            "utm_term" => &mut campaign.utm_term,
            "source" => &mut source,
            "ref" => &mut ref_,
            k if CLICK_IDS.contains(&k) => {
                // The first in the list's order names the click, wherever it is in the URL.
                let rank = |id: &str| CLICK_IDS.iter().position(|c| *c == id).unwrap_or(usize::MAX);
                if campaign.click_id.is_empty() || rank(k) < rank(&campaign.click_id) {
                    campaign.click_id = k.to_owned();
                }
                continue;
            }
            _ => continue,
        };
        if slot.is_empty() {
            *slot = value;
        }
    }
    campaign.tagged_source =
        [&campaign.utm_source, &source, &ref_].into_iter().find(|s| !s.is_empty()).cloned().unwrap_or_default();
    Page { hostname, pathname, campaign }
}

pub fn strip_www(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

fn clean_param(value: &str) -> String {
    redact(super::truncate_chars(value.trim(), MAX_PARAM_CHARS)).into_owned()
}

/// Percent-decodes, replacing invalid UTF-8 rather than failing. An encoded `?` or `#` stays
/// encoded: decoded, it would make a stored path look as if it carried a query or a fragment.
fn decode(s: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
    if decoded.contains(['?', '#']) { decoded.replace('?', "%3F").replace('#', "%23") } else { decoded.into_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn page(url: &str, hash: bool) -> Page {
        normalise(&Url::parse(url).unwrap(), hash)
    }

    #[test]
    fn keeps_only_path_and_campaign() {
        let p =
            page("https://WWW.Example.com/caf%C3%A9/?utm_source=News&utm_medium=email&token=secret&gclid=abc", false);
        assert_eq!(p.hostname, "example.com");
        assert_eq!(p.pathname, "/café/");
        assert_eq!(p.campaign.utm_source, "News");
        assert_eq!(p.campaign.tagged_source, "News");
        assert_eq!(p.campaign.utm_medium, "email");
        assert_eq!(p.campaign.click_id, "gclid");
        let p = page("https://example.com/?ref=producthunt", false);
        assert_eq!((p.pathname.as_str(), p.campaign.tagged_source.as_str()), ("/", "producthunt"));
    }

    #[test]
    fn hash_mode_keeps_fragment() {
        assert_eq!(page("https://x.org/app#/settings", true).pathname, "/app#/settings");
        assert_eq!(page("https://x.org/app#/settings", false).pathname, "/app");
    }

    #[test]
    fn encoded_query_and_fragment_marks_stay_encoded() {
        assert_eq!(page("https://x.org/what%3f/a%23b?x=1", false).pathname, "/what%3F/a%23b");
        assert_eq!(page("https://x.org/app#/q%3Fx", true).pathname, "/app#/q%3Fx");
    }

    #[test]
    fn personal_data_in_urls_is_redacted() {
        let p = page("https://x.org/account/bob@mail.com?utm_campaign=bob@mail.com", false);
        assert_eq!(p.pathname, "/account/[email]");
        assert_eq!(p.campaign.utm_campaign, "[email]");
    }

    proptest! {
        #[test]
        fn normalised_pages_hold_no_query_and_no_email(
            path in "[a-zA-Z0-9/%._~-]{0,60}",
            query in "[a-z0-9=&_]{0,40}",
            user in "[a-z]{1,8}",
        ) {
            let raw = format!("https://www.site.test/{path}/{user}@mail.test?{query}&secret=1");
            let url = Url::parse(&raw).unwrap();
            let p = normalise(&url, false);
            prop_assert!(!p.pathname.contains('?'));
            prop_assert!(!p.pathname.contains('#'));
            let email = format!("{user}@mail.test");
            prop_assert!(!p.pathname.contains(&email));
            prop_assert!(p.pathname.starts_with('/'));
            prop_assert_eq!(p.hostname.as_str(), "site.test");
        }
    }
}
