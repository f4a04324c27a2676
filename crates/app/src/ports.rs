//! Ports: the traits the use cases call and the adapters implement.
//!
//! Every port is object-safe and `Send + Sync` so the composition root can pick an adapter at
//! run time as `Arc<dyn Port>`. Errors crossing a port are the small enums below; no adapter
//! technology's error type (`sea_orm::DbErr`, `redis::RedisError`, …) ever crosses.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use minstrel_domain::{
    ChannelId, DomainEvent, FilterSpec, GuildId, GuildSettings, HistoryEntry, Playlist,
    PlaylistEntry, PlaylistId, PlaylistName, PlaylistOwner, RepeatMode, Requester, RequesterId,
    SourceKind, TelegramChatId, TelegramUserId, Track, TrackId, UserId, UserSettings, Volume,
};
use tokio::sync::broadcast;

/// What a resolver found: a playable track before it is queued by someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInfo {
    pub title: String,
    pub artist: Option<String>,
    pub duration: Option<Duration>,
    pub source_kind: SourceKind,
    pub locator: String,
    pub thumbnail: Option<String>,
}

impl TrackInfo {
    /// The queued track; its title and artist are cleaned to one line each, as a file name
    /// or a site's title may hold line breaks or terminal escapes.
    pub fn into_track(self, id: TrackId, requested_by: Requester) -> Track {
        Track {
            id,
            title: minstrel_domain::single_line(&self.title).into_owned(),
            artist: self
                .artist
                .map(|artist| minstrel_domain::single_line(&artist).into_owned()),
            duration: self.duration,
            source_kind: self.source_kind,
            locator: self.locator,
            thumbnail: self.thumbnail,
            requested_by,
        }
    }

    pub fn from_track(track: &Track) -> Self {
        Self {
            title: track.title.clone(),
            artist: track.artist.clone(),
            duration: track.duration,
            source_kind: track.source_kind,
            locator: track.locator.clone(),
            thumbnail: track.thumbnail.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("nothing found for \"{}\"", minstrel_domain::single_line(.0))]
    NotFound(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("the track could not be loaded")]
    Internal(String),
}

/// How far loading a long result (a playlist, page by page) got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadProgress {
    /// Tracks found so far.
    pub loaded: usize,
    /// The most that will be loaded (the playlist cap).
    pub cap: usize,
    /// Whether loading has finished.
    pub done: bool,
    /// Entries left out so far because they could not be loaded (an unavailable video, a
    /// page the site refused): the load goes on without them.
    pub skipped: usize,
}

/// Receives [`LoadProgress`] while a resolver loads; called from the resolving task, so it
/// must return at once (send on a channel, set a value).
pub type ProgressSink = Arc<dyn Fn(LoadProgress) + Send + Sync>;

/// One page of a long result (a playlist read page by page), in the result's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackPage {
    /// The page's tracks that could be loaded, in order.
    pub tracks: Vec<TrackInfo>,
    /// The page's entries that could not be loaded and were left out; a page that failed as
    /// a whole counts all the entries it was to hold.
    pub skipped: usize,
    /// More pages follow this one.
    pub more: bool,
}

/// Where [`TrackResolver::resolve_pages`] delivers pages, and the front-end's progress sink.
#[derive(Clone)]
pub struct PageSink {
    pages: tokio::sync::mpsc::Sender<TrackPage>,
    progress: Option<ProgressSink>,
}

impl PageSink {
    pub fn new(
        pages: tokio::sync::mpsc::Sender<TrackPage>,
        progress: Option<ProgressSink>,
    ) -> Self {
        Self { pages, progress }
    }

    /// Delivers `page`; `false` when nobody waits for pages any more (the guild stopped or
    /// left): the resolver then stops loading.
    pub async fn send(&self, page: TrackPage) -> bool {
        self.pages.send(page).await.is_ok()
    }

