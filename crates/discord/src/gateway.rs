//! The gateway side: shards, READY/RESUMED, close codes, and handing interactions to the handler.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use minstrel_app::{MusicService, SettingsService};
use minstrel_domain::{ChannelId, GuildId, UserId};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, warn};
use twilight_gateway::{
    CloseFrame, Config, ConfigBuilder, Event, EventTypeFlags, Intents, MessageSender, Shard,
    ShardId, StreamExt as _,
};
use twilight_http::Client;
use twilight_model::gateway::CloseCode;
use twilight_model::gateway::payload::incoming::GuildCreate;
use twilight_model::gateway::payload::outgoing::UpdateVoiceState;
use twilight_model::id::Id;
use twilight_model::id::marker::ApplicationMarker;

use crate::boot::{self, BootError};
use crate::commands;
use crate::directory::VoiceChannelDirectory;
use crate::handler::{DiscordServices, InteractionHandler};
use crate::voice_state::VoiceStates;

mod alone;

/// Which shards this process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardSelection {
    /// As many as Discord recommends (`GET /gateway/bot`), all in this process.
    Recommended,
    /// Shards `start..end` of `total` (several processes share a bot).
    Range { start: u32, end: u32, total: u32 },
}

/// Where the slash commands are registered when the first shard is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandRegistration {
    /// Everywhere; Discord may take a while to show changes.
    Global,
    /// Only in these guilds; immediate, for development.
    Guilds(Vec<GuildId>),
    /// Leave the registered commands alone.
    Off,
}

/// The REST API through a proxy (e.g. twilight-http-proxy) or a fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestProxy {
    /// `host:port`.
    pub address: String,
    /// Plain HTTP instead of HTTPS.
    pub plain_http: bool,
}

/// The voice side of the gateway (songbird, in the binary's wiring): it needs every shard's
/// sender to ask Discord for voice connections, and the events that carry voice sessions.
#[async_trait::async_trait]
pub trait VoiceGateway: Send + Sync {
    /// All shards exist; called once, before any event.
    fn shards_started(&self, senders: HashMap<u32, MessageSender>);
    /// READY, `VOICE_STATE_UPDATE` and `VOICE_SERVER_UPDATE` of every shard.
    async fn event(&self, event: &Event);
}

/// What the Discord front-end is doing, for health reports ([`DiscordConfig::on_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscordState {
    /// Asking Discord how to connect.
    Starting,
    /// Asking failed for a reason that may pass (unreachable, a 5xx, a timeout); the next
    /// try is `retry_in` from now.
    Retrying {
        attempt: u32,
        error: String,
        retry_in: Duration,
    },
    /// The shards are running.
    Running,
    /// Stopped for good (a bad token, a fatal close code), with the reason.
    Stopped { reason: String },
}

/// Hears every change of [`DiscordState`].
pub type StateListener = Arc<dyn Fn(DiscordState) + Send + Sync>;

/// Settings of the Discord front-end.
#[derive(Clone)]
pub struct DiscordConfig {
    /// The bot token. Never logged: `Debug` shows it redacted.
    pub token: String,
    pub shards: ShardSelection,
    pub registration: CommandRegistration,
    /// `ws://host:port` of a gateway to use instead of Discord's (proxies, tests).
    pub gateway_url: Option<String>,
    pub rest_proxy: Option<RestProxy>,
    /// Twilight's REST rate limiter. Turn it off only behind a proxy that rate-limits, or
    /// against a fake.
    pub rest_ratelimiter: bool,
    /// Where voice events go; `None` leaves voice to nobody.
    pub voice: Option<Arc<dyn VoiceGateway>>,
    /// Leave a voice channel once nobody but bots has been in it this long; `None` stays.
    pub leave_when_alone_after: Option<Duration>,
    /// The player's silence window (`MINSTREL_TRACK_STUCK_AFTER`), which the stuck notice
    /// names.
    pub track_stuck_after: Duration,
    /// Fed with every gateway event, for other front-ends' member lists; `None`: nobody asks.
    pub directory: Option<Arc<VoiceChannelDirectory>>,
    /// Ask for the privileged [`PRESENCE_INTENTS`] as well (the directory then sees who is
    /// online, [`VoiceChannelDirectory::with_presences`]). They must be enabled for the
    /// application in Discord's developer portal, or Discord closes the gateway with 4014.
    pub presences: bool,
    /// Told whenever the front-end starts, retries, runs or stops; `None`: nobody listens.
    pub on_state: Option<StateListener>,
}

