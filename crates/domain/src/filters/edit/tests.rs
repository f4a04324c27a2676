#![allow(clippy::float_cmp)] // values parsed from text are compared exactly with the literals typed

use super::*;

fn set(spec: FilterSpec, text: &str) -> Result<FilterSpec, FilterError> {
    FilterChange::parse(text)?.apply(spec)
}

fn fresh(text: &str) -> FilterSpec {
    set(FilterSpec::default(), text).unwrap_or_else(|error| panic!("{text}: {error}"))
}

#[test]
fn every_lavalink_filter_and_parameter_can_be_set() {
    let spec = fresh("volume volume=1.5");
    assert_eq!(spec.volume, Some(1.5));
    assert_eq!(fresh("volume 0.5").volume, Some(0.5));

    let spec = fresh("equalizer 0=0.2 14=-0.25");
    let gains = spec.equalizer.unwrap().gains();
    assert_eq!((gains[0], gains[14], gains[7]), (0.2, -0.25, 0.0));
    assert_eq!(fresh("eq 3:0.1,4:0.3").equalizer.unwrap().gains()[4], 0.3);

    let karaoke = fresh("karaoke level=0.5 monoLevel=0.25 filterBand=300 filterWidth=50")
        .karaoke
        .unwrap();
    assert_eq!(
        karaoke,
        Karaoke::new(0.5, 0.25, 300.0, 50.0).unwrap(),
        "{karaoke:?}"
    );

    let timescale = fresh("timescale speed=1.1 pitch=0.9 rate=1.2")
        .timescale
        .unwrap();
    assert_eq!(timescale, Timescale::new(1.1, 0.9, 1.2).unwrap());

    let tremolo = fresh("tremolo frequency=5 depth=0.25").tremolo.unwrap();
    assert_eq!((tremolo.frequency, tremolo.depth), (5.0, 0.25));
    let vibrato = fresh("vibrato frequency=10 depth=0.75").vibrato.unwrap();
    assert_eq!((vibrato.frequency, vibrato.depth), (10.0, 0.75));

    assert_eq!(
        fresh("rotation rotationHz=0.3")
            .rotation
            .unwrap()
            .rotation_hz,
        0.3
    );

    let distortion = fresh(
        "distortion sinOffset=0.1 sinScale=0.2 cosOffset=0.3 cosScale=0.4 tanOffset=0.5 \
         tanScale=0.6 offset=0.7 scale=0.8",
    )
    .distortion
    .unwrap();
    assert_eq!(
        distortion,
        Distortion {
            sin_offset: 0.1,
            sin_scale: 0.2,
            cos_offset: 0.3,
            cos_scale: 0.4,
            tan_offset: 0.5,
            tan_scale: 0.6,
            offset: 0.7,
            scale: 0.8,
        }
    );

    let mix = fresh("channelMix leftToLeft=0.5 leftToRight=0.5 rightToLeft=0.25 rightToRight=0.75")
        .channel_mix
        .unwrap();
    assert_eq!(mix, ChannelMix::new(0.5, 0.5, 0.25, 0.75).unwrap());

    assert_eq!(
        fresh("lowPass smoothing=25").low_pass.unwrap().smoothing,
        25.0
    );
    assert_eq!(
        fresh("bassBoost level=high").bass_boost,
        Some(BassBoostLevel::High)
    );
    assert_eq!(
        fresh("bass_boost extreme").bass_boost,
        Some(BassBoostLevel::Extreme)
    );

    let reverb = fresh("reverb roomSize=0.9 damping=0.1 wet=0.4")
        .reverb
        .unwrap();
    assert_eq!(reverb, Reverb::new(0.9, 0.1, 0.4).unwrap());
}

#[test]
fn names_ignore_case_and_separators() {
    let spec = fresh("Channel_Mix left_to_right=0.5");
    assert_eq!(spec.channel_mix.unwrap().left_to_right, 0.5);
    let spec = fresh("DISTORTION SinOffset=0.1");
    assert_eq!(spec.distortion.unwrap().sin_offset, 0.1);
    let change = FilterChange::parse_parts("lowpass", "smoothing=4").unwrap();
    assert_eq!(change.kind(), FilterKind::LowPass);
}

#[test]
fn a_change_keeps_the_parameters_it_does_not_name() {
    let first = fresh("distortion sinOffset=0.1");
    let second = set(first, "distortion scale=2").unwrap();
    let distortion = second.distortion.unwrap();
    assert_eq!((distortion.sin_offset, distortion.scale), (0.1, 2.0));
    assert_eq!(distortion.cos_scale, 1.0, "the rest stay at the defaults");

    let nightcore = Preset::Nightcore.spec();
    let higher = set(nightcore, "timescale pitch=1.5").unwrap();
    assert_eq!(higher.timescale, Timescale::new(1.0, 1.5, 1.25).ok());

    let eq = set(fresh("eq 0=0.2"), "eq 1=0.1").unwrap();
    assert_eq!(&eq.equalizer.unwrap().gains()[..3], &[0.2, 0.1, 0.0]);
}

#[test]
fn every_parameter_takes_its_bounds_and_refuses_beyond_them() {
    for kind in FilterKind::ALL {
        for param in kind.params() {
            for value in [param.min, param.max] {
                let text = format!("{kind} {}={value}", param.key);
                let spec = set(FilterSpec::default(), &text)
                    .unwrap_or_else(|error| panic!("{text}: {error}"));
                assert!(kind.is_on(&spec), "{text}");
            }
            let below = if param.min > 0.0 && param.min <= f32::MIN_POSITIVE {
                0.0
            } else {
                param.min - 1.0
            };
            for value in [below, param.max + 1.0] {
                let text = format!("{kind} {}={value}", param.key);
                let error = set(FilterSpec::default(), &text).unwrap_err();
                assert!(
                    matches!(error, FilterError::OutOfRange { .. }),
                    "{text}: {error:?}"
                );
                assert!(error.to_string().contains(param.key), "{error}");
            }
        }
    }
}

