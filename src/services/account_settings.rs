//! AccountSettingsService: the portal's account page (`app::settings`),
//! decoded and encoded.

use crate::domain::problem::Problem;
use tonic::{Request, Response, Status};

use super::{App, account_lookup, begin_call, encode, encode_account, reply};
use crate::app::AppError;
use crate::app::settings::{AccountPage, Antispam, PasswordChangeInput};
use crate::domain::account::Account;
use crate::domain::account::AccountKind;
use crate::domain::language::Language;
use crate::domain::self_service::{AntispamLevel, ConsentChange, DirectoryEntry};
use crate::proto;
use crate::proto::account_settings_service_server::AccountSettingsService;
use crate::services::activation::encode as forms;
use crate::services::lifecycle::directory_attributes;

pub struct AccountSettingsApi {
    state: App,
}

impl AccountSettingsApi {
    pub fn new(state: App) -> Self {
        Self { state }
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

fn level(level: i32) -> Result<AntispamLevel, AppError> {
    match proto::AntispamLevel::try_from(level) {
        Ok(proto::AntispamLevel::Off) => Ok(AntispamLevel::Off),
        Ok(proto::AntispamLevel::Low) => Ok(AntispamLevel::Low),
        Ok(proto::AntispamLevel::Medium) => Ok(AntispamLevel::Medium),
        Ok(proto::AntispamLevel::High) => Ok(AntispamLevel::High),
        _ => Err(AppError::field("level", Problem::UnknownValue)),
    }
}

fn encode_entry(e: DirectoryEntry) -> proto::DirectoryEntry {
    proto::DirectoryEntry {
        office_phone: e.office_phone,
        office_location: e.office_location,
        job_title: e.job_title,
        postal_address: e.postal_address,
        web_page: e.web_page,
    }
}

fn entry(e: proto::DirectoryEntry) -> DirectoryEntry {
    DirectoryEntry {
        office_phone: e.office_phone,
        office_location: e.office_location,
        job_title: e.job_title,
        postal_address: e.postal_address,
        web_page: e.web_page,
    }
}

fn consent_change(body: &proto::UpdateConsentsRequest) -> Result<ConsentChange, AppError> {
    let photo = match &body.photo {
        Some(p) => {
            Some(super::inputs::photo_choice(p, "photo").map_err(AppError::InvalidArgument)?)
        }
        None => None,
    };
    Ok(ConsentChange {
        directory_listed: body.directory_listed,
        photo,
        crous_sharing: body.crous_sharing,
        items: super::inputs::consent_input(&body.items).unwrap_or_default(),
    })
}

/// The account page as the API describes it.
fn account_page(page: AccountPage, language: Language) -> proto::DescribeAccountResponse {
    let account = &page.account;
    let (recovery_phone_change, recovery_phone_code) = match page.recovery_phone_change {
        Some((change, code)) => (Some(forms::form(change)), Some(forms::form(code))),
        None => (None, None),
    };
    proto::DescribeAccountResponse {
        recovery_phone: page.recovery_phone.unwrap_or_default(),
        recovery_phone_change,
        recovery_phone_code,
        institution: Some(forms::institution_info(page.institution)),
        login: account.login.clone(),
        institutional_mail: account.institutional_mail.clone().unwrap_or_default(),
        staff: account.kind == AccountKind::Staff,
        recovery_mail: page.recovery_mail.unwrap_or_default(),
        password_rules: Some(forms::password_rules(&page.password_policy, language)),
        password_change: Some(forms::form(page.password_change)),
        recovery_mail_change: Some(forms::form(page.recovery_mail_change)),
        redirect_change: page.redirect_change.map(forms::form),
        consent_items: page.consents.iter().map(forms::item).collect(),
        consent_choices: page
            .consent_choices
            .into_iter()
            .map(forms::choice)
            .collect(),
        consents: Some(encode::consents(account)),
        directory_entry_form: page.directory.map(forms::form),
        directory_entry: (account.kind == AccountKind::Staff)
            .then(|| encode_entry(account.directory_entry.clone().unwrap_or_default())),
        antispam: page.antispam.map(antispam_setting),
        extension_request: page.extension.map(forms::form),
        alumni_closing: page.alumni_closing.map(forms::form),
        guest_invitation: page.guest_invitation.map(|g| proto::GuestInvitationForm {
            form: Some(forms::form(g.form)),
            profiles: g
                .profiles
                .into_iter()
                .map(|(profile, label)| proto::GuestProfileChoice { profile, label })
                .collect(),
            latest_end_date: g.latest_end_date.to_string(),
        }),
        retention_end_date: account
            .retention_end_date
            .map(|d| d.to_string())
            .unwrap_or_default(),
    }
}

fn antispam_setting(antispam: Antispam) -> proto::AntispamSetting {
    proto::AntispamSetting {
        title: antispam.titles.title,
        intro: antispam.titles.intro,
        level: encode_level(antispam.level) as i32,
        choices: antispam
            .levels
            .into_iter()
            .map(|(level, label)| proto::AntispamChoice {
                level: encode_level(level) as i32,
                label: label.to_owned(),
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl AccountSettingsService for AccountSettingsApi {
    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn describe_account(
        &self,
        request: Request<proto::DescribeAccountRequest>,
    ) -> Result<Response<proto::DescribeAccountResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let lookup = account_lookup(request.get_ref().account.as_ref(), "account")?;
            let page = self.state.describe_account(lookup, ctx.language).await?;
            Ok(account_page(page, ctx.language))
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn export_personal_data(
        &self,
        request: Request<proto::ExportPersonalDataRequest>,
    ) -> Result<Response<proto::ExportPersonalDataResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.into_inner();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let presence = super::inputs::presence(body.presence.as_ref());
            let directory = |a: &Account| directory_attributes(&self.state, a, &ctx);
            let copy = self
                .state
                .export_own_data(lookup, presence, &directory, &ctx)
                .await?;
            Ok(proto::ExportPersonalDataResponse {
                copy: Some(encode::personal_data(copy)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn change_password(
        &self,
        request: Request<proto::ChangePasswordRequest>,
    ) -> Result<Response<proto::ChangePasswordResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.into_inner();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let input = PasswordChangeInput {
                current: body.current_password.clone(),
                new: body
                    .new_password
                    .clone()
                    .map(|n| (n.password, n.confirmation)),
            };
            let account = self.state.change_password(lookup, input, &ctx).await?;
            Ok(proto::ChangePasswordResponse {
                account: Some(encode_account(
                    &self.state,
                    &account,
                    (self.state.now(), &ctx),
                )),
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
        let body = request.into_inner();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let check = self
                .state
                .check_password(lookup, body.password.clone(), &ctx)
                .await?;
            Ok(proto::VerifyPasswordResponse {
                valid: check.valid,
                must_change: check.must_change,
                expires_at: check.expires_at.map(encode::timestamp),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn confirm_presence(
        &self,
        request: Request<proto::ConfirmPresenceRequest>,
    ) -> Result<Response<proto::ConfirmPresenceResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.into_inner();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let step_up = self
                .state
                .confirm_presence(lookup, body.current_password.clone(), &ctx)
                .await?;
            Ok(proto::ConfirmPresenceResponse {
                step_up_token: step_up.token.expose().to_owned(),
                expires_at: Some(encode::timestamp(step_up.expires_at)),
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
        let body = request.into_inner();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let address = super::inputs::required_mail_input(
                body.new_recovery_mail.as_ref(),
                "new_recovery_mail",
            )?;
            let sent = self
                .state
                .request_recovery_mail_change(
                    lookup,
                    &address,
                    super::inputs::presence(body.presence.as_ref()),
                    &ctx,
                )
                .await?;
            Ok(proto::RequestRecoveryMailChangeResponse {
                notice: Some(encode::notice(sent)),
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
        let result = self
            .state
            .confirm_recovery_mail_change(&request.get_ref().token, &ctx)
            .await
            .map(|account| proto::ConfirmRecoveryMailChangeResponse {
                recovery_mail: account.recovery_mail.unwrap_or_default(),
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn request_recovery_phone_change(
        &self,
        request: Request<proto::RequestRecoveryPhoneChangeRequest>,
    ) -> Result<Response<proto::RequestRecoveryPhoneChangeResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.into_inner();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let presence = super::inputs::presence(body.presence.as_ref());
            let sent = self
                .state
                .request_recovery_phone_change(lookup, &body.new_phone, presence, &ctx)
                .await?;
            Ok(proto::RequestRecoveryPhoneChangeResponse {
                notice: sent.map(encode::notice),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn confirm_recovery_phone_change(
        &self,
        request: Request<proto::ConfirmRecoveryPhoneChangeRequest>,
    ) -> Result<Response<proto::ConfirmRecoveryPhoneChangeResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.get_ref();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let account = self
                .state
                .confirm_recovery_phone_change(lookup, &body.code, &ctx)
                .await?;
            Ok(proto::ConfirmRecoveryPhoneChangeResponse {
                recovery_phone: account
                    .recovery_phone
                    .as_deref()
                    .map(crate::domain::activation::mask_phone)
                    .unwrap_or_default(),
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
        let result = async {
            let lookup = account_lookup(request.get_ref().account.as_ref(), "account")?;
            let account = self.state.account_in_use(lookup).await?;
            Ok(proto::GetConsentsResponse {
                consents: encode_account(&self.state, &account, (self.state.now(), &ctx)).consents,
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
        let body = request.get_ref();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let change = consent_change(body)?;
            let presence = super::inputs::presence(body.presence.as_ref());
            let updated = self
                .state
                .update_consents(lookup, change, presence, &ctx)
                .await?;
            let now = self.state.now();
            Ok(proto::UpdateConsentsResponse {
                consents: encode_account(&self.state, &updated.account, (now, &ctx)).consents,
                notices: updated.notices,
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
            let lookup = account_lookup(request.get_ref().account.as_ref(), "account")?;
            let current = self.state.directory_entry(lookup).await?;
            Ok(proto::GetDirectoryEntryResponse {
                entry: Some(encode_entry(current)),
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
        let body = request.into_inner();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let typed = body
                .entry
                .clone()
                .ok_or_else(|| AppError::field("entry", Problem::Missing))?;
            let updated = self
                .state
                .update_directory_entry(lookup, entry(typed), &ctx)
                .await?;
            Ok(proto::UpdateDirectoryEntryResponse {
                entry: Some(encode_entry(updated)),
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
            let lookup = account_lookup(request.get_ref().account.as_ref(), "account")?;
            let level = self.state.antispam_level(lookup).await?;
            Ok(proto::GetAntispamLevelResponse {
                level: encode_level(level) as i32,
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
        let body = request.get_ref();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let level = level(body.level)?;
            let set = self.state.set_antispam_level(lookup, level, &ctx).await?;
            Ok(proto::SetAntispamLevelResponse {
                level: encode_level(set) as i32,
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn get_alumni_offer(
        &self,
        request: Request<proto::GetAlumniOfferRequest>,
    ) -> Result<Response<proto::GetAlumniOfferResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let offer = self.state.alumni_offer(&request.get_ref().token).await?;
            Ok(proto::GetAlumniOfferResponse {
                login: offer.login,
                institution: offer.institution,
                services: offer.services.pick(ctx.language).to_owned(),
                renewal: offer.renewal,
                period_end: offer.period_end.to_string(),
                kept_until: offer.kept_until.to_string(),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn answer_alumni_offer(
        &self,
        request: Request<proto::AnswerAlumniOfferRequest>,
    ) -> Result<Response<proto::AnswerAlumniOfferResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.get_ref();
        let result = async {
            let answered = self
                .state
                .answer_alumni_offer(&body.token, body.keep, &ctx)
                .await?;
            let now = self.state.now();
            Ok(proto::AnswerAlumniOfferResponse {
                account: Some(encode_account(&self.state, &answered.account, (now, &ctx))),
                kept_until: answered
                    .kept_until
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                period_end: answered.period_end.to_string(),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn close_alumni_account(
        &self,
        request: Request<proto::CloseAlumniAccountRequest>,
    ) -> Result<Response<proto::CloseAlumniAccountResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.get_ref();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let presence = super::inputs::presence(body.presence.as_ref());
            let closed = self
                .state
                .close_alumni_account(lookup, presence, &ctx)
                .await?;
            let now = self.state.now();
            Ok(proto::CloseAlumniAccountResponse {
                account: Some(encode_account(&self.state, &closed, (now, &ctx))),
            })
        }
        .await;
        reply(result, &ctx)
    }
}
