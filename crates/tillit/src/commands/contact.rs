//! `tillit contact export|erase|import`: a person's data from the command line — everything held
//! about them (Art. 15 and 20), their erasure (Art. 17) with its signed receipt — and contacts
//! from another tool's CSV export (Art. 14). Each is recorded in the audit log.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use tillit_core::ledger::Ledger;
use tillit_core::ledger::import::{ImportOptions, ImportRow, RowOutcome};
use tillit_store::app::{AppStore, Site};

use crate::config::Config;

#[derive(Subcommand)]
pub enum ContactCmd {
    /// Write everything held about a person: a zip with a readable cover (Art. 15(1)(a)–(h)),
    /// JSON and CSV. `--json` prints the JSON instead.
    Export {
        #[arg(long)]
        site: String,
        email: String,
        /// Where to write the zip (default: tillit-access-<site>-<id>.zip here).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the JSON to stdout instead of writing the zip.
        #[arg(long)]
        json: bool,
    },
    /// Erase a person: their fields and key are destroyed, their consents withdrawn, their
    /// address suppressed so it is not added again. Prints the erasure receipt.
    Erase {
        #[arg(long)]
        site: String,
        email: String,
    },
    /// Import contacts from a CSV export (Mailchimp, HubSpot, a CRM, a spreadsheet).
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    file: PathBuf,
    #[arg(long)]
    site: String,
    /// Where the file came from, recorded on every contact (e.g. "mailchimp-2026-11").
    #[arg(long)]
    source: String,
    /// A column for a Tillit name, e.g. `--map email="E-mail address" --map field:city=Town`.
    /// Names: email, name, first_name, last_name, language, consent_time, confirm_time,
    /// consent_method, consent_wording, consent_ip, customer_since, field:<key>. Columns with
    /// the usual names (Mailchimp's and HubSpot's too) are found without a map.
    #[arg(long = "map", value_name = "NAME=COLUMN")]
    maps: Vec<String>,
    /// The purpose the file's consent evidence is for. Without it, no consent is imported.
    #[arg(long)]
    purpose: Option<String>,
    /// A file with the exact wording people were shown, when no column has it.
    #[arg(long)]
    wording_file: Option<PathBuf>,
    /// The consent method, when no column has it: double-opt-in or checkbox.
    #[arg(long)]
    method: Option<String>,
    /// Every row is an existing customer (the soft opt-in; they may be asked for consent once).
    #[arg(long)]
    customers: bool,
    /// Check every row and print the summary; store nothing.
    #[arg(long)]
    dry_run: bool,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

pub async fn run(config: &Config, cmd: ContactCmd) -> anyhow::Result<()> {
    let app = AppStore::open_sqlite(&config.app_db()).await.context("cannot open the application store")?;
    let clock = tillit_core::time::Clock::system();
    let ledger = super::serve::open_ledger(config, &app, &clock, None)?;
    let domain = match &cmd {
        ContactCmd::Export { site, .. } | ContactCmd::Erase { site, .. } => site,
        ContactCmd::Import(args) => &args.site,
    };
    let id = super::site_id(&app, domain).await?;
    let site = app.list_sites().await?.into_iter().find(|s| s.id == id).context("no such site")?;
    let operator = tillit_core::access::Actor::Operator.to_string();
    match cmd {
        ContactCmd::Export { email, out, json, .. } => {
            let view = ledger.lookup(&site, &email).await?.context("no contact with this email on this site")?;
            let contact = app.contact_by_public_id(&view.id).await?.context("no such contact")?;
            super::audit_cli(&app, clock.now(), "contact.export", &format!("contact:{}", view.id), &"cli").await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&ledger.export(&contact).await?)?);
            } else {
                let report = ledger.access_report(&contact).await?;
                let zip = tillit_web::access_bundle(&report).map_err(anyhow::Error::msg)?;
                let out =
                    out.unwrap_or_else(|| PathBuf::from(format!("tillit-access-{}-{}.zip", site.domain, view.id)));
                std::fs::write(&out, zip).with_context(|| format!("cannot write {}", out.display()))?;
                println!("wrote {}", out.display());
            }
        }
        ContactCmd::Erase { email, .. } => {
            let erasure = ledger.erase(&site, &email, &operator).await?;
            let target = format!("contact:{}", erasure.public_id.as_deref().unwrap_or("-"));
            super::audit_cli(&app, clock.now(), "contact.erase", &target, &erasure.receipt_id).await?;
            match &erasure.public_id {
                Some(_) => println!("erased; receipt {}", erasure.receipt_id),
                None => println!("not a contact; the address is suppressed; receipt {}", erasure.receipt_id),
            }
            println!("{}", erasure.jws);
        }
        ContactCmd::Import(args) => import(&app, &ledger, &site, args, clock.now()).await?,
    }
    Ok(())
}

