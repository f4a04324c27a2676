//! The one way a secret is kept out of text that may quote configuration: error messages, log
//! lines and replies. A [`Redactor`] knows the secrets of a process (tokens, the passwords of
//! its service URLs) and blanks every form of them out of any text; [`redact_url`] shows a URL
//! without its credentials.
//!
//! A driver's message may quote a URL whole, in part, or percent-decoded, so a URL's secrets
//! are recorded in each of those forms.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use url::Url;

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
    replacements: Vec<(String, String)>,
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

    /// `text` with every secret replaced.
    pub fn scrub<'text>(&self, text: &'text str) -> Cow<'text, str> {
        let mut text = Cow::Borrowed(text);
        for (secret, shown) in &self.replacements {
            if text.contains(secret.as_str()) {
                text = Cow::Owned(text.replace(secret.as_str(), shown));
            }
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
        if secret.is_empty() || self.replacements.iter().any(|(known, _)| known == secret) {
            return;
        }
        let at = self
            .replacements
            .partition_point(|(known, _)| known.len() >= secret.len());
        self.replacements
            .insert(at, (secret.to_owned(), shown.to_owned()));
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Redactor")
            .field("secrets", &self.replacements.len())
            .finish()
    }
}

/// `url` as it may be shown: `user:password@` becomes `***@` and credential parameters
/// (`?password=…`) `***`. A URL too broken to parse loses everything between `://` and its
/// last `@`.
pub fn redact_url(url: &str) -> String {
    split_url(url).0
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
mod tests {
    use super::*;

    #[test]
    fn a_url_without_credentials_is_shown_as_is() {
        assert_eq!(
            redact_url("redis://127.0.0.1:6379/2"),
            "redis://127.0.0.1:6379/2"
        );
        let redactor = Redactor::new().with_url("redis://127.0.0.1:6379/2");
        assert_eq!(redactor.scrub("any text"), "any text");
    }

    #[test]
    fn user_and_password_become_stars_in_every_form() {
        let url = "redis://bot:s3cr%40t@cache.internal:6380/0";
        assert_eq!(redact_url(url), "redis://***@cache.internal:6380/0");
        let redactor = Redactor::new().with_url(url);
        let scrubbed = redactor.scrub("auth failed for bot:s3cr%40t and s3cr@t at {url}");
        assert!(!scrubbed.contains("s3cr"), "{scrubbed}");
        let whole = redactor.scrub(url);
        assert_eq!(whole, "redis://***@cache.internal:6380/0");
    }

    #[test]
    fn a_password_alone_is_hidden() {
        assert_eq!(
            redact_url("rediss://:hunter2@[::1]:6379"),
            "rediss://***@[::1]:6379"
        );
        let redactor = Redactor::new().with_url("rediss://:hunter2@[::1]:6379");
        assert_eq!(redactor.scrub("bad password hunter2"), "bad password ***");
    }

    #[test]
    fn an_at_sign_in_the_path_is_not_user_information() {
        let url = "redis+unix:///run/redis@1.sock?db=1&pass=hunter2";
        assert_eq!(
            redact_url(url),
            "redis+unix:///run/redis@1.sock?db=1&pass=***"
        );
        let redactor = Redactor::new().with_url(url);
        assert!(!redactor.scrub("pass=hunter2").contains("hunter2"));
    }

    #[test]
    fn a_url_that_does_not_parse_loses_its_user_information() {
        // A `/` in the password and a port that is not a number: the parser gives up.
        let url = "postgres://minstrel:pa/ss#w0rd@db.internal:port/minstrel";
        assert!(Url::parse(url).is_err());
        assert_eq!(redact_url(url), "postgres://***@db.internal:port/minstrel");
        let message = format!("The connection string '{url}' cannot be parsed.");
        let scrubbed = Redactor::new().with_url(url).scrub(&message).into_owned();
        assert!(!scrubbed.contains("pa/ss#w0rd"), "{scrubbed}");
        assert!(
            scrubbed.contains("postgres://***@db.internal"),
            "{scrubbed}"
        );
    }

    #[test]
    fn a_token_is_hidden_written_or_encoded() {
        let token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
        let redactor = Redactor::new().with_secret(token);
        let text = format!("a {token} b {} c", token.replace(':', "%3A"));
        assert_eq!(redactor.scrub(&text), "a <redacted> b <redacted> c");
        assert_eq!(Redactor::new().with_secret("  ").scrub("a b"), "a b");
    }

    #[test]
    fn an_error_chain_is_described_without_its_secrets() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("could not connect")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Outer(std::io::Error::other("password hunter2 refused"));
        let redactor = Redactor::new().with_url("postgres://bot:hunter2@db/x");
        assert_eq!(
            redactor.describe(&error),
            "could not connect: password *** refused"
        );
    }

    #[test]
    fn the_debug_form_shows_no_secret() {
        let redactor = Redactor::new().with_secret("hunter2");
        assert!(!format!("{redactor:?}").contains("hunter2"));
    }
}
