//! The words of the ledger's emails in every supported language. Placeholders are filled by
//! [`fill`]; the pages' words live in `tillit-web`'s table.

use crate::i18n::Lang;

/// One language's email texts.
pub struct Mails {
    pub confirm_subject: &'static str,
    /// `{site}`, `{purposes}` (one per line), `{link}`, `{days}`.
    pub confirm_body: &'static str,
    pub receipt_subject: &'static str,
    /// `{site}`, `{events}` (one per line), `{receipts}` (one link per line), `{preferences}`.
    pub receipt_body: &'static str,
    pub given: &'static str,
    pub withdrawn: &'static str,
    pub link_subject: &'static str,
    /// `{site}`, `{link}`, `{days}`.
    pub link_body: &'static str,
    /// `{unsubscribe}`, `{preferences}`.
    pub marketing_footer: &'static str,
    pub code_subject: &'static str,
    /// `{site}`, `{code}`, `{minutes}`.
    pub code_body: &'static str,
    pub extension_subject: &'static str,
    /// `{site}`, `{due}`, `{reason}`.
    pub extension_body: &'static str,
    /// `{site}`.
    pub permission_subject: &'static str,
    pub reminder_subject: &'static str,
    /// `{site}`, `{message}`, `{purpose}`, `{description}`, `{link}`, `{decline}`, `{deadline}`.
    pub permission_body: &'static str,
    /// `{preferences}`: why an existing customer receives a request.
    pub permission_footer: &'static str,
}

const EN: Mails = Mails {
    confirm_subject: "Please confirm your subscription",
    confirm_body: "Hello,\n\nSomeone, hopefully you, asked {site} to send this address:\n\n{purposes}\n\nTo confirm, open this link and press the button:\n{link}\n\nThe link works for {days} days. If this was not you, ignore this email: nothing happens until you confirm.\n",
    receipt_subject: "Your consent receipt",
    receipt_body: "Hello,\n\nThis is your record of what you told {site}:\n\n{events}\n\nSigned receipts (JSON, verifiable with the published key):\n{receipts}\n\nYou can change your choices at any time:\n{preferences}\n",
    given: "consent given",
    withdrawn: "consent withdrawn",
    link_subject: "Your preference centre link",
    link_body: "Hello,\n\nHere is your link to see and change what {site} may send you, and to download the data held about you:\n{link}\n\nThe link works for {days} days. If you did not ask for it, ignore this email.\n",
    marketing_footer: "You receive this because you agreed to it.\nUnsubscribe with one click: {unsubscribe}\nManage your preferences: {preferences}\n",
    code_subject: "Your code to confirm your request",
    code_body: "Hello,\n\nTo confirm that the request you made to {site} is yours, enter this code:\n\n{code}\n\nIt works for {minutes} minutes. If you made no request, ignore this email: nothing happens without the code.\n",
    extension_subject: "Your request needs more time",
    extension_body: "Hello,\n\n{site} needs more time to answer your request, as the law allows. You will have the answer by {due}.\n\nWhy: {reason}\n",
    permission_subject: "May {site} keep writing to you?",
    reminder_subject: "Reminder: may {site} keep writing to you?",
    permission_body: "Hello,\n\n{message}\n\nWe would like your permission for: {purpose}\n{description}\n\nIf you agree, open this link and press the button:\n{link}\n\nIf you do not, you can tell us here, and we will not ask again:\n{decline}\n\nIf we have no answer by {deadline}, we will stop and remove what we hold about you for this.\n",
    permission_footer: "You receive this one request because you are a customer of ours. See or change what we hold about you: {preferences}\n",
};

