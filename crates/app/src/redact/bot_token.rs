//! Telegram bot tokens (`<digits>:<secret>`): part of every Bot API URL (`/bot{token}/{method}`),
//! so any error that carries such a URL carries the token.

use super::REDACTED;

/// The shortest secret half taken for a token; shorter ones are too likely ordinary words.
pub(super) const MIN_SECRET_LENGTH: usize = 8;

/// A Bot API client's own mark for a token it hid from a URL, and how ours reads.
const FOREIGN_MARK: &str = "/token:redacted/";
const OUR_MARK: &str = "/bot<redacted>/";

fn is_secret_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || "_-".contains(character)
}

/// The length of the token at the start of `candidate` (what follows `bot`), if it has a
/// token's shape.
fn token_length(candidate: &str) -> Option<usize> {
    let digits = candidate
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(candidate.len());
    let secret = candidate[digits..].strip_prefix(':')?;
    let length = secret
        .find(|character: char| !is_secret_character(character))
        .unwrap_or(secret.len());
    (digits > 0 && length >= MIN_SECRET_LENGTH).then_some(digits + 1 + length)
}

/// `text` with every `bot<digits>:<secret>` (the shape of a token in a Bot API URL) replaced by
/// `bot<redacted>`, whatever the token is.
pub(super) fn scrub_shapes(text: &str) -> String {
    let mut output = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find("bot") {
        let (before, candidate) = rest.split_at(found + 3);
        output.push_str(before);
        match token_length(candidate) {
            Some(length) => {
                output.push_str(REDACTED);
                rest = &candidate[length..];
            }
            None => rest = candidate,
        }
    }
    output.push_str(rest);
    output.replace(FOREIGN_MARK, OUR_MARK)
}

/// The token of a Bot API path (`/bot123:secret/getMe`), if its first segment holds one.
pub(super) fn in_path(path: &str) -> Option<String> {
    let candidate = path.strip_prefix("/bot")?;
    let length = token_length(candidate)?;
    let after = &candidate[length..];
    (after.is_empty() || after.starts_with('/')).then(|| candidate[..length].to_owned())
}
