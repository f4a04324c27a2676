//! Text from outside (file names, tags, a site's titles, a user's query) made safe to show on
//! one line of a reply.

use std::borrow::Cow;

/// `text` with every character that could break or restyle a one-line reply replaced by a
/// space: control characters (line breaks, tabs, terminal escape sequences), the Unicode line
/// and paragraph separators, and the bidirectional overrides that make text read in another
/// order than it is written. Text without them is returned as is.
pub fn single_line(text: &str) -> Cow<'_, str> {
    if text.chars().any(breaks_a_line) {
        Cow::Owned(
            text.chars()
                .map(|character| {
                    if breaks_a_line(character) {
                        ' '
                    } else {
                        character
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

fn breaks_a_line(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_kept_as_is() {
        assert!(matches!(
            single_line("Rick Astley – Never Gonna Give You Up ♪"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn line_breaks_escapes_and_overrides_become_spaces() {
        assert_eq!(
            single_line("song\nnow playing: forged\r\u{1b}[31mred\u{2028}x\u{202E}y\u{85}z\t"),
            "song now playing: forged  [31mred x y z "
        );
    }
}
