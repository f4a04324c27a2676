//! Replies: embeds in one consistent style, and the buttons under `nowplaying` and `queue`.

use std::fmt::Write as _;

use minstrel_app::ports::LoadProgress;
use minstrel_app::{MusicError, NowPlaying, Preview, QueuePage};
use minstrel_domain::track::format_duration;
use minstrel_domain::{FilterSpec, PlaybackState, Track};
use twilight_model::channel::message::Embed;
use twilight_model::channel::message::component::{
    ActionRow, Button, ButtonStyle, Component, SelectMenu, SelectMenuOption, SelectMenuType,
};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFooterBuilder};

/// The accent colour of every normal reply.
pub const ACCENT: u32 = 0x005C_6BC0;
/// The colour of refusals and failures.
pub const ERROR: u32 = 0x00E5_3935;

/// Discord's limit for an embed description.
const DESCRIPTION_LIMIT: usize = 4096;

/// Custom ids of the buttons.
pub(crate) mod button {
    pub(crate) const PLAY_PAUSE: &str = "np:playpause";
    pub(crate) const SKIP: &str = "np:skip";
    pub(crate) const STOP: &str = "np:stop";
    pub(crate) const LOOP: &str = "np:loop";
    pub(crate) const SHUFFLE: &str = "np:shuffle";
    /// Followed by the 1-based page to show.
    pub(crate) const QUEUE_PAGE: &str = "queue:page:";
    /// The preset select menu under `/filter`.
    pub(crate) const FILTER_MENU: &str = "filter:preset";
}

/// What goes into the original response.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub embed: Embed,
    pub components: Vec<Component>,
    /// A file sent with the reply (a preview clip).
    pub file: Option<ReplyFile>,
}

/// A file attached to a reply.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplyFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for ReplyFile {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ReplyFile")
            .field("name", &self.name)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Reply {
    /// A normal reply: a title and a few lines.
    pub fn info(title: &str, description: impl Into<String>) -> Self {
        Self::styled(ACCENT, title, &description.into())
    }

    /// A refusal or failure: one clear sentence.
    pub fn error(sentence: &str) -> Self {
        Self::styled(ERROR, "Sorry", &sentence_case(sentence))
    }

    /// The reply for a use-case error. Internal failures are logged with their cause by the
    /// caller; the member only sees the error's own sentence, which never carries the cause.
    pub fn from_music_error(error: &MusicError) -> Self {
        Self::error(&error.to_string())
    }

    fn styled(colour: u32, title: &str, description: &str) -> Self {
        let mut builder = EmbedBuilder::new()
            .color(colour)
            .title(title)
            .footer(EmbedFooterBuilder::new("minstrel"));
        if !description.is_empty() {
            builder = builder.description(truncate(description, DESCRIPTION_LIMIT));
        }
        Self {
            embed: builder.build(),
            components: Vec::new(),
            file: None,
        }
    }

    #[must_use]
    pub fn with_components(mut self, components: Vec<Component>) -> Self {
        self.components = components;
        self
    }

    #[must_use]
    pub fn with_file(mut self, name: String, bytes: Vec<u8>) -> Self {
        self.file = Some(ReplyFile { name, bytes });
        self
    }

    /// The embed's text (title and description), for tests and logs.
    pub fn text(&self) -> String {
        format!(
            "{}: {}",
            self.embed.title.as_deref().unwrap_or_default(),
            self.embed.description.as_deref().unwrap_or_default()
        )
    }
}

/// "nothing is playing" → "Nothing is playing."
pub(crate) fn sentence_case(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let mut sentence: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !sentence.ends_with(['.', '!', '?', ')']) {
        sentence.push('.');
    }
    sentence
}

fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Escapes Discord markdown in a user-controlled title.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(
            character,
            '*' | '_' | '`' | '~' | '|' | '>' | '[' | ']' | '\\'
        ) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

pub(crate) fn describe(track: &Track) -> String {
    let title = escape(&track.display_title());
    match track.duration {
        Some(duration) => format!("**{title}** `{}`", format_duration(duration)),
        None => format!("**{title}**"),
    }
}

