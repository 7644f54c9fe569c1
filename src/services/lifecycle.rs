//! AccountLifecycleService: provisioning, lookups, the change feed and the
//! audit trail. End of activity, extensions and the expiry batch answer
//! UNIMPLEMENTED until their work lands.

use std::pin::Pin;

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tonic_types::StatusExt;
use tracing::Instrument;

use super::status::ApiError;
use super::{AppState, account_lookup, begin_call, encode, reply};
use crate::domain::provisioning::{ProvisionInput, parse_record, profile_of};
use crate::proto;
use crate::proto::account_lifecycle_service_server::AccountLifecycleService;
use crate::store::AuditContext;
use crate::store::feed::AuditQuery;
use crate::store::provisioning::{ProvisionItem, Provisioned};

/// Records provisioned per transaction by the bulk call.
const BULK_CHUNK: usize = 500;
const DEFAULT_PAGE: u32 = 100;

pub struct LifecycleApi {
    state: AppState,
}

impl LifecycleApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn input(record: proto::ProvisionRecord) -> ProvisionInput {
    ProvisionInput {
        institution: record.institution,
        profile: record.profile,
        student_number: record.student_number,
        ine: record.ine,
        hr_id: record.hr_id,
        given_name: record.given_name,
        family_name: record.family_name,
        birth_date: record.birth_date,
        mobile_phone: record.mobile_phone,
        personal_mail: record.personal_mail,
    }
}

/// Checks a record against the configuration.
fn parse_item(
    state: &AppState,
    record: Option<proto::ProvisionRecord>,
    now: DateTime<Utc>,
) -> Result<ProvisionItem, ApiError> {
    let record = record.ok_or_else(|| ApiError::field("record", "a record is needed"))?;
    let record = parse_record(&input(record), &state.settings, now, "record")
        .map_err(ApiError::InvalidArgument)?;
    let (institution, profile) = profile_of(&state.settings, &record)
        .ok_or_else(|| ApiError::Internal("parsed record has no profile".into()))?;
    Ok(ProvisionItem {
        profile: profile.clone(),
        record,
        link_mail: Some(crate::store::provisioning::LinkMail::of(institution)),
    })
}

fn provisioned(
    state: &AppState,
    p: &Provisioned,
    now: DateTime<Utc>,
) -> proto::ProvisionAccountResponse {
    proto::ProvisionAccountResponse {
        outcome: encode::outcome(p.outcome) as i32,
        account: Some(state.encode_account(&p.account, now)),
        activation_material: p.material.as_ref().map(encode::material),
    }
}

