//! minstrel's Telegram front-end (teloxide): commands that control the linked Discord guild's
//! player, safe chat ↔ guild linking with one-time codes, and the bridge that mirrors the
//! player's events into the linked chat.
//!
//! Talks only to the application services (`GuildCommands`, `BridgeService`)
//! and the `EventBus` port; knows no infrastructure crate and no other chat framework.
//!
//! Robustness rules kept here: a command runs the moment it arrives (a chat's messages in
//! order, buttons at once) and only sending is paced, per chat, by [`pacer`] (which also
//! honours a 429's `retry_after` for the chat it names only); a button press is answered
//! within a second; everything is sent as plain text split at 4096 characters; the bot
//! token is redacted from every logged error ([`redact_token`]); a second poller of the same
//! token (HTTP 409) stops this front-end with a clear error while the rest of the bot runs on.

mod backoff;
mod buttons;
mod call;
mod commands;
mod handlers;
mod keyboard;
pub mod metrics;
mod mirror;
mod pacer;
pub mod parity;
mod redact;
mod replies;
mod text;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use minstrel_app::ports::{EventBus, GuildDirectory};
use minstrel_app::{BridgeService, GuildCommands};
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::stop::StopToken;
use teloxide::types::{MessageId, Update, UpdateKind};
use teloxide::update_listeners::{Polling, UpdateListener};
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

pub use commands::Command;
pub use mirror::MirrorConfig;
pub use pacer::PaceLimits;
pub use redact::redact_token;
pub use text::{MESSAGE_LIMIT, split_message};

/// The bot as the handlers use it for requests that are not chat messages; messages go
/// through the [`pacer`].
pub type TelegramBot = Bot;

/// The services the Telegram front-end drives.
#[derive(Clone)]
pub struct TelegramServices {
    /// The linked guild's player: run here, or in the process that owns the guild's shard.
    pub commands: GuildCommands,
    pub bridge: Arc<BridgeService>,
    pub events: Arc<dyn EventBus>,
    /// Who is online on Discord, for `/list`; `None` until the Discord side provides it.
    pub directory: Option<Arc<dyn GuildDirectory>>,
}

/// How to reach Telegram and how hard to push it.
#[derive(Clone)]
pub struct TelegramConfig {
    pub token: String,
    /// The Bot API base URL; `None` for `https://api.telegram.org/`.
    pub api_url: Option<String>,
    /// Long-polling timeout of `getUpdates`.
    pub poll_timeout: Duration,
    /// Outgoing message limits (Telegram's published limits by default).
    pub limits: PaceLimits,
    pub mirror: MirrorConfig,
    /// How long a chat-administrator check (`getChatMember`) is trusted.
    pub admin_cache_ttl: Duration,
}

impl TelegramConfig {
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            api_url: None,
            poll_timeout: Duration::from_secs(10),
            limits: PaceLimits::default(),
            mirror: MirrorConfig::default(),
            admin_cache_ttl: Duration::from_mins(1),
        }
    }
}

impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TelegramConfig")
            .field("token", &minstrel_app::redact::REDACTED)
            .field("api_url", &self.api_url)
            .field("poll_timeout", &self.poll_timeout)
            .field("limits", &self.limits)
            .field("mirror", &self.mirror)
            .finish_non_exhaustive()
    }
}

/// Why the Telegram front-end did not start. Messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("Telegram rejected the bot token ({0}); check TELEGRAM_TOKEN")]
    TokenRejected(String),
    #[error("the Telegram Bot API could not be reached: {0}")]
    Unreachable(String),
    #[error("the Telegram API URL is not valid: {0}")]
    BadApiUrl(String),
}

/// How the front-end ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelegramExit {
    /// [`TelegramFrontend::shutdown`] was called.
    Shutdown,
    /// Another process polls updates with the same token (HTTP 409).
    Conflict,
    /// The polling task ended unexpectedly.
    Failed,
}

/// Chat-wide state the handlers share.
pub(crate) struct Context {
    pub(crate) services: TelegramServices,
    pub(crate) token: String,
    admin_cache: Mutex<HashMap<(ChatId, UserId), (bool, tokio::time::Instant)>>,
    admin_cache_ttl: Duration,
    /// The bridge's current now-playing message per chat (the bridge keeps it up to date).
    pub(crate) now_playing_messages: Arc<Mutex<HashMap<ChatId, MessageId>>>,
    /// What commands in linked chats are telling their chat, so the bridge does not repeat it.
    pub(crate) replies: Arc<replies::CommandReplies>,
    /// Every message to a chat goes out through here.
    pub(crate) pacer: pacer::Pacer,
    /// Each guild's repeat mode as last set from Telegram: the player publishes no event for
    /// it, and the now-playing message shows it.
    pub(crate) repeat_modes: mirror::RepeatModes,
}

