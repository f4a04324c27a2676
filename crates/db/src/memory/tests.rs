//! The repository suite run on the in-memory adapters: one test per check on a fresh adapter,
//! plus each port's whole suite on one shared adapter (checks must not see each other's data,
//! which the SQL adapters will rely on).

use crate::conformance;

use super::{
    MemoryAuditLog, MemoryChatLinkRepo, MemoryHistoryRepo, MemoryLinkCodeRepo, MemoryPlaylistRepo,
    MemoryQueueStore, MemorySettingsRepo, MemoryTelegramMemberRepo,
};

macro_rules! suite {
    ($adapter:ty, $module:ident: $($check:ident),+ $(,)?) => {
        mod $module {
            use super::*;

            $(
                #[tokio::test]
                async fn $check() {
                    conformance::$module::$check(&<$adapter>::new()).await;
                }
            )+

            #[tokio::test]
            async fn whole_suite_on_one_shared_store() {
                let store = <$adapter>::new();
                conformance::$module::all(&store).await;
                conformance::$module::all(&store).await;
            }
        }
    };
}

suite!(MemorySettingsRepo, settings:
    unknown_user_and_guild_have_none,
    user_settings_roundtrip,
    guild_settings_roundtrip,
);

suite!(MemoryPlaylistRepo, playlists:
    create_then_find_ignoring_case,
    names_are_unique_per_owner_ignoring_case,
    list_is_sorted_by_name_and_paginated,
    list_order_does_not_depend_on_the_locale,
    append_and_remove_entries,
    append_respects_max_entries,
    unknown_playlist_is_not_found,
    delete_removes_the_playlist_and_frees_its_name,
    active_playlist_per_guild,
    delete_clears_the_active_playlist,
);

suite!(MemoryHistoryRepo, history:
    unknown_user_has_no_history,
    newest_first_and_only_the_users_own,
    pagination,
);

suite!(MemoryQueueStore, queue:
    unknown_guild_has_no_snapshot,
    full_snapshot_roundtrip,
    bare_snapshot_roundtrip,
    save_replaces_the_guilds_snapshot,
    load_all_returns_every_saved_guild,
    delete_removes_only_that_guild,
);

suite!(MemoryChatLinkRepo, chat_links:
    link_is_found_from_both_sides,
    relinking_a_guild_replaces_its_chat,
    relinking_a_chat_replaces_its_guild,
    linking_two_linked_sides_replaces_both_links,
    unlink_chat,
);

suite!(MemoryLinkCodeRepo, link_codes:
    a_code_is_taken_exactly_once,
    a_duplicate_code_is_a_conflict,
    purge_removes_only_expired_codes,
);

suite!(MemoryTelegramMemberRepo, telegram_members:
    members_are_listed_per_chat_by_display_name,
    upsert_replaces_and_remove_forgets,
    move_chat_carries_every_member_over,
);

suite!(MemoryAuditLog, audit:
    a_guilds_entries_come_newest_first,
    every_kind_of_actor_roundtrips,
);