    /// Where to report how far the load got, when a front-end listens.
    pub fn progress(&self) -> Option<&ProgressSink> {
        self.progress.as_ref()
    }
}

impl std::fmt::Debug for PageSink {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PageSink")
            .field("progress", &self.progress.is_some())
            .finish_non_exhaustive()
    }
}

/// Turns what a user typed (a path, a URL, search words) into tracks.
///
/// Its mock, `MockTrackResolver`, is written out below with `mockall::mock!` rather than
/// `automock`, so that [`TrackResolver::resolve_pages`] keeps its default (the whole result
/// as one page) and a test that expects `resolve` sees a play call it.
#[async_trait]
pub trait TrackResolver: Send + Sync {
    /// Resolves `query`; a playlist link yields several tracks, in order.
    ///
    /// # Errors
    /// `NotFound` when nothing matches, `Unsupported`/`Forbidden` for input this resolver
    /// refuses (with a sentence saying why), `Unavailable` when a backing service is down.
    async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError>;

    /// [`TrackResolver::resolve`], reporting to `progress` how far a long load (a playlist
    /// expanded page by page) got. Resolvers that answer in one step never call it.
    ///
    /// # Errors
    /// As [`TrackResolver::resolve`].
    async fn resolve_with_progress(
        &self,
        query: &str,
        progress: ProgressSink,
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        drop(progress);
        self.resolve(query).await
    }

    /// [`TrackResolver::resolve_with_progress`], delivering the result page by page to
    /// `pages` as it loads (and reporting to its progress sink), so the first tracks can play
    /// while the rest still loads. A page that fails after the first is sent with its
    /// entries counted as skipped and the load goes on; a send that fails stops the load.
    /// The default delivers the whole result as one page.
    ///
    /// # Errors
    /// As [`TrackResolver::resolve`], when nothing could be loaded before the first page.
    /// An error after a page was delivered ends the load early; what was delivered stays.
    async fn resolve_pages(&self, query: &str, pages: PageSink) -> Result<(), ResolveError> {
        let tracks = match pages.progress() {
            Some(progress) => {
                self.resolve_with_progress(query, Arc::clone(progress))
                    .await?
            }
            None => self.resolve(query).await?,
        };
        let page = TrackPage {
            tracks,
            skipped: 0,
            more: false,
        };
        // Nobody waiting stopped the load: there is nothing more to do either way.
        pages.send(page).await;
        Ok(())
    }

    /// Up to `limit` search results for plain `words` (autocomplete suggestions), best first.
    /// Resolvers that cannot list several results answer with what `resolve` finds.
    ///
    /// # Errors
    /// As [`TrackResolver::resolve`].
    async fn search(&self, words: &str, limit: usize) -> Result<Vec<TrackInfo>, ResolveError> {
        let mut tracks = self.resolve(words).await?;
        tracks.truncate(limit);
        Ok(tracks)
    }
}

#[cfg(any(test, feature = "mocks"))]
mockall::mock! {
    /// A mock of [`TrackResolver`] whose `resolve_pages` is the trait's default.
    pub TrackResolver {}

    #[async_trait]
    impl TrackResolver for TrackResolver {
        async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError>;
        async fn resolve_with_progress(
            &self,
            query: &str,
            progress: ProgressSink,
        ) -> Result<Vec<TrackInfo>, ResolveError>;
        async fn search(&self, words: &str, limit: usize) -> Result<Vec<TrackInfo>, ResolveError>;
    }
}

