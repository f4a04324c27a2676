#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]

use std::path::Path;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use minstrel_app::ports::{
    AudioError, AudioOpener, OpenOptions, PcmStream, Player, PlayerEventKind,
};
use minstrel_domain::{Preset, Requester, SourceKind, Track, TrackId};
use minstrel_dsp::analysis::{channel, estimate_pitch_hz, rms};
use minstrel_testkit::audio::Wav;
use tokio::sync::broadcast;

use super::*;
use crate::sink::{NullSink, SinkError};

const RATE: f32 = 48_000.0;
const AMPLITUDE: f32 = 0.5;

/// A 440 Hz stereo sine, `frames` long (or endless), that may stall after a while.
struct Sine {
    frame: u64,
    end: Option<u64>,
    stall_at: Option<(u64, Receiver<()>)>,
}

impl PcmStream for Sine {
    fn read(&mut self, out: &mut [f32]) -> Result<usize, AudioError> {
        if let Some((at, gate)) = &self.stall_at
            && self.frame >= *at
        {
            // Blocks until the test lets go, like a dead network read.
            let _ = gate.recv();
            return Ok(0);
        }
        let mut written = 0;
        for pair in out.chunks_exact_mut(2) {
            if self.end.is_some_and(|end| self.frame >= end) {
                break;
            }
            let value =
                AMPLITUDE * (std::f32::consts::TAU * 440.0 * self.frame as f32 / RATE).sin();
            pair[0] = value;
            pair[1] = value;
            self.frame += 1;
            written += 2;
        }
        Ok(written)
    }
}

/// Opens generated tracks by locator: `sine:<seconds>`, `endless`, `stall`, `noseek`, `fail`.
#[derive(Default)]
struct FakeOpener {
    gate: Mutex<Option<Receiver<()>>>,
}

impl AudioOpener for FakeOpener {
    fn open(
        &self,
        track: &Track,
        start_at: Duration,
        _options: OpenOptions,
    ) -> Result<Box<dyn PcmStream>, AudioError> {
        let start = (start_at.as_secs_f64() * 48_000.0).round() as u64;
        let sine = |seconds: f64| Sine {
            frame: start,
            end: Some((seconds * 48_000.0) as u64),
            stall_at: None,
        };
        match track.locator.as_str() {
            "endless" => Ok(Box::new(Sine {
                frame: start,
                end: None,
                stall_at: None,
            })),
            "stall" => {
                let gate = self
                    .gate
                    .lock()
                    .unwrap()
                    .take()
                    .expect("one stalling track");
                Ok(Box::new(Sine {
                    frame: start,
                    end: None,
                    stall_at: Some((4800, gate)),
                }))
            }
            "noseek" if !start_at.is_zero() => Err(AudioError::SeekUnsupported),
            "noseek" => Ok(Box::new(sine(0.5))),
            "fail" => Err(AudioError::Io("the file does not exist".to_owned())),
            other => {
                let seconds = other
                    .strip_prefix("sine:")
                    .and_then(|seconds| seconds.parse().ok())
                    .expect("a known test locator");
                Ok(Box::new(sine(seconds)))
            }
        }
    }
}

/// Keeps what it is given (up to a cap) and counts everything.
#[derive(Debug, Default)]
struct Recorder {
    samples: Mutex<Vec<f32>>,
    total: Mutex<usize>,
    last_block: Mutex<Vec<f32>>,
}

impl Recorder {
    const CAP: usize = 2 * 48_000 * 10;

    fn total_frames(&self) -> usize {
        *self.total.lock().unwrap() / 2
    }

    fn last_block_rms(&self) -> f32 {
        rms(&self.last_block.lock().unwrap())
    }
}

impl AudioSink for Recorder {
    fn write(&self, samples: &[f32]) -> Result<(), SinkError> {
        let mut kept = self.samples.lock().unwrap();
        let room = Self::CAP.saturating_sub(kept.len()).min(samples.len());
        kept.extend_from_slice(&samples[..room]);
        *self.total.lock().unwrap() += samples.len();
        samples.clone_into(&mut self.last_block.lock().unwrap());
        Ok(())
    }

    fn finish(&self) -> Result<(), SinkError> {
        Ok(())
    }
}

fn guild(id: u64) -> GuildId {
    GuildId::new(id).unwrap()
}

