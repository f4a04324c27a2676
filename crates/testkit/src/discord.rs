//! Fakes of Discord for tests, on 127.0.0.1 ports the OS picks:
//! - [`FakeGateway`]: a websocket gateway speaking Hello / Identify / READY / heartbeat ACK /
//!   Resume → RESUMED, with dispatch injection (`INTERACTION_CREATE`, …) and the failures a
//!   real gateway has: scripted closes with any code, heartbeats left unacknowledged (a
//!   zombied connection), a dropped TCP connection and invalid sessions (op 9); it counts
//!   Identify and Resume per connection and records the client's own closes;
//!   a voice join (op 4) is answered with `VOICE_STATE_UPDATE` and `VOICE_SERVER_UPDATE`
//!   pointing at [`FakeGateway::set_voice_endpoint`] (see [`crate::voice::FakeVoiceServer`]);
//! - [`FakeRest`]: the REST API, recording interaction callbacks, webhook edits and follow-ups,
//!   and command registration; it answers with an error status or not at all on demand;
//! - builders of interaction JSON as Discord sends it.
//!
//! Point twilight at them with `ConfigBuilder::proxy_url(gateway.url())` and
//! `Client::builder().proxy(rest.proxy_address(), true).ratelimiter(None)`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::recorder::Recorder;
pub use crate::recorder::WAIT;
use crate::websocket::{CurrentClient, Outgoing, spawn_writer};

/// The application id the fakes use (READY, webhooks).
pub const APPLICATION_ID: u64 = 700_000_000_000_000_001;
/// The bot's user id in READY.
pub const BOT_USER_ID: u64 = 700_000_000_000_000_002;
/// The session id READY hands out; a Resume must carry it.
pub const SESSION_ID: &str = "fake-session-1";
/// The voice session id `VOICE_STATE_UPDATE` hands out for the bot (its voice Identify carries it).
pub const VOICE_SESSION_ID: &str = "fake-voice-session-1";
/// The voice token `VOICE_SERVER_UPDATE` hands out (its voice Identify carries it).
pub const VOICE_TOKEN: &str = "fake-voice-token";

/// A payload the client sent, with the connection it came on (0 for the first).
#[derive(Clone)]
struct Received {
    connection: usize,
    payload: Value,
}

struct GatewayState {
    url: String,
    received: Recorder<Received>,
    /// The close code of every close frame the client sent, in order.
    client_closes: Recorder<u16>,
    connections: AtomicUsize,
    /// When each websocket connection was accepted.
    connected_at: Mutex<Vec<Instant>>,
    sequence: AtomicU64,
    current: CurrentClient,
    /// Ends the current connection without a close frame (a dropped TCP connection).
    drop_current: Mutex<Option<Arc<tokio::sync::Notify>>>,
    /// Heartbeats are answered with an ACK while true.
    ack_heartbeats: AtomicBool,
    /// The `heartbeat_interval` later Hellos announce, in milliseconds.
    heartbeat_interval_ms: AtomicU64,
    /// Answer a client's close frame with one of its own (as Discord does) while true.
    answer_client_close: AtomicBool,
    /// Guilds whose voice state updates (op 4) get no answer at all.
    unanswered_voice_guilds: Mutex<std::collections::HashSet<u64>>,
    close_on_identify: Mutex<Option<u16>>,
    /// Answer op 4 joins with the bot's `VOICE_STATE_UPDATE` only, never a `VOICE_SERVER_UPDATE`.
    withhold_voice_server: std::sync::atomic::AtomicBool,
    voice_endpoint: Mutex<Option<String>>,
    /// Endpoints for particular guilds (one fake voice server each), before `voice_endpoint`.
    guild_voice_endpoints: Mutex<std::collections::HashMap<u64, String>>,
}

impl GatewayState {
    fn dispatch_text(&self, event: &str, data: &Value) -> String {
        let sequence = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        json!({"op": 0, "s": sequence, "t": event, "d": data}).to_string()
    }
}

/// A fake Discord gateway (plain `ws://`, uncompressed JSON text frames).
pub struct FakeGateway {
    state: Arc<GatewayState>,
    task: JoinHandle<()>,
}

