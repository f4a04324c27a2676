//! `MusicService::recently_played`: a guild's played tracks, newest first, paged.

use minstrel_domain::AddPosition;

use super::{Fixture, guild};
use crate::policy::Actor;

#[tokio::test]
async fn recently_played_lists_the_finished_tracks_newest_first() {
    let harness = Fixture::new().build();
    let music = &harness.music;
    assert_eq!(music.recently_played(guild(), 1, 10).await, Ok(Vec::new()));
    for title in ["A", "B", "C"] {
        music
            .play(guild(), &Actor::console(), title, AddPosition::End)
            .await
            .unwrap();
    }
    music.skip(guild(), &Actor::console()).await.unwrap();
    music.skip(guild(), &Actor::console()).await.unwrap();

    let titles = |tracks: Vec<minstrel_domain::Track>| -> Vec<String> {
        tracks.into_iter().map(|track| track.title).collect()
    };
    assert_eq!(
        titles(music.recently_played(guild(), 1, 10).await.unwrap()),
        ["B", "A"],
        "C plays now and is not history yet"
    );
    assert_eq!(
        titles(music.recently_played(guild(), 2, 1).await.unwrap()),
        ["A"]
    );
    assert!(
        music
            .recently_played(guild(), 3, 1)
            .await
            .unwrap()
            .is_empty()
    );
}
