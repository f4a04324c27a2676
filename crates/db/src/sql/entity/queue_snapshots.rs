use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "queue_snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub guild_id: i64,
    pub voice_channel_id: Option<i64>,
    pub text_channel_id: Option<i64>,
    /// JSON array: the current track (if any), then the upcoming ones.
    pub tracks: String,
    pub current_index: Option<i32>,
    pub position_ms: i64,
    pub repeat_mode: String,
    /// JSON object of the filter chain.
    pub filters: String,
    pub volume: i32,
    pub paused: bool,
    pub updated_at_ms: i64,
    /// Restarts that brought the current track back without it finishing since.
    pub current_attempts: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
