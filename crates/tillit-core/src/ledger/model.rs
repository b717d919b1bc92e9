//! The ledger's vocabulary — legal bases, channels, consent states and methods, collection-point
//! kinds — and the validation of what marketers register: purposes, collection points, fields.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use tillit_store::app::ledger::{ContactFieldRow, NewPurpose, PurposeText};

use crate::i18n::Lang;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<$name, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        concat!("unknown ", $what, " {:?} (one of: {})"),
                        s,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

vocabulary!(
    /// Art. 6(1)(a)–(f).
    LegalBasis, "legal basis" {
        Consent = "consent",
        Contract = "contract",
        LegalObligation = "legal-obligation",
        VitalInterests = "vital-interests",
        PublicTask = "public-task",
        LegitimateInterests = "legitimate-interests",
    }
);

vocabulary!(
    /// How a purpose reaches people.
    Channel, "channel" { Email = "email", Sms = "sms", Phone = "phone", Post = "post" }
);

vocabulary!(
    /// A consent event's state (DPV consent status).
    ConsentState, "state" {
        Given = "given",
        Refused = "refused",
        Withdrawn = "withdrawn",
        Expired = "expired",
        Renewed = "renewed",
    }
);

vocabulary!(
    /// How a consent event came about.
    Method, "method" {
        Checkbox = "checkbox",
        DoubleOptIn = "double-opt-in",
        PreferenceCentre = "preference-centre",
        UnsubscribeLink = "unsubscribe-link",
        ListUnsubscribePost = "list-unsubscribe-post",
        GlobalPrivacyControl = "global-privacy-control",
        AdminWithEvidence = "admin-with-evidence",
        ImportWithEvidence = "import-with-evidence",
        Expiry = "expiry",
        Erasure = "erasure",
    }
);

vocabulary!(
    /// Where consent is collected.
    PointKind, "collection point kind" {
        Form = "form",
        Widget = "widget",
        Api = "api",
        Import = "import",
        PreferenceCentre = "preference-centre",
    }
);

impl LegalBasis {
    /// The article it comes from, for notices and receipts.
    pub fn article(self) -> &'static str {
        match self {
            LegalBasis::Consent => "Art. 6(1)(a) GDPR",
            LegalBasis::Contract => "Art. 6(1)(b) GDPR",
            LegalBasis::LegalObligation => "Art. 6(1)(c) GDPR",
            LegalBasis::VitalInterests => "Art. 6(1)(d) GDPR",
            LegalBasis::PublicTask => "Art. 6(1)(e) GDPR",
            LegalBasis::LegitimateInterests => "Art. 6(1)(f) GDPR",
        }
    }

    /// Accepts the names above and the letters `a`–`f` (optionally as `6(1)(a)`).
    pub fn parse_loose(s: &str) -> Result<LegalBasis, String> {
        let t = s.trim().to_ascii_lowercase();
        let letter = t.strip_prefix("6(1)(").and_then(|r| r.strip_suffix(')')).unwrap_or(&t);
        match letter {
            "a" => Ok(LegalBasis::Consent),
            "b" => Ok(LegalBasis::Contract),
            "c" => Ok(LegalBasis::LegalObligation),
            "d" => Ok(LegalBasis::VitalInterests),
            "e" => Ok(LegalBasis::PublicTask),
            "f" => Ok(LegalBasis::LegitimateInterests),
            other => other.parse(),
        }
    }
}

impl ConsentState {
    /// Whether processing may rely on it.
    pub fn is_valid(self) -> bool {
        matches!(self, ConsentState::Given | ConsentState::Renewed)
    }
}

/// A purpose as a marketer writes it (admin API, CLI, dashboard).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeInput {
    pub key: String,
    pub legal_basis: String,
    #[serde(default = "default_channel")]
    pub channel: String,
    #[serde(default)]
    pub data_categories: Vec<String>,
    /// Days a consent lasts before it must be renewed; none: until withdrawn.
    #[serde(default)]
    pub lifetime_days: Option<u32>,
    #[serde(default)]
    pub special_category: bool,
    /// Per language code: title and description. English is required.
    pub texts: BTreeMap<String, PurposeText>,
}

