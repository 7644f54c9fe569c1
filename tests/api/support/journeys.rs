//! Clients of the test server, and whole journeys (an account activated
//! as its person would, a password planted behind the server's back).

use super::*;

impl TestApp {
    /// The address the server listens on.
    pub fn channel_address(&self) -> std::net::SocketAddr {
        self.address
    }

    /// A connection as the admin client (every RPC).
    pub fn conn(&self) -> Conn {
        authed(&self.channel, "admin", None)
    }

    /// A connection as the portal, acting for the end user at `address`.
    pub fn portal_for(&self, address: &str) -> Conn {
        authed(&self.channel, "portal", Some(address))
    }

    pub fn activation(&self) -> ActivationServiceClient<Conn> {
        ActivationServiceClient::new(self.conn())
    }

    pub fn account_settings(&self) -> AccountSettingsServiceClient<Conn> {
        AccountSettingsServiceClient::new(self.conn())
    }

    pub fn recovery(&self) -> proto::recovery_service_client::RecoveryServiceClient<Conn> {
        proto::recovery_service_client::RecoveryServiceClient::new(self.conn())
    }

    pub fn redirection(
        &self,
    ) -> proto::mail_redirection_service_client::MailRedirectionServiceClient<Conn> {
        proto::mail_redirection_service_client::MailRedirectionServiceClient::new(self.conn())
    }

    /// Whether `password` is the account's password (`VerifyPassword`).
    pub async fn password_valid(&self, account_id: &str, password: &str) -> bool {
        self.account_settings()
            .verify_password(proto::VerifyPasswordRequest {
                account: by_id(account_id),
                password: password.into(),
            })
            .await
            .expect("verify")
            .into_inner()
            .valid
    }

    /// A provisioned account taken through its real activation journey;
    /// its verified recovery address is `recovery.<account id>@example.net`.
    /// HR or enrolment reports the last day of activity.
    pub async fn depart(
        &self,
        account_id: &str,
        end: &str,
    ) -> Result<proto::Account, tonic::Status> {
        self.lifecycle
            .clone()
            .record_end_of_activity(proto::RecordEndOfActivityRequest {
                account: super::by_id(account_id),
                end_date: end.into(),
                reason: "fin de contrat".into(),
            })
            .await
            .map(|r| r.into_inner().account.expect("account"))
    }

    pub async fn batch(
        &self,
        request: proto::RunExpiryBatchRequest,
    ) -> proto::RunExpiryBatchResponse {
        self.lifecycle
            .clone()
            .run_expiry_batch(request)
            .await
            .expect("batch")
            .into_inner()
    }

    /// Starts a flow with a key (printed on a certificate, or mailed for
    /// a forgotten password at Bordeaux Montaigne).
    pub async fn start_with_key(
        &self,
        institution: &str,
        login: &str,
        key: &str,
    ) -> Result<proto::StartActivationResponse, tonic::Status> {
        self.activation()
            .start_activation(proto::StartActivationRequest {
                institution: institution.into(),
                entry: Some(proto::start_activation_request::Entry::Key(
                    proto::KeyEntry {
                        login: login.into(),
                        activation_key: key.into(),
                    },
                )),
            })
            .await
            .map(|r| r.into_inner())
    }

    /// The whole expiry batch as of `at`, `chunk_size` accounts per
    /// transaction (0: the configured size).
    pub async fn batch_as_of(
        &self,
        at: DateTime<Utc>,
        chunk_size: u32,
    ) -> proto::RunExpiryBatchResponse {
        self.batch(proto::RunExpiryBatchRequest {
            as_of: Some(prost_types::Timestamp {
                seconds: at.timestamp(),
                nanos: 0,
            }),
            chunk_size,
            ..Default::default()
        })
        .await
    }

    /// Moves the clock to noon on `day` and runs the whole expiry batch
    /// as of then.
    pub async fn batch_on(&self, day: &str) -> proto::RunExpiryBatchResponse {
        let at = super::noon(super::date(day));
        self.clock.set(at);
        self.batch_as_of(at, 0).await
    }

