//! AccountLifecycleService: provisioning, lookups, end of activity,
//! extensions, locks, the expiry batch, the change feed and the audit
//! trail (`app::lifecycle`, `app::batch`), decoded and encoded.

mod encode;
mod streams;

pub use encode::directory_attributes;

use crate::domain::problem::Problem;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use super::{App, account_lookup, begin_call, encode_account, reply};
use crate::app::batch::{self, BatchRequest};
use crate::app::lifecycle::{Departure, ExtensionVerdict, Page, PageToken, parse_cursor};
use crate::app::{AppError, CallContext};
use crate::domain::duplicates::HeldResolution;
use crate::domain::provisioning::ProvisionInput;
use crate::proto;
use crate::proto::account_lifecycle_service_server::AccountLifecycleService;
use crate::store::lifecycle::ExtensionState;
use streams::{BULK_CHUNK, BulkStream, WATCH_PAGE, WatchStream};

pub struct LifecycleApi {
    state: App,
    /// How long a bulk stream may stay idle (`server.request_timeout`).
    stream_idle: std::time::Duration,
}

impl LifecycleApi {
    pub fn new(state: App, stream_idle: std::time::Duration) -> Self {
        Self { state, stream_idle }
    }

    fn account(
        &self,
        account: &crate::domain::account::Account,
        ctx: &CallContext,
    ) -> Option<proto::Account> {
        Some(encode_account(
            &self.state,
            account,
            (self.state.now(), ctx),
        ))
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

fn extension_state(state: i32) -> Result<ExtensionState, AppError> {
    match proto::ExtensionState::try_from(state) {
        Ok(proto::ExtensionState::Unspecified | proto::ExtensionState::Pending) => {
            Ok(ExtensionState::Pending)
        }
        Ok(proto::ExtensionState::Approved) => Ok(ExtensionState::Approved),
        Ok(proto::ExtensionState::Denied) => Ok(ExtensionState::Denied),
        Err(_) => Err(AppError::field("state", Problem::UnknownValue)),
    }
}

fn token(next: Option<PageToken>) -> String {
    next.map(|t| t.0).unwrap_or_default()
}

/// The batch's `as_of`: now unless the caller names an instant.
fn as_of(
    t: Option<&prost_types::Timestamp>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, AppError> {
    match t {
        None => Ok(now),
        Some(t) => u32::try_from(t.nanos)
            .ok()
            .and_then(|nanos| DateTime::<Utc>::from_timestamp(t.seconds, nanos))
            .ok_or_else(|| AppError::field("as_of", Problem::NotATimestamp)),
    }
}

/// What a `RunExpiryBatch` call asks for.
fn batch_request(
    body: &proto::RunExpiryBatchRequest,
    state: &App,
) -> Result<BatchRequest, AppError> {
    let now = state.now();
    let as_of = as_of(body.as_of.as_ref(), now)?;
    let chunk_size = match body.chunk_size {
        0 => state.rules.batch.chunk_size,
        n if n <= 10_000 => n,
        _ => {
            return Err(AppError::field(
                "chunk_size",
                Problem::AboveMaximum { max: 10_000 },
            ));
        }
    };
    let institution = Some(body.institution.trim())
        .filter(|i| !i.is_empty())
        .map(str::to_owned);
    Ok(BatchRequest {
        as_of,
        started_at: now,
        dry_run: body.dry_run,
        institution,
        chunk_size,
        max_chunks: Some(body.max_chunks).filter(|n| *n > 0),
    })
}

#[tonic::async_trait]
impl AccountLifecycleService for LifecycleApi {
    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn provision_account(
        &self,
        request: Request<proto::ProvisionAccountRequest>,
    ) -> Result<Response<proto::ProvisionAccountResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.into_inner();
        let record = body.record.map(input);
        let result = async {
            let mut provisioned = self.state.provision_account(record, &ctx).await?;
            let reissued = body.reissue_pending_material
                && self.state.reissue_on_replay(&mut provisioned, &ctx).await?;
            let now = self.state.now();
            let mut answer = encode::provisioned(&self.state, &provisioned, (now, &ctx));
            answer.material_reissued = reissued;
            Ok(answer)
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
        let (tx, rx) = mpsc::channel(BULK_CHUNK * 2);
        // The stream outlives the call's deadline, which only covers the
        // answer's start: a caller that stops sending without closing is
        // cut off after the same time, so it cannot hold a task forever.
        let task = streams::bulk(
            self.state.clone(),
            ctx.clone(),
            request.into_inner(),
            tx,
            self.stream_idle,
        );
        tokio::spawn(task.instrument(tracing::Span::current()));
        let stream: BulkStream = Box::pin(ReceiverStream::new(rx));
        reply(Ok(stream), &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn get_account(
        &self,
        request: Request<proto::GetAccountRequest>,
    ) -> Result<Response<proto::GetAccountResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let lookup = account_lookup(request.get_ref().account.as_ref(), "account")?;
            let account = self.state.account(lookup).await?;
            Ok(proto::GetAccountResponse {
                account: self.account(&account, &ctx),
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
        let result = async {
            let lookup = account_lookup(request.get_ref().account.as_ref(), "account")?;
            let (account, material) = self.state.reissue_activation_material(lookup, &ctx).await?;
            Ok(proto::ReissueActivationMaterialResponse {
                account: self.account(&account, &ctx),
                activation_material: Some(super::encode::material(&material)),
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
        let result = async {
            let body = request.get_ref();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let departure = Departure {
                end_date: &body.end_date,
                reason: &body.reason,
            };
            let account = self
                .state
                .record_end_of_activity(lookup, departure, &ctx)
                .await?;
            Ok(proto::RecordEndOfActivityResponse {
                account: self.account(&account, &ctx),
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
        let result = async {
            let body = request.get_ref();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let (row, account) = self
                .state
                .request_extension(lookup, &body.reason, &ctx)
                .await?;
            Ok(proto::RequestExtensionResponse {
                request: Some(encode::extension(&row, &account.login)),
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
            let state = extension_state(body.state)?;
            let page = Page {
                size: body.page_size,
                token: &body.page_token,
            };
            let (rows, next) = self
                .state
                .list_extension_requests(&body.institution, state, page)
                .await?;
            Ok(proto::ListExtensionRequestsResponse {
                requests: rows
                    .iter()
                    .map(|(r, a)| encode::extension(r, &a.login))
                    .collect(),
                next_page_token: token(next),
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
        let body = request.get_ref();
        let verdict = ExtensionVerdict {
            request_id: &body.request_id,
            approve: body.approve,
            comment: &body.comment,
        };
        let result = self
            .state
            .decide_extension_request(verdict, &ctx)
            .await
            .map(|(row, account)| proto::DecideExtensionRequestResponse {
                request: Some(encode::extension(&row, &account.login)),
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn set_account_lock(
        &self,
        request: Request<proto::SetAccountLockRequest>,
    ) -> Result<Response<proto::SetAccountLockResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let account = self
                .state
                .set_account_lock(lookup, body.locked, &body.reason, &ctx)
                .await?;
            Ok(proto::SetAccountLockResponse {
                account: self.account(&account, &ctx),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn open_activation(
        &self,
        request: Request<proto::OpenActivationRequest>,
    ) -> Result<Response<proto::OpenActivationResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let account = self
                .state
                .open_activation(lookup, &body.reason, &ctx)
                .await?;
            Ok(proto::OpenActivationResponse {
                account: self.account(&account, &ctx),
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
        let result = async {
            let asked = batch_request(request.get_ref(), &self.state)?;
            let report = batch::run(&self.state.store, &self.state.rules, &asked, &ctx).await?;
            Ok(encode::report(&report))
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
            let from_start = body.after_cursor.trim().is_empty();
            let task = streams::watch(
                self.state.clone(),
                (after, from_start),
                institution,
                tx,
                ctx.clone(),
            );
            tokio::spawn(task.instrument(tracing::Span::current()));
            let stream: WatchStream = Box::pin(ReceiverStream::new(rx));
            Ok(stream)
        })();
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn list_changes(
        &self,
        request: Request<proto::ListChangesRequest>,
    ) -> Result<Response<proto::ListChangesResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.get_ref();
        let result = self
            .state
            .list_changes(&body.after_cursor, body.page_size, &body.institution, &ctx)
            .await
            .map(|page| proto::ListChangesResponse {
                changes: page
                    .rows
                    .iter()
                    .map(|(change, account)| encode::change(&self.state, change, account, &ctx))
                    .collect(),
                next_cursor: page.next.to_string(),
                feed_cursor: page.position.to_string(),
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn list_ldap_entries(
        &self,
        request: Request<proto::ListLdapEntriesRequest>,
    ) -> Result<Response<proto::ListLdapEntriesResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.get_ref();
        let now = self.state.now();
        let page = Page {
            size: body.page_size,
            token: &body.page_token,
        };
        let result = self
            .state
            .list_ldap_entries(&body.institution, page)
            .await
            .map(|p| proto::ListLdapEntriesResponse {
                entries: p
                    .accounts
                    .iter()
                    .map(|a| encode::ldap_entry(&self.state, a, (now, &ctx)))
                    .collect(),
                next_page_token: p.next.unwrap_or_default(),
                feed_cursor: p.feed_cursor.to_string(),
            });
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
            let account = match &body.account {
                Some(selector) => Some(account_lookup(Some(selector), "account")?),
                None => None,
            };
            let page = Page {
                size: body.page_size,
                token: &body.page_token,
            };
            let (events, next) = self
                .state
                .list_audit_events(&body.institution, account, page)
                .await?;
            Ok(proto::ListAuditEventsResponse {
                events: events.iter().map(super::encode::audit_event).collect(),
                next_page_token: token(next),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn list_held_records(
        &self,
        request: Request<proto::ListHeldRecordsRequest>,
    ) -> Result<Response<proto::ListHeldRecordsResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let page = Page {
                size: body.page_size,
                token: &body.page_token,
            };
            let (rows, next) = self
                .state
                .list_held_records(&body.institution, page)
                .await?;
            let now = self.state.now();
            Ok(proto::ListHeldRecordsResponse {
                records: rows
                    .iter()
                    .map(|(row, candidate)| {
                        let candidate = encode_account(&self.state, candidate, (now, &ctx));
                        encode::held_record(row, candidate)
                    })
                    .collect(),
                next_page_token: token(next),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn resolve_held_record(
        &self,
        request: Request<proto::ResolveHeldRecordRequest>,
    ) -> Result<Response<proto::ResolveHeldRecordResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.get_ref();
        let decision = match body.resolution() {
            proto::HeldRecordResolution::Merge => Some(HeldResolution::Merge),
            proto::HeldRecordResolution::Create => Some(HeldResolution::Create),
            proto::HeldRecordResolution::Unspecified => None,
        };
        let result = async {
            let provisioned = self
                .state
                .resolve_held_record(&body.held_record_id, decision, &ctx)
                .await?;
            let now = self.state.now();
            Ok(proto::ResolveHeldRecordResponse {
                result: Some(encode::provisioned(&self.state, &provisioned, (now, &ctx))),
            })
        }
        .await;
        reply(result, &ctx)
    }
}