/// Tillit's names for the columns exports commonly have, compared without case or punctuation.
const SYNONYMS: &[(&str, &[&str])] = &[
    ("email", &["email", "emailaddress", "mail", "epost", "epostadresse", "epostadress", "emailadresse"]),
    ("name", &["name", "fullname", "navn", "namn", "contactname"]),
    ("first_name", &["firstname", "fname", "givenname", "fornavn", "fornamn"]),
    ("last_name", &["lastname", "lname", "surname", "familyname", "etternavn", "efternavn", "efternamn"]),
    ("language", &["language", "lang", "locale", "sprak", "sprog"]),
    (
        "consent_time",
        &["consenttime", "consentdate", "consentedat", "optintime", "optindate", "subscribedat", "signupdate"],
    ),
    ("confirm_time", &["confirmtime", "confirmedat", "confirmationtime", "doiconfirmedat"]),
    ("consent_method", &["consentmethod", "optinmethod", "method"]),
    ("consent_wording", &["consenttext", "consentwording", "wording", "optintext", "consentstatement"]),
    ("consent_ip", &["consentip", "optinip", "confirmip", "signupip"]),
    (
        "customer_since",
        &["customersince", "customer", "lastorder", "lastorderdate", "lastpurchase", "lastpurchasedate"],
    ),
];

fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .replace(['ø', 'ö'], "o")
        .replace(['å', 'ä'], "a")
}

/// A field as text: UTF-8 when it is, else Windows-1252 (what spreadsheets on Windows write),
/// so one file may mix both.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// The delimiter of the header line: `;` and tabs are common in European exports.
fn delimiter(data: &[u8]) -> u8 {
    let header = data.split(|b| *b == b'\n').next().unwrap_or_default();
    [b',', b';', b'\t'].into_iter().max_by_key(|d| header.iter().filter(|b| *b == d).count()).unwrap_or(b',')
}

/// Which column feeds each Tillit name.
fn mapping(headers: &[String], maps: &[String]) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut out = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = squash(h);
        if let Some((name, _)) = SYNONYMS.iter().find(|(_, words)| words.contains(&h.as_str())) {
            out.entry((*name).to_owned()).or_insert(i);
        }
    }
    for m in maps {
        let (name, column) = m.split_once('=').with_context(|| format!("--map {m:?}: use NAME=COLUMN"))?;
        let known =
            SYNONYMS.iter().any(|(n, _)| *n == name) || name.strip_prefix("field:").is_some_and(|k| !k.is_empty());
        if !known {
            bail!("--map {m:?}: unknown name {name:?}");
        }
        let i = headers
            .iter()
            .position(|h| h.trim() == column.trim())
            .with_context(|| format!("--map {m:?}: the file has no column {column:?}"))?;
        out.insert(name.to_owned(), i);
    }
    if !out.contains_key("email") {
        bail!("no email column found: name it with --map email=COLUMN");
    }
    Ok(out)
}

