//! `/all`'s reply on Discord. The call itself goes to the linked Telegram chat, which mentions
//! each of its known members there ([`minstrel_app::BridgeService::call_chat`]); Discord only
//! hears whether it went and how many it reaches, not their names.

use minstrel_app::CallOutcome;

use crate::reply::Reply;

pub(crate) fn reply(outcome: CallOutcome) -> Reply {
    match outcome {
        CallOutcome::Sent { members } => Reply::info(
            "Calling Telegram",
            format!(
                "Sent to the linked Telegram chat, mentioning {}.",
                people(members)
            ),
        ),
        CallOutcome::NobodyKnown => Reply::info(
            "Telegram",
            "Nobody in the linked chat is known yet, so nobody was called. The bot gets to \
             know members when they write in the chat.",
        ),
        CallOutcome::Unreachable => {
            Reply::error("the Telegram side of this bot cannot be reached, so nobody was called")
        }
    }
}

/// "1 member", "3 members".
fn people(count: usize) -> String {
    if count == 1 {
        "1 member".to_owned()
    } else {
        format!("{count} members")
    }
}
