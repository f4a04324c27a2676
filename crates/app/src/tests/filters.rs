//! `FilterService`: presets and manual filters, live on the player.

use minstrel_domain::{
    AddPosition, DomainEvent, FilterError, FilterSpec, Preset, filters::BassBoostLevel,
};
use mockall::predicate::eq;

use super::{Fixture, Harness, PlayerCall, dj, dj_role, guild, member};
use crate::error::MusicError;
use crate::filters::FilterService;
use crate::policy::{Actor, PermissionError};
use crate::ports::PlayerError;

fn service(harness: &Harness) -> FilterService {
    FilterService::new(harness.music.clone())
}

async fn start_playing(harness: &mut Harness) {
    harness
        .music
        .play(guild(), &Actor::console(), "A", AddPosition::End)
        .await
        .unwrap();
    harness.take_events();
    harness.take_player_calls();
}

#[tokio::test]
async fn presets_apply_live_and_add_up() {
    let mut harness = Fixture::new().build();
    start_playing(&mut harness).await;
    let filters = service(&harness);

    let bass = filters
        .apply_preset(guild(), &Actor::console(), "bassboost")
        .await
        .unwrap();
    let both = filters
        .apply_preset(guild(), &Actor::console(), "Night Core")
        .await
        .unwrap();

    assert_eq!(bass, Preset::BassBoostMedium.spec());
    assert_eq!(both.bass_boost, Some(BassBoostLevel::Medium));
    assert_eq!(both.timescale, Preset::Nightcore.spec().timescale);
    assert_eq!(
        both,
        Preset::BassBoostMedium
            .spec()
            .merged_with(&Preset::Nightcore.spec())
    );
    assert_eq!(
        harness.take_player_calls(),
        [PlayerCall::SetFilters(bass), PlayerCall::SetFilters(both)]
    );
    assert_eq!(
        harness.take_events(),
        [
            DomainEvent::FiltersChanged {
                guild: guild(),
                filters: bass
            },
            DomainEvent::FiltersChanged {
                guild: guild(),
                filters: both
            },
        ]
    );
    assert_eq!(filters.active(guild()).await, Ok(both));
    assert_eq!(harness.last_save().filters, both);
}

#[tokio::test]
async fn a_preset_replaces_the_same_filter_of_an_earlier_one() {
    let harness = Fixture::new().build();
    let filters = service(&harness);

    filters
        .apply_preset(guild(), &Actor::console(), "nightcore")
        .await
        .unwrap();
    let slow = filters
        .apply_preset(guild(), &Actor::console(), "slow")
        .await
        .unwrap();

    assert_eq!(slow, Preset::Slow.spec());
}

#[tokio::test]
async fn the_player_gets_the_merged_spec_once() {
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_set_filters()
        .with(eq(guild()), eq(Preset::Vaporwave.spec()))
        .times(1)
        .returning(|_, _| Ok(()));
    let mut harness = fixture.build();
    start_playing(&mut harness).await;

    service(&harness)
        .apply_preset(guild(), &Actor::console(), "vaporwave")
        .await
        .unwrap();
}

#[tokio::test]
async fn filters_set_while_idle_are_used_by_the_next_track() {
    let harness = Fixture::new().build();
    let filters = service(&harness);

    let eight_d = filters
        .apply_preset(guild(), &Actor::console(), "8d")
        .await
        .unwrap();
    assert!(
        harness.take_player_calls().is_empty(),
        "no player call while idle"
    );
    harness
        .music
        .play(guild(), &Actor::console(), "A", AddPosition::End)
        .await
        .unwrap();

    assert!(matches!(
        harness.take_player_calls().as_slice(),
        [PlayerCall::Play { filters, .. }] if *filters == eight_d
    ));
}

#[tokio::test]
async fn an_unknown_preset_lists_the_presets() {
    let mut harness = Fixture::new().build();

    let error = service(&harness)
        .apply_preset(guild(), &Actor::console(), " wobble ")
        .await
        .unwrap_err();

    assert_eq!(
        error,
        MusicError::Filter(FilterError::UnknownPreset("wobble".to_owned()))
    );
    let message = error.to_string();
    assert!(
        message.starts_with("unknown preset \"wobble\"; try one of: bassboost-low, bassboost, "),
        "{message}"
    );
    assert!(
        message.contains("nightcore") && message.ends_with("vibrato"),
        "{message}"
    );
    assert!(harness.take_events().is_empty());
}

