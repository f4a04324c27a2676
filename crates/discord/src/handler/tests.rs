use std::collections::BTreeMap;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use minstrel_app::ports::{MockSettingsRepo, StoreError};
use minstrel_testkit::discord::{FakeMember, FakeRest, slash_command};

use super::*;
use crate::metrics::{COMMANDS_TOTAL, INTERACTION_ACK_SECONDS};
use crate::request::ManualFilters;
use crate::test_support::{ServicePorts, handler};
use minstrel_domain::FilterSpec;
use minstrel_domain::filters::FilterChange;

const WORKING_GUILD: u64 = 300_000_000_000_000_001;
const BROKEN_GUILD: u64 = 300_000_000_000_000_002;

/// Services on mocks: guild settings load in one guild and fail in the other.
fn services() -> DiscordServices {
    let mut settings = MockSettingsRepo::new();
    settings.expect_guild().returning(|guild| {
        if guild.get() == BROKEN_GUILD {
            Err(StoreError::Internal("the disk is on fire".to_owned()))
        } else {
            Ok(None)
        }
    });
    ServicePorts::new(settings).services()
}

/// The command counts by labels and the number of acknowledgement latencies recorded,
/// since the last snapshot (which drains the recorder).
fn recorded_since(snapshotter: &Snapshotter) -> (BTreeMap<Vec<String>, u64>, usize) {
    let mut commands = BTreeMap::new();
    let mut acks = 0;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        match value {
            DebugValue::Counter(count) if key.name() == COMMANDS_TOTAL => {
                let labels = key
                    .labels()
                    .map(|label| format!("{}={}", label.key(), label.value()))
                    .collect();
                commands.insert(labels, count);
            }
            DebugValue::Histogram(samples) if key.name() == INTERACTION_ACK_SECONDS => {
                acks += samples.len();
            }
            _ => {}
        }
    }
    (commands, acks)
}

fn labels(command: &str, outcome: &str) -> Vec<String> {
    vec![
        "frontend=discord".to_owned(),
        format!("command={command}"),
        format!("outcome={outcome}"),
    ]
}

#[tokio::test]
async fn commands_count_by_name_and_outcome_and_acks_are_timed() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // A current-thread test: the thread's recorder sees every await of the handler.
    let _guard = metrics::set_default_local_recorder(&recorder);
    let rest = FakeRest::start().await;
    let handler = handler(services(), &rest);
    let member = FakeMember::new(400_000_000_000_000_001, "ada");
    let interaction = |id: u64, guild: u64, name: &str| -> Interaction {
        let value = slash_command(
            id,
            &format!("token-{id}"),
            guild,
            &member,
            name,
            &serde_json::json!([]),
        );
        serde_json::from_value(value).unwrap()
    };

    // Boxed: the handler's future is large.
    Box::pin(handler.handle(interaction(1, WORKING_GUILD, "queue"))).await;
    // `playnext` needs a query.
    Box::pin(handler.handle(interaction(2, WORKING_GUILD, "playnext"))).await;
    Box::pin(handler.handle(interaction(3, BROKEN_GUILD, "queue"))).await;

    let (commands, acks) = recorded_since(&snapshotter);
    assert_eq!(
        commands,
        BTreeMap::from([
            (labels("playnext", "user_error"), 1),
            (labels("queue", "internal_error"), 1),
            (labels("queue", "ok"), 1),
        ])
    );
    assert_eq!(acks, 3);
    assert_eq!(
        rest.requests().iter().filter(|r| r.is_callback()).count(),
        3
    );
}

#[test]
fn each_acknowledgement_records_its_latency() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let received = Instant::now()
        .checked_sub(Duration::from_millis(30))
        .unwrap();
    metrics::with_local_recorder(&recorder, || crate::metrics::record_ack(received));
    let latencies: Vec<f64> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .find_map(|(key, _, _, value)| match value {
            DebugValue::Histogram(samples) if key.key().name() == INTERACTION_ACK_SECONDS => {
                Some(samples.into_iter().map(|sample| sample.0).collect())
            }
            _ => None,
        })
        .unwrap_or_default();
    assert_eq!(latencies.len(), 1, "{latencies:?}");
    assert!((0.03..1.0).contains(&latencies[0]), "{latencies:?}");
}

#[test]
fn manual_filters_become_one_typed_change_checked_by_the_domain() {
    let manual = ManualFilters {
        speed: Some(1.25),
        rotation: Some(0.2),
        equalizer: Some("0:0.2, 1:0.1".into()),
        ..ManualFilters::default()
    };
    let text = manual.change_text().unwrap();
    assert_eq!(
        text,
        "timescale speed=1.25; rotation rotationHz=0.2; equalizer 0:0.2, 1:0.1"
    );
    let spec = FilterChange::parse_all(&text)
        .unwrap()
        .iter()
        .try_fold(FilterSpec::default(), |spec, change| change.apply(spec))
        .unwrap();
    assert_eq!(
        spec.timescale,
        Some(minstrel_domain::filters::Timescale::new(1.25, 1.0, 1.0).unwrap())
    );
    assert_eq!(
        spec.rotation,
        Some(minstrel_domain::filters::Rotation::new(0.2).unwrap())
    );
    assert_eq!(
        spec.equalizer,
        Some(minstrel_domain::filters::Equalizer::from_bands(&[(0, 0.2), (1, 0.1)]).unwrap())
    );
    let bad_band = ManualFilters {
        equalizer: Some("99:0.1".into()),
        ..ManualFilters::default()
    };
    assert!(FilterChange::parse_all(&bad_band.change_text().unwrap()).is_err());
    // A `;` in the equalizer option cannot smuggle in another filter.
    let smuggled = ManualFilters {
        equalizer: Some("0:0.1; distortion sinOffset=1".into()),
        ..ManualFilters::default()
    };
    assert!(FilterChange::parse_all(&smuggled.change_text().unwrap()).is_err());
    assert_eq!(ManualFilters::default().change_text(), None);
}
