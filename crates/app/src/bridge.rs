//! `BridgeService`: links between a Discord guild and a Telegram chat, made safely with one-time
//! codes, audited, kept across a group → supergroup migration; and the cache of Telegram chat
//! members the Discord side calls with `/all` ([`BridgeService::call_chat`]).
//!
//! Two ways to link, both needing an administrator on each side:
//! - a Telegram chat administrator runs `/id` ([`BridgeService::issue_chat_code`]); a Discord
//!   member with Manage Server redeems the code with `/connect_telegram`
//!   ([`BridgeService::link_with_code`]);
//! - or the other way round ([`BridgeService::issue_guild_code`] then
//!   [`BridgeService::link_chat_with_code`] from Telegram's `/link`).
//!
//! A code expires after [`LINK_CODE_TTL`] and works once; a wrong-way or expired attempt burns it.

use std::sync::Arc;
use std::time::Duration;

use minstrel_domain::{DomainEvent, GuildId, RequesterId, TelegramChatId, TelegramUserId, UserId};
use rand::Rng;
use tracing::{info, warn};

use crate::policy::Actor;
use crate::ports::{
    AuditEntry, AuditLog, ChatLink, ChatLinkRepo, Clock, EventBus, LinkCode, LinkCodeRepo,
    LinkCodeTarget, StoreError, TelegramMember, TelegramMemberRepo,
};

/// How long a link code stays valid.
pub const LINK_CODE_TTL: Duration = Duration::from_mins(10);

/// No 0/O or 1/I: codes are read aloud and retyped.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 32^8 = 2^40 codes: unguessable within ten minutes, short enough to type.
const CODE_LENGTH: usize = 8;

/// The adapters the bridge use cases work through.
#[derive(Clone)]
pub struct BridgePorts {
    pub links: Arc<dyn ChatLinkRepo>,
    pub codes: Arc<dyn LinkCodeRepo>,
    pub members: Arc<dyn TelegramMemberRepo>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    #[error("only chat administrators can do that")]
    NeedsChatAdmin,
    #[error("only members with the Manage Server permission can link a Telegram chat")]
    NeedsManageServer,
    #[error("that link code is not valid (codes work once; ask for a new one)")]
    UnknownCode,
    #[error("that link code has expired; ask for a new one")]
    ExpiredCode,
    #[error(
        "that code was made in Telegram: a Discord server manager uses it with /connect_telegram"
    )]
    CodeIsForDiscord,
    #[error("that code was made on Discord: a chat administrator uses it with /link in Telegram")]
    CodeIsForTelegram,
    #[error("this chat is not linked to a Discord server")]
    ChatNotLinked,
    #[error("this server is not linked to a Telegram chat")]
    GuildNotLinked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BridgeError {
    /// True for failures of the bot rather than of the request.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::Store(StoreError::Internal(_) | StoreError::Unavailable(_))
        )
    }
}

/// What a successful link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOutcome {
    pub link: ChatLink,
    /// Earlier links of the guild or of the chat that this one replaced.
    pub replaced: Vec<ChatLink>,
}

/// What `/all` did ([`BridgeService::call_chat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// The call went to the Telegram side, which mentions this many known members.
    Sent { members: usize },
    /// The linked chat has no known human member yet: nothing was sent.
    NobodyKnown,
    /// This bot has no way to the Telegram side (no event bus given): nothing was sent.
    Unreachable,
}

/// The bridge use cases. Cheap to share: wrap in `Arc`.
pub struct BridgeService {
    ports: BridgePorts,
    code_ttl: Duration,
    /// Where `/all` calls go: the event bus the Telegram front-end's bridge listens to.
    events: Option<Arc<dyn EventBus>>,
}

impl BridgeService {
    pub fn new(ports: BridgePorts) -> Self {
        Self {
            ports,
            code_ttl: LINK_CODE_TTL,
            events: None,
        }
    }

    /// Sends `/all` calls through `events`, which the Telegram front-end's bridge (possibly
    /// in another process) listens to. Without it, [`Self::call_chat`] says `Unreachable`.
    #[must_use]
    pub fn with_events(mut self, events: Arc<dyn EventBus>) -> Self {
        self.events = Some(events);
        self
    }