/// Finds tracks related to one that just played, for autoplay when the queue runs out.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RelatedTracks: Send + Sync {
    /// Tracks related to `seed`, best first; none of them has a locator listed in `recent`
    /// (the tracks played lately, most recent first) or the seed's own locator.
    ///
    /// # Errors
    /// `NotFound` when nothing related is known, `Unavailable` when a backing service is
    /// down, `Unsupported` for a seed no source can relate to.
    async fn related(
        &self,
        seed: &Track,
        recent: &[String],
    ) -> Result<Vec<TrackInfo>, ResolveError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    #[error("the file could not be read: {0}")]
    Io(String),
    #[error("this audio format is not supported: {0}")]
    Unsupported(String),
    #[error("the audio data is damaged: {0}")]
    Corrupt(String),
    #[error("this track cannot seek")]
    SeekUnsupported,
    #[error("the decoder failed: {0}")]
    Internal(String),
}

/// Decoded audio of one track: interleaved stereo `f32` at 48 kHz.
///
/// Synchronous on purpose: decoding is compute-bound and runs on a blocking or mixer thread,
/// never in an async task.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait PcmStream: Send {
    /// Fills `out` with up to `out.len()` samples (a multiple of 2) and returns how many were
    /// written; `Ok(0)` is the end of the track.
    ///
    /// # Errors
    /// A clean [`AudioError`] for damaged or unreadable input; never a panic.
    fn read(&mut self, out: &mut [f32]) -> Result<usize, AudioError>;
}

/// How a guild wants its tracks opened, filled by the app from the guild's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Even out loudness between tracks. The bot-wide configuration is the master switch: when
    /// it is off, no guild gets normalisation whatever this says.
    pub normalise: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self { normalise: true }
    }
}

impl OpenOptions {
    /// The options a guild's settings ask for.
    pub fn for_guild(settings: &GuildSettings) -> Self {
        Self {
            normalise: settings.normalisation,
        }
    }
}

/// Opens a track's audio for playback.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AudioOpener: Send + Sync {
    /// Opens the audio `track.locator` points at, positioned at `start_at`, the way `options`
    /// asks (an opener that has nothing to do with an option ignores it).
    ///
    /// # Errors
    /// [`AudioError`] when the audio cannot be opened or `start_at` cannot be reached.
    fn open(
        &self,
        track: &Track,
        start_at: Duration,
        options: OpenOptions,
    ) -> Result<Box<dyn PcmStream>, AudioError>;
}

/// A short rendered clip of a track: a WAV file (48 kHz, stereo, 16-bit) in memory.
#[derive(Clone, PartialEq, Eq)]
pub struct PreviewClip {
    pub wav: Vec<u8>,
    /// How long the clip plays.
    pub duration: Duration,
}

impl std::fmt::Debug for PreviewClip {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PreviewClip")
            .field("bytes", &self.wav.len())
            .field("duration", &self.duration)
            .finish()
    }
}

/// Renders a clip of a track through the filter chain, as the player would play it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PreviewRenderer: Send + Sync {
    /// Decodes `track` from `start_at`, runs it through `filters` at `volume` and returns
    /// `length` of the result (less when the track ends first). Decoding and DSP run on a
    /// blocking thread, never in the async task that awaits this.
    ///
    /// # Errors
    /// [`AudioError`] when the track cannot be opened or decoded, or yields no audio.
    async fn render(
        &self,
        track: &Track,
        start_at: Duration,
        length: Duration,
        filters: FilterSpec,
        volume: Volume,
    ) -> Result<PreviewClip, AudioError>;
}

