//! The one way a secret is kept out of text that may quote configuration: error messages, log
//! lines and replies. A [`Redactor`] knows the secrets of a process (tokens, the passwords of
//! its service URLs, a Telegram bot token) and blanks every form of them out of any text;
//! [`redact_url`] shows a URL without its credentials and [`RedactedUrl`] keeps both together
//! for an adapter that names its service in errors.
//!
//! A driver's message may quote a URL whole, in part, or percent-decoded, so a URL's secrets
//! are recorded in each of those forms. The secrets themselves are held as [`SecretString`]s:
//! never printed by `Debug`, wiped from memory when the redactor is dropped.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::percent_decode_str;
pub use secrecy::{ExposeSecret, SecretString};
use url::Url;

mod bot_token;

/// What stands for a secret in text.
pub const REDACTED: &str = "<redacted>";
/// What stands for a URL's user information (`user:password@`) and credential parameters.
pub const REDACTED_CREDENTIALS: &str = "***";

/// Query parameters that carry credentials in a service URL (`?password=…`).
const CREDENTIAL_PARAMETERS: &[&str] = &["pass", "password", "user", "username", "token"];

/// The secrets of a process, to blank out of any text.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Text to find and what to show instead, the longest first so a secret that holds another
    /// is replaced whole.
    replacements: Vec<(SecretString, String)>,
    /// Whether anything shaped like a Telegram bot token in a Bot API path is blanked too,
    /// whatever the token (see [`Redactor::with_bot_token`]).
    bot_token_shapes: bool,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Also hides `url`'s credentials: the URL written whole becomes its [`redact_url`] form,
    /// and its `user:password`, password and credential parameters become `***` wherever they
    /// appear alone.
    #[must_use]
    pub fn with_url(mut self, url: &str) -> Self {
        let url = url.trim();
        if url.is_empty() {
            return self;
        }
        let (shown, secrets) = split_url(url);
        if shown != url {
            self.push(url, &shown);
        }
        for secret in secrets {
            self.push_forms(&secret, REDACTED_CREDENTIALS);
        }
        self
    }

    /// Also hides `secret` (a token), as written and percent-encoded.
    #[must_use]
    pub fn with_secret(mut self, secret: &str) -> Self {
        let secret = secret.trim();
        if !secret.is_empty() {
            self.push_forms(secret, REDACTED);
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            self.push(&encoded, REDACTED);
            self.push(&encoded.replace("%3A", "%3a"), REDACTED);
        }
        self
    }

    /// Also hides a Telegram bot token (`123456:secret`): as written and percent-encoded, its
    /// secret half alone, and anything shaped like a bot token after `bot` in a Bot API path
    /// (`/bot<digits>:<secret>/`), whatever the token is. A Bot API client's own mark for a
    /// token it hid (`/token:redacted/`) reads like ours.
    #[must_use]
    pub fn with_bot_token(mut self, token: &str) -> Self {
        let token = token.trim();
        self = self.with_secret(token);
        if let Some((_, secret)) = token.split_once(':')
            && secret.len() >= bot_token::MIN_SECRET_LENGTH
        {
            self = self.with_secret(secret);
        }
        self.bot_token_shapes = true;
        self
    }

    /// `text` with every secret replaced.
    pub fn scrub<'text>(&self, text: &'text str) -> Cow<'text, str> {
        let mut text = Cow::Borrowed(text);
        for (secret, shown) in &self.replacements {
            let secret = secret.expose_secret();
            if text.contains(secret.as_str()) {
                text = Cow::Owned(text.replace(secret.as_str(), shown));
            }
        }
        if self.bot_token_shapes {
            text = Cow::Owned(bot_token::scrub_shapes(&text));
        }
        text
    }

    /// An error and its causes on one line (`error: cause: cause`), secrets replaced.
    pub fn describe(&self, error: &(dyn std::error::Error + '_)) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        self.scrub(&text).into_owned()
    }

    /// Records `secret` as written and percent-decoded.
    fn push_forms(&mut self, secret: &str, shown: &str) {
        self.push(secret, shown);
        let decoded = percent_decode_str(secret).decode_utf8_lossy();
        if decoded != secret {
            self.push(&decoded, shown);
        }
    }

    fn push(&mut self, secret: &str, shown: &str) {
        if secret.is_empty()
            || self
                .replacements
                .iter()
                .any(|(known, _)| known.expose_secret() == secret)
        {
            return;
        }
        let at = self
            .replacements
            .partition_point(|(known, _)| known.expose_secret().len() >= secret.len());
        self.replacements
            .insert(at, (SecretString::new(secret.to_owned()), shown.to_owned()));
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Redactor")
            .field("secrets", &self.replacements.len())
            .field("bot_token_shapes", &self.bot_token_shapes)
            .finish()
    }
}

