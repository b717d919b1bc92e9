//! The words of the analytics pages in each language, and how a request's language is chosen:
//! an explicit `?lang=`, else the signed-in user's choice, else the browser's `Accept-Language`.
//!
//! Every phrase is one field of [`Texts`], given in all four languages at once by the `texts!`
//! table below, so a missing translation is a compile error rather than a blank on screen.

use axum::http::{HeaderMap, header};

pub use tillit_core::i18n::Lang;

macro_rules! texts {
    ($($key:ident: $en:literal, $nb:literal, $sv:literal, $da:literal;)*) => {
        /// The phrases of the analytics pages.
        pub struct Texts {
            $(pub $key: &'static str,)*
        }
        static EN: Texts = Texts { $($key: $en,)* };
        static NB: Texts = Texts { $($key: $nb,)* };
        static SV: Texts = Texts { $($key: $sv,)* };
        static DA: Texts = Texts { $($key: $da,)* };
    };
}

texts! {
    sites: "Sites", "Nettsteder", "Webbplatser", "Websteder";
    site: "Site", "Nettsted", "Webbplats", "Websted";
    users: "Users", "Brukere", "Användare", "Brugere";
    audit_log: "Audit log", "Revisjonslogg", "Granskningslogg", "Revisionslog";
    sign_out: "Sign out", "Logg ut", "Logga ut", "Log ud";
    language: "Language", "Språk", "Språk", "Sprog";
    save: "Save", "Lagre", "Spara", "Gem";
    apply: "Apply", "Bruk", "Använd", "Anvend";
    remove: "Remove", "Fjern", "Ta bort", "Fjern";
    add: "Add", "Legg til", "Lägg till", "Tilføj";
    copy: "Copy", "Kopier", "Kopiera", "Kopiér";
    copied: "Copied", "Kopiert", "Kopierat", "Kopieret";
    no_site_yet: "No site yet. Add one here or with the command line:", "Ingen nettsteder ennå. Legg til et her eller på kommandolinjen:", "Inga webbplatser ännu. Lägg till en här eller på kommandoraden:", "Ingen websteder endnu. Tilføj et her eller på kommandolinjen:";
    add_site: "Add a site", "Legg til nettsted", "Lägg till webbplats", "Tilføj websted";
    domain: "Domain", "Domene", "Domän", "Domæne";
    time_zone: "Time zone", "Tidssone", "Tidszon", "Tidszone";
    visitors_in_period: "Visitors", "Besøkende", "Besökare", "Besøgende";
    cookieless: "Cookieless, consent-free analytics.", "Analyse uten informasjonskapsler og uten samtykke.", "Analys utan kakor och utan samtycke.", "Analyse uden cookies og uden samtykke.";
    install_tracker: "Install the tracker", "Installer sporingsskriptet", "Installera spårningsskriptet", "Installer sporingsscriptet";
    install_help: "Add this to the <head> of every page of your site. Plausible snippets work too: change only the host.", "Legg dette i <head> på hver side. Plausible-kode virker også: bytt bare vertsnavnet.", "Lägg detta i <head> på varje sida. Plausible-kod fungerar också: byt bara värdnamnet.", "Tilføj dette i <head> på hver side. Plausible-kode virker også: skift kun værtsnavnet.";
    location_db: "Location", "Posisjon", "Plats", "Placering";
    // Periods
    realtime: "Realtime", "Sanntid", "Realtid", "Realtid";
    today: "Today", "I dag", "Idag", "I dag";
    yesterday: "Yesterday", "I går", "Igår", "I går";
    last_24h: "Last 24 hours", "Siste 24 timer", "Senaste 24 timmarna", "Seneste 24 timer";
    last_7d: "Last 7 days", "Siste 7 dager", "Senaste 7 dagarna", "Seneste 7 dage";
    last_28d: "Last 28 days", "Siste 28 dager", "Senaste 28 dagarna", "Seneste 28 dage";
    last_30d: "Last 30 days", "Siste 30 dager", "Senaste 30 dagarna", "Seneste 30 dage";
    last_91d: "Last 91 days", "Siste 91 dager", "Senaste 91 dagarna", "Seneste 91 dage";
    month_to_date: "Month to date", "Denne måneden", "Denna månad", "Denne måned";
    last_month: "Last month", "Forrige måned", "Förra månaden", "Sidste måned";
    year_to_date: "Year to date", "I år", "I år", "I år";
    last_6mo: "Last 6 months", "Siste 6 måneder", "Senaste 6 månaderna", "Seneste 6 måneder";
    last_12mo: "Last 12 months", "Siste 12 måneder", "Senaste 12 månaderna", "Seneste 12 måneder";
    all_time: "All time", "All tid", "All tid", "Hele perioden";
    custom_range: "Custom range", "Egendefinert periode", "Anpassat intervall", "Brugerdefineret periode";
    from: "From", "Fra", "Från", "Fra";
    to: "To", "Til", "Till", "Til";
    previous_period_link: "Previous period", "Forrige periode", "Föregående period", "Forrige periode";
    next_period_link: "Next period", "Neste periode", "Nästa period", "Næste periode";
    compare: "Compare", "Sammenlign", "Jämför", "Sammenlign";
    compare_off: "No comparison", "Ingen sammenligning", "Ingen jämförelse", "Ingen sammenligning";
    previous_period: "Previous period", "Forrige periode", "Föregående period", "Forrige periode";
    year_over_year: "Year over year", "Samme periode i fjor", "Samma period i fjol", "Samme periode sidste år";
    custom_comparison: "Custom comparison", "Egendefinert sammenligning", "Anpassad jämförelse", "Brugerdefineret sammenligning";
    vs: "vs", "mot", "mot", "mod";
    interval: "Interval", "Intervall", "Intervall", "Interval";
    minute: "Minutes", "Minutter", "Minuter", "Minutter";
    hour: "Hours", "Timer", "Timmar", "Timer";
    day: "Days", "Dager", "Dagar", "Dage";
    week: "Weeks", "Uker", "Veckor", "Uger";
    month: "Months", "Måneder", "Månader", "Måneder";
    // Metrics
    unique_visitors: "Unique visitors", "Unike besøkende", "Unika besökare", "Unikke besøgende";
    visits: "Visits", "Besøk", "Besök", "Besøg";
    pageviews: "Pageviews", "Sidevisninger", "Sidvisningar", "Sidevisninger";
    views_per_visit: "Views per visit", "Visninger per besøk", "Visningar per besök", "Visninger pr. besøg";
    bounce_rate: "Bounce rate", "Fluktfrekvens", "Avvisningsfrekvens", "Afvisningsprocent";
    visit_duration: "Visit duration", "Besøkstid", "Besökstid", "Besøgstid";
    visitors: "Visitors", "Besøkende", "Besökare", "Besøgende";
    events: "Events", "Hendelser", "Händelser", "Hændelser";
    conversion_rate: "Conversion rate", "Konverteringsrate", "Konverteringsgrad", "Konverteringsrate";
    time_on_page: "Time on page", "Tid på siden", "Tid på sidan", "Tid på siden";
    scroll_depth: "Scroll depth", "Rulledybde", "Scrolldjup", "Scrolldybde";
    percentage: "Share", "Andel", "Andel", "Andel";
    current_visitors: "Current visitors", "Besøkende nå", "Besökare just nu", "Besøgende nu";
    last_30_minutes: "Last 30 minutes", "Siste 30 minutter", "Senaste 30 minuterna", "Seneste 30 minutter";
    refreshes: "This page refreshes itself every 30 seconds.", "Siden oppdateres hvert 30. sekund.", "Sidan uppdateras var 30:e sekund.", "Siden opdateres hvert 30. sekund.";
    // Panels and tabs
    top_sources: "Top sources", "Kilder", "Källor", "Kilder";
    channels: "Channels", "Kanaler", "Kanaler", "Kanaler";
    sources: "Sources", "Kilder", "Källor", "Kilder";
    utm_medium: "UTM medium", "UTM-medium", "UTM-medium", "UTM-medium";
    utm_source: "UTM source", "UTM-kilde", "UTM-källa", "UTM-kilde";
    utm_campaign: "UTM campaign", "UTM-kampanje", "UTM-kampanj", "UTM-kampagne";
    utm_content: "UTM content", "UTM-innhold", "UTM-innehåll", "UTM-indhold";
    utm_term: "UTM term", "UTM-term", "UTM-term", "UTM-term";
    pages: "Pages", "Sider", "Sidor", "Sider";
    top_pages: "Top pages", "Mest besøkt", "Mest besökta", "Mest besøgte";
    entry_pages: "Entry pages", "Landingssider", "Ingångssidor", "Indgangssider";
    exit_pages: "Exit pages", "Utgangssider", "Utgångssidor", "Udgangssider";
    locations: "Locations", "Steder", "Platser", "Steder";
    countries: "Countries", "Land", "Länder", "Lande";
    regions: "Regions", "Regioner", "Regioner", "Regioner";
    cities: "Cities", "Byer", "Städer", "Byer";
    devices: "Devices", "Enheter", "Enheter", "Enheder";
    browsers: "Browsers", "Nettlesere", "Webbläsare", "Browsere";
    browser_versions: "Browser versions", "Nettleserversjoner", "Webbläsarversioner", "Browserversioner";
    operating_systems: "Operating systems", "Operativsystemer", "Operativsystem", "Styresystemer";
    os_versions: "OS versions", "OS-versjoner", "OS-versioner", "OS-versioner";
    screen_sizes: "Device types", "Enhetstyper", "Enhetstyper", "Enhedstyper";
    goals: "Goals", "Mål", "Mål", "Mål";
    properties: "Properties", "Egenskaper", "Egenskaper", "Egenskaber";
    funnels: "Funnels", "Trakter", "Trattar", "Tragte";
    details: "Details", "Detaljer", "Detaljer", "Detaljer";
    nothing_yet: "Nothing in this period.", "Ingenting i denne perioden.", "Inget under perioden.", "Intet i denne periode.";
    no_goals: "No goals yet. Add them in the site settings.", "Ingen mål ennå. Legg dem til i innstillingene.", "Inga mål ännu. Lägg till dem i inställningarna.", "Ingen mål endnu. Tilføj dem i indstillingerne.";
    no_funnels: "No funnels yet. Add them in the site settings.", "Ingen trakter ennå. Legg dem til i innstillingene.", "Inga trattar ännu. Lägg till dem i inställningarna.", "Ingen tragte endnu. Tilføj dem i indstillingerne.";
    choose_property: "Choose a property to see its values.", "Velg en egenskap for å se verdiene.", "Välj en egenskap för att se dess värden.", "Vælg en egenskab for at se dens værdier.";
    no_props: "No custom properties in this period.", "Ingen egendefinerte egenskaper i perioden.", "Inga egna egenskaper under perioden.", "Ingen brugerdefinerede egenskaber i perioden.";
    no_geo: "Locations need a city database in MaxMind format (DB-IP City Lite or GeoLite2 City): set geoip_db in tillit.toml or TILLIT_GEOIP_DB to the .mmdb file and restart.", "Steder krever en bydatabase i MaxMind-format (DB-IP City Lite eller GeoLite2 City): sett geoip_db i tillit.toml eller TILLIT_GEOIP_DB til .mmdb-fila og start på nytt.", "Platser kräver en stadsdatabas i MaxMind-format (DB-IP City Lite eller GeoLite2 City): ange geoip_db i tillit.toml eller TILLIT_GEOIP_DB till .mmdb-filen och starta om.", "Steder kræver en bydatabase i MaxMind-format (DB-IP City Lite eller GeoLite2 City): sæt geoip_db i tillit.toml eller TILLIT_GEOIP_DB til .mmdb-filen og genstart.";
    step: "Step", "Steg", "Steg", "Trin";
    conversion: "Conversion", "Konvertering", "Konvertering", "Konvertering";
    dropoff: "Drop-off", "Frafall", "Bortfall", "Frafald";
    // Filters
    filter: "Filter", "Filter", "Filter", "Filter";
    filtered_by: "Filtered by", "Filtrert på", "Filtrerat på", "Filtreret på";
    clear_filters: "Clear filters", "Fjern filtre", "Rensa filter", "Ryd filtre";
    remove_filter: "Remove filter", "Fjern filter", "Ta bort filter", "Fjern filter";
    op_is: "is", "er", "är", "er";
    op_is_not: "is not", "er ikke", "är inte", "er ikke";
    op_contains: "contains", "inneholder", "innehåller", "indeholder";
    op_contains_not: "does not contain", "inneholder ikke", "innehåller inte", "indeholder ikke";
    value: "Value", "Verdi", "Värde", "Værdi";
    dimension: "Dimension", "Dimensjon", "Dimension", "Dimension";
    operator: "Operator", "Operator", "Operator", "Operator";
    wildcard_help: "Use * as a wildcard and | between alternatives.", "Bruk * som jokertegn og | mellom alternativer.", "Använd * som jokertecken och | mellan alternativ.", "Brug * som jokertegn og | mellem alternativer.";
    search: "Search", "Søk", "Sök", "Søg";
    page_n_of: "Page", "Side", "Sida", "Side";
    of: "of", "av", "av", "af";
    previous: "Previous", "Forrige", "Föregående", "Forrige";
    next: "Next", "Neste", "Nästa", "Næste";
    back_to_dashboard: "Back to the dashboard", "Tilbake til oversikten", "Tillbaka till översikten", "Tilbage til oversigten";
    // Actions
    export_csv: "Export CSV", "Eksporter CSV", "Exportera CSV", "Eksportér CSV";
    settings: "Settings", "Innstillinger", "Inställningar", "Indstillinger";
    utm_builder: "Campaign URL builder", "Kampanjelenker", "Kampanjlänkar", "Kampagnelinks";
    keyboard_help: "Keyboard: D today, E yesterday, R realtime, W 7 days, T 30 days, M month, Y year, A all time, ← → move, X compare, I interval, Esc clear filters.", "Tastatur: D i dag, E i går, R sanntid, W 7 dager, T 30 dager, M måned, Y år, A all tid, ← → flytt, X sammenlign, I intervall, Esc fjern filtre.", "Tangentbord: D idag, E igår, R realtid, W 7 dagar, T 30 dagar, M månad, Y år, A all tid, ← → flytta, X jämför, I intervall, Esc rensa filter.", "Tastatur: D i dag, E i går, R realtid, W 7 dage, T 30 dage, M måned, Y år, A hele perioden, ← → flyt, X sammenlign, I interval, Esc ryd filtre.";
    // Empty states
    no_events_yet: "No events yet. Add the snippet below to your site; this page will show visitors as soon as the first pageview arrives.", "Ingen hendelser ennå. Legg kodebiten under inn på nettstedet; besøkende vises her så snart den første sidevisningen kommer.", "Inga händelser ännu. Lägg in kodsnutten nedan på webbplatsen; besökare visas här så snart den första sidvisningen kommer.", "Ingen hændelser endnu. Indsæt kodestumpen nedenfor på webstedet; besøgende vises her, så snart den første sidevisning kommer.";
    // Settings
    general: "General", "Generelt", "Allmänt", "Generelt";
    retention_days: "Keep events for (days)", "Behold hendelser i (dager)", "Spara händelser i (dagar)", "Gem hændelser i (dage)";
    saved: "Saved.", "Lagret.", "Sparat.", "Gemt.";
    goal_event: "Custom event name", "Navn på hendelse", "Händelsenamn", "Hændelsesnavn";
    goal_page: "or page path (wildcards allowed)", "eller sidesti (jokertegn tillatt)", "eller sidsökväg (jokertecken tillåtna)", "eller sidesti (jokertegn tilladt)";
    goal_name: "Display name (optional)", "Visningsnavn (valgfritt)", "Visningsnamn (valfritt)", "Visningsnavn (valgfrit)";
    funnel_name: "Funnel name", "Navn på trakt", "Trattens namn", "Tragtens navn";
    funnel_steps: "Steps: goal names, one per line (2 to 8)", "Steg: målnavn, ett per linje (2 til 8)", "Steg: målnamn, ett per rad (2 till 8)", "Trin: målnavne, ét pr. linje (2 til 8)";
    shared_links: "Shared links", "Delte lenker", "Delade länkar", "Delte links";
    link_name: "Name", "Navn", "Namn", "Navn";
    link_password: "Password (optional)", "Passord (valgfritt)", "Lösenord (valfritt)", "Adgangskode (valgfri)";
    allow_embed: "May be embedded in other sites", "Kan bygges inn i andre nettsteder", "Får bäddas in på andra webbplatser", "Må indlejres på andre websteder";
    revoke: "Revoke", "Trekk tilbake", "Återkalla", "Tilbagekald";
    snippet: "Tracking snippet", "Sporingskode", "Spårningskod", "Sporingskode";
    install_check: "Installation check", "Installasjonssjekk", "Installationskontroll", "Installationstjek";
    installed_since: "Events are arriving. First event:", "Hendelser kommer inn. Første hendelse:", "Händelser kommer in. Första händelsen:", "Hændelser kommer ind. Første hændelse:";
    not_installed: "No event has arrived yet. Add the snippet, open your site in a browser, then check again.", "Ingen hendelser er mottatt ennå. Legg inn koden, åpne nettstedet i en nettleser og sjekk igjen.", "Inga händelser har kommit ännu. Lägg in koden, öppna webbplatsen i en webbläsare och kontrollera igen.", "Ingen hændelser er modtaget endnu. Indsæt koden, åbn webstedet i en browser og tjek igen.";
    check_again: "Check again", "Sjekk igjen", "Kontrollera igen", "Tjek igen";
    // UTM builder
    utm_intro: "Tag the links of a campaign so its visitors show up under its name.", "Merk lenkene i en kampanje slik at besøkende vises under kampanjens navn.", "Märk länkarna i en kampanj så att besökarna visas under kampanjens namn.", "Mærk linkene i en kampagne, så de besøgende vises under kampagnens navn.";
    website_url: "Website URL", "Nettadresse", "Webbadress", "Webadresse";
    campaign_url: "Campaign URL", "Kampanjelenke", "Kampanjlänk", "Kampagnelink";
    generate: "Generate", "Lag lenke", "Skapa länk", "Lav link";
}

impl Texts {
    pub fn of(lang: Lang) -> &'static Texts {
        match lang {
            Lang::En => &EN,
            Lang::Nb => &NB,
            Lang::Sv => &SV,
            Lang::Da => &DA,
        }
    }
}

/// The request's language: `?lang=` first, then the user's saved choice, then the browser's.
pub fn choose(explicit: Option<&str>, saved: Option<&str>, headers: &HeaderMap) -> Lang {
    explicit.and_then(Lang::parse).or_else(|| saved.and_then(Lang::parse)).unwrap_or_else(|| {
        headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map(Lang::negotiate).unwrap_or_default()
    })
}
