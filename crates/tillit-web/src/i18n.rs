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
    // Sign-in, setup, account
    welcome: "Welcome to Tillit", "Velkommen til Tillit", "Välkommen till Tillit", "Velkommen til Tillit";
    setup_intro: "Create the owner account. The owner manages sites, users and security settings.", "Opprett eierkontoen. Eieren styrer nettsteder, brukere og sikkerhetsinnstillinger.", "Skapa ägarkontot. Ägaren hanterar webbplatser, användare och säkerhetsinställningar.", "Opret ejerkontoen. Ejeren styrer websteder, brugere og sikkerhedsindstillinger.";
    email: "Email", "E-post", "E-post", "E-mail";
    password: "Password", "Passord", "Lösenord", "Adgangskode";
    password_hint: "At least 10 characters. A long passphrase is best.", "Minst 10 tegn. En lang passfrase er best.", "Minst 10 tecken. En lång lösenfras är bäst.", "Mindst 10 tegn. En lang adgangssætning er bedst.";
    create_owner: "Create owner and sign in", "Opprett eier og logg inn", "Skapa ägare och logga in", "Opret ejer og log ind";
    set_up: "Set up", "Sett opp", "Konfigurera", "Konfigurér";
    sign_in: "Sign in", "Logg inn", "Logga in", "Log ind";
    forgot_password: "Forgot your password?", "Glemt passordet?", "Glömt lösenordet?", "Glemt adgangskoden?";
    reset_done: "Your password was changed. Sign in with the new one.", "Passordet er endret. Logg inn med det nye.", "Lösenordet är ändrat. Logga in med det nya.", "Adgangskoden er ændret. Log ind med den nye.";
    signed_out_everywhere: "You were signed out on every device.", "Du er logget ut på alle enheter.", "Du har loggats ut på alla enheter.", "Du er logget ud på alle enheder.";
    two_factor: "Two-factor authentication", "Tofaktorautentisering", "Tvåfaktorsautentisering", "Tofaktorgodkendelse";
    code_prompt: "Code from your authenticator app, or a recovery code", "Kode fra autentiseringsappen, eller en gjenopprettingskode", "Kod från autentiseringsappen, eller en återställningskod", "Kode fra godkendelsesappen eller en gendannelseskode";
    continue_: "Continue", "Fortsett", "Fortsätt", "Fortsæt";
    your_account: "Your account", "Kontoen din", "Ditt konto", "Din konto";
    must_set_up_2fa: "The owners require two-factor authentication. Set it up to continue.", "Eierne krever tofaktorautentisering. Sett det opp for å fortsette.", "Ägarna kräver tvåfaktorsautentisering. Konfigurera den för att fortsätta.", "Ejerne kræver tofaktorgodkendelse. Konfigurér den for at fortsætte.";
    totp_add: "Add this account to your authenticator app, then enter the code it shows.", "Legg kontoen til i autentiseringsappen, og skriv inn koden den viser.", "Lägg till kontot i autentiseringsappen och ange koden den visar.", "Tilføj kontoen i godkendelsesappen, og indtast den kode, den viser.";
    secret: "Secret", "Hemmelighet", "Hemlighet", "Hemmelighed";
    or_open: "Or open", "Eller åpne", "Eller öppna", "Eller åbn";
    code: "Code", "Kode", "Kod", "Kode";
    turn_on: "Turn on", "Slå på", "Slå på", "Slå til";
    turn_off: "Turn off", "Slå av", "Slå av", "Slå fra";
    recovery_intro: "Two-factor authentication is on. Keep these recovery codes somewhere safe; each works once, and they are shown only now.", "Tofaktorautentisering er på. Ta vare på disse gjenopprettingskodene; hver virker én gang, og de vises bare nå.", "Tvåfaktorsautentisering är på. Förvara återställningskoderna säkert; varje kod fungerar en gång och de visas bara nu.", "Tofaktorgodkendelse er slået til. Gem gendannelseskoderne et sikkert sted; hver virker én gang, og de vises kun nu.";
    state_on: "On.", "På.", "På.", "Til.";
    state_off: "Off.", "Av.", "Av.", "Fra.";
    change_password: "Change password", "Endre passord", "Byt lösenord", "Skift adgangskode";
    current_password: "Current password", "Nåværende passord", "Nuvarande lösenord", "Nuværende adgangskode";
    new_password: "New password", "Nytt passord", "Nytt lösenord", "Ny adgangskode";
    sessions: "Sessions", "Økter", "Sessioner", "Sessioner";
    sign_out_everywhere: "Sign out everywhere", "Logg ut overalt", "Logga ut överallt", "Log ud overalt";
    password_changed: "Password changed. Every other session was signed out.", "Passordet er endret. Alle andre økter er logget ut.", "Lösenordet är bytt. Alla andra sessioner har loggats ut.", "Adgangskoden er skiftet. Alle andre sessioner er logget ud.";
    two_factor_required_on: "The owners require two-factor authentication; it cannot be turned off.", "Eierne krever tofaktorautentisering; den kan ikke slås av.", "Ägarna kräver tvåfaktorsautentisering; den kan inte stängas av.", "Ejerne kræver tofaktorgodkendelse; den kan ikke slås fra.";
    two_factor_now_off: "Two-factor authentication is off.", "Tofaktorautentisering er av.", "Tvåfaktorsautentisering är av.", "Tofaktorgodkendelse er slået fra.";
    start_setup_again: "Start the setup again.", "Start oppsettet på nytt.", "Börja om konfigurationen.", "Start konfigurationen forfra.";
    reset_password: "Reset your password", "Tilbakestill passordet", "Återställ lösenordet", "Nulstil adgangskoden";
    send_link: "Send me a link", "Send meg en lenke", "Skicka en länk", "Send mig et link";
    email_not_set_up: "Email is not set up", "E-post er ikke satt opp", "E-post är inte konfigurerad", "E-mail er ikke sat op";
    email_not_set_up_help: "This server cannot send email. Ask an owner for a reset link (tillit user reset-link EMAIL).", "Serveren kan ikke sende e-post. Be en eier om en lenke (tillit user reset-link E-POST).", "Servern kan inte skicka e-post. Be en ägare om en länk (tillit user reset-link E-POST).", "Serveren kan ikke sende e-mail. Bed en ejer om et link (tillit user reset-link E-MAIL).";
    back_to_sign_in: "Back to sign-in", "Tilbake til innlogging", "Tillbaka till inloggningen", "Tilbage til log ind";
    check_email: "Check your email", "Sjekk e-posten din", "Kolla din e-post", "Tjek din e-mail";
    check_email_help: "If an account exists for that address, a link to choose a new password is on its way. It works once, for one hour.", "Finnes det en konto for adressen, er en lenke for å velge nytt passord på vei. Den virker én gang, i én time.", "Om det finns ett konto för adressen är en länk för att välja nytt lösenord på väg. Den fungerar en gång, i en timme.", "Findes der en konto til adressen, er et link til at vælge ny adgangskode på vej. Det virker én gang, i én time.";
    choose_new_password: "Choose a new password", "Velg et nytt passord", "Välj ett nytt lösenord", "Vælg en ny adgangskode";
    join_tillit: "Join Tillit", "Bli med i Tillit", "Gå med i Tillit", "Bliv en del af Tillit";
    create_account: "Create account", "Opprett konto", "Skapa konto", "Opret konto";
    err_credentials: "invalid email or password", "Feil e-post eller passord.", "Fel e-post eller lösenord.", "Forkert e-mail eller adgangskode.";
    err_code: "invalid or expired code", "Ugyldig eller utløpt kode.", "Ogiltig eller utgången kod.", "Ugyldig eller udløbet kode.";
    err_token: "this link is invalid, used or expired", "Lenken er ugyldig, brukt eller utløpt.", "Länken är ogiltig, använd eller har gått ut.", "Linket er ugyldigt, brugt eller udløbet.";
    err_throttled: "Too many attempts; try again in (seconds):", "For mange forsøk; prøv igjen om (sekunder):", "För många försök; försök igen om (sekunder):", "For mange forsøg; prøv igen om (sekunder):";
    err_internal: "Something went wrong on our side; try again.", "Noe gikk galt hos oss; prøv igjen.", "Något gick fel hos oss; försök igen.", "Noget gik galt hos os; prøv igen.";
    // Users and audit log
    roles: "Roles", "Roller", "Roller", "Roller";
    role: "Role", "Rolle", "Roll", "Rolle";
    state: "State", "Status", "Status", "Status";
    active: "active", "aktiv", "aktiv", "aktiv";
    disabled: "disabled", "deaktivert", "inaktiverad", "deaktiveret";
    enable: "Enable", "Aktiver", "Aktivera", "Aktivér";
    disable: "Disable", "Deaktiver", "Inaktivera", "Deaktivér";
    invite_someone: "Invite someone", "Inviter noen", "Bjud in någon", "Invitér nogen";
    every_site: "Every site", "Alle nettsteder", "Alla webbplatser", "Alle websteder";
    send_invitation: "Send invitation", "Send invitasjon", "Skicka inbjudan", "Send invitation";
    invite_link_help: "Email is not configured, so send this invitation link yourself (it works once, for 7 days):", "E-post er ikke satt opp, så send denne invitasjonslenken selv (den virker én gang, i 7 dager):", "E-post är inte konfigurerad, så skicka inbjudningslänken själv (den fungerar en gång, i 7 dagar):", "E-mail er ikke sat op, så send selv dette invitationslink (det virker én gang, i 7 dage):";
    invitation_sent: "Invitation sent to", "Invitasjon sendt til", "Inbjudan skickad till", "Invitation sendt til";
    role_viewer: "Viewer: dashboards only", "Leser: bare oversikter", "Läsare: bara översikter", "Læser: kun oversigter";
    role_analyst: "Analyst: analytics, never personal data", "Analytiker: analyse, aldri personopplysninger", "Analytiker: analys, aldrig personuppgifter", "Analytiker: analyse, aldrig personoplysninger";
    role_marketer: "Marketer: contact ledger and campaigns", "Markedsfører: kontaktregister og kampanjer", "Marknadsförare: kontaktregister och kampanjer", "Marketingansvarlig: kontaktregister og kampagner";
    role_admin: "Admin: everything on the site, and sites", "Administrator: alt på nettstedet, og nettsteder", "Administratör: allt på webbplatsen, och webbplatser", "Administrator: alt på webstedet, og websteder";
    role_owner: "Owner: everything, users and audit log", "Eier: alt, brukere og revisjonslogg", "Ägare: allt, användare och granskningslogg", "Ejer: alt, brugere og revisionslog";
    security: "Security", "Sikkerhet", "Säkerhet", "Sikkerhed";
    two_factor_is_required: "Two-factor authentication is required for everyone.", "Tofaktorautentisering er påkrevd for alle.", "Tvåfaktorsautentisering krävs för alla.", "Tofaktorgodkendelse er påkrævet for alle.";
    two_factor_is_optional: "Two-factor authentication is optional.", "Tofaktorautentisering er valgfri.", "Tvåfaktorsautentisering är valfri.", "Tofaktorgodkendelse er valgfri.";
    make_optional: "Make it optional", "Gjør den valgfri", "Gör den valfri", "Gør den valgfri";
    require_for_everyone: "Require it for everyone", "Krev den for alle", "Kräv den för alla", "Kræv den for alle";
    audit_intro: "Newest first. Every row is chained to the one before by its hash; tillit audit verify checks the whole chain.", "Nyeste først. Hver rad er lenket til den forrige med sin hash; tillit audit verify sjekker hele kjeden.", "Nyast först. Varje rad är länkad till den föregående med sin hash; tillit audit verify kontrollerar hela kedjan.", "Nyeste først. Hver række er kædet til den forrige med sin hash; tillit audit verify kontrollerer hele kæden.";
    export_json_lines: "Export (JSON lines)", "Eksporter (JSON-linjer)", "Exportera (JSON-rader)", "Eksportér (JSON-linjer)";
    when_utc: "When (UTC)", "Når (UTC)", "När (UTC)", "Hvornår (UTC)";
    who: "Who", "Hvem", "Vem", "Hvem";
    what: "What", "Hva", "Vad", "Hvad";
    on_target: "On", "På", "På", "På";
    // Shared links
    shared_dashboard: "Shared dashboard", "Delt oversikt", "Delad översikt", "Delt oversigt";
    password_protected: "This dashboard is password protected", "Denne oversikten er passordbeskyttet", "Översikten är lösenordsskyddad", "Oversigten er beskyttet med adgangskode";
    view_dashboard: "View dashboard", "Vis oversikten", "Visa översikten", "Vis oversigten";
    wrong_password: "Wrong password.", "Feil passord.", "Fel lösenord.", "Forkert adgangskode.";
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
    no_geo: "Countries come from the built-in database. Regions and cities need a city database in MaxMind format (DB-IP City Lite or GeoLite2 City): set geoip_db in tillit.toml or TILLIT_GEOIP_DB to the .mmdb file and restart.", "Land kommer fra den innebygde databasen. Regioner og byer krever en bydatabase i MaxMind-format (DB-IP City Lite eller GeoLite2 City): sett geoip_db i tillit.toml eller TILLIT_GEOIP_DB til .mmdb-fila og start på nytt.", "Länder kommer från den inbyggda databasen. Regioner och städer kräver en stadsdatabas i MaxMind-format (DB-IP City Lite eller GeoLite2 City): ange geoip_db i tillit.toml eller TILLIT_GEOIP_DB till .mmdb-filen och starta om.", "Lande kommer fra den indbyggede database. Regioner og byer kræver en bydatabase i MaxMind-format (DB-IP City Lite eller GeoLite2 City): sæt geoip_db i tillit.toml eller TILLIT_GEOIP_DB til .mmdb-filen og genstart.";
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
    goal_scroll: "Scroll depth in % (optional: counts when someone scrolls at least this far down that page)", "Rulledybde i % (valgfritt: teller når noen ruller minst så langt ned på siden)", "Skrolldjup i % (valfritt: räknas när någon skrollar minst så långt ned på sidan)", "Rulledybde i % (valgfrit: tæller, når nogen ruller mindst så langt ned ad siden)";
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
    // Consent: signup form, confirmation, preference centre, unsubscribe (public pages)
    subscribe: "Subscribe", "Abonner", "Prenumerera", "Abonnér";
    your_name: "Name (optional)", "Navn (valgfritt)", "Namn (valfritt)", "Navn (valgfrit)";
    leave_empty: "Leave this empty", "La dette stå tomt", "Lämna tomt", "Lad dette være tomt";
    check_email_text: "We sent you a link. Nothing is signed up until you open it and confirm.", "Vi har sendt deg en lenke. Ingenting er bestilt før du åpner den og bekrefter.", "Vi har skickat en länk. Inget är beställt förrän du öppnar den och bekräftar.", "Vi har sendt dig et link. Intet er tilmeldt, før du åbner det og bekræfter.";
    recorded: "Thank you: your choice is recorded.", "Takk: valget ditt er registrert.", "Tack: ditt val är registrerat.", "Tak: dit valg er registreret.";
    confirm_heading: "Confirm your subscription", "Bekreft abonnementet", "Bekräfta prenumerationen", "Bekræft dit abonnement";
    confirm_intro: "You asked to receive:", "Du har bedt om å få:", "Du har bett att få:", "Du har bedt om at få:";
    confirm_button: "Yes, I confirm", "Ja, jeg bekrefter", "Ja, jag bekräftar", "Ja, jeg bekræfter";
    confirmed: "Confirmed. A receipt is on its way to your inbox.", "Bekreftet. En kvittering er på vei til innboksen din.", "Bekräftat. Ett kvitto är på väg till din inkorg.", "Bekræftet. En kvittering er på vej til din indbakke.";
    link_invalid: "This link is invalid, used or expired.", "Denne lenken er ugyldig, brukt eller utløpt.", "Länken är ogiltig, använd eller har gått ut.", "Dette link er ugyldigt, brugt eller udløbet.";
    preferences: "Your preferences", "Innstillingene dine", "Dina inställningar", "Dine indstillinger";
    preferences_request: "Enter your email and we will send you a link to your preferences.", "Skriv inn e-postadressen din, så sender vi en lenke til innstillingene dine.", "Ange din e-postadress så skickar vi en länk till dina inställningar.", "Skriv din e-mailadresse, så sender vi et link til dine indstillinger.";
    link_sent: "If this address is on the list, a link is on its way.", "Hvis adressen står på listen, er en lenke på vei.", "Om adressen finns på listan är en länk på väg.", "Hvis adressen er på listen, er et link på vej.";
    state_given: "Yes", "Ja", "Ja", "Ja";
    state_none: "No", "Nei", "Nej", "Nej";
    give: "Sign up", "Meld på", "Anmäl", "Tilmeld";
    withdraw: "Withdraw", "Trekk tilbake", "Återkalla", "Træk tilbage";
    since: "since", "siden", "sedan", "siden";
    expires: "expires", "utløper", "upphör", "udløber";
    object_heading: "Stop all marketing", "Stopp all markedsføring", "Stoppa all marknadsföring", "Stop al markedsføring";
    object_text: "Withdraws every consent and objects to direct marketing (GDPR Art. 21). Only you can undo this, by signing up again.", "Trekker tilbake alle samtykker og protesterer mot direkte markedsføring (GDPR art. 21). Bare du kan angre, ved å melde deg på igjen.", "Återkallar alla samtycken och invänder mot direktmarknadsföring (GDPR art. 21). Bara du kan ångra det, genom att anmäla dig igen.", "Trækker alle samtykker tilbage og gør indsigelse mod direkte markedsføring (GDPR art. 21). Kun du kan fortryde, ved at tilmelde dig igen.";
    object_button: "Stop everything", "Stopp alt", "Stoppa allt", "Stop alt";
    objected: "You objected to direct marketing: nothing is sent to you.", "Du har protestert mot direkte markedsføring: ingenting sendes til deg.", "Du har invänt mot direktmarknadsföring: inget skickas till dig.", "Du har gjort indsigelse mod direkte markedsføring: intet sendes til dig.";
    your_details: "Your details", "Opplysningene dine", "Dina uppgifter", "Dine oplysninger";
    correct: "Save corrections", "Lagre rettelser", "Spara rättelser", "Gem rettelser";
    download_data: "Download all data held about you (JSON)", "Last ned alle opplysninger om deg (JSON)", "Ladda ner alla uppgifter om dig (JSON)", "Hent alle oplysninger om dig (JSON)";
    history: "History", "Historikk", "Historik", "Historik";
    receipts: "Receipts", "Kvitteringer", "Kvitton", "Kvitteringer";
    unsubscribe_heading: "Unsubscribe", "Meld av", "Avregistrera", "Afmeld";
    unsubscribe_button: "Unsubscribe", "Meld meg av", "Avregistrera mig", "Afmeld mig";
    unsubscribed: "You are unsubscribed.", "Du er meldt av.", "Du är avregistrerad.", "Du er afmeldt.";
    manage_all: "Manage all your preferences", "Endre alle innstillingene dine", "Hantera alla dina inställningar", "Skift alle dine indstillinger";
    // Consent ledger (marketers' pages)
    ledger: "Consent ledger", "Samtykkeregister", "Samtyckesregister", "Samtykkeregister";
    purposes: "Purposes", "Formål", "Ändamål", "Formål";
    key: "Key", "Nøkkel", "Nyckel", "Nøgle";
    version: "Version", "Versjon", "Version", "Version";
    status: "Status", "Status", "Status", "Status";
    draft: "Draft", "Utkast", "Utkast", "Kladde";
    published: "Published", "Publisert", "Publicerad", "Offentliggjort";
    publish: "Publish", "Publiser", "Publicera", "Offentliggør";
    legal_basis: "Legal basis", "Rettslig grunnlag", "Rättslig grund", "Retsgrundlag";
    channel: "Channel", "Kanal", "Kanal", "Kanal";
    lifetime_days: "Consent lasts (days; empty: until withdrawn)", "Samtykket varer (dager; tomt: til det trekkes tilbake)", "Samtycket gäller (dagar; tomt: tills det återkallas)", "Samtykket gælder (dage; tomt: indtil det trækkes tilbage)";
    data_categories: "Data categories (comma-separated)", "Datakategorier (kommaseparert)", "Datakategorier (kommaseparerade)", "Datakategorier (kommasepareret)";
    special_category: "Special-category data (Art. 9): explicit consent", "Særlige kategorier (art. 9): uttrykkelig samtykke", "Känsliga uppgifter (art. 9): uttryckligt samtycke", "Særlige kategorier (art. 9): udtrykkeligt samtykke";
    title_label: "Title", "Tittel", "Rubrik", "Titel";
    description_label: "Description", "Beskrivelse", "Beskrivning", "Beskrivelse";
    other_languages: "Other languages", "Andre språk", "Andra språk", "Andre sprog";
    new_purpose: "New purpose or new version", "Nytt formål eller ny versjon", "Nytt ändamål eller ny version", "Nyt formål eller ny version";
    purpose_help: "A published version never changes: saving its key again makes a new draft, and consents keep pointing to the version they were given for.", "En publisert versjon endres aldri: lagrer du nøkkelen på nytt, blir det et nytt utkast, og samtykker peker fortsatt til versjonen de ble gitt for.", "En publicerad version ändras aldrig: sparar du nyckeln igen blir det ett nytt utkast, och samtycken pekar fortfarande på versionen de gavs för.", "En offentliggjort version ændres aldrig: gemmer du nøglen igen, bliver det en ny kladde, og samtykker peger fortsat på den version, de blev givet til.";
    collection_points: "Collection points", "Innsamlingspunkter", "Insamlingsställen", "Indsamlingssteder";
    kind: "Kind", "Type", "Typ", "Type";
    double_opt_in: "Confirm by email (double opt-in)", "Bekreft på e-post (dobbel bekreftelse)", "Bekräfta via e-post (dubbel bekräftelse)", "Bekræft via e-mail (dobbelt bekræftelse)";
    intro: "Text above the checkboxes", "Tekst over avkrysningsboksene", "Text ovanför kryssrutorna", "Tekst over afkrydsningsfelterne";
    hosted_form: "Hosted form", "Skjema hos Tillit", "Formulär hos Tillit", "Formular hos Tillit";
    contact_fields: "Contact fields", "Kontaktfelt", "Kontaktfält", "Kontaktfelter";
    data_category: "Data category", "Datakategori", "Datakategori", "Datakategori";
    find_contact: "Find a contact", "Finn en kontakt", "Hitta en kontakt", "Find en kontakt";
    find: "Find", "Finn", "Sök", "Find";
    no_contact: "No contact with this email.", "Ingen kontakt med denne e-postadressen.", "Ingen kontakt med den e-postadressen.", "Ingen kontakt med denne e-mailadresse.";
    st_given: "given", "gitt", "lämnat", "givet";
    st_refused: "refused", "avslått", "avböjt", "afslået";
    st_withdrawn: "withdrawn", "trukket tilbake", "återkallat", "trukket tilbage";
    st_expired: "expired", "utløpt", "upphört", "udløbet";
    st_renewed: "renewed", "fornyet", "förnyat", "fornyet";
    how_form: "by the form and its email confirmation", "via skjemaet og bekreftelsen på e-post", "via formuläret och bekräftelsen via e-post", "via formularen og bekræftelsen på e-mail";
    how_preferences: "in the preference centre", "i personverninnstillingene", "i inställningarna", "i indstillingerne";
    how_unsubscribe: "by an unsubscribe link", "via en avmeldingslenke", "via en avregistreringslänk", "via et afmeldingslink";
    how_admin: "recorded by the sender, with evidence", "registrert av avsenderen, med dokumentasjon", "registrerat av avsändaren, med bevis", "registreret af afsenderen, med dokumentation";
    how_lifetime: "when its time ran out", "da tiden gikk ut", "när tiden gick ut", "da tiden udløb";
    how_other: "through a form", "via et skjema", "via ett formulär", "via en formular";
    no_mail: "Email is not configured (smtp_url), so forms cannot send the confirmation that consent needs: signups are refused until it is.", "E-post er ikke satt opp (smtp_url), så skjemaene kan ikke sende bekreftelsen samtykke krever: påmeldinger avvises til det er gjort.", "E-post är inte konfigurerad (smtp_url), så formulären kan inte skicka bekräftelsen som samtycke kräver: anmälningar avvisas tills det är gjort.", "E-mail er ikke sat op (smtp_url), så formularerne kan ikke sende den bekræftelse, samtykke kræver: tilmeldinger afvises, indtil det er gjort.";
    request_heading: "A request about your data", "En forespørsel om opplysningene dine", "En begäran om dina uppgifter", "En anmodning om dine oplysninger";
    request_intro: "Choose what you want. We email you a code to prove the address is yours; nothing happens before you enter it. We answer within one month.", "Velg hva du ønsker. Vi sender deg en kode på e-post som viser at adressen er din; ingenting skjer før du skriver den inn. Vi svarer innen en måned.", "Välj vad du vill. Vi mejlar en kod som visar att adressen är din; inget händer förrän du anger den. Vi svarar inom en månad.", "Vælg, hvad du ønsker. Vi sender dig en kode på e-mail, der viser, at adressen er din; intet sker, før du indtaster den. Vi svarer inden for en måned.";
    kind_access: "See what you hold about me", "Se hva dere har om meg", "Se vad ni har om mig", "Se, hvad I har om mig";
    kind_portability: "Give me my data to take elsewhere", "Gi meg opplysningene mine for å ta dem med", "Ge mig mina uppgifter att ta med", "Giv mig mine oplysninger til at tage med";
    kind_rectification: "Correct my data", "Rett opplysningene mine", "Rätta mina uppgifter", "Ret mine oplysninger";
    kind_erasure: "Delete my data", "Slett opplysningene mine", "Radera mina uppgifter", "Slet mine oplysninger";
    kind_restriction: "Stop using my data for now", "Stans bruken av opplysningene mine inntil videre", "Sluta använda mina uppgifter tills vidare", "Stop brugen af mine oplysninger indtil videre";
    kind_objection: "Stop all marketing to me", "Stopp all markedsføring til meg", "Stoppa all marknadsföring till mig", "Stop al markedsføring til mig";
    request_details: "Details (what to correct, anything that helps)", "Detaljer (hva som skal rettes, alt som hjelper)", "Detaljer (vad som ska rättas, allt som hjälper)", "Detaljer (hvad der skal rettes, alt der hjælper)";
    send_request: "Send the request", "Send forespørselen", "Skicka begäran", "Send anmodningen";
    enter_code: "We sent a code to your email. Enter it to confirm the request.", "Vi har sendt en kode til e-posten din. Skriv den inn for å bekrefte forespørselen.", "Vi har skickat en kod till din e-post. Ange den för att bekräfta begäran.", "Vi har sendt en kode til din e-mail. Indtast den for at bekræfte anmodningen.";
    code_label: "Code", "Kode", "Kod", "Kode";
    request_confirmed: "Your request is confirmed.", "Forespørselen din er bekreftet.", "Din begäran är bekräftad.", "Din anmodning er bekræftet.";
    other_requests: "Other requests about your data", "Andre forespørsler om opplysningene dine", "Andra begäranden om dina uppgifter", "Andre anmodninger om dine oplysninger";
    requests_heading: "Data-subject requests", "Forespørsler om innsyn, retting og sletting", "Begäranden om registerutdrag, rättelse och radering", "Anmodninger om indsigt, berigtigelse og sletning";
    due: "Due", "Frist", "Senast", "Frist";
    received: "Received", "Mottatt", "Mottagen", "Modtaget";
    overdue: "Overdue", "Forfalt", "Försenad", "Overskredet";
    no_requests: "No requests yet. People make them at", "Ingen forespørsler ennå. De sendes fra", "Inga begäranden ännu. De görs på", "Ingen anmodninger endnu. De sendes fra";
    erase_heading: "Delete all my data", "Slett alle opplysningene mine", "Radera alla mina uppgifter", "Slet alle mine oplysninger";
    erase_text: "Deletes your details and withdraws every consent. Proof that you once consented stays, without your details; your address is kept only as a one-way code, so that it is never added again.", "Sletter opplysningene dine og trekker tilbake alle samtykker. Beviset for at du en gang samtykket blir stående, uten opplysningene dine; adressen din beholdes bare som en enveiskode, slik at den aldri legges til igjen.", "Raderar dina uppgifter och återkallar alla samtycken. Beviset på att du en gång samtyckte finns kvar, utan dina uppgifter; din adress sparas bara som en envägskod, så att den aldrig läggs till igen.", "Sletter dine oplysninger og trækker alle samtykker tilbage. Beviset for, at du engang gav samtykke, bliver stående uden dine oplysninger; din adresse gemmes kun som en envejskode, så den aldrig tilføjes igen.";
    erase_button: "Delete my data", "Slett opplysningene mine", "Radera mina uppgifter", "Slet mine oplysninger";
    erased: "Your data was deleted. Your signed receipt:", "Opplysningene dine er slettet. Din signerte kvittering:", "Dina uppgifter är raderade. Ditt signerade kvitto:", "Dine oplysninger er slettet. Din signerede kvittering:";
    err_tick: "Tick the box of each thing you want to receive.", "Kryss av for hvert av det du vil ha.", "Kryssa i rutan för varje sak du vill få.", "Sæt kryds ved hver ting, du vil modtage.";
    err_form_changed: "The form changed since it was shown. Reload the page and choose again.", "Skjemaet er endret siden det ble vist. Last inn siden på nytt og velg igjen.", "Formuläret har ändrats sedan det visades. Ladda om sidan och välj igen.", "Formularen er ændret, siden den blev vist. Genindlæs siden, og vælg igen.";
    err_email: "Enter a valid email address.", "Skriv inn en gyldig e-postadresse.", "Ange en giltig e-postadress.", "Skriv en gyldig e-mailadresse.";
    campaigns_heading: "Re-permission campaigns", "Kampanjer for nytt samtykke", "Kampanjer för nytt samtycke", "Kampagner for nyt samtykke";
    campaigns_help: "Ask people you may lawfully ask (existing customers without consent, or people whose consent runs out soon) for consent once, with at most one reminder. At the deadline, those who did not say yes and hold no other consent are erased or restricted.", "Spør dem du lovlig kan spørre (eksisterende kunder uten samtykke, eller de med samtykke som snart går ut) om samtykke én gang, med høyst én påminnelse. Ved fristen slettes eller begrenses de som ikke sa ja og ikke har annet samtykke.", "Fråga dem du lagligt får fråga (befintliga kunder utan samtycke, eller de vars samtycke snart löper ut) om samtycke en gång, med högst en påminnelse. Vid tidsfristen raderas eller begränsas de som inte sa ja och inte har annat samtycke.", "Spørg dem, du lovligt må spørge (eksisterende kunder uden samtykke eller dem, hvis samtykke snart udløber), om samtykke én gang med højst én påmindelse. Ved fristen slettes eller begrænses dem, der ikke sagde ja og ikke har andet samtykke.";
    new_campaign: "New campaign", "Ny kampanje", "Ny kampanj", "Ny kampagne";
    audience: "Who", "Hvem", "Vem", "Hvem";
    audience_customers: "Existing customers without consent", "Eksisterende kunder uten samtykke", "Befintliga kunder utan samtycke", "Eksisterende kunder uden samtykke";
    audience_expiring: "Consent running out within 30 days", "Samtykke som går ut innen 30 dager", "Samtycke som löper ut inom 30 dagar", "Samtykke, der udløber inden for 30 dage";
    campaign_message: "Why you are asking (shown above the request)", "Hvorfor dere spør (vises over forespørselen)", "Varför ni frågar (visas ovanför förfrågan)", "Hvorfor I spørger (vises over forespørgslen)";
    deadline_days: "Days until the deadline", "Dager til fristen", "Dagar till tidsfristen", "Dage til fristen";
    reminder_days: "Reminder after (days, optional)", "Påminnelse etter (dager, valgfritt)", "Påminnelse efter (dagar, valfritt)", "Påmindelse efter (dage, valgfrit)";
    at_deadline: "At the deadline", "Ved fristen", "Vid tidsfristen", "Ved fristen";
    action_erase: "erase", "slett", "radera", "slet";
    action_restrict: "restrict", "begrens", "begränsa", "begræns";
    asked: "Asked", "Spurt", "Tillfrågade", "Spurgt";
    said_yes: "Yes", "Ja", "Ja", "Ja";
    said_no: "No", "Nei", "Nej", "Nej";
    waiting: "No answer yet", "Ikke svart ennå", "Inget svar ännu", "Intet svar endnu";
    would_ask: "Would ask", "Ville spurt", "Skulle fråga", "Ville spørge";
    start: "Start", "Start", "Starta", "Start";
    running_until: "Running until", "Pågår til", "Pågår till", "Kører til";
    closed: "Closed", "Avsluttet", "Avslutad", "Afsluttet";
    preview: "Preview", "Forhåndsvis", "Förhandsgranska", "Forhåndsvis";
    close_apply: "Close and apply", "Avslutt og utfør", "Avsluta och genomför", "Afslut og udfør";
    mail_queue: "Mail queue", "E-postkø", "E-postkö", "E-mailkø";
    cover_title: "Your data held by {controller}", "Opplysningene {controller} har om deg", "Uppgifterna {controller} har om dig", "De oplysninger, {controller} har om dig";
    cover_intro: "This is a copy of everything {controller} holds about {email} for {site}, made {when}, as Articles 15 and 20 of the GDPR give you the right to. The same data is in this folder as data.json and as CSV files (one per table) that any spreadsheet opens. Questions: {contact}.", "Dette er en kopi av alt {controller} har om {email} for {site}, laget {when}, slik artikkel 15 og 20 i personvernforordningen gir deg rett til. De samme opplysningene ligger i denne mappen som data.json og som CSV-filer (én per tabell) som alle regneark kan åpne. Spørsmål: {contact}.", "Detta är en kopia av allt {controller} har om {email} för {site}, gjord {when}, som artikel 15 och 20 i dataskyddsförordningen ger dig rätt till. Samma uppgifter finns i den här mappen som data.json och som CSV-filer (en per tabell) som alla kalkylprogram kan öppna. Frågor: {contact}.", "Dette er en kopi af alt, hvad {controller} har om {email} for {site}, lavet {when}, som artikel 15 og 20 i databeskyttelsesforordningen giver dig ret til. De samme oplysninger ligger i denne mappe som data.json og som CSV-filer (én pr. tabel), som alle regneark kan åbne. Spørgsmål: {contact}.";
    cover_details: "Your details", "Opplysningene dine", "Dina uppgifter", "Dine oplysninger";
    cover_a: "(a) Why we process your data, and (d) for how long", "(a) Hvorfor vi behandler opplysningene dine, og (d) hvor lenge", "(a) Varför vi behandlar dina uppgifter, och (d) hur länge", "(a) Hvorfor vi behandler dine oplysninger, og (d) hvor længe";
    cover_purpose: "Purpose", "Formål", "Ändamål", "Formål";
    cover_basis: "Legal basis", "Rettslig grunnlag", "Rättslig grund", "Retsgrundlag";
    cover_how_long: "How long", "Hvor lenge", "Hur länge", "Hvor længe";
    life_days: "your consent lasts {days} days, then lapses unless you renew it", "samtykket varer i {days} dager og faller så bort med mindre du fornyer det", "samtycket gäller i {days} dagar och upphör sedan om du inte förnyar det", "samtykket gælder i {days} dage og bortfalder derefter, medmindre du fornyer det";
    life_withdrawn: "until you withdraw your consent", "til du trekker samtykket tilbake", "tills du återkallar ditt samtycke", "indtil du trækker dit samtykke tilbage";
    life_other: "while the basis applies, and until you object", "så lenge grunnlaget gjelder, og til du protesterer", "så länge grunden gäller, och tills du invänder", "så længe grundlaget gælder, og indtil du gør indsigelse";
    ret_contacts: "Without any valid consent, your details are removed after {days} days.", "Uten gyldig samtykke slettes opplysningene dine etter {days} dager.", "Utan giltigt samtycke raderas dina uppgifter efter {days} dagar.", "Uden gyldigt samtykke slettes dine oplysninger efter {days} dage.";
    ret_customers: "As an existing customer, your details may be kept for {days} days after your last purchase.", "Som eksisterende kunde kan opplysningene dine beholdes i {days} dager etter siste kjøp.", "Som befintlig kund kan dina uppgifter sparas i {days} dagar efter ditt senaste köp.", "Som eksisterende kunde kan dine oplysninger gemmes i {days} dage efter dit seneste køb.";
    ret_sends: "Records of decisions to send you a message are kept {days} days.", "Opptegnelser om beslutninger om å sende deg en melding beholdes i {days} dager.", "Uppgifter om beslut att skicka dig ett meddelande sparas i {days} dagar.", "Optegnelser om beslutninger om at sende dig en besked gemmes i {days} dage.";
    ret_unconfirmed: "Signups that are never confirmed are deleted after 7 days.", "Påmeldinger som aldri bekreftes, slettes etter 7 dager.", "Anmälningar som aldrig bekräftas raderas efter 7 dagar.", "Tilmeldinger, der aldrig bekræftes, slettes efter 7 dage.";
    ret_proof: "Consent records are kept as proof for as long as the controller may need to show them; once your details are erased they can no longer be linked to you.", "Samtykkeopptegnelser beholdes som bevis så lenge den behandlingsansvarlige kan trenge å vise dem; når opplysningene dine er slettet, kan de ikke lenger knyttes til deg.", "Samtyckesuppgifter sparas som bevis så länge den personuppgiftsansvarige kan behöva visa dem; när dina uppgifter har raderats kan de inte längre kopplas till dig.", "Samtykkeoptegnelser gemmes som bevis, så længe den dataansvarlige kan få brug for at vise dem; når dine oplysninger er slettet, kan de ikke længere knyttes til dig.";
    cover_b: "(b) What kinds of data", "(b) Hvilke typer opplysninger", "(b) Vilka slags uppgifter", "(b) Hvilke typer oplysninger";
    cat_email: "your email address", "e-postadressen din", "din e-postadress", "din e-mailadresse";
    cat_name: "your name", "navnet ditt", "ditt namn", "dit navn";
    cat_consent: "what you agreed to or declined, when, where and with what wording; a shortened network address and a keyed fingerprint of your browser's name, never the full address or name", "hva du har sagt ja eller nei til, når, hvor og med hvilken ordlyd; en forkortet nettverksadresse og et nøkkelbasert fingeravtrykk av nettleserens navn, aldri hele adressen eller navnet", "vad du har sagt ja eller nej till, när, var och med vilken lydelse; en förkortad nätverksadress och ett nyckelbaserat fingeravtryck av webbläsarens namn, aldrig hela adressen eller namnet", "hvad du har sagt ja eller nej til, hvornår, hvor og med hvilken ordlyd; en forkortet netværksadresse og et nøglebaseret fingeraftryk af browserens navn, aldrig hele adressen eller navnet";
    cat_comms: "which messages were sent to you, when, and under which consent", "hvilke meldinger som er sendt til deg, når, og med hvilket samtykke", "vilka meddelanden som skickats till dig, när, och med vilket samtycke", "hvilke beskeder der er sendt til dig, hvornår, og med hvilket samtykke";
    cover_c: "(c) Who receives it", "(c) Hvem som mottar dem", "(c) Vem som tar emot dem", "(c) Hvem der modtager dem";
    no_recipients: "No one outside {controller}.", "Ingen utenfor {controller}.", "Ingen utanför {controller}.", "Ingen uden for {controller}.";
    cover_e: "(e) Your rights", "(e) Rettighetene dine", "(e) Dina rättigheter", "(e) Dine rettigheder";
    rights_text: "You may ask for your data to be corrected, erased, or its use restricted, and you may object at any time to its use for direct marketing, which then stops. You may withdraw any consent as easily as you gave it; what was done before stays lawful.", "Du kan be om at opplysningene dine rettes, slettes eller at bruken begrenses, og du kan når som helst protestere mot bruk til direkte markedsføring, som da stanser. Du kan trekke tilbake ethvert samtykke like lett som du ga det; det som ble gjort før, er fortsatt lovlig.", "Du kan begära att dina uppgifter rättas, raderas eller att användningen begränsas, och du kan när som helst invända mot användning för direktmarknadsföring, som då upphör. Du kan återkalla varje samtycke lika lätt som du gav det; det som gjordes innan förblir lagligt.", "Du kan bede om, at dine oplysninger rettes, slettes eller at brugen begrænses, og du kan når som helst gøre indsigelse mod brug til direkte markedsføring, som så stopper. Du kan trække ethvert samtykke tilbage lige så let, som du gav det; det, der er sket forinden, er fortsat lovligt.";
    cover_preferences: "Your preference centre (the link works for 30 days)", "Personverninnstillingene dine (lenken virker i 30 dager)", "Dina inställningar (länken fungerar i 30 dagar)", "Dine indstillinger (linket virker i 30 dage)";
    cover_request: "Make a request", "Send en forespørsel", "Gör en begäran", "Send en anmodning";
    cover_f: "(f) Complaints", "(f) Klage", "(f) Klagomål", "(f) Klager";
    complain_named: "You may complain to {authority}, or to the supervisory authority of the EU/EEA country where you live, work, or where the alleged infringement took place.", "Du kan klage til {authority}, eller til tilsynsmyndigheten i landet i EU/EØS der du bor, arbeider eller der den påståtte overtredelsen skjedde.", "Du kan klaga till {authority}, eller till tillsynsmyndigheten i det EU/EES-land där du bor, arbetar eller där den påstådda överträdelsen skedde.", "Du kan klage til {authority} eller til tilsynsmyndigheden i det EU/EØS-land, hvor du bor, arbejder, eller hvor den påståede overtrædelse fandt sted.";
    complain_any: "You may complain to the supervisory authority of the EU/EEA country where you live, work, or where the alleged infringement took place.", "Du kan klage til tilsynsmyndigheten i landet i EU/EØS der du bor, arbeider eller der den påståtte overtredelsen skjedde.", "Du kan klaga till tillsynsmyndigheten i det EU/EES-land där du bor, arbetar eller där den påstådda överträdelsen skedde.", "Du kan klage til tilsynsmyndigheden i det EU/EØS-land, hvor du bor, arbejder, eller hvor den påståede overtrædelse fandt sted.";
    cover_g: "(g) Where the data came from", "(g) Hvor opplysningene kom fra", "(g) Varifrån uppgifterna kom", "(g) Hvor oplysningerne kom fra";
    src_form: "From you, through a signup form.", "Fra deg, gjennom et påmeldingsskjema.", "Från dig, via ett anmälningsformulär.", "Fra dig, via en tilmeldingsformular.";
    src_api: "From you, through {site}'s own systems.", "Fra deg, gjennom systemene til {site}.", "Från dig, via {site}s egna system.", "Fra dig, via {site}s egne systemer.";
    src_admin: "Entered by staff, with the evidence shown in the consent records.", "Registrert av ansatte, med dokumentasjonen som står i samtykkeopptegnelsene.", "Registrerade av personal, med det underlag som står i samtyckesuppgifterna.", "Registreret af medarbejdere med den dokumentation, der står i samtykkeoptegnelserne.";
    src_import: "Your details were imported from another system of the controller (source: {source}), not collected from you directly here.", "Opplysningene dine ble importert fra et annet system hos den behandlingsansvarlige (kilde: {source}), ikke samlet inn direkte fra deg her.", "Dina uppgifter importerades från ett annat system hos den personuppgiftsansvarige (källa: {source}), inte insamlade direkt från dig här.", "Dine oplysninger blev importeret fra et andet system hos den dataansvarlige (kilde: {source}), ikke indsamlet direkte fra dig her.";
    customer_since_text: "Recorded as a customer since {date}.", "Registrert som kunde siden {date}.", "Registrerad som kund sedan {date}.", "Registreret som kunde siden {date}.";
    cover_h: "(h) Automated decisions and profiling", "(h) Automatiserte avgjørelser og profilering", "(h) Automatiserade beslut och profilering", "(h) Automatiske afgørelser og profilering";
    no_automated: "None. No decision about you is made by automated means, and no profile of you is built.", "Ingen. Ingen avgjørelse om deg tas automatisk, og ingen profil av deg bygges.", "Inga. Inga beslut om dig fattas automatiskt, och ingen profil av dig byggs.", "Ingen. Ingen afgørelse om dig træffes automatisk, og der opbygges ingen profil af dig.";
    cover_history: "Your consent history", "Samtykkehistorikken din", "Din samtyckeshistorik", "Din samtykkehistorik";
    cover_when: "When", "Når", "När", "Hvornår";
    cover_what: "What", "Hva", "Vad", "Hvad";
    cover_how: "How", "Hvordan", "Hur", "Hvordan";
    cover_where: "Where", "Hvor", "Var", "Hvor";
    cover_wording_note: "The exact wording you were shown each time is in consents.csv. Signed receipts ({n}) are in receipts.csv; check them against the published key at {url}.", "Den nøyaktige ordlyden du ble vist hver gang, står i consents.csv. Signerte kvitteringer ({n}) står i receipts.csv; kontroller dem mot den publiserte nøkkelen på {url}.", "Den exakta lydelse du visades varje gång finns i consents.csv. Signerade kvitton ({n}) finns i receipts.csv; kontrollera dem mot den publicerade nyckeln på {url}.", "Den præcise ordlyd, du fik vist hver gang, står i consents.csv. Signerede kvitteringer ({n}) står i receipts.csv; kontrollér dem mod den offentliggjorte nøgle på {url}.";
    cover_messages: "Messages sent to you", "Meldinger sendt til deg", "Meddelanden som skickats till dig", "Beskeder sendt til dig";
    cover_subject: "Subject", "Emne", "Ämne", "Emne";
    cover_under: "Under", "Grunnlag", "Grund", "Grundlag";
    cover_requests: "Your requests", "Forespørslene dine", "Dina begäranden", "Dine anmodninger";
    cover_outcome: "Outcome", "Utfall", "Utfall", "Udfald";
    cover_none: "None.", "Ingen.", "Inga.", "Ingen.";
    objected_short: "Objected to direct marketing (Art. 21)", "Har protestert mot direkte markedsføring (art. 21)", "Har invänt mot direktmarknadsföring (art. 21)", "Har gjort indsigelse mod direkte markedsføring (art. 21)";
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
