//! The account page after activation over gRPC (Montpellier's "Gestion de
//! compte"): recovery address, mail redirection, consents, and the staff-only
//! directory entry and antispam level.

use ent_identity::proto;
use ent_identity::proto::account_selector::Identifier;
use tonic::Code;

use crate::support::*;

fn twice(a: &str) -> Option<proto::MailInput> {
    Some(proto::MailInput {
        address: a.into(),
        confirmation: a.into(),
    })
}

const PASSWORD: &str = "Qz7#Kp2wLm9x";

/// The person's current password, as proof that they are at the keyboard.
fn present(password: &str) -> Option<proto::PresenceProof> {
    Some(proto::PresenceProof {
        proof: Some(proto::presence_proof::Proof::CurrentPassword(
            password.into(),
        )),
    })
}

#[tokio::test]
async fn a_new_recovery_address_replaces_the_old_once_verified() {
    let app = spawn_app().await;
    let account = app
        .active_account(montpellier_staff("S0001", "Jane", "Doe"), PASSWORD)
        .await;
    let old = format!("recovery.{}@example.net", account.account_id);
    let mut settings = app.account_settings();
    let typo = settings
        .request_recovery_mail_change(proto::RequestRecoveryMailChangeRequest {
            account: by_id(&account.account_id),
            presence: present(PASSWORD),
            new_recovery_mail: Some(proto::MailInput {
                address: "jane@new.org".into(),
                confirmation: "jane@new.orh".into(),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&typo), ["new_recovery_mail.confirmation"]);
    let own = settings
        .request_recovery_mail_change(proto::RequestRecoveryMailChangeRequest {
            account: by_id(&account.account_id),
            presence: present(PASSWORD),
            new_recovery_mail: twice(&account.institutional_mail),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&own), ["new_recovery_mail.address"]);

    let sent = settings
        .request_recovery_mail_change(proto::RequestRecoveryMailChangeRequest {
            account: by_id(&account.account_id),
            presence: present(PASSWORD),
            new_recovery_mail: twice("jane@new.org"),
        })
        .await
        .expect("request")
        .into_inner();
    assert_eq!(
        sent.notice.expect("notice").masked_destination,
        "j***@n**.org"
    );
    let again = settings
        .request_recovery_mail_change(proto::RequestRecoveryMailChangeRequest {
            account: by_id(&account.account_id),
            presence: present(PASSWORD),
            new_recovery_mail: twice("jane@new.org"),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::ResourceExhausted);
    // Not in use before the link is followed.
    let before = app
        .get_account("", Identifier::AccountId(account.account_id.clone()))
        .await
        .unwrap();
    assert_eq!(before.recovery_mail, old);

    let token = link_token(
        &app.wait_for_mail_to("jane@new.org", 1).await,
        "account/recovery-mail",
    );
    let old_mails = app.mails_to(&old).len();
    let confirmed = settings
        .confirm_recovery_mail_change(proto::ConfirmRecoveryMailChangeRequest {
            token: token.clone(),
        })
        .await
        .expect("confirm")
        .into_inner();
    assert_eq!(confirmed.recovery_mail, "jane@new.org");
    let after = app
        .get_account("", Identifier::AccountId(account.account_id.clone()))
        .await
        .unwrap();
    assert_eq!(after.recovery_mail, "jane@new.org");
    // The former address is told.
    let told = app.wait_for_mail_to(&old, old_mails + 1).await;
    assert!(decoded(&told).contains("j***@n**.org"), "{told}");
    let replay = settings
        .confirm_recovery_mail_change(proto::ConfirmRecoveryMailChangeRequest { token })
        .await
        .unwrap_err();
    assert_eq!(precondition(&replay), "LINK_EXPIRED");
    let kinds: Vec<i32> = app
        .all_changes()
        .await
        .iter()
        .filter(|c| {
            c.account
                .as_ref()
                .is_some_and(|a| a.account_id == account.account_id)
        })
        .map(|c| c.kind)
        .collect();
    assert!(kinds.contains(&(proto::ChangeKind::RecoveryMailChanged as i32)));
}

#[tokio::test]
async fn mail_redirection_is_verified_unless_it_goes_to_the_recovery_address() {
    let app = spawn_app().await;
    let account = app
        .active_account(montpellier_staff("S0002", "Paul", "Martin"), PASSWORD)
        .await;
    let recovery = format!("recovery.{}@example.net", account.account_id);
    let mut redirection = app.redirection();
    let current = redirection
        .get_mail_redirect(proto::GetMailRedirectRequest {
            account: by_id(&account.account_id),
        })
        .await
        .expect("get")
        .into_inner()
        .mail_redirect
        .expect("redirect");
    assert!(!current.enabled);

    // To the verified recovery address: in force at once, no mail.
    let set = redirection
        .set_mail_redirect(proto::SetMailRedirectRequest {
            account: by_id(&account.account_id),
            presence: present(PASSWORD),
            address: twice(&recovery),
            keep_copy: true,
        })
        .await
        .expect("set")
        .into_inner();
    let redirect = set.mail_redirect.expect("redirect");
    assert!(redirect.enabled && redirect.verified && redirect.keep_copy);
    assert!(set.notice.is_none());

    // Another address waits for its link.
    let set = redirection
        .set_mail_redirect(proto::SetMailRedirectRequest {
            account: by_id(&account.account_id),
            presence: present(PASSWORD),
            address: twice("paul@elsewhere.org"),
            keep_copy: false,
        })
        .await
        .expect("set")
        .into_inner();
    assert!(!set.mail_redirect.expect("redirect").verified);
    assert!(set.notice.is_some());
    let first = link_token(
        &app.wait_for_mail_to("paul@elsewhere.org", 1).await,
        "account/redirect",
    );
    let early = redirection
        .resend_mail_redirect_verification(proto::ResendMailRedirectVerificationRequest {
            account: by_id(&account.account_id),
        })
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::ResourceExhausted);
    app.clock.advance(chrono::Duration::minutes(2));
    redirection
        .resend_mail_redirect_verification(proto::ResendMailRedirectVerificationRequest {
            account: by_id(&account.account_id),
        })
        .await
        .expect("resend");
    let second = link_token(
        &app.wait_for_mail_to("paul@elsewhere.org", 2).await,
        "account/redirect",
    );
    // The first link was replaced.
    let stale = redirection
        .verify_mail_redirect(proto::VerifyMailRedirectRequest { token: first })
        .await
        .unwrap_err();
    assert_eq!(precondition(&stale), "LINK_EXPIRED");
    let verified = redirection
        .verify_mail_redirect(proto::VerifyMailRedirectRequest { token: second })
        .await
        .expect("verify")
        .into_inner()
        .mail_redirect
        .expect("redirect");
    assert!(verified.verified && verified.address == "paul@elsewhere.org");
    let nothing = redirection
        .resend_mail_redirect_verification(proto::ResendMailRedirectVerificationRequest {
            account: by_id(&account.account_id),
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&nothing), "NOTHING_TO_VERIFY");

    // Never to the university mailbox itself.
    let r#loop = redirection
        .set_mail_redirect(proto::SetMailRedirectRequest {
            account: by_id(&account.account_id),
            presence: present(PASSWORD),
            address: twice(&account.institutional_mail),
            keep_copy: false,
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&r#loop), ["address.address"]);

    let off = redirection
        .disable_mail_redirect(proto::DisableMailRedirectRequest {
            account: by_id(&account.account_id),
        })
        .await
        .expect("disable")
        .into_inner()
        .mail_redirect
        .expect("redirect");
    assert!(!off.enabled);
    let kinds: Vec<i32> = app
        .all_changes()
        .await
        .iter()
        .filter(|c| {
            c.account
                .as_ref()
                .is_some_and(|a| a.account_id == account.account_id)
        })
        .map(|c| c.kind)
        .collect();
    assert!(kinds.contains(&(proto::ChangeKind::MailRedirectChanged as i32)));
}

#[tokio::test]
async fn a_vacataire_cannot_stop_the_redirect() {
    let app = spawn_app().await;
    let mut record = montpellier_staff("S0003", "Vera", "Cat");
    record.profile = "vacataire".into();
    let account = app.active_account(record, PASSWORD).await;
    let refused = app
        .redirection()
        .disable_mail_redirect(proto::DisableMailRedirectRequest {
            account: by_id(&account.account_id),
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&refused), "REDIRECT_MANDATORY");
    let still = app
        .redirection()
        .get_mail_redirect(proto::GetMailRedirectRequest {
            account: by_id(&account.account_id),
        })
        .await
        .expect("get")
        .into_inner()
        .mail_redirect
        .expect("redirect");
    assert!(still.enabled && still.mandatory);
}

#[tokio::test]
async fn staff_edit_their_directory_entry_and_antispam_students_may_not() {
    let app = spawn_app().await;
    let staff = app
        .active_account(montpellier_staff("S0004", "Anne", "Roux"), PASSWORD)
        .await;
    let mut settings = app.account_settings();
    let entry = settings
        .update_directory_entry(proto::UpdateDirectoryEntryRequest {
            account: by_id(&staff.account_id),
            entry: Some(proto::DirectoryEntry {
                office_phone: "04 67 14 30 30".into(),
                office_location: "Bâtiment 5, bureau 12".into(),
                web_page: "https://example.org/~aroux".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("update")
        .into_inner()
        .entry
        .expect("entry");
    assert_eq!(entry.office_phone, "+33467143030");
    let read = settings
        .get_directory_entry(proto::GetDirectoryEntryRequest {
            account: by_id(&staff.account_id),
        })
        .await
        .expect("get")
        .into_inner()
        .entry
        .expect("entry");
    assert_eq!(read, entry);
    let bad = settings
        .update_directory_entry(proto::UpdateDirectoryEntryRequest {
            account: by_id(&staff.account_id),
            entry: Some(proto::DirectoryEntry {
                office_phone: "not a phone".into(),
                web_page: "javascript:alert(1)".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["entry.office_phone", "entry.web_page"]);

    let level = settings
        .get_antispam_level(proto::GetAntispamLevelRequest {
            account: by_id(&staff.account_id),
        })
        .await
        .expect("get")
        .into_inner()
        .level;
    assert_eq!(level, proto::AntispamLevel::Medium as i32);
    let set = settings
        .set_antispam_level(proto::SetAntispamLevelRequest {
            account: by_id(&staff.account_id),
            level: proto::AntispamLevel::High as i32,
        })
        .await
        .expect("set")
        .into_inner()
        .level;
    assert_eq!(set, proto::AntispamLevel::High as i32);
    let unspecified = settings
        .set_antispam_level(proto::SetAntispamLevelRequest {
            account: by_id(&staff.account_id),
            level: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&unspecified), ["level"]);

    let student = app
        .active_account(
            proto::ProvisionRecord {
                institution: "umontpellier".into(),
                profile: "student".into(),
                student_number: "22011111".into(),
                given_name: "Tom".into(),
                family_name: "Blanc".into(),
                birth_date: "2006-04-01".into(),
                personal_mail: "tom.blanc@example.org".into(),
                ..Default::default()
            },
            PASSWORD,
        )
        .await;
    let denied = [
        settings
            .get_directory_entry(proto::GetDirectoryEntryRequest {
                account: by_id(&student.account_id),
            })
            .await
            .unwrap_err(),
        settings
            .update_directory_entry(proto::UpdateDirectoryEntryRequest {
                account: by_id(&student.account_id),
                entry: Some(proto::DirectoryEntry::default()),
            })
            .await
            .unwrap_err(),
        settings
            .get_antispam_level(proto::GetAntispamLevelRequest {
                account: by_id(&student.account_id),
            })
            .await
            .unwrap_err(),
        settings
            .set_antispam_level(proto::SetAntispamLevelRequest {
                account: by_id(&student.account_id),
                level: proto::AntispamLevel::Low as i32,
            })
            .await
            .unwrap_err(),
    ];
    // Issue 20: the same PERMISSION_DENIED as a caller without the right
    // sent portal developers to their credentials.
    for status in denied {
        assert_eq!(precondition(&status), "STAFF_ONLY", "{status:?}");
    }
}

#[tokio::test]
async fn consents_change_after_activation_and_photo_refusal_is_final() {
    let app = spawn_app().await;
    let account = app
        .active_account(
            bordeaux_student("21900010", "Lina", "Moreau"),
            "Garonne#2026!",
        )
        .await;
    let mut settings = app.account_settings();
    let update = |request: proto::UpdateConsentsRequest| {
        let mut client = app.account_settings();
        async move {
            client
                .update_consents(request)
                .await
                .map(|r| r.into_inner())
        }
    };
    let empty = update(proto::UpdateConsentsRequest {
        account: by_id(&account.account_id),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);

    // Liste rouge.
    let unlisted = update(proto::UpdateConsentsRequest {
        account: by_id(&account.account_id),
        directory_listed: Some(false),
        ..Default::default()
    })
    .await
    .expect("unlist");
    assert_eq!(
        unlisted.consents.expect("consents").directory_listed,
        Some(false)
    );

    // Crous: revocation stops future transfers only, and says so.
    let revoked = update(proto::UpdateConsentsRequest {
        account: by_id(&account.account_id),
        crous_sharing: Some(false),
        ..Default::default()
    })
    .await
    .expect("revoke");
    assert_eq!(
        revoked.consents.expect("consents").crous_sharing,
        Some(false)
    );
    assert!(
        revoked.notices.iter().any(|n| n.contains("Crous")),
        "{:?}",
        revoked.notices
    );

    // Photo refusal needs the acknowledgement, then cannot be undone.
    let unacknowledged = update(proto::UpdateConsentsRequest {
        account: by_id(&account.account_id),
        photo: Some(proto::PhotoChoice {
            refuse: true,
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_eq!(
        violations(&unacknowledged),
        ["photo.irreversibility_acknowledged"]
    );
    let refused = update(proto::UpdateConsentsRequest {
        account: by_id(&account.account_id),
        presence: present("Garonne#2026!"),
        photo: Some(proto::PhotoChoice {
            refuse: true,
            irreversibility_acknowledged: true,
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .expect("refuse");
    let consents = refused.consents.expect("consents");
    assert!(consents.photo_refused && consents.photo_uses.is_empty());
    assert!(!refused.notices.is_empty());
    let undo = update(proto::UpdateConsentsRequest {
        account: by_id(&account.account_id),
        photo: Some(proto::PhotoChoice {
            uses: vec![proto::PhotoUse::CardReprint as i32],
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_eq!(precondition(&undo), "PHOTO_REFUSAL_IRREVERSIBLE");
    let read = settings
        .get_consents(proto::GetConsentsRequest {
            account: by_id(&account.account_id),
        })
        .await
        .expect("get")
        .into_inner()
        .consents
        .expect("consents");
    assert!(read.photo_refused);

    // The feed asks for the photo's deletion, once.
    let deletions = app
        .all_changes()
        .await
        .iter()
        .filter(|c| {
            c.kind == proto::ChangeKind::PhotoDeletionRequested as i32
                && c.account
                    .as_ref()
                    .is_some_and(|a| a.account_id == account.account_id)
        })
        .count();
    assert_eq!(deletions, 1);

    // Montpellier staff are never asked about the Crous.
    let staff = app
        .active_account(montpellier_staff("S0005", "Noé", "Faure"), PASSWORD)
        .await;
    let not_offered = update(proto::UpdateConsentsRequest {
        account: by_id(&staff.account_id),
        crous_sharing: Some(true),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_eq!(precondition(&not_offered), "CONSENT_NOT_OFFERED");
}

/// Finding 1 of issue 19: with a portal token alone, an attacker moved a
/// victim's recovery address to their own mailbox, then reset the password.
/// Sensitive changes now need the person's current password or a step-up
/// token from `ConfirmPresence`, single use and bound to the account.
#[tokio::test]
async fn a_portal_token_alone_cannot_take_an_account_over() {
    let app = spawn_app().await;
    let victim = app
        .active_account(montpellier_staff("S0101", "Eve", "Victim"), PASSWORD)
        .await;
    let mut settings = app.account_settings();
    let hijack = settings
        .request_recovery_mail_change(proto::RequestRecoveryMailChangeRequest {
            account: by_id(&victim.account_id),
            new_recovery_mail: twice("mallory@evil.example"),
            presence: None,
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&hijack), ["presence"]);
    let guessed = settings
        .request_recovery_mail_change(proto::RequestRecoveryMailChangeRequest {
            account: by_id(&victim.account_id),
            new_recovery_mail: twice("mallory@evil.example"),
            presence: present("Password-Guess-1"),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&guessed), ["presence.current_password"]);
    let redirect = app
        .redirection()
        .set_mail_redirect(proto::SetMailRedirectRequest {
            account: by_id(&victim.account_id),
            address: twice("mallory@evil.example"),
            keep_copy: false,
            presence: None,
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&redirect), ["presence"]);
    let photo = settings
        .update_consents(proto::UpdateConsentsRequest {
            account: by_id(&victim.account_id),
            photo: Some(proto::PhotoChoice {
                refuse: true,
                irreversibility_acknowledged: true,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await;
    // Staff of this profile are not asked about photos; either way, no
    // irreversible refusal without the person.
    assert!(photo.is_err());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.mails_to("mallory@evil.example").is_empty());

    // The person, present, confirms once and changes the address.
    let step_up = settings
        .confirm_presence(proto::ConfirmPresenceRequest {
            account: by_id(&victim.account_id),
            current_password: PASSWORD.into(),
        })
        .await
        .expect("step-up")
        .into_inner();
    assert!(step_up.expires_at.is_some());
    let with_token = |token: &str| proto::RequestRecoveryMailChangeRequest {
        account: by_id(&victim.account_id),
        new_recovery_mail: twice("eve@home.example"),
        presence: Some(proto::PresenceProof {
            proof: Some(proto::presence_proof::Proof::StepUpToken(token.into())),
        }),
    };
    settings
        .request_recovery_mail_change(with_token(&step_up.step_up_token))
        .await
        .expect("the person changes it");
    app.clock.advance(chrono::Duration::minutes(3));
    let replayed = settings
        .request_recovery_mail_change(with_token(&step_up.step_up_token))
        .await
        .unwrap_err();
    assert_eq!(violations(&replayed), ["presence.step_up_token"]);
}