    pub async fn active_account(
        &self,
        record: proto::ProvisionRecord,
        password: &str,
    ) -> proto::Account {
        let provisioned = self.provision(record).await.expect("provision");
        self.activate(&provisioned, password).await;
        let id = provisioned.account.expect("account").account_id;
        self.get_account("", proto::account_selector::Identifier::AccountId(id))
            .await
            .expect("account")
    }

    /// Runs the account's real activation journey over gRPC with `password`,
    /// whatever its institution: the entry its profile uses (reading the
    /// mailed link or the SMS code), then every screen with ordinary answers
    /// (a recovery address, the charter, consents, no redirect unless
    /// mandatory), verifications through the delivered mail.
    /// Returns the flow's token.
    pub async fn activate(
        &self,
        provisioned: &proto::ProvisionAccountResponse,
        password: &str,
    ) -> String {
        self.activate_answering(provisioned, password, false).await
    }

    /// [`TestApp::activate`], refusing every use of the photo when
    /// `refuse_photo` says so.
    pub async fn activate_answering(
        &self,
        provisioned: &proto::ProvisionAccountResponse,
        password: &str,
        refuse_photo: bool,
    ) -> String {
        use proto::start_activation_request::Entry;
        use proto::{ActivationMessageKind as K, ActivationStep as S};
        let account = provisioned.account.as_ref().expect("account");
        let opens = account.activation_available_at.expect("opening").seconds;
        let now = ent_identity::app::clock::Clock::now(&self.clock).timestamp();
        if now < opens {
            self.clock.advance(chrono::Duration::seconds(opens - now));
        }
        let material = provisioned.activation_material.clone().unwrap_or_default();
        let entry = match proto::ActivationChannel::try_from(material.channel) {
            Ok(proto::ActivationChannel::ActivationKey) => Entry::Key(proto::KeyEntry {
                login: account.login.clone(),
                activation_key: material.activation_key,
            }),
            Ok(proto::ActivationChannel::ProvisionalPassword) => {
                Entry::ProvisionalPassword(proto::ProvisionalPasswordEntry {
                    login: account.login.clone(),
                    provisional_password: material.provisional_password,
                })
            }
            Ok(proto::ActivationChannel::MailedLink) => {
                let mail = self.wait_for_mail_to(&account.personal_mail, 1).await;
                Entry::Link(proto::LinkEntry {
                    token: link_token(&mail, "link"),
                })
            }
            _ => Entry::IdentityMatch(proto::IdentityMatchEntry {
                student_number: account.student_number.clone(),
                ine: account.ine.clone(),
                mobile_phone: account.mobile_phone.clone(),
                ..Default::default()
            }),
        };
        let mut client = self.activation();
        let started = client
            .start_activation(proto::StartActivationRequest {
                institution: account.institution.clone(),
                entry: Some(entry),
            })
            .await
            .expect("start activation")
            .into_inner();
        let token = started.flow_token;
        let mut flow = started.flow.expect("flow");
        let recovery = format!("recovery.{}@example.net", account.account_id);
        while flow.completion.is_none() {
            if let Some(pending) = &flow.pending_verification {
                let code = if pending.kind == K::IdentityCode as i32 {
                    let sms = self.wait_for_sms(1).await;
                    code_in(&sms.last().expect("sms").1)
                } else {
                    code_in(&self.wait_for_mail_to(&recovery, 1).await)
                };
                flow = client
                    .verify_activation_code(proto::VerifyActivationCodeRequest {
                        flow_token: token.clone(),
                        code,
                    })
                    .await
                    .expect("verify")
                    .into_inner()
                    .flow
                    .expect("flow");
                continue;
            }
            let mut request = proto::SubmitActivationScreenRequest {
                flow_token: token.clone(),
                ..Default::default()
            };
            let pair = |a: &str| proto::MailInput {
                address: a.into(),
                confirmation: a.into(),
            };
            for step in &flow.screens[flow.current_screen as usize].steps {
                match S::try_from(*step).expect("step") {
                    S::RecoveryMail => request.recovery_mail = Some(pair(&recovery)),
                    S::Charter => {
                        request.charter = Some(proto::CharterAcceptance {
                            version: flow.charter.clone().expect("charter").version,
                            accepted: true,
                        })
                    }
                    S::DirectoryListing => request.directory_listed = Some(true),
                    S::PhotoUse if refuse_photo => {
                        request.photo = Some(proto::PhotoChoice {
                            refuse: true,
                            irreversibility_acknowledged: true,
                            ..Default::default()
                        })
                    }
                    S::PhotoUse => {
                        request.photo = Some(proto::PhotoChoice {
                            uses: vec![proto::PhotoUse::CardReprint as i32],
                            ..Default::default()
                        })
                    }
                    S::CrousSharing => request.crous_sharing = Some(true),
                    S::MailRedirect => {
                        request.mail_redirect = Some(proto::RedirectInput {
                            enabled: flow.mail_redirect_mandatory,
                            address: flow
                                .mail_redirect_mandatory
                                .then(|| pair(&flow.mail_redirect_default_address)),
                            keep_copy: true,
                        })
                    }
                    S::Names => {
                        request.names = Some(proto::NamesInput {
                            given_name: account.given_name.clone(),
                            family_name: account.family_name.clone(),
                        })
                    }
                    S::Password => {
                        request.password = Some(proto::PasswordInput {
                            password: password.into(),
                            confirmation: password.into(),
                        })
                    }
                    other => panic!("unexpected item {other:?}"),
                }
            }
            let answer = client
                .submit_activation_screen(request)
                .await
                .expect("submit screen")
                .into_inner();
            flow = answer.flow.expect("flow");
            if flow.completion.is_some() && answer.notice.is_some() {
                // A recovery address confirmed after activation (Bordeaux):
                // follow the mailed link, as its owner would.
                let mail = self.wait_for_mail_to(&recovery, 1).await;
                self.account_settings()
                    .confirm_recovery_mail_change(proto::ConfirmRecoveryMailChangeRequest {
                        token: link_token(&mail, "account/recovery-mail"),
                    })
                    .await
                    .expect("confirm the recovery address");
            }
        }
        token
    }

