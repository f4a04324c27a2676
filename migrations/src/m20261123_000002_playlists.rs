//! Playlists, their tracks, and each guild's active playlist.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, big_pk_auto, text};
use sea_orm_migration::sea_orm::DbBackend;

use crate::steps::{Step, Steps, cascade, drop_tables, index};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Playlists {
    Table,
    Id,
    /// `user` or `guild`.
    OwnerKind,
    OwnerId,
    /// The name as typed.
    Name,
    /// The lowercased name: unique per owner, and the listing order.
    NameKey,
    CreatedAtMs,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum PlaylistTracks {
    Table,
    Id,
    PlaylistId,
    /// Orders the tracks of a playlist. Gaps are fine (removing a track leaves one), so a
    /// removal never renumbers, and positions never collide under concurrent writers.
    Position,
    Title,
    Locator,
    SourceKind,
    DurationMs,
}

#[derive(DeriveIden)]
enum ActivePlaylists {
    Table,
    GuildId,
    PlaylistId,
    SetAtMs,
}

impl Steps for Migration {
    fn up(&self, backend: DbBackend) -> Vec<Step> {
        let mut name_key = text(Playlists::NameKey);
        if backend == DbBackend::Postgres {
            // Byte order, as SQLite's default BINARY collation and Rust's `str` ordering: the
            // listing order must not depend on the server's locale.
            name_key.extra("COLLATE \"C\"");
        }
        vec![
            Table::create()
                .table(Playlists::Table)
                .col(big_pk_auto(Playlists::Id))
                .col(text(Playlists::OwnerKind))
                .col(big_integer(Playlists::OwnerId))
                .col(text(Playlists::Name))
                .col(name_key)
                .col(big_integer(Playlists::CreatedAtMs))
                .col(big_integer(Playlists::UpdatedAtMs))
                .into(),
            index("ux_playlists_owner_name_key", Playlists::Table)
                .col(Playlists::OwnerKind)
                .col(Playlists::OwnerId)
                .col(Playlists::NameKey)
                .unique()
                .into(),
            Table::create()
                .table(PlaylistTracks::Table)
                .col(big_pk_auto(PlaylistTracks::Id))
                .col(big_integer(PlaylistTracks::PlaylistId))
                .col(big_integer(PlaylistTracks::Position))
                .col(text(PlaylistTracks::Title))
                .col(text(PlaylistTracks::Locator))
                .col(text(PlaylistTracks::SourceKind))
                .col(big_integer_null(PlaylistTracks::DurationMs))
                .foreign_key(&mut cascade(
                    "fk_playlist_tracks_playlist",
                    (PlaylistTracks::Table, PlaylistTracks::PlaylistId),
                    (Playlists::Table, Playlists::Id),
                ))
                .into(),
            index(
                "ux_playlist_tracks_playlist_position",
                PlaylistTracks::Table,
            )
            .col(PlaylistTracks::PlaylistId)
            .col(PlaylistTracks::Position)
            .unique()
            .into(),
            Table::create()
                .table(ActivePlaylists::Table)
                .col(big_integer(ActivePlaylists::GuildId).primary_key())
                .col(big_integer(ActivePlaylists::PlaylistId))
                .col(big_integer(ActivePlaylists::SetAtMs))
                .foreign_key(&mut cascade(
                    "fk_active_playlists_playlist",
                    (ActivePlaylists::Table, ActivePlaylists::PlaylistId),
                    (Playlists::Table, Playlists::Id),
                ))
                .into(),
            // Deleting a playlist cascades here; without an index that is a full scan.
            index("ix_active_playlists_playlist", ActivePlaylists::Table)
                .col(ActivePlaylists::PlaylistId)
                .into(),
        ]
    }

    fn down(&self) -> Vec<Step> {
        drop_tables([
            ActivePlaylists::Table.into_iden(),
            PlaylistTracks::Table.into_iden(),
            Playlists::Table.into_iden(),
        ])
    }
}
