use futures::{SinkExt as _, StreamExt as _};
use serde::de::DeserializeSeed as _;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use twilight_model::gateway::event::{DispatchEvent, GatewayEvent, GatewayEventDeserializer};
use twilight_model::id::Id;

use super::{
    BOT_USER_ID, FakeGateway, FakeMember, VOICE_SESSION_ID, VOICE_TOKEN, WAIT, guild_create_json,
    presence_update_json, with_presences,
};
use twilight_model::gateway::payload::incoming::GuildCreate;
use twilight_model::gateway::presence::Status;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn send(socket: &mut Socket, payload: &Value) {
    socket
        .send(Message::Text(payload.to_string().into()))
        .await
        .expect("send a gateway payload");
}

/// The next gateway event, deserialized as twilight-gateway does.
async fn next_event(socket: &mut Socket) -> GatewayEvent {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a gateway payload in time")
            .expect("the socket stays open")
            .expect("a websocket message");
        if let Message::Text(text) = message {
            let deserializer = GatewayEventDeserializer::from_json(&text).expect("op and t");
            let mut json = serde_json::Deserializer::from_str(&text);
            return deserializer
                .deserialize(&mut json)
                .unwrap_or_else(|error| panic!("twilight reads {text}: {error}"));
        }
    }
}

async fn next_dispatch(socket: &mut Socket) -> DispatchEvent {
    match next_event(socket).await {
        GatewayEvent::Dispatch(_, event) => event,
        other => panic!("expected a dispatch, got {other:?}"),
    }
}

#[tokio::test]
async fn voice_join_and_leave_are_answered_with_voice_state_and_server_updates() {
    let gateway = FakeGateway::start().await;
    gateway.set_voice_endpoint("localhost:4444");
    let (mut socket, _) = tokio_tungstenite::connect_async(gateway.url())
        .await
        .expect("connect to the fake gateway");
    assert!(matches!(
        next_event(&mut socket).await,
        GatewayEvent::Hello(_)
    ));
    send(
        &mut socket,
        &json!({"op": 2, "d": {"token": "t", "intents": 0, "properties": {}, "shard": [0, 1]}}),
    )
    .await;
    assert!(matches!(
        next_dispatch(&mut socket).await,
        DispatchEvent::Ready(_)
    ));

    let join = json!({"op": 4, "d": {
        "guild_id": "100", "channel_id": "200", "self_mute": false, "self_deaf": true,
    }});
    send(&mut socket, &join).await;
    let DispatchEvent::VoiceStateUpdate(state) = next_dispatch(&mut socket).await else {
        panic!("VOICE_STATE_UPDATE first");
    };
    assert_eq!(state.user_id.get(), BOT_USER_ID);
    assert_eq!(state.guild_id.map(Id::get), Some(100));
    assert_eq!(state.channel_id.map(Id::get), Some(200));
    assert_eq!(state.session_id, VOICE_SESSION_ID);
    assert!(state.self_deaf);
    assert!(state.member.is_some());
    let DispatchEvent::VoiceServerUpdate(server) = next_dispatch(&mut socket).await else {
        panic!("then VOICE_SERVER_UPDATE");
    };
    assert_eq!(server.guild_id.get(), 100);
    assert_eq!(server.token, VOICE_TOKEN);
    assert_eq!(server.endpoint.as_deref(), Some("localhost:4444"));

    let leave = json!({"op": 4, "d": {
        "guild_id": "100", "channel_id": null, "self_mute": false, "self_deaf": false,
    }});
    send(&mut socket, &leave).await;
    let DispatchEvent::VoiceStateUpdate(state) = next_dispatch(&mut socket).await else {
        panic!("VOICE_STATE_UPDATE on leave");
    };
    assert_eq!(state.channel_id, None);
    // Frames on one connection keep their order: the ACK proves no VOICE_SERVER_UPDATE came.
    send(&mut socket, &json!({"op": 1, "d": 3})).await;
    assert!(matches!(
        next_event(&mut socket).await,
        GatewayEvent::HeartbeatAck
    ));
    assert_eq!(
        gateway.wait_for_op(4, 2).await["d"]["channel_id"],
        Value::Null
    );
}

#[tokio::test]
async fn presences_in_guild_create_and_presence_updates_read_as_twilight_reads_them() {
    let gateway = FakeGateway::start().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(gateway.url())
        .await
        .expect("connect to the fake gateway");
    next_event(&mut socket).await;
    let intents = 1 | 2 | 128 | 256;
    send(
        &mut socket,
        &json!({"op": 2, "d": {"token": "t", "intents": intents, "properties": {}, "shard": [0, 1]}}),
    )
    .await;
    assert_eq!(gateway.identify_intents(1).await, intents);
    next_dispatch(&mut socket).await;

    let ann = FakeMember::new(11, "ann");
    let mut jukebox = FakeMember::new(12, "jukebox");
    jukebox.bot = true;
    let bo = FakeMember::new(13, "bo");
    let created = with_presences(
        guild_create_json(100, &[(200, "Music")], &[(&ann, 200)]),
        &[(&ann, "online"), (&jukebox, "online"), (&bo, "offline")],
    );
    assert!(gateway.dispatch("GUILD_CREATE", &created));
    let DispatchEvent::GuildCreate(created) = next_dispatch(&mut socket).await else {
        panic!("GUILD_CREATE");
    };
    let GuildCreate::Available(guild) = *created else {
        panic!("an available guild");
    };
    // ann is a member once, though she is both in voice and present.
    let members: Vec<(u64, bool)> = guild
        .members
        .iter()
        .map(|member| (member.user.id.get(), member.user.bot))
        .collect();
    assert_eq!(members, [(11, false), (12, true), (13, false)]);
    let presences: Vec<(u64, u64, Status)> = guild
        .presences
        .iter()
        .map(|presence| {
            (
                presence.guild_id.get(),
                presence.user.id().get(),
                presence.status,
            )
        })
        .collect();
    assert_eq!(
        presences,
        [
            (100, 11, Status::Online),
            (100, 12, Status::Online),
            (100, 13, Status::Offline),
        ]
    );

    assert!(gateway.dispatch("PRESENCE_UPDATE", &presence_update_json(100, &bo, "dnd")));
    let DispatchEvent::PresenceUpdate(update) = next_dispatch(&mut socket).await else {
        panic!("PRESENCE_UPDATE");
    };
    assert_eq!(update.guild_id.get(), 100);
    assert_eq!(update.user.id().get(), 13);
    assert_eq!(update.status, Status::DoNotDisturb);
}
