//! Guests (`GuestService`): a sponsor — a staff member, through the portal
//! on their behalf, or an administrator for them — invites a person no
//! enrolment or HR record brings, for a stay with an end date; an
//! administrator approves first where the institution moderates. The
//! guest activates through a mailed link like any profile, and their stay
//! ends like a departure (notices, limited access, expiry), at its end
//! date or with their sponsor's.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::account::{Account, AccountKind, AccountStatus};
use domain::guest::{
    GuestModeration, InvitationInput, InvitationStatus, ValidInvitation, end_with_sponsor,
    parse_invitation,
};
use domain::helpdesk::DeskAgent;
use domain::ids::parse_date;
use domain::institution::InstitutionSettings;
use domain::provisioning::ValidRecord;
use domain::refusal::Precondition;
use domain::retention::{first_notice_on, retention_end};
use serde_json::json;
use store::accounts::AccountLookup;
use store::guests::{Decision, Invitation, InvitationError, InvitationWrites, InvitationWritten};
use store::outbox::{Channel, NewMessage};

use crate::links::notice_to;
use store::provisioning::{GuestStay, ProvisionItem};

use crate::lifecycle::Departure;
use crate::texts::mail::{self, GuestNotice};
use crate::{App, AppError, CallContext};

/// Invitations a sponsor lists at most.
pub const MAX_INVITATIONS_LISTED: u64 = 200;

/// An invitation, and its guest's account once approved.
#[derive(Debug)]
pub struct GuestInvitation {
    pub invitation: Invitation,
    pub account: Option<Account>,
}

/// A moderator's decision on an invitation.
#[derive(Debug, Clone, Copy)]
pub struct Moderation<'a> {
    pub approve: bool,
    /// The moderator, as the back-office tool names them.
    pub moderator: &'a DeskAgent,
    /// Why (shown to the sponsor).
    pub comment: &'a str,
}

impl App {
    /// Invites a guest on behalf of the sponsor `lookup` names: approved
    /// at once (the guest's account created and its activation link
    /// mailed), or waiting for an administrator where the institution
    /// moderates.
    ///
    /// # Errors
    /// `InvalidArgument` for every bad field of the invitation;
    /// `FailedPrecondition` (`NOT_A_SPONSOR`) for a sponsor who may not
    /// invite; `NotFound` for no such sponsor.
    pub async fn invite_guest(
        &self,
        sponsor: AccountLookup<'_>,
        input: &InvitationInput<'_>,
        ctx: &CallContext,
    ) -> Result<GuestInvitation, AppError> {
        let now = self.now();
        let sponsor = self.sponsor(sponsor).await?;
        let institution = self.institution_of(&sponsor)?;
        let today = now.with_timezone(&institution.time_zone).date_naive();
        let input = InvitationInput {
            institution: &sponsor.institution,
            ..input.clone()
        };
        let invitation = parse_invitation(&input, &self.rules.institutions, today, "guest")
            .map_err(AppError::InvalidArgument)?;
        let id = store::new_id();
        let moderated = institution.guests.moderation == GuestModeration::Administrator;
        let (account, messages) = if moderated {
            (
                None,
                moderator_notice(institution, &sponsor, &invitation, now),
            )
        } else {
            let item = self.guest_item(&invitation, &id, &sponsor)?;
            (Some(item), Vec::new())
        };
        let status = if moderated {
            InvitationStatus::Pending
        } else {
            InvitationStatus::Approved
        };
        let writes = InvitationWrites {
            messages,
            audit: (
                "guest.invited",
                json!({
                    "invitation_id": id,
                    "profile": invitation.profile,
                    "end_date": invitation.end_date.to_string(),
                    "status": status.as_str(),
                }),
            ),
            ctx: &ctx.audit,
        };
        let written = self
            .store
            .record_invitation((&id, &invitation), &sponsor, account, writes, now)
            .await;
        guest_invitation(written)
    }

