//! The desk (`HelpdeskService`): agents of the IT support or the student
//! office finding the person in front of them, to check their identity in
//! person before helping — "adressez-vous au personnel de l'espace
//! numérique (K103)" (Bordeaux). Every lookup is audited with the agent's
//! name and counted against the agent's limit.

use chrono::{DateTime, NaiveDate, Utc};
use domain::account::Account;
use domain::helpdesk::{DeskAction, DeskAgent, MAX_PEOPLE_FOUND, family_name_matches};
use domain::ids::{MailAddress, PersonName};
use domain::institution::{
    ACTIVATION_LINK_PAGE, ActivationChannel, InstitutionSettings, RESET_LINK_PAGE,
};
use domain::problem::Problem;
use domain::secret::Secret;
use serde_json::json;
use store::AuditEntry;
use store::accounts::AccountLookup;
use store::activation::SecretIssue;
use store::outbox::NewMessage;
use store::provisioning::IssuedMaterial;
use store::secrets::{NewSecret, Purpose};

use crate::error::internal;
use crate::limits::Counters;
use crate::links::{DeliveryNotice, LinkRecord, PortalLinkToken, notice_to};
use crate::texts::mail;
use crate::{App, AppError, CallContext};

/// A link issued at the desk (to reset a password, to start activation):
/// shown once to the agent. (No `Debug`: the link carries its token.)
pub struct DeskLink {
    pub url: String,
    pub token: Secret,
    pub expires_at: DateTime<Utc>,
}

/// What the desk hands over for a first activation.
pub enum DeskActivation {
    /// A new key or provisional password, for profiles that print one.
    Material(IssuedMaterial),
    /// A link to start activation, for profiles activated by a mailed link
    /// or an identity check: the agent checked the identity in person.
    Link(DeskLink),
    /// The same link, mailed to an address the person gave at the desk
    /// (which becomes their verified recovery address once followed).
    Mailed(DeliveryNotice),
}

/// Whom a desk agent looks for.
#[derive(Debug, Clone)]
pub enum DeskSearch<'a> {
    /// One account by one of its identifiers.
    Account(AccountLookup<'a>),
    /// The people of an institution born on a date, with this family name.
    NameAndBirthDate {
        institution: &'a str,
        family_name: PersonName,
        born: NaiveDate,
    },
}

impl DeskSearch<'_> {
    /// What the agent searched by, as the audit trail names it (never the
    /// value typed: the event names the account found).
    fn by(&self) -> &'static str {
        match self {
            DeskSearch::Account(AccountLookup::Id(_)) => "account_id",
            DeskSearch::Account(AccountLookup::Login { .. }) => "login",
            DeskSearch::Account(AccountLookup::InstitutionalMail { .. }) => "institutional_mail",
            DeskSearch::Account(AccountLookup::StudentNumber { .. }) => "student_number",
            DeskSearch::Account(AccountLookup::Ine { .. }) => "ine",
            DeskSearch::Account(AccountLookup::HrId { .. } | AccountLookup::TypedHrId { .. }) => {
                "hr_id"
            }
            DeskSearch::NameAndBirthDate { .. } => "name_and_birth_date",
        }
    }

    /// The institution searched, when the search names one.
    fn institution(&self) -> &str {
        match self {
            DeskSearch::Account(AccountLookup::Id(_)) => "",
            DeskSearch::Account(
                AccountLookup::Login { institution, .. }
                | AccountLookup::InstitutionalMail { institution, .. }
                | AccountLookup::StudentNumber { institution, .. }
                | AccountLookup::Ine { institution, .. }
                | AccountLookup::HrId { institution, .. }
                | AccountLookup::TypedHrId { institution, .. },
            ) => institution,
            DeskSearch::NameAndBirthDate { institution, .. } => institution,
        }
    }
}

impl App {
    /// The people `agent` looks for at the desk: none, one, or the
    /// namesakes born that day (at most [`MAX_PEOPLE_FOUND`]).
    ///
    /// # Errors
    /// `InvalidArgument` for an institution not configured,
    /// `ResourceExhausted` past the agent's lookups per window.
    pub async fn find_person(
        &self,
        agent: &DeskAgent,
        search: DeskSearch<'_>,
        ctx: &CallContext,
    ) -> Result<Vec<Account>, AppError> {
        let now = self.now();
        if let DeskSearch::NameAndBirthDate { institution, .. } = &search
            && self.rules.institution(institution).is_none()
        {
            return Err(AppError::field(
                "name_and_birth_date.institution",
                Problem::UnknownInstitution,
            ));
        }
        self.count_desk_call(agent, ctx).await?;
        let people = self.people_found(&search).await?;
        let details = json!({ "agent": agent.as_str(), "by": search.by() });
        let entries = if people.is_empty() {
            vec![AuditEntry {
                institution: search.institution(),
                account_id: None,
                action: "helpdesk.nobody_found",
                details,
            }]
        } else {
            people
                .iter()
                .map(|person| AuditEntry {
                    institution: &person.institution,
                    account_id: Some(&person.id),
                    action: "helpdesk.person_found",
                    details: details.clone(),
                })
                .collect()
        };
        self.store.record_events(entries, ctx, now).await?;
        Ok(people)
    }