impl FakeGateway {
    /// Listens on 127.0.0.1 at a port the OS picks.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake gateway");
        let address = listener.local_addr().expect("fake gateway address");
        let state = Arc::new(GatewayState {
            url: format!("ws://{address}"),
            received: Recorder::new(),
            client_closes: Recorder::new(),
            connections: AtomicUsize::new(0),
            connected_at: Mutex::new(Vec::new()),
            sequence: AtomicU64::new(0),
            current: CurrentClient::default(),
            drop_current: Mutex::new(None),
            ack_heartbeats: AtomicBool::new(true),
            heartbeat_interval_ms: AtomicU64::new(41_250),
            answer_client_close: AtomicBool::new(true),
            unanswered_voice_guilds: Mutex::new(std::collections::HashSet::new()),
            close_on_identify: Mutex::new(None),
            withhold_voice_server: std::sync::atomic::AtomicBool::new(false),
            voice_endpoint: Mutex::new(None),
            guild_voice_endpoints: Mutex::new(std::collections::HashMap::new()),
        });
        let accept_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_gateway(stream, Arc::clone(&accept_state)));
            }
        });
        Self { state, task }
    }

    /// `ws://127.0.0.1:PORT`, for `ConfigBuilder::proxy_url`.
    pub fn url(&self) -> String {
        self.state.url.clone()
    }

    /// Every payload the client sent, in order, over every connection.
    pub fn received(&self) -> Vec<Value> {
        self.state
            .received
            .lock()
            .iter()
            .map(|received| received.payload.clone())
            .collect()
    }

    /// How many payloads with opcode `op` the client sent on each connection, in the order
    /// the connections were accepted (op 2: Identify, op 6: Resume).
    pub fn ops_per_connection(&self, op: u64) -> Vec<usize> {
        let mut counts = vec![0; self.connections()];
        for received in self.state.received.lock().iter() {
            if received.payload["op"].as_u64() == Some(op) {
                if counts.len() <= received.connection {
                    counts.resize(received.connection + 1, 0);
                }
                counts[received.connection] += 1;
            }
        }
        counts
    }

    /// How many Identify (op 2) payloads the client sent, over every connection.
    pub fn identifies(&self) -> usize {
        self.ops_per_connection(2).iter().sum()
    }

    /// How many Resume (op 6) payloads the client sent, over every connection.
    pub fn resumes(&self) -> usize {
        self.ops_per_connection(6).iter().sum()
    }

    /// The code of every close frame the client sent, in order.
    pub fn client_closes(&self) -> Vec<u16> {
        self.state.client_closes.snapshot()
    }

    /// Waits until the client has sent `count` close frames; returns their codes.
    ///
    /// # Panics
    /// After [`WAIT`] without them.
    pub async fn wait_for_client_closes(&self, count: usize) -> Vec<u16> {
        self.state
            .client_closes
            .wait_for(
                &format!("{count} close frame(s) from the client"),
                |codes| (codes.len() >= count).then(|| codes.to_vec()),
            )
            .await
    }

    /// Stops (`false`) or resumes answering heartbeats with an ACK: with no ACK the client
    /// should take the connection for zombied, drop it and resume.
    pub fn acknowledge_heartbeats(&self, acknowledge: bool) {
        self.state
            .ack_heartbeats
            .store(acknowledge, Ordering::SeqCst);
    }

    /// The `heartbeat_interval` later Hellos announce (Discord's is about 41 s).
    pub fn set_heartbeat_interval(&self, interval: std::time::Duration) {
        let millis = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        self.state
            .heartbeat_interval_ms
            .store(millis, Ordering::SeqCst);
    }

    /// Whether a close frame from the client is answered with one (`true`, as Discord does)
    /// or only with the TCP connection going away.
    pub fn answer_client_closes(&self, answer: bool) {
        self.state
            .answer_client_close
            .store(answer, Ordering::SeqCst);
    }

    /// Drops the current connection without a close frame, as a network failure does;
    /// false when none is open.
    pub fn drop_connection(&self) -> bool {
        let current = self
            .state
            .drop_current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        current.is_some_and(|drop| {
            drop.notify_one();
            true
        })
    }

    /// Leaves every voice state update (op 4) for `guild` unanswered, as for a guild whose
    /// voice side is broken.
    pub fn ignore_voice_updates_in(&self, guild: u64) {
        self.state
            .unanswered_voice_guilds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(guild);
    }

    /// Sends op 9 Invalid Session on the current connection; `resumable` is its `d`.
    pub fn invalidate_session(&self, resumable: bool) -> bool {
        let text = json!({"op": 9, "s": null, "t": null, "d": resumable}).to_string();
        self.state.current.send(Outgoing::Text(text))
    }

    /// How many websocket connections were accepted.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// When each websocket connection was accepted, in order.
    pub fn connected_at(&self) -> Vec<Instant> {
        self.state
            .connected_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Waits until the client has sent `count` payloads with opcode `op`; returns the last.
    ///
    /// # Panics
    /// After [`WAIT`] without them.
    pub async fn wait_for_op(&self, op: u64, count: usize) -> Value {
        self.state
            .received
            .wait_for(
                &format!("{count} gateway payload(s) with op {op}"),
                |items| {
                    let matching: Vec<&Value> = items
                        .iter()
                        .map(|received| &received.payload)
                        .filter(|payload| payload["op"].as_u64() == Some(op))
                        .collect();
                    (matching.len() >= count).then(|| matching[count - 1].clone())
                },
            )
            .await
    }

    /// The `intents` bits of the `count`th Identify (op 2), waiting for it.
    ///
    /// # Panics
    /// After [`WAIT`] without it, or when it carries no intents.
    pub async fn identify_intents(&self, count: usize) -> u64 {
        let identify = self.wait_for_op(2, count).await;
        identify["d"]["intents"]
            .as_u64()
            .unwrap_or_else(|| panic!("an Identify without intents: {identify}"))
    }

    /// Sends a dispatch (op 0) on the current connection; false when none is open.
    pub fn dispatch(&self, event: &str, data: &Value) -> bool {
        let text = self.state.dispatch_text(event, data);
        self.state.current.send(Outgoing::Text(text))
    }

    /// Sends an `INTERACTION_CREATE` with `interaction` (see [`slash_command`]).
    pub fn inject_interaction(&self, interaction: &Value) -> bool {
        self.dispatch("INTERACTION_CREATE", interaction)
    }

    /// Closes the current connection with `code`.
    pub fn close(&self, code: u16) -> bool {
        self.state
            .current
            .send(Outgoing::Close(code, format!("scripted close {code}")))
    }

    /// The `endpoint` later `VOICE_SERVER_UPDATE`s carry, e.g. `FakeVoiceServer::endpoint()`
    /// (`localhost:PORT`). Until it is set the endpoint is `null`, which Discord sends while
    /// it allocates a voice server (songbird keeps waiting).
    pub fn set_voice_endpoint(&self, endpoint: &str) {
        *self
            .state
            .voice_endpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(endpoint.to_owned());
    }

    /// Like [`FakeGateway::set_voice_endpoint`] for `guild` only, so each guild's voice
    /// connection can go to a voice server of its own.
    pub fn set_guild_voice_endpoint(&self, guild: u64, endpoint: &str) {
        self.state
            .guild_voice_endpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(guild, endpoint.to_owned());
    }

    /// From now on (`true`) a join (op 4) gets the bot's `VOICE_STATE_UPDATE` but never a
    /// `VOICE_SERVER_UPDATE`, as when Discord cannot place the bot in the channel.
    pub fn withhold_voice_server(&self, withhold: bool) {
        self.state
            .withhold_voice_server
            .store(withhold, Ordering::SeqCst);
    }

    /// The sequence number of the last dispatch sent (0 before any); a Resume must carry it.
    pub fn last_sequence(&self) -> u64 {
        self.state.sequence.load(Ordering::SeqCst)
    }

    /// Answers the next Identify with a close `code` (e.g. 4004) instead of READY.
    pub fn close_on_identify(&self, code: u16) {
        *self
            .state
            .close_on_identify
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(code);
    }
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn ready_payload(state: &GatewayState, shard: &Value) -> Value {
    json!({
        "v": 10,
        "session_id": SESSION_ID,
        "resume_gateway_url": state.url,
        "shard": shard,
        "application": {"id": APPLICATION_ID.to_string(), "flags": 0},
        "guilds": [],
        "user": {
            "id": BOT_USER_ID.to_string(),
            "username": "minstrel",
            "discriminator": "0000",
            "avatar": null,
            "bot": true,
            "mfa_enabled": false,
            "verified": true,
            "flags": 0,
        },
    })
}

/// The dispatches that answer a voice state update (op 4) `request` from the bot: its own
/// `VOICE_STATE_UPDATE` and, when it joins a channel, a `VOICE_SERVER_UPDATE`.
///
/// The shapes follow twilight-model 0.17 `VoiceState` (`member` optional but sent by Discord in
/// guilds; `self_stream` defaults) and `VoiceServerUpdate` (`endpoint` nullable).
fn voice_dispatches(request: &Value, endpoint: Option<&str>) -> Vec<(&'static str, Value)> {
    let guild_id = request["guild_id"].clone();
    let channel_id = request["channel_id"].clone();
    let voice_state = json!({
        "guild_id": guild_id,
        "channel_id": channel_id,
        "user_id": BOT_USER_ID.to_string(),
        "member": {
            "user": {
                "id": BOT_USER_ID.to_string(),
                "username": "minstrel",
                "discriminator": "0000",
                "avatar": null,
                "bot": true,
            },
            "nick": null,
            "roles": [],
            "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "premium_since": null,
            "communication_disabled_until": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
        },
        "session_id": VOICE_SESSION_ID,
        "deaf": false,
        "mute": false,
        "self_deaf": request["self_deaf"].as_bool().unwrap_or(false),
        "self_mute": request["self_mute"].as_bool().unwrap_or(false),
        "self_stream": false,
        "self_video": false,
        "suppress": false,
        "request_to_speak_timestamp": null,
    });
    let mut dispatches = vec![("VOICE_STATE_UPDATE", voice_state)];
    if !channel_id.is_null() {
        dispatches.push((
            "VOICE_SERVER_UPDATE",
            json!({"guild_id": guild_id, "token": VOICE_TOKEN, "endpoint": endpoint}),
        ));
    }
    dispatches
}

async fn serve_gateway(stream: TcpStream, state: Arc<GatewayState>) {
    let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    state
        .connected_at
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Instant::now());
    let connection = state.connections.fetch_add(1, Ordering::SeqCst);
    let (sink, mut source) = socket.split();
    let (sender, outgoing) = mpsc::unbounded_channel();
    state.current.connect(sender.clone());
    let dropped = Arc::new(tokio::sync::Notify::new());
    *state
        .drop_current
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&dropped));
    let interval = state.heartbeat_interval_ms.load(Ordering::SeqCst);
    let hello = json!({"op": 10, "s": null, "t": null, "d": {"heartbeat_interval": interval}});
    let _ = sender.send(Outgoing::Text(hello.to_string()));
    let mut writer = spawn_writer(sink, outgoing);
    loop {
        let message = tokio::select! {
            () = dropped.notified() => break,
            message = source.next() => message,
        };
        let Some(Ok(message)) = message else {
            break;
        };
        let Message::Text(text) = message else {
            if let Message::Close(frame) = message {
                // 1005: "no status received", a close frame without a code.
                let code = frame.map_or(1005, |frame| u16::from(frame.code));
                state.client_closes.push(code);
                if state.answer_client_close.load(Ordering::SeqCst) {
                    let _ = sender.send(Outgoing::Close(code, String::new()));
                    let _ = tokio::time::timeout(WAIT, &mut writer).await;
                }
                break;
            }
            continue;
        };
        let Ok(payload) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        state.received.push(Received {
            connection,
            payload: payload.clone(),
        });
        answer(&state, &sender, &payload);
    }
    writer.abort();
}