impl Context {
    pub(crate) fn cached_admin(&self, chat: ChatId, user: UserId) -> Option<bool> {
        let cache = self
            .admin_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .get(&(chat, user))
            .filter(|(_, at)| at.elapsed() < self.admin_cache_ttl)
            .map(|(admin, _)| *admin)
    }

    pub(crate) fn remember_admin(&self, chat: ChatId, user: UserId, admin: bool) {
        self.admin_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((chat, user), (admin, tokio::time::Instant::now()));
    }

    pub(crate) fn is_bridge_message(&self, chat: ChatId, message: MessageId) -> bool {
        self.now_playing_messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&chat)
            == Some(&message)
    }
}

/// What polling does with its errors: a 409 (another poller of the token) stops it for
/// good, anything else is logged and retried after [`backoff::polling_backoff`].
struct PollingErrors {
    conflict: Arc<AtomicBool>,
    stop_polling: StopToken,
    token: String,
}

impl ErrorHandler<RequestError> for PollingErrors {
    fn handle_error(self: Arc<Self>, error: RequestError) -> BoxFuture<'static, ()> {
        if matches!(
            error,
            RequestError::Api(ApiError::TerminatedByOtherGetUpdates)
        ) {
            if !self.conflict.swap(true, Ordering::SeqCst) {
                error!(
                    "another process is polling Telegram with this bot token (HTTP 409 \
                     Conflict); the Telegram front-end stops here, the rest of the bot keeps \
                     running. Run exactly one instance per token."
                );
            }
            // Polling makes one last getUpdates (also refused) and ends, and the dispatcher
            // with it; retrying would only back off for longer and longer.
            self.stop_polling.stop();
        } else {
            warn!(error = %redact::describe(&error, &self.token), "getting Telegram updates failed; retrying");
        }
        Box::pin(std::future::ready(()))
    }
}

/// Which updates wait for each other: a chat's messages run one after the other, in the order
/// they arrived (so `/play a` then `/play b` queue in that order); they only run the command
/// and queue its reply, so they never wait for Telegram. Button presses run at once, beside
/// everything else, so their answer never waits behind a slow command.
fn update_order(update: &Update) -> Option<ChatId> {
    match update.kind {
        UpdateKind::Message(_) => update.chat().map(|chat| chat.id),
        _ => None,
    }
}

/// Updates no handler takes (ordinary chat messages, commands for other bots, edits…) are
/// normal traffic: logged at debug level by kind only, never with their names or texts.
fn log_unhandled(update: &Update) {
    let kind = match &update.kind {
        UpdateKind::Message(_) => "message",
        UpdateKind::EditedMessage(_) => "edited message",
        UpdateKind::ChannelPost(_) | UpdateKind::EditedChannelPost(_) => "channel post",
        UpdateKind::CallbackQuery(_) => "callback query",
        UpdateKind::MyChatMember(_) | UpdateKind::ChatMember(_) => "chat member change",
        _ => "other",
    };
    debug!(update = update.id.0, kind, "ignored a Telegram update");
}

/// The running Telegram front-end: the update dispatcher and the event bridge.
pub struct TelegramFrontend {
    username: String,
    stop: watch::Sender<bool>,
    /// Ends polling. teloxide's `ShutdownToken` is not used: it wakes the dispatcher with
    /// `Notify::notify_waiters`, which is lost whenever the dispatcher is not waiting at that
    /// moment (before it runs, or while it handles an update or a listener error), so a
    /// shutdown could hang. The listener's stop flag stays set until polling has ended.
    stop_polling: StopToken,
    task: JoinHandle<TelegramExit>,
    mirror_flushes: watch::Receiver<u64>,
}

