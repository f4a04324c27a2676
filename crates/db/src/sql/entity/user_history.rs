use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub guild_id: i64,
    /// The Discord requester; `None` for Telegram and console requests.
    pub user_id: Option<i64>,
    pub telegram_user_id: Option<i64>,
    pub title: String,
    pub locator: String,
    pub duration_ms: Option<i64>,
    pub played_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