/// What the audio side reports about a guild's player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayerEventKind {
    Started,
    Finished,
    Failed(String),
    /// No audio for too long while playing.
    Stuck,
    /// The output went away for good and the player will not reconnect (Discord voice close
    /// 4014 "disconnected": kicked or moved out, 4022 "call terminated": channel deleted).
    /// `track` is the one that was playing, or `TrackId(0)` when none was; the app keeps the
    /// queue for the next join instead.
    Disconnected(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerEvent {
    pub guild: GuildId,
    /// The track the event is about, so a late event of a replaced track is ignored.
    pub track: TrackId,
    pub kind: PlayerEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlayerError {
    #[error("I am not connected to a voice channel")]
    NotConnected,
    #[error("nothing is playing")]
    NothingPlaying,
    #[error("this track cannot seek")]
    SeekUnsupported,
    #[error("the audio could not be played: {0}")]
    Failed(String),
    #[error("the player failed")]
    Internal(String),
    /// The voice connection could not be made; the adapter has left the channel again. The
    /// text says why, for a user.
    #[error("I could not connect to the voice channel: {0}")]
    JoinFailed(String),
    /// The player did not answer within its deadline (a broken voice connection).
    #[error(
        "the voice connection did not answer in time ({action}); try again, or /leave and /join"
    )]
    TimedOut { action: &'static str },
}

/// One audio output per guild: Discord voice, a WAV file, a null sink.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Player: Send + Sync {
    /// Connects the guild's player to a voice channel (a no-op for local sinks).
    async fn join(&self, guild: GuildId, channel: ChannelId) -> Result<(), PlayerError>;
    async fn leave(&self, guild: GuildId) -> Result<(), PlayerError>;
    /// Starts `track` at `start_at`, replacing whatever played, opened with `options` (kept
    /// for every reopen of this track, a seek included). Reports `Started`, then `Finished`,
    /// `Failed` or `Stuck` through [`Player::events`].
    async fn play(
        &self,
        guild: GuildId,
        track: &Track,
        start_at: Duration,
        volume: Volume,
        filters: FilterSpec,
        options: OpenOptions,
    ) -> Result<(), PlayerError>;
    async fn pause(&self, guild: GuildId) -> Result<(), PlayerError>;
    async fn resume(&self, guild: GuildId) -> Result<(), PlayerError>;
    /// Stops the current track without reporting `Finished`.
    async fn stop(&self, guild: GuildId) -> Result<(), PlayerError>;
    async fn seek(&self, guild: GuildId, position: Duration) -> Result<(), PlayerError>;
    /// Takes effect within a block or two, without a click.
    async fn set_volume(&self, guild: GuildId, volume: Volume) -> Result<(), PlayerError>;
    async fn set_filters(&self, guild: GuildId, filters: FilterSpec) -> Result<(), PlayerError>;
    /// Position in the current track, `None` when nothing plays.
    async fn position(&self, guild: GuildId) -> Option<Duration>;
    fn events(&self) -> broadcast::Receiver<PlayerEvent>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("storage is unavailable right now, please try again shortly")]
    Unavailable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0} was not found")]
    NotFound(String),
    #[error("storage failed")]
    Internal(String),
    /// The database is unreachable and the outbox that holds writes for it is full: this
    /// write was refused, not taken.
    #[error(
        "the database is unreachable and {waiting} changes are already waiting to be saved, so \
         this one was not saved; please try again in a minute"
    )]
    Backlogged { waiting: usize },
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SettingsRepo: Send + Sync {
    /// `Ok(None)` when the user never saved settings.
    async fn user(&self, user: UserId) -> Result<Option<UserSettings>, StoreError>;
    async fn save_user(&self, settings: &UserSettings) -> Result<(), StoreError>;
    async fn guild(&self, guild: GuildId) -> Result<Option<GuildSettings>, StoreError>;
    async fn save_guild(&self, settings: &GuildSettings) -> Result<(), StoreError>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PlaylistRepo: Send + Sync {
    /// # Errors
    /// `Conflict` when the owner already has a playlist with that name.
    async fn create(
        &self,
        owner: PlaylistOwner,
        name: &PlaylistName,
    ) -> Result<Playlist, StoreError>;
    async fn find(
        &self,
        owner: PlaylistOwner,
        name: &PlaylistName,
    ) -> Result<Option<Playlist>, StoreError>;
    /// The owner's playlists sorted by name, `limit` from `offset`.
    async fn list(
        &self,
        owner: PlaylistOwner,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Playlist>, StoreError>;
    async fn append(&self, id: &PlaylistId, entries: &[PlaylistEntry]) -> Result<(), StoreError>;
    /// Removes the entry at 0-based `index`; `NotFound` when there is none.
    async fn remove_entry(
        &self,
        id: &PlaylistId,
        index: usize,
    ) -> Result<PlaylistEntry, StoreError>;
    async fn delete(&self, id: &PlaylistId) -> Result<(), StoreError>;
    async fn set_active(
        &self,
        guild: GuildId,
        playlist: Option<PlaylistId>,
    ) -> Result<(), StoreError>;
    async fn active(&self, guild: GuildId) -> Result<Option<Playlist>, StoreError>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HistoryRepo: Send + Sync {
    /// Writes a batch of entries.
    async fn record(&self, entries: &[HistoryEntry]) -> Result<(), StoreError>;
    /// A user's history, newest first.
    async fn for_user(
        &self,
        user: UserId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError>;
}

/// Everything needed to bring a guild's player back after a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSnapshot {
    pub guild: GuildId,
    pub voice_channel: Option<ChannelId>,
    pub text_channel: Option<ChannelId>,
    pub current: Option<Track>,
    pub upcoming: Vec<Track>,
    pub position: Duration,
    pub repeat: RepeatMode,
    pub filters: FilterSpec,
    pub volume: Volume,
    pub paused: bool,
    pub updated_at: SystemTime,
    /// How many times a restart brought `current` back without it finishing since: the
    /// crash-loop guard drops a track the process died during twice (see
    /// [`crate::music::MAX_RESTORED_STARTS`]). 0 for a track started normally; saved before a
    /// restored track plays, so a kill in the middle of it still counts.
    pub current_attempts: u32,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait QueueStore: Send + Sync {
    async fn save(&self, snapshot: &QueueSnapshot) -> Result<(), StoreError>;
    async fn load(&self, guild: GuildId) -> Result<Option<QueueSnapshot>, StoreError>;
    async fn load_all(&self) -> Result<Vec<QueueSnapshot>, StoreError>;
    async fn delete(&self, guild: GuildId) -> Result<(), StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLink {
    pub guild: GuildId,
    pub chat: TelegramChatId,
    pub linked_by: UserId,
    pub linked_at: SystemTime,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ChatLinkRepo: Send + Sync {
    /// Links a guild and a chat, replacing any earlier link of either.
    async fn link(&self, link: &ChatLink) -> Result<(), StoreError>;
    async fn unlink_chat(&self, chat: TelegramChatId) -> Result<bool, StoreError>;
    async fn by_guild(&self, guild: GuildId) -> Result<Option<ChatLink>, StoreError>;
    async fn by_chat(&self, chat: TelegramChatId) -> Result<Option<ChatLink>, StoreError>;
}

/// What a one-time link code stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkCodeTarget {
    /// Issued by a Telegram chat administrator with `/id`; a Discord member with Manage Server
    /// redeems it in a guild (`/connect_telegram`).
    Chat {
        chat: TelegramChatId,
        issued_by: TelegramUserId,
    },
    /// Issued on Discord by a member with Manage Server; a chat administrator redeems it in the
    /// chat (`/link`).
    Guild { guild: GuildId, issued_by: UserId },
}

/// A one-time code that links a Discord guild and a Telegram chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCode {
    /// Upper-case, without separators (see `BridgeService::normalize_code`).
    pub code: String,
    pub target: LinkCodeTarget,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
}

/// Stores one-time link codes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LinkCodeRepo: Send + Sync {
    /// Stores a new code.
    ///
    /// # Errors
    /// `Conflict` when the same code string is already stored (the caller draws another).
    async fn insert(&self, code: &LinkCode) -> Result<(), StoreError>;
    /// Takes a code out, atomically: the first call returns it and marks it used, every later
    /// call (and any call for an unknown code) returns `Ok(None)`. Expiry is the caller's
    /// decision; an expired code is still taken, so it is burnt either way.
    async fn take(&self, code: &str) -> Result<Option<LinkCode>, StoreError>;
    /// Deletes codes that expired at or before `now`; returns how many went.
    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StoreError>;
}

/// A Telegram user seen writing in a chat, cached for the Discord-side `/all` mention list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramMember {
    pub chat: TelegramChatId,
    pub user: TelegramUserId,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: Option<String>,
    pub is_bot: bool,
    pub updated_at: SystemTime,
}

impl TelegramMember {
    /// "First Last", falling back to the username.
    pub fn display_name(&self) -> String {
        let full = match &self.last_name {
            Some(last) if !last.is_empty() => format!("{} {last}", self.first_name),
            _ => self.first_name.clone(),
        };
        if full.trim().is_empty() {
            self.username
                .clone()
                .unwrap_or_else(|| self.user.to_string())
        } else {
            full
        }
    }
}

/// The Telegram members a chat is known to have.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TelegramMemberRepo: Send + Sync {
    /// Inserts or refreshes one member of one chat.
    async fn upsert(&self, member: &TelegramMember) -> Result<(), StoreError>;
    /// The chat's known members, by display name.
    async fn list(&self, chat: TelegramChatId) -> Result<Vec<TelegramMember>, StoreError>;
    /// Forgets one member (they left or were removed).
    async fn remove(&self, chat: TelegramChatId, user: TelegramUserId) -> Result<(), StoreError>;
    /// Moves every member of `from` to `to` (a group became a supergroup).
    async fn move_chat(&self, from: TelegramChatId, to: TelegramChatId) -> Result<(), StoreError>;
}

/// One audited action: who did what, where and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// `None` for actions outside any guild.
    pub guild: Option<GuildId>,
    /// `None` for the system itself (e.g. a chat migration Telegram reported).
    pub actor: Option<RequesterId>,
    /// What was done, e.g. `telegram.link`, `telegram.relink`, `telegram.unlink`.
    pub action: String,
    /// A sentence with the details.
    pub detail: String,
    pub at: SystemTime,
}