impl DiscordConfig {
    /// Production defaults: recommended shards, global commands, Discord's own endpoints.
    pub fn new(token: String) -> Self {
        Self {
            token,
            shards: ShardSelection::Recommended,
            registration: CommandRegistration::Global,
            gateway_url: None,
            rest_proxy: None,
            rest_ratelimiter: true,
            voice: None,
            leave_when_alone_after: Some(Duration::from_mins(1)),
            track_stuck_after: minstrel_domain::events::DEFAULT_TRACK_STUCK_AFTER,
            directory: None,
            presences: false,
            on_state: None,
        }
    }

    /// The intents Identify sends: [`INTENTS`], plus [`PRESENCE_INTENTS`] with `presences`.
    pub fn intents(&self) -> Intents {
        if self.presences {
            INTENTS | PRESENCE_INTENTS
        } else {
            INTENTS
        }
    }
}

impl std::fmt::Debug for DiscordConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DiscordConfig")
            .field("token", &minstrel_app::redact::REDACTED)
            .field("shards", &self.shards)
            .field("registration", &self.registration)
            .field("gateway_url", &self.gateway_url)
            .field("rest_proxy", &self.rest_proxy)
            .field("rest_ratelimiter", &self.rest_ratelimiter)
            .field("voice", &self.voice.is_some())
            .field("leave_when_alone_after", &self.leave_when_alone_after)
            .field("track_stuck_after", &self.track_stuck_after)
            .field("directory", &self.directory.is_some())
            .field("presences", &self.presences)
            .field("on_state", &self.on_state.is_some())
            .finish()
    }
}

/// Why the Discord front-end stopped.
#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error(
        "Discord closed shard {shard}'s gateway connection with code {code} ({meaning}); \
         not reconnecting: {advice}"
    )]
    FatalClose {
        shard: u32,
        code: u16,
        meaning: String,
        advice: &'static str,
    },
    #[error(
        "Discord refused the bot token (401 Unauthorized); not retrying: the token is wrong \
         or was reset; put the current one in the configuration"
    )]
    Unauthorized,
    #[error("could not ask Discord how many shards to run: {0}")]
    Shards(String),
    #[error("the shard range {start}..{end} of {total} is empty or out of bounds")]
    InvalidShardRange { start: u32, end: u32, total: u32 },
    #[error("a shard task failed: {0}")]
    ShardTask(String),
}

/// The intents minstrel needs: guilds and voice states, nothing privileged.
pub const INTENTS: Intents = Intents::GUILDS.union(Intents::GUILD_VOICE_STATES);

/// The privileged intents behind a list of who is online (`MINSTREL_DISCORD_PRESENCE`):
/// presences, and the members they belong to.
pub const PRESENCE_INTENTS: Intents = Intents::GUILD_PRESENCES.union(Intents::GUILD_MEMBERS);

/// The shards' senders for songbird, which picks a guild's sender as
/// `(guild >> 22) % senders.len()`: with only some of the deployment's shards in this process
/// (`--shards`), every shard of the total needs an entry, or voice finds no sender. The other
/// shards' entries are placeholders (this process's first sender): their guilds' commands run
/// in the process that owns them, so this one never joins voice there.
fn voice_senders(shards: &[Shard]) -> HashMap<u32, MessageSender> {
    let mut senders: HashMap<u32, MessageSender> = shards
        .iter()
        .map(|shard| (shard.id().number(), shard.sender()))
        .collect();
    if let Some(first) = shards.first() {
        for number in 0..first.id().total() {
            senders.entry(number).or_insert_with(|| first.sender());
        }
    }
    senders
}

