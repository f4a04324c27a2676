//! The inline keyboard under now-playing and queue messages, and its callback data.

use minstrel_domain::RepeatMode;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

/// One button of the player keyboard. Callback data is `mp:<name>` (well under Telegram's
/// 64-byte limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Button {
    Pause,
    Resume,
    Skip,
    Stop,
    Loop,
    Shuffle,
    VolumeDown,
    VolumeUp,
}

/// How much one volume button changes the volume, in percent.
pub(crate) const VOLUME_STEP: i64 = 10;

impl Button {
    const ALL: [Self; 8] = [
        Self::Pause,
        Self::Resume,
        Self::Skip,
        Self::Stop,
        Self::Loop,
        Self::Shuffle,
        Self::VolumeDown,
        Self::VolumeUp,
    ];

    pub(crate) fn data(self) -> &'static str {
        match self {
            Self::Pause => "mp:pause",
            Self::Resume => "mp:resume",
            Self::Skip => "mp:skip",
            Self::Stop => "mp:stop",
            Self::Loop => "mp:loop",
            Self::Shuffle => "mp:shuffle",
            Self::VolumeDown => "mp:vol-",
            Self::VolumeUp => "mp:vol+",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Pause => "⏸ Pause",
            Self::Resume => "▶ Resume",
            Self::Skip => "⏭ Skip",
            Self::Stop => "⏹ Stop",
            Self::Loop => "🔁 Loop",
            Self::Shuffle => "🔀 Shuffle",
            Self::VolumeDown => "🔉 −10",
            Self::VolumeUp => "🔊 +10",
        }
    }

    pub(crate) fn parse(data: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|button| button.data() == data)
    }

    fn button(self) -> InlineKeyboardButton {
        InlineKeyboardButton::callback(self.label(), self.data())
    }
}

/// The Loop button's label: the repeat mode it shows now (pressing it moves to the next).
fn loop_label(repeat: Option<RepeatMode>) -> String {
    match repeat {
        None => Button::Loop.label().to_owned(),
        Some(RepeatMode::Off) => "🔁 Loop: off".to_owned(),
        Some(RepeatMode::Track) => "🔂 Loop: track".to_owned(),
        Some(RepeatMode::Queue) => "🔁 Loop: queue".to_owned(),
    }
}

/// Pause or resume (whichever applies), skip, stop; loop (showing `repeat` when known),
/// shuffle, volume ±.
pub(crate) fn player_keyboard(paused: bool, repeat: Option<RepeatMode>) -> InlineKeyboardMarkup {
    let toggle = if paused {
        Button::Resume
    } else {
        Button::Pause
    };
    InlineKeyboardMarkup::new([
        vec![
            toggle.button(),
            Button::Skip.button(),
            Button::Stop.button(),
        ],
        vec![
            InlineKeyboardButton::callback(loop_label(repeat), Button::Loop.data()),
            Button::Shuffle.button(),
            Button::VolumeDown.button(),
            Button::VolumeUp.button(),
        ],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_round_trips_and_fits_telegrams_limit() {
        for button in Button::ALL {
            assert_eq!(Button::parse(button.data()), Some(button));
            assert!(button.data().len() <= 64);
        }
        assert_eq!(Button::parse("mp:nope"), None);
    }

    #[test]
    fn the_loop_button_shows_the_repeat_mode() {
        let labels = |repeat| -> Vec<String> {
            player_keyboard(false, repeat)
                .inline_keyboard
                .concat()
                .into_iter()
                .map(|button| button.text)
                .collect()
        };
        assert!(labels(None).contains(&"🔁 Loop".to_owned()));
        assert!(labels(Some(RepeatMode::Track)).contains(&"🔂 Loop: track".to_owned()));
        assert!(labels(Some(RepeatMode::Off)).contains(&"🔁 Loop: off".to_owned()));
    }
}
