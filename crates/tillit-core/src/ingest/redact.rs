//! Redaction of personal data that sites leak into URLs: email addresses and long tokens (session
//! ids, password-reset tokens, JWTs) are replaced before anything is stored.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

pub const EMAIL_MARK: &str = "[email]";
pub const TOKEN_MARK: &str = "[token]";

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)[a-z0-9._%+\-]+(@|%40)[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}").ok());
/// Runs of 32+ token characters that mix letters and digits (hex digests, UUIDs, base64url
/// secrets). Plain long words (slugs without digits) are left alone.
static TOKEN: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9_\-.=+~]{32,}").ok());
/// [`TOKEN`]'s least run length.
const TOKEN_RUN: usize = 32;

/// Returns `s` with email addresses and long tokens replaced by markers.
pub fn redact(s: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(s);
    // Most URLs hold neither an `@` nor a long run of token characters, and a byte scan that
    // proves it is much cheaper than two regex searches (which also share a cache pool across
    // threads). Both checks are necessary conditions of the patterns, so nothing else changes.
    // The email mark is bracketed, so replacing an email only shortens token runs: a run in the
    // result was one in `s`, and the scan of `s` holds for both steps.
    let at = s.contains('@') || s.contains("%40");
    let token_run = has_token_run(s);
    if !at && !token_run {
        return out;
    }
    if let Some(email) = EMAIL.as_ref()
        && at
        && email.is_match(&out)
    {
        out = Cow::Owned(email.replace_all(&out, EMAIL_MARK).into_owned());
    }
    if let Some(token) = TOKEN.as_ref()
        && token_run
        && token.find_iter(&out).any(|m| looks_like_token(m.as_str()))
    {
        let replaced = token.replace_all(&out, |c: &regex::Captures<'_>| {
            let m = &c[0];
            if looks_like_token(m) { TOKEN_MARK.to_owned() } else { m.to_owned() }
        });
        out = Cow::Owned(replaced.into_owned());
    }
    out
}

/// Whether `s` holds a run of [`TOKEN_RUN`] or more characters of [`TOKEN`]'s class.
fn has_token_run(s: &str) -> bool {
    let mut run = 0;
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_-.=+~".contains(&b) {
            run += 1;
            if run >= TOKEN_RUN {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// A run is a token if one of its parts is long and mixes letters and digits (hex digests, base64
/// secrets, JWT segments) or if it holds a UUID. Date slugs such as `2025-11-25-launch-notes` are not.
fn looks_like_token(s: &str) -> bool {
    let mixed =
        |p: &&str| p.len() >= 16 && p.bytes().any(|b| b.is_ascii_digit()) && p.bytes().any(|b| b.is_ascii_alphabetic());
    let parts: Vec<&str> = s.split(['-', '_', '.', '=', '+', '~']).collect();
    let uuid = parts.windows(5).any(|w| {
        w.iter().zip([8, 4, 4, 4, 12]).all(|(p, len)| p.len() == len && p.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    uuid || parts.iter().any(mixed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The byte scans in front of the regexes only skip strings the regexes cannot match.
        #[test]
        fn the_shortcuts_skip_only_what_cannot_match(s in "([a-f0-9]{1,40}|[-_.=+~/?&@%]|%40|x@y\\.io|[A-Z]{1,9}){0,12}") {
            let email = EMAIL.as_ref().is_some_and(|r| r.is_match(&s));
            let token = TOKEN.as_ref().is_some_and(|r| r.is_match(&s));
            prop_assert!(!email || s.contains('@') || s.contains("%40"));
            prop_assert_eq!(token, has_token_run(&s));
            // Replacing emails never makes a token run the scan of the original missed.
            let replaced = EMAIL.as_ref().map_or(s.clone(), |r| r.replace_all(&s, EMAIL_MARK).into_owned());
            prop_assert!(!has_token_run(&replaced) || has_token_run(&s));
        }
    }

    #[test]
    fn emails_and_tokens_are_redacted() {
        assert_eq!(redact("/users/jane.doe@example.com/edit"), "/users/[email]/edit");
        assert_eq!(redact("/u/jane%40example.co.uk"), "/u/[email]");
        assert_eq!(redact("/reset/8f14e45fceea167a5a36dedd4bea2543"), "/reset/[token]");
        assert_eq!(redact("/o/550e8400-e29b-41d4-a716-446655440000"), "/o/[token]");
        assert_eq!(
            redact("/blog/a-very-long-article-slug-about-privacy-and-analytics"),
            "/blog/a-very-long-article-slug-about-privacy-and-analytics"
        );
        assert_eq!(redact("/pricing"), "/pricing");
        assert_eq!(
            redact("/blog/2025-11-25-launch-notes-for-the-new-release"),
            "/blog/2025-11-25-launch-notes-for-the-new-release"
        );
        assert_eq!(redact("/o/order-550e8400-e29b-41d4-a716-446655440000/x"), "/o/[token]/x");
    }
}