fn track(id: u64, locator: &str) -> Track {
    Track {
        id: TrackId(id),
        title: format!("track {id}"),
        artist: None,
        duration: None,
        source_kind: SourceKind::Local,
        locator: locator.to_owned(),
        thumbnail: None,
        requested_by: Requester::console(),
    }
}

fn player(sink: Arc<dyn AudioSink>, pace: Pace) -> LocalPlayer {
    LocalPlayer::with_sink(Arc::new(FakeOpener::default()), sink, pace)
}

async fn next_event(events: &mut broadcast::Receiver<PlayerEvent>) -> PlayerEvent {
    tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("an event within 30 s")
        .expect("the event channel is open")
}

/// Collects events until `track` reports an end, returns all of them in order.
async fn events_until_end(
    events: &mut broadcast::Receiver<PlayerEvent>,
    track: TrackId,
) -> Vec<PlayerEvent> {
    let mut seen = Vec::new();
    loop {
        let event = next_event(events).await;
        let done = event.track == track && event.kind != PlayerEventKind::Started;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

async fn wait_idle(player: &LocalPlayer, guild: GuildId) {
    tokio::time::timeout(Duration::from_secs(30), player.wait_idle(guild))
        .await
        .expect("idle within 30 s");
}

fn read_wav(path: &Path) -> Vec<f32> {
    let wav = Wav::open(path);
    assert_eq!((wav.spec.channels, wav.spec.sample_rate), (2, 48_000));
    wav.interleaved()
}

async fn render_to_wav(filters: FilterSpec) -> (Vec<f32>, Vec<PlayerEvent>) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("out.wav");
    let player = LocalPlayer::new(
        Arc::new(FakeOpener::default()),
        &SinkKind::Wav(path.clone()),
        Pace::Fast,
    )
    .unwrap();
    let mut events = player.events();
    let track = track(1, "sine:1");
    player
        .play(
            guild(1),
            &track,
            Duration::ZERO,
            Volume::DEFAULT,
            filters,
            OpenOptions::default(),
        )
        .await
        .unwrap();
    let seen = events_until_end(&mut events, track.id).await;
    wait_idle(&player, guild(1)).await;
    player.shutdown().unwrap();
    (read_wav(&path), seen)
}

/// Plays `track` in `guild` from its start, at the default volume and without filters.
async fn play(player: &LocalPlayer, guild: GuildId, track: &Track) {
    player
        .play(
            guild,
            track,
            Duration::ZERO,
            Volume::DEFAULT,
            FilterSpec::default(),
            OpenOptions::default(),
        )
        .await
        .unwrap();
}

/// The events of `track` playing through to its end.
fn started_then_finished(track: u64) -> Vec<(u64, PlayerEventKind)> {
    vec![
        (track, PlayerEventKind::Started),
        (track, PlayerEventKind::Finished),
    ]
}

fn kinds(events: &[PlayerEvent]) -> Vec<(u64, PlayerEventKind)> {
    events
        .iter()
        .map(|event| (event.track.0, event.kind.clone()))
        .collect()
}

#[tokio::test]
async fn plays_a_whole_track_into_the_wav_in_order() {
    let (samples, events) = render_to_wav(FilterSpec::default()).await;
    assert_eq!(kinds(&events), started_then_finished(1));
    let frames = samples.len() / 2;
    assert!((47_520..=48_480).contains(&frames), "{frames} frames");
    let left = channel(&samples, 0);
    let pitch = estimate_pitch_hz(&left, 48_000).unwrap();
    assert!((pitch - 440.0).abs() < 4.4, "pitch {pitch}");
    let level = rms(&left[4800..left.len() - 4800]);
    let expected = AMPLITUDE / std::f32::consts::SQRT_2;
    assert!((level - expected).abs() < expected * 0.03, "rms {level}");
}

#[tokio::test]
async fn nightcore_plays_faster_and_higher() {
    let (samples, events) = render_to_wav(Preset::Nightcore.spec()).await;
    assert_eq!(kinds(&events), started_then_finished(1));
    let frames = samples.len() / 2;
    assert!((37_900..=38_900).contains(&frames), "{frames} frames");
    let left = channel(&samples, 0);
    let pitch = estimate_pitch_hz(&left[2400..left.len() - 2400], 48_000).unwrap();
    assert!((pitch - 550.0).abs() < 5.5, "pitch {pitch}");
}

#[tokio::test]
async fn volume_at_play_time_scales_the_level() {
    let recorder = Arc::new(Recorder::default());
    let player = player(recorder.clone(), Pace::Fast);
    let mut events = player.events();
    let track = track(1, "sine:1");
    player
        .play(
            guild(1),
            &track,
            Duration::ZERO,
            Volume::new(50).unwrap(),
            FilterSpec::default(),
            OpenOptions::default(),
        )
        .await
        .unwrap();
    events_until_end(&mut events, track.id).await;
    let samples = recorder.samples.lock().unwrap().clone();
    let left = channel(&samples, 0);
    let level = rms(&left[4800..left.len() - 4800]);
    let expected = AMPLITUDE / std::f32::consts::SQRT_2 * minstrel_dsp::player_volume_gain(50);
    assert!(
        (level - expected).abs() < expected * 0.03,
        "rms {level}, expected {expected}"
    );
}

#[tokio::test]
async fn a_replaced_track_does_not_report_finished() {
    let player = player(Arc::new(NullSink), Pace::Fast);
    let mut events = player.events();
    let first = track(1, "endless");
    play(&player, guild(1), &first).await;
    assert_eq!(next_event(&mut events).await.kind, PlayerEventKind::Started);
    let second = track(2, "sine:0.2");
    play(&player, guild(1), &second).await;
    let seen = events_until_end(&mut events, second.id).await;
    assert_eq!(kinds(&seen), started_then_finished(2));
    wait_idle(&player, guild(1)).await;
    assert_eq!(player.position(guild(1)).await, None);
}

#[tokio::test]
async fn stop_and_leave_report_nothing() {
    let player = player(Arc::new(NullSink), Pace::Fast);
    let mut events = player.events();
    let endless = track(1, "endless");
    for (index, leave) in [false, true].into_iter().enumerate() {
        play(&player, guild(1), &endless).await;
        assert_eq!(
            next_event(&mut events).await.kind,
            PlayerEventKind::Started,
            "{index}"
        );
        if leave {
            player.leave(guild(1)).await.unwrap();
        } else {
            player.stop(guild(1)).await.unwrap();
        }
        wait_idle(&player, guild(1)).await;
        assert_eq!(player.position(guild(1)).await, None);
        assert_eq!(
            player.pause(guild(1)).await,
            Err(PlayerError::NothingPlaying)
        );
    }
    // The next track's events come straight after: nothing about the stopped ones.
    let short = track(2, "sine:0.1");
    play(&player, guild(1), &short).await;
    assert_eq!(
        kinds(&events_until_end(&mut events, short.id).await),
        started_then_finished(2)
    );
}

#[tokio::test]
async fn an_opener_error_reports_failed() {
    let player = player(Arc::new(NullSink), Pace::Fast);
    let mut events = player.events();
    let broken = track(3, "fail");
    play(&player, guild(1), &broken).await;
    let seen = events_until_end(&mut events, broken.id).await;
    match &seen[..] {
        [
            PlayerEvent {
                kind: PlayerEventKind::Failed(reason),
                track,
                ..
            },
        ] => {
            assert_eq!(*track, broken.id);
            assert!(reason.contains("does not exist"), "{reason}");
        }
        other => panic!("expected one Failed event, got {other:?}"),
    }
    wait_idle(&player, guild(1)).await;
    assert_eq!(player.position(guild(1)).await, None);
}

#[tokio::test]
async fn nothing_playing_is_reported_where_it_matters() {
    let player = player(Arc::new(NullSink), Pace::Fast);
    let idle = guild(9);
    assert_eq!(player.pause(idle).await, Err(PlayerError::NothingPlaying));
    assert_eq!(player.resume(idle).await, Err(PlayerError::NothingPlaying));
    assert_eq!(
        player.seek(idle, Duration::from_secs(1)).await,
        Err(PlayerError::NothingPlaying)
    );
    assert_eq!(player.position(idle).await, None);
    // Harmless without a track.
    player.stop(idle).await.unwrap();
    player
        .set_volume(idle, Volume::new(10).unwrap())
        .await
        .unwrap();
    player
        .set_filters(idle, FilterSpec::default())
        .await
        .unwrap();
    player.join(idle, ChannelId::new(1).unwrap()).await.unwrap();
    player.leave(idle).await.unwrap();
    wait_idle(&player, idle).await;
}

#[tokio::test]
async fn pause_freezes_output_and_position_in_real_time() {
    let recorder = Arc::new(Recorder::default());
    let player = player(recorder.clone(), Pace::Realtime);
    let mut events = player.events();
    let short = track(1, "sine:0.6");
    play(&player, guild(1), &short).await;
    assert_eq!(next_event(&mut events).await.kind, PlayerEventKind::Started);
    player.pause(guild(1)).await.unwrap();
    assert!(player.is_paused(guild(1)));
    // A block already on its way may still land; after that, nothing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let frames_paused = recorder.total_frames();
    let position = player
        .position(guild(1))
        .await
        .expect("paused is still current");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        recorder.total_frames(),
        frames_paused,
        "no audio (not even silence) while paused"
    );
    assert_eq!(
        player.position(guild(1)).await,
        Some(position),
        "position frozen"
    );
    assert!(
        position > Duration::ZERO && position <= Duration::from_millis(600),
        "{position:?}"
    );

    player.resume(guild(1)).await.unwrap();
    assert!(!player.is_paused(guild(1)));
    let seen = events_until_end(&mut events, short.id).await;
    assert_eq!(kinds(&seen), vec![(1, PlayerEventKind::Finished)]);
    wait_idle(&player, guild(1)).await;
    let frames = recorder.total_frames();
    assert!(
        (28_000..=29_600).contains(&frames),
        "the whole track played once: {frames}"
    );
    assert_eq!(player.position(guild(1)).await, None);
}

