//! The dashboard's reports: which dimension each breaks down by, which metrics its details view
//! and CSV file show, and how its values and metrics are written for people.
//!
//! One table ([`REPORTS`]) serves the panels, the details pages and the CSV export, so the three
//! always agree on what a report is.

use serde_json::Value;
use tillit_core::i18n::Lang;

use crate::i18n::Texts;

/// One report.
pub struct ReportDef {
    /// URL key (`sources`, `entry_pages`…).
    pub key: &'static str,
    /// The Stats API dimensions it breaks down by (versions come with their browser or OS).
    pub dimensions: &'static [&'static str],
    pub label: fn(&Texts) -> &'static str,
    /// Metrics of the details view and the CSV file; the first is the panel's.
    pub metrics: &'static [&'static str],
    /// File in the CSV export, and the header names of its metric columns.
    pub csv: (&'static str, &'static [&'static str]),
    /// A second metric the panel shows beside the first.
    pub panel_extra: Option<&'static str>,
}

const VISIT: &[&str] = &["visitors", "visits", "bounce_rate", "visit_duration"];
const SHARE: &[&str] = &["visitors", "percentage", "bounce_rate", "visit_duration"];
const VISIT_CSV: &[&str] = &["visitors", "visits", "bounce_rate", "visit_duration"];
const SHARE_CSV: &[&str] = &["visitors", "percentage", "bounce_rate", "visit_duration"];

pub const REPORTS: [ReportDef; 20] = [
    ReportDef {
        key: "channels",
        dimensions: &["visit:channel"],
        label: |t| t.channels,
        metrics: VISIT,
        csv: ("channels.csv", VISIT_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "sources",
        dimensions: &["visit:source"],
        label: |t| t.sources,
        metrics: VISIT,
        csv: ("sources.csv", VISIT_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "utm_medium",
        dimensions: &["visit:utm_medium"],
        label: |t| t.utm_medium,
        metrics: VISIT,
        csv: ("utm_mediums.csv", VISIT_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "utm_source",
        dimensions: &["visit:utm_source"],
        label: |t| t.utm_source,
        metrics: VISIT,
        csv: ("utm_sources.csv", VISIT_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "utm_campaign",
        dimensions: &["visit:utm_campaign"],
        label: |t| t.utm_campaign,
        metrics: VISIT,
        csv: ("utm_campaigns.csv", VISIT_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "utm_content",
        dimensions: &["visit:utm_content"],
        label: |t| t.utm_content,
        metrics: VISIT,
        csv: ("utm_contents.csv", VISIT_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "utm_term",
        dimensions: &["visit:utm_term"],
        label: |t| t.utm_term,
        metrics: VISIT,
        csv: ("utm_terms.csv", VISIT_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "pages",
        dimensions: &["event:page"],
        label: |t| t.top_pages,
        metrics: &["visitors", "pageviews", "bounce_rate", "time_on_page", "scroll_depth"],
        csv: ("pages.csv", &["visitors", "pageviews", "bounce_rate", "time_on_page", "scroll_depth"]),
        panel_extra: None,
    },
    ReportDef {
        key: "entry_pages",
        dimensions: &["visit:entry_page"],
        label: |t| t.entry_pages,
        metrics: VISIT,
        csv: ("entry_pages.csv", &["unique_entrances", "total_entrances", "bounce_rate", "visit_duration"]),
        panel_extra: None,
    },
    ReportDef {
        key: "exit_pages",
        dimensions: &["visit:exit_page"],
        label: |t| t.exit_pages,
        metrics: &["visitors", "visits"],
        csv: ("exit_pages.csv", &["unique_exits", "total_exits"]),
        panel_extra: None,
    },
    ReportDef {
        key: "countries",
        dimensions: &["visit:country_name"],
        label: |t| t.countries,
        metrics: SHARE,
        csv: ("countries.csv", SHARE_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "regions",
        dimensions: &["visit:region_name"],
        label: |t| t.regions,
        metrics: SHARE,
        csv: ("regions.csv", SHARE_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "cities",
        dimensions: &["visit:city_name"],
        label: |t| t.cities,
        metrics: SHARE,
        csv: ("cities.csv", SHARE_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "browsers",
        dimensions: &["visit:browser"],
        label: |t| t.browsers,
        metrics: SHARE,
        csv: ("browsers.csv", SHARE_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "browser_versions",
        dimensions: &["visit:browser", "visit:browser_version"],
        label: |t| t.browser_versions,
        metrics: SHARE,
        csv: ("browser_versions.csv", SHARE_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "operating_systems",
        dimensions: &["visit:os"],
        label: |t| t.operating_systems,
        metrics: SHARE,
        csv: ("operating_systems.csv", SHARE_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "os_versions",
        dimensions: &["visit:os", "visit:os_version"],
        label: |t| t.os_versions,
        metrics: SHARE,
        csv: ("operating_system_versions.csv", SHARE_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "devices",
        dimensions: &["visit:device"],
        label: |t| t.screen_sizes,
        metrics: SHARE,
        csv: ("devices.csv", SHARE_CSV),
        panel_extra: None,
    },
    ReportDef {
        key: "goals",
        dimensions: &["event:goal"],
        label: |t| t.goals,
        metrics: &["visitors", "events", "conversion_rate"],
        csv: ("conversions.csv", &["unique_conversions", "total_conversions", "conversion_rate"]),
        panel_extra: Some("conversion_rate"),
    },
    ReportDef {
        key: "events",
        dimensions: &["event:name"],
        label: |t| t.events,
        metrics: &["visitors", "events"],
        csv: ("custom_events.csv", &["visitors", "events"]),
        panel_extra: Some("events"),
    },
];

/// A panel: the URL parameter that picks its tab, its title, and its tabs (report keys).
pub type PanelDef = (&'static str, fn(&Texts) -> &'static str, &'static [&'static str]);

/// The dashboard's tabbed panels.
pub const PANELS: [PanelDef; 5] = [
    (
        "sources",
        |t| t.top_sources,
        &["channels", "sources", "utm_medium", "utm_source", "utm_campaign", "utm_content", "utm_term"],
    ),
    ("pages", |t| t.pages, &["pages", "entry_pages", "exit_pages"]),
    ("locations", |t| t.locations, &["countries", "regions", "cities"]),
    ("devices", |t| t.devices, &["browsers", "browser_versions", "operating_systems", "os_versions", "devices"]),
    ("goals", |t| t.goals, &["goals", "events"]),
];

pub fn report(key: &str) -> Option<&'static ReportDef> {
    REPORTS.iter().find(|r| r.key == key)
}

/// A custom-property report over `event:props:<key>`, built on demand.
pub fn prop_dimension(key: &str) -> String {
    format!("event:props:{key}")
}

/// A metric's column heading.
pub fn metric_label(t: &Texts, metric: &str) -> &'static str {
    match metric {
        "visitors" => t.visitors,
        "visits" => t.visits,
        "pageviews" => t.pageviews,
        "views_per_visit" => t.views_per_visit,
        "bounce_rate" => t.bounce_rate,
        "visit_duration" => t.visit_duration,
        "events" => t.events,
        "conversion_rate" => t.conversion_rate,
        "time_on_page" => t.time_on_page,
        "scroll_depth" => t.scroll_depth,
        "percentage" => t.percentage,
        _ => "",
    }
}

/// A metric's value written for people in `lang` (`–` when there is none).
pub fn show(lang: Lang, metric: &str, v: &Value) -> String {
    let Some(x) = v.as_f64() else { return "–".to_owned() };
    match metric {
        "bounce_rate" | "conversion_rate" | "percentage" | "scroll_depth" => lang.percent(x),
        "visit_duration" | "time_on_page" => lang.duration(x),
        "views_per_visit" => lang.decimal(x, 2),
        _ => lang.int(x.round() as i64),
    }
}

/// A dimension value as shown (text as is, numbers such as city ids as written).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
