use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "guild_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub guild_id: i64,
    pub max_queue_size: i32,
    pub default_volume: i32,
    /// JSON array of preset names; `None` allows every preset.
    pub allowed_filters: Option<String>,
    pub dj_role_id: Option<i64>,
    #[sea_orm(column_name = "stay_24_7")]
    pub stay_24_7: bool,
    pub idle_timeout_ms: i64,
    pub vote_skip_ratio: f32,
    pub normalisation: bool,
    pub locale: String,
    pub default_voice_channel_id: Option<i64>,
    pub updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
