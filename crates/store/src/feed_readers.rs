//! Who reads the change feed, and how far (issue 29): each reader's last
//! cursor, kept so that the expiry batch forgets old changes only once
//! every reader has read them; and the feed's floor, the last change
//! forgotten, below which a cursor would miss changes.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set};

use crate::entities::{account_change, feed_counter, feed_reader};
use crate::{Store, StoreError};

/// The row of `feed_counter` that holds the last change forgotten.
const FLOOR_ROW: i32 = 2;

/// A reader's read is written again at most this often when its cursor
/// has not moved (it polls every second or so).
const READ_REFRESH: chrono::Duration = chrono::Duration::hours(1);

/// What forgetting old changes did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedForgotten {
    /// Changes deleted.
    pub forgotten: u64,
    /// Changes past their retention still kept because a reader has not
    /// read them.
    pub kept_for_readers: u64,
    /// Those readers, with their cursors.
    pub behind: Vec<(String, i64)>,
}

impl Store {
    /// The last change forgotten: a cursor below it misses changes.
    pub async fn feed_floor(&self) -> Result<i64, StoreError> {
        Ok(feed_counter::Entity::find_by_id(FLOOR_ROW)
            .one(self.connection())
            .await?
            .map_or(0, |row| row.value))
    }

    /// Records that `reader` asked for the changes after `cursor`: it has
    /// read everything up to it.
    pub async fn record_feed_read(
        &self,
        reader: &str,
        cursor: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let known = feed_reader::Entity::find_by_id(reader)
            .one(self.connection())
            .await?;
        if known.is_some_and(|r| r.cursor == cursor && now - r.read_at < READ_REFRESH) {
            return Ok(());
        }
        let row = feed_reader::ActiveModel {
            reader: Set(reader.to_owned()),
            cursor: Set(cursor),
            read_at: Set(now),
        };
        let write = self.begin_write().await?;
        feed_reader::Entity::insert(row)
            .on_conflict(
                OnConflict::column(feed_reader::Column::Reader)
                    .update_columns([feed_reader::Column::Cursor, feed_reader::Column::ReadAt])
                    .to_owned(),
            )
            .exec(&write.txn)
            .await?;
        write.commit().await
    }

    /// Forgets the changes that happened before `before` and that every
    /// reader seen since `readers_since` has read; the rest of those are
    /// kept (and counted), with the readers that hold them back.
    pub async fn forget_feed_entries(
        &self,
        before: DateTime<Utc>,
        readers_since: DateTime<Utc>,
    ) -> Result<FeedForgotten, StoreError> {
        let conn = self.connection();
        let Some(old_end) = account_change::Entity::find()
            .select_only()
            .column_as(account_change::Column::Seq.max(), "seq")
            .filter(account_change::Column::OccurredAt.lt(before))
            .into_tuple::<Option<i64>>()
            .one(conn)
            .await?
            .flatten()
        else {
            return Ok(FeedForgotten::default());
        };
        let readers = feed_reader::Entity::find()
            .filter(feed_reader::Column::ReadAt.gte(readers_since))
            .all(conn)
            .await?;
        let read_by_all = readers.iter().map(|r| r.cursor).min().unwrap_or(old_end);
        let end = std::cmp::min(old_end, read_by_all);
        // The floor moves with the deletion, in one transaction: a reader
        // told its cursor is fine never misses a change deleted meanwhile.
        let write = self.begin_write().await?;
        let forgotten = account_change::Entity::delete_many()
            .filter(account_change::Column::Seq.lte(end))
            .exec(&write.txn)
            .await?
            .rows_affected;
        feed_counter::Entity::update_many()
            .col_expr(feed_counter::Column::Value, Expr::value(end))
            .filter(feed_counter::Column::Id.eq(FLOOR_ROW))
            .filter(feed_counter::Column::Value.lt(end))
            .exec(&write.txn)
            .await?;
        write.commit().await?;
        let kept_for_readers = account_change::Entity::find()
            .filter(account_change::Column::Seq.gt(end))
            .filter(account_change::Column::Seq.lte(old_end))
            .count(conn)
            .await?;
        let behind = readers
            .into_iter()
            .filter(|r| r.cursor < old_end)
            .map(|r| (r.reader, r.cursor))
            .collect();
        Ok(FeedForgotten {
            forgotten,
            kept_for_readers,
            behind,
        })
    }
}