#[tokio::test]
async fn seek_reopens_at_the_new_position() {
    let recorder = Arc::new(Recorder::default());
    let player = player(recorder.clone(), Pace::Realtime);
    let mut events = player.events();
    let long = track(1, "sine:2");
    play(&player, guild(1), &long).await;
    assert_eq!(next_event(&mut events).await.kind, PlayerEventKind::Started);
    player.pause(guild(1)).await.unwrap();
    player
        .seek(guild(1), Duration::from_millis(1700))
        .await
        .unwrap();
    assert_eq!(
        player.position(guild(1)).await,
        Some(Duration::from_millis(1700))
    );
    let before = recorder.total_frames();
    player.resume(guild(1)).await.unwrap();
    let seen = events_until_end(&mut events, long.id).await;
    assert_eq!(kinds(&seen), vec![(1, PlayerEventKind::Finished)]);
    let after_seek = recorder.total_frames() - before;
    // 0.3 s remained after the seek point (give or take the block in flight at the pause).
    assert!(
        (13_000..=16_500).contains(&after_seek),
        "{after_seek} frames after the seek"
    );
}

#[tokio::test]
async fn a_track_that_cannot_seek_keeps_playing() {
    let player = player(Arc::new(NullSink), Pace::Realtime);
    let mut events = player.events();
    let stubborn = track(1, "noseek");
    play(&player, guild(1), &stubborn).await;
    assert_eq!(next_event(&mut events).await.kind, PlayerEventKind::Started);
    assert_eq!(
        player.seek(guild(1), Duration::from_millis(200)).await,
        Err(PlayerError::SeekUnsupported)
    );
    let seen = events_until_end(&mut events, stubborn.id).await;
    assert_eq!(kinds(&seen), vec![(1, PlayerEventKind::Finished)]);
}

