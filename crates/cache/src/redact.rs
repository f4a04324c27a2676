//! Keeps a service URL's credentials out of logs and error messages.

use std::fmt;

use minstrel_app::ports::CacheError;

/// A URL as it may be shown, with the secrets it held so they can be blanked out of any text
/// (a driver's error message may quote parts of the URL).
#[derive(Clone)]
pub(crate) struct Redacted {
    pub(crate) shown: String,
    secrets: Vec<String>,
}

impl Redacted {
    /// `text` with every secret of the URL replaced by `***`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "***");
        }
        text
    }

    /// `Redis at {url} {what}: {cause}`, credentials blanked out.
    pub(crate) fn unavailable(&self, what: &str, cause: &dyn fmt::Display) -> CacheError {
        CacheError::Unavailable(self.scrub(&format!("Redis at {} {what}: {cause}", self.shown)))
    }
}

/// Replaces the user information of `url` (`user:password@`) by `***@` and the values of
/// credential query parameters (`?password=…`) by `***`.
pub(crate) fn redact_url(url: &str) -> Redacted {
    let mut secrets = Vec::new();
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            if let Some((_, password)) = userinfo.split_once(':') {
                push_secret(&mut secrets, password);
            }
            push_secret(&mut secrets, userinfo);
            format!("***{}", &authority[at..])
        }
        None => authority.to_owned(),
    };
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    let mut shown = format!("{scheme}{authority}{path}");
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) if is_credential(name) => {
                    push_secret(&mut secrets, value);
                    format!("{name}=***")
                }
                _ => pair.to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    // Longest first, so a password inside the user information is not half replaced.
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    secrets.dedup();
    Redacted { shown, secrets }
}

fn is_credential(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "pass" | "password" | "user" | "username" | "token"
    )
}

/// Records `secret` as written in the URL and percent-decoded, as a driver may show either.
fn push_secret(secrets: &mut Vec<String>, secret: &str) {
    if secret.is_empty() {
        return;
    }
    secrets.push(secret.to_owned());
    let decoded = percent_decode(secret);
    if decoded != secret && !decoded.is_empty() {
        secrets.push(decoded);
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escape = bytes
            .get(index + 1..index + 3)
            .filter(|_| bytes[index] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escape {
            decoded.push(byte);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_without_credentials_is_shown_as_is() {
        let redacted = redact_url("redis://127.0.0.1:6379/2");
        assert_eq!(redacted.shown, "redis://127.0.0.1:6379/2");
        assert_eq!(redacted.scrub("any text"), "any text");
    }

    #[test]
    fn user_and_password_become_stars() {
        let redacted = redact_url("redis://bot:s3cr%40t@cache.internal:6380/0");
        assert_eq!(redacted.shown, "redis://***@cache.internal:6380/0");
        let scrubbed = redacted.scrub("auth failed for bot:s3cr%40t and s3cr@t");
        assert!(!scrubbed.contains("s3cr"), "{scrubbed}");
    }

    #[test]
    fn a_password_alone_is_hidden() {
        let redacted = redact_url("rediss://:hunter2@[::1]:6379");
        assert_eq!(redacted.shown, "rediss://***@[::1]:6379");
        assert_eq!(redacted.scrub("bad password hunter2"), "bad password ***");
    }

    #[test]
    fn an_at_sign_in_the_path_is_not_user_information() {
        let redacted = redact_url("redis+unix:///run/redis@1.sock?db=1&pass=hunter2");
        assert_eq!(
            redacted.shown,
            "redis+unix:///run/redis@1.sock?db=1&pass=***"
        );
        assert!(!redacted.scrub("pass=hunter2").contains("hunter2"));
    }

    #[test]
    fn the_error_message_names_the_server_without_its_password() {
        let redacted = redact_url("redis://:hunter2@127.0.0.1:1");
        let CacheError::Unavailable(message) =
            redacted.unavailable("could not be reached", &"NOAUTH hunter2 is wrong");
        assert_eq!(
            message,
            "Redis at redis://***@127.0.0.1:1 could not be reached: NOAUTH *** is wrong"
        );
    }
}