#[test]
fn mistakes_get_one_sentence_naming_what_is_allowed() {
    let message = |text: &str| set(FilterSpec::default(), text).unwrap_err().to_string();

    let unknown = message("wobble depth=1");
    assert!(
        unknown.contains("wobble") && unknown.contains("distortion") && unknown.contains("reverb"),
        "{unknown}"
    );

    let key = message("distortion sinOfset=0.1");
    assert!(
        key.contains("sinOfset") && key.contains("sinOffset") && key.contains("between -10 and 10"),
        "{key}"
    );

    let range = message("distortion sinOffset=11");
    assert_eq!(
        range,
        "distortion: sinOffset must be between -10 and 10 (got 11)"
    );
    let frequency = message("vibrato frequency=0");
    assert!(
        frequency.contains("more than 0 and at most 14"),
        "{frequency}"
    );

    let word = message("karaoke level=loud");
    assert!(word.contains("level") && word.contains("loud"), "{word}");
    assert!(message("karaoke level=NaN").contains("number"));
    assert!(message("karaoke level=inf").contains("number"));

    let bare = message("karaoke 0.5");
    assert!(
        bare.contains("name=value") && bare.contains("monoLevel"),
        "{bare}"
    );

    let empty = message("channelMix");
    assert!(
        empty.contains("say what to set") && empty.contains("leftToRight"),
        "{empty}"
    );

    assert!(message("eq 15=0.1").contains("band 15"));
    assert!(message("eq 0=2").contains("between -0.25 and 1"));
    let level = message("bassBoost level=huge");
    assert!(
        level.contains("huge") && level.contains("extreme"),
        "{level}"
    );
    assert!(message("").contains("unknown filter"));
}

#[test]
fn one_filter_can_be_turned_off_alone() {
    let spec = Preset::EightD
        .spec()
        .merged_with(&fresh("distortion scale=2"));
    let without_reverb = spec.without(FilterKind::Reverb);
    assert_eq!(without_reverb.reverb, None);
    assert_eq!(without_reverb.rotation, spec.rotation);
    assert_eq!(without_reverb.distortion, spec.distortion);
    for kind in FilterKind::ALL {
        let everything = fresh_everything();
        assert!(kind.is_on(&everything), "{kind}");
        let off = everything.without(kind);
        assert!(!kind.is_on(&off), "{kind}");
        assert_eq!(off.kinds().len(), FilterKind::ALL.len() - 1, "{kind}");
    }
}

fn fresh_everything() -> FilterSpec {
    [
        "volume 2",
        "eq 0=0.1",
        "karaoke level=0.5",
        "timescale speed=1.5",
        "tremolo depth=0.3",
        "vibrato depth=0.3",
        "rotation 0.5",
        "distortion scale=2",
        "channelMix leftToRight=0.5",
        "lowPass 10",
        "bassBoost low",
        "reverb wet=0.5",
    ]
    .into_iter()
    .try_fold(FilterSpec::default(), set)
    .unwrap()
}

#[test]
fn filter_names_parse_back() {
    for kind in FilterKind::ALL {
        assert_eq!(FilterKind::parse(kind.name()), Ok(kind));
    }
    assert_eq!(FilterKind::parse("EQ"), Ok(FilterKind::Equalizer));
    assert!(matches!(
        FilterKind::parse("echo"),
        Err(FilterError::UnknownFilter(_))
    ));
}

#[test]
fn every_preset_is_named_after_itself_when_applied_alone() {
    for preset in Preset::ALL {
        assert_eq!(preset.spec().labels(), [preset.name()], "{preset}");
    }
}

#[test]
fn labels_name_the_presets_chosen_and_the_filters_set_by_hand() {
    let spec = Preset::Nightcore
        .spec()
        .merged_with(&Preset::BassBoostHigh.spec())
        .merged_with(&fresh("distortion sinOffset=0.1"));
    assert_eq!(spec.labels(), ["nightcore", "distortion", "bassboost-high"]);

    // A preset whose filter was changed afterwards is not claimed any more.
    let changed = set(Preset::Nightcore.spec(), "timescale pitch=2").unwrap();
    assert_eq!(changed.labels(), ["timescale"]);

    // Half of 8d left: the rotation is a hand-made filter now.
    let half = Preset::EightD.spec().without(FilterKind::Reverb);
    assert_eq!(half.labels(), ["rotation"]);
    assert!(FilterSpec::default().labels().is_empty());
}

#[test]
fn describe_shows_every_parameter_and_the_preset() {
    let spec = Preset::EightD
        .spec()
        .merged_with(&fresh("distortion sinOffset=0.1"))
        .merged_with(&fresh("eq 0=0.2 3=-0.1"));
    assert_eq!(
        spec.describe(),
        [
            "equalizer 0=0.2 3=-0.1",
            "rotation rotationHz=0.2 (8d)",
            "distortion sinOffset=0.1 sinScale=1 cosOffset=0 cosScale=1 tanOffset=0 tanScale=1 \
             offset=0 scale=1",
            "reverb roomSize=0.3 damping=0.5 wet=0.15 (8d)",
        ]
    );
    assert_eq!(
        Preset::Nightcore.spec().describe(),
        ["timescale speed=1 pitch=1 rate=1.25 (nightcore)"]
    );
    assert_eq!(
        Preset::BassBoostLow.spec().describe(),
        ["bassBoost level=low (bassboost-low)"]
    );
}
