//! Long playlists: the first page plays at once, the rest loads in the background.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use minstrel_domain::{AddPosition, DomainEvent};
use tokio::sync::{Notify, mpsc};

use super::{Fixture, Harness, guild, info, infos};
use crate::error::MusicError;
use crate::policy::Actor;
use crate::ports::{
    LoadProgress, PageSink, ProgressSink, ResolveError, TrackInfo, TrackPage, TrackResolver,
};

/// How long a test waits for something the service must do on its own before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

/// One step of a scripted load.
enum Step {
    Page(TrackPage),
    /// Waits until the test releases it.
    Hold(Arc<Notify>),
    /// Ends the load with an error.
    Fail(ResolveError),
}

fn page(titles: &[&str], more: bool) -> Step {
    Step::Page(TrackPage {
        tracks: infos(titles),
        skipped: 0,
        more,
    })
}

/// A page none of whose `entries` could be loaded.
fn failed_page(entries: usize) -> Step {
    Step::Page(TrackPage {
        tracks: Vec::new(),
        skipped: entries,
        more: true,
    })
}

/// What the tests play as a long playlist; any other query is one track of that title.
const PLAYLIST: &str = "https://example.com/playlist";

/// A resolver that delivers [`PLAYLIST`] page by page as its script says. Its progress
/// reports never say done: only the service knows when the load is over.
struct ScriptedPages {
    steps: Vec<Step>,
}

#[async_trait]
impl TrackResolver for ScriptedPages {
    /// The whole playlist at once, once every page came (as a resolver without pages).
    async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        if query != PLAYLIST {
            return Ok(vec![info(query)]);
        }
        let mut tracks = Vec::new();
        for step in &self.steps {
            match step {
                Step::Page(page) => tracks.extend(page.tracks.iter().cloned()),
                Step::Hold(gate) => gate.notified().await,
                Step::Fail(error) if tracks.is_empty() => return Err(error.clone()),
                Step::Fail(_) => break,
            }
        }
        Ok(tracks)
    }

    async fn resolve_pages(&self, query: &str, pages: PageSink) -> Result<(), ResolveError> {
        if query != PLAYLIST {
            let tracks = vec![info(query)];
            let single = TrackPage {
                tracks,
                skipped: 0,
                more: false,
            };
            pages.send(single).await;
            return Ok(());
        }
        let (mut loaded, mut skipped) = (0, 0);
        for step in &self.steps {
            match step {
                Step::Page(page) => {
                    loaded += page.tracks.len();
                    skipped += page.skipped;
                    if let Some(progress) = pages.progress() {
                        progress(LoadProgress {
                            loaded,
                            cap: 100,
                            done: false,
                            skipped,
                        });
                    }
                    if !pages.send(page.clone()).await {
                        return Ok(());
                    }
                }
                Step::Hold(gate) => gate.notified().await,
                Step::Fail(error) => return Err(error.clone()),
            }
        }
        Ok(())
    }
}

/// A playlist of two pages, the second held until the test notifies the gate.
fn held_playlist(first: &[&str], second: &[&str]) -> (Harness, Arc<Notify>) {
    let gate = Arc::new(Notify::new());
    let steps = vec![
        page(first, true),
        Step::Hold(Arc::clone(&gate)),
        page(second, false),
    ];
    (harness(steps), gate)
}

fn harness(steps: Vec<Step>) -> Harness {
    let mut fixture = Fixture::new();
    fixture.resolver_override = Some(Arc::new(ScriptedPages { steps }));
    fixture.build()
}

/// A progress sink and what it heard.
fn progress() -> (ProgressSink, mpsc::UnboundedReceiver<LoadProgress>) {
    let (sender, reports) = mpsc::unbounded_channel();
    let sink: ProgressSink = Arc::new(move |report| {
        let _ = sender.send(report);
    });
    (sink, reports)
}

/// The report that says the load is over.
async fn load_done(reports: &mut mpsc::UnboundedReceiver<LoadProgress>) -> LoadProgress {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let report = reports.recv().await.expect("the load reports its end");
            if report.done {
                return report;
            }
        }
    })
    .await
    .expect("the load ended in time")
}

async fn play(
    harness: &Harness,
    sink: ProgressSink,
    placement: AddPosition,
) -> Result<crate::PlayOutcome, MusicError> {
    let actor = Actor::console();
    let play = harness
        .music
        .play_reporting(guild(), &actor, PLAYLIST, placement, Some(sink));
    tokio::time::timeout(PATIENCE, play)
        .await
        .expect("the play answers before the rest of the playlist loads")
}

fn titles(tracks: &[minstrel_domain::Track]) -> Vec<String> {
    tracks.iter().map(|track| track.title.clone()).collect()
}