/// `url` as it may be shown: `user:password@` becomes `***@`, credential parameters
/// (`?password=…`) `***` and a bot token in a Bot API path (`/bot123:secret/`) `/bot***/`. A
/// URL too broken to parse loses everything between `://` and its last `@`.
pub fn redact_url(url: &str) -> String {
    split_url(url).0
}

/// A service URL as it may be shown, with what blanks its secrets out of any text (a driver's
/// error message may quote parts of the URL).
#[derive(Clone)]
pub struct RedactedUrl {
    shown: String,
    redactor: Redactor,
}

impl RedactedUrl {
    pub fn new(url: &str) -> Self {
        Self {
            shown: redact_url(url),
            redactor: Redactor::new().with_url(url),
        }
    }

    /// The URL without its credentials.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `text` with every secret of the URL replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        self.redactor.scrub(text).into_owned()
    }

    /// `{service} at {url} {what}: {cause}`, credentials blanked out: how an adapter says its
    /// service failed.
    pub fn failure(&self, service: &str, what: &str, cause: &dyn fmt::Display) -> String {
        self.scrub(&format!("{service} at {} {what}: {cause}", self.shown))
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.shown)
    }
}

/// The shown form of `url` and the secrets it holds.
fn split_url(url: &str) -> (String, Vec<String>) {
    match Url::parse(url) {
        Ok(parsed) => split_parsed(parsed),
        Err(_) => split_unparsed(url),
    }
}

fn split_parsed(mut url: Url) -> (String, Vec<String>) {
    let mut secrets = Vec::new();
    if !url.username().is_empty() || url.password().is_some() {
        // The user name alone is no secret, and hiding it would blank every word that holds it.
        if let Some(password) = url.password() {
            secrets.push(password.to_owned());
            secrets.push(format!("{}:{password}", url.username()));
        }
        // Both fail only for URLs without a host, which hold no user information.
        let _ = url.set_password(None);
        let _ = url.set_username(REDACTED_CREDENTIALS);
    }
    if url
        .query_pairs()
        .any(|(name, _)| is_credential_parameter(&name))
    {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                if is_credential_parameter(&name) {
                    secrets.push(value.clone().into_owned());
                    (name.into_owned(), REDACTED_CREDENTIALS.to_owned())
                } else {
                    (name.into_owned(), value.into_owned())
                }
            })
            .collect();
        // The raw text of each value too, as a message may quote it undecoded.
        if let Some(query) = url.query() {
            for pair in query.split('&') {
                if let Some((name, value)) = pair.split_once('=')
                    && is_credential_parameter(name)
                {
                    secrets.push(value.to_owned());
                }
            }
        }
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    if let Some(token) = bot_token::in_path(url.path()) {
        secrets.push(token.clone());
        let path = url.path().replacen(
            &format!("/bot{token}"),
            &format!("/bot{REDACTED_CREDENTIALS}"),
            1,
        );
        url.set_path(&path);
    }
    (url.to_string(), secrets)
}

fn split_unparsed(url: &str) -> (String, Vec<String>) {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    // A password may hold an unescaped `/`, `?` or `#`, which is often why the URL does not
    // parse: everything up to the last `@` counts as user information.
    let Some(at) = rest.rfind('@') else {
        return (url.to_owned(), Vec::new());
    };
    let user_information = &rest[..at];
    let mut secrets = vec![user_information.to_owned()];
    // The user name alone is no secret, and hiding it would blank every word that holds it.
    if let Some((_, password)) = user_information.split_once(':') {
        secrets.push(password.to_owned());
    }
    let shown = format!("{scheme}{REDACTED_CREDENTIALS}{}", &rest[at..]);
    (shown, secrets)
}

fn is_credential_parameter(name: &str) -> bool {
    CREDENTIAL_PARAMETERS
        .iter()
        .any(|credential| credential.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests;