/// The audit trail.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// A guild's entries, newest first.
    async fn for_guild(&self, guild: GuildId, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}

/// A Discord guild member as another front-end shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildMemberInfo {
    pub user: UserId,
    pub display_name: String,
    /// The name of the voice channel they are in, when known.
    pub voice_channel: Option<String>,
    /// Their presence, when the directory sees presences ([`MemberListScope::Online`]).
    pub status: Option<PresenceStatus>,
}

/// A presence that counts as "around": Discord's offline and invisible are not listed at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceStatus {
    Online,
    Idle,
    DoNotDisturb,
}

/// What a [`GuildDirectory`] can see, so a reply says plainly what its list means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberListScope {
    /// Members in the guild's voice channels: certainly online, but not everyone who is
    /// (presence needs privileged gateway intents the bot does not ask for by default).
    InVoice,
    /// Every member whose presence is online, idle or do-not-disturb.
    Online,
}

/// Members of a guild that are around, with what "around" means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildMemberList {
    pub scope: MemberListScope,
    /// Humans only (no bots), by display name.
    pub members: Vec<GuildMemberInfo>,
}

/// Who is around in a Discord guild, fed by the Discord gateway's events.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait GuildDirectory: Send + Sync {
    /// Members of `guild` known to be online (see [`MemberListScope`] for which ones).
    ///
    /// # Errors
    /// `Unavailable` when the guild's data is not known (yet): the gateway has not delivered
    /// it, or the bot is not in that guild.
    async fn online_members(&self, guild: GuildId) -> Result<GuildMemberList, StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    #[error("the cache is unavailable")]
    Unavailable(String),
}

