//! Keeping the bot token out of logs and error messages, through minstrel-app's one redaction
//! ([`Redactor::with_bot_token`]): the token is part of every Bot API URL, so any error that
//! carries a URL (a `reqwest` connection error, a proxy message) carries the token. teloxide
//! hides it only when the secret has the usual 35 characters; this hides it always.

use minstrel_app::redact::{REDACTED, Redactor};

/// Returns `text` with `token` removed: the exact token, its percent-encoded form, its secret
/// half on its own, and anything shaped like a bot token after `bot` in a URL path.
pub fn redact_token(text: &str, token: &str) -> String {
    Redactor::new()
        .with_bot_token(token)
        .scrub(text)
        .into_owned()
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
    Redactor::new().with_bot_token(token).describe(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

    #[test]
    fn an_error_chain_is_described_without_the_token() {
        let error = std::io::Error::other(format!(
            "error sending request for url (https://api.telegram.org/bot{TOKEN}/GetMe)"
        ));
        assert_eq!(
            describe(&error, TOKEN),
            "error sending request for url (https://api.telegram.org/bot<redacted>/GetMe)"
        );
        assert_eq!(
            redact_token("a AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw b", TOKEN),
            "a <redacted> b"
        );
    }
}