impl TelegramFrontend {
    /// Checks the token (`getMe`), registers the commands (`setMyCommands`) and starts polling
    /// and the event bridge on the current runtime.
    ///
    /// # Errors
    /// [`StartError`] when the token is rejected or the API cannot be reached; the caller keeps
    /// running without Telegram.
    pub async fn start(
        config: TelegramConfig,
        services: TelegramServices,
    ) -> Result<Self, StartError> {
        let token = config.token.trim().to_owned();
        let mut bot = Bot::new(token.clone());
        if let Some(url) = &config.api_url {
            let url = url
                .parse()
                .map_err(|error: url::ParseError| StartError::BadApiUrl(error.to_string()))?;
            bot = bot.set_api_url(url);
        }
        let me = bot.get_me().await.map_err(|error| match &error {
            RequestError::Api(ApiError::InvalidToken) => {
                StartError::TokenRejected(redact::describe(&error, &token))
            }
            _ => StartError::Unreachable(redact::describe_request(
                &error,
                &token,
                &bot.api_url(),
                "GetMe",
            )),
        })?;
        let username = me.username().to_owned();
        if let Err(error) = bot.set_my_commands(commands::registered_commands()).await {
            warn!(error = %redact::describe(&error, &token), "could not register the Telegram commands");
        }
        let pacer = pacer::Pacer::new(bot.clone(), config.limits);
        let repeat_modes = mirror::RepeatModes::default();

        let (stop, stop_receiver) = watch::channel(false);
        let now_playing_messages = Arc::new(Mutex::new(HashMap::new()));
        let context = Arc::new(Context {
            services: services.clone(),
            token: token.clone(),
            admin_cache: Mutex::new(HashMap::new()),
            admin_cache_ttl: config.admin_cache_ttl,
            now_playing_messages: Arc::clone(&now_playing_messages),
            replies: Arc::new(replies::CommandReplies::new(now_playing_messages)),
            pacer: pacer.clone(),
            repeat_modes: repeat_modes.clone(),
        });

        let (mirror, mirror_flushes) = mirror::Mirror::new(
            pacer,
            repeat_modes,
            Arc::clone(&services.bridge),
            config.mirror.clone(),
            Arc::clone(&context.now_playing_messages),
            Arc::clone(&context.replies),
            token.clone(),
        );
        let mirror_task = tokio::spawn(mirror.run(services.events.subscribe(), stop_receiver));

        let mut dispatcher = Dispatcher::builder(bot.clone(), handlers::schema())
            .dependencies(dptree::deps![Arc::clone(&context)])
            .error_handler(Arc::new(handlers::LoggingErrorHandler {
                token: token.clone(),
            }))
            .default_handler(|update| async move { log_unhandled(&update) })
            .distribution_function(update_order)
            .build();
        let conflict = Arc::new(AtomicBool::new(false));
        let mut listener = Polling::builder(bot)
            .timeout(config.poll_timeout)
            .backoff_strategy(backoff::polling_backoff)
            .build();
        let stop_polling = listener.stop_token();
        let listener_errors = Arc::new(PollingErrors {
            conflict: Arc::clone(&conflict),
            stop_polling: stop_polling.clone(),
            token: token.clone(),
        });
        let stop_on_exit = stop.clone();
        let task = tokio::spawn(async move {
            dispatcher
                .dispatch_with_listener(listener, listener_errors)
                .await;
            let _ = stop_on_exit.send(true);
            let _ = mirror_task.await;
            if conflict.load(Ordering::SeqCst) {
                TelegramExit::Conflict
            } else {
                TelegramExit::Shutdown
            }
        });
        info!(bot = %username, "Telegram front-end started");
        Ok(Self {
            username,
            stop,
            stop_polling,
            task,
            mirror_flushes,
        })
    }

    /// The bot's username, without `@`.
    pub fn bot_username(&self) -> &str {
        &self.username
    }

    /// Counts the bridge's flushes (one per coalesced burst of events sent to a chat).
    pub fn mirror_flushes(&self) -> watch::Receiver<u64> {
        self.mirror_flushes.clone()
    }

    /// Waits until the front-end stops by itself (a 409 conflict) or fails.
    pub async fn wait(self) -> TelegramExit {
        self.task.await.unwrap_or(TelegramExit::Failed)
    }

    /// Runs until the front-end stops by itself (a 409 conflict, a failure) or `stop`
    /// completes, in which case it is shut down.
    pub async fn run_until(mut self, stop: impl Future<Output = ()>) -> TelegramExit {
        let ended = tokio::select! {
            exit = &mut self.task => Some(exit.unwrap_or(TelegramExit::Failed)),
            () = stop => None,
        };
        match ended {
            Some(exit) => exit,
            None => self.shutdown().await,
        }
    }

    /// Stops polling and the bridge, and waits for them.
    pub async fn shutdown(self) -> TelegramExit {
        let _ = self.stop.send(true);
        self.stop_polling.stop();
        let mut task = self.task;
        match tokio::time::timeout(Duration::from_secs(30), &mut task).await {
            Ok(Ok(exit)) if exit == TelegramExit::Conflict => exit,
            Ok(Ok(_)) => TelegramExit::Shutdown,
            Ok(Err(_)) => TelegramExit::Failed,
            Err(_) => {
                task.abort();
                TelegramExit::Failed
            }
        }
    }
}

impl std::fmt::Debug for TelegramFrontend {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TelegramFrontend")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}
