use metrics_util::debugging::DebuggingRecorder;

use super::*;
use crate::metrics::tests::counted;

#[test]
fn only_4014_and_4022_end_the_connection_for_good() {
    let closed = |code| DisconnectReason::WsClosed(Some(code));
    assert_eq!(
        ended_for_good(Some(&closed(VoiceCloseCode::Disconnected))),
        Some(4014)
    );
    assert_eq!(
        ended_for_good(Some(&closed(VoiceCloseCode::CallTerminated))),
        Some(4022)
    );
    for reason in [
        closed(VoiceCloseCode::VoiceServerCrash),
        closed(VoiceCloseCode::SessionInvalid),
        DisconnectReason::WsClosed(None),
        DisconnectReason::Requested,
        DisconnectReason::TimedOut,
    ] {
        assert_eq!(ended_for_good(Some(&reason)), None, "{reason:?}");
    }
    assert_eq!(ended_for_good(None), None);
}

#[test]
fn a_session_songbird_gave_up_on_is_rejoined_unless_discord_ended_it() {
    let closed = |code| Some(DisconnectReason::WsClosed(Some(code)));
    for (kind, reason) in [
        (
            DisconnectKind::Runtime,
            closed(VoiceCloseCode::SessionInvalid),
        ),
        (
            DisconnectKind::Runtime,
            Some(DisconnectReason::WsClosed(None)),
        ),
        (DisconnectKind::Reconnect, Some(DisconnectReason::TimedOut)),
    ] {
        assert!(
            worth_rejoining(kind, reason.as_ref()),
            "{kind:?} {reason:?}"
        );
    }
    for (kind, reason) in [
        (
            DisconnectKind::Runtime,
            closed(VoiceCloseCode::Disconnected),
        ),
        (
            DisconnectKind::Runtime,
            closed(VoiceCloseCode::CallTerminated),
        ),
        (DisconnectKind::Runtime, Some(DisconnectReason::Requested)),
        (DisconnectKind::Runtime, None),
        // The join itself fails and says so.
        (DisconnectKind::Connect, Some(DisconnectReason::TimedOut)),
    ] {
        assert!(
            !worth_rejoining(kind, reason.as_ref()),
            "{kind:?} {reason:?}"
        );
    }
}

#[test]
fn rejoins_stop_when_a_session_keeps_failing_and_come_back_later() {
    let watcher = ConnectionWatcher::new(
        GuildId::new(7).unwrap(),
        Arc::new(Mutex::new(HashMap::new())),
        broadcast::channel(4).0,
        Weak::new(),
    );
    let start = Instant::now();
    for _ in 0..MAX_REJOINS {
        assert!(watcher.may_rejoin(start));
    }
    assert!(!watcher.clone().may_rejoin(start + Duration::from_secs(1)));
    assert!(watcher.may_rejoin(start + REJOIN_WINDOW));
}

#[tokio::test]
async fn a_connection_ended_for_good_is_reported_with_the_guild() {
    let (events, mut received) = broadcast::channel(4);
    let guild = GuildId::new(7).unwrap();
    let watcher = ConnectionWatcher::new(
        guild,
        Arc::new(Mutex::new(HashMap::new())),
        events,
        Weak::new(),
    );
    watcher.ended(4014);
    let event = received.try_recv().unwrap();
    assert_eq!(event.guild, guild);
    assert_eq!(event.track, TrackId(0), "nothing was playing");
    assert!(
        matches!(&event.kind, PlayerEventKind::Disconnected(reason) if reason.contains("4014")),
        "{event:?}"
    );
}

#[test]
fn a_reconnect_is_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let watcher = metrics::with_local_recorder(&recorder, || {
        ConnectionWatcher::new(
            GuildId::new(7).unwrap(),
            Arc::new(Mutex::new(HashMap::new())),
            broadcast::channel(4).0,
            Weak::new(),
        )
    });
    watcher.clone().reconnected(42);
    watcher.reconnected(42);
    assert_eq!(counted(&snapshotter, VOICE_RECONNECTS), 2);
}