async fn import(app: &AppStore, ledger: &Ledger, site: &Site, args: ImportArgs, now: i64) -> anyhow::Result<()> {
    let data = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let wording = match &args.wording_file {
        Some(p) => Some(decode(&std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?)),
        None => None,
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(&data))
        .flexible(true)
        .has_headers(true)
        .from_reader(data.as_slice());
    let headers: Vec<String> =
        reader.byte_headers().context("cannot read the header line")?.iter().map(decode).collect();
    let map = mapping(&headers, &args.maps)?;
    let opts = ImportOptions {
        source: args.source.clone(),
        purpose: args.purpose.clone(),
        wording,
        method: args.method.clone(),
        customers: args.customers,
        dry_run: args.dry_run,
    };
    let mut importer = ledger.importer(site, opts).await?;
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(data.len() as u64) };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut with_consent, mut rows) = (0u64, 0u64);
    let mut needs: BTreeMap<String, u64> = BTreeMap::new();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A broken line (an unclosed quote) is skipped, the rest still read.
                *skipped.entry(format!("unreadable line ({e})")).or_default() += 1;
                continue;
            }
        }
        rows += 1;
        bar.set_position(record.position().map_or(0, |p| p.byte()));
        let get = |name: &str| map.get(name).and_then(|i| record.get(*i)).map(decode).unwrap_or_default();
        let mut name = get("name");
        if name.trim().is_empty() {
            name = format!("{} {}", get("first_name").trim(), get("last_name").trim()).trim().to_owned();
        }
        let confirm = get("confirm_time");
        let row = ImportRow {
            email: get("email"),
            name,
            language: get("language"),
            fields: map
                .keys()
                .filter_map(|n| n.strip_prefix("field:").map(|k| (k.to_owned(), get(n))))
                .filter(|(_, v)| !v.trim().is_empty())
                .collect(),
            // A confirmation time is the better evidence: it is when the double opt-in completed.
            consent_method: if confirm.trim().is_empty() { get("consent_method") } else { "double-opt-in".into() },
            consent_time: if confirm.trim().is_empty() { get("consent_time") } else { confirm },
            consent_wording: get("consent_wording"),
            consent_ip: get("consent_ip"),
            customer_since: get("customer_since"),
        };
        match importer.row(&row).await? {
            RowOutcome::WithConsent => with_consent += 1,
            RowOutcome::NeedsPermission(why) => *needs.entry(why).or_default() += 1,
            RowOutcome::Skipped(why) => *skipped.entry(why).or_default() += 1,
        }
    }
    bar.finish_and_clear();
    let needing: u64 = needs.values().sum();
    let skipped_total: u64 = skipped.values().sum();
    let verb = if args.dry_run { "would import" } else { "imported" };
    println!(
        "{rows} rows: {verb} {} ({with_consent} with consent, {needing} needing permission), skipped {skipped_total}",
        with_consent + needing
    );
    for (why, n) in &needs {
        println!("  needs permission, {why}: {n}");
    }
    for (why, n) in &skipped {
        println!("  skipped, {why}: {n}");
    }
    if !args.dry_run {
        let detail = serde_json::json!({
            "source": args.source, "rows": rows, "with_consent": with_consent,
            "needs_permission": needing, "skipped": skipped_total,
        });
        super::audit_cli(app, now, "contact.import", &format!("site:{}", site.id), &detail).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_encodings_and_delimiters_are_read() {
        assert_eq!(decode(b"\xEF\xBB\xBFemail"), "email");
        assert_eq!(decode("Bjørn".as_bytes()), "Bjørn");
        assert_eq!(decode(b"Bj\xF8rn"), "Bjørn", "Windows-1252");
        assert_eq!(delimiter(b"email;name\na@b.c;x"), b';');
        assert_eq!(delimiter(b"email,name\n"), b',');
    }

    #[test]
    fn usual_column_names_are_found_and_maps_win() {
        let headers: Vec<String> =
            ["Email Address", "First Name", "Last Name", "OPTIN_TIME", "CONFIRM_TIME", "Town"].map(String::from).into();
        let map = mapping(&headers, &["field:city=Town".into()]).unwrap();
        assert_eq!(map["email"], 0);
        assert_eq!((map["first_name"], map["last_name"]), (1, 2));
        assert_eq!((map["consent_time"], map["confirm_time"]), (3, 4));
        assert_eq!(map["field:city"], 5);
        assert!(mapping(&headers, &["colour=Town".into()]).is_err());
        assert!(mapping(&["Name".into()], &[]).is_err(), "an email column is required");
    }
}
