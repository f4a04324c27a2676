use minstrel_app::MusicError;
use minstrel_domain::{Preset, SourceKind, TrackId};

use super::*;

fn a_track(id: u64) -> Track {
    Track {
        id: TrackId(id),
        title: format!("track {id}"),
        artist: Some("artist".to_owned()),
        duration: Some(Duration::from_secs(200)),
        source_kind: SourceKind::Local,
        locator: format!("{id}.flac"),
        thumbnail: None,
        requested_by: Requester {
            id: RequesterId::Telegram(TelegramUserId::new(42).unwrap()),
            display_name: "Ann".to_owned(),
        },
    }
}

fn round_trip(reply: CommandReply) {
    let text = encode_reply(&Ok(reply.clone())).unwrap();
    assert_eq!(decode_reply(&text).unwrap(), Ok(reply));
}

#[test]
#[allow(clippy::too_many_lines)] // one value of every command
fn every_command_survives_the_trip() {
    let commands = [
        GuildCommand::Play {
            query: "never gonna".to_owned(),
        },
        GuildCommand::Skip,
        GuildCommand::Pause,
        GuildCommand::Resume,
        GuildCommand::Stop,
        GuildCommand::Queue {
            page: 2,
            per_page: 10,
        },
        GuildCommand::NowPlaying,
        GuildCommand::SetVolume { percent: -5 },
        GuildCommand::ApplyPreset {
            name: "nightcore".to_owned(),
        },
        GuildCommand::SetFilter {
            text: "distortion sinOffset=0.1 scale=2".to_owned(),
        },
        GuildCommand::RemoveFilter {
            name: "reverb".to_owned(),
        },
        GuildCommand::ShowFilters,
        GuildCommand::ResetFilters,
        GuildCommand::SetRepeat {
            mode: RepeatMode::Queue,
        },
        GuildCommand::Shuffle,
        GuildCommand::Join {
            channel: ChannelId::new(44).unwrap(),
            text_channel: None,
        },
        GuildCommand::Join {
            channel: ChannelId::new(44).unwrap(),
            text_channel: Some(ChannelId::new(45).unwrap()),
        },
        GuildCommand::Leave,
        GuildCommand::PlayNext {
            query: "next one".to_owned(),
        },
        GuildCommand::VoteSkip { listeners: 3 },
        GuildCommand::SkipTo { index: 4 },
        GuildCommand::Previous,
        GuildCommand::Seek {
            target: SeekTarget::At(Duration::from_millis(90_250)),
        },
        GuildCommand::Seek {
            target: SeekTarget::Forward(Duration::from_secs(30)),
        },
        GuildCommand::Seek {
            target: SeekTarget::Back(Duration::from_secs(10)),
        },
        GuildCommand::Remove { index: 2 },
        GuildCommand::Move { from: 3, to: 0 },
        GuildCommand::Clear,
        GuildCommand::PlayNow {
            query: "now".to_owned(),
        },
        GuildCommand::Replay,
        GuildCommand::RemoveMany {
            removal: Removal::Range { from: 2, to: 5 },
        },
        GuildCommand::RemoveMany {
            removal: Removal::Duplicates,
        },
        GuildCommand::RemoveMany {
            removal: Removal::RequestedBy(None),
        },
        GuildCommand::RemoveMany {
            removal: Removal::Absent {
                listeners: vec![
                    RequesterId::Discord(UserId::new(8).unwrap()),
                    RequesterId::Console,
                ],
            },
        },
        GuildCommand::RemoveMany {
            removal: Removal::RequestedBy(Some(RequesterId::Telegram(
                TelegramUserId::new(-5).unwrap(),
            ))),
        },
    ];
    let actor = Actor::member(
        Requester {
            id: RequesterId::Discord(UserId::new(7).unwrap()),
            display_name: "Bo".to_owned(),
        },
        vec![RoleId::new(9).unwrap()],
        true,
    );
    for command in commands {
        let request = Request {
            guild: GuildId::new(1 << 22).unwrap(),
            actor: actor.clone(),
            command: command.clone(),
        };
        let decoded = decode_request(&encode_request(&request).unwrap()).unwrap();
        assert_eq!(decoded.guild, request.guild);
        assert_eq!(decoded.actor, actor);
        assert_eq!(decoded.command, command);
    }
}