    /// A reset link for the person `lookup` names, whose identity `agent`
    /// checked in person: single use, short-lived, revoking earlier reset
    /// links; the person is told by mail.
    ///
    /// # Errors
    /// `NotFound`, `FailedPrecondition` for an account whose password
    /// cannot be set, `ResourceExhausted` past the agent's calls per window.
    pub async fn issue_desk_reset(
        &self,
        agent: &DeskAgent,
        lookup: AccountLookup<'_>,
        ctx: &CallContext,
    ) -> Result<(Account, DeskLink), AppError> {
        self.count_desk_call(agent, ctx).await?;
        let account = self.account_in_use(lookup).await?;
        let hand_over = DeskHandOver {
            purpose: Purpose::PasswordReset,
            page: RESET_LINK_PAGE,
            action: DeskAction::PasswordReset,
            audit: "helpdesk.password_reset_issued",
            send_to: None,
        };
        let link = self.desk_link(agent, &account, hand_over, ctx).await?;
        Ok((account, link))
    }

    /// Issues a link of `hand_over`'s purpose for `account`, revoking the
    /// earlier ones, with the mail telling the person and the audit event,
    /// in one transaction.
    async fn desk_link(
        &self,
        agent: &DeskAgent,
        account: &Account,
        hand_over: DeskHandOver<'_>,
        ctx: &CallContext,
    ) -> Result<DeskLink, AppError> {
        let now = self.now();
        let institution = self.institution_of(account)?;
        let lifetime = chrono::Duration::from_std(institution.recovery.desk_link_lifetime)
            .map_err(internal)?;
        let expires_at = now + lifetime;
        let link = PortalLinkToken::new(institution, hand_over.page)?;
        let secret = NewSecret {
            account_id: account.id.clone(),
            purpose: hand_over.purpose,
            hash: link.hash,
            target: hand_over.send_to.map(|a| a.as_str().to_owned()),
            flow_id: None,
            not_before: None,
            expires_at: Some(expires_at),
        };
        let details = json!({
            "agent": agent.as_str(),
            "expires_at": expires_at,
            "mailed": hand_over.send_to.is_some(),
        });
        let mut messages = desk_notice(hand_over.action, institution, account, ctx, now);
        if let Some(address) = hand_over.send_to {
            let wording = mail::activation_link_mail(institution, ctx.language);
            let facts = store::activation::ActivationLinkFacts {
                login: &account.login,
                url: &link.url,
                expires_at: Some(expires_at),
            };
            messages.push(NewMessage {
                account_id: Some(account.id.clone()),
                channel: store::outbox::Channel::Mail,
                recipient: address.as_str().to_owned(),
                template: Purpose::DeskActivationLink.as_str().to_owned(),
                content: (wording.word)(&facts),
                not_before: now,
            });
        }
        self.store
            .issue_account_secrets(
                account,
                SecretIssue {
                    revoke: &[hand_over.purpose],
                    secrets: vec![secret],
                    messages,
                    audit: Some((hand_over.audit, details, &ctx.audit)),
                },
                now,
            )
            .await?;
        Ok(DeskLink {
            url: link.url,
            token: link.token,
            expires_at,
        })
    }

    /// Mails a link confirming `address`, given at the desk, as the new
    /// recovery address of the person `lookup` names, whose identity
    /// `agent` checked in person, and tells the address in use; once the
    /// link is followed the address is in use and the former one is told it
    /// was replaced.
    ///
    /// # Errors
    /// `NotFound`, `FailedPrecondition` for an account not in use,
    /// `InvalidArgument` for the university's own address or the one in
    /// use, `ResourceExhausted` past the agent's calls per window or within
    /// the institution's resend cooldown.
    pub async fn desk_recovery_mail_change(
        &self,
        agent: &DeskAgent,
        lookup: AccountLookup<'_>,
        address: &MailAddress,
        ctx: &CallContext,
    ) -> Result<(Account, DeliveryNotice), AppError> {
        self.count_desk_call(agent, ctx).await?;
        let account = self.account_in_use(lookup).await?;
        let institution = self.institution_of(&account)?;
        // The address in use hears of it now, not only once replaced: a
        // request the owner did not make is stopped before it is confirmed.
        let record = LinkRecord {
            action: "helpdesk.recovery_mail_change_requested",
            details: json!({ "agent": agent.as_str() }),
            also_mailed: desk_notice(
                DeskAction::RecoveryMailChange,
                institution,
                &account,
                ctx,
                self.now(),
            ),
        };
        let sent = self
            .recovery_mail_link(&account, address, record, ctx)
            .await?;
        Ok((account, sent))
    }

