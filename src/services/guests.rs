//! GuestService: sponsors' invitations and their moderation
//! (`app::guests`), decoded and encoded.

use tonic::{Request, Response, Status};

use super::{App, account_lookup, begin_call, encode, reply};
use crate::app::AppError;
use crate::app::guests::{GuestInvitation, Moderation};
use crate::domain::guest::{InvitationInput, MAX_REASON_CHARS};
use crate::domain::helpdesk::DeskAgent;
use crate::domain::problem::Problem;
use crate::proto;
use crate::proto::guest_service_server::GuestService;

pub struct GuestApi {
    state: App,
}

impl GuestApi {
    pub fn new(state: App) -> Self {
        Self { state }
    }
}

/// An invitation as the caller of `ctx` sees it: without the guest's birth
/// date, and their address masked, for a caller that may not read personal
/// data (the portal, for the sponsor).
fn shown(
    guest: &GuestInvitation,
    now: chrono::DateTime<chrono::Utc>,
    ctx: &crate::app::CallContext,
) -> proto::GuestInvitation {
    let mut encoded = encode::guest_invitation(guest, now);
    if !ctx.personal_data
        && let Some(details) = encoded.guest.as_mut()
    {
        details.birth_date.clear();
        if !details.personal_mail.is_empty() {
            details.personal_mail = crate::domain::activation::mask_mail(&details.personal_mail);
        }
    }
    encoded
}

/// A guest's account id, as the request names it.
fn guest_id(raw: &str) -> Result<&str, AppError> {
    let id = raw.trim();
    uuid::Uuid::parse_str(id)
        .map(|_| id)
        .map_err(|_| AppError::field("guest_account_id", Problem::NotAUuid))
}

#[tonic::async_trait]
impl GuestService for GuestApi {
    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn invite_guest(
        &self,
        request: Request<proto::InviteGuestRequest>,
    ) -> Result<Response<proto::InviteGuestResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let sponsor = account_lookup(body.sponsor.as_ref(), "sponsor");
            let guest = body
                .guest
                .as_ref()
                .ok_or_else(|| AppError::field("guest", Problem::Missing));
            let (sponsor, guest) = AppError::both(sponsor, guest)?;
            let input = InvitationInput {
                institution: "",
                profile: &guest.profile,
                given_name: &guest.given_name,
                family_name: &guest.family_name,
                birth_date: &guest.birth_date,
                personal_mail: &guest.personal_mail,
                end_date: &guest.end_date,
                reason: &guest.reason,
                language: &guest.language,
            };
            let invited = self.state.invite_guest(sponsor, &input, &ctx).await?;
            Ok(proto::InviteGuestResponse {
                invitation: Some(shown(&invited, self.state.now(), &ctx)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn list_sponsored_guests(
        &self,
        request: Request<proto::ListSponsoredGuestsRequest>,
    ) -> Result<Response<proto::ListSponsoredGuestsResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let sponsor = account_lookup(request.get_ref().sponsor.as_ref(), "sponsor")?;
            let guests = self.state.sponsored_guests(sponsor).await?;
            let now = self.state.now();
            Ok(proto::ListSponsoredGuestsResponse {
                invitations: guests.iter().map(|g| shown(g, now, &ctx)).collect(),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn renew_guest(
        &self,
        request: Request<proto::RenewGuestRequest>,
    ) -> Result<Response<proto::RenewGuestResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let sponsor = account_lookup(body.sponsor.as_ref(), "sponsor");
            let (sponsor, guest) = AppError::both(sponsor, guest_id(&body.guest_account_id))?;
            let account = self
                .state
                .renew_guest(sponsor, guest, &body.end_date, &ctx)
                .await?;
            Ok(proto::RenewGuestResponse {
                account: Some(encode::guest_account(&account, self.state.now())),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn end_guest(
        &self,
        request: Request<proto::EndGuestRequest>,
    ) -> Result<Response<proto::EndGuestResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let sponsor = account_lookup(body.sponsor.as_ref(), "sponsor");
            let (sponsor, guest) = AppError::both(sponsor, guest_id(&body.guest_account_id))?;
            let account = self.state.end_guest(sponsor, guest, &ctx).await?;
            Ok(proto::EndGuestResponse {
                account: Some(encode::guest_account(&account, self.state.now())),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn list_pending_invitations(
        &self,
        request: Request<proto::ListPendingInvitationsRequest>,
    ) -> Result<Response<proto::ListPendingInvitationsResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let institution = request.get_ref().institution.trim();
            let pending = self.state.pending_invitations(institution).await?;
            let now = self.state.now();
            Ok(proto::ListPendingInvitationsResponse {
                invitations: pending
                    .into_iter()
                    .map(|invitation| {
                        let pending = GuestInvitation {
                            invitation,
                            account: None,
                        };
                        shown(&pending, now, &ctx)
                    })
                    .collect(),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn decide_invitation(
        &self,
        request: Request<proto::DecideInvitationRequest>,
    ) -> Result<Response<proto::DecideInvitationResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let id = uuid::Uuid::parse_str(body.invitation_id.trim())
                .map(|_| body.invitation_id.trim())
                .map_err(|_| AppError::field("invitation_id", Problem::NotAUuid));
            let moderator =
                DeskAgent::parse(&body.moderator).map_err(|p| AppError::field("moderator", p));
            let comment = if body.comment.trim().chars().count() > MAX_REASON_CHARS {
                Err(AppError::field(
                    "comment",
                    Problem::TooLong {
                        max: MAX_REASON_CHARS,
                    },
                ))
            } else {
                Ok(body.comment.as_str())
            };
            let (id, (moderator, comment)) =
                AppError::both(id, AppError::both(moderator, comment))?;
            let moderation = Moderation {
                approve: body.approve,
                moderator: &moderator,
                comment,
            };
            let decided = self.state.decide_invitation(id, moderation, &ctx).await?;
            Ok(proto::DecideInvitationResponse {
                invitation: Some(shown(&decided, self.state.now(), &ctx)),
            })
        }
        .await;
        reply(result, &ctx)
    }
}