/// What the gateway sends back for a payload from the client.
fn answer(state: &GatewayState, sender: &mpsc::UnboundedSender<Outgoing>, payload: &Value) {
    match payload["op"].as_u64() {
        Some(1) if state.ack_heartbeats.load(Ordering::SeqCst) => {
            let _ = sender.send(Outgoing::Text(json!({"op": 11}).to_string()));
        }
        Some(2) => {
            let scripted = state
                .close_on_identify
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(code) = scripted {
                let _ = sender.send(Outgoing::Close(code, format!("scripted close {code}")));
            } else {
                let ready = ready_payload(state, &payload["d"]["shard"]);
                let text = state.dispatch_text("READY", &ready);
                let _ = sender.send(Outgoing::Text(text));
            }
        }
        Some(4) => {
            let guild = payload["d"]["guild_id"]
                .as_str()
                .and_then(|guild| guild.parse::<u64>().ok());
            if guild.is_some_and(|guild| {
                state
                    .unanswered_voice_guilds
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .contains(&guild)
            }) {
                return;
            }
            let for_guild = payload["d"]["guild_id"]
                .as_str()
                .and_then(|guild| guild.parse::<u64>().ok())
                .and_then(|guild| {
                    state
                        .guild_voice_endpoints
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .get(&guild)
                        .cloned()
                });
            let endpoint = for_guild.or_else(|| {
                state
                    .voice_endpoint
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
            });
            let withhold = state.withhold_voice_server.load(Ordering::SeqCst);
            for (event, data) in voice_dispatches(&payload["d"], endpoint.as_deref()) {
                if withhold && event == "VOICE_SERVER_UPDATE" {
                    continue;
                }
                let text = state.dispatch_text(event, &data);
                let _ = sender.send(Outgoing::Text(text));
            }
        }
        Some(6) => {
            let text = state.dispatch_text("RESUMED", &json!({}));
            let _ = sender.send(Outgoing::Text(text));
        }
        _ => {}
    }
}