fn wanted_events(presences: bool) -> EventTypeFlags {
    let always = EventTypeFlags::READY
        | EventTypeFlags::RESUMED
        | EventTypeFlags::INTERACTION_CREATE
        | EventTypeFlags::VOICE_STATE_UPDATE
        | EventTypeFlags::VOICE_SERVER_UPDATE
        | EventTypeFlags::GUILD_CREATE
        | EventTypeFlags::GUILD_DELETE;
    if presences {
        always
            | EventTypeFlags::PRESENCE_UPDATE
            | EventTypeFlags::MEMBER_ADD
            | EventTypeFlags::MEMBER_UPDATE
            | EventTypeFlags::MEMBER_REMOVE
    } else {
        always
    }
}

/// The close codes after which reconnecting cannot help, with what to do about them.
/// `presences`: whether the privileged presence intents were asked for (the likely cause of
/// a 4014).
fn fatal_close(code: u16, presences: bool) -> Option<(String, &'static str)> {
    let advice = match code {
        4014 if presences => {
            "the privileged intents are not enabled for this application; enable the Presence \
             and Server Members intents (Bot → Privileged Gateway Intents) in the developer \
             portal, or set MINSTREL_DISCORD_PRESENCE=false"
        }
        4004 => "the bot token is wrong or was reset; put the current one in the configuration",
        4010 => "the configured shard id is invalid; check the shard range",
        4011 => "the bot is in too many guilds for this shard count; run more shards",
        4012 => "the gateway API version is no longer supported; update minstrel",
        4013 => "the intents are invalid; this is a bug in minstrel",
        4014 => "an intent is not enabled for this application; enable it in the developer portal",
        other => {
            // Codes twilight knows to be final that are not listed above.
            let known = CloseCode::try_from(other).ok()?;
            if known.can_reconnect() {
                return None;
            }
            "Discord will not accept this session again"
        }
    };
    let meaning =
        CloseCode::try_from(code).map_or_else(|_| "unknown".to_owned(), |known| known.to_string());
    Some((meaning, advice))
}

/// The Discord front-end: gateway shards, REST client and interaction handling.
#[derive(Debug)]
pub struct DiscordFrontEnd;

impl DiscordFrontEnd {
    /// The REST client for `config`: the bot token, twilight's rate limiter unless turned off,
    /// and the proxy if one is set.
    pub fn http_client(config: &DiscordConfig) -> Client {
        let mut builder = Client::builder().token(config.token.clone());
        if let Some(proxy) = &config.rest_proxy {
            builder = builder.proxy(proxy.address.clone(), proxy.plain_http);
        }
        if !config.rest_ratelimiter {
            builder = builder.ratelimiter(None);
        }
        builder.build()
    }

    /// Runs until `shutdown` completes (then closes the shards and returns `Ok`) or a shard is
    /// closed for good (then returns the reason). Twilight resumes sessions after ordinary
    /// disconnects and zombied connections and backs reconnects off exponentially; its
    /// identify queue spaces out IDENTIFYs and starts from what Discord says is left of the
    /// daily budget, so neither a flapping connection nor a process restarted in a loop burns
    /// it. Asking Discord how to connect is retried with backoff while it fails for a reason
    /// that may pass. At `shutdown` every shard closes with 1000 and is dropped before it
    /// could reconnect: no new IDENTIFY.
    ///
    /// # Errors
    /// [`DiscordError::FatalClose`] for close codes 4004 and 4010–4014 (and the other codes
    /// Discord documents as final); [`DiscordError::Unauthorized`] when Discord refuses the
    /// token; [`DiscordError::Shards`] when it refuses to say how many shards to run.
    pub async fn run(
        config: DiscordConfig,
        services: DiscordServices,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), DiscordError> {
        let report = |state: DiscordState| {
            if let Some(listener) = &config.on_state {
                listener(state);
            }
        };
        let result = Self::run_reporting(&config, services, shutdown, &report).await;
        if let Err(error) = &result {
            report(DiscordState::Stopped {
                reason: error.to_string(),
            });
        }
        result
    }