fn default_channel() -> String {
    "email".into()
}

/// Keys of purposes, collection points and fields: short, lowercase, URL-safe.
pub fn validate_key(what: &str, key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 40
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(format!("{what} key must be 1–40 characters of a–z, 0–9, - and _")) }
}

fn validate_languages<T>(what: &str, texts: &BTreeMap<String, T>) -> Result<(), String> {
    if !texts.contains_key("en") {
        return Err(format!("{what} needs an English (\"en\") text"));
    }
    match texts.keys().find(|code| Lang::parse(code).map(Lang::code) != Some(code.as_str())) {
        Some(code) => Err(format!("unsupported language {code:?} in {what} (en, nb, sv, da)")),
        None => Ok(()),
    }
}

impl PurposeInput {
    pub fn validate(self, site_id: u32) -> Result<NewPurpose, String> {
        validate_key("purpose", &self.key)?;
        let legal_basis = LegalBasis::parse_loose(&self.legal_basis)?;
        let channel: Channel = self.channel.parse()?;
        validate_languages("purpose", &self.texts)?;
        for (code, t) in &self.texts {
            if t.title.trim().is_empty() || t.title.chars().count() > 120 {
                return Err(format!("the {code} title must be 1–120 characters"));
            }
            if t.description.trim().is_empty() || t.description.chars().count() > 2000 {
                return Err(format!("the {code} description must be 1–2000 characters: say what it is for"));
            }
        }
        if self.special_category && legal_basis != LegalBasis::Consent {
            return Err("a special-category purpose needs explicit consent (legal basis consent)".into());
        }
        if self.lifetime_days == Some(0) {
            return Err("lifetime_days must be at least 1 (or left out: until withdrawn)".into());
        }
        for c in &self.data_categories {
            if c.is_empty() || c.len() > 80 {
                return Err("data categories are 1–80 characters each".into());
            }
        }
        Ok(NewPurpose {
            site_id,
            key: self.key,
            legal_basis: legal_basis.as_str().to_owned(),
            channel: channel.as_str().to_owned(),
            data_categories: self.data_categories,
            lifetime_days: self.lifetime_days,
            special_category: self.special_category,
            texts: self.texts,
        })
    }
}

/// A collection point as a marketer writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointInput {
    pub key: String,
    #[serde(default = "default_kind")]
    pub kind: String,
    pub purposes: Vec<String>,
    /// The text above the checkboxes per language code; English is required.
    pub intro: BTreeMap<String, String>,
    /// Whether consent waits for the emailed confirmation (default: yes).
    #[serde(default = "yes")]
    pub double_opt_in: bool,
}

fn default_kind() -> String {
    "form".into()
}

fn yes() -> bool {
    true
}

impl PointInput {
    /// Checks the point; `published` are the site's purposes with a published version and their
    /// legal basis.
    pub fn validate(&self, published: &BTreeMap<String, LegalBasis>) -> Result<PointKind, String> {
        validate_key("collection point", &self.key)?;
        let kind: PointKind = self.kind.parse()?;
        if kind == PointKind::PreferenceCentre {
            return Err("the preference centre is built in; it is not added".into());
        }
        validate_languages("collection point intro", &self.intro)?;
        if self.intro.values().any(|t| t.chars().count() > 2000) {
            return Err("an intro is at most 2000 characters".into());
        }
        if self.purposes.is_empty() {
            return Err("a collection point asks for at least one purpose".into());
        }
        for key in &self.purposes {
            match published.get(key) {
                None => return Err(format!("purpose {key:?} has no published version")),
                Some(basis) if *basis != LegalBasis::Consent => {
                    return Err(format!("purpose {key:?} does not rest on consent, so it is not asked for"));
                }
                Some(_) => {}
            }
        }
        if !self.double_opt_in && matches!(kind, PointKind::Form | PointKind::Widget) {
            return Err("forms and widgets confirm by email (double opt-in); only api and import points may not".into());
        }
        Ok(kind)
    }
}

