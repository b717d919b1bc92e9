//! Where a visit came from: the referrer, its source name, and a GA4-style channel.
//!
//! The referrer list is Tillit's own, hand-curated (the widely used Snowplow list is GPL). Tagged
//! sources (`utm_source`, `source`, `ref`) win over the referrer and are mapped to the same
//! canonical names, so `utm_source=google` and a google.de referrer both read "Google".

use url::Url;

use super::page::{Campaign, strip_www};
use super::redact::redact;

/// Kinds of source used by channel grouping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Search,
    Social,
    Video,
    Email,
    Shopping,
    Ai,
}

use Category::{Ai, Email, Search, Shopping, Social, Video};

/// (name, category, host labels that identify it). A label matches a whole dot-separated part of the
/// host followed by anything (so "google" matches google.com, google.co.uk, news.google.de).
const KNOWN: &[(&str, Category, &[&str])] = &[
    ("Google", Search, &["google"]),
    ("Bing", Search, &["bing.com", "msn.com"]),
    ("DuckDuckGo", Search, &["duckduckgo.com"]),
    ("Yahoo!", Search, &["yahoo", "search.yahoo.com"]),
    ("Yandex", Search, &["yandex", "ya.ru"]),
    ("Baidu", Search, &["baidu.com"]),
    ("Ecosia", Search, &["ecosia.org"]),
    ("Brave", Search, &["search.brave.com"]),
    ("Qwant", Search, &["qwant.com"]),
    ("Startpage", Search, &["startpage.com"]),
    ("Kagi", Search, &["kagi.com"]),
    ("Naver", Search, &["naver.com"]),
    ("Seznam", Search, &["seznam.cz"]),
    ("Sogou", Search, &["sogou.com"]),
    ("Yahoo! Japan", Search, &["yahoo.co.jp"]),
    ("Perplexity", Ai, &["perplexity.ai"]),
    ("ChatGPT", Ai, &["chatgpt.com", "chat.openai.com"]),
    ("Claude", Ai, &["claude.ai"]),
    ("Gemini", Ai, &["gemini.google.com"]),
    ("Copilot", Ai, &["copilot.microsoft.com"]),
    ("Facebook", Social, &["facebook.com", "fb.com", "fb.me", "m.facebook.com", "l.facebook.com", "lm.facebook.com"]),
    ("Instagram", Social, &["instagram.com", "l.instagram.com"]),
    ("Twitter", Social, &["twitter.com", "t.co", "x.com"]),
    ("LinkedIn", Social, &["linkedin.com", "lnkd.in"]),
    ("Reddit", Social, &["reddit.com", "old.reddit.com", "out.reddit.com"]),
    ("Pinterest", Social, &["pinterest", "pin.it"]),
    ("Hacker News", Social, &["news.ycombinator.com"]),
    ("GitHub", Social, &["github.com"]),
    ("Mastodon", Social, &["mastodon.social", "mastodon.online"]),
    ("Bluesky", Social, &["bsky.app"]),
    ("Threads", Social, &["threads.net", "threads.com"]),
    ("Telegram", Social, &["t.me", "web.telegram.org"]),
    ("Discord", Social, &["discord.com", "discord.gg", "discordapp.com"]),
    ("Slack", Social, &["slack.com", "app.slack.com"]),
    ("WhatsApp", Social, &["whatsapp.com", "wa.me", "web.whatsapp.com"]),
    ("VKontakte", Social, &["vk.com"]),
    ("Product Hunt", Social, &["producthunt.com"]),
    ("Microsoft Teams", Social, &["teams.microsoft.com"]),
    ("Stack Overflow", Social, &["stackoverflow.com"]),
    ("Quora", Social, &["quora.com"]),
    ("Tumblr", Social, &["tumblr.com"]),
    ("Wikipedia", Social, &["wikipedia.org"]),
    ("TikTok", Video, &["tiktok.com"]),
    ("YouTube", Video, &["youtube.com", "youtu.be", "m.youtube.com"]),
    ("Vimeo", Video, &["vimeo.com"]),
    ("Twitch", Video, &["twitch.tv"]),
    ("Gmail", Email, &["mail.google.com"]),
    ("Outlook.com", Email, &["outlook.live.com", "outlook.office.com", "outlook.office365.com"]),
    ("Yahoo! Mail", Email, &["mail.yahoo.com"]),
    ("Proton Mail", Email, &["mail.proton.me"]),
    ("Amazon", Shopping, &["amazon"]),
    ("eBay", Shopping, &["ebay"]),
    ("Etsy", Shopping, &["etsy.com"]),
    ("Temu", Shopping, &["temu.com"]),
    ("Shopify", Shopping, &["shopify.com"]),
];

/// Lowercased tagged-source aliases → canonical names.
const ALIASES: &[(&str, &str)] = &[
    ("ig", "Instagram"),
    ("fb", "Facebook"),
    ("adwords", "Google"),
    ("google ads", "Google"),
    ("gads", "Google"),
    ("tw", "Twitter"),
    ("x", "Twitter"),
    ("li", "LinkedIn"),
    ("yt", "YouTube"),
    ("hn", "Hacker News"),
    ("hackernews", "Hacker News"),
    ("newsletter", "Newsletter"),
];