/// A byte cache with expiry. Keys follow `kind:{id}` (`user_settings:{id}`,
/// `track_metadata:{id}`, `playlist:{guild}`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError>;
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
}

/// Carries domain events to every interested part (front-ends, bridge, history).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait EventBus: Send + Sync {
    fn publish(&self, event: DomainEvent);
    fn subscribe(&self) -> broadcast::Receiver<DomainEvent>;
}

/// Carries a guild command to the process that owns the guild (see `crate::shards`) and
/// brings back its answer. The in-process implementation is a direct call
/// (`crate::LocalCommandBus`); a deployment of several processes sends it over Redis Streams.
///
/// Contract: the command runs at most once per `dispatch` that returns `Ok` or a use-case
/// error; after `OwnerUnreachable` it may still run later (the owner was slow) or never.
///
/// # Errors
/// `Music`/`Remote` when the use case refused or failed; `OwnerUnreachable` when the owning
/// process did not answer in time; `Transport` when the command could not be sent.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CommandBus: Send + Sync {
    async fn dispatch(
        &self,
        guild: GuildId,
        actor: &crate::policy::Actor,
        command: crate::guild_commands::GuildCommand,
    ) -> Result<crate::guild_commands::CommandReply, crate::guild_commands::CommandError>;
}

