//! The names of the metrics this crate records: the same strings the binary's exporter
//! describes (`ops::metric` builds its names from these, so they cannot drift).

use std::time::Instant;

use crate::commands::COMMAND_NAMES;

/// Counter, labels `frontend`, `command` and `outcome` ([`Outcome::as_str`]).
pub const COMMANDS_TOTAL: &str = "minstrel_commands_total";
/// Histogram: seconds from an interaction arriving to Discord accepting its acknowledgement.
pub const INTERACTION_ACK_SECONDS: &str = "minstrel_interaction_ack_seconds";
/// The `frontend` label of this crate's commands.
pub const FRONTEND: &str = "discord";

/// How a command ended: one spelling of the `outcome` label for every front-end.
pub use minstrel_app::vocabulary::Outcome;

/// The `command` label for `name`: one of ours, or `unknown`, so a stray name cannot grow
/// the label set.
pub(crate) fn command_label(name: &str) -> &'static str {
    COMMAND_NAMES
        .iter()
        .find(|known| **known == name)
        .copied()
        .unwrap_or("unknown")
}

pub(crate) fn record_command(name: &str, outcome: Outcome) {
    metrics::counter!(
        COMMANDS_TOTAL,
        "frontend" => FRONTEND,
        "command" => command_label(name),
        "outcome" => outcome.as_str(),
    )
    .increment(1);
}

pub(crate) fn record_ack(received: Instant) {
    metrics::histogram!(INTERACTION_ACK_SECONDS).record(received.elapsed().as_secs_f64());
}
