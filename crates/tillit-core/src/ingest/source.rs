//! Where a visit came from: the referrer, its source name, and its acquisition channel, named and
//! sorted as Plausible names and sorts them (see `data/sources/README.md` for the data).
//!
//! The source is the tagged source (`utm_source`, else `source`, else `ref`) when the landing
//! URL has one, else the referrer: a known host or alias (the custom source map), a Wikipedia or
//! Microsoft 365 host, a domain of the referrer database, or else the bare host. Names go through
//! the same table both ways, so `utm_source=fb`, `utm_source=Facebook` and a facebook.com
//! referrer all read "Facebook"; a tag nobody knows is kept as sent (`newsletter`).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use url::Url;

use super::page::{Campaign, strip_www};
use super::redact::redact;

/// Kinds of source used by channel grouping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Search,
    Social,
    Shopping,
    Video,
    Email,
    AiAssistants,
}

static REFERRERS: &str = include_str!("../../data/sources/referrers.tsv");
static CUSTOM: &str = include_str!("../../data/sources/custom-sources.tsv");
static CATEGORIES: &str = include_str!("../../data/sources/categories.tsv");

/// Hosts that name a source with every subdomain: `(suffix, name)`.
const SUFFIX_FAMILIES: [(&str, &str); 2] = [("officeapps.live.com", "Microsoft 365"), ("wikipedia.org", "Wikipedia")];

/// The source tables, parsed once.
struct Tables {
    /// Referrer database: host → `(path prefix, name)`, longest path first.
    domains: HashMap<String, Vec<(String, String)>>,
    /// Lower-cased alias, host or name → canonical name.
    canonical: HashMap<String, String>,
    /// Lower-cased source name → category.
    categories: HashMap<String, Category>,
    /// Tagged sources that make a visit paid.
    paid: HashSet<String>,
}

fn lines(data: &str) -> impl Iterator<Item = Vec<&str>> {
    data.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(|l| l.split('\t').collect())
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let mut domains: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let mut canonical = HashMap::new();
    for fields in lines(REFERRERS) {
        let [_medium, name, domain] = fields[..] else { continue };
        let (host, path) = domain.split_once('/').map_or((domain, ""), |(h, p)| (h, p));
        let path = if path.is_empty() { String::new() } else { format!("/{}", path.trim_end_matches('/')) };
        let entries = domains.entry(host.to_ascii_lowercase()).or_default();
        // The database lists a host under several media; the first listing names it.
        if !entries.iter().any(|(p, _)| *p == path) {
            entries.push((path, name.to_owned()));
        }
        canonical.entry(name.to_lowercase()).or_insert_with(|| name.to_owned());
    }
    for entries in domains.values_mut() {
        entries.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    }
    // The custom map wins over the database's own names.
    let mut paid = HashSet::new();
    for fields in lines(CUSTOM) {
        let [alias, name] = fields[..] else { continue };
        canonical.insert(alias.to_lowercase(), name.to_owned());
        canonical.insert(name.to_lowercase(), name.to_owned());
        if alias.ends_with("ad") || alias.ends_with("ads") {
            paid.insert(alias.to_lowercase());
        }
    }
    paid.insert("adwords".to_owned());
    let categories = lines(CATEGORIES)
        .filter_map(|fields| {
            let [name, category] = fields[..] else { return None };
            let category = match category {
                "SEARCH" => Category::Search,
                "SOCIAL" => Category::Social,
                "SHOPPING" => Category::Shopping,
                "VIDEO" => Category::Video,
                "EMAIL" => Category::Email,
                "AI_ASSISTANTS" => Category::AiAssistants,
                _ => return None,
            };
            Some((name.to_owned(), category))
        })
        .collect();
    Tables { domains, canonical, categories, paid }
});

/// What a visit's origin resolves to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// Referrer host (without `www.`, `android-app://` kept) and path, trailing `/` trimmed;
    /// empty for direct visits.
    pub referrer: String,
    /// Source name: canonical name, tagged source or referrer host; empty means Direct / None.
    pub source: String,
    pub channel: String,
    /// `utm_medium`, inferred as `(gclid)`/`(msclkid)` for untagged paid clicks.
    pub utm_medium: String,
}

/// Classifies a visit from its referrer and the entry page's campaign parameters.
pub fn classify(referrer: Option<&str>, page_host: &str, campaign: &Campaign) -> Origin {
    let mut origin = Origin { utm_medium: campaign.utm_medium.clone(), ..Origin::default() };
    let referred = referrer.and_then(|r| Url::parse(r).ok()).and_then(|url| external_referrer(&url, page_host));
    if let Some((host, path)) = &referred {
        origin.referrer = redact(&format!("{host}{}", path.trim_end_matches('/'))).into_owned();
    }
    origin.source = if !campaign.tagged_source.is_empty() {
        canonical(&campaign.tagged_source)
    } else if let Some((host, path)) = &referred {
        referrer_source(host, path)
    } else {
        String::new()
    };
    if origin.utm_medium.is_empty() {
        match (origin.source.as_str(), campaign.click_id.as_str()) {
            ("Google", "gclid") => origin.utm_medium = "(gclid)".to_owned(),
            ("Bing", "msclkid") => origin.utm_medium = "(msclkid)".to_owned(),
            _ => {}
        }
    }
    origin.channel = channel(
        &origin.source,
        &campaign.tagged_source,
        &origin.utm_medium,
        &campaign.utm_campaign,
        &campaign.click_id,
    )
    .to_owned();
    origin
}