/// A file of a `multipart/form-data` request (`files[N]` parts).
#[derive(Clone, PartialEq, Eq)]
pub struct RecordedFile {
    /// The form field, e.g. `files[0]`.
    pub field: String,
    pub filename: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for RecordedFile {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RecordedFile")
            .field("field", &self.field)
            .field("filename", &self.filename)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// One request the fake REST API received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path without the query, e.g. `/api/v10/interactions/1/tok/callback`.
    pub path: String,
    /// The JSON body (`Value::Null` when empty, a string when not JSON). For a
    /// `multipart/form-data` request, its `payload_json` part.
    pub body: Value,
    /// The files of a `multipart/form-data` request, in order.
    pub files: Vec<RecordedFile>,
    pub authorization: Option<String>,
    pub at: Instant,
}

impl RecordedRequest {
    /// An interaction callback (`POST /interactions/{id}/{token}/callback`).
    pub fn is_callback(&self) -> bool {
        self.method == "POST"
            && self.path.starts_with("/api/v10/interactions/")
            && self.path.ends_with("/callback")
    }

    /// An edit of the original response (`PATCH /webhooks/{app}/{token}/messages/@original`).
    pub fn is_original_edit(&self) -> bool {
        self.method == "PATCH"
            && self.path.starts_with("/api/v10/webhooks/")
            && self.path.ends_with("/messages/@original")
    }