#[tokio::test]
async fn a_preset_turned_off_on_the_server_is_refused() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.allowed_filters = Some(vec![Preset::Slow]);
    let mut harness = fixture.build();
    start_playing(&mut harness).await;
    let filters = service(&harness);

    let error = filters
        .apply_preset(guild(), &Actor::console(), "nightcore")
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::FilterNotAllowed("nightcore".to_owned()));
    assert_eq!(
        error.to_string(),
        "the nightcore filter is turned off on this server"
    );
    assert!(harness.take_player_calls().is_empty());
    assert_eq!(filters.active(guild()).await, Ok(FilterSpec::default()));
    // An allowed preset still works.
    assert_eq!(
        filters
            .apply_preset(guild(), &Actor::console(), "slow")
            .await,
        Ok(Preset::Slow.spec())
    );
}

#[tokio::test]
async fn reset_turns_every_filter_off() {
    let mut harness = Fixture::new().build();
    start_playing(&mut harness).await;
    let filters = service(&harness);
    filters
        .apply_preset(guild(), &Actor::console(), "karaoke")
        .await
        .unwrap();
    harness.take_player_calls();

    let reset = filters.reset(guild(), &Actor::console()).await.unwrap();

    assert!(reset.is_neutral());
    assert_eq!(
        harness.take_player_calls(),
        [PlayerCall::SetFilters(FilterSpec::default())]
    );
    assert_eq!(filters.active(guild()).await, Ok(FilterSpec::default()));
}

#[tokio::test]
async fn manual_filters_overlay_the_active_ones() {
    let harness = Fixture::new().build();
    let filters = service(&harness);
    filters
        .apply_preset(guild(), &Actor::console(), "bassboost-high")
        .await
        .unwrap();
    let louder = FilterSpec::default().with_volume(1.5).unwrap();

    let spec = filters
        .set_filter_params(guild(), &Actor::console(), "volume 1.5")
        .await
        .unwrap();

    assert_eq!(spec.bass_boost, Some(BassBoostLevel::High));
    assert_eq!(spec.volume, louder.volume);
}

#[tokio::test]
async fn filters_need_the_dj_role_when_the_guild_has_one() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.dj_role = Some(dj_role());
    let harness = fixture.build();
    let filters = service(&harness);

    assert_eq!(
        filters.apply_preset(guild(), &member(1), "slow").await,
        Err(MusicError::Permission(PermissionError::NeedsDj))
    );
    assert_eq!(
        filters.reset(guild(), &member(1)).await,
        Err(MusicError::Permission(PermissionError::NeedsDj))
    );
    assert_eq!(
        filters.apply_preset(guild(), &dj(2), "slow").await,
        Ok(Preset::Slow.spec())
    );
}

#[tokio::test]
async fn a_player_refusing_the_filters_leaves_them_unchanged() {
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_set_filters()
        .times(1)
        .returning(|_, _| Err(PlayerError::Internal("mixer gone".to_owned())));
    let mut harness = fixture.build();
    start_playing(&mut harness).await;
    let filters = service(&harness);

    let error = filters
        .apply_preset(guild(), &Actor::console(), "slow")
        .await
        .unwrap_err();

    assert!(error.is_internal());
    assert_eq!(filters.active(guild()).await, Ok(FilterSpec::default()));
    assert!(harness.take_events().is_empty());
}

#[tokio::test]
async fn presets_are_listed_with_descriptions() {
    let harness = Fixture::new().build();

    let presets = service(&harness).presets();

    assert_eq!(presets.len(), Preset::ALL.len());
    assert!(presets.contains(&("nightcore", "faster and higher (rate 1.25)")));
    assert_eq!(presets[0].0, "bassboost-low");
}

#[tokio::test]
async fn a_server_that_restricts_presets_refuses_hand_made_filters() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.allowed_filters = Some(vec![Preset::Slow]);
    let mut harness = fixture.build();
    start_playing(&mut harness).await;

    let error = service(&harness)
        .set_filter_params(
            guild(),
            &Actor::console(),
            "timescale speed=1.25 pitch=1.25",
        )
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::ManualFiltersNotAllowed);
    assert!(harness.take_player_calls().is_empty());
}

#[tokio::test]
async fn one_filter_is_set_by_its_parameters_and_the_player_gets_it() {
    let mut harness = Fixture::new().build();
    start_playing(&mut harness).await;
    let filters = service(&harness);
    let nightcore = filters
        .apply_preset(guild(), &Actor::console(), "nightcore")
        .await
        .unwrap();

    let distorted = filters
        .set_filter_params(
            guild(),
            &Actor::console(),
            "distortion sinOffset=0.1 scale=2",
        )
        .await
        .unwrap();
    let louder = filters
        .set_filter_params(guild(), &Actor::console(), "distortion offset=0.5")
        .await
        .unwrap();

    let distortion = louder.distortion.unwrap();
    assert_eq!(
        (distortion.sin_offset, distortion.scale, distortion.offset),
        (0.1, 2.0, 0.5),
        "a second change keeps the parameters the first set"
    );
    assert_eq!(louder.timescale, nightcore.timescale, "the preset stays");
    assert_eq!(louder.labels(), ["nightcore", "distortion"]);
    assert_eq!(
        harness.take_player_calls(),
        [
            PlayerCall::SetFilters(nightcore),
            PlayerCall::SetFilters(distorted),
            PlayerCall::SetFilters(louder)
        ]
    );
    assert_eq!(harness.last_save().filters, louder);
}

