//! User-agent parsing: browser, OS and device type, and bot detection.
//!
//! Parsing uses the uap-core regexes (vendored, Apache-2.0) through the `ua-parser` crate, with a
//! cache in front because user agents repeat heavily. Only the parsed fields leave this module;
//! the raw string is never stored.

use std::sync::Arc;

use quick_cache::sync::Cache;

static REGEXES: &str = include_str!("../../data/uap-regexes.json");
/// The device family uap-core gives crawlers.
const CRAWLER: &str = "Spider";
/// Longer user agents are not parsed (they are almost always junk or attacks).
const MAX_UA_BYTES: usize = 1024;

/// What is kept of a user agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Agent {
    pub browser: String,
    pub browser_version: String,
    pub os: String,
    pub os_version: String,
    /// `Mobile`, `Tablet`, `Desktop`, or empty when unknown.
    pub device: String,
    pub is_bot: bool,
}

/// A cached user-agent parser. Cheap to share across threads.
pub struct UaParser {
    extractor: ua_parser::Extractor<'static>,
    bots: isbot::Bots,
    cache: Cache<String, Arc<Agent>>,
}

/// The vendored regexes failed to load (a build defect, reported at start-up).
#[derive(Debug, thiserror::Error)]
#[error("user-agent regexes failed to load: {0}")]
pub struct UaParserError(String);

impl UaParser {
    pub fn new(cache_entries: usize) -> Result<UaParser, UaParserError> {
        let mut regexes: ua_parser::Regexes<'static> =
            serde_json::from_str(REGEXES).map_err(|e| UaParserError(e.to_string()))?;
        // Of uap-core's 633 device parsers only the leading crawler ones are kept. The rest name
        // handset brands and models, which Tillit does not store, and compiled they held about 14 MB
        // of the server's 39 MB of idle heap. uap-core takes the first parser that matches, so the
        // leading ones give the same answer alone; its catch-all crawler parser near the end does
        // not (alone it would take Amazon's Silk browser for a crawler) and is left to `isbot`.
        // The device type the others hinted at (iPad, iPhone) is read from the user agent itself
        // in `device_type`.
        let crawlers =
            regexes.device_parsers.iter().take_while(|p| p.device_replacement.as_deref() == Some(CRAWLER)).count();
        regexes.device_parsers.truncate(crawlers);
        let extractor = ua_parser::Extractor::try_from(regexes).map_err(|e| UaParserError(e.to_string()))?;
        Ok(UaParser { extractor, bots: isbot::Bots::default(), cache: Cache::new(cache_entries.max(16)) })
    }

    pub fn parse(&self, ua: &str) -> Arc<Agent> {
        let ua = ua.trim();
        if ua.is_empty() || ua.len() > MAX_UA_BYTES {
            return Arc::new(Agent { is_bot: true, ..Agent::default() });
        }
        if let Some(hit) = self.cache.get(ua) {
            return hit;
        }
        let agent = Arc::new(self.parse_uncached(ua));
        self.cache.insert(ua.to_owned(), agent.clone());
        agent
    }

    fn parse_uncached(&self, ua: &str) -> Agent {
        let (browser, os, device_family) = self.extractor.extract(ua);
        let mut agent = Agent::default();
        if let Some(b) = browser {
            agent.browser = normalise_browser(&b.family).to_owned();
            agent.browser_version = version(b.major, b.minor);
        }
        if let Some(o) = os {
            agent.os = normalise_os(&o.os).to_owned();
            agent.os_version = version(o.major.as_deref(), o.minor.as_deref());
        }
        agent.is_bot = device_family.is_some_and(|d| d.device == CRAWLER)
            || agent.browser.contains("Headless")
            || ua.contains("HeadlessChrome")
            || ua.contains("Lighthouse")
            || self.bots.is_bot(ua)
            || !shaped_like_a_browser(ua);
        agent.device = device_type(ua, &agent.os).to_owned();
        if agent.browser == "Other" {
            agent.browser.clear();
        }
        if agent.os == "Other" {
            agent.os.clear();
        }
        agent
    }
}

/// Words that no browser puts in its user agent and automated clients often do.
const AUTOMATION_WORDS: [&str; 40] = [
    "bot",
    "crawl",
    "spider",
    "scrap",
    "fetch",
    "scan",
    "monitor",
    "check",
    "preview",
    "archiv",
    "audit",
    "synthetic",
    "headless",
    "validator",
    "generator",
    "metadata",
    "parser",
    "feed",
    "rss",
    "webhook",
    "sitemap",
    "uptime",
    "capture",
    "screenshot",
    "inspector",
    "playwright",
    "selenium",
    "puppeteer",
    "phantomjs",
    "agent",
    "test",
    "verify",
    "seo",
    "security",
    "compliance",
    "print",
    "pdf",
    "readab",
    "critical",
    "news",
];