    /// New activation material for a person `agent` met at the desk:
    /// activation opens now if its delay is not over (the person is
    /// there). A profile that prints material (a key, a provisional
    /// password) gets new material, the one issued before stops working; a
    /// profile activated by a mailed link or an identity check gets a
    /// short-lived link standing for that check. Either is answered once,
    /// to hand over; or, with `send_to`, the link is mailed to the address
    /// the person gave (it becomes their recovery address once followed).
    /// The person is told by mail.
    ///
    /// # Errors
    /// `NotFound`; `FailedPrecondition` for an account activated already
    /// or no longer awaiting activation; `ResourceExhausted` past the
    /// agent's calls per window.
    pub async fn issue_desk_activation(
        &self,
        agent: &DeskAgent,
        (lookup, send_to): (AccountLookup<'_>, Option<&MailAddress>),
        ctx: &CallContext,
    ) -> Result<(Account, DeskActivation), AppError> {
        self.count_desk_call(agent, ctx).await?;
        let opened = self
            .open_activation(lookup, &format!("helpdesk: {}", agent.as_str()), ctx)
            .await?;
        let channel = self.profile_of(&opened)?.activation.channel;
        let printed = !matches!(
            channel,
            ActivationChannel::MailedLink | ActivationChannel::IdentityMatch
        );
        if !printed || send_to.is_some() {
            let hand_over = DeskHandOver {
                purpose: Purpose::DeskActivationLink,
                page: ACTIVATION_LINK_PAGE,
                action: DeskAction::Activation,
                audit: "helpdesk.activation_link_issued",
                send_to,
            };
            let link = self.desk_link(agent, &opened, hand_over, ctx).await?;
            let Some(address) = send_to else {
                return Ok((opened, DeskActivation::Link(link)));
            };
            let institution = self.institution_of(&opened)?;
            let notice = DeliveryNotice {
                masked_destination: domain::activation::mask_mail(address.as_str()),
                check_spam_folder: true,
                helpdesk_url: institution.helpdesk_url.clone(),
                expires_at: Some(link.expires_at),
                also_sent_to: Vec::new(),
            };
            return Ok((opened, DeskActivation::Mailed(notice)));
        }
        let (account, material) = self
            .reissue_activation_material(AccountLookup::Id(&opened.id), ctx)
            .await?;
        let now = self.now();
        let institution = self.institution_of(&account)?;
        let issue = SecretIssue {
            messages: desk_notice(DeskAction::Activation, institution, &account, ctx, now),
            audit: Some((
                "helpdesk.activation_material_issued",
                json!({ "agent": agent.as_str() }),
                &ctx.audit,
            )),
            ..SecretIssue::default()
        };
        self.store
            .issue_account_secrets(&account, issue, now)
            .await?;
        Ok((account, DeskActivation::Material(material)))
    }

    /// Counts a call of `agent` against its limit (every call costs).
    pub(crate) async fn count_desk_call(
        &self,
        agent: &DeskAgent,
        ctx: &CallContext,
    ) -> Result<(), AppError> {
        let counters = Counters::desk_requests(self, &ctx.audit.actor, agent.as_str());
        self.limited(counters, self.now(), async { Ok(()) }).await
    }

    async fn people_found(&self, search: &DeskSearch<'_>) -> Result<Vec<Account>, AppError> {
        Ok(match search {
            DeskSearch::Account(lookup) => self
                .store
                .find_account(*lookup)
                .await?
                .into_iter()
                .collect(),
            DeskSearch::NameAndBirthDate {
                institution,
                family_name,
                born,
            } => {
                // A birth date is shared by a few hundred people at most in a
                // university; the name narrows them down here, where it is
                // compared without case or accents.
                let born_that_day = self
                    .store
                    .accounts_born_on(institution, *born, 1_000)
                    .await?;
                born_that_day
                    .into_iter()
                    .filter(|a| family_name_matches(&a.family_name, family_name.as_str()))
                    .take(MAX_PEOPLE_FOUND)
                    .collect()
            }
        })
    }
}

/// What a desk link is for: its secret's purpose, the portal page it
/// opens, what the mail to the person says and the audit event's action.
struct DeskHandOver<'a> {
    purpose: Purpose,
    page: &'static str,
    action: DeskAction,
    audit: &'static str,
    /// Where to mail the link instead of handing it over.
    send_to: Option<&'a MailAddress>,
}

/// The mail telling the person what the desk did for them: to the
/// verified recovery address, else the personal or university one.
fn desk_notice(
    action: DeskAction,
    institution: &InstitutionSettings,
    account: &Account,
    ctx: &CallContext,
    now: DateTime<Utc>,
) -> Vec<NewMessage> {
    let content = mail::desk_notice(
        action,
        (&institution.name, &account.login),
        (now, institution.time_zone),
        &institution.helpdesk_url,
        ctx.language,
    );
    notice_to(account, action.template(), content, now)
}