/// What a visit's origin resolves to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// Referrer host (without `www.`) and path, trailing `/` trimmed; empty for direct visits.
    pub referrer: String,
    /// Source name: canonical name, tagged source or referrer host; empty means Direct / None.
    pub source: String,
    pub channel: String,
    /// `utm_medium`, inferred as `(gclid)`/`(msclkid)` for untagged paid clicks.
    pub utm_medium: String,
}

/// Classifies a visit from its referrer and the entry page's campaign parameters.
pub fn classify(referrer: Option<&str>, page_host: &str, campaign: &Campaign) -> Origin {
    let parsed =
        referrer.and_then(|r| Url::parse(r).ok()).filter(|u| matches!(u.scheme(), "http" | "https" | "android-app"));
    let mut origin = Origin { utm_medium: campaign.utm_medium.clone(), ..Origin::default() };
    let mut referrer_host = String::new();
    if let Some(url) = parsed {
        let host = url.host_str().map(|h| strip_www(&h.to_ascii_lowercase()).to_owned()).unwrap_or_default();
        let internal = host.is_empty() || host == page_host || host == "localhost" || host.starts_with("127.");
        if !internal {
            let path = url.path().trim_end_matches('/');
            origin.referrer = redact(&format!("{host}{path}")).into_owned();
            referrer_host = host;
        }
    }
    let category;
    if !campaign.tagged_source.is_empty() {
        let (name, cat) = canonical_tagged(&campaign.tagged_source);
        origin.source = name;
        category = cat;
    } else if !referrer_host.is_empty() {
        match lookup_host(&referrer_host) {
            Some((name, cat)) => {
                origin.source = name.to_owned();
                category = Some(cat);
            }
            None => {
                origin.source = referrer_host.clone();
                category = None;
            }
        }
    } else {
        category = None;
    }
    if origin.utm_medium.is_empty() {
        match (origin.source.as_str(), campaign.click_id.as_str()) {
            ("Google", "gclid") => origin.utm_medium = "(gclid)".to_owned(),
            ("Bing", "msclkid") => origin.utm_medium = "(msclkid)".to_owned(),
            _ => {}
        }
    }
    origin.channel =
        channel(&origin.source, category, &origin.utm_medium, &campaign.utm_campaign, &campaign.click_id).to_owned();
    origin
}

/// Finds a known source by referrer host.
pub fn lookup_host(host: &str) -> Option<(&'static str, Category)> {
    let host = host.strip_prefix("m.").unwrap_or(host);
    // Most specific first: a pattern with more dots wins (gemini.google.com before google).
    let mut best: Option<(&'static str, Category, usize)> = None;
    for (name, cat, patterns) in KNOWN {
        for pattern in *patterns {
            if host_matches(host, pattern) {
                let specificity = pattern.len();
                if best.is_none_or(|(_, _, s)| specificity > s) {
                    best = Some((*name, *cat, specificity));
                }
            }
        }
    }
    best.map(|(name, cat, _)| (name, cat))
}

fn host_matches(host: &str, pattern: &str) -> bool {
    if pattern.contains('.') {
        // A full domain: the host is it or a subdomain of it.
        // Compared in place: this runs for every pattern on every new visit with a referrer.
        host.strip_suffix(pattern).is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
    } else {
        // A brand label: matches `label.<tld…>` anywhere in the host (google.co.uk, news.google.de).
        host.split('.').enumerate().any(|(i, label)| label == pattern && i + 1 < host.split('.').count())
    }
}

fn canonical_tagged(tagged: &str) -> (String, Option<Category>) {
    let lower = tagged.trim().to_lowercase();
    if let Some((_, name)) = ALIASES.iter().find(|(alias, _)| *alias == lower) {
        return ((*name).to_owned(), category_of(name));
    }
    if let Some((name, cat, _)) = KNOWN.iter().find(|(name, _, _)| name.eq_ignore_ascii_case(&lower)) {
        return ((*name).to_owned(), Some(*cat));
    }
    // A domain given as the source ("google.com", "news.ycombinator.com").
    if lower.contains('.')
        && let Some((name, cat)) = lookup_host(strip_www(&lower))
    {
        return (name.to_owned(), Some(cat));
    }
    (tagged.trim().to_owned(), None)
}

fn category_of(name: &str) -> Option<Category> {
    KNOWN.iter().find(|(n, _, _)| *n == name).map(|(_, c, _)| *c)
}

/// The channel of a visit whose source name and campaign values are already known (imports of
/// events another tool classified): the source's category is looked up by its name.
pub fn channel_of(source: &str, _utm_source: &str, medium: &str, campaign: &str, click_id: &str) -> &'static str {
    let category = KNOWN.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(source)).map(|(_, c, _)| *c);
    channel(source, category, medium, campaign, click_id)
}