/// How a browser's platform comment (`Mozilla/5.0 (…)`) begins.
const PLATFORMS: [&str; 33] = [
    "Windows",
    "Macintosh",
    "X11",
    "Linux",
    "iPhone",
    "iPad",
    "iPod",
    "Android",
    "compatible",
    "Mobile",
    "Tablet",
    "BB10",
    "PlayBook",
    "BlackBerry",
    "Nintendo",
    "PlayStation",
    "Xbox",
    "SMART-TV",
    "SmartTV",
    "Web0S",
    "webOS",
    "Fuchsia",
    "CrKey",
    "KAIOS",
    "KaiOS",
    "Symbian",
    "Series40",
    "Tizen",
    "Ubuntu",
    "CrOS",
    "Unknown",
    "U;",
    "Maemo",
];

/// Whether a user agent has the shape browsers give theirs: `Mozilla/5.0 (platform) engine…`
/// (or the old `Opera/9.80 (…)`) with a platform and an engine comment written as browsers write
/// them, no address, domain or e-mail in it, and none of the words automated clients announce
/// themselves with. Browsers, in-app browsers and webviews all follow it; scripts, monitors, link
/// previewers and libraries mostly do not, whatever their name.
fn shaped_like_a_browser(ua: &str) -> bool {
    let Some(rest) = ua.strip_prefix("Mozilla/").or_else(|| ua.strip_prefix("Opera/")) else { return false };
    let Some(platform_start) = rest.find(" (") else { return false };
    let platform = &rest[platform_start + 2..];
    if !PLATFORMS.iter().any(|p| platform.starts_with(p)) {
        return false;
    }
    // `compatible;` is how bots dress up; the last browser that used it was Internet Explorer.
    if platform.starts_with("compatible;") && !platform.contains("MSIE") && !platform.contains("Trident") {
        return false;
    }
    let has_engine =
        ["AppleWebKit/", "Gecko/", "Gecko)", "Trident/", "Presto/", "MSIE "].iter().any(|e| ua.contains(e));
    // WebKit and Blink browsers all write this comment exactly so; tools add their name inside it.
    if !has_engine || (ua.contains("KHTML") && !ua.contains("(KHTML, like Gecko)")) {
        return false;
    }
    let lower = ua.to_ascii_lowercase();
    if lower.contains("http://") || lower.contains("https://") || has_email(&lower) || has_domain(&lower) {
        return false;
    }
    !AUTOMATION_WORDS.iter().any(|w| lower.contains(w))
}

/// Whether the text names a domain (`example.com`, `rb.gy`): a dotted name ending in letters.
/// Versions (`537.36`, `AP3A.240617.008`) end in digits.
fn has_domain(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')).any(|word| {
        let word = word.trim_matches(['.', '-']);
        match word.rsplit_once('.') {
            Some((head, tld)) => {
                !head.is_empty() && (2..=10).contains(&tld.len()) && tld.bytes().all(|b| b.is_ascii_alphabetic())
            }
            None => false,
        }
    })
}

/// Whether the text holds something like an e-mail address (`x@host.tld`); a version after an `@`,
/// as Ecosia's browser writes its own (`android@150.0.0.0`), is not one.
fn has_email(text: &str) -> bool {
    text.match_indices('@').any(|(i, _)| {
        let after = &text[i + 1..];
        let label_end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).unwrap_or(after.len());
        label_end > 0
            && after[label_end..].strip_prefix('.').is_some_and(|r| r.starts_with(|c: char| c.is_ascii_alphabetic()))
    })
}

fn version(major: Option<&str>, minor: Option<&str>) -> String {
    match (major, minor) {
        (Some(ma), Some(mi)) if !ma.is_empty() => format!("{ma}.{mi}"),
        (Some(ma), _) if !ma.is_empty() => ma.to_owned(),
        _ => String::new(),
    }
}

fn normalise_browser(family: &str) -> &str {
    match family {
        "Mobile Safari" | "Mobile Safari UI/WKWebView" => "Safari",
        "Chrome Mobile" | "Chrome Mobile iOS" | "Chromium" => "Chrome",
        "Firefox Mobile" | "Firefox iOS" => "Firefox",
        "Opera Mobile" | "Opera Mini" | "Opera Mini iOS" => "Opera",
        "Edge Mobile" | "Edge" => "Microsoft Edge",
        "Samsung Internet" => "Samsung Internet",
        "Yandex Browser Lite" => "Yandex Browser",
        "Chrome Mobile WebView" | "Facebook" | "Instagram" => "Mobile App",
        other => other,
    }
}

fn normalise_os(os: &str) -> &str {
    match os {
        "Mac OS X" => "Mac",
        "Chrome OS" => "ChromeOS",
        other => other,
    }
}