    /// Codes valid for `ttl` instead of [`LINK_CODE_TTL`].
    #[must_use]
    pub fn with_code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl;
        self
    }

    /// Upper-cases `input` and drops spaces and dashes, so `abcd-efgh` matches `ABCDEFGH`.
    pub fn normalize_code(input: &str) -> String {
        input
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|character| character.to_ascii_uppercase())
            .collect()
    }

    /// `ABCDEFGH` → `ABCD-EFGH`, easier to read back.
    pub fn format_code(code: &str) -> String {
        if code.len() == CODE_LENGTH && code.is_ascii() {
            format!("{}-{}", &code[..4], &code[4..])
        } else {
            code.to_owned()
        }
    }

    /// `/id` in Telegram: a code for `chat`, issued by one of its administrators.
    ///
    /// # Errors
    /// `NeedsChatAdmin` unless `actor` is a Telegram chat administrator.
    pub async fn issue_chat_code(
        &self,
        chat: TelegramChatId,
        actor: &Actor,
    ) -> Result<LinkCode, BridgeError> {
        let RequesterId::Telegram(issued_by) = actor.requester.id else {
            return Err(BridgeError::NeedsChatAdmin);
        };
        if !actor.is_admin {
            return Err(BridgeError::NeedsChatAdmin);
        }
        self.issue(LinkCodeTarget::Chat { chat, issued_by }).await
    }

    /// The Discord side's way round: a code for `guild`, issued by a member with Manage Server.
    ///
    /// # Errors
    /// `NeedsManageServer` unless `actor` is a Discord member with Manage Server.
    pub async fn issue_guild_code(
        &self,
        guild: GuildId,
        actor: &Actor,
    ) -> Result<LinkCode, BridgeError> {
        let issued_by = discord_admin(actor)?;
        self.issue(LinkCodeTarget::Guild { guild, issued_by }).await
    }

    async fn issue(&self, target: LinkCodeTarget) -> Result<LinkCode, BridgeError> {
        let now = self.ports.clock.now();
        // Best effort: a failed sweep only leaves dead rows behind.
        if let Err(error) = self.ports.codes.purge_expired(now).await {
            warn!(?error, "could not purge expired link codes");
        }
        let mut attempts = 0;
        loop {
            let code = LinkCode {
                code: random_code(),
                target,
                created_at: now,
                expires_at: now + self.code_ttl,
            };
            match self.ports.codes.insert(&code).await {
                Ok(()) => {
                    info!(?target, "link code issued");
                    return Ok(code);
                }
                Err(StoreError::Conflict(_)) if attempts < 3 => attempts += 1,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// `/connect_telegram <code>` on Discord: links `guild` with the chat whose administrator
    /// issued `code`. One guild ↔ one chat: earlier links of either are replaced (audited as a
    /// relink).
    ///
    /// # Errors
    /// `NeedsManageServer`, `UnknownCode` (also for a used code), `ExpiredCode`,
    /// `CodeIsForTelegram` (a guild code used the wrong way round).
    pub async fn link_with_code(
        &self,
        guild: GuildId,
        actor: &Actor,
        code: &str,
    ) -> Result<LinkOutcome, BridgeError> {
        let linked_by = discord_admin(actor)?;
        let code = self.take_code(code).await?;
        let LinkCodeTarget::Chat { chat, issued_by } = code.target else {
            return Err(BridgeError::CodeIsForTelegram);
        };
        let detail = format!(
            "Telegram chat {chat} (code from Telegram user {issued_by}) linked by Discord user \
             {linked_by}"
        );
        self.link(guild, chat, linked_by, actor.requester.id.clone(), detail)
            .await
    }

    /// `/link <code>` in Telegram: links `chat` with the guild whose manager issued `code`.
    ///
    /// # Errors
    /// `NeedsChatAdmin`, `UnknownCode`, `ExpiredCode`, `CodeIsForDiscord` (a chat code used
    /// the wrong way round, here or in another chat).
    pub async fn link_chat_with_code(
        &self,
        chat: TelegramChatId,
        actor: &Actor,
        code: &str,
    ) -> Result<LinkOutcome, BridgeError> {
        if !actor.is_admin || !matches!(actor.requester.id, RequesterId::Telegram(_)) {
            return Err(BridgeError::NeedsChatAdmin);
        }
        let code = self.take_code(code).await?;
        let LinkCodeTarget::Guild { guild, issued_by } = code.target else {
            return Err(BridgeError::CodeIsForDiscord);
        };
        let detail = format!(
            "Telegram chat {chat} linked by {} with a code from Discord user {issued_by}",
            actor.requester.display_name
        );
        self.link(guild, chat, issued_by, actor.requester.id.clone(), detail)
            .await
    }

    async fn take_code(&self, code: &str) -> Result<LinkCode, BridgeError> {
        let normalized = Self::normalize_code(code);
        if normalized.len() != CODE_LENGTH {
            return Err(BridgeError::UnknownCode);
        }
        let code = self
            .ports
            .codes
            .take(&normalized)
            .await?
            .ok_or(BridgeError::UnknownCode)?;
        if self.ports.clock.now() >= code.expires_at {
            return Err(BridgeError::ExpiredCode);
        }
        Ok(code)
    }

    async fn link(
        &self,
        guild: GuildId,
        chat: TelegramChatId,
        linked_by: UserId,
        actor: RequesterId,
        detail: String,
    ) -> Result<LinkOutcome, BridgeError> {
        let mut replaced = Vec::new();
        if let Some(previous) = self.ports.links.by_guild(guild).await?
            && previous.chat != chat
        {
            replaced.push(previous);
        }
        if let Some(previous) = self.ports.links.by_chat(chat).await?
            && previous.guild != guild
        {
            replaced.push(previous);
        }
        let link = ChatLink {
            guild,
            chat,
            linked_by,
            linked_at: self.ports.clock.now(),
        };
        self.ports.links.link(&link).await?;
        let action = if replaced.is_empty() {
            "telegram.link"
        } else {
            "telegram.relink"
        };
        let detail = if replaced.is_empty() {
            detail
        } else {
            let earlier: Vec<String> = replaced
                .iter()
                .map(|link| format!("guild {} ↔ chat {}", link.guild, link.chat))
                .collect();
            format!("{detail}; replaced {}", earlier.join(", "))
        };
        info!(%guild, %chat, action, "Telegram chat linked");
        self.audit(Some(guild), Some(actor), action, detail).await;
        for earlier in &replaced {
            if earlier.guild != guild {
                self.audit(
                    Some(earlier.guild),
                    None,
                    "telegram.unlink",
                    format!("chat {} was linked to guild {guild} instead", earlier.chat),
                )
                .await;
            }
        }
        Ok(LinkOutcome { link, replaced })
    }

    /// `/unlink` in Telegram.
    ///
    /// # Errors
    /// `NeedsChatAdmin`, `ChatNotLinked`.
    pub async fn unlink_chat(
        &self,
        chat: TelegramChatId,
        actor: &Actor,
    ) -> Result<ChatLink, BridgeError> {
        if !actor.is_admin {
            return Err(BridgeError::NeedsChatAdmin);
        }
        let link = self
            .ports
            .links
            .by_chat(chat)
            .await?
            .ok_or(BridgeError::ChatNotLinked)?;
        self.unlink(link, actor).await
    }

    /// Unlinking from Discord.
    ///
    /// # Errors
    /// `NeedsManageServer`, `GuildNotLinked`.
    pub async fn unlink_guild(
        &self,
        guild: GuildId,
        actor: &Actor,
    ) -> Result<ChatLink, BridgeError> {
        discord_admin(actor)?;
        let link = self
            .ports
            .links
            .by_guild(guild)
            .await?
            .ok_or(BridgeError::GuildNotLinked)?;
        self.unlink(link, actor).await
    }

    async fn unlink(&self, link: ChatLink, actor: &Actor) -> Result<ChatLink, BridgeError> {
        self.ports.links.unlink_chat(link.chat).await?;
        info!(guild = %link.guild, chat = %link.chat, "Telegram chat unlinked");
        self.audit(
            Some(link.guild),
            Some(actor.requester.id.clone()),
            "telegram.unlink",
            format!(
                "Telegram chat {} unlinked by {}",
                link.chat, actor.requester.display_name
            ),
        )
        .await;
        Ok(link)
    }

    pub async fn link_of_chat(
        &self,
        chat: TelegramChatId,
    ) -> Result<Option<ChatLink>, BridgeError> {
        Ok(self.ports.links.by_chat(chat).await?)
    }

    pub async fn link_of_guild(&self, guild: GuildId) -> Result<Option<ChatLink>, BridgeError> {
        Ok(self.ports.links.by_guild(guild).await?)
    }

    /// Telegram turned group `from` into supergroup `to` (a new chat id): the link and the
    /// member cache follow. Returns the moved link, if there was one.
    pub async fn migrate_chat(
        &self,
        from: TelegramChatId,
        to: TelegramChatId,
    ) -> Result<Option<ChatLink>, BridgeError> {
        if let Err(error) = self.ports.members.move_chat(from, to).await {
            warn!(%from, %to, ?error, "could not move the cached chat members");
        }
        let Some(link) = self.ports.links.by_chat(from).await? else {
            return Ok(None);
        };
        let moved = ChatLink { chat: to, ..link };
        self.ports.links.link(&moved).await?;
        info!(guild = %moved.guild, %from, %to, "linked chat migrated to a supergroup");
        self.audit(
            Some(moved.guild),
            None,
            "telegram.migrate",
            format!("Telegram chat {from} became supergroup {to}"),
        )
        .await;
        Ok(Some(moved))
    }

    /// Remembers a member seen writing in a chat (bots are not remembered).
    pub async fn remember_member(&self, member: &TelegramMember) -> Result<(), BridgeError> {
        if member.is_bot {
            return Ok(());
        }
        Ok(self.ports.members.upsert(member).await?)
    }

    pub async fn forget_member(
        &self,
        chat: TelegramChatId,
        user: TelegramUserId,
    ) -> Result<(), BridgeError> {
        Ok(self.ports.members.remove(chat, user).await?)
    }

    /// The known humans of the chat linked to `guild`, for Discord's `/all`.
    ///
    /// # Errors
    /// `GuildNotLinked` when the guild has no chat.
    pub async fn chat_members(&self, guild: GuildId) -> Result<Vec<TelegramMember>, BridgeError> {
        let link = self
            .ports
            .links
            .by_guild(guild)
            .await?
            .ok_or(BridgeError::GuildNotLinked)?;
        let mut members = self.ports.members.list(link.chat).await?;
        members.retain(|member| !member.is_bot);
        Ok(members)
    }

    /// Discord's `/all`: asks the Telegram side to mention, in the chat linked to `guild`, each
    /// of its known human members, naming `caller` and the `reason` (blank counts as none).
    /// The member count is the one known now; the Telegram side reads the list again as it
    /// sends.
    ///
    /// # Errors
    /// `GuildNotLinked` when the guild has no chat; `Store` when the link or the members
    /// cannot be read.
    pub async fn call_chat(
        &self,
        guild: GuildId,
        caller: &str,
        reason: Option<&str>,
    ) -> Result<CallOutcome, BridgeError> {
        let members = self.chat_members(guild).await?.len();
        if members == 0 {
            return Ok(CallOutcome::NobodyKnown);
        }
        let Some(events) = &self.events else {
            warn!(%guild, "/all has no way to the Telegram side: the bridge has no event bus");
            return Ok(CallOutcome::Unreachable);
        };
        let reason = reason
            .map(str::trim)
            .filter(|reason| !reason.is_empty())
            .map(str::to_owned);
        events.publish(DomainEvent::CallToChat {
            guild,
            caller: caller.to_owned(),
            reason,
        });
        Ok(CallOutcome::Sent { members })
    }

    /// The guild's audit trail, newest first.
    pub async fn audit_trail(
        &self,
        guild: GuildId,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, BridgeError> {
        Ok(self.ports.audit.for_guild(guild, limit).await?)
    }

    async fn audit(
        &self,
        guild: Option<GuildId>,
        actor: Option<RequesterId>,
        action: &str,
        detail: String,
    ) {
        let entry = AuditEntry {
            guild,
            actor,
            action: action.to_owned(),
            detail,
            at: self.ports.clock.now(),
        };
        // The link itself is done; a lost audit row must not undo it, but it must be visible.
        if let Err(error) = self.ports.audit.record(&entry).await {
            warn!(?error, ?entry, "could not record an audit entry");
        }
    }
}

fn discord_admin(actor: &Actor) -> Result<UserId, BridgeError> {
    match actor.requester.id {
        RequesterId::Discord(user) if actor.is_admin => Ok(user),
        _ => Err(BridgeError::NeedsManageServer),
    }
}

fn random_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LENGTH)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

impl std::fmt::Debug for BridgeService {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("BridgeService")
            .field("code_ttl", &self.code_ttl)
            .field("events", &self.events.is_some())
            .finish_non_exhaustive()
    }
}