pub(crate) fn format_filters(spec: &FilterSpec) -> String {
    let names = spec.labels();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

pub(crate) fn progress_bar(position: std::time::Duration, total: std::time::Duration) -> String {
    const WIDTH: usize = 18;
    let ratio = if total.is_zero() {
        0.0
    } else {
        (position.as_secs_f64() / total.as_secs_f64()).clamp(0.0, 1.0)
    };
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let filled = ((ratio * WIDTH as f64).round() as usize).min(WIDTH);
    format!(
        "{}🔘{}",
        "▬".repeat(filled),
        "▬".repeat(WIDTH.saturating_sub(filled))
    )
}

fn button(custom_id: &str, label: &str, style: ButtonStyle) -> Component {
    Component::Button(Button {
        id: None,
        custom_id: Some(custom_id.to_owned()),
        disabled: false,
        emoji: None,
        label: Some(label.to_owned()),
        style,
        url: None,
        sku_id: None,
    })
}

fn row(components: Vec<Component>) -> Component {
    Component::ActionRow(ActionRow {
        id: None,
        components,
    })
}

pub(crate) fn now_playing(now: &NowPlaying, note: Option<&str>) -> Reply {
    let mut text = String::new();
    if let Some(note) = note {
        let _ = writeln!(text, "{}\n", sentence_case(note));
    }
    let _ = writeln!(text, "{}", describe(&now.track));
    if let Some(total) = now.track.duration {
        let _ = writeln!(
            text,
            "{} `{}/{}`",
            progress_bar(now.position, total),
            format_duration(now.position),
            format_duration(total)
        );
    }
    let _ = write!(
        text,
        "{} · volume {} · repeat {} · filters {} · {} upcoming\nrequested by {}",
        now.state,
        now.volume,
        now.repeat,
        format_filters(&now.filters),
        now.upcoming,
        escape(&now.track.requested_by.display_name),
    );
    let play_pause = if now.state == PlaybackState::Paused {
        "Resume"
    } else {
        "Pause"
    };
    Reply::info("Now playing", text).with_components(vec![row(vec![
        button(button::PLAY_PAUSE, play_pause, ButtonStyle::Primary),
        button(button::SKIP, "Skip", ButtonStyle::Secondary),
        button(button::STOP, "Stop", ButtonStyle::Danger),
        button(button::LOOP, "Loop", ButtonStyle::Secondary),
        button(button::SHUFFLE, "Shuffle", ButtonStyle::Secondary),
    ])])
}

/// Discord's limits for a select menu option's label and description.
const OPTION_TEXT_LIMIT: usize = 100;

/// The active filters with a select menu of every preset: choosing one adds it.
pub(crate) fn filter_menu(
    active: &FilterSpec,
    presets: &[(&'static str, &'static str)],
    note: Option<&str>,
) -> Reply {
    let mut text = String::new();
    if let Some(note) = note {
        let _ = writeln!(text, "{}\n", sentence_case(note));
    }
    let _ = write!(
        text,
        "Active filters: {}.\nPick a preset to add it, or set filters by hand with the options of /filter.",
        format_filters(active)
    );
    let options = presets
        .iter()
        .take(25)
        .map(|(name, description)| SelectMenuOption {
            default: false,
            description: Some(truncate(description, OPTION_TEXT_LIMIT)),
            emoji: None,
            label: truncate(name, OPTION_TEXT_LIMIT),
            value: (*name).to_owned(),
        })
        .collect();
    let menu = Component::SelectMenu(SelectMenu {
        id: None,
        channel_types: None,
        custom_id: button::FILTER_MENU.to_owned(),
        default_values: None,
        disabled: false,
        kind: SelectMenuType::Text,
        max_values: Some(1),
        min_values: Some(1),
        options: Some(options),
        placeholder: Some("Add a preset".to_owned()),
        required: None,
    });
    Reply::info("Filters", text).with_components(vec![row(vec![menu])])
}

/// A preview clip as a WAV attachment, with what it is of.
pub(crate) fn preview(preview: &Preview) -> Reply {
    let tried = preview.preset.map_or_else(
        || "the active filters".to_owned(),
        |preset| format!("`{}`", preset.name()),
    );
    let text = format!(
        "{} from {} with {tried} (filters: {}). Nothing changed for the listeners: \
         /filter applies it.",
        describe(&preview.track),
        format_duration(preview.start),
        format_filters(&preview.filters),
    );
    let name = preview.preset.map_or("preview", |preset| preset.name());
    let file_name: String = name
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    Reply::info(
        &format!("Preview · {} s", preview.clip.duration.as_secs()),
        text,
    )
    .with_file(format!("{file_name}.wav"), preview.clip.wav.clone())
}

/// The answer shown while a playlist is still loading page by page.
pub(crate) fn loading(progress: LoadProgress) -> Reply {
    Reply::info(
        "Loading the playlist",
        format!(
            "{} track(s) found so far (at most {} are loaded)…",
            progress.loaded, progress.cap
        ),
    )
}

pub(crate) fn queue(page: &QueuePage) -> Reply {
    let mut text = match &page.current {
        Some(track) => format!("Now: {}", describe(track)),
        None => "Now: nothing".to_owned(),
    };
    if page.total == 0 {
        text.push_str("\n\nThe queue is empty.");
        return Reply::info("Queue", text);
    }
    text.push('\n');
    for (index, track) in &page.items {
        let _ = write!(text, "\n`{:>3}.` {}", index + 1, describe(track));
    }
    let _ = write!(
        text,
        "\n\npage {}/{} · {} track(s) · {} · repeat {}",
        page.page,
        page.pages,
        page.total,
        format_duration(page.total_duration),
        page.repeat
    );
    let mut reply = Reply::info("Queue", text);
    if page.pages > 1 {
        let mut previous = button(
            &format!(
                "{}{}",
                button::QUEUE_PAGE,
                page.page.saturating_sub(1).max(1)
            ),
            "Previous",
            ButtonStyle::Secondary,
        );
        let mut next = button(
            &format!("{}{}", button::QUEUE_PAGE, (page.page + 1).min(page.pages)),
            "Next",
            ButtonStyle::Secondary,
        );
        if let Component::Button(button) = &mut previous {
            button.disabled = page.page <= 1;
        }
        if let Component::Button(button) = &mut next {
            button.disabled = page.page >= page.pages;
        }
        reply = reply.with_components(vec![row(vec![previous, next])]);
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_one_sentence() {
        let reply = Reply::from_music_error(&MusicError::NothingPlaying);
        assert_eq!(
            reply.embed.description.as_deref(),
            Some("Nothing is playing.")
        );
        assert_eq!(reply.embed.color, Some(ERROR));
        assert_eq!(sentence_case("done!"), "Done!");
    }

    #[test]
    fn the_filter_menu_lists_every_preset_within_discords_limits() {
        let presets: Vec<_> = minstrel_domain::Preset::ALL
            .iter()
            .map(|preset| (preset.name(), preset.description()))
            .collect();
        let reply = filter_menu(&FilterSpec::default(), &presets, None);
        let Component::ActionRow(row) = &reply.components[0] else {
            panic!("{:?}", reply.components);
        };
        let Component::SelectMenu(menu) = &row.components[0] else {
            panic!("{row:?}");
        };
        assert_eq!(menu.custom_id, button::FILTER_MENU);
        let options = menu.options.as_ref().unwrap();
        assert_eq!(options.len(), presets.len());
        assert!(options.len() <= 25);
        for option in options {
            assert!(option.label.chars().count() <= OPTION_TEXT_LIMIT);
            assert!(
                option
                    .description
                    .as_ref()
                    .is_some_and(|text| text.chars().count() <= OPTION_TEXT_LIMIT)
            );
        }
        twilight_validate::component::component_v1(&reply.components[0]).unwrap();
        assert!(
            reply.text().contains("Active filters: none."),
            "{}",
            reply.text()
        );
    }

    #[test]
    fn titles_cannot_inject_markdown_and_bars_stay_in_bounds() {
        assert_eq!(escape("**bold** [x](y)"), "\\*\\*bold\\*\\* \\[x\\](y)");
        let bar = progress_bar(
            std::time::Duration::from_secs(500),
            std::time::Duration::from_secs(100),
        );
        assert_eq!(bar.chars().filter(|c| *c == '▬').count(), 18);
        let long = "x".repeat(5000);
        let reply = Reply::info("t", long);
        assert_eq!(
            reply.embed.description.unwrap().chars().count(),
            DESCRIPTION_LIMIT
        );
    }
}