#[tokio::test]
async fn the_first_page_plays_while_the_rest_loads_and_is_appended_in_order() {
    let gate = Arc::new(Notify::new());
    let harness = harness(vec![
        page(&["A1", "A2"], true),
        Step::Hold(Arc::clone(&gate)),
        page(&["B1", "B2"], true),
        page(&["C1", "C2"], false),
    ]);
    let (sink, mut reports) = progress();

    let outcome = play(&harness, sink, AddPosition::End).await.unwrap();

    assert_eq!(titles(&outcome.queued), ["A1", "A2"]);
    assert!(outcome.loading, "the answer says the rest is loading");
    assert_eq!(
        outcome.started.map(|track| track.title).as_deref(),
        Some("A1")
    );
    assert_eq!(harness.take_played_titles(), ["A1"]);
    assert_eq!(harness.upcoming_titles().await, ["A2"]);

    gate.notify_one();
    let last = load_done(&mut reports).await;

    assert_eq!(harness.current_title().await.as_deref(), Some("A1"));
    assert_eq!(
        harness.upcoming_titles().await,
        ["A2", "B1", "B2", "C1", "C2"]
    );
    assert_eq!((last.loaded, last.skipped), (6, 0));
    assert!(
        harness.take_played_titles().is_empty(),
        "the playing track is not replaced"
    );
}

#[tokio::test]
async fn a_failed_page_is_skipped_and_counted_and_the_load_goes_on() {
    let harness = harness(vec![
        page(&["A1", "A2"], true),
        failed_page(2),
        page(&["C1"], false),
    ]);
    let (sink, mut reports) = progress();

    play(&harness, sink, AddPosition::End).await.unwrap();
    let last = load_done(&mut reports).await;

    assert_eq!(harness.current_title().await.as_deref(), Some("A1"));
    assert_eq!(harness.upcoming_titles().await, ["A2", "C1"]);
    assert_eq!((last.loaded, last.skipped), (3, 2));
}

#[tokio::test]
async fn failed_pages_before_the_first_tracks_are_skipped_and_counted() {
    let harness = harness(vec![failed_page(3), page(&["B1", "B2"], false)]);
    let (sink, mut reports) = progress();

    let outcome = play(&harness, sink, AddPosition::End).await.unwrap();
    let last = load_done(&mut reports).await;

    assert_eq!(titles(&outcome.queued), ["B1", "B2"]);
    assert!(!outcome.loading, "the last page came first");
    assert_eq!(last.skipped, 3);
}

#[tokio::test]
async fn an_error_after_the_first_page_keeps_what_loaded() {
    let harness = harness(vec![
        page(&["A1", "A2"], true),
        Step::Fail(ResolveError::Unavailable("the site went away".to_owned())),
    ]);
    let (sink, mut reports) = progress();

    let outcome = play(&harness, sink, AddPosition::End).await.unwrap();
    load_done(&mut reports).await;

    assert_eq!(titles(&outcome.queued), ["A1", "A2"]);
    assert_eq!(harness.upcoming_titles().await, ["A2"]);
}

#[tokio::test]
async fn a_failure_of_the_first_page_fails_the_play() {
    let error = ResolveError::Forbidden("this playlist is private".to_owned());
    let harness = harness(vec![Step::Fail(error.clone())]);
    let (sink, _reports) = progress();

    let result = play(&harness, sink, AddPosition::End).await;

    assert_eq!(result.unwrap_err(), MusicError::Resolve(error));
    assert_eq!(harness.current_title().await, None);
}

#[tokio::test]
async fn a_stop_while_loading_appends_nothing_more() {
    let (mut harness, gate) = held_playlist(&["A1", "A2"], &["B1", "B2"]);
    let (sink, mut reports) = progress();
    play(&harness, sink, AddPosition::End).await.unwrap();
    let stopped = harness.music.stop(guild(), &Actor::console()).await;
    assert_eq!(stopped, Ok(1), "A2 waited");
    harness.take_events();

    gate.notify_one();
    load_done(&mut reports).await;

    assert_eq!(harness.current_title().await, None);
    assert!(harness.upcoming_titles().await.is_empty());
    let queued: Vec<_> = harness
        .take_events()
        .into_iter()
        .filter(|event| matches!(event, DomainEvent::TrackQueued { .. }))
        .collect();
    assert!(queued.is_empty(), "queued after the stop: {queued:?}");
}

#[tokio::test]
async fn a_playlist_played_next_keeps_its_order_ahead_of_the_queue() {
    let (harness, gate) = held_playlist(&["A1", "A2"], &["B1", "B2"]);
    harness.play_console("X").await;
    harness.play_console("Y").await;
    let (sink, mut reports) = progress();

    play(&harness, sink, AddPosition::Next).await.unwrap();
    assert_eq!(harness.upcoming_titles().await, ["A1", "A2", "Y"]);
    gate.notify_one();
    load_done(&mut reports).await;

    assert_eq!(harness.current_title().await.as_deref(), Some("X"));
    assert_eq!(
        harness.upcoming_titles().await,
        ["A1", "A2", "B1", "B2", "Y"]
    );
}

#[tokio::test]
async fn pages_that_arrive_after_the_queue_ran_out_play() {
    let (harness, gate) = held_playlist(&["A1"], &["B1", "B2"]);
    let (sink, mut reports) = progress();
    play(&harness, sink, AddPosition::End).await.unwrap();
    let playing = harness.music.now_playing(guild()).await.unwrap().track.id;
    harness
        .music
        .handle_player_event(crate::ports::PlayerEvent {
            guild: guild(),
            track: playing,
            kind: crate::ports::PlayerEventKind::Finished,
        })
        .await;
    assert_eq!(harness.current_title().await, None);
    harness.take_played_titles();

    gate.notify_one();
    load_done(&mut reports).await;

    assert_eq!(harness.take_played_titles(), ["B1"]);
    assert_eq!(harness.upcoming_titles().await, ["B2"]);
}
