//! Playlists and the user and server settings.

use std::fmt::Write as _;

use minstrel_app::GuildSettingChange;
use minstrel_domain::PlaylistOwner;
use minstrel_domain::track::format_duration;

use crate::reply::{self, Reply};
use crate::request::{PlaylistRequest, SettingsRequest};

use super::{Context, Failure, InteractionHandler};

impl InteractionHandler {
    pub(super) async fn playlist(
        &self,
        context: &Context,
        request: PlaylistRequest,
    ) -> Result<Reply, Failure> {
        let playlists = &self.services.playlists;
        // Playlists belong to the member who made them; `use` makes one the server's active one.
        let owner = PlaylistOwner::User(context.user);
        let reply = match request {
            PlaylistRequest::Create(name) => {
                let playlist = playlists.create(owner, &name).await?;
                Reply::info(
                    "Playlist",
                    format!("Created \"{}\".", reply::escape(playlist.name.as_str())),
                )
            }
            PlaylistRequest::AddCurrent(name) => {
                let entry = playlists.add_current(owner, &name, context.guild).await?;
                Reply::info(
                    "Playlist",
                    format!(
                        "Added **{}** to \"{}\".",
                        reply::escape(&entry.title),
                        reply::escape(&name)
                    ),
                )
            }
            PlaylistRequest::AddQuery { name, query } => {
                let entries = playlists.add_query(owner, &name, &query).await?;
                Reply::info(
                    "Playlist",
                    format!(
                        "Added {} track(s) to \"{}\".",
                        entries.len(),
                        reply::escape(&name)
                    ),
                )
            }
            PlaylistRequest::Remove { name, position } => {
                let entry = playlists.remove(owner, &name, position).await?;
                Reply::info(
                    "Playlist",
                    format!(
                        "Removed **{}** from \"{}\".",
                        reply::escape(&entry.title),
                        reply::escape(&name)
                    ),
                )
            }
            PlaylistRequest::Use(name) => {
                let playlist = playlists.use_playlist(context.guild, owner, &name).await?;
                Reply::info(
                    "Playlist",
                    format!(
                        "\"{}\" is now the active playlist: /play without a song plays it.",
                        reply::escape(playlist.name.as_str())
                    ),
                )
            }
            PlaylistRequest::Show(name) => {
                let playlist = playlists.show(owner, &name).await?;
                let mut text = format!("{} track(s)\n", playlist.entries.len());
                for (index, entry) in playlist.entries.iter().enumerate().take(50) {
                    let _ = write!(
                        text,
                        "\n`{:>3}.` {}",
                        index + 1,
                        reply::escape(&entry.title)
                    );
                }
                Reply::info(&format!("Playlist {}", playlist.name.as_str()), text)
            }
            PlaylistRequest::List { page } => {
                let lists = playlists.list(owner, page).await?;
                if lists.is_empty() {
                    Reply::info(
                        "Playlists",
                        "No playlists yet: make one with /playlist create.",
                    )
                } else {
                    let text = lists
                        .iter()
                        .map(|playlist| {
                            format!(
                                "• {} ({} tracks)",
                                reply::escape(playlist.name.as_str()),
                                playlist.entries.len()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n");
                    Reply::info("Playlists", text)
                }
            }
            PlaylistRequest::Delete(name) => {
                let playlist = playlists.delete(owner, &name).await?;
                Reply::info(
                    "Playlist",
                    format!("Deleted \"{}\".", reply::escape(playlist.name.as_str())),
                )
            }
        };
        Ok(reply)
    }

    pub(super) async fn settings(
        &self,
        context: &Context,
        request: SettingsRequest,
    ) -> Result<Reply, Failure> {
        let settings = &self.services.settings;
        let user = context.user;
        let current = match request {
            SettingsRequest::Show => settings.user(user).await?,
            SettingsRequest::Volume(percent) => settings.set_user_volume(user, percent).await?,
            SettingsRequest::Filters(names) => settings.set_user_filters(user, &names).await?,
            SettingsRequest::Autoplay(on) => settings.set_user_autoplay(user, on).await?,
        };
        let filters = if current.preferred_filters.is_empty() {
            "none".to_owned()
        } else {
            current
                .preferred_filters
                .iter()
                .map(|preset| preset.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        Ok(Reply::info(
            "Your settings",
            format!(
                "Volume {} · filters {} · autoplay {}",
                current.default_volume,
                filters,
                if current.autoplay { "on" } else { "off" }
            ),
        ))
    }

    pub(super) async fn guild_settings(
        &self,
        context: &Context,
        change: Option<GuildSettingChange>,
    ) -> Result<Reply, Failure> {
        let service = &self.services.settings;
        let settings = match change {
            Some(change) => {
                service
                    .update_guild(context.guild, &context.actor, change)
                    .await?
            }
            None => service.guild(context.guild).await?,
        };
        let allowed = settings.allowed_filters.as_ref().map_or_else(
            || "all".to_owned(),
            |presets| {
                presets
                    .iter()
                    .map(|preset| preset.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
        let text = format!(
            "DJ role: {}\nMax queue: {}\n24/7: {}\nVoice channel for Telegram plays: {}\n\
             Idle timeout: {}\nVote-skip ratio: {:.2}\nNormalisation: {}\nDefault volume: {}\n\
             Allowed filters: {}",
            settings
                .dj_role
                .map_or_else(|| "none".to_owned(), |role| format!("<@&{role}>")),
            settings.max_queue(),
            if settings.stay_24_7 { "on" } else { "off" },
            settings.default_voice_channel.map_or_else(
                || "the last one I was in".to_owned(),
                |channel| format!("<#{channel}>")
            ),
            format_duration(settings.idle_timeout()),
            settings.vote_skip_ratio(),
            if settings.normalisation { "on" } else { "off" },
            settings.default_volume,
            allowed,
        );
        Ok(Reply::info("Server settings", text))
    }
}
