//! A Redis URL as this crate shows it: minstrel-app's one redaction of secrets, with the
//! sentence this crate's errors use.

use std::fmt;

use minstrel_app::ports::CacheError;
use minstrel_app::redact::RedactedUrl;

/// A URL as it may be shown, and what blanks its secrets out of an error message.
#[derive(Clone)]
pub(crate) struct Redacted {
    pub(crate) shown: String,
    url: RedactedUrl,
}

impl Redacted {
    /// `Redis at {url} {what}: {cause}`, credentials blanked out.
    pub(crate) fn unavailable(&self, what: &str, cause: &dyn fmt::Display) -> CacheError {
        CacheError::Unavailable(self.url.failure("Redis", what, cause))
    }
}

/// `url` with its user information and credential parameters shown as `***`.
pub(crate) fn redact_url(url: &str) -> Redacted {
    let url = RedactedUrl::new(url);
    Redacted {
        shown: url.shown().to_owned(),
        url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_message_names_the_server_without_its_password() {
        let redacted = redact_url("redis://:hunter2@127.0.0.1:1");
        assert_eq!(redacted.shown, "redis://***@127.0.0.1:1");
        let CacheError::Unavailable(message) =
            redacted.unavailable("could not be reached", &"NOAUTH hunter2 is wrong");
        assert_eq!(
            message,
            "Redis at redis://***@127.0.0.1:1 could not be reached: NOAUTH *** is wrong"
        );
    }
}
