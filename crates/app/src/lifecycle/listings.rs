//! The listings back-office tools page through: the change feed (by
//! cursor), the audit trail and the extension requests (by page token).

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::problem::Problem;
use store::accounts::AccountLookup;
use store::entities::{account_change, audit_event, extension_request};
use store::feed::AuditQuery;
use store::lifecycle::{ExtensionQuery, ExtensionState};

use crate::error::AppError;
use crate::{App, CallContext};
use domain::refusal::Precondition;

/// The page size when the caller names none.
const DEFAULT_PAGE: u32 = 100;

/// The page a caller asks for: its size (0: the default) and the token of
/// the previous page's end (empty: the first page).
#[derive(Debug, Clone, Copy, Default)]
pub struct Page<'a> {
    pub size: u32,
    pub token: &'a str,
}

/// A page token: the sort key `(instant, id)` of the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken(pub String);

impl PageToken {
    pub(super) fn of(at: DateTime<Utc>, id: &str) -> PageToken {
        PageToken(format!("{}~{}", at.timestamp_micros(), id))
    }

    pub(super) fn parse(token: &str) -> Result<Option<(DateTime<Utc>, String)>, AppError> {
        if token.is_empty() {
            return Ok(None);
        }
        let bad = || AppError::field("page_token", Problem::NotAPageToken);
        let (micros, id) = token.split_once('~').ok_or_else(bad)?;
        let at = micros
            .parse::<i64>()
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_micros)
            .ok_or_else(bad)?;
        uuid::Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(Some((at, id.to_owned())))
    }
}

/// The number of rows a page holds, at most `max`.
pub(super) fn page_size(requested: u32, max: u32) -> Result<u64, AppError> {
    match requested {
        0 => Ok(u64::from(DEFAULT_PAGE)),
        n if n <= max => Ok(u64::from(n)),
        _ => Err(AppError::field(
            "page_size",
            Problem::AboveMaximum { max: max as u64 },
        )),
    }
}

/// The token of the next page: none when this one was not full.
pub(super) fn next_token(full: bool, last: Option<(DateTime<Utc>, &str)>) -> Option<PageToken> {
    full.then_some(last)
        .flatten()
        .map(|(at, id)| PageToken::of(at, id))
}

/// A cursor of the change feed: empty means from the start.
pub fn parse_cursor(text: &str) -> Result<i64, AppError> {
    match text.trim() {
        "" => Ok(0),
        text => text
            .parse()
            .ok()
            .filter(|n: &i64| *n >= 0)
            .ok_or_else(|| AppError::field("after_cursor", Problem::NotACursor)),
    }
}

/// An institution filter: empty means every institution.
fn institution_filter(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|i| !i.is_empty())
}

/// A page of the change feed, the cursor after it, and the feed's last
/// change when it was read.
pub struct ChangePage {
    pub rows: Vec<(account_change::Model, Account)>,
    pub next: i64,
    pub position: i64,
}

impl App {
    /// The changes after `after_cursor`, oldest first, with their accounts
    /// as each change left them, and the cursor to ask from next. The
    /// caller (`ctx`'s client) has read every change up to `after_cursor`:
    /// it is recorded, so that the expiry batch forgets no change it has
    /// not read.
    ///
    /// # Errors
    /// `FailedPrecondition` (`CURSOR_EXPIRED`) for a cursor older than the
    /// oldest change the feed still holds.
    pub async fn list_changes(
        &self,
        after_cursor: &str,
        page_size_requested: u32,
        institution: &str,
        ctx: &CallContext,
    ) -> Result<ChangePage, AppError> {
        let after = parse_cursor(after_cursor)?;
        let limit = page_size(page_size_requested, 1000)?;
        let institution = institution_filter(institution);
        let position = self.store.feed_position().await?;
        let rows = self.store.list_changes(after, limit, institution).await?;
        let from_start = after_cursor.trim().is_empty();
        self.feed_read((after, from_start), institution, ctx)
            .await?;
        let next = rows.last().map(|(c, _)| c.seq).unwrap_or(after);
        Ok(ChangePage {
            rows,
            next,
            position: position.max(next),
        })
    }