/// Wall-clock time, injectable for tests.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The in-process event bus (one process; a Redis Streams bus can replace it for several).
#[derive(Debug)]
pub struct InProcessEventBus {
    sender: broadcast::Sender<DomainEvent>,
}

impl InProcessEventBus {
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(16));
        Self { sender }
    }
}

impl Default for InProcessEventBus {
    fn default() -> Self {
        Self::new(1024)
    }
}

impl EventBus for InProcessEventBus {
    fn publish(&self, event: DomainEvent) {
        // No subscriber is not an error: events are informational.
        let _ = self.sender.send(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every port must live behind `Arc<dyn Port>` shared across tasks.
    static_assertions::assert_impl_all!(dyn TrackResolver: Send, Sync);
    static_assertions::assert_impl_all!(dyn RelatedTracks: Send, Sync);
    static_assertions::assert_impl_all!(dyn Player: Send, Sync);
    static_assertions::assert_impl_all!(dyn SettingsRepo: Send, Sync);
    static_assertions::assert_impl_all!(dyn PlaylistRepo: Send, Sync);
    static_assertions::assert_impl_all!(dyn HistoryRepo: Send, Sync);
    static_assertions::assert_impl_all!(dyn QueueStore: Send, Sync);
    static_assertions::assert_impl_all!(dyn ChatLinkRepo: Send, Sync);
    static_assertions::assert_impl_all!(dyn LinkCodeRepo: Send, Sync);
    static_assertions::assert_impl_all!(dyn TelegramMemberRepo: Send, Sync);
    static_assertions::assert_impl_all!(dyn AuditLog: Send, Sync);
    static_assertions::assert_impl_all!(dyn GuildDirectory: Send, Sync);
    static_assertions::assert_impl_all!(dyn Cache: Send, Sync);
    static_assertions::assert_impl_all!(dyn EventBus: Send, Sync);
    static_assertions::assert_impl_all!(dyn CommandBus: Send, Sync);
    static_assertions::assert_impl_all!(dyn Clock: Send, Sync);
    static_assertions::assert_impl_all!(dyn AudioOpener: Send, Sync);
    static_assertions::assert_impl_all!(dyn PreviewRenderer: Send, Sync);
    static_assertions::assert_impl_all!(dyn PcmStream: Send);

    #[tokio::test]
    async fn in_process_bus_delivers_to_every_subscriber() {
        let bus = InProcessEventBus::default();
        let mut first = bus.subscribe();
        let mut second = bus.subscribe();
        let guild = GuildId::new(5).unwrap();
        bus.publish(DomainEvent::Paused { guild });
        assert_eq!(first.recv().await.unwrap(), DomainEvent::Paused { guild });
        assert_eq!(second.recv().await.unwrap(), DomainEvent::Paused { guild });
    }
}
