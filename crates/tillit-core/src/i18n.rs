//! The languages Tillit speaks (English, Norwegian Bokmål, Swedish, Danish), how one is chosen
//! for a request, and how numbers and dates are written in each (CLDR's conventions: Danish
//! groups thousands with a dot, Norwegian and Swedish with a no-break space; all three write a
//! decimal comma).
//!
//! The words themselves live with what shows them (the web pages, the emails); this module owns
//! only what every surface shares.

use jiff::civil::Date;

/// A supported language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    Nb,
    Sv,
    Da,
}

const NBSP: char = '\u{a0}';

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Nb, Lang::Sv, Lang::Da];

    /// The BCP 47 tag (`lang` attributes, stored preferences, `?lang=`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nb => "nb",
            Lang::Sv => "sv",
            Lang::Da => "da",
        }
    }

    /// The language's own name for itself (language menus).
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Nb => "Norsk bokmål",
            Lang::Sv => "Svenska",
            Lang::Da => "Dansk",
        }
    }

    /// A language tag, loosely: `nb`, `nb-NO`, `no` and `nn` read as Bokmål (the closest we have).
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "nb" | "no" | "nn" => Some(Lang::Nb),
            "sv" => Some(Lang::Sv),
            "da" => Some(Lang::Da),
            _ => None,
        }
    }

    /// The best supported language of an `Accept-Language` header (by q-value, then order),
    /// English when none is supported.
    pub fn negotiate(accept_language: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("");
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    fn separators(self) -> (char, char) {
        match self {
            Lang::En => (',', '.'),
            Lang::Nb | Lang::Sv => (NBSP, ','),
            Lang::Da => ('.', ','),
        }
    }

    /// A whole number with thousands grouped: `12,345` / `12 345` / `12.345`.
    pub fn int(self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let (group, _) = self.separators();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if n < 0 {
            out.push(if self == Lang::En { '-' } else { '\u{2212}' });
        }
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(group);
            }
            out.push(c);
        }
        out
    }

    /// A number with up to `decimals` decimals (trailing zeros dropped): `1.5` / `1,5`.
    pub fn decimal(self, v: f64, decimals: usize) -> String {
        let scale = 10u64.pow(decimals as u32);
        let units = (v.abs() * scale as f64).round() as u64;
        let (whole, frac) = (units / scale, units % scale);
        let mut out = self.int(i64::try_from(whole).unwrap_or(i64::MAX));
        if v < 0.0 && units > 0 {
            out.insert(0, if self == Lang::En { '-' } else { '\u{2212}' });
        }
        if frac > 0 {
            let digits = format!("{frac:0decimals$}");
            out.push(self.separators().1);
            out.push_str(digits.trim_end_matches('0'));
        }
        out
    }

    /// A percentage: `42%` in English, `42 %` in the Nordic languages.
    pub fn percent(self, v: f64) -> String {
        match self {
            Lang::En => format!("{}%", self.decimal(v, 1)),
            _ => format!("{}{NBSP}%", self.decimal(v, 1)),
        }
    }

    /// A short date: `26 Nov 2026` / `26. nov. 2026` / `26 nov. 2026`.
    pub fn date(self, d: Date) -> String {
        format!("{} {}", self.day_month(d), d.year())
    }

    /// Day and month: `26 Nov` / `26. nov.`.
    pub fn day_month(self, d: Date) -> String {
        let m = self.month_short(d.month());
        match self {
            Lang::En => format!("{} {m}", d.day()),
            Lang::Sv => format!("{} {m}", d.day()),
            Lang::Nb | Lang::Da => format!("{}. {m}", d.day()),
        }
    }

    /// Month and year: `November 2026` / `november 2026`.
    pub fn month_year(self, d: Date) -> String {
        format!("{} {}", self.month_long(d.month()), d.year())
    }

    fn month_short(self, m: i8) -> &'static str {
        const EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        const NB: [&str; 12] =
            ["jan.", "feb.", "mar.", "apr.", "mai", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "des."];
        const SV: [&str; 12] =
            ["jan.", "feb.", "mars", "apr.", "maj", "juni", "juli", "aug.", "sep.", "okt.", "nov.", "dec."];
        const DA: [&str; 12] =
            ["jan.", "feb.", "mar.", "apr.", "maj", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "dec."];
        let table = match self {
            Lang::En => EN,
            Lang::Nb => NB,
            Lang::Sv => SV,
            Lang::Da => DA,
        };
        table[usize::try_from(m - 1).unwrap_or(0).min(11)]
    }

    fn month_long(self, m: i8) -> &'static str {
        const EN: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const NB: [&str; 12] = [
            "januar",
            "februar",
            "mars",
            "april",
            "mai",
            "juni",
            "juli",
            "august",
            "september",
            "oktober",
            "november",
            "desember",
        ];
        const SV: [&str; 12] = [
            "januari",
            "februari",
            "mars",
            "april",
            "maj",
            "juni",
            "juli",
            "augusti",
            "september",
            "oktober",
            "november",
            "december",
        ];
        const DA: [&str; 12] = [
            "januar",
            "februar",
            "marts",
            "april",
            "maj",
            "juni",
            "juli",
            "august",
            "september",
            "oktober",
            "november",
            "december",
        ];
        let table = match self {
            Lang::En => EN,
            Lang::Nb => NB,
            Lang::Sv => SV,
            Lang::Da => DA,
        };
        table[usize::try_from(m - 1).unwrap_or(0).min(11)]
    }

    /// A duration in seconds: `45s`, `3m 05s`, `1h 02m`.
    pub fn duration(self, seconds: f64) -> String {
        let s = seconds.max(0.0).round() as i64;
        match s {
            0..60 => format!("{s}s"),
            60..3600 => format!("{}m {:02}s", s / 60, s % 60),
            _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn negotiation_follows_quality_then_order() {
        assert_eq!(Lang::negotiate("sv-SE,sv;q=0.9,en;q=0.8"), Lang::Sv);
        assert_eq!(Lang::negotiate("de-DE, en;q=0.5, da;q=0.7"), Lang::Da);
        assert_eq!(Lang::negotiate("no"), Lang::Nb);
        assert_eq!(Lang::negotiate("fr, de"), Lang::En);
        assert_eq!(Lang::negotiate("nb;q=0, sv;q=0.1"), Lang::Sv);
        assert_eq!(Lang::negotiate(""), Lang::En);
    }

    #[test]
    fn numbers_per_locale() {
        assert_eq!(Lang::En.int(1_234_567), "1,234,567");
        assert_eq!(Lang::Nb.int(1_234_567), "1\u{a0}234\u{a0}567");
        assert_eq!(Lang::Da.int(1_234_567), "1.234.567");
        assert_eq!(Lang::Sv.int(999), "999");
        assert_eq!(Lang::En.int(-1200), "-1,200");
        assert_eq!(Lang::En.decimal(2.5, 2), "2.5");
        assert_eq!(Lang::Sv.decimal(2.456, 2), "2,46");
        assert_eq!(Lang::Da.decimal(1234.0, 1), "1.234");
        assert_eq!(Lang::En.percent(42.0), "42%");
        assert_eq!(Lang::Nb.percent(42.5), "42,5\u{a0}%");
    }

    #[test]
    fn dates_per_locale() {
        let d = date(2026, 11, 26);
        assert_eq!(Lang::En.date(d), "26 Nov 2026");
        assert_eq!(Lang::Nb.date(d), "26. nov. 2026");
        assert_eq!(Lang::Sv.date(d), "26 nov. 2026");
        assert_eq!(Lang::Da.month_year(d), "november 2026");
        assert_eq!(Lang::En.duration(65.0), "1m 05s");
        assert_eq!(Lang::En.duration(7300.0), "2h 01m");
    }
}