    /// Plants a password hashed with other argon2 parameters on an active
    /// account, behind the server's back (to test hash upgrades).
    pub async fn plant_password(
        &self,
        account_id: &str,
        password: &str,
        hashing: ent_identity::config::PasswordHashingSettings,
    ) {
        use ent_identity::domain::password::Password;
        use ent_identity::store::passwords::NewPassword;
        let hasher = ent_identity::hashing::PasswordHasher::start(&hashing).expect("hasher");
        let hash = hasher
            .hash(Arc::new(Password::new(password.to_owned())))
            .await
            .expect("hash");
        let store = self.store().await;
        let account = store
            .find_account(ent_identity::store::accounts::AccountLookup::Id(account_id))
            .await
            .expect("read")
            .expect("account");
        let policy = self
            .settings
            .institutions
            .get(&account.institution)
            .expect("institution")
            .password_policy(&account.profile);
        let now = ent_identity::app::clock::Clock::now(&self.clock);
        store
            .set_password(
                NewPassword {
                    account_id,
                    replaces: None,
                    hash: &hash,
                    expires_at: ent_identity::domain::password::expires_at(&policy, now),
                    reminder_at: None,
                    history_count: policy.history_count,
                    action: "password.set_by_test",
                    spend: None,
                    messages: Vec::new(),
                },
                &ent_identity::store::AuditContext {
                    actor: "test".into(),
                    request_id: "test".into(),
                },
                now,
            )
            .await
            .expect("set password");
        use ent_identity::store::entities::account;
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        account::Entity::update_many()
            .col_expr(account::Column::Status, Expr::value("active"))
            .col_expr(account::Column::ActivatedAt, Expr::value(now))
            .filter(account::Column::Id.eq(account_id))
            .exec(store.connection())
            .await
            .expect("activate");
    }
}