    /// A follow-up message (`POST /webhooks/{app}/{token}`).
    pub fn is_followup(&self) -> bool {
        self.method == "POST" && self.path.starts_with("/api/v10/webhooks/")
    }

    /// A message the bot posts in a channel on its own (`POST /channels/{channel}/messages`);
    /// [`RecordedRequest::path_segment`] 4 is the channel id.
    pub fn is_channel_message(&self) -> bool {
        self.method == "POST"
            && self.path.starts_with("/api/v10/channels/")
            && self.path.ends_with("/messages")
    }

    /// Command registration (`PUT /applications/{app}[/guilds/{guild}]/commands`).
    pub fn is_command_registration(&self) -> bool {
        self.method == "PUT"
            && self.path.starts_with("/api/v10/applications/")
            && self.path.ends_with("/commands")
    }

    /// The interaction id of a callback, or the token segment of a webhook path.
    pub fn path_segment(&self, index: usize) -> Option<&str> {
        self.path.split('/').nth(index)
    }

    /// The first embed's description of a callback or webhook body.
    pub fn embed_description(&self) -> Option<String> {
        let embeds = if self.is_callback() {
            &self.body["data"]["embeds"]
        } else {
            &self.body["embeds"]
        };
        embeds[0]["description"].as_str().map(str::to_owned)
    }
}

/// How [`FakeRest`] answers a request instead of normally (see [`FakeRest::fail_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestFailure {
    /// An error status with Discord's JSON error body, e.g. 401, 500, 502, 503.
    Status(u16),
    /// No answer at all: the client's request times out.
    Hang,
}

struct RestState {
    requests: Recorder<RecordedRequest>,
    /// How the next requests are answered, first first; normal answers once it is empty.
    failures: Mutex<std::collections::VecDeque<RestFailure>>,
    gateway_url: Mutex<String>,
    /// `session_start_limit` of `GET /gateway/bot`: identifies left today, ms until the reset.
    identify_budget: Mutex<(u32, u64)>,
    next_id: AtomicU64,
}

/// A fake Discord REST API (plain HTTP).
pub struct FakeRest {
    address: SocketAddr,
    state: Arc<RestState>,
    task: JoinHandle<()>,
}

