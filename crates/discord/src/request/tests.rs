use super::*;
use minstrel_app::vocabulary::SeekTarget;
use twilight_model::application::command::CommandType;

fn data(name: &str, options: Vec<CommandDataOption>) -> CommandData {
    CommandData {
        guild_id: None,
        id: twilight_model::id::Id::new(1),
        name: name.to_owned(),
        kind: CommandType::ChatInput,
        options,
        resolved: None,
        target_id: None,
    }
}

fn option(name: &str, value: CommandOptionValue) -> CommandDataOption {
    CommandDataOption {
        name: name.to_owned(),
        value,
    }
}

#[test]
fn play_without_a_query_plays_the_playlist_and_positions_become_indexes() {
    assert_eq!(
        parse(&data("play", vec![])).unwrap(),
        Request::Player(GuildCommand::Play {
            query: String::new()
        })
    );
    assert_eq!(
        parse(&data(
            "move",
            vec![
                option("from", CommandOptionValue::Integer(3)),
                option("to", CommandOptionValue::Integer(1)),
            ]
        ))
        .unwrap(),
        Request::Player(GuildCommand::Move { from: 2, to: 0 })
    );
    assert_eq!(
        parse(&data(
            "skipto",
            vec![option("position", CommandOptionValue::Integer(0))]
        ))
        .unwrap_err()
        .to_string(),
        "positions start at 1"
    );
}

#[test]
fn remove_takes_one_of_a_position_a_range_a_member_or_the_duplicates() {
    let remove = |options| parse(&data("remove", options));
    let int = |name: &str, value| option(name, CommandOptionValue::Integer(value));
    assert_eq!(
        remove(vec![int("position", 3)]).unwrap(),
        Request::Player(GuildCommand::Remove { index: 2 })
    );
    let many = |removal| Request::Player(GuildCommand::RemoveMany { removal });
    assert_eq!(
        remove(vec![int("position", 3), int("to", 7)]).unwrap(),
        many(Removal::Range { from: 2, to: 6 })
    );
    assert_eq!(
        remove(vec![option(
            "member",
            CommandOptionValue::User(twilight_model::id::Id::new(42))
        )])
        .unwrap(),
        many(Removal::RequestedBy(Some(RequesterId::Discord(
            UserId::new(42).unwrap()
        ))))
    );
    assert_eq!(
        remove(vec![option(
            "duplicates",
            CommandOptionValue::Boolean(true)
        )])
        .unwrap(),
        many(Removal::Duplicates)
    );
    assert_eq!(
        remove(vec![int("position", 7), int("to", 3)])
            .unwrap_err()
            .to_string(),
        "a range goes from a position to a later one"
    );
    for confused in [
        vec![],
        vec![int("to", 3)],
        vec![
            int("position", 1),
            option("duplicates", CommandOptionValue::Boolean(true)),
        ],
    ] {
        assert!(
            remove(confused)
                .unwrap_err()
                .to_string()
                .starts_with("pick one"),
        );
    }
    assert_eq!(
        remove(vec![option("absent", CommandOptionValue::Boolean(true))]).unwrap(),
        Request::RemoveAbsent
    );
    assert!(
        remove(vec![
            option("absent", CommandOptionValue::Boolean(true)),
            int("position", 2)
        ])
        .is_err()
    );
    assert_eq!(
        parse(&data(
            "playnow",
            vec![option("query", CommandOptionValue::String(" song ".into()))]
        ))
        .unwrap(),
        Request::Player(GuildCommand::PlayNow {
            query: "song".into()
        })
    );
}

#[test]
fn the_voice_channel_for_telegram_plays_is_set_and_removed() {
    let set = parse(&data(
        "guildsettings",
        vec![option(
            "voicechannel",
            CommandOptionValue::SubCommand(vec![option(
                "channel",
                CommandOptionValue::Channel(twilight_model::id::Id::new(77)),
            )]),
        )],
    ))
    .unwrap();
    assert_eq!(
        set,
        Request::GuildSettings(Some(GuildSettingChange::DefaultVoiceChannel(Some(
            ChannelId::new(77).unwrap()
        ))))
    );
    let removed = parse(&data(
        "guildsettings",
        vec![option(
            "voicechannel",
            CommandOptionValue::SubCommand(vec![]),
        )],
    ))
    .unwrap();
    assert_eq!(
        removed,
        Request::GuildSettings(Some(GuildSettingChange::DefaultVoiceChannel(None)))
    );
}

#[test]
fn sub_commands_and_times_parse() {
    let request = parse(&data(
        "playlist",
        vec![option(
            "addto",
            CommandOptionValue::SubCommand(vec![
                option("name", CommandOptionValue::String("road".into())),
                option("query", CommandOptionValue::String(" song ".into())),
            ]),
        )],
    ))
    .unwrap();
    assert_eq!(
        request,
        Request::Playlist(PlaylistRequest::AddQuery {
            name: "road".into(),
            query: "song".into()
        })
    );
    assert_eq!(
        parse(&data(
            "seek",
            vec![option("time", CommandOptionValue::String("1:30".into()))]
        ))
        .unwrap(),
        Request::Player(GuildCommand::Seek {
            target: SeekTarget::At(Duration::from_secs(90))
        })
    );
    assert_eq!(
        parse(&data(
            "filters",
            vec![option("reset", CommandOptionValue::SubCommand(vec![]))]
        ))
        .unwrap(),
        Request::Player(GuildCommand::ResetFilters)
    );
    assert_eq!(parse(&data("filter", vec![])).unwrap(), Request::FilterMenu);
    assert_eq!(
        parse(&data(
            "filters",
            vec![option(
                "set",
                CommandOptionValue::SubCommand(vec![
                    option("filter", CommandOptionValue::String("distortion".into())),
                    option(
                        "params",
                        CommandOptionValue::String(" sinOffset=0.1 scale=2 ".into())
                    ),
                ]),
            )]
        ))
        .unwrap(),
        Request::Player(GuildCommand::SetFilter {
            text: "distortion sinOffset=0.1 scale=2".into()
        })
    );
    assert_eq!(
        parse(&data(
            "filters",
            vec![option(
                "remove",
                CommandOptionValue::SubCommand(vec![option(
                    "filter",
                    CommandOptionValue::String("reverb".into())
                )]),
            )]
        ))
        .unwrap(),
        Request::Player(GuildCommand::RemoveFilter {
            name: "reverb".into()
        })
    );
    assert_eq!(
        parse(&data(
            "filters",
            vec![option("set", CommandOptionValue::SubCommand(vec![]))]
        ))
        .unwrap_err()
        .to_string(),
        "tell me the filter"
    );
    assert!(parse(&data("nonsense", vec![])).is_err());
}