    async fn run_reporting(
        config: &DiscordConfig,
        services: DiscordServices,
        shutdown: impl Future<Output = ()> + Send,
        report: &(impl Fn(DiscordState) + Sync),
    ) -> Result<(), DiscordError> {
        report(DiscordState::Starting);
        let http = Arc::new(Self::http_client(config));
        let voice = Arc::new(VoiceStates::default());
        let settings = Arc::clone(&services.settings);
        let music = Arc::clone(&services.music);
        let handler = Arc::new(
            InteractionHandler::new(services, Arc::clone(&http), Arc::clone(&voice))
                .with_track_stuck_after(config.track_stuck_after),
        );
        let _notices = handler.spawn_notices();
        let mut shutdown = std::pin::pin!(shutdown);
        let shards = tokio::select! {
            () = &mut shutdown => return Ok(()),
            shards = Self::shards(config, &http, report) => shards?,
        };
        info!(shards = shards.len(), "starting the Discord gateway");
        report(DiscordState::Running);
        let registered = Arc::new(AtomicBool::new(false));
        let alone_checks = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        if let Some(voice) = &config.voice {
            voice.shards_started(voice_senders(&shards));
        }
        let (closing, closing_seen) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for shard in shards {
            let runner = ShardRunner {
                handler: Arc::clone(&handler),
                http: Arc::clone(&http),
                voice: Arc::clone(&voice),
                registration: config.registration.clone(),
                registered: Arc::clone(&registered),
                voice_gateway: config.voice.clone(),
                leave_when_alone_after: config.leave_when_alone_after,
                alone_checks: Arc::clone(&alone_checks),
                settings: Arc::clone(&settings),
                music: Arc::clone(&music),
                directory: config.directory.clone(),
                presences: config.presences,
            };
            tasks.spawn(runner.run(shard, closing_seen.clone()));
        }
        let outcome = loop {
            tokio::select! {
                () = &mut shutdown => {
                    info!("closing the Discord gateway");
                    break Ok(());
                }
                joined = tasks.join_next() => match joined {
                    None => return Ok(()),
                    Some(Ok(Ok(()))) => {}
                    Some(Ok(Err(fatal))) => {
                        error!(error = %fatal, "the Discord gateway stopped");
                        break Err(fatal);
                    }
                    Some(Err(join_error)) => {
                        break Err(DiscordError::ShardTask(join_error.to_string()));
                    }
                },
            }
        };
        // Every shard leaves its voice channels and closes for good; each bounds both steps,
        // so this wait is short.
        closing.send_replace(true);
        let drained = tokio::time::timeout(LEAVE_VOICE_TIMEOUT + CLOSE_HANDSHAKE * 2, async {
            while tasks.join_next().await.is_some() {}
        });
        if drained.await.is_err() {
            tasks.abort_all();
        }
        outcome
    }

    async fn shards(
        config: &DiscordConfig,
        http: &Client,
        report: &(impl Fn(DiscordState) + Sync),
    ) -> Result<Vec<Shard>, DiscordError> {
        if let &ShardSelection::Range { start, end, total } = &config.shards
            && (start >= end || end > total)
        {
            return Err(DiscordError::InvalidShardRange { start, end, total });
        }
        let (gateway, numbers, total) = match &config.shards {
            // Without the recommended shard count there is nothing to run: ask until Discord
            // answers.
            ShardSelection::Recommended => {
                let info = boot::gateway_info_retrying(http, |attempt, error, retry_in| {
                    warn!(
                        attempt,
                        %error,
                        retry_in_ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
                        "could not ask Discord how to connect; trying again"
                    );
                    report(DiscordState::Retrying {
                        attempt,
                        error: error.to_string(),
                        retry_in,
                    });
                })
                .await
                .map_err(DiscordError::from)?;
                let total = info.shards;
                (Some(info), 0..total, total)
            }
            // The range is known: the answer only paces identifies, so go on without it,
            // unless the token itself is refused.
            &ShardSelection::Range { start, end, total } => {
                let info = match boot::gateway_info(http).await {
                    Ok(info) => Some(info),
                    Err(BootError::Unauthorized) => return Err(DiscordError::Unauthorized),
                    Err(error) => {
                        warn!(
                            %error,
                            "could not ask Discord how many identifies are left today; pacing them anyway"
                        );
                        None
                    }
                };
                (info, start..end, total)
            }
        };
        let mut base = ConfigBuilder::new(config.token.clone(), config.intents());
        if let Some(url) = &config.gateway_url {
            base = base.proxy_url(url.clone());
        }
        if let Some(info) = &gateway {
            base = base.queue(boot::identify_queue(&info.session_start_limit));
        }
        let base: Config = base.build();
        let per_shard = |_: ShardId, builder: ConfigBuilder| builder.build();
        Ok(twilight_gateway::create_iterator(numbers, total, base, per_shard).collect())
    }
}