/// A custom field as a marketer defines it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldInput {
    pub key: String,
    pub data_category: String,
    #[serde(default)]
    pub special_category: bool,
}

impl FieldInput {
    pub fn validate(self) -> Result<ContactFieldRow, String> {
        validate_key("field", &self.key)?;
        if matches!(self.key.as_str(), "email" | "name") {
            return Err("email and name are built-in fields".into());
        }
        if self.data_category.is_empty() || self.data_category.len() > 80 {
            return Err("data_category is 1–80 characters".into());
        }
        Ok(ContactFieldRow {
            key: self.key,
            data_category: self.data_category,
            special_category: self.special_category,
        })
    }
}

pub const BAD_EMAIL: &str = "enter a valid email address";

/// An email address as stored and looked up: trimmed and lowercased, and checked.
pub fn normalise_email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    if email.len() > 254 || email.parse::<lettre::Address>().is_err() {
        return Err(BAD_EMAIL.into());
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purpose() -> PurposeInput {
        serde_json::from_value(serde_json::json!({
            "key": "newsletter", "legal_basis": "a",
            "texts": {"en": {"title": "Newsletter", "description": "Monthly news by email"}}
        }))
        .unwrap()
    }

    #[test]
    fn purposes_are_checked() {
        let p = purpose().validate(1).unwrap();
        assert_eq!((p.legal_basis.as_str(), p.channel.as_str()), ("consent", "email"));
        let mut bad = purpose();
        bad.key = "News Letter".into();
        assert!(bad.validate(1).unwrap_err().contains("key"));
        let mut bad = purpose();
        bad.texts = BTreeMap::from([("nb".into(), bad.texts["en"].clone())]);
        assert!(bad.validate(1).unwrap_err().contains("English"));
        let mut bad = purpose();
        bad.texts.insert("de".into(), bad.texts["en"].clone());
        assert!(bad.validate(1).unwrap_err().contains("unsupported language"));
        let mut bad = purpose();
        bad.special_category = true;
        bad.legal_basis = "f".into();
        assert!(bad.validate(1).unwrap_err().contains("explicit consent"));
        let mut bad = purpose();
        bad.legal_basis = "maybe".into();
        assert!(bad.validate(1).unwrap_err().contains("legal basis"));
        assert_eq!(LegalBasis::parse_loose("6(1)(f)"), Ok(LegalBasis::LegitimateInterests));
    }

    #[test]
    fn points_ask_only_for_published_consent_purposes() {
        let published = BTreeMap::from([
            ("newsletter".to_owned(), LegalBasis::Consent),
            ("invoices".to_owned(), LegalBasis::Contract),
        ]);
        let point = |purposes: &[&str], doi: bool, kind: &str| PointInput {
            key: "footer".into(),
            kind: kind.into(),
            purposes: purposes.iter().map(|s| s.to_string()).collect(),
            intro: BTreeMap::from([("en".into(), "Stay in touch".into())]),
            double_opt_in: doi,
        };
        assert_eq!(point(&["newsletter"], true, "form").validate(&published), Ok(PointKind::Form));
        assert!(point(&["invoices"], true, "form").validate(&published).unwrap_err().contains("consent"));
        assert!(point(&["other"], true, "form").validate(&published).unwrap_err().contains("published"));
        assert!(point(&[], true, "form").validate(&published).is_err());
        assert!(point(&["newsletter"], false, "form").validate(&published).unwrap_err().contains("double opt-in"));
        assert_eq!(point(&["newsletter"], false, "api").validate(&published), Ok(PointKind::Api));
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(normalise_email("  Ada@Example.COM ").unwrap(), "ada@example.com");
        assert!(normalise_email("not an email").is_err());
        assert!(normalise_email("a@").is_err());
    }
}
