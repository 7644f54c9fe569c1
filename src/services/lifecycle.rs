//! AccountLifecycleService: provisioning, lookups, end of activity,
//! extensions, locks, the expiry batch, the change feed and the audit trail.

use std::pin::Pin;

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tonic_types::StatusExt;
use tracing::Instrument;

use super::encode_account;
use super::status;
use super::{App, CallContext, account_lookup, begin_call, encode, reply};
use crate::app::AppError;
use crate::domain::provisioning::{ProvisionInput, parse_record, profile_of};
use crate::domain::refusal::Precondition;
use crate::proto;
use crate::proto::account_lifecycle_service_server::AccountLifecycleService;
use chrono::NaiveDate;
use serde_json::json;

use crate::app::batch::{self, BatchReport, BatchRequest};
use crate::app::texts::mail as mail_texts;
use crate::config::InstitutionSettings;
use crate::domain::account::AccountStatus;
use crate::domain::ids::parse_date;
use crate::domain::language::Language;
use crate::domain::retention::{
    AccountFacts, ExtensionApproval, extended_end, first_notice_on, retention_end,
    state_after_departure,
};
use crate::domain::self_service::DirectoryEntry;
use crate::domain::supann::{self, ChangeKind, LdapSource};
use crate::store::account_fields::AccountChange;
use crate::store::accounts::{AccountLookup, notice_recipient};
use crate::store::activation::Purpose;
use crate::store::entities::{account, account_change, extension_request};
use crate::store::feed::AuditQuery;
use crate::store::lifecycle::{
    ExtensionDecision, ExtensionError, ExtensionQuery, ExtensionState, NewExtension,
};
use crate::store::outbox::{Channel, NewMessage};
use crate::store::provisioning::{ProvisionItem, Provisioned};
use crate::store::self_service::AccountWrite;

/// Records provisioned per transaction by the bulk call.
const BULK_CHUNK: usize = 500;
const DEFAULT_PAGE: u32 = 100;

pub struct LifecycleApi {
    state: App,
    /// How long a bulk stream may stay idle (`server.request_timeout`).
    stream_idle: std::time::Duration,
}