    /// Decides a pending invitation: approved, the guest's account is
    /// created and mailed its activation link; rejected, nothing is
    /// created. The sponsor is told either way.
    ///
    /// # Errors
    /// `NotFound`; `FailedPrecondition` (`INVITATION_DECIDED`) for an
    /// invitation decided already, (`NOT_A_SPONSOR`) when the sponsor may
    /// no longer invite; `InvalidArgument` when its end date has passed.
    pub async fn decide_invitation(
        &self,
        id: &str,
        moderation: Moderation<'_>,
        ctx: &CallContext,
    ) -> Result<GuestInvitation, AppError> {
        let now = self.now();
        let pending = self
            .store
            .invitation(id)
            .await?
            .ok_or_else(|| AppError::NotFound("no such invitation".into()))?;
        if pending.status != InvitationStatus::Pending {
            return Err(invitation_decided());
        }
        let sponsor = self.account(AccountLookup::Id(&pending.sponsor_id)).await?;
        let institution = self.institution_of(&sponsor)?;
        let account = if moderation.approve {
            self.sponsor_may_invite(&sponsor)?;
            let today = now.with_timezone(&institution.time_zone).date_naive();
            let invitation = stored_invitation(&pending, &self.rules.institutions, today)?;
            Some(self.guest_item(&invitation, id, &sponsor)?)
        } else {
            None
        };
        let comment = moderation.comment.trim();
        let notice = GuestNotice {
            institution: &institution.name,
            guest: &format!("{} {}", pending.given_name, pending.family_name),
            end_date: pending.end_date,
            comment,
            portal_url: &institution.portal_url,
        };
        let content = if moderation.approve {
            mail::invitation_approved(&notice, ctx.language)
        } else {
            mail::invitation_rejected(&notice, ctx.language)
        };
        let messages = notice_to(&sponsor, "guest_invitation_decided", content, now);
        let writes = InvitationWrites {
            messages,
            audit: (
                if moderation.approve {
                    "guest.invitation_approved"
                } else {
                    "guest.invitation_rejected"
                },
                json!({ "invitation_id": id, "moderator": moderation.moderator.as_str() }),
            ),
            ctx: &ctx.audit,
        };
        let decision = Decision {
            account,
            decided_by: moderation.moderator.as_str().to_owned(),
            comment: comment.to_owned(),
        };
        let written = self
            .store
            .decide_invitation(id, decision, writes, now)
            .await;
        guest_invitation(written)
    }

    /// The invitations of `institution` waiting for a moderator, oldest
    /// first.
    pub async fn pending_invitations(
        &self,
        institution: &str,
    ) -> Result<Vec<Invitation>, AppError> {
        if self.rules.institution(institution).is_none() {
            return Err(AppError::field(
                "institution",
                domain::problem::Problem::UnknownInstitution,
            ));
        }
        Ok(self
            .store
            .pending_invitations(institution, MAX_INVITATIONS_LISTED)
            .await?)
    }

    /// The sponsor's invitations, latest first, each with its guest's
    /// account as it is now.
    pub async fn sponsored_guests(
        &self,
        sponsor: AccountLookup<'_>,
    ) -> Result<Vec<GuestInvitation>, AppError> {
        let sponsor = self.account(sponsor).await?;
        let invitations = self
            .store
            .invitations_of_sponsor(&sponsor.id, MAX_INVITATIONS_LISTED)
            .await?;
        let mut guests: HashMap<String, Account> = self
            .store
            .guests_of(&sponsor.id)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        Ok(invitations
            .into_iter()
            .map(|invitation| GuestInvitation {
                account: invitation
                    .account_id
                    .as_ref()
                    .and_then(|id| guests.remove(id)),
                invitation,
            })
            .collect())
    }

    /// Moves a guest's last day to `end_date`, within the institution's
    /// longest stay from today: the sponsor renews (or shortens) the stay.
    ///
    /// # Errors
    /// `NotFound` for an account that is not one of the sponsor's guests;
    /// `InvalidArgument` for a bad date; `FailedPrecondition` for a guest
    /// whose account expired, or a sponsor who may not invite.
    pub async fn renew_guest(
        &self,
        sponsor: AccountLookup<'_>,
        guest_id: &str,
        end_date: &str,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let (sponsor, guest) = self.sponsor_and_guest(sponsor, guest_id).await?;
        let institution = self.institution_of(&guest)?;
        let today = now.with_timezone(&institution.time_zone).date_naive();
        let end = parse_date(end_date)
            .and_then(|end| institution.guests.check_end_date(end, today).map(|()| end))
            .map_err(|e| AppError::field("end_date", e))?;
        let reason = format!("guest stay renewed by its sponsor {}", sponsor.login);
        self.guest_departure(&guest, end, &reason, ctx).await
    }

