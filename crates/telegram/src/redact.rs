//! Keeping the bot token out of logs and error messages.
//!
//! The token is part of every Bot API URL (`/bot{token}/{method}`), so any error that carries a
//! URL (a `reqwest` connection error, a proxy message) carries the token. teloxide hides it only
//! when the secret has the usual 35 characters; these helpers hide it always.

use minstrel_app::redact::{REDACTED, Redactor};

/// Returns `text` with `token` removed: the exact token, its percent-encoded form, its secret
/// half on its own, and anything shaped like a bot token after `bot` in a URL path.
pub fn redact_token(text: &str, token: &str) -> String {
    let token = token.trim();
    let mut redactor = Redactor::new().with_secret(token);
    if let Some((_, secret)) = token.split_once(':')
        && secret.len() >= 8
    {
        redactor = redactor.with_secret(secret);
    }
    // teloxide's own mark for a token it hid from a URL, spelled like ours.
    redact_token_shapes(&redactor.scrub(text)).replace("/token:redacted/", "/bot<redacted>/")
}

/// Replaces every `bot<digits>:<secret>` (the shape of a token in a Bot API URL) with
/// `bot<redacted>`, whatever the token is.
fn redact_token_shapes(text: &str) -> String {
    let is_secret = |character: char| character.is_ascii_alphanumeric() || "_-".contains(character);
    let mut output = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find("bot") {
        let (before, candidate) = rest.split_at(found + 3);
        output.push_str(before);
        let digits = candidate
            .find(|character: char| !character.is_ascii_digit())
            .unwrap_or(candidate.len());
        let after_digits = &candidate[digits..];
        let secret_length = after_digits
            .strip_prefix(':')
            .map(|secret| secret.find(|c: char| !is_secret(c)).unwrap_or(secret.len()));
        match secret_length {
            Some(length) if digits > 0 && length >= 8 => {
                output.push_str(REDACTED);
                rest = &after_digits[1 + length..];
            }
            _ => rest = candidate,
        }
    }
    output.push_str(rest);
    output
}

/// [`describe`] for a failed call of `method`, naming where it went. teloxide drops the URL
/// from a network error when it cannot find the token in it (any secret that is not 35
/// characters), which leaves "connection refused" without saying where; this puts the
/// address back, with the token redacted.
pub(crate) fn describe_request(
    error: &teloxide::RequestError,
    token: &str,
    api_url: &url::Url,
    method: &str,
) -> String {
    let text = describe(error, token);
    match error {
        teloxide::RequestError::Network(network) if network.url().is_none() => format!(
            "{text} (POST {}/bot{REDACTED}/{method})",
            api_url.origin().ascii_serialization()
        ),
        _ => text,
    }
}

/// An error's text with the token removed: the only way errors are turned into log lines and
/// replies in this crate.
pub(crate) fn describe(error: &dyn std::error::Error, token: &str) -> String {
    redact_token(&Redactor::new().describe(error), token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

    #[test]
    fn removes_the_exact_token_from_a_url() {
        let text = format!(
            "error sending request for url (https://api.telegram.org/bot{TOKEN}/GetUpdates)"
        );
        let redacted = redact_token(&text, TOKEN);
        assert!(!redacted.contains(TOKEN), "{redacted}");
        assert!(!redacted.contains("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"));
        assert_eq!(
            redacted,
            "error sending request for url (https://api.telegram.org/bot<redacted>/GetUpdates)"
        );
    }

    #[test]
    fn removes_encoded_and_half_tokens_and_unknown_tokens_of_token_shape() {
        let encoded = TOKEN.replace(':', "%3A");
        let secret = TOKEN.split_once(':').unwrap().1;
        let text = format!("a {encoded} b {secret} c /bot42:short_but_long_enough/x");
        let redacted = redact_token(&text, TOKEN);
        assert!(!redacted.contains(secret), "{redacted}");
        assert!(!redacted.contains("short_but_long_enough"), "{redacted}");
        assert!(redacted.contains("/bot<redacted>/x"), "{redacted}");
    }

    #[test]
    fn teloxides_mark_reads_like_ours() {
        let text = "error sending request for url (http://127.0.0.1:9/token:redacted/GetMe)";
        assert_eq!(
            redact_token(text, TOKEN),
            "error sending request for url (http://127.0.0.1:9/bot<redacted>/GetMe)"
        );
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let text = "the robot said bot:1 and bottle 12:34";
        assert_eq!(redact_token(text, TOKEN), text);
        assert_eq!(redact_token("", ""), "");
        assert_eq!(redact_token("plain bot", ""), "plain bot");
    }
}