impl FakeRest {
    /// Listens on 127.0.0.1 at a port the OS picks.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake REST API");
        let address = listener.local_addr().expect("fake REST address");
        let state = Arc::new(RestState {
            requests: Recorder::new(),
            failures: Mutex::new(std::collections::VecDeque::new()),
            gateway_url: Mutex::new("ws://127.0.0.1:9".to_owned()),
            identify_budget: Mutex::new((999, 0)),
            next_id: AtomicU64::new(800_000_000_000_000_000),
        });
        let handler_state = Arc::clone(&state);
        let router = Router::new().fallback(move |method, uri, headers, body| {
            let state = Arc::clone(&handler_state);
            async move {
                let failure = state
                    .failures
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop_front();
                let response = handle_rest(&state, &method, &uri, &headers, &body);
                match failure {
                    None => response,
                    Some(RestFailure::Status(code)) => failure_response(code),
                    Some(RestFailure::Hang) => std::future::pending::<Response>().await,
                }
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            address,
            state,
            task,
        }
    }

    /// Answers the next requests (whatever they are, one failure each, in order) with
    /// `failures` instead of normally; they are still recorded.
    pub fn fail_next(&self, failures: impl IntoIterator<Item = RestFailure>) {
        self.state
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(failures);
    }

    /// `127.0.0.1:PORT`, for `Client::builder().proxy(.., true)`.
    pub fn proxy_address(&self) -> String {
        self.address.to_string()
    }

    /// The gateway `GET /gateway/bot` points at (for `create_recommended`).
    pub fn set_gateway_url(&self, url: &str) {
        url.clone_into(
            &mut self
                .state
                .gateway_url
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }

    /// What `GET /gateway/bot` says is left of the daily identify budget (of 1000) and in how
    /// many milliseconds it resets; 999 and 0 until set.
    pub fn set_identify_budget(&self, remaining: u32, reset_after_ms: u64) {
        *self
            .state
            .identify_budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (remaining, reset_after_ms);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.snapshot()
    }

    /// Waits for the first request `matches` accepts.
    ///
    /// # Panics
    /// After [`WAIT`] without one.
    pub async fn wait_for(
        &self,
        what: &str,
        matches: impl Fn(&RecordedRequest) -> bool,
    ) -> RecordedRequest {
        self.state
            .requests
            .wait_for(what, |requests| {
                requests.iter().find(|r| matches(r)).cloned()
            })
            .await
    }

    /// Waits until `count` requests that `matches` accepts arrived; returns them all, in order.
    ///
    /// # Panics
    /// After [`WAIT`] without them.
    pub async fn wait_for_count(
        &self,
        what: &str,
        count: usize,
        matches: impl Fn(&RecordedRequest) -> bool,
    ) -> Vec<RecordedRequest> {
        self.state
            .requests
            .wait_for(what, |requests| {
                let found: Vec<RecordedRequest> =
                    requests.iter().filter(|r| matches(r)).cloned().collect();
                (found.len() >= count).then_some(found)
            })
            .await
    }

    /// Waits for the callback of interaction `id`.
    pub async fn wait_for_callback(&self, id: u64) -> RecordedRequest {
        let id = id.to_string();
        self.wait_for(&format!("the callback of interaction {id}"), |request| {
            request.is_callback() && request.path_segment(4) == Some(id.as_str())
        })
        .await
    }

    /// Waits for the edit of the original response of the interaction with `token`.
    pub async fn wait_for_original_edit(&self, token: &str) -> RecordedRequest {
        self.wait_for("an edit of the original response", |request| {
            request.is_original_edit() && request.path_segment(5) == Some(token)
        })
        .await
    }
}

impl Drop for FakeRest {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An error answer as Discord gives it: the status and a JSON body with a message.
fn failure_response(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match code {
        401 => "401: Unauthorized".to_owned(),
        _ => format!("{code}: {}", status.canonical_reason().unwrap_or("Error")),
    };
    (status, axum::Json(json!({"message": message, "code": 0}))).into_response()
}

fn message_json(id: u64, body: &Value) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": "600000000000000001",
        "author": {
            "id": BOT_USER_ID.to_string(),
            "username": "minstrel",
            "discriminator": "0000",
            "avatar": null,
            "bot": true,
        },
        "content": body.get("content").cloned().unwrap_or(json!("")),
        "timestamp": "2024-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": body.get("embeds").cloned().unwrap_or(json!([])),
        "components": body.get("components").cloned().unwrap_or(json!([])),
        "pinned": false,
        "type": 0,
        "flags": 0,
        "application_id": APPLICATION_ID.to_string(),
    })
}

/// The boundary of a `multipart/form-data` content type.
fn multipart_boundary(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get("content-type")?.to_str().ok()?;
    let (kind, parameters) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parameters.split(';').find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A quoted parameter of a `Content-Disposition` header, e.g. `name` or `filename`.
fn disposition_parameter(headers: &str, parameter: &str) -> Option<String> {
    let marker = format!("{parameter}=\"");
    let line = headers.lines().find(|line| {
        line.to_ascii_lowercase()
            .starts_with("content-disposition:")
    })?;
    // `filename=` also ends in `name=`: match the parameter only after a separator.
    let start = line
        .match_indices(&marker)
        .find(|(index, _)| matches!(line[..*index].chars().last(), Some(' ' | ';')))?
        .0
        + marker.len();
    let end = line[start..].find('"')? + start;
    Some(line[start..end].to_owned())
}

/// The `payload_json` part (as JSON) and the file parts of a multipart body.
fn parse_multipart(body: &[u8], boundary: &str) -> (Value, Vec<RecordedFile>) {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut payload = Value::Null;
    let mut files = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, &delimiter) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(end) = find(rest, &delimiter) else {
            break;
        };
        let part = rest[..end].strip_prefix(b"\r\n").unwrap_or(&rest[..end]);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..split]);
        let content = &part[split + 4..];
        let name = disposition_parameter(&headers, "name").unwrap_or_default();
        match disposition_parameter(&headers, "filename") {
            Some(filename) => files.push(RecordedFile {
                field: name,
                filename,
                bytes: content.to_vec(),
            }),
            None if name == "payload_json" => {
                payload = serde_json::from_slice(content).unwrap_or_else(|_| {
                    Value::String(String::from_utf8_lossy(content).into_owned())
                });
            }
            None => {}
        }
    }
    (payload, files)
}

