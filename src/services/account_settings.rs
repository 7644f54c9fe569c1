//! AccountSettingsService: what an active user changes from the portal's
//! account page (Montpellier's "Gestion de compte"): password, recovery
//! address, consents, and for staff their directory entry and antispam
//! level. The rules are in `domain::self_service`.

use std::sync::Arc;

use std::collections::BTreeSet;

use serde_json::json;
use tonic::{Request, Response, Status};

use super::encode_account;
use super::{App, account_lookup, begin_call, encode, reply};
use crate::app::AppError;
use crate::app::passwords::{PasswordChange, read_password};
use crate::app::texts::mail::{self as mail_texts, Verifying};
use crate::app::{account_not_usable as not_usable, password_usable};
use crate::domain::account::AccountKind;
use crate::domain::activation::{PhotoDecision, Step, mask_mail};
use crate::domain::password::{Password, must_change};
use crate::domain::refusal::Precondition;
use crate::domain::self_service::{
    AntispamLevel, ConsentChange, ConsentError, DirectoryEntry, change_consents,
    edit_directory_entry,
};
use crate::proto;
use crate::proto::account_settings_service_server::AccountSettingsService;
use crate::store::account_fields::{self, AccountChange};
use crate::store::activation::Purpose;
use crate::store::entities::account;
use crate::store::feed::ChangeKind;
use crate::store::outbox::{Channel, NewMessage};
use crate::store::self_service::AccountWrite;

pub struct AccountSettingsApi {
    state: App,
}