fn device_type(ua: &str, os: &str) -> &'static str {
    if ua.contains("iPad") || ua.contains("Tablet") {
        return "Tablet";
    }
    if ua.contains("iPhone") || ua.contains("iPod") {
        return "Mobile";
    }
    if os == "Android" {
        // A model named a tab ("Galaxy Tab", "Surfing TAB B 9.7") is one, whatever else it says.
        let platform = ua.split_once('(').and_then(|(_, rest)| rest.split_once(')')).map_or("", |(p, _)| p);
        if platform.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w.eq_ignore_ascii_case("tab")) {
            return "Tablet";
        }
        return if ua.contains("Mobile") { "Mobile" } else { "Tablet" };
    }
    if ua.contains("Mobi") {
        return "Mobile";
    }
    match os {
        "Windows" | "Mac" | "Linux" | "Ubuntu" | "Fedora" | "ChromeOS" | "FreeBSD" | "Debian" => "Desktop",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents() {
        let p = UaParser::new(100).unwrap();
        let chrome = p.parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36");
        assert_eq!(
            (chrome.browser.as_str(), chrome.browser_version.as_str(), chrome.os.as_str(), chrome.device.as_str()),
            ("Chrome", "142.0", "Windows", "Desktop")
        );
        assert!(!chrome.is_bot);
        let iphone = p.parse("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1");
        assert_eq!(
            (iphone.browser.as_str(), iphone.os.as_str(), iphone.os_version.as_str(), iphone.device.as_str()),
            ("Safari", "iOS", "18.1", "Mobile")
        );
        let firefox = p.parse("Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0");
        assert_eq!(
            (firefox.browser.as_str(), firefox.os.as_str(), firefox.device.as_str()),
            ("Firefox", "Linux", "Desktop")
        );
        let tablet = p.parse("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36");
        assert_eq!(tablet.device, "Tablet");
        let ipad = p.parse("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1");
        assert_eq!((ipad.os.as_str(), ipad.device.as_str()), ("iOS", "Tablet"));
        let ipod = p.parse("Mozilla/5.0 (iPod touch; CPU iPhone OS 15_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Safari/604.1");
        assert_eq!(ipod.device, "Mobile");
        let firefox_tablet = p.parse("Mozilla/5.0 (Android 14; Tablet; rv:140.0) Gecko/140.0 Firefox/140.0");
        assert_eq!(firefox_tablet.device, "Tablet");
        let named_tab = p.parse("Mozilla/5.0 (Linux; U; Android 4.2.2; it-it; Surfing TAB B 9.7 3G Build/JDQ39) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30");
        assert_eq!(named_tab.device, "Tablet");
        let android_phone = p.parse("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36");
        assert_eq!(android_phone.device, "Mobile");
    }

    #[test]
    fn crawlers_named_only_by_uap_core_are_bots() {
        let p = UaParser::new(100).unwrap();
        // `isbot` does not know this one; the kept crawler parsers of uap-core do.
        assert!(p.parse("Nokia6230 YahooSeeker/M1A1-R2D2").is_bot);
        // uap-core's catch-all crawler parser (dropped) matches "silk"; Amazon's browser is not a bot.
        let silk = p.parse("Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like Chrome/120.0.6099.230 Safari/537.36");
        assert!(!silk.is_bot);
        assert_eq!(silk.device, "Tablet");
    }

    #[test]
    fn bots_and_headless_browsers() {
        let p = UaParser::new(100).unwrap();
        assert!(p.parse("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)").is_bot);
        assert!(p.parse("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/142.0.0.0 Safari/537.36").is_bot);
        assert!(p.parse("curl/8.5.0").is_bot);
        assert!(p.parse("").is_bot);
        assert!(p.parse(&"a".repeat(5000)).is_bot);
    }

    /// Lists the project did not write (`tests/data/README.md`): a public crawler list, of which
    /// at least 99 % must be dropped, and the most common real browsers, none of which may be.
    #[test]
    fn public_crawler_list_is_dropped_and_browsers_are_kept() {
        let p = UaParser::new(10_000).unwrap();
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let read = |name: &str| std::fs::read_to_string(data.join(name)).unwrap();
        let crawlers = read("crawler-user-agents.txt");
        let crawlers: Vec<&str> = crawlers.lines().filter(|l| !l.trim().is_empty()).collect();
        let missed: Vec<&str> = crawlers.iter().copied().filter(|ua| !p.parse(ua).is_bot).collect();
        let dropped = 1.0 - missed.len() as f64 / crawlers.len() as f64;
        assert!(
            dropped >= 0.99,
            "{:.2} % of {} crawlers dropped; missed:\n{}",
            dropped * 100.0,
            crawlers.len(),
            missed.join("\n")
        );
        let browsers = read("browser-user-agents.txt");
        let browsers: Vec<&str> = browsers.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(browsers.len() >= 900, "the browser list is whole");
        let taken: Vec<&str> = browsers.iter().copied().filter(|ua| p.parse(ua).is_bot).collect();
        assert!(taken.is_empty(), "browsers taken for bots:\n{}", taken.join("\n"));
    }

    #[test]
    fn link_previews_and_headless_browsers_are_bots() {
        let p = UaParser::new(100).unwrap();
        for ua in [
            "WhatsApp/2.23.20.0 A",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "TelegramBot (like TwitterBot)",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Twitterbot/1.0",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/537.36",
        ] {
            assert!(p.parse(ua).is_bot, "{ua}");
        }
    }
}