fn handle_rest(
    state: &RestState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let (body_json, files) = if let Some(boundary) = multipart_boundary(headers) {
        parse_multipart(body, &boundary)
    } else if body.is_empty() {
        (Value::Null, Vec::new())
    } else {
        let json = serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
        (json, Vec::new())
    };
    let request = RecordedRequest {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        body: body_json.clone(),
        files,
        authorization: headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        at: Instant::now(),
    };
    let response = if request.is_callback() {
        StatusCode::NO_CONTENT.into_response()
    } else if request.is_original_edit() || request.is_followup() || request.is_channel_message() {
        let id = state.next_id.fetch_add(1, Ordering::SeqCst);
        axum::Json(message_json(id, &body_json)).into_response()
    } else if request.is_command_registration() {
        let mut commands = body_json.as_array().cloned().unwrap_or_default();
        for command in &mut commands {
            let id = state.next_id.fetch_add(1, Ordering::SeqCst);
            command["id"] = json!(id.to_string());
            command["application_id"] = json!(APPLICATION_ID.to_string());
            command["version"] = json!("1");
        }
        axum::Json(Value::Array(commands)).into_response()
    } else if method == Method::GET && request.path == "/api/v10/gateway/bot" {
        let url = state
            .gateway_url
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let (remaining, reset_after) = *state
            .identify_budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        axum::Json(json!({
            "url": url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": remaining,
                "reset_after": reset_after,
                "max_concurrency": 1,
            },
        }))
        .into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "404: Not Found", "code": 0})),
        )
            .into_response()
    };
    state.requests.push(request);
    response
}

/// The member behind an interaction.
#[derive(Debug, Clone)]
pub struct FakeMember {
    pub user_id: u64,
    pub name: String,
    /// Permission bits (8 = Administrator, 32 = Manage Server).
    pub permissions: u64,
    pub roles: Vec<u64>,
    /// A bot account (`user.bot`).
    pub bot: bool,
}

impl FakeMember {
    /// A member without special permissions or roles.
    pub fn new(user_id: u64, name: &str) -> Self {
        Self {
            user_id,
            name: name.to_owned(),
            permissions: 0,
            roles: Vec::new(),
            bot: false,
        }
    }

    /// The member as Discord sends it (`GUILD_CREATE` members, interactions).
    pub fn to_json(&self) -> Value {
        json!({
            "user": {
                "id": self.user_id.to_string(),
                "username": self.name,
                "global_name": null,
                "discriminator": "0",
                "avatar": null,
                "bot": self.bot,
            },
            "nick": null,
            "roles": self.roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "permissions": self.permissions.to_string(),
            "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "premium_since": null,
            "communication_disabled_until": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
        })
    }
}

/// A `VOICE_STATE_UPDATE` body: `member` joined `channel` of `guild` (`None`: left voice).
pub fn voice_state_json(guild: u64, member: &FakeMember, channel: Option<u64>) -> Value {
    json!({
        "guild_id": guild.to_string(),
        "channel_id": channel.map(|channel| channel.to_string()),
        "user_id": member.user_id.to_string(),
        "member": member.to_json(),
        "session_id": format!("session-{}", member.user_id),
        "deaf": false, "mute": false, "self_deaf": false, "self_mute": false,
        "self_video": false, "self_stream": false, "suppress": false,
        "request_to_speak_timestamp": null,
    })
}

/// A `GUILD_CREATE` body of an available guild with voice channels `channels` (id, name) and
/// `in_voice` members sitting in them. As Discord does without the presence intent, the member
/// list holds just the members in voice, and the voice states carry no member.
pub fn guild_create_json(
    guild: u64,
    channels: &[(u64, &str)],
    in_voice: &[(&FakeMember, u64)],
) -> Value {
    let voice_states: Vec<Value> = in_voice
        .iter()
        .map(|(member, channel)| {
            let mut state = voice_state_json(guild, member, Some(*channel));
            if let Some(state) = state.as_object_mut() {
                state.remove("member");
                state.remove("guild_id");
            }
            state
        })
        .collect();
    json!({
        "id": guild.to_string(),
        "name": "Test guild",
        "owner_id": "100000000000000999",
        "afk_timeout": 300,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "features": [],
        "mfa_level": 0,
        "nsfw_level": 0,
        "preferred_locale": "en-US",
        "premium_progress_bar_enabled": false,
        "roles": [],
        "system_channel_flags": 0,
        "verification_level": 0,
        "unavailable": false,
        "large": false,
        "channels": channels
            .iter()
            .map(|(id, name)| json!({"id": id.to_string(), "type": 2, "name": name}))
            .collect::<Vec<_>>(),
        "members": in_voice.iter().map(|(member, _)| member.to_json()).collect::<Vec<_>>(),
        "voice_states": voice_states,
    })
}

