//! The one redaction: URLs, tokens, error chains and Telegram bot tokens.

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

#[test]
fn a_service_failure_names_the_server_without_its_password() {
    let url = RedactedUrl::new("redis://:hunter2@127.0.0.1:1");
    assert_eq!(url.shown(), "redis://***@127.0.0.1:1");
    assert_eq!(
        url.failure("Redis", "could not be reached", &"NOAUTH hunter2 is wrong"),
        "Redis at redis://***@127.0.0.1:1 could not be reached: NOAUTH *** is wrong"
    );
    assert!(!format!("{url:?}").contains("hunter2"));
}

#[test]
fn a_bot_token_in_a_url_path_is_hidden() {
    let url = format!("https://api.telegram.org/bot{BOT_TOKEN}/getUpdates?offset=3");
    assert_eq!(
        redact_url(&url),
        "https://api.telegram.org/bot***/getUpdates?offset=3"
    );
    let scrubbed = Redactor::new()
        .with_url(&url)
        .scrub(&format!("at {url}: {BOT_TOKEN}"))
        .into_owned();
    assert!(!scrubbed.contains(BOT_SECRET), "{scrubbed}");
    // A path that only starts like one keeps its words.
    assert_eq!(
        redact_url("https://example.com/bottles/12:34"),
        "https://example.com/bottles/12:34"
    );
}

const BOT_TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const BOT_SECRET: &str = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

fn redact_bot_token(text: &str, token: &str) -> String {
    Redactor::new()
        .with_bot_token(token)
        .scrub(text)
        .into_owned()
}

#[test]
fn removes_the_exact_bot_token_from_a_url() {
    let text = format!(
        "error sending request for url (https://api.telegram.org/bot{BOT_TOKEN}/GetUpdates)"
    );
    let redacted = redact_bot_token(&text, BOT_TOKEN);
    assert!(!redacted.contains(BOT_TOKEN), "{redacted}");
    assert!(!redacted.contains(BOT_SECRET));
    assert_eq!(
        redacted,
        "error sending request for url (https://api.telegram.org/bot<redacted>/GetUpdates)"
    );
}

#[test]
fn removes_encoded_and_half_bot_tokens_and_unknown_tokens_of_token_shape() {
    let encoded = BOT_TOKEN.replace(':', "%3A");
    let text = format!("a {encoded} b {BOT_SECRET} c /bot42:short_but_long_enough/x");
    let redacted = redact_bot_token(&text, BOT_TOKEN);
    assert!(!redacted.contains(BOT_SECRET), "{redacted}");
    assert!(!redacted.contains("short_but_long_enough"), "{redacted}");
    assert!(redacted.contains("/bot<redacted>/x"), "{redacted}");
}

#[test]
fn a_bot_api_clients_own_mark_reads_like_ours() {
    let text = "error sending request for url (http://127.0.0.1:9/token:redacted/GetMe)";
    assert_eq!(
        redact_bot_token(text, BOT_TOKEN),
        "error sending request for url (http://127.0.0.1:9/bot<redacted>/GetMe)"
    );
}

#[test]
fn bot_token_redaction_leaves_ordinary_text_alone() {
    let text = "the robot said bot:1 and bottle 12:34";
    assert_eq!(redact_bot_token(text, BOT_TOKEN), text);
    assert_eq!(redact_bot_token("", ""), "");
    assert_eq!(redact_bot_token("plain bot", ""), "plain bot");
}