    /// Ends a guest's stay now: their last day was yesterday, so the
    /// account is limited at once and expires with the institution's
    /// retention.
    ///
    /// # Errors
    /// As [`App::renew_guest`].
    pub async fn end_guest(
        &self,
        sponsor: AccountLookup<'_>,
        guest_id: &str,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let (sponsor, guest) = self.sponsor_and_guest(sponsor, guest_id).await?;
        let institution = self.institution_of(&guest)?;
        let today = now.with_timezone(&institution.time_zone).date_naive();
        let yesterday = today.checked_sub_days(Days::new(1)).unwrap_or(today);
        let reason = format!("guest stay ended by its sponsor {}", sponsor.login);
        self.guest_departure(&guest, yesterday, &reason, ctx).await
    }

    /// When `sponsor` leaves on `last_day`, their guests' stays end with
    /// theirs where the institution ties them (a stay ending earlier
    /// keeps its date). Idempotent: a guest already ending by then is left
    /// alone, so a departure reported again finishes what a crash left.
    pub(crate) async fn end_stays_with_sponsor(
        &self,
        sponsor: &Account,
        last_day: NaiveDate,
        ctx: &CallContext,
    ) -> Result<(), AppError> {
        // Only staff sponsor (configuration checks `sponsor_profiles`): a
        // student's departure needs no lookup. On an account of several
        // profiles, only a staff profile's end ends the stays it sponsors.
        let staff_ended = match sponsor.profiles.as_slice() {
            [] => sponsor.kind == AccountKind::Staff,
            profiles => profiles
                .iter()
                .any(|p| p.kind == AccountKind::Staff && p.end_of_activity_date.is_some()),
        };
        if !staff_ended {
            return Ok(());
        }
        let institution = self.institution_of(sponsor)?;
        for guest in self.store.guests_of(&sponsor.id).await? {
            if matches!(
                guest.life_state(),
                AccountStatus::Expired | AccountStatus::DataDeleted
            ) {
                continue;
            }
            let Some(end) =
                end_with_sponsor(&institution.guests, guest.end_of_activity_date, last_day)
            else {
                continue;
            };
            let reason = format!("the guest's sponsor {} leaves", sponsor.login);
            self.guest_departure(&guest, end, &reason, ctx).await?;
        }
        Ok(())
    }

    async fn guest_departure(
        &self,
        guest: &Account,
        last_day: NaiveDate,
        reason: &str,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let end_date = last_day.to_string();
        let departure = Departure {
            end_date: &end_date,
            reason,
        };
        let (account, _) = self
            .write_departure(AccountLookup::Id(&guest.id), departure, ctx)
            .await?;
        Ok(account)
    }

    /// The sponsor, who may invite, and one of their guests.
    async fn sponsor_and_guest(
        &self,
        sponsor: AccountLookup<'_>,
        guest_id: &str,
    ) -> Result<(Account, Account), AppError> {
        let sponsor = self.sponsor(sponsor).await?;
        let guest = self
            .store
            .find_account(AccountLookup::Id(guest_id))
            .await?
            .filter(|g| g.sponsor_id.as_deref() == Some(sponsor.id.as_str()))
            // Another sponsor's guest is as unknown as no account.
            .ok_or_else(|| AppError::NotFound("no such guest of this sponsor".into()))?;
        Ok((sponsor, guest))
    }

    /// The account `lookup` names, if it may invite guests.
    async fn sponsor(&self, lookup: AccountLookup<'_>) -> Result<Account, AppError> {
        let sponsor = self.account(lookup).await?;
        self.sponsor_may_invite(&sponsor)?;
        Ok(sponsor)
    }

