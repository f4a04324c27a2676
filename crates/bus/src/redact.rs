//! A Redis URL as the buses show it: through minstrel-app's one redaction of secrets.

use std::fmt;

use minstrel_app::ports::CacheError;
use minstrel_app::redact::{Redactor, redact_url};

/// A URL as it may be shown, and what blanks its secrets out of any text (a driver's error
/// message may quote parts of the URL).
#[derive(Clone)]
pub(crate) struct Redacted {
    pub(crate) shown: String,
    redactor: Redactor,
}

impl Redacted {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            shown: redact_url(url),
            redactor: Redactor::new().with_url(url),
        }
    }

    /// `Redis at {url} {what}: {cause}`, credentials blanked out.
    pub(crate) fn unavailable(&self, what: &str, cause: &dyn fmt::Display) -> CacheError {
        let text = format!("Redis at {} {what}: {cause}", self.shown);
        CacheError::Unavailable(self.redactor.scrub(&text).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_message_names_the_server_without_its_password() {
        let redacted = Redacted::new("redis://:hunter2@127.0.0.1:1");
        let CacheError::Unavailable(message) =
            redacted.unavailable("could not be reached", &"NOAUTH hunter2 is wrong");
        assert_eq!(
            message,
            "Redis at redis://***@127.0.0.1:1 could not be reached: NOAUTH *** is wrong"
        );
    }
}