#[tokio::test]
async fn one_filter_is_removed_and_the_others_stay() {
    let mut harness = Fixture::new().build();
    start_playing(&mut harness).await;
    let filters = service(&harness);
    let eight_d = filters
        .apply_preset(guild(), &Actor::console(), "8d")
        .await
        .unwrap();
    harness.take_player_calls();
    harness.take_events();

    let without_reverb = filters
        .remove_filter(guild(), &Actor::console(), "Reverb")
        .await
        .unwrap();

    assert_eq!(without_reverb.reverb, None);
    assert_eq!(without_reverb.rotation, eight_d.rotation);
    assert_eq!(
        harness.take_player_calls(),
        [PlayerCall::SetFilters(without_reverb)]
    );
    assert_eq!(
        harness.take_events(),
        [DomainEvent::FiltersChanged {
            guild: guild(),
            filters: without_reverb
        }]
    );
    assert_eq!(filters.active(guild()).await, Ok(without_reverb));
}

#[tokio::test]
async fn a_bad_filter_change_is_one_sentence_and_reaches_no_player() {
    let mut harness = Fixture::new().build();
    start_playing(&mut harness).await;
    let filters = service(&harness);

    let error = filters
        .set_filter_params(guild(), &Actor::console(), "distortion sinOffset=12")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "distortion: sinOffset must be between -10 and 10 (got 12)"
    );
    let error = filters
        .remove_filter(guild(), &Actor::console(), "echo")
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        MusicError::Filter(FilterError::UnknownFilter(_))
    ));
    assert!(harness.take_player_calls().is_empty());
    assert_eq!(filters.active(guild()).await, Ok(FilterSpec::default()));
}

#[tokio::test]
async fn a_server_that_restricts_presets_refuses_hand_set_parameters_but_not_removal() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.allowed_filters = Some(vec![Preset::Reverb]);
    let harness = fixture.build();
    let filters = service(&harness);
    filters
        .apply_preset(guild(), &Actor::console(), "reverb")
        .await
        .unwrap();

    assert_eq!(
        filters
            .set_filter_params(guild(), &Actor::console(), "reverb wet=1")
            .await,
        Err(MusicError::ManualFiltersNotAllowed)
    );
    let removed = filters
        .remove_filter(guild(), &Actor::console(), "reverb")
        .await
        .unwrap();
    assert!(removed.is_neutral());
}

#[tokio::test]
async fn guild_commands_set_show_and_remove_one_filter() {
    let mut harness = Fixture::new().build();
    start_playing(&mut harness).await;
    let commands = crate::GuildCommands::local(harness.music.clone());
    let actor = Actor::console();

    let set = commands
        .set_filter(
            guild(),
            &actor,
            "channelMix leftToRight=0.5 rightToLeft=0.5",
        )
        .await
        .unwrap();
    assert!((set.channel_mix.unwrap().left_to_right - 0.5).abs() < 1e-6);
    assert_eq!(commands.active_filters(guild(), &actor).await, Ok(set));
    let removed = commands
        .remove_filter(guild(), &actor, "channelMix")
        .await
        .unwrap();
    assert!(removed.is_neutral());
    assert_eq!(
        harness.take_player_calls(),
        [PlayerCall::SetFilters(set), PlayerCall::SetFilters(removed)]
    );
}

#[tokio::test]
async fn several_filters_typed_at_once_change_together_or_not_at_all() {
    let mut harness = Fixture::new().build();
    start_playing(&mut harness).await;
    let filters = service(&harness);

    let refused = filters
        .set_filter_params(
            guild(),
            &Actor::console(),
            "rotation 0.2; distortion sinOffset=12",
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "distortion: sinOffset must be between -10 and 10 (got 12)"
    );
    assert!(harness.take_player_calls().is_empty(), "nothing half-set");

    let both = filters
        .set_filter_params(
            guild(),
            &Actor::console(),
            "timescale speed=1.25; rotation rotationHz=0.2",
        )
        .await
        .unwrap();
    assert_eq!(
        both.timescale,
        Some(minstrel_domain::filters::Timescale::new(1.25, 1.0, 1.0).unwrap())
    );
    assert_eq!(
        both.rotation,
        Some(minstrel_domain::filters::Rotation::new(0.2).unwrap())
    );
    assert_eq!(
        harness.take_player_calls(),
        [PlayerCall::SetFilters(both)],
        "one change reaches the player"
    );
}
