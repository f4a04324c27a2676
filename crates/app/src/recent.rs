//! The tracks a guild's player played lately, from its queue's history (kept in memory, up to
//! [`minstrel_domain::queue::HISTORY_LIMIT`]): what the console's `history` shows, since the
//! durable history port is kept per Discord user and a console has none.

use minstrel_domain::{GuildId, Track};

use crate::error::MusicError;
use crate::music::MusicService;

impl MusicService {
    /// Page `page` (1-based) of `per_page` tracks this guild's player played, newest first
    /// (the track playing now is not among them). Empty past the end.
    ///
    /// # Errors
    /// When the guild's settings cannot be read to open its session.
    pub async fn recently_played(
        &self,
        guild: GuildId,
        page: usize,
        per_page: usize,
    ) -> Result<Vec<Track>, MusicError> {
        let session = self.session(guild).await?;
        let session = session.lock().await;
        Ok(session
            .queue
            .history()
            .rev()
            .skip(page.saturating_sub(1).saturating_mul(per_page))
            .take(per_page)
            .cloned()
            .collect())
    }
}