/// A presence as Discord sends it: `status` is `online`, `idle`, `dnd`, `offline` (or
/// `invisible`, which Discord itself never sends to others). The user is just the id, as in
/// most `PRESENCE_UPDATE`s.
fn presence_json(member: &FakeMember, status: &str) -> Value {
    let client_status = if status == "offline" || status == "invisible" {
        json!({})
    } else {
        json!({"desktop": status})
    };
    json!({
        "user": {"id": member.user_id.to_string()},
        "status": status,
        "activities": [],
        "client_status": client_status,
    })
}

/// Adds to a [`guild_create_json`] body what Discord sends with the privileged
/// `GUILD_PRESENCES` and `GUILD_MEMBERS` intents: each of `present` among the members (once)
/// and a presence with its status (see [`presence_update_json`]).
pub fn with_presences(mut guild_create: Value, present: &[(&FakeMember, &str)]) -> Value {
    for (member, status) in present {
        let id = Value::String(member.user_id.to_string());
        let known = guild_create["members"]
            .as_array()
            .is_some_and(|members| members.iter().any(|known| known["user"]["id"] == id));
        if !known && let Some(members) = guild_create["members"].as_array_mut() {
            members.push(member.to_json());
        }
        if let Some(object) = guild_create.as_object_mut() {
            let presences = object.entry("presences").or_insert_with(|| json!([]));
            if let Some(presences) = presences.as_array_mut() {
                presences.push(presence_json(member, status));
            }
        }
    }
    guild_create
}

/// A `PRESENCE_UPDATE` body: `member`'s status in `guild` is now `status` (`online`, `idle`,
/// `dnd`, `offline`).
pub fn presence_update_json(guild: u64, member: &FakeMember, status: &str) -> Value {
    let mut presence = presence_json(member, status);
    presence["guild_id"] = json!(guild.to_string());
    presence
}

fn interaction(
    kind: u8,
    id: u64,
    token: &str,
    guild: u64,
    member: &FakeMember,
    data: &Value,
) -> Value {
    json!({
        "id": id.to_string(),
        "application_id": APPLICATION_ID.to_string(),
        "type": kind,
        "token": token,
        "version": 1,
        "guild_id": guild.to_string(),
        "guild_locale": "en-US",
        "locale": "en-US",
        "channel_id": "600000000000000001",
        "channel": {"id": "600000000000000001", "type": 0},
        "member": member.to_json(),
        "data": data,
        "app_permissions": "0",
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild.to_string()},
        "context": 0,
    })
}

/// An `INTERACTION_CREATE` body for `/name` with `options` (Discord's option array JSON,
/// e.g. `[{"name":"query","type":3,"value":"song"}]`).
pub fn slash_command(
    id: u64,
    token: &str,
    guild: u64,
    member: &FakeMember,
    name: &str,
    options: &Value,
) -> Value {
    let data = json!({
        "id": "500000000000000001",
        "name": name,
        "type": 1,
        "options": options,
    });
    interaction(2, id, token, guild, member, &data)
}

/// An `INTERACTION_CREATE` body for a choice in a string select menu (component type 3)
/// with `custom_id`.
pub fn select_menu_choice(
    id: u64,
    token: &str,
    guild: u64,
    member: &FakeMember,
    custom_id: &str,
    values: &[&str],
) -> Value {
    let data = json!({"custom_id": custom_id, "component_type": 3, "values": values});
    let mut value = interaction(3, id, token, guild, member, &data);
    value["message"] = message_json(900_000_000_000_000_001, &json!({}));
    value
}

/// An `INTERACTION_CREATE` body for autocomplete (type 4) of `/name`'s option `option`, with
/// `typed` typed so far.
pub fn autocomplete(
    id: u64,
    token: &str,
    guild: u64,
    member: &FakeMember,
    name: &str,
    option: &str,
    typed: &str,
) -> Value {
    let data = json!({
        "id": "500000000000000001",
        "name": name,
        "type": 1,
        "options": [{"name": option, "type": 3, "value": typed, "focused": true}],
    });
    interaction(4, id, token, guild, member, &data)
}

/// An `INTERACTION_CREATE` body for a button press with `custom_id`.
pub fn button_press(
    id: u64,
    token: &str,
    guild: u64,
    member: &FakeMember,
    custom_id: &str,
) -> Value {
    let data = json!({"custom_id": custom_id, "component_type": 2});
    let mut value = interaction(3, id, token, guild, member, &data);
    value["message"] = message_json(900_000_000_000_000_001, &json!({}));
    value
}

#[cfg(test)]
mod tests;