impl LifecycleApi {
    pub fn new(state: App, stream_idle: std::time::Duration) -> Self {
        Self { state, stream_idle }
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
    state: &App,
    record: Option<proto::ProvisionRecord>,
    now: DateTime<Utc>,
) -> Result<ProvisionItem, AppError> {
    let record = record.ok_or_else(|| AppError::field("record", "a record is needed"))?;
    let record = parse_record(&input(record), &state.rules.institutions, now, "record")
        .map_err(AppError::InvalidArgument)?;
    let (institution, profile) = profile_of(&state.rules.institutions, &record)
        .ok_or_else(|| AppError::inconsistent("parsed record has no profile"))?;
    Ok(ProvisionItem {
        profile: profile.clone(),
        record,
        // The enrolment system sends no language: French, the institutions'.
        link_mail: Some(mail_texts::activation_link_mail(
            institution,
            Language::French,
        )),
    })
}

fn provisioned(
    state: &App,
    p: &Provisioned,
    now: DateTime<Utc>,
) -> proto::ProvisionAccountResponse {
    proto::ProvisionAccountResponse {
        outcome: encode::outcome(p.outcome) as i32,
        account: Some(encode_account(state, &p.account, now)),
        activation_material: p.material.as_ref().map(encode::material),
    }
}

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

fn page_size(requested: u32, max: u32, field: &str) -> Result<u64, AppError> {
    match requested {
        0 => Ok(u64::from(DEFAULT_PAGE)),
        n if n <= max => Ok(u64::from(n)),
        _ => Err(AppError::field(field, format!("at most {max}"))),
    }
}

type BulkStream =
    Pin<Box<dyn Stream<Item = Result<proto::BulkProvisionAccountsResponse, Status>> + Send>>;

/// Provisions one chunk of a bulk stream and sends its results in order.
async fn provision_chunk(
    state: &App,
    ctx: &CallContext,
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
            Err(e) => slots.push(Some(Outcome::Error(record_error(e, ctx)))),
        }
    }
    if !items.is_empty() {
        match state.store.provision(&items, now, ctx).await {
            Ok(results) => {
                for (slot, result) in item_slots.into_iter().zip(results) {
                    slots[slot] = Some(match result {
                        Ok(p) => Outcome::Provisioned(provisioned(state, &p, now)),
                        Err(e) => Outcome::Error(record_error(e.into(), ctx)),
                    });
                }
            }
            Err(e) => {
                let status = status::into_status(AppError::from(e), &ctx.request_id, ctx.language);
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
    #[tracing::instrument(skip_all, fields(request_id, client))]
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
                .ok_or_else(|| AppError::inconsistent("provisioning returned no result"))?;
            Ok::<_, AppError>(provisioned(&self.state, &result?, now))
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn bulk_provision_accounts(
        &self,
        request: Request<Streaming<proto::BulkProvisionAccountsRequest>>,
    ) -> Result<Response<BulkStream>, Status> {
        let ctx = begin_call(&request);
        let mut inbound = request.into_inner().ready_chunks(BULK_CHUNK);
        let state = self.state.clone();
        let (tx, rx) = mpsc::channel(BULK_CHUNK * 2);
        let call = ctx.clone();
        // The stream outlives the call's deadline, which only covers the
        // answer's start: a caller that stops sending without closing is
        // cut off after the same time, so it cannot hold a task forever.
        let idle = self.stream_idle;
        let task = async move {
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
                    let _ = tx.send(Err(status)).await;
                    return;
                }
            }
        };
        tokio::spawn(task.instrument(tracing::Span::current()));
        let stream: BulkStream = Box::pin(ReceiverStream::new(rx));
        reply(Ok(stream), &call)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
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
            Ok::<_, AppError>(proto::GetAccountResponse {
                account: Some(encode_account(&self.state, &account, now)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
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
            Ok::<_, AppError>(proto::ReissueActivationMaterialResponse {
                account: Some(encode_account(&self.state, &account, now)),
                activation_material: Some(encode::material(&material)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn record_end_of_activity(
        &self,
        request: Request<proto::RecordEndOfActivityRequest>,
    ) -> Result<Response<proto::RecordEndOfActivityResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.get_ref();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let last_day =
                parse_date(&body.end_date).map_err(|e| AppError::field("end_date", e.0))?;
            let reason = bounded_text(&body.reason, "reason", 500)?;
            let account = self.state.account(lookup).await?;
            let profile = self.state.profile_of(&account)?;
            let institution = self.state.institution_of(&account)?;
            let facts = life_facts(&account)?;
            let today = now.with_timezone(&institution.time_zone).date_naive();
            let next = state_after_departure(
                facts.lifecycle,
                account.activated_at.is_some(),
                last_day,
                today,
            )
            .map_err(|_| expired_precondition())?;
            let retention_end = retention_end(
                profile.retention.rule(),
                last_day,
                institution.lifecycle.academic_year_start,
            );
            if account.end_of_activity_date == Some(last_day)
                && account.retention_end_date == Some(retention_end)
                && next == facts.lifecycle
            {
                // The same report again: nothing changes.
                return Ok(proto::RecordEndOfActivityResponse {
                    account: Some(encode_account(&self.state, &account, now)),
                });
            }
            let mut changes = vec![
                AccountChange::EndOfActivity(last_day),
                AccountChange::RetentionEnd {
                    end: retention_end,
                    first_notice_on: first_notice_on(
                        retention_end,
                        &institution.lifecycle.expiry_notice_days,
                    ),
                },
            ];
            let kind = if next == facts.lifecycle {
                ChangeKind::Updated
            } else {
                changes.push(AccountChange::LifeState {
                    next,
                    locked: facts.locked,
                    at: now,
                });
                if next == AccountStatus::Grace {
                    ChangeKind::Limited
                } else {
                    ChangeKind::Restored
                }
            };
            let account = self
                .state
                .store
                .write_account(
                    AccountWrite {
                        account: &account,
                        changes,
                        spend: Vec::new(),
                        revoke: Vec::new(),
                        secrets: Vec::new(),
                        messages: Vec::new(),
                        audit: (
                            "account.end_of_activity",
                            json!({
                                "end_of_activity_date": last_day.to_string(),
                                "retention_end_date": retention_end.to_string(),
                                "status": next.as_str(),
                                "reason": reason,
                            }),
                        ),
                        feed: vec![kind],
                    },
                    &ctx,
                    now,
                )
                .await?;
            Ok::<_, AppError>(proto::RecordEndOfActivityResponse {
                account: Some(encode_account(&self.state, &account, now)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn request_extension(
        &self,
        request: Request<proto::RequestExtensionRequest>,
    ) -> Result<Response<proto::RequestExtensionResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let language = ctx.language;
        let result = async {
            let body = request.get_ref();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let reason = bounded_text(&body.reason, "reason", 1000)?;
            let account = self.state.account(lookup).await?;
            let profile = self.state.profile_of(&account)?;
            let institution = self.state.institution_of(&account)?;
            let Some(months) = profile.retention.extension_months else {
                return Err(AppError::FailedPrecondition {
                    kind: Precondition::NotRenewable,
                    subject: "account".into(),
                    message: "the retention of this profile cannot be extended".into(),
                });
            };
            let facts = life_facts(&account)?;
            if matches!(
                facts.lifecycle,
                AccountStatus::Expired | AccountStatus::DataDeleted
            ) {
                return Err(expired_precondition());
            }
            let Some(current_end) = account.retention_end_date else {
                return Err(AppError::FailedPrecondition {
                    kind: Precondition::NoDeparture,
                    subject: "account".into(),
                    message: "no end of activity is recorded for this account".into(),
                });
            };
            let today = now.with_timezone(&institution.time_zone).date_naive();
            let automatic = profile.retention.extension_approval == ExtensionApproval::Automatic;
            let new_end = extended_end(current_end, today, months);
            let grant = automatic.then(|| {
                self.extension_write(&account, institution, Some(new_end), "", language, now)
            });
            let row = self
                .state
                .store
                .request_extension(
                    NewExtension {
                        account: &account,
                        reason: reason.to_owned(),
                        grant,
                        new_end: Some(new_end),
                    },
                    &ctx,
                    now,
                )
                .await?;
            Ok::<_, AppError>(proto::RequestExtensionResponse {
                request: Some(encode_extension(&row, &account.login)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn list_extension_requests(
        &self,
        request: Request<proto::ListExtensionRequestsRequest>,
    ) -> Result<Response<proto::ListExtensionRequestsResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let institution = body.institution.trim();
            if self.state.rules.institution(institution).is_none() {
                return Err(AppError::field(
                    "institution",
                    "no such institution is configured",
                ));
            }
            let state = match proto::ExtensionState::try_from(body.state) {
                Ok(proto::ExtensionState::Unspecified | proto::ExtensionState::Pending) => {
                    ExtensionState::Pending
                }
                Ok(proto::ExtensionState::Approved) => ExtensionState::Approved,
                Ok(proto::ExtensionState::Denied) => ExtensionState::Denied,
                Err(_) => return Err(AppError::field("state", "not an extension state")),
            };
            let limit = page_size(body.page_size, 500, "page_size")?;
            let after = match body.page_token.as_str() {
                "" => None,
                token => Some(parse_page_token(token)?),
            };
            let rows = self
                .state
                .store
                .list_extension_requests(ExtensionQuery {
                    institution,
                    state,
                    after,
                    limit,
                })
                .await?;
            let next_page_token = if rows.len() as u64 == limit {
                rows.last()
                    .map(|(r, _)| page_token(r.requested_at, &r.id))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            Ok::<_, AppError>(proto::ListExtensionRequestsResponse {
                requests: rows
                    .iter()
                    .map(|(r, a)| encode_extension(r, &a.login))
                    .collect(),
                next_page_token,
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn decide_extension_request(
        &self,
        request: Request<proto::DecideExtensionRequestRequest>,
    ) -> Result<Response<proto::DecideExtensionRequestResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let language = ctx.language;
        let result = async {
            let body = request.get_ref();
            let id = body.request_id.trim();
            if uuid::Uuid::parse_str(id).is_err() {
                return Err(AppError::field("request_id", "a request id is a UUID"));
            }
            let comment = bounded_text(&body.comment, "comment", 1000)?;
            let pending = self
                .state
                .store
                .extension_request(id)
                .await?
                .ok_or_else(|| AppError::NotFound("no such extension request".into()))?;
            if ExtensionState::parse(&pending.state) != Some(ExtensionState::Pending) {
                return Err(ExtensionError::AlreadyDecided.into());
            }
            let account = self
                .state
                .account(AccountLookup::Id(&pending.account_id))
                .await?;
            let profile = self.state.profile_of(&account)?;
            let institution = self.state.institution_of(&account)?;
            let facts = life_facts(&account)?;
            if body.approve && facts.lifecycle == AccountStatus::DataDeleted {
                return Err(expired_precondition());
            }
            let today = now.with_timezone(&institution.time_zone).date_naive();
            let new_end = match (body.approve, profile.retention.extension_months) {
                (false, _) => None,
                (true, Some(months)) => Some(extended_end(
                    account.retention_end_date.unwrap_or(today),
                    today,
                    months,
                )),
                (true, None) => {
                    return Err(AppError::FailedPrecondition {
                        kind: Precondition::NotRenewable,
                        subject: "request_id".into(),
                        message: "the account's profile can no longer be extended".into(),
                    });
                }
            };
            let write =
                self.extension_write(&account, institution, new_end, comment, language, now);
            let row = self
                .state
                .store
                .decide_extension(
                    ExtensionDecision {
                        request: &pending,
                        approve: body.approve,
                        decided_by: ctx.actor.clone(),
                        comment: comment.to_owned(),
                        new_end,
                        write,
                    },
                    &ctx,
                    now,
                )
                .await?;
            Ok::<_, AppError>(proto::DecideExtensionRequestResponse {
                request: Some(encode_extension(&row, &account.login)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn set_account_lock(
        &self,
        request: Request<proto::SetAccountLockRequest>,
    ) -> Result<Response<proto::SetAccountLockResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.get_ref();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let reason = bounded_text(&body.reason, "reason", 500)?;
            let account = self.state.account(lookup).await?;
            let status = AccountStatus::parse(&account.status)
                .ok_or_else(|| {
                    AppError::inconsistent(format!("stored status {:?}", account.status))
                })?
                .as_of(account.activation_available_at, now);
            if status == AccountStatus::DataDeleted {
                return Err(expired_precondition());
            }
            let locked = status == AccountStatus::Locked;
            if locked == body.locked {
                // Already as asked.
                return Ok(proto::SetAccountLockResponse {
                    account: Some(encode_account(&self.state, &account, now)),
                });
            }
            let (changes, action, kind, revoke) = if body.locked {
                (
                    vec![AccountChange::Lock {
                        was: status,
                        at: now,
                    }],
                    "account.locked",
                    ChangeKind::Locked,
                    // A locked account cannot be recovered by mail either.
                    vec![Purpose::PasswordReset, Purpose::ReactivationKey],
                )
            } else {
                let back = account
                    .status_before_lock
                    .as_deref()
                    .and_then(AccountStatus::parse)
                    .unwrap_or(AccountStatus::Active);
                (
                    vec![AccountChange::Unlock { back, at: now }],
                    "account.unlocked",
                    ChangeKind::Unlocked,
                    Vec::new(),
                )
            };
            let account = self
                .state
                .store
                .write_account(
                    AccountWrite {
                        account: &account,
                        changes,
                        spend: Vec::new(),
                        revoke,
                        secrets: Vec::new(),
                        messages: Vec::new(),
                        audit: (action, json!({ "reason": reason })),
                        feed: vec![kind],
                    },
                    &ctx,
                    now,
                )
                .await?;
            Ok::<_, AppError>(proto::SetAccountLockResponse {
                account: Some(encode_account(&self.state, &account, now)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn run_expiry_batch(
        &self,
        request: Request<proto::RunExpiryBatchRequest>,
    ) -> Result<Response<proto::RunExpiryBatchResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.get_ref();
            let as_of = match &body.as_of {
                None => now,
                Some(t) => u32::try_from(t.nanos)
                    .ok()
                    .and_then(|nanos| DateTime::<Utc>::from_timestamp(t.seconds, nanos))
                    .ok_or_else(|| AppError::field("as_of", "not a valid timestamp"))?,
            };
            let chunk_size = match body.chunk_size {
                0 => self.state.rules.batch.chunk_size,
                n if n <= 10_000 => n,
                _ => return Err(AppError::field("chunk_size", "at most 10000")),
            };
            let institution = Some(body.institution.trim())
                .filter(|i| !i.is_empty())
                .map(str::to_owned);
            let report = batch::run(
                &self.state.store,
                &self.state.rules,
                &BatchRequest {
                    as_of,
                    dry_run: body.dry_run,
                    institution,
                    chunk_size,
                    max_chunks: Some(body.max_chunks).filter(|n| *n > 0),
                },
                &ctx,
            )
            .await?;
            Ok::<_, AppError>(encode_report(&report))
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn watch_changes(
        &self,
        request: Request<proto::WatchChangesRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let ctx = begin_call(&request);
        let result = (|| {
            let body = request.get_ref();
            let after = parse_cursor(&body.after_cursor)?;
            let institution = Some(body.institution.trim().to_owned()).filter(|i| !i.is_empty());
            let (tx, rx) = mpsc::channel(WATCH_PAGE as usize);
            let state = self.state.clone();
            tokio::spawn(
                watch(state, after, institution, tx, ctx.clone())
                    .instrument(tracing::Span::current()),
            );
            let stream: WatchStream = Box::pin(ReceiverStream::new(rx));
            Ok::<_, AppError>(stream)
        })();
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn list_changes(
        &self,
        request: Request<proto::ListChangesRequest>,
    ) -> Result<Response<proto::ListChangesResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.get_ref();
            let after = parse_cursor(&body.after_cursor)?;
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
                .map(|(change, account)| encode_change(&self.state, change, account, now))
                .collect();
            Ok::<_, AppError>(proto::ListChangesResponse {
                changes,
                next_cursor,
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
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
                return Err(AppError::field(
                    "institution",
                    "name an institution or an account",
                ));
            }
            let before = match body.page_token.as_str() {
                "" => None,
                token => Some(parse_page_token(token)?),
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
                    .map(|e| page_token(e.occurred_at, &e.id))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            Ok::<_, AppError>(proto::ListAuditEventsResponse {
                events: events.iter().map(encode::audit_event).collect(),
                next_page_token,
            })
        }
        .await;
        reply(result, &ctx)
    }
}

/// One entry of the change feed: the account as it is now, and the
/// LDAP attributes the change touches.
pub fn encode_change(
    state: &App,
    change: &account_change::Model,
    account: &account::Model,
    now: DateTime<Utc>,
) -> proto::AccountChange {
    let encoded = encode_account(state, account, now);
    let kind = ChangeKind::parse(&change.kind);
    let hash = account
        .password_hash
        .as_deref()
        .filter(|h| supann::ldap_verifiable(h))
        .unwrap_or_default();
    let entry: Option<DirectoryEntry> = account
        .directory_entry
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok());
    let redirect = encoded.mail_redirect.as_ref();
    let source = LdapSource {
        login: &encoded.login,
        institutional_mail: &encoded.institutional_mail,
        given_name: &encoded.given_name,
        family_name: &encoded.family_name,
        student_number: &encoded.student_number,
        ine: &encoded.ine,
        hr_id: &encoded.hr_id,
        mobile_phone: &encoded.mobile_phone,
        ressource_etat_date: &encoded.supann_ressource_etat_date,
        recovery_mail: &encoded.recovery_mail,
        directory_listed: encoded.consents.as_ref().and_then(|c| c.directory_listed),
        forwarding_address: redirect
            .filter(|r| r.enabled && r.verified)
            .map(|r| r.address.as_str())
            .unwrap_or_default(),
        keep_copy: redirect.is_some_and(|r| r.keep_copy),
        password_hash: hash,
        directory_entry: entry.as_ref(),
    };
    let ldap_attributes = kind
        .map(|k| supann::attributes(k, &source))
        .unwrap_or_default()
        .into_iter()
        .map(|(name, values)| proto::LdapAttribute {
            name: name.to_owned(),
            values,
        })
        .collect();
    let carries_password = matches!(
        kind,
        Some(ChangeKind::PasswordChanged | ChangeKind::Activated)
    );
    proto::AccountChange {
        cursor: change.seq.to_string(),
        occurred_at: Some(encode::timestamp(change.occurred_at)),
        kind: encode::change_kind(&change.kind) as i32,
        password_hash: if carries_password {
            hash.to_owned()
        } else {
            String::new()
        },
        ldap_attributes,
        account: Some(encoded),
    }
}

/// A page token: the sort key `(instant, id)` of the last row of a page.
fn page_token(at: DateTime<Utc>, id: &str) -> String {
    format!("{}~{}", at.timestamp_micros(), id)
}

fn parse_page_token(token: &str) -> Result<(DateTime<Utc>, String), AppError> {
    let bad = || AppError::field("page_token", "not a page token of this listing");
    let (micros, id) = token.split_once('~').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_micros)
        .ok_or_else(bad)?;
    uuid::Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((at, id.to_owned()))
}

/// Changes read per query by a watch.
const WATCH_PAGE: u64 = 256;

type WatchStream = Pin<Box<dyn Stream<Item = Result<proto::WatchChangesResponse, Status>> + Send>>;

/// Sends every change after `after`, then polls for new ones until the
/// caller goes away.
async fn watch(
    state: App,
    mut after: i64,
    institution: Option<String>,
    tx: mpsc::Sender<Result<proto::WatchChangesResponse, Status>>,
    ctx: CallContext,
) {
    let poll = state.rules.feed.poll_interval;
    loop {
        let rows = match state
            .store
            .list_changes(after, WATCH_PAGE, institution.as_deref())
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                let _ = tx
                    .send(Err(status::into_status(
                        AppError::from(e),
                        &ctx.request_id,
                        ctx.language,
                    )))
                    .await;
                return;
            }
        };
        let now = state.now();
        let full = rows.len() as u64 == WATCH_PAGE;
        for (change, account) in &rows {
            after = change.seq;
            let message = proto::WatchChangesResponse {
                change: Some(encode_change(&state, change, account, now)),
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

fn parse_cursor(text: &str) -> Result<i64, AppError> {
    match text.trim() {
        "" => Ok(0),
        text => text
            .parse()
            .ok()
            .filter(|n: &i64| *n >= 0)
            .ok_or_else(|| AppError::field("after_cursor", "not a cursor of this feed")),
    }
}

/// A free text of at most `max` characters.
fn bounded_text<'a>(text: &'a str, field: &str, max: usize) -> Result<&'a str, AppError> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(AppError::field(field, format!("at most {max} characters")));
    }
    Ok(text)
}

fn expired_precondition() -> AppError {
    AppError::FailedPrecondition {
        kind: Precondition::AccountExpired,
        subject: "account".into(),
        message: "the account's retention is over (re-enrolment or re-hiring brings it back)"
            .into(),
    }
}

/// The account's life state and lock, for the retention rules.
fn life_facts(account: &account::Model) -> Result<AccountFacts, AppError> {
    batch::facts(account)
        .ok_or_else(|| AppError::inconsistent(format!("stored status {:?}", account.status)))
}

impl LifecycleApi {
    /// The account write of an extension decision: with `new_end`, the
    /// retention moves (an expired, not yet purged account gets its limited
    /// access back); either way the person is told.
    fn extension_write<'a>(
        &self,
        account: &'a account::Model,
        institution: &InstitutionSettings,
        new_end: Option<NaiveDate>,
        comment: &str,
        language: Language,
        now: DateTime<Utc>,
    ) -> AccountWrite<'a> {
        let mut changes = Vec::new();
        let mut feed = Vec::new();
        if let Some(end) = new_end {
            changes.push(AccountChange::RetentionEnd {
                end,
                first_notice_on: first_notice_on(end, &institution.lifecycle.expiry_notice_days),
            });
            if let Some(facts) = batch::facts(account)
                && facts.lifecycle == AccountStatus::Expired
            {
                changes.push(AccountChange::LifeState {
                    next: AccountStatus::Grace,
                    locked: facts.locked,
                    at: now,
                });
                changes.push(AccountChange::NotExpired);
            }
            feed.push(ChangeKind::Extended);
        }
        let messages = notice_recipient(account)
            .map(|recipient| NewMessage {
                account_id: Some(account.id.clone()),
                channel: Channel::Mail,
                recipient,
                template: "extension_decided".into(),
                content: mail_texts::extension_decided(
                    &institution.name,
                    &account.login,
                    new_end,
                    comment,
                    language,
                ),
                not_before: now,
            })
            .into_iter()
            .collect();
        AccountWrite {
            account,
            changes,
            spend: Vec::new(),
            revoke: Vec::new(),
            secrets: Vec::new(),
            messages,
            audit: (
                if new_end.is_some() {
                    "extension.granted"
                } else {
                    "extension.denied"
                },
                json!({
                    "new_retention_end_date": new_end.map(|d| d.to_string()),
                    "comment": comment,
                }),
            ),
            feed,
        }
    }
}

fn encode_extension(r: &extension_request::Model, login: &str) -> proto::ExtensionRequest {
    let state = match ExtensionState::parse(&r.state) {
        Some(ExtensionState::Pending) => proto::ExtensionState::Pending,
        Some(ExtensionState::Approved) => proto::ExtensionState::Approved,
        Some(ExtensionState::Denied) => proto::ExtensionState::Denied,
        None => proto::ExtensionState::Unspecified,
    };
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    proto::ExtensionRequest {
        request_id: r.id.clone(),
        account_id: r.account_id.clone(),
        login: login.to_owned(),
        state: state as i32,
        reason: r.reason.clone(),
        requested_at: Some(encode::timestamp(r.requested_at)),
        decided_at: r.decided_at.map(encode::timestamp),
        decided_by: r.decided_by.clone().unwrap_or_default(),
        decision_comment: r.decision_comment.clone().unwrap_or_default(),
        previous_retention_end_date: date(r.previous_retention_end_date),
        new_retention_end_date: date(r.new_retention_end_date),
    }
}

fn encode_report(r: &BatchReport) -> proto::RunExpiryBatchResponse {
    proto::RunExpiryBatchResponse {
        notices_sent: r.counts.notices_sent,
        accounts_expired: r.counts.accounts_expired,
        password_reminders_sent: r.counts.password_reminders_sent,
        passwords_expired: r.counts.passwords_expired,
        accounts_purged: r.counts.accounts_purged,
        planned_actions: r
            .planned
            .iter()
            .map(|p| proto::ExpiryAction {
                account_id: p.account_id.clone(),
                login: p.login.clone(),
                action: p.step.action().to_owned(),
                detail: p.detail.clone(),
            })
            .collect(),
        activations_opened: r.counts.activations_opened,
        accounts_limited: r.counts.accounts_limited,
        complete: r.complete,
        chunks: r.chunks,
    }
}