const NB: Mails = Mails {
    confirm_subject: "Bekreft abonnementet ditt",
    confirm_body: "Hei,\n\nNoen, forhåpentligvis du, har bedt {site} om å sende denne adressen:\n\n{purposes}\n\nFor å bekrefte, åpne lenken og trykk på knappen:\n{link}\n\nLenken virker i {days} dager. Var det ikke deg, kan du se bort fra denne e-posten: ingenting skjer før du bekrefter.\n",
    receipt_subject: "Kvittering for samtykket ditt",
    receipt_body: "Hei,\n\nDette er din oversikt over hva du har sagt til {site}:\n\n{events}\n\nSignerte kvitteringer (JSON, kan kontrolleres med den publiserte nøkkelen):\n{receipts}\n\nDu kan endre valgene dine når som helst:\n{preferences}\n",
    given: "samtykke gitt",
    withdrawn: "samtykke trukket tilbake",
    link_subject: "Lenken til personverninnstillingene dine",
    link_body: "Hei,\n\nHer er lenken der du ser og endrer hva {site} kan sende deg, og laster ned opplysningene som er lagret om deg:\n{link}\n\nLenken virker i {days} dager. Ba du ikke om den, kan du se bort fra denne e-posten.\n",
    marketing_footer: "Du får denne fordi du har sagt ja til det.\nMeld deg av med ett klikk: {unsubscribe}\nEndre innstillingene dine: {preferences}\n",
    code_subject: "Koden som bekrefter forespørselen din",
    code_body: "Hei,\n\nFor å bekrefte at forespørselen til {site} er din, skriv inn denne koden:\n\n{code}\n\nDen virker i {minutes} minutter. Har du ikke sendt noen forespørsel, kan du se bort fra denne e-posten: ingenting skjer uten koden.\n",
    extension_subject: "Forespørselen din trenger mer tid",
    extension_body: "Hei,\n\n{site} trenger mer tid til å svare på forespørselen din, slik loven tillater. Du får svar innen {due}.\n\nHvorfor: {reason}\n",
    permission_subject: "Kan {site} fortsette å skrive til deg?",
    reminder_subject: "Påminnelse: kan {site} fortsette å skrive til deg?",
    permission_body: "Hei,\n\n{message}\n\nVi vil gjerne ha ditt samtykke til: {purpose}\n{description}\n\nSier du ja, åpne lenken og trykk på knappen:\n{link}\n\nSier du nei, kan du si fra her, så spør vi ikke igjen:\n{decline}\n\nHar vi ikke fått svar innen {deadline}, stopper vi og sletter det vi har om deg for dette.\n",
    permission_footer: "Du får denne ene forespørselen fordi du er kunde hos oss. Se eller endre det vi har om deg: {preferences}\n",
};

const SV: Mails = Mails {
    confirm_subject: "Bekräfta din prenumeration",
    confirm_body: "Hej,\n\nNågon, förhoppningsvis du, har bett {site} att skicka till den här adressen:\n\n{purposes}\n\nFör att bekräfta, öppna länken och tryck på knappen:\n{link}\n\nLänken fungerar i {days} dagar. Var det inte du kan du bortse från det här mejlet: inget händer förrän du bekräftar.\n",
    receipt_subject: "Kvitto på ditt samtycke",
    receipt_body: "Hej,\n\nDetta är din sammanställning av vad du har sagt till {site}:\n\n{events}\n\nSignerade kvitton (JSON, kan kontrolleras med den publicerade nyckeln):\n{receipts}\n\nDu kan ändra dina val när som helst:\n{preferences}\n",
    given: "samtycke lämnat",
    withdrawn: "samtycke återkallat",
    link_subject: "Länken till dina inställningar",
    link_body: "Hej,\n\nHär är länken där du ser och ändrar vad {site} får skicka till dig, och laddar ner uppgifterna som sparats om dig:\n{link}\n\nLänken fungerar i {days} dagar. Bad du inte om den kan du bortse från det här mejlet.\n",
    marketing_footer: "Du får detta eftersom du har sagt ja till det.\nAvregistrera dig med ett klick: {unsubscribe}\nÄndra dina inställningar: {preferences}\n",
    code_subject: "Koden som bekräftar din begäran",
    code_body: "Hej,\n\nFör att bekräfta att begäran till {site} är din, ange den här koden:\n\n{code}\n\nDen gäller i {minutes} minuter. Har du inte gjort någon begäran kan du bortse från det här mejlet: inget händer utan koden.\n",
    extension_subject: "Din begäran behöver mer tid",
    extension_body: "Hej,\n\n{site} behöver mer tid för att besvara din begäran, som lagen tillåter. Du får svar senast {due}.\n\nVarför: {reason}\n",
    permission_subject: "Får {site} fortsätta skriva till dig?",
    reminder_subject: "Påminnelse: får {site} fortsätta skriva till dig?",
    permission_body: "Hej,\n\n{message}\n\nVi vill gärna ha ditt samtycke till: {purpose}\n{description}\n\nOm du säger ja, öppna länken och tryck på knappen:\n{link}\n\nOm du säger nej kan du meddela det här, så frågar vi inte igen:\n{decline}\n\nHar vi inte fått svar senast {deadline} slutar vi och tar bort det vi har om dig för detta.\n",
    permission_footer: "Du får denna enda förfrågan eftersom du är kund hos oss. Se eller ändra det vi har om dig: {preferences}\n",
};