/// GA4-style default channel grouping, evaluated first match wins.
pub fn channel(source: &str, category: Option<Category>, medium: &str, campaign: &str, click_id: &str) -> &'static str {
    let medium = medium.to_lowercase();
    let campaign = campaign.to_lowercase();
    let source_lower = source.to_lowercase();
    let paid_medium = medium.contains("cp") || medium == "ppc" || medium == "retargeting" || medium.starts_with("paid");
    let paid_source = source_lower == "adwords" || source_lower.ends_with("ad") || source_lower.ends_with("ads");
    let paid = paid_medium || paid_source;
    let shopping_campaign = campaign.contains("shop");
    let is = |c: Category| category == Some(c);

    if campaign.contains("cross-network") {
        return "Cross-network";
    }
    if ["display", "banner", "expandable", "interstitial", "cpm"].contains(&medium.as_str()) {
        return "Display";
    }
    if (is(Shopping) || shopping_campaign) && paid {
        return "Paid Shopping";
    }
    if (is(Search) && paid)
        || (source == "Google" && click_id == "gclid")
        || (source == "Bing" && click_id == "msclkid")
    {
        return "Paid Search";
    }
    if is(Social) && paid {
        return "Paid Social";
    }
    if is(Video) && paid {
        return "Paid Video";
    }
    if paid {
        return "Paid Other";
    }
    if is(Shopping) || shopping_campaign {
        return "Organic Shopping";
    }
    if is(Social)
        || ["social", "social-network", "social-media", "sm", "social network", "social media"]
            .contains(&medium.as_str())
    {
        return "Organic Social";
    }
    if is(Video) || medium.contains("video") {
        return "Organic Video";
    }
    if is(Ai) {
        return "AI Assistants";
    }
    if is(Search) || medium == "organic" {
        return "Organic Search";
    }
    let email_like = |s: &str| {
        s.contains("email")
            || s.contains("e-mail")
            || s.contains("e_mail")
            || s.contains("e mail")
            || s.contains("newsletter")
    };
    if is(Email) || email_like(&source_lower) || email_like(&medium) {
        return "Email";
    }
    if medium == "affiliate" {
        return "Affiliates";
    }
    if medium == "audio" {
        return "Audio";
    }
    if source_lower == "sms" || medium == "sms" {
        return "SMS";
    }
    if medium.ends_with("push")
        || medium.contains("mobile")
        || medium.contains("notification")
        || source_lower == "firebase"
    {
        return "Mobile Push Notifications";
    }
    if ["referral", "app", "link"].contains(&medium.as_str()) || !source.is_empty() {
        return "Referral";
    }
    "Direct"
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
        assert_eq!(origin(Some("https://mail.google.com/"), "https://shop.test/").source, "Gmail");
        assert_eq!(origin(Some("https://mail.google.com/"), "https://shop.test/").channel, "Email");
        assert_eq!(origin(Some("https://chatgpt.com/"), "https://shop.test/").channel, "AI Assistants");
        let unknown = origin(Some("https://blog.example.org/post/"), "https://shop.test/");
        assert_eq!(
            (unknown.source.as_str(), unknown.channel.as_str(), unknown.referrer.as_str()),
            ("blog.example.org", "Referral", "blog.example.org/post")
        );
    }

    #[test]
    fn full_domain_patterns_match_the_domain_and_its_subdomains_only() {
        assert_eq!(lookup_host("news.ycombinator.com").map(|(n, _)| n), Some("Hacker News"));
        assert_eq!(lookup_host("beta.news.ycombinator.com").map(|(n, _)| n), Some("Hacker News"));
        assert_eq!(lookup_host("fakenews.ycombinator.com").map(|(n, _)| n), None);
        assert_eq!(lookup_host("ycombinator.com").map(|(n, _)| n), None);
    }

    #[test]
    fn direct_and_internal() {
        let o = origin(None, "https://shop.test/");
        assert_eq!((o.source.as_str(), o.channel.as_str()), ("", "Direct"));
        let internal = origin(Some("https://www.shop.test/cart"), "https://shop.test/");
        assert_eq!((internal.source.as_str(), internal.referrer.as_str()), ("", ""));
    }

    #[test]
    fn tagged_sources_win_and_are_canonical() {
        let o = origin(Some("https://bing.com/"), "https://shop.test/?utm_source=GOOGLE&utm_medium=cpc");
        assert_eq!((o.source.as_str(), o.channel.as_str()), ("Google", "Paid Search"));
        assert_eq!(origin(None, "https://shop.test/?ref=ig").source, "Instagram");
        assert_eq!(origin(None, "https://shop.test/?utm_source=newsletter&utm_medium=email").channel, "Email");
        assert_eq!(origin(None, "https://shop.test/?utm_source=partner&utm_medium=affiliate").channel, "Affiliates");
        let gclid = origin(Some("https://www.google.com/"), "https://shop.test/?gclid=xyz");
        assert_eq!((gclid.utm_medium.as_str(), gclid.channel.as_str()), ("(gclid)", "Paid Search"));
    }
}