#[tokio::test]
async fn a_stalled_stream_is_reported_stuck() {
    let (release, gate) = std::sync::mpsc::channel();
    let opener = FakeOpener {
        gate: Mutex::new(Some(gate)),
    };
    let player = LocalPlayer::with_sink(Arc::new(opener), Arc::new(NullSink), Pace::Realtime)
        .with_stuck_after(Duration::from_millis(300));
    let mut events = player.events();
    let stalling = track(1, "stall");
    play(&player, guild(1), &stalling).await;
    let seen = events_until_end(&mut events, stalling.id).await;
    assert_eq!(
        kinds(&seen),
        vec![(1, PlayerEventKind::Started), (1, PlayerEventKind::Stuck)]
    );
    wait_idle(&player, guild(1)).await;
    drop(release);
}

#[tokio::test]
async fn live_volume_changes_reach_the_output() {
    let recorder = Arc::new(Recorder::default());
    let player = player(recorder.clone(), Pace::Fast);
    let mut events = player.events();
    let endless = track(1, "endless");
    play(&player, guild(1), &endless).await;
    assert_eq!(next_event(&mut events).await.kind, PlayerEventKind::Started);
    player
        .set_volume(guild(1), Volume::new(0).unwrap())
        .await
        .unwrap();
    let silent = async {
        while recorder.last_block_rms() > 1e-6 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), silent)
        .await
        .expect("the output goes silent after volume 0");
    player.stop(guild(1)).await.unwrap();
}