impl From<BootError> for DiscordError {
    fn from(error: BootError) -> Self {
        match error {
            BootError::Unauthorized => Self::Unauthorized,
            other => Self::Shards(other.to_string()),
        }
    }
}

/// How long a shard waits at shutdown for Discord to confirm it left its voice channels.
const LEAVE_VOICE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a deliberate close waits for the gateway's answering close frame. Twilight
/// reconnects no sooner than 1 s after a connection ends, and the close starts before that
/// end: a shard given up on within this time and dropped never reconnects, so never sends a
/// new IDENTIFY, even when the gateway does not answer the close.
const CLOSE_HANDSHAKE: Duration = Duration::from_millis(800);

/// Closes `shard` with 1000 (the session ends; Discord shows the bot offline at once) and
/// reads until the gateway answers, for at most [`CLOSE_HANDSHAKE`]. The caller drops the
/// shard right after, before twilight's reconnect could start.
async fn close_for_good(shard: &mut Shard) {
    shard.close(CloseFrame::NORMAL);
    let answered = tokio::time::timeout(CLOSE_HANDSHAKE, async {
        while let Some(item) = shard.next_event(EventTypeFlags::empty()).await {
            if matches!(item, Ok(Event::GatewayClose(_))) {
                return;
            }
        }
    })
    .await;
    if answered.is_err() {
        info!(
            shard = shard.id().number(),
            "the gateway did not answer the close in time; dropping the connection"
        );
    }
}

struct ShardRunner {
    handler: Arc<InteractionHandler>,
    http: Arc<Client>,
    voice: Arc<VoiceStates>,
    registration: CommandRegistration,
    registered: Arc<AtomicBool>,
    voice_gateway: Option<Arc<dyn VoiceGateway>>,
    leave_when_alone_after: Option<Duration>,
    /// Guilds with a pending "still alone?" check, so one check runs at a time per guild.
    alone_checks: Arc<std::sync::Mutex<std::collections::HashSet<GuildId>>>,
    /// The guilds' settings: a guild that stays 24/7 keeps the bot when nobody listens.
    settings: Arc<SettingsService>,
    /// Leaves a channel nobody listens in, keeping the queue.
    music: Arc<MusicService>,
    directory: Option<Arc<VoiceChannelDirectory>>,
    presences: bool,
}

impl ShardRunner {
    /// Handles `shard`'s events until it is closed for good: by Discord with a fatal code
    /// (the error), or by `closing` turning true (then with 1000, without reconnecting).
    async fn run(
        self,
        mut shard: Shard,
        mut closing: watch::Receiver<bool>,
    ) -> Result<(), DiscordError> {
        let shard_id = shard.id().number();
        loop {
            let item = tokio::select! {
                biased;
                // Also when the sender is gone: nobody runs the front-end any more.
                () = async { let _ = closing.wait_for(|closing| *closing).await; } => {
                    self.leave_voice(&mut shard).await;
                    close_for_good(&mut shard).await;
                    return Ok(());
                }
                item = shard.next_event(wanted_events(self.presences)) => item,
            };
            let Some(item) = item else {
                return Ok(());
            };
            let event = match item {
                Ok(event) => event,
                Err(source) => {
                    warn!(shard = shard_id, error = %source, "gateway receive error");
                    continue;
                }
            };
            self.voice.observe(&event);
            if let Some(directory) = &self.directory {
                directory.observe(&event);
            }
            if let Some(voice) = &self.voice_gateway
                && matches!(
                    event,
                    Event::Ready(_) | Event::VoiceStateUpdate(_) | Event::VoiceServerUpdate(_)
                )
            {
                voice.event(&event).await;
            }
            match event {
                Event::GatewayClose(frame) => {
                    let Some(frame) = frame else {
                        info!(shard = shard_id, "gateway connection lost; resuming");
                        continue;
                    };
                    if let Some((meaning, advice)) = fatal_close(frame.code, self.presences) {
                        return Err(DiscordError::FatalClose {
                            shard: shard_id,
                            code: frame.code,
                            meaning,
                            advice,
                        });
                    }
                    info!(
                        shard = shard_id,
                        code = frame.code,
                        "gateway closed; resuming"
                    );
                }
                Event::Ready(ready) => {
                    info!(
                        shard = shard_id,
                        guilds = ready.guilds.len(),
                        "gateway ready"
                    );
                    if let Ok(bot) = UserId::new(ready.user.id.get()) {
                        self.voice.set_bot_user(bot);
                    }
                    if !self.registered.swap(true, Ordering::SeqCst) {
                        let http = Arc::clone(&self.http);
                        let registration = self.registration.clone();
                        tokio::spawn(register(http, ready.application.id, registration));
                    }
                }
                Event::Resumed => info!(shard = shard_id, "gateway session resumed"),
                Event::InteractionCreate(interaction) => {
                    let handler = Arc::clone(&self.handler);
                    let received = std::time::Instant::now();
                    tokio::spawn(
                        async move { handler.handle_received(interaction.0, received).await },
                    );
                }
                Event::VoiceStateUpdate(update) => self.voice_state(&update.0),
                Event::GuildCreate(guild) => {
                    if let GuildCreate::Available(guild) = *guild {
                        for state in &guild.voice_states {
                            self.voice_state_in(guild.id.get(), state);
                        }
                    }
                }
                Event::GuildDelete(guild) => {
                    if let Ok(guild) = GuildId::new(guild.id.get()) {
                        self.voice.forget_guild(guild);
                    }
                }
                _ => {}
            }
        }
    }