/// A per-record failure of the bulk call, from the same mapping as single
/// calls.
fn record_error(error: ApiError, request_id: &str) -> proto::RecordError {
    let status = error.into_status(request_id);
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

fn page_size(requested: u32, max: u32, field: &str) -> Result<u64, ApiError> {
    match requested {
        0 => Ok(u64::from(DEFAULT_PAGE)),
        n if n <= max => Ok(u64::from(n)),
        _ => Err(ApiError::field(field, format!("at most {max}"))),
    }
}

type BulkStream =
    Pin<Box<dyn Stream<Item = Result<proto::BulkProvisionAccountsResponse, Status>> + Send>>;

/// Provisions one chunk of a bulk stream and sends its results in order.
async fn provision_chunk(
    state: &AppState,
    ctx: &AuditContext,
    chunk: Vec<proto::BulkProvisionAccountsRequest>,
    tx: &mpsc::Sender<Result<proto::BulkProvisionAccountsResponse, Status>>,
) -> Result<(), ()> {
    use proto::bulk_provision_accounts_response::Result as Outcome;
    let now = state.now();
    let mut ids = Vec::with_capacity(chunk.len());
    let mut slots: Vec<Option<Outcome>> = Vec::with_capacity(chunk.len());
    let mut items = Vec::new();
    let mut item_slots = Vec::new();
    for request in chunk {
        ids.push(request.correlation_id);
        match parse_item(state, request.record, now) {
            Ok(item) => {
                item_slots.push(slots.len());
                items.push(item);
                slots.push(None);
            }
            Err(e) => slots.push(Some(Outcome::Error(record_error(e, &ctx.request_id)))),
        }
    }
    if !items.is_empty() {
        match state.store.provision(&items, now, ctx).await {
            Ok(results) => {
                for (slot, result) in item_slots.into_iter().zip(results) {
                    slots[slot] = Some(match result {
                        Ok(p) => Outcome::Provisioned(provisioned(state, &p, now)),
                        Err(e) => Outcome::Error(record_error(e.into(), &ctx.request_id)),
                    });
                }
            }
            Err(e) => {
                let status = ApiError::from(e).into_status(&ctx.request_id);
                let _ = tx.send(Err(status)).await;
                return Err(());
            }
        }
    }
    for (correlation_id, result) in ids.into_iter().zip(slots) {
        let response = proto::BulkProvisionAccountsResponse {
            correlation_id,
            result,
        };
        tx.send(Ok(response)).await.map_err(|_| ())?;
    }
    Ok(())
}

#[tonic::async_trait]
impl AccountLifecycleService for LifecycleApi {
    #[tracing::instrument(skip_all, fields(request_id))]
    async fn provision_account(
        &self,
        request: Request<proto::ProvisionAccountRequest>,
    ) -> Result<Response<proto::ProvisionAccountResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let item = parse_item(&self.state, request.into_inner().record, now)?;
            let mut results = self.state.store.provision(&[item], now, &ctx).await?;
            let result = results
                .pop()
                .ok_or_else(|| ApiError::Internal("provisioning returned no result".into()))?;
            Ok::<_, ApiError>(provisioned(&self.state, &result?, now))
        }
        .await;
        reply(result, &ctx.request_id)
    }

    #[tracing::instrument(skip_all, fields(request_id))]
    async fn bulk_provision_accounts(
        &self,
        request: Request<Streaming<proto::BulkProvisionAccountsRequest>>,
    ) -> Result<Response<BulkStream>, Status> {
        let ctx = begin_call(&request);
        let mut inbound = request.into_inner().ready_chunks(BULK_CHUNK);
        let state = self.state.clone();
        let (tx, rx) = mpsc::channel(BULK_CHUNK * 2);
        let request_id = ctx.request_id.clone();
        let task = async move {
            while let Some(messages) = inbound.next().await {
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
                    let _ = tx.send(Err(status)).await;
                    return;
                }
            }
        };
        tokio::spawn(task.instrument(tracing::Span::current()));
        let stream: BulkStream = Box::pin(ReceiverStream::new(rx));
        reply(Ok(stream), &request_id)
    }

    #[tracing::instrument(skip_all, fields(request_id))]
    async fn get_account(
        &self,
        request: Request<proto::GetAccountRequest>,
    ) -> Result<Response<proto::GetAccountResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.get_ref();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let account = self.state.account(lookup).await?;
            Ok::<_, ApiError>(proto::GetAccountResponse {
                account: Some(self.state.encode_account(&account, now)),
            })
        }
        .await;
        reply(result, &ctx.request_id)
    }

    #[tracing::instrument(skip_all, fields(request_id))]
    async fn reissue_activation_material(
        &self,
        request: Request<proto::ReissueActivationMaterialRequest>,
    ) -> Result<Response<proto::ReissueActivationMaterialResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.get_ref();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let account = self.state.account(lookup).await?;
            let profile = self.state.profile_of(&account)?;
            let (account, material) = self
                .state
                .store
                .reissue_material(lookup, profile, now, &ctx)
                .await?;
            Ok::<_, ApiError>(proto::ReissueActivationMaterialResponse {
                account: Some(self.state.encode_account(&account, now)),
                activation_material: Some(encode::material(&material)),
            })
        }
        .await;
        reply(result, &ctx.request_id)
    }

    #[tracing::instrument(skip_all, fields(request_id))]
    async fn list_changes(
        &self,
        request: Request<proto::ListChangesRequest>,
    ) -> Result<Response<proto::ListChangesResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.get_ref();
            let after: i64 =
                match body.after_cursor.trim() {
                    "" => 0,
                    text => text.parse().ok().filter(|n: &i64| *n >= 0).ok_or_else(|| {
                        ApiError::field("after_cursor", "not a cursor of this feed")
                    })?,
                };
            let limit = page_size(body.page_size, 1000, "page_size")?;
            let institution = Some(body.institution.trim()).filter(|i| !i.is_empty());
            let rows = self
                .state
                .store
                .list_changes(after, limit, institution)
                .await?;
            let next_cursor = rows.last().map(|(c, _)| c.seq).unwrap_or(after).to_string();
            let changes = rows
                .iter()
                .map(|(change, account)| proto::AccountChange {
                    cursor: change.seq.to_string(),
                    occurred_at: Some(encode::timestamp(change.occurred_at)),
                    kind: encode::change_kind(&change.kind) as i32,
                    account: Some(self.state.encode_account(account, now)),
                    password_hash: String::new(),
                })
                .collect();
            Ok::<_, ApiError>(proto::ListChangesResponse {
                changes,
                next_cursor,
            })
        }
        .await;
        reply(result, &ctx.request_id)
    }

    #[tracing::instrument(skip_all, fields(request_id))]
    async fn list_audit_events(
        &self,
        request: Request<proto::ListAuditEventsRequest>,
    ) -> Result<Response<proto::ListAuditEventsResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let limit = page_size(body.page_size, 500, "page_size")?;
            let account_id = match &body.account {
                Some(selector) => {
                    let lookup = account_lookup(Some(selector), "account")?;
                    let account = self.state.account(lookup).await?;
                    Some(account.id)
                }
                None => None,
            };
            let institution = Some(body.institution.trim()).filter(|i| !i.is_empty());
            if institution.is_none() && account_id.is_none() {
                return Err(ApiError::field(
                    "institution",
                    "name an institution or an account",
                ));
            }
            let before = match body.page_token.as_str() {
                "" => None,
                token => Some(parse_audit_token(token)?),
            };
            let events = self
                .state
                .store
                .list_audit_events(AuditQuery {
                    institution,
                    account_id: account_id.as_deref(),
                    before,
                    limit,
                })
                .await?;
            let next_page_token = if events.len() as u64 == limit {
                events
                    .last()
                    .map(|e| format!("{}~{}", e.occurred_at.timestamp_micros(), e.id))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            Ok::<_, ApiError>(proto::ListAuditEventsResponse {
                events: events.iter().map(encode::audit_event).collect(),
                next_page_token,
            })
        }
        .await;
        reply(result, &ctx.request_id)
    }
}

fn parse_audit_token(token: &str) -> Result<(DateTime<Utc>, String), ApiError> {
    let bad = || ApiError::field("page_token", "not a page token of this listing");
    let (micros, id) = token.split_once('~').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_micros)
        .ok_or_else(bad)?;
    uuid::Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((at, id.to_owned()))
}