    /// Checks that the feed still holds every change after `after` (read
    /// before this check: a deletion that came first moved the floor
    /// already), and records that the caller read up to it. Reading
    /// `from_start` (no cursor) reads from the oldest change kept.
    pub async fn feed_read(
        &self,
        (after, from_start): (i64, bool),
        institution: Option<&str>,
        ctx: &CallContext,
    ) -> Result<(), AppError> {
        let floor = self.store.feed_floor().await?;
        if !from_start && after < floor {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::CursorExpired,
                subject: "after_cursor".into(),
                message: format!("the feed no longer holds the changes up to {floor}"),
            });
        }
        let reader = format!("{}/{}", ctx.audit.actor, institution.unwrap_or_default());
        self.store
            .record_feed_read(&reader, after.max(floor), self.now())
            .await?;
        Ok(())
    }

    /// Audit events of an institution or an account, newest first.
    pub async fn list_audit_events(
        &self,
        institution: &str,
        account: Option<AccountLookup<'_>>,
        page: Page<'_>,
    ) -> Result<(Vec<audit_event::Model>, Option<PageToken>), AppError> {
        let limit = page_size(page.size, 500)?;
        let account_id = match account {
            Some(lookup) => Some(self.account(lookup).await?.id),
            None => None,
        };
        let institution = institution_filter(institution);
        if institution.is_none() && account_id.is_none() {
            return Err(AppError::field(
                "institution",
                Problem::InstitutionOrAccount,
            ));
        }
        let query = AuditQuery {
            institution,
            account_id: account_id.as_deref(),
            before: PageToken::parse(page.token)?,
            limit,
        };
        let events = self.store.list_audit_events(query).await?;
        let last = events.last().map(|e| (e.occurred_at, e.id.as_str()));
        let next = next_token(events.len() as u64 == limit, last);
        Ok((events, next))
    }

    /// Extension requests of an institution in one state, oldest first.
    pub async fn list_extension_requests(
        &self,
        institution: &str,
        state: ExtensionState,
        page: Page<'_>,
    ) -> Result<ExtensionPage, AppError> {
        let institution = institution.trim();
        if self.rules.institution(institution).is_none() {
            return Err(AppError::field("institution", Problem::UnknownInstitution));
        }
        let limit = page_size(page.size, 500)?;
        let query = ExtensionQuery {
            institution,
            state,
            after: PageToken::parse(page.token)?,
            limit,
        };
        let rows = self.store.list_extension_requests(query).await?;
        let last = rows.last().map(|(r, _)| (r.requested_at, r.id.as_str()));
        let next = next_token(rows.len() as u64 == limit, last);
        Ok((rows, next))
    }
}

/// Where a resync's next page starts: the feed's position when the first
/// page was read, and the last account id given (`<cursor>~<id>`).
fn entries_token(token: &str) -> Result<Option<(i64, String)>, AppError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || AppError::field("page_token", Problem::NotAPageToken);
    let (cursor, id) = token.split_once('~').ok_or_else(bad)?;
    let cursor = cursor
        .parse::<i64>()
        .ok()
        .filter(|c| *c >= 0)
        .ok_or_else(bad)?;
    uuid::Uuid::parse_str(id).map_err(|_| bad())?;
    Ok(Some((cursor, id.to_owned())))
}

/// A page of a resync: the accounts, the next page's token, and the feed's
/// position when the resync began.
pub struct EntriesPage {
    pub accounts: Vec<Account>,
    pub next: Option<String>,
    pub feed_cursor: i64,
}

impl App {
    /// Every account of an institution, a page at a time in id order, for
    /// the LDAP sync worker's resync. The first page notes the feed's
    /// position before reading any account, so that a worker going on from
    /// it misses no change made during the resync.
    pub async fn list_ldap_entries(
        &self,
        institution: &str,
        page: Page<'_>,
    ) -> Result<EntriesPage, AppError> {
        let institution = institution.trim();
        if self.rules.institution(institution).is_none() {
            return Err(AppError::field("institution", Problem::UnknownInstitution));
        }
        let limit = match page.size {
            0 => 500,
            n => page_size(n, 1000)?,
        };
        let (feed_cursor, after) = match entries_token(page.token)? {
            Some((cursor, id)) => (cursor, Some(id)),
            None => (self.store.feed_position().await?, None),
        };
        let accounts = self
            .store
            .accounts_after(institution, after.as_deref(), limit)
            .await?;
        let next = (accounts.len() as u64 == limit)
            .then(|| accounts.last().map(|a| format!("{feed_cursor}~{}", a.id)))
            .flatten();
        Ok(EntriesPage {
            accounts,
            next,
            feed_cursor,
        })
    }
}

/// A page of extension requests with their accounts, and the next page's
/// token.
pub type ExtensionPage = (Vec<(extension_request::Model, Account)>, Option<PageToken>);
