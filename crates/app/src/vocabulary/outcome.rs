//! How a command ended, the same for every front-end: the `outcome` label of the
//! `minstrel_commands_total` counter they all count into.

/// How a command ended, as the `outcome` label spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Outcome {
    /// It did what was asked (help and usage lists included).
    #[default]
    Ok,
    /// It was refused: a wrong argument, a missing permission, an unlinked chat, nothing to
    /// skip…
    UserError,
    /// It failed on our side (storage, player, the member directory, the acknowledgement).
    InternalError,
}

impl Outcome {
    pub const ALL: [Self; 3] = [Self::Ok, Self::UserError, Self::InternalError];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::UserError => "user_error",
            Self::InternalError => "internal_error",
        }
    }
}