/// The referrer's host (`www.` stripped, `android-app://` kept) and path, when it is one Plausible
/// counts: http, https or an Android app, and not the page's own host or localhost.
fn external_referrer(url: &Url, page_host: &str) -> Option<(String, String)> {
    if !matches!(url.scheme(), "http" | "https" | "android-app") {
        return None;
    }
    let host = url.host_str().map(|h| strip_www(&h.to_ascii_lowercase()).to_owned()).filter(|h| !h.is_empty())?;
    if host == strip_www(page_host) || host == "localhost" {
        return None;
    }
    let host = if url.scheme() == "android-app" { format!("android-app://{host}") } else { host };
    Some((host, url.path().to_owned()))
}

/// The source a referrer names: a custom alias or host, a host family, a domain of the referrer
/// database (the longest host and path that match), or the host itself.
fn referrer_source(host: &str, path: &str) -> String {
    let tables = &*TABLES;
    if let Some(name) = tables.canonical.get(host) {
        return name.clone();
    }
    let in_family = |suffix: &str| host == suffix || host.strip_suffix(suffix).is_some_and(|rest| rest.ends_with('.'));
    if let Some((_, name)) = SUFFIX_FAMILIES.iter().find(|(suffix, _)| in_family(suffix)) {
        return (*name).to_owned();
    }
    let mut candidate = Some(host);
    while let Some(h) = candidate {
        if let Some(entries) = tables.domains.get(h) {
            let found = entries.iter().find(|(prefix, _)| {
                prefix.is_empty()
                    || path == prefix
                    || path.strip_prefix(prefix.as_str()).is_some_and(|rest| rest.starts_with('/'))
            });
            if let Some((_, name)) = found {
                return canonical(name);
            }
        }
        candidate = h.split_once('.').map(|(_, parent)| parent).filter(|p| p.contains('.'));
    }
    host.to_owned()
}

/// A source's canonical name (`fb` → Facebook, `twitter` → X (Twitter)), or the name as given
/// when nothing is known about it.
pub fn canonical(name: &str) -> String {
    let name = name.trim();
    TABLES.canonical.get(&name.to_lowercase()).cloned().unwrap_or_else(|| name.to_owned())
}

fn category(source: &str) -> Option<Category> {
    TABLES.categories.get(source).copied()
}

/// Plausible's acquisition channel (GA4's default channel grouping as Plausible applies it), from
/// the visit's source name, its tagged source as sent, and its campaign parameters; the first rule
/// that holds wins.
pub fn channel(source: &str, tagged_source: &str, medium: &str, campaign: &str, click_id: &str) -> &'static str {
    let source = source.to_lowercase();
    let tagged = tagged_source.to_lowercase();
    let medium = medium.to_lowercase();
    let campaign = campaign.to_lowercase();
    let cat = category(&source);
    let is = |c: Category| cat == Some(c);
    let paid_medium = medium.contains("cp") || medium == "ppc" || medium == "retargeting" || medium.starts_with("paid");
    let paid_source = TABLES.paid.contains(&tagged);
    let paid = paid_medium || paid_source;
    let shopping_campaign = campaign.contains("shopping") || shop_word(&campaign);

    if campaign.contains("cross-network") {
        return "Cross-network";
    }
    // Display before the paid channels, as the stored channel column has it (Plausible's
    // ClickHouse function, which its reports read; its ingest-side copy puts it later).
    if ["display", "banner", "expandable", "interstitial", "cpm"].contains(&medium.as_str()) {
        return "Display";
    }
    if (is(Category::Shopping) || shopping_campaign) && paid_medium {
        return "Paid Shopping";
    }
    if (is(Category::Search) && paid)
        || (source == "google" && click_id == "gclid")
        || (source == "bing" && click_id == "msclkid")
    {
        return "Paid Search";
    }
    if is(Category::Social) && paid {
        return "Paid Social";
    }
    if is(Category::Video) && paid {
        return "Paid Video";
    }
    if paid_medium {
        return "Paid Other";
    }
    if is(Category::Shopping) || shopping_campaign {
        return "Organic Shopping";
    }
    if is(Category::Social)
        || ["social", "social-network", "social-media", "sm", "social network", "social media"]
            .contains(&medium.as_str())
    {
        return "Organic Social";
    }
    if is(Category::Video) || medium.contains("video") {
        return "Organic Video";
    }
    if is(Category::AiAssistants) {
        return "AI Assistants";
    }
    if is(Category::Search) {
        return "Organic Search";
    }
    let email_like = |s: &str| ["email", "e-mail", "e_mail", "e mail", "newsletter"].iter().any(|w| s.contains(w));
    if is(Category::Email) || email_like(&tagged) || email_like(&medium) {
        return "Email";
    }
    if medium == "affiliate" {
        return "Affiliates";
    }
    if medium == "audio" {
        return "Audio";
    }
    if tagged == "sms" || medium == "sms" {
        return "SMS";
    }
    if medium.ends_with("push") || medium.contains("mobile") || medium.contains("notification") || source == "firebase"
    {
        return "Mobile Push Notifications";
    }
    if ["referral", "app", "link"].contains(&medium.as_str()) || !source.is_empty() {
        return "Referral";
    }
    "Direct"
}

