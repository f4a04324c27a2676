//! Playlists, their tracks, and each guild's active playlist.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, big_pk_auto, text};
use sea_orm_migration::sea_orm::DbBackend;

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut name_key = text(Playlists::NameKey);
        if manager.get_database_backend() == DbBackend::Postgres {
            // Byte order, as SQLite's default BINARY collation and Rust's `str` ordering: the
            // listing order must not depend on the server's locale.
            name_key.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(Playlists::Table)
                    .col(big_pk_auto(Playlists::Id))
                    .col(text(Playlists::OwnerKind))
                    .col(big_integer(Playlists::OwnerId))
                    .col(text(Playlists::Name))
                    .col(name_key)
                    .col(big_integer(Playlists::CreatedAtMs))
                    .col(big_integer(Playlists::UpdatedAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_playlists_owner_name_key")
                    .table(Playlists::Table)
                    .col(Playlists::OwnerKind)
                    .col(Playlists::OwnerId)
                    .col(Playlists::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlaylistTracks::Table)
                    .col(big_pk_auto(PlaylistTracks::Id))
                    .col(big_integer(PlaylistTracks::PlaylistId))
                    .col(big_integer(PlaylistTracks::Position))
                    .col(text(PlaylistTracks::Title))
                    .col(text(PlaylistTracks::Locator))
                    .col(text(PlaylistTracks::SourceKind))
                    .col(big_integer_null(PlaylistTracks::DurationMs))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_playlist_tracks_playlist")
                            .from(PlaylistTracks::Table, PlaylistTracks::PlaylistId)
                            .to(Playlists::Table, Playlists::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_playlist_tracks_playlist_position")
                    .table(PlaylistTracks::Table)
                    .col(PlaylistTracks::PlaylistId)
                    .col(PlaylistTracks::Position)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ActivePlaylists::Table)
                    .col(big_integer(ActivePlaylists::GuildId).primary_key())
                    .col(big_integer(ActivePlaylists::PlaylistId))
                    .col(big_integer(ActivePlaylists::SetAtMs))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_active_playlists_playlist")
                            .from(ActivePlaylists::Table, ActivePlaylists::PlaylistId)
                            .to(Playlists::Table, Playlists::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Deleting a playlist cascades here; without an index that is a full scan.
        manager
            .create_index(
                Index::create()
                    .name("ix_active_playlists_playlist")
                    .table(ActivePlaylists::Table)
                    .col(ActivePlaylists::PlaylistId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping a table drops its indexes on both backends.
        for table in [
            ActivePlaylists::Table.into_iden(),
            PlaylistTracks::Table.into_iden(),
            Playlists::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