#[test]
fn a_join_from_a_process_without_the_text_channel_still_decodes() {
    let mut json: serde_json::Value = serde_json::from_str(
        &encode_request(&Request {
            guild: GuildId::new(1 << 22).unwrap(),
            actor: Actor::console(),
            command: GuildCommand::Join {
                channel: ChannelId::new(44).unwrap(),
                text_channel: Some(ChannelId::new(45).unwrap()),
            },
        })
        .unwrap(),
    )
    .unwrap();
    let command = json.get_mut("command").unwrap().as_object_mut().unwrap();
    assert!(command.remove("text_channel").is_some(), "{command:?}");
    let decoded = decode_request(&json.to_string()).unwrap();
    assert_eq!(
        decoded.command,
        GuildCommand::Join {
            channel: ChannelId::new(44).unwrap(),
            text_channel: None,
        }
    );
}

#[test]
fn every_reply_survives_the_trip() {
    round_trip(CommandReply::Played(PlayOutcome {
        queued: vec![a_track(1), a_track(2)],
        position: Some(3),
        started: None,
        rejected: 1,
        loading: true,
    }));
    round_trip(CommandReply::Skipped(SkipOutcome {
        skipped: a_track(1),
        next: Some(a_track(2)),
    }));
    round_trip(CommandReply::Paused);
    round_trip(CommandReply::Resumed);
    round_trip(CommandReply::Joined);
    round_trip(CommandReply::Left);
    round_trip(CommandReply::Jumped(a_track(5)));
    round_trip(CommandReply::Sought(Duration::from_millis(61_500)));
    round_trip(CommandReply::Repeat(RepeatMode::Queue));
    round_trip(CommandReply::Removed(a_track(6)));
    round_trip(CommandReply::Moved(a_track(7), 2));
    round_trip(CommandReply::Cleared(9));
    round_trip(CommandReply::RemovedMany(4));
    round_trip(CommandReply::Voted(VoteOutcome {
        votes: 1,
        needed: 2,
        skipped: None,
    }));
    round_trip(CommandReply::Voted(VoteOutcome {
        votes: 2,
        needed: 2,
        skipped: Some(SkipOutcome {
            skipped: a_track(8),
            next: Some(a_track(9)),
        }),
    }));
    round_trip(CommandReply::Stopped(4));
    round_trip(CommandReply::Queue(QueuePage {
        current: Some(a_track(1)),
        items: vec![(0, a_track(2))],
        page: 1,
        pages: 1,
        total: 1,
        total_duration: Duration::from_secs(200),
        repeat: RepeatMode::Track,
    }));
    round_trip(CommandReply::NowPlaying(Box::new(NowPlaying {
        track: a_track(5),
        position: Duration::from_millis(1500),
        state: PlaybackState::Paused,
        volume: Volume::new(80).unwrap(),
        filters: Preset::Nightcore.spec(),
        repeat: RepeatMode::Off,
        upcoming: 2,
    })));
    round_trip(CommandReply::Volume(Volume::new(150).unwrap()));
    round_trip(CommandReply::Filters(Preset::Nightcore.spec()));
    let by_hand = [
        "distortion sinOffset=0.1 scale=2",
        "channelMix leftToRight=0.5",
    ]
    .into_iter()
    .try_fold(Preset::EightD.spec(), |spec, text| {
        minstrel_domain::filters::FilterChange::parse(text)?.apply(spec)
    })
    .unwrap();
    round_trip(CommandReply::Filters(by_hand));
    round_trip(CommandReply::Shuffled(3));
}

#[test]
fn an_error_travels_as_its_sentence_and_damage_is_refused() {
    let error = CommandError::Music(MusicError::NothingPlaying);
    let text = encode_reply(&Err(error)).unwrap();
    assert_eq!(
        decode_reply(&text).unwrap(),
        Err(CommandError::Remote {
            message: "nothing is playing".to_owned(),
            internal: false,
        })
    );
    assert!(decode_reply("{\"ok\":{\"type\":\"volume\",\"percent\":999}}").is_err());
    assert!(decode_request("{\"guild\":0}").is_err());
    assert!(decode_reply("not json").is_err());
}
