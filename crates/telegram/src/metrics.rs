//! The names of the metrics this crate records: the same strings the binary's exporter
//! describes (`ops::metric` builds its names from these, so they cannot drift).

use minstrel_app::vocabulary::Surface;

use crate::commands::Command;

/// Counter, labels `frontend`, `command` and `outcome` ([`Outcome::as_str`]); the same
/// counter the Discord front-end counts into.
pub const COMMANDS_TOTAL: &str = "minstrel_commands_total";
/// The `frontend` label of this crate's commands.
pub const FRONTEND: &str = "telegram";

/// How a command ended: one spelling of the `outcome` label for every front-end.
pub use minstrel_app::vocabulary::Outcome;

/// The `command` label: the command's name as typed, without arguments.
pub(crate) fn command_label(command: &Command) -> &'static str {
    match crate::parity::surface(command.entry().0) {
        Surface::Offered(name) => name.split(' ').next().unwrap_or(name),
        Surface::Absent(_) => "other",
    }
}

pub(crate) fn record_command(command: &'static str, outcome: Outcome) {
    metrics::counter!(
        COMMANDS_TOTAL,
        "frontend" => FRONTEND,
        "command" => command,
        "outcome" => outcome.as_str(),
    )
    .increment(1);
}

#[cfg(test)]
mod tests {
    use teloxide::utils::command::BotCommands;

    use super::*;

    #[test]
    fn every_label_is_the_name_telegram_registers() {
        let registered: Vec<String> = crate::commands::registered_commands()
            .into_iter()
            .map(|command| command.command)
            .collect();
        for name in &registered {
            let text = format!("/{name} x");
            let command = Command::parse(&text, "minstrel_bot")
                .or_else(|_| Command::parse(&format!("/{name}"), "minstrel_bot"))
                .unwrap();
            assert_eq!(command_label(&command), name);
        }
        assert_eq!(registered.len(), 26);
    }
}