#[tokio::test]
async fn several_guilds_play_at_once() {
    let recorder = Arc::new(Recorder::default());
    let player = player(recorder.clone(), Pace::Realtime);
    let mut events = player.events();
    for id in 1..=3 {
        play(&player, guild(id), &track(id, "sine:0.3")).await;
    }
    let mut finished = Vec::new();
    while finished.len() < 3 {
        let event = next_event(&mut events).await;
        if event.kind == PlayerEventKind::Finished {
            assert_eq!(
                event.track.0,
                event.guild.get(),
                "each guild reports its own track"
            );
            finished.push(event.guild.get());
        }
    }
    finished.sort_unstable();
    assert_eq!(finished, vec![1, 2, 3]);
    for id in 1..=3 {
        wait_idle(&player, guild(id)).await;
    }
    let frames = recorder.total_frames();
    assert!((3 * 14_000..=3 * 14_900).contains(&frames), "{frames}");
}

/// A stream whose decoder crashes.
struct Exploding;

impl PcmStream for Exploding {
    fn read(&mut self, _out: &mut [f32]) -> Result<usize, AudioError> {
        panic!("decoder bug (expected by this test)");
    }
}

struct ExplodingOpener;

impl AudioOpener for ExplodingOpener {
    fn open(
        &self,
        _track: &Track,
        _start_at: Duration,
        _options: OpenOptions,
    ) -> Result<Box<dyn PcmStream>, AudioError> {
        Ok(Box::new(Exploding))
    }
}

#[tokio::test]
async fn a_crashing_decoder_reports_failed() {
    let player = LocalPlayer::with_sink(Arc::new(ExplodingOpener), Arc::new(NullSink), Pace::Fast);
    let mut events = player.events();
    let doomed = track(1, "anything");
    play(&player, guild(1), &doomed).await;
    let seen = events_until_end(&mut events, doomed.id).await;
    assert!(
        matches!(
            &seen[..],
            [PlayerEvent {
                kind: PlayerEventKind::Failed(_),
                ..
            }]
        ),
        "{seen:?}"
    );
    wait_idle(&player, guild(1)).await;
}

/// A sink that crashes on its first write, then works.
#[derive(Debug, Default)]
struct FlakySink {
    crashed: std::sync::atomic::AtomicBool,
}

impl AudioSink for FlakySink {
    fn write(&self, _samples: &[f32]) -> Result<(), SinkError> {
        let crashed_before = self.crashed.swap(true, std::sync::atomic::Ordering::SeqCst);
        assert!(crashed_before, "sink bug (expected by this test)");
        Ok(())
    }

    fn finish(&self) -> Result<(), SinkError> {
        Ok(())
    }
}

#[tokio::test]
async fn the_guild_survives_a_crash_in_its_playback_thread() {
    let player = player(Arc::new(FlakySink::default()), Pace::Fast);
    let mut events = player.events();
    let first = track(1, "sine:0.2");
    play(&player, guild(1), &first).await;
    let seen = events_until_end(&mut events, first.id).await;
    assert_eq!(
        kinds(&seen),
        vec![(
            1,
            PlayerEventKind::Failed("the audio engine crashed on this track".to_owned())
        )]
    );
    let second = track(2, "sine:0.2");
    play(&player, guild(1), &second).await;
    assert_eq!(
        kinds(&events_until_end(&mut events, second.id).await),
        started_then_finished(2)
    );
}

#[tokio::test]
async fn every_block_records_the_chain_time() {
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // The playback thread records through the handle the player took when it was built.
    let player = metrics::with_local_recorder(&recorder, || player(Arc::new(NullSink), Pace::Fast));
    let mut events = player.events();
    let half_second = track(1, "sine:0.5");
    player
        .play(
            guild(1),
            &half_second,
            Duration::ZERO,
            Volume::DEFAULT,
            Preset::Nightcore.spec(),
            OpenOptions::default(),
        )
        .await
        .unwrap();
    events_until_end(&mut events, half_second.id).await;
    wait_idle(&player, guild(1)).await;
    let blocks = crate::metrics::tests::samples(&snapshotter, crate::metrics::DSP_BLOCK_SECONDS);
    // 0.5 s is 25 blocks of 20 ms; nightcore plays it faster, in about 20.
    assert!((15..=30).contains(&blocks.len()), "{blocks:?}");
    assert!(blocks.iter().any(|seconds| *seconds > 0.0), "{blocks:?}");
}