/// Whether a campaign names a shop: "shop" at its start or after a character other than the
/// letters a–d and f–z (so "e-shop" and "summer_shop" do, "workshop" does not).
fn shop_word(campaign: &str) -> bool {
    campaign
        .match_indices("shop")
        .any(|(i, _)| campaign[..i].chars().next_back().is_none_or(|c| !(c.is_ascii_lowercase() && c != 'e')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(referrer: Option<&str>, page_url: &str) -> Origin {
        let page = super::super::page::normalise(&Url::parse(page_url).unwrap(), false);
        classify(referrer, &page.hostname, &page.campaign)
    }

    #[test]
    fn known_referrers_get_names_and_channels() {
        let o = origin(Some("https://www.google.co.uk/search?q=x"), "https://shop.test/");
        assert_eq!(
            (o.source.as_str(), o.channel.as_str(), o.referrer.as_str()),
            ("Google", "Organic Search", "google.co.uk/search")
        );
        assert_eq!(origin(Some("https://t.co/abc"), "https://shop.test/").channel, "Organic Social");
        assert_eq!(origin(Some("https://linktr.ee/someone"), "https://shop.test/").source, "Linktree");
        assert_eq!(origin(Some("https://en.wikipedia.org/wiki/X"), "https://shop.test/").source, "Wikipedia");
        assert_eq!(origin(Some("https://en.wikipedia.org/wiki/X"), "https://shop.test/").channel, "Referral");
        assert_eq!(origin(Some("https://chatgpt.com/"), "https://shop.test/").channel, "AI Assistants");
        let unknown = origin(Some("https://blog.example.org/post/"), "https://shop.test/");
        assert_eq!(
            (unknown.source.as_str(), unknown.channel.as_str(), unknown.referrer.as_str()),
            ("blog.example.org", "Referral", "blog.example.org/post")
        );
    }

    #[test]
    fn android_apps_keep_their_scheme() {
        let o = origin(Some("android-app://com.reddit.frontpage"), "https://shop.test/");
        assert_eq!((o.source.as_str(), o.referrer.as_str()), ("Reddit", "android-app://com.reddit.frontpage"));
        let other = origin(Some("android-app://some.android.app"), "https://shop.test/");
        assert_eq!(other.source, "android-app://some.android.app");
    }

    #[test]
    fn direct_and_internal() {
        let o = origin(None, "https://shop.test/");
        assert_eq!((o.source.as_str(), o.channel.as_str()), ("", "Direct"));
        let internal = origin(Some("https://www.shop.test/cart"), "https://shop.test/");
        assert_eq!((internal.source.as_str(), internal.referrer.as_str()), ("", ""));
    }

    #[test]
    fn tagged_sources_win_and_are_canonical_or_kept_as_sent() {
        let o = origin(Some("https://bing.com/"), "https://shop.test/?utm_source=GOOGLE&utm_medium=cpc");
        assert_eq!((o.source.as_str(), o.channel.as_str()), ("Google", "Paid Search"));
        assert_eq!(origin(None, "https://shop.test/?ref=ig").source, "Instagram");
        let news = origin(None, "https://shop.test/?utm_source=newsletter&utm_medium=email");
        assert_eq!((news.source.as_str(), news.channel.as_str()), ("newsletter", "Email"));
        assert_eq!(origin(None, "https://shop.test/?utm_source=partner&utm_medium=affiliate").channel, "Affiliates");
        let ads = origin(None, "https://shop.test/?utm_source=fb-ads");
        assert_eq!((ads.source.as_str(), ads.channel.as_str()), ("Facebook", "Paid Social"));
        let gclid = origin(Some("https://www.google.com/"), "https://shop.test/?gclid=xyz");
        assert_eq!((gclid.utm_medium.as_str(), gclid.channel.as_str()), ("(gclid)", "Paid Search"));
    }

    #[test]
    fn shop_campaigns_but_not_workshops() {
        assert!(shop_word("shop") && shop_word("e-shop") && shop_word("eshop") && shop_word("summer_shop"));
        assert!(!shop_word("workshop") && !shop_word("bookshop"));
        assert_eq!(channel("x", "x", "", "workshop", ""), "Referral");
        assert_eq!(channel("", "x", "cpc", "summer shop", ""), "Paid Shopping");
    }
}
