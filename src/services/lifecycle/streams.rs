//! The two streaming calls: bulk provisioning (records in, results out, a
//! chunk per transaction) and the change feed's watch.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tonic::{Status, Streaming};
use tonic_types::StatusExt;

use super::{encode, input};
use crate::app::{App, AppError, CallContext};
use crate::proto;
use crate::status;
use crate::store::provisioning::Provisioned;

/// Records of the bulk call provisioned per transaction; a chunk read from
/// the stream has this many per lane (`Store::provision_in_lanes`).
pub const BULK_CHUNK: usize = 500;
/// Changes read per query by a watch.
pub const WATCH_PAGE: u64 = 256;

pub type BulkStream =
    Pin<Box<dyn Stream<Item = Result<proto::BulkProvisionAccountsResponse, Status>> + Send>>;
pub type WatchStream =
    Pin<Box<dyn Stream<Item = Result<proto::WatchChangesResponse, Status>> + Send>>;
type Sender<T> = mpsc::Sender<Result<T, Status>>;

/// A per-record failure of the bulk call, from the same mapping as single
/// calls.
fn record_error(error: AppError, ctx: &CallContext) -> proto::RecordError {
    let status = status::into_status(error, &ctx.request_id, ctx.language);
    let field_violations = status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| proto::FieldViolation {
                    field: v.field,
                    description: v.description,
                })
                .collect()
        })
        .unwrap_or_default();
    proto::RecordError {
        code: status.code() as i32,
        message: status.message().to_owned(),
        field_violations,
    }
}

/// A record's result, its material issued anew when the caller replays it
/// (`reissue_pending_material`); whether it was.
async fn replayed(
    state: &App,
    ctx: &CallContext,
    result: Result<Provisioned, AppError>,
    replay: bool,
) -> Result<(Provisioned, bool), AppError> {
    let mut provisioned = result?;
    let reissued = replay && state.reissue_on_replay(&mut provisioned, ctx).await?;
    Ok((provisioned, reissued))
}

/// Provisions one chunk of a bulk stream and sends its results in order.
async fn provision_chunk(
    state: &App,
    ctx: &CallContext,
    chunk: Vec<proto::BulkProvisionAccountsRequest>,
    tx: &Sender<proto::BulkProvisionAccountsResponse>,
) -> Result<(), ()> {
    use proto::bulk_provision_accounts_response::Result as Outcome;
    let (ids, records): (Vec<_>, Vec<_>) = chunk
        .into_iter()
        .map(|r| {
            (
                (r.correlation_id, r.reissue_pending_material),
                r.record.map(input),
            )
        })
        .unzip();
    let chunk = state.provision_records(records, ctx).await;
    let now = state.now();
    for ((correlation_id, replay), result) in ids.into_iter().zip(chunk.results) {
        // A record of a transaction that failed gets no answer: the caller
        // sends it again (provisioning is idempotent).
        let Some(result) = result else { continue };
        let result = Some(match replayed(state, ctx, result, replay).await {
            Ok((p, reissued)) => {
                let mut answer = encode::provisioned(state, &p, (now, ctx));
                answer.material_reissued = reissued;
                Outcome::Provisioned(answer)
            }
            Err(e) => Outcome::Error(record_error(e, ctx)),
        });
        let response = proto::BulkProvisionAccountsResponse {
            correlation_id,
            result,
        };
        tx.send(Ok(response)).await.map_err(|_| ())?;
    }
    if let Some(failure) = chunk.failure {
        let status = status::into_status(failure, &ctx.request_id, ctx.language);
        let _ = tx.send(Err(status)).await;
        return Err(());
    }
    Ok(())
}

/// Provisions the records of a bulk stream chunk by chunk until the caller
/// closes it, breaks it or leaves it idle longer than `idle`.
pub async fn bulk(
    state: App,
    ctx: CallContext,
    inbound: Streaming<proto::BulkProvisionAccountsRequest>,
    tx: Sender<proto::BulkProvisionAccountsResponse>,
    idle: std::time::Duration,
) {
    let mut inbound = inbound.ready_chunks(BULK_CHUNK * state.store.write_lanes());
    loop {
        let Ok(next) = tokio::time::timeout(idle, inbound.next()).await else {
            let idle_error = AppError::DeadlineExceeded(format!(
                "no record for {}: the stream is closed",
                humantime::format_duration(idle)
            ));
            let status = status::into_status(idle_error, &ctx.request_id, ctx.language);
            let _ = tx.send(Err(status)).await;
            return;
        };
        let Some(messages) = next else {
            break;
        };
        let mut chunk = Vec::with_capacity(messages.len());
        let mut broken = None;
        for message in messages {
            match message {
                Ok(m) => chunk.push(m),
                Err(status) => {
                    broken = Some(status);
                    break;
                }
            }
        }
        if provision_chunk(&state, &ctx, chunk, &tx).await.is_err() {
            return;
        }
        if let Some(status) = broken {
            let status = status::broken_stream(status, &ctx.request_id, ctx.language);
            let _ = tx.send(Err(status)).await;
            return;
        }
    }
}

/// Sends every change after `after`, then polls for new ones until the
/// caller goes away.
pub async fn watch(
    state: App,
    (mut after, from_start): (i64, bool),
    institution: Option<String>,
    tx: Sender<proto::WatchChangesResponse>,
    ctx: CallContext,
) {
    let poll = state.rules.feed.poll_interval;
    let mut first = true;
    loop {
        let listed = state
            .store
            .list_changes(after, WATCH_PAGE, institution.as_deref())
            .await;
        let rows = match listed {
            Ok(rows) => rows,
            Err(e) => {
                let status = status::into_status(AppError::from(e), &ctx.request_id, ctx.language);
                let _ = tx.send(Err(status)).await;
                return;
            }
        };
        // The watch's first page proves the cursor still reads every
        // change, and records the reader's position.
        if std::mem::take(&mut first) {
            let checked = state
                .feed_read((after, from_start), institution.as_deref(), &ctx)
                .await;
            if let Err(e) = checked {
                let status = status::into_status(e, &ctx.request_id, ctx.language);
                let _ = tx.send(Err(status)).await;
                return;
            }
        }
        let full = rows.len() as u64 == WATCH_PAGE;
        for (change, account) in &rows {
            after = change.seq;
            let message = proto::WatchChangesResponse {
                change: Some(encode::change(&state, change, account, &ctx)),
            };
            if tx.send(Ok(message)).await.is_err() {
                return;
            }
        }
        if !full {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = tx.closed() => return,
            }
        }
    }
}