const DA: Mails = Mails {
    confirm_subject: "Bekræft dit abonnement",
    confirm_body: "Hej,\n\nNogen, forhåbentlig dig, har bedt {site} om at sende til denne adresse:\n\n{purposes}\n\nFor at bekræfte skal du åbne linket og trykke på knappen:\n{link}\n\nLinket virker i {days} dage. Var det ikke dig, kan du se bort fra denne e-mail: intet sker, før du bekræfter.\n",
    receipt_subject: "Kvittering for dit samtykke",
    receipt_body: "Hej,\n\nDette er din oversigt over, hvad du har sagt til {site}:\n\n{events}\n\nSignerede kvitteringer (JSON, kan kontrolleres med den offentliggjorte nøgle):\n{receipts}\n\nDu kan ændre dine valg når som helst:\n{preferences}\n",
    given: "samtykke givet",
    withdrawn: "samtykke trukket tilbage",
    link_subject: "Linket til dine indstillinger",
    link_body: "Hej,\n\nHer er linket, hvor du ser og ændrer, hvad {site} må sende dig, og henter de oplysninger, der er gemt om dig:\n{link}\n\nLinket virker i {days} dage. Bad du ikke om det, kan du se bort fra denne e-mail.\n",
    marketing_footer: "Du får dette, fordi du har sagt ja til det.\nAfmeld med ét klik: {unsubscribe}\nSkift dine indstillinger: {preferences}\n",
    code_subject: "Koden, der bekræfter din anmodning",
    code_body: "Hej,\n\nFor at bekræfte, at anmodningen til {site} er din, skal du indtaste denne kode:\n\n{code}\n\nDen virker i {minutes} minutter. Har du ikke sendt nogen anmodning, kan du se bort fra denne e-mail: intet sker uden koden.\n",
    extension_subject: "Din anmodning kræver mere tid",
    extension_body: "Hej,\n\n{site} har brug for mere tid til at besvare din anmodning, som loven tillader. Du får svar senest {due}.\n\nHvorfor: {reason}\n",
    permission_subject: "Må {site} blive ved med at skrive til dig?",
    reminder_subject: "Påmindelse: må {site} blive ved med at skrive til dig?",
    permission_body: "Hej,\n\n{message}\n\nVi vil gerne have dit samtykke til: {purpose}\n{description}\n\nSiger du ja, så åbn linket og tryk på knappen:\n{link}\n\nSiger du nej, kan du sige det her, så spørger vi ikke igen:\n{decline}\n\nHar vi ikke fået svar senest {deadline}, stopper vi og sletter det, vi har om dig til dette.\n",
    permission_footer: "Du får denne ene forespørgsel, fordi du er kunde hos os. Se eller ændr det, vi har om dig: {preferences}\n",
};

pub fn mails(lang: Lang) -> &'static Mails {
    match lang {
        Lang::En => &EN,
        Lang::Nb => &NB,
        Lang::Sv => &SV,
        Lang::Da => &DA,
    }
}

/// Replaces `{name}` placeholders.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |s, (k, v)| s.replace(&format!("{{{k}}}"), v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_placeholder() {
        for lang in Lang::ALL {
            let m = mails(lang);
            for (text, names) in [
                (m.confirm_body, &["{site}", "{purposes}", "{link}", "{days}"][..]),
                (m.receipt_body, &["{site}", "{events}", "{receipts}", "{preferences}"][..]),
                (m.link_body, &["{site}", "{link}", "{days}"][..]),
                (m.marketing_footer, &["{unsubscribe}", "{preferences}"][..]),
                (m.code_body, &["{site}", "{code}", "{minutes}"][..]),
                (m.extension_body, &["{site}", "{due}", "{reason}"][..]),
                (m.permission_subject, &["{site}"][..]),
                (m.reminder_subject, &["{site}"][..]),
                (
                    m.permission_body,
                    &["{message}", "{purpose}", "{description}", "{link}", "{decline}", "{deadline}"][..],
                ),
                (m.permission_footer, &["{preferences}"][..]),
            ] {
                for name in names {
                    assert!(text.contains(name), "{lang:?} misses {name}");
                }
            }
        }
    }
}