    /// Only an active member of a sponsoring profile invites: not someone
    /// who left (limited access), nor a student or a guest.
    pub(crate) fn sponsor_may_invite(&self, sponsor: &Account) -> Result<(), AppError> {
        let institution = self.institution_of(sponsor)?;
        if sponsor.status == AccountStatus::Active
            && institution
                .guests
                .may_sponsor(&sponsor.profile, sponsor.kind)
        {
            return Ok(());
        }
        Err(AppError::FailedPrecondition {
            kind: Precondition::NotASponsor,
            subject: "sponsor".into(),
            message: "this account may not invite guests".into(),
        })
    }

    /// What provisioning needs to create the guest's account: the record
    /// the invitation stands for, its profile, the mail carrying its link
    /// and the stay's dates.
    fn guest_item(
        &self,
        invitation: &ValidInvitation,
        id: &str,
        sponsor: &Account,
    ) -> Result<ProvisionItem, AppError> {
        let institution = self.institution_of(sponsor)?;
        let profile = institution
            .profiles
            .get(&invitation.profile)
            .ok_or_else(|| AppError::inconsistent("parsed invitation has no profile"))?;
        let lifecycle = &institution.lifecycle;
        let last_day = invitation.end_date;
        let retention_end = retention_end(
            profile.retention.rule(),
            last_day,
            lifecycle.academic_year_start,
        );
        Ok(ProvisionItem {
            record: ValidRecord::of_invitation(invitation, id),
            profile: profile.clone(),
            link_mail: Some(mail::activation_link_mail(institution, invitation.language)),
            // Guests are never linked (`domain::duplicates::same_person`).
            duplicates: Default::default(),
            input: None,
            resolution: None,
            guest: Some(GuestStay {
                sponsor_id: sponsor.id.clone(),
                last_day,
                retention_end,
                first_notice_on: first_notice_on(retention_end, &lifecycle.expiry_notice_days),
            }),
        })
    }
}

/// The stored invitation, checked again as of `today` (its end date may
/// have passed while it waited).
fn stored_invitation(
    pending: &Invitation,
    institutions: &domain::institution::Institutions,
    today: NaiveDate,
) -> Result<ValidInvitation, AppError> {
    let birth_date = pending
        .birth_date
        .map(|d| d.to_string())
        .unwrap_or_default();
    let end_date = pending.end_date.to_string();
    let input = InvitationInput {
        institution: &pending.institution,
        profile: &pending.profile,
        given_name: &pending.given_name,
        family_name: &pending.family_name,
        birth_date: &birth_date,
        personal_mail: &pending.personal_mail,
        end_date: &end_date,
        reason: &pending.reason,
        language: pending.language.code(),
    };
    parse_invitation(&input, institutions, today, "invitation").map_err(AppError::InvalidArgument)
}

/// The mail announcing an invitation to the moderators' mailbox, if the
/// institution names one.
fn moderator_notice(
    institution: &InstitutionSettings,
    sponsor: &Account,
    invitation: &ValidInvitation,
    now: DateTime<Utc>,
) -> Vec<NewMessage> {
    let Some(recipient) = &institution.guests.moderator_mail else {
        return Vec::new();
    };
    let content = mail::invitation_to_moderate(
        &institution.name,
        (&sponsor.given_name, &sponsor.family_name),
        invitation,
    );
    vec![NewMessage {
        account_id: Some(sponsor.id.clone()),
        channel: Channel::Mail,
        recipient: recipient.clone(),
        template: "guest_invitation_to_moderate".into(),
        content,
        not_before: now,
    }]
}

fn invitation_decided() -> AppError {
    AppError::FailedPrecondition {
        kind: Precondition::InvitationDecided,
        subject: "invitation".into(),
        message: "this invitation was decided already".into(),
    }
}

/// The invitation written, with its guest's account if one was created.
fn guest_invitation(
    written: Result<InvitationWritten, InvitationError>,
) -> Result<GuestInvitation, AppError> {
    let (invitation, provisioned) = written.map_err(invitation_error)?;
    Ok(GuestInvitation {
        invitation,
        account: provisioned.map(|p| p.account),
    })
}

fn invitation_error(e: InvitationError) -> AppError {
    match e {
        InvitationError::Decided => invitation_decided(),
        InvitationError::Provision(e) => e.into(),
        InvitationError::Store(e) => e.into(),
    }
}
