//! HelpdeskService: the desk's lookups and hand-overs (`app::helpdesk`),
//! decoded and encoded.

use tonic::{Request, Response, Status};

use super::{App, account_lookup, begin_call, encode, reply};
use crate::app::AppError;
use crate::app::helpdesk::{DeskActivation, DeskSearch};
use crate::domain::account::Account;
use crate::domain::helpdesk::{DeskAgent, WrittenRequest};
use crate::domain::ids::{BirthDate, PersonName};
use crate::domain::problem::{Problem, Violation};
use crate::proto;
use crate::proto::helpdesk_service_server::HelpdeskService;
use crate::services::lifecycle::directory_attributes;
use crate::store::accounts::AccountLookup;

pub struct HelpdeskApi {
    state: App,
}

impl HelpdeskApi {
    pub fn new(state: App) -> Self {
        Self { state }
    }
}

/// The agent and the search of a request, every field violation at once.
fn desk_request<'a>(
    body: &'a proto::FindPersonRequest,
    state: &App,
) -> Result<(DeskAgent, DeskSearch<'a>), AppError> {
    use proto::find_person_request::Search;
    let agent = DeskAgent::parse(&body.agent).map_err(|p| AppError::field("agent", p));
    let search = match &body.search {
        None => Err(AppError::field("search", Problem::Missing)),
        Some(Search::Account(selector)) => {
            account_lookup(Some(selector), "account").map(DeskSearch::Account)
        }
        Some(Search::NameAndBirthDate(n)) => name_and_birth_date(n, state),
    };
    AppError::both(agent, search)
}

/// The agent and the account of a desk action, both fields' violations at
/// once.
fn agent_and_account<'a>(
    agent: &str,
    account: Option<&'a proto::AccountSelector>,
) -> Result<(DeskAgent, AccountLookup<'a>), AppError> {
    let agent = DeskAgent::parse(agent).map_err(|p| AppError::field("agent", p));
    AppError::both(agent, account_lookup(account, "account"))
}

fn name_and_birth_date<'a>(
    n: &'a proto::NameAndBirthDate,
    state: &App,
) -> Result<DeskSearch<'a>, AppError> {
    let field = |name: &str| format!("name_and_birth_date.{name}");
    let mut violations = Vec::new();
    let institution = n.institution.trim();
    if institution.is_empty() {
        violations.push(Violation::new(field("institution"), Problem::Missing));
    }
    let family_name = PersonName::parse(&n.family_name)
        .map_err(|p| violations.push(Violation::new(field("family_name"), p)))
        .ok();
    let born = BirthDate::parse(&n.birth_date, state.now().date_naive())
        .map_err(|p| violations.push(Violation::new(field("birth_date"), p)))
        .ok();
    match (family_name, born) {
        (Some(family_name), Some(born)) if violations.is_empty() => {
            Ok(DeskSearch::NameAndBirthDate {
                institution,
                family_name,
                born: born.date(),
            })
        }
        _ => Err(AppError::InvalidArgument(violations)),
    }
}

#[tonic::async_trait]
impl HelpdeskService for HelpdeskApi {
    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn find_person(
        &self,
        request: Request<proto::FindPersonRequest>,
    ) -> Result<Response<proto::FindPersonResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let (agent, search) = desk_request(request.get_ref(), &self.state)?;
            let people = self.state.find_person(&agent, search, &ctx).await?;
            let now = self.state.now();
            Ok(proto::FindPersonResponse {
                people: people
                    .iter()
                    .map(|person| encode::person_at_desk(person, now))
                    .collect(),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn issue_desk_password_reset(
        &self,
        request: Request<proto::IssueDeskPasswordResetRequest>,
    ) -> Result<Response<proto::IssueDeskPasswordResetResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let (agent, lookup) = agent_and_account(&body.agent, body.account.as_ref())?;
            let (account, link) = self.state.issue_desk_reset(&agent, lookup, &ctx).await?;
            Ok(proto::IssueDeskPasswordResetResponse {
                person: Some(encode::person_at_desk(&account, self.state.now())),
                reset_token: link.token.expose().to_owned(),
                reset_url: link.url,
                expires_at: Some(encode::timestamp(link.expires_at)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn request_desk_recovery_mail_change(
        &self,
        request: Request<proto::RequestDeskRecoveryMailChangeRequest>,
    ) -> Result<Response<proto::RequestDeskRecoveryMailChangeResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let (agent, lookup) = agent_and_account(&body.agent, body.account.as_ref())?;
            let address = super::inputs::required_mail_input(
                body.new_recovery_mail.as_ref(),
                "new_recovery_mail",
            )?;
            let (account, sent) = self
                .state
                .desk_recovery_mail_change(&agent, lookup, &address, &ctx)
                .await?;
            Ok(proto::RequestDeskRecoveryMailChangeResponse {
                person: Some(encode::person_at_desk(&account, self.state.now())),
                notice: Some(encode::notice(sent)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn issue_desk_activation(
        &self,
        request: Request<proto::IssueDeskActivationRequest>,
    ) -> Result<Response<proto::IssueDeskActivationResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let desk = agent_and_account(&body.agent, body.account.as_ref());
            let send_to = body
                .send_to
                .as_ref()
                .map(|m| super::inputs::mail_input(m, "send_to"))
                .transpose()
                .map_err(|v| AppError::InvalidArgument(vec![v]));
            let ((agent, lookup), send_to) = AppError::both(desk, send_to)?;
            let (account, hand_over) = self
                .state
                .issue_desk_activation(&agent, (lookup, send_to.as_ref()), &ctx)
                .await?;
            let mut answer = proto::IssueDeskActivationResponse {
                person: Some(encode::person_at_desk(&account, self.state.now())),
                ..Default::default()
            };
            match hand_over {
                DeskActivation::Material(material) => {
                    answer.activation_material = Some(encode::material(&material));
                }
                DeskActivation::Link(link) => {
                    answer.activation_link = Some(proto::DeskActivationLink {
                        token: link.token.expose().to_owned(),
                        url: link.url,
                        expires_at: Some(encode::timestamp(link.expires_at)),
                    });
                }
                DeskActivation::Mailed(sent) => answer.notice = Some(encode::notice(sent)),
            }
            Ok(answer)
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn export_personal_data_on_request(
        &self,
        request: Request<proto::ExportPersonalDataOnRequestRequest>,
    ) -> Result<Response<proto::ExportPersonalDataOnRequestResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.get_ref();
            let desk = agent_and_account(&body.agent, body.account.as_ref());
            let reference = WrittenRequest::parse(&body.written_request)
                .map_err(|p| AppError::field("written_request", p));
            let ((agent, lookup), reference) = AppError::both(desk, reference)?;
            let directory = |a: &Account| directory_attributes(&self.state, a, &ctx);
            let copy = self
                .state
                .export_on_written_request(&agent, lookup, &reference, &directory, &ctx)
                .await?;
            Ok(proto::ExportPersonalDataOnRequestResponse {
                person: Some(encode::person_at_desk(&copy.account, self.state.now())),
                copy: Some(encode::personal_data(copy)),
            })
        }
        .await;
        reply(result, &ctx)
    }
}