impl AccountSettingsApi {
    pub fn new(state: App) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl AccountSettingsService for AccountSettingsApi {
    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn change_password(
        &self,
        request: Request<proto::ChangePasswordRequest>,
    ) -> Result<Response<proto::ChangePasswordResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let current = Arc::new(read_password(
                body.current_password,
                "current_password",
                true,
            )?);
            let new_input = body
                .new_password
                .ok_or_else(|| AppError::field("new_password", "the new password is needed"))?;
            let new = Arc::new(read_password(
                new_input.password,
                "new_password.password",
                true,
            )?);
            let confirmation = Password::new(new_input.confirmation);
            let mut account = self.state.account(lookup).await?;
            if !password_usable(&account) || account.password_hash.is_none() {
                return Err(not_usable());
            }
            let verified = self
                .state
                .verify_typed_password(&mut account, &current, &ctx, now)
                .await?;
            if !verified {
                return Err(AppError::field(
                    "current_password",
                    crate::app::texts::wrong_current_password(language),
                ));
            }
            let account = self
                .state
                .set_new_password(
                    PasswordChange {
                        account: &account,
                        new,
                        confirmation: &confirmation,
                        field: "new_password.password",
                        action: "password.changed",
                        spend: None,
                    },
                    language,
                    &ctx,
                    now,
                )
                .await?;
            Ok(proto::ChangePasswordResponse {
                account: Some(encode_account(&self.state, &account, now)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn verify_password(
        &self,
        request: Request<proto::VerifyPasswordRequest>,
    ) -> Result<Response<proto::VerifyPasswordResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let typed = Arc::new(read_password(body.password, "password", true)?);
            let mut account = self.state.account(lookup).await?;
            if !password_usable(&account) {
                return Err(not_usable());
            }
            let valid = self
                .state
                .verify_typed_password(&mut account, &typed, &ctx, now)
                .await?;
            Ok(proto::VerifyPasswordResponse {
                valid,
                must_change: valid
                    && must_change(
                        account.password_must_change,
                        account.password_expires_at,
                        now,
                    ),
                expires_at: account
                    .password_expires_at
                    .filter(|_| valid)
                    .map(encode::timestamp),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn request_recovery_mail_change(
        &self,
        request: Request<proto::RequestRecoveryMailChangeRequest>,
    ) -> Result<Response<proto::RequestRecoveryMailChangeResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let input = body.new_recovery_mail.as_ref().ok_or_else(|| {
                AppError::field("new_recovery_mail", "the new address is needed, typed twice")
            })?;
            let address = super::inputs::mail_input(input, "new_recovery_mail")
                .map_err(|v| AppError::InvalidArgument(vec![v]))?;
            let account = self.state.account_in_use(lookup).await?;
            let same = |other: Option<&str>| {
                other.is_some_and(|o| o.eq_ignore_ascii_case(address.as_str()))
            };
            if same(account.institutional_mail.as_deref()) {
                return Err(AppError::field(
                    "new_recovery_mail.address",
                    "the recovery address must be outside the university: it is used when the university account cannot be",
                ));
            }
            if account.recovery_mail_verified_at.is_some() && same(account.recovery_mail.as_deref()) {
                return Err(AppError::field(
                    "new_recovery_mail.address",
                    "this is already your recovery address",
                ));
            }
            self.state
                .link_cooldown(&account, Purpose::RecoveryMailChange, now)
                .await?;
            let link = self.state.address_link(
                &account,
                Verifying::RecoveryMail,
                address.as_str(),
                language,
                now,
            )?;
            self.state
                .store
                .issue_account_secrets(
                    &account,
                    &[Purpose::RecoveryMailChange],
                    vec![link.secret],
                    vec![link.message],
                    Some(("recovery_mail.change_requested", json!({}), &ctx)),
                    now,
                )
                .await?;
            Ok(proto::RequestRecoveryMailChangeResponse {
                notice: Some(encode::notice(link.notice)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn confirm_recovery_mail_change(
        &self,
        request: Request<proto::ConfirmRecoveryMailChangeRequest>,
    ) -> Result<Response<proto::ConfirmRecoveryMailChangeResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let (secret, account) = self
                .state
                .account_link(&body.token, Purpose::RecoveryMailChange, now)
                .await?;
            let address = secret
                .target
                .clone()
                .ok_or_else(|| AppError::inconsistent("verification link without address"))?;
            // The former verified address is told it was replaced.
            let mut messages = Vec::new();
            if let (Some(old), Some(_)) =
                (&account.recovery_mail, account.recovery_mail_verified_at)
                && !old.eq_ignore_ascii_case(&address)
                && let Some(institution) = self.state.rules.institution(&account.institution)
            {
                messages.push(NewMessage {
                    account_id: Some(account.id.clone()),
                    channel: Channel::Mail,
                    recipient: old.clone(),
                    template: "recovery_mail_replaced".into(),
                    content: mail_texts::recovery_mail_replaced(
                        &institution.name,
                        &account.login,
                        &mask_mail(&address),
                        &institution.helpdesk_url,
                        language,
                    ),
                    not_before: now,
                });
            }
            let account = self
                .state
                .store
                .write_account(
                    AccountWrite {
                        account: &account,
                        changes: vec![AccountChange::RecoveryMail {
                            address: address.clone(),
                            verified_at: now,
                        }],
                        spend: vec![secret.id.clone()],
                        // A reset sent to the former address stops working.
                        revoke: vec![
                            Purpose::RecoveryMailChange,
                            Purpose::PasswordReset,
                            Purpose::ReactivationKey,
                        ],
                        secrets: Vec::new(),
                        messages,
                        audit: ("recovery_mail.changed", json!({})),
                        feed: vec![ChangeKind::RecoveryMailChanged],
                    },
                    &ctx,
                    now,
                )
                .await?;
            Ok(proto::ConfirmRecoveryMailChangeResponse {
                recovery_mail: account.recovery_mail.unwrap_or_default(),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn get_consents(
        &self,
        request: Request<proto::GetConsentsRequest>,
    ) -> Result<Response<proto::GetConsentsResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let account = self.state.account_in_use(lookup).await?;
            Ok(proto::GetConsentsResponse {
                consents: encode_account(&self.state, &account, now).consents,
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn update_consents(
        &self,
        request: Request<proto::UpdateConsentsRequest>,
    ) -> Result<Response<proto::UpdateConsentsResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let photo = match &body.photo {
                Some(p) => Some(
                    super::inputs::photo_choice(p, "photo").map_err(AppError::InvalidArgument)?,
                ),
                None => None,
            };
            let change = ConsentChange {
                directory_listed: body.directory_listed,
                photo,
                crous_sharing: body.crous_sharing,
            };
            if change == ConsentChange::default() {
                return Err(AppError::field("directory_listed", "change at least one consent"));
            }
            let account = self.state.account_in_use(lookup).await?;
            let offered: BTreeSet<Step> = self
                .state
                .profile_of(&account)?
                .activation
                .screens
                .iter()
                .flatten()
                .copied()
                .collect();
            let current = account_fields::consents(&account);
            let (next, effects) =
                change_consents(&current, change, &offered, now).map_err(consent_error)?;
            let notices = crate::app::texts::consent_notices(language, &effects);
            if effects.changed.is_empty() {
                return Ok(proto::UpdateConsentsResponse {
                    consents: encode_account(&self.state, &account, now).consents,
                    notices,
                });
            }
            let mut feed = vec![ChangeKind::ConsentsChanged];
            if effects.photo_deletion {
                feed.push(ChangeKind::PhotoDeletionRequested);
            }
            let account = self
                .state
                .store
                .write_account(
                    AccountWrite {
                        account: &account,
                        changes: vec![AccountChange::Consents(next.clone())],
                        spend: Vec::new(),
                        revoke: Vec::new(),
                        secrets: Vec::new(),
                        messages: Vec::new(),
                        audit: (
                            "consents.updated",
                            json!({
                                "changed": effects.changed.iter().map(|s| s.field()).collect::<Vec<_>>(),
                                "directory_listed": next.directory_listed.map(|d| d.0),
                                "photo_refused": matches!(next.photo, Some((PhotoDecision::Refuse, _))),
                                "photo_deletion_requested": effects.photo_deletion,
                                "crous_sharing": next.crous_sharing.map(|c| c.0),
                                "crous_revoked": effects.crous_revoked,
                            }),
                        ),
                        feed,
                    },
                    &ctx,
                    now,
                )
                .await?;
            Ok(proto::UpdateConsentsResponse {
                consents: encode_account(&self.state, &account, now).consents,
                notices,
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn get_directory_entry(
        &self,
        request: Request<proto::GetDirectoryEntryRequest>,
    ) -> Result<Response<proto::GetDirectoryEntryResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let account = self.staff_account(lookup).await?;
            Ok(proto::GetDirectoryEntryResponse {
                entry: Some(encode_entry(&account_fields::directory_entry(&account)?)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn update_directory_entry(
        &self,
        request: Request<proto::UpdateDirectoryEntryRequest>,
    ) -> Result<Response<proto::UpdateDirectoryEntryResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let typed = body
                .entry
                .ok_or_else(|| AppError::field("entry", "the entry is needed"))?;
            let account = self.staff_account(lookup).await?;
            let institution = self
                .state
                .rules
                .institution(&account.institution)
                .ok_or_else(|| AppError::inconsistent("institution vanished"))?;
            let current = account_fields::directory_entry(&account)?;
            let typed = DirectoryEntry {
                office_phone: typed.office_phone,
                office_location: typed.office_location,
                job_title: typed.job_title,
                postal_address: typed.postal_address,
                web_page: typed.web_page,
            };
            let next = edit_directory_entry(
                &current,
                &typed,
                &institution.staff_settings.directory_fields,
                &institution.phone_region,
            )
            .map_err(|problems| {
                AppError::InvalidArgument(
                    problems
                        .into_iter()
                        .map(
                            |(field, description)| crate::domain::provisioning::Violation {
                                field: format!("entry.{field}"),
                                description,
                            },
                        )
                        .collect(),
                )
            })?;
            if next == current {
                return Ok(proto::UpdateDirectoryEntryResponse {
                    entry: Some(encode_entry(&current)),
                });
            }
            let account = self
                .state
                .store
                .write_account(
                    AccountWrite {
                        account: &account,
                        changes: vec![AccountChange::DirectoryEntry(next)],
                        spend: Vec::new(),
                        revoke: Vec::new(),
                        secrets: Vec::new(),
                        messages: Vec::new(),
                        audit: ("directory_entry.updated", json!({})),
                        feed: vec![ChangeKind::DirectoryEntryChanged],
                    },
                    &ctx,
                    now,
                )
                .await?;
            Ok(proto::UpdateDirectoryEntryResponse {
                entry: Some(encode_entry(&account_fields::directory_entry(&account)?)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn get_antispam_level(
        &self,
        request: Request<proto::GetAntispamLevelRequest>,
    ) -> Result<Response<proto::GetAntispamLevelResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let account = self.staff_account(lookup).await?;
            Ok(proto::GetAntispamLevelResponse {
                level: encode_level(self.antispam_level(&account)) as i32,
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn set_antispam_level(
        &self,
        request: Request<proto::SetAntispamLevelRequest>,
    ) -> Result<Response<proto::SetAntispamLevelResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let level = match proto::AntispamLevel::try_from(body.level) {
                Ok(proto::AntispamLevel::Off) => AntispamLevel::Off,
                Ok(proto::AntispamLevel::Low) => AntispamLevel::Low,
                Ok(proto::AntispamLevel::Medium) => AntispamLevel::Medium,
                Ok(proto::AntispamLevel::High) => AntispamLevel::High,
                _ => return Err(AppError::field("level", "choose off, low, medium or high")),
            };
            let account = self.staff_account(lookup).await?;
            if account.antispam_level.as_deref() == Some(level.as_str()) {
                return Ok(proto::SetAntispamLevelResponse {
                    level: encode_level(level) as i32,
                });
            }
            let account = self
                .state
                .store
                .write_account(
                    AccountWrite {
                        account: &account,
                        changes: vec![AccountChange::Antispam(level)],
                        spend: Vec::new(),
                        revoke: Vec::new(),
                        secrets: Vec::new(),
                        messages: Vec::new(),
                        audit: ("antispam_level.set", json!({ "level": level.as_str() })),
                        feed: vec![ChangeKind::DirectoryEntryChanged],
                    },
                    &ctx,
                    now,
                )
                .await?;
            Ok(proto::SetAntispamLevelResponse {
                level: encode_level(self.antispam_level(&account)) as i32,
            })
        }
        .await;
        reply(result, &ctx)
    }
}

impl AccountSettingsApi {
    /// A staff account in use; PERMISSION_DENIED for students.
    async fn staff_account(
        &self,
        lookup: crate::store::accounts::AccountLookup<'_>,
    ) -> Result<account::Model, AppError> {
        let account = self.state.account_in_use(lookup).await?;
        if self.state.profile_of(&account)?.kind != AccountKind::Staff {
            return Err(AppError::PermissionDenied(
                "only staff edit their directory entry and antispam level".into(),
            ));
        }
        Ok(account)
    }

    fn antispam_level(&self, account: &account::Model) -> AntispamLevel {
        account
            .antispam_level
            .as_deref()
            .and_then(AntispamLevel::parse)
            .or_else(|| {
                self.state
                    .rules
                    .institution(&account.institution)
                    .map(|i| i.staff_settings.antispam_default)
            })
            .unwrap_or_default()
    }
}

fn encode_level(level: AntispamLevel) -> proto::AntispamLevel {
    match level {
        AntispamLevel::Off => proto::AntispamLevel::Off,
        AntispamLevel::Low => proto::AntispamLevel::Low,
        AntispamLevel::Medium => proto::AntispamLevel::Medium,
        AntispamLevel::High => proto::AntispamLevel::High,
    }
}

fn encode_entry(e: &DirectoryEntry) -> proto::DirectoryEntry {
    proto::DirectoryEntry {
        office_phone: e.office_phone.clone(),
        office_location: e.office_location.clone(),
        job_title: e.job_title.clone(),
        postal_address: e.postal_address.clone(),
        web_page: e.web_page.clone(),
    }
}

fn consent_error(e: ConsentError) -> AppError {
    match e {
        ConsentError::NotOffered(step) => AppError::FailedPrecondition {
            kind: Precondition::ConsentNotOffered,
            subject: step.field().to_owned(),
            message: "this consent is not collected for this account's profile".into(),
        },
        ConsentError::PhotoRefused => AppError::FailedPrecondition {
            kind: Precondition::PhotoRefusalIrreversible,
            subject: "photo".into(),
            message: "the photo was refused and deleted: a new photo is needed for any use (card renewal: see the student card office)".into(),
        },
    }
}