    /// Leaves the voice channels of this shard's guilds before the shard closes, and waits
    /// for Discord to confirm each, for at most [`LEAVE_VOICE_TIMEOUT`] in all: a guild that
    /// never answers cannot hold the shutdown up. The saved queues keep their channels, so
    /// the next start joins again.
    async fn leave_voice(&self, shard: &mut Shard) {
        let id = shard.id();
        let mut leaving: std::collections::HashSet<u64> = self
            .voice
            .bot_guilds()
            .into_iter()
            .map(GuildId::get)
            .filter(|guild| (guild >> 22) % u64::from(id.total()) == u64::from(id.number()))
            .collect();
        if leaving.is_empty() {
            return;
        }
        for guild in &leaving {
            shard.command(&UpdateVoiceState::new(Id::new(*guild), None, false, false));
        }
        info!(
            shard = id.number(),
            guilds = leaving.len(),
            "leaving the voice channels"
        );
        let confirmed = tokio::time::timeout(LEAVE_VOICE_TIMEOUT, async {
            while !leaving.is_empty() {
                match shard.next_event(EventTypeFlags::VOICE_STATE_UPDATE).await {
                    Some(Ok(Event::VoiceStateUpdate(update)))
                        if update.channel_id.is_none()
                            && UserId::new(update.user_id.get()).ok() == self.voice.bot_user() =>
                    {
                        if let Some(guild) = update.guild_id {
                            leaving.remove(&guild.get());
                        }
                    }
                    None => return,
                    _ => {}
                }
            }
        })
        .await;
        if confirmed.is_err() {
            warn!(
                shard = id.number(),
                guilds = ?leaving,
                "Discord did not confirm leaving these voice channels in time; closing anyway"
            );
        }
    }

    fn voice_state(&self, state: &twilight_model::voice::VoiceState) {
        if let Some(guild) = state.guild_id {
            self.voice_state_in(guild.get(), state);
        }
    }

    fn voice_state_in(&self, guild: u64, state: &twilight_model::voice::VoiceState) {
        let (Ok(guild), Ok(user)) = (GuildId::new(guild), UserId::new(state.user_id.get())) else {
            return;
        };
        let channel = state
            .channel_id
            .and_then(|channel| ChannelId::new(channel.get()).ok());
        let is_bot = state.member.as_ref().is_some_and(|member| member.user.bot);
        self.voice.update(guild, user, channel, is_bot);
        self.check_alone(guild);
    }

    /// When the bot is left with nobody to play to, leaves after the grace period unless
    /// somebody came back meanwhile or the guild stays 24/7.
    fn check_alone(&self, guild: GuildId) {
        let Some(after) = self.leave_when_alone_after else {
            return;
        };
        if self.voice.humans_with_bot(guild) != Some(0) {
            return;
        }
        let newly_pending = self
            .alone_checks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(guild);
        if !newly_pending {
            return;
        }
        let voice = Arc::clone(&self.voice);
        let music = Arc::clone(&self.music);
        let settings = Arc::clone(&self.settings);
        let pending = Arc::clone(&self.alone_checks);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&guild);
            alone::leave_if_still_alone(&voice, &settings, &music, guild).await;
        });
    }
}

/// Puts the command definitions in place (a bulk overwrite, so removed commands disappear).
async fn register(
    http: Arc<Client>,
    application: Id<ApplicationMarker>,
    registration: CommandRegistration,
) {
    let definitions = commands::definitions();
    let interaction = http.interaction(application);
    match registration {
        CommandRegistration::Off => {}
        CommandRegistration::Global => match interaction.set_global_commands(&definitions).await {
            Ok(_) => info!(
                commands = definitions.len(),
                "slash commands registered globally"
            ),
            Err(source) => error!(error = %source, "could not register the slash commands"),
        },
        CommandRegistration::Guilds(guilds) => {
            for guild in guilds {
                match interaction
                    .set_guild_commands(Id::new(guild.get()), &definitions)
                    .await
                {
                    Ok(_) => {
                        info!(%guild, commands = definitions.len(), "slash commands registered");
                    }
                    Err(source) => {
                        error!(%guild, error = %source, "could not register the slash commands");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn voice_has_a_sender_for_every_shard_of_the_total() {
        // Songbird picks `(guild >> 22) % senders.len()`: shard 1 of 2 alone must still give
        // two entries, or every guild maps to shard 0, which this process does not have.
        let shard = Shard::new(ShardId::new(1, 2), "token".to_owned(), Intents::empty());
        let senders = voice_senders(&[shard]);
        let mut numbers: Vec<u32> = senders.keys().copied().collect();
        numbers.sort_unstable();
        assert_eq!(numbers, [0, 1]);
        assert!(voice_senders(&[]).is_empty());
    }

    #[test]
    fn fatal_codes_are_final_and_others_resume() {
        for code in [4004, 4010, 4011, 4012, 4013, 4014] {
            assert!(fatal_close(code, false).is_some(), "{code}");
            assert!(fatal_close(code, true).is_some(), "{code}");
        }
        for code in [1000, 1001, 1006, 4000, 4001, 4007, 4008, 4009, 4999] {
            assert!(fatal_close(code, false).is_none(), "{code}");
            assert!(fatal_close(code, true).is_none(), "{code}");
        }
        let config = DiscordConfig::new("secret-token".into());
        assert!(!format!("{config:?}").contains("secret-token"));
    }

    #[test]
    fn presences_add_the_two_privileged_intents_and_their_events() {
        let mut config = DiscordConfig::new("token".into());
        assert_eq!(
            config.intents(),
            Intents::GUILDS | Intents::GUILD_VOICE_STATES
        );
        assert!(!wanted_events(false).contains(EventTypeFlags::PRESENCE_UPDATE));
        config.presences = true;
        assert_eq!(
            config.intents(),
            Intents::GUILDS
                | Intents::GUILD_VOICE_STATES
                | Intents::GUILD_PRESENCES
                | Intents::GUILD_MEMBERS
        );
        assert!(wanted_events(true).contains(
            EventTypeFlags::PRESENCE_UPDATE
                | EventTypeFlags::MEMBER_ADD
                | EventTypeFlags::MEMBER_UPDATE
                | EventTypeFlags::MEMBER_REMOVE
        ));
    }

    #[test]
    fn a_disallowed_intents_close_names_the_portal_switches_or_the_setting() {
        let (_, with_presences) = fatal_close(4014, true).unwrap();
        assert!(with_presences.contains("Presence"), "{with_presences}");
        assert!(
            with_presences.contains("Server Members"),
            "{with_presences}"
        );
        assert!(
            with_presences.contains("MINSTREL_DISCORD_PRESENCE=false"),
            "{with_presences}"
        );
        let (_, without) = fatal_close(4014, false).unwrap();
        assert!(without.contains("developer portal"), "{without}");
        assert!(!without.contains("MINSTREL_DISCORD_PRESENCE"), "{without}");
    }
}
