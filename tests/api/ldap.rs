//! The LDAP sync worker against a real OpenLDAP (Debian's slapd with the
//! argon2 module and the SupAnn schema, `support/slapd.rs`): what the
//! directory says, through binds and searches, at each step of accounts'
//! lives.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ent_identity::app::clock::Clock;
use ent_identity::ldap_sync::metrics::Metrics;
use ent_identity::ldap_sync::{
    InstitutionDirectory, LdapSyncSettings, LockMode, PurgeMode, Worker, resync,
};
use ent_identity::proto;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::slapd::{ADMIN_DN, ADMIN_PASSWORD, SUFFIX, Slapd, SlapdTls};
use crate::support::*;

const CURSOR_DN: &str = "cn=ent-identity-sync,dc=univ,dc=test";

/// The branch of each example institution.
const BRANCHES: [(&str, &str); 3] = [
    ("u-bordeaux-montaigne", "ubm"),
    ("umontpellier", "um"),
    ("univ-tours", "tours"),
];

fn people(branch: &str) -> String {
    format!("ou={branch},{SUFFIX}")
}

fn settings(app: &TestApp, slapd: &Slapd, lock: LockMode, purge: PurgeMode) -> LdapSyncSettings {
    let folder = slapd.folder();
    std::fs::write(folder.join("token"), test_token("ldap_sync")).expect("token file");
    std::fs::write(folder.join("password"), ADMIN_PASSWORD).expect("password file");
    let institutions = BRANCHES
        .iter()
        .map(|(code, branch)| {
            let directory = InstitutionDirectory {
                people_base: people(branch),
                rdn_attribute: "uid".into(),
                object_classes: [
                    "inetOrgPerson",
                    "eduPerson",
                    "supannPerson",
                    "supannRessource",
                ]
                .map(String::from)
                .to_vec(),
                principal_domain: Some(format!("{branch}.fr")),
                etablissement: Some("{UAI}0000000A".into()),
                affiliations: BTreeMap::new(),
            };
            ((*code).to_owned(), directory)
        })
        .collect();
    LdapSyncSettings {
        api_url: format!("http://{}", app.channel_address()),
        api_token_file: folder.join("token"),
        api_ca_file: None,
        api_client_certificate_file: None,
        api_client_key_file: None,
        url: slapd.url.clone(),
        starttls: false,
        ca_file: None,
        bind_dn: ADMIN_DN.into(),
        bind_password_file: folder.join("password"),
        cursor_dn: CURSOR_DN.into(),
        lock,
        purge,
        omit_attributes: vec!["mailDeliveryOption".into()],
        esup_activ: false,
        poll_interval: Duration::from_millis(50),
        lease: Duration::from_secs(5),
        metrics_listen: None,
        max_backoff: Duration::from_millis(500),
        institutions,
    }
}

/// A worker following the feed in the background; stopped when dropped.
struct Running {
    task: Option<JoinHandle<()>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Running {
    fn start(worker: Arc<Worker>) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            worker
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Running {
            task: Some(task),
            stop: Some(stop),
        }
    }

    /// Stops it as a kill would: wherever it is.
    fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A private slapd holding the three universities' branches, and a server;
/// `None` where slapd is missing outside CI.
async fn directory_and_server(ppolicy: bool) -> Option<(Slapd, TestApp)> {
    let branches: Vec<&str> = BRANCHES.iter().map(|(_, b)| *b).collect();
    let slapd = Slapd::start(&branches, ppolicy).await?;
    // The worker polls in real time while the tests' clock jumps months
    // ahead: between its polls it would look silent for months, and the
    // feed would forget what it has not read.
    let silence = (
        "ENT_IDENTITY__RETENTION__FEED_READER_SILENCE".to_owned(),
        "3650days".to_owned(),
    );
    Some((slapd, spawn_app_with(vec![silence], true).await))
}

/// The settings with the default modes: passwords removed by locks,
/// tombstones.
fn default_settings(app: &TestApp, slapd: &Slapd) -> LdapSyncSettings {
    settings(app, slapd, LockMode::RemovePassword, PurgeMode::Tombstone)
}

/// A worker with `settings`, running in the background.
fn run_worker(settings: LdapSyncSettings) -> (Running, Metrics) {
    let worker = Arc::new(Worker::new(settings).expect("worker"));
    let metrics = worker.metrics();
    (Running::start(worker), metrics)
}

/// Waits until the directory's cursor is the feed's last change.
async fn synced(app: &TestApp, slapd: &Slapd) {
    let last = Some(app.last_cursor().await);
    for _ in 0..400 {
        let cursor = slapd
            .entry(CURSOR_DN)
            .await
            .and_then(|e| e.get("serialNumber").and_then(|d| d.first().cloned()));
        if cursor == last {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the worker did not catch up with the feed ({last:?})");
}

fn one(entry: &std::collections::HashMap<String, Vec<String>>, name: &str) -> String {
    entry
        .get(name)
        .and_then(|v| v.first().cloned())
        .unwrap_or_default()
}

async fn lock(app: &TestApp, id: &str, locked: bool) {
    app.lifecycle
        .clone()
        .set_account_lock(proto::SetAccountLockRequest {
            account: by_id(id),
            locked,
            reason: "compte compromis".into(),
        })
        .await
        .expect("lock");
}

async fn change_password(app: &TestApp, login: &str, current: &str, new: &str) {
    app.account_settings()
        .change_password(proto::ChangePasswordRequest {
            account: Some(proto::AccountSelector {
                institution: "umontpellier".into(),
                identifier: Some(proto::account_selector::Identifier::Login(login.into())),
            }),
            current_password: current.into(),
            new_password: Some(proto::PasswordInput {
                password: new.into(),
                confirmation: new.into(),
            }),
        })
        .await
        .expect("password changed");
}

async fn batch_on(app: &TestApp, day: &str) {
    app.clock.set(noon(date(day)));
    app.batch(proto::RunExpiryBatchRequest {
        institution: "umontpellier".into(),
        ..Default::default()
    })
    .await;
}

/// A Montpellier staff member's whole life, as the directory sees it.
#[tokio::test]
async fn the_directory_follows_a_staff_members_life() {
    let Some((slapd, app)) = directory_and_server(false).await else {
        return;
    };
    let (_running, _) = run_worker(default_settings(&app, &slapd));

    let provisioned = app
        .provision(montpellier_staff("RH-LDAP-1", "Camille", "Annuaire"))
        .await
        .expect("provision");
    let account = provisioned.account.clone().expect("account");
    let dn = format!("uid={},{}", account.login, people("um"));
    synced(&app, &slapd).await;
    let entry = slapd.entry(&dn).await.expect("created entry");
    assert!(one(&entry, "supannRessourceEtat").starts_with("{COMPTE}I:Supann"));
    assert_eq!(one(&entry, "sn"), "Annuaire");
    assert_eq!(one(&entry, "cn"), "Camille Annuaire");
    assert_eq!(one(&entry, "supannEmpId"), "RH-LDAP-1");
    assert!(
        !entry.contains_key("userPassword"),
        "nothing binds before activation"
    );

    let password = "Qz7#Kp2wLm9x";
    app.activate(&provisioned, password).await;
    synced(&app, &slapd).await;
    let entry = slapd.entry(&dn).await.expect("entry");
    assert_eq!(one(&entry, "supannRessourceEtat"), "{COMPTE}A:SupannActif");
    assert!(!one(&entry, "supannMailPerso").is_empty());
    assert!(entry.contains_key("supannListeRouge"));
    assert_eq!(
        entry.get("eduPersonAffiliation").map(Vec::len),
        Some(3),
        "{entry:?}"
    );
    assert_eq!(one(&entry, "eduPersonPrincipalName"), account.login);
    assert!(
        slapd.binds(&dn, password).await,
        "the activation password binds"
    );
    assert!(!slapd.binds(&dn, "Wrong#Pass2026").await);

    let new_password = "Xv9!Lm3#Qp7z";
    change_password(&app, &account.login, password, new_password).await;
    synced(&app, &slapd).await;
    assert!(
        slapd.binds(&dn, new_password).await,
        "the new password binds"
    );
    assert!(!slapd.binds(&dn, password).await, "the old one does not");

    lock(&app, &account.account_id, true).await;
    synced(&app, &slapd).await;
    let entry = slapd.entry(&dn).await.expect("entry");
    assert_eq!(
        one(&entry, "supannRessourceEtat"),
        "{COMPTE}S:SupannVerrouille"
    );
    assert!(
        !slapd.binds(&dn, new_password).await,
        "nothing binds under a lock"
    );
    lock(&app, &account.account_id, false).await;
    synced(&app, &slapd).await;
    assert!(
        slapd.binds(&dn, new_password).await,
        "the unlock gives it back"
    );

    app.depart(&account.account_id, "2026-09-30")
        .await
        .expect("depart");
    batch_on(&app, "2026-10-02").await;
    synced(&app, &slapd).await;
    let entry = slapd.entry(&dn).await.expect("entry");
    assert_eq!(one(&entry, "supannRessourceEtat"), "{COMPTE}A:SupannSursis");
    assert_eq!(one(&entry, "supannEmpDateFin"), "20260930000000Z");
    assert!(
        slapd.binds(&dn, new_password).await,
        "limited access still binds"
    );

    for day in ["2027-12-31", "2029-12-31"] {
        batch_on(&app, day).await;
    }
    synced(&app, &slapd).await;
    let entry = slapd.entry(&dn).await.expect("tombstone");
    assert_eq!(
        one(&entry, "supannRessourceEtat"),
        "{COMPTE}I:SupannSupprDonnees"
    );
    assert_eq!(one(&entry, "sn"), account.login);
    assert!(!entry.contains_key("givenName"));
    assert!(!entry.contains_key("supannEmpId"));
    assert!(
        !slapd.binds(&dn, new_password).await,
        "nothing binds after expiry"
    );
}

/// A worker killed in the middle of the feed and started again applies
/// everything, in order: each entry ends as its last change left it.
#[tokio::test]
async fn a_worker_killed_mid_stream_loses_nothing_when_restarted() {
    let Some((slapd, app)) = directory_and_server(false).await else {
        return;
    };
    let count = 120;
    for i in 0..count {
        app.provision(bordeaux_student(&format!("2450{i:04}"), "Jean", "Avant"))
            .await
            .expect("provision");
    }
    // Each account changes again: its entry must end with the later name.
    for i in 0..count {
        app.provision(bordeaux_student(&format!("2450{i:04}"), "Jean", "Apres"))
            .await
            .expect("update");
    }
    let (running, _) = run_worker(default_settings(&app, &slapd));
    // Kill it once it is well into the feed.
    let mut seen = 0;
    for _ in 0..400 {
        seen = slapd.children(&people("ubm")).await.len();
        if seen >= 30 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.kill();
    assert!(seen >= 30, "the worker made no progress");
    let cursor = slapd.entry(CURSOR_DN).await.expect("cursor kept");
    let last = app.last_cursor().await;
    assert_ne!(one(&cursor, "serialNumber"), last, "killed before the end");

    // Started again as new processes: two at once, one of them waiting for
    // the killed worker's lease to expire, then one writing at a time.
    let again = || run_worker(default_settings(&app, &slapd)).0;
    let (_first, _second) = (again(), again());
    for i in 0..10 {
        app.provision(bordeaux_student(&format!("2450{i:04}"), "Jean", "Enfin"))
            .await
            .expect("update");
    }
    synced(&app, &slapd).await;
    let entries = slapd.children(&people("ubm")).await;
    assert_eq!(entries.len(), count);
    let mut last_names = std::collections::BTreeMap::new();
    for dn in entries {
        let entry = slapd.entry(&dn).await.expect("entry");
        *last_names.entry(one(&entry, "sn")).or_insert(0) += 1;
    }
    assert_eq!(
        last_names,
        std::collections::BTreeMap::from([
            ("Apres".to_string(), count - 10),
            ("Enfin".to_string(), 10)
        ])
    );
}

/// `--resync` fills an empty directory, puts drift right, and a second run
/// changes nothing.
#[tokio::test]
async fn a_resync_fills_an_empty_directory_and_repairs_drift() {
    let Some((slapd, app)) = directory_and_server(false).await else {
        return;
    };
    let mut dns = Vec::new();
    for i in 0..4 {
        let p = app
            .provision(montpellier_staff(
                &format!("RH-RS-{i}"),
                "Alex",
                &format!("Resync{}", "abcd".as_bytes()[i] as char),
            ))
            .await
            .expect("provision");
        dns.push(format!(
            "uid={},{}",
            p.account.clone().expect("account").login,
            people("um")
        ));
        if i == 0 {
            app.activate(&p, "Qz7#Kp2wLm9x").await;
        }
    }
    let worker = Worker::new(default_settings(&app, &slapd)).expect("worker");
    let lines = resync(&worker, None).await.expect("resync");
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines.iter().all(|l| l.starts_with("added uid=")),
        "{lines:?}"
    );
    assert!(slapd.binds(&dns[0], "Qz7#Kp2wLm9x").await);
    let last = app.last_cursor().await;
    let cursor = slapd.entry(CURSOR_DN).await.expect("cursor");
    assert_eq!(
        one(&cursor, "serialNumber"),
        last,
        "the feed goes on from here"
    );
    // Another process (another worker id) at once: the lease was given back.
    let another = Worker::new(default_settings(&app, &slapd)).expect("worker");
    assert!(resync(&another, None).await.expect("again").is_empty());

    // Drift: someone edits one entry and deletes another.
    let mut admin = slapd.admin().await;
    let state = std::collections::HashSet::from(["{COMPTE}A:SupannActif".to_string()]);
    admin
        .modify(
            &dns[1],
            vec![ldap3::Mod::Replace(
                "supannRessourceEtat".to_string(),
                state,
            )],
        )
        .await
        .and_then(|r| r.success())
        .expect("drift");
    admin
        .delete(&dns[2])
        .await
        .and_then(|r| r.success())
        .expect("delete");
    let mut lines = resync(&worker, Some("umontpellier")).await.expect("repair");
    lines.sort();
    let mut expected = vec![
        format!("modified {}: supannRessourceEtat", dns[1]),
        format!("added {}", dns[2]),
    ];
    expected.sort();
    assert_eq!(lines, expected);
    assert!(resync(&worker, None).await.expect("again").is_empty());
}

/// With ppolicy, a lock sets `pwdAccountLockedTime` and keeps the password;
/// with `purge = "delete"`, the purge deletes the entry; with `esup_activ`,
/// `shadowLastChange` appears with the activation.
#[tokio::test]
async fn ppolicy_locks_and_purges_delete_where_configured() {
    let Some((slapd, app)) = directory_and_server(true).await else {
        return;
    };
    let mut with_ppolicy = settings(&app, &slapd, LockMode::Ppolicy, PurgeMode::Delete);
    with_ppolicy.esup_activ = true;
    let (_running, _) = run_worker(with_ppolicy);
    let password = "Qz7#Kp2wLm9x";
    let provisioned = app
        .provision(montpellier_staff("RH-PP-1", "Dominique", "Verrou"))
        .await
        .expect("provision");
    let account = provisioned.account.clone().expect("account");
    let dn = format!("uid={},{}", account.login, people("um"));
    synced(&app, &slapd).await;
    // ESUP-Activ reads shadowLastChange as "activated": not before.
    let entry = slapd.entry(&dn).await.expect("entry");
    assert!(!entry.contains_key("shadowLastChange"), "{entry:?}");
    app.activate(&provisioned, password).await;
    synced(&app, &slapd).await;
    let entry = slapd.entry(&dn).await.expect("entry");
    let today = ent_identity::app::clock::Clock::now(&app.clock)
        .timestamp()
        .div_euclid(86_400);
    assert_eq!(one(&entry, "shadowLastChange"), today.to_string());
    assert!(slapd.binds(&dn, password).await);
    lock(&app, &account.account_id, true).await;
    synced(&app, &slapd).await;
    let entry = slapd.entry(&dn).await.expect("entry");
    assert_eq!(one(&entry, "pwdAccountLockedTime"), "000001010000Z");
    assert!(entry.contains_key("userPassword"), "the password stays");
    assert!(!slapd.binds(&dn, password).await, "the lock stops binds");
    lock(&app, &account.account_id, false).await;
    synced(&app, &slapd).await;
    assert!(
        !slapd
            .entry(&dn)
            .await
            .expect("entry")
            .contains_key("pwdAccountLockedTime")
    );
    assert!(slapd.binds(&dn, password).await);

    app.depart(&account.account_id, "2026-09-30")
        .await
        .expect("depart");
    for day in ["2026-10-02", "2027-12-31", "2029-12-31"] {
        batch_on(&app, day).await;
    }
    synced(&app, &slapd).await;
    assert!(
        slapd.entry(&dn).await.is_none(),
        "the purge deleted the entry"
    );
}

/// A change the directory refuses is never passed over: the worker stops
/// on it (later changes wait), says so in its metrics and readiness, and
/// goes on once the cause is put right.
#[tokio::test]
async fn a_refused_change_stops_the_worker_until_put_right() {
    let Some((slapd, app)) = directory_and_server(false).await else {
        return;
    };
    // A configuration that forgets the SupAnn object class: the entries'
    // SupAnn attributes break the schema (objectClassViolation).
    let mut wrong = default_settings(&app, &slapd);
    for directory in wrong.institutions.values_mut() {
        directory.object_classes.retain(|c| c != "supannPerson");
    }
    let (running, metrics) = run_worker(wrong);
    let first = app
        .active_account(
            montpellier_staff("RH-REF-1", "Claude", "Refus"),
            "Qz7#Kp2wLm9x",
        )
        .await;
    let later = app
        .provision(montpellier_staff("RH-REF-2", "Sacha", "Apres"))
        .await
        .expect("provision")
        .account
        .expect("account");
    let mut refused = false;
    for _ in 0..200 {
        if metrics
            .encode()
            .contains("ldap_sync_failures_total{reason=\"65\"}")
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "{}", metrics.encode());
    assert!(!metrics.ready());
    let dn = |login: &str| format!("uid={login},{}", people("um"));
    assert!(slapd.entry(&dn(&first.login)).await.is_none(), "refused");
    assert!(
        slapd.entry(&dn(&later.login)).await.is_none(),
        "later changes wait"
    );
    drop(running);

    let (_running, metrics) = run_worker(default_settings(&app, &slapd));
    synced(&app, &slapd).await;
    assert!(slapd.binds(&dn(&first.login), "Qz7#Kp2wLm9x").await);
    assert!(slapd.entry(&dn(&later.login)).await.is_some());
    assert!(metrics.ready());
    let text = metrics.encode();
    assert!(text.contains("ldap_sync_lag_changes 0"), "{text}");
    assert!(
        !text.contains("ldap_sync_changes_applied_total 0"),
        "{text}"
    );
}

/// The three universities' journeys as the directory sees them: Bordeaux's
/// consents and refused photo, Tours' SMS activation, Montpellier's
/// redirect, reset by mail and extension.
#[tokio::test]
async fn each_universitys_choices_reach_the_directory() {
    let Some((slapd, app)) = directory_and_server(false).await else {
        return;
    };
    let (_running, _) = run_worker(default_settings(&app, &slapd));

    // Bordeaux: the card system wrote a photo; the student refuses every
    // use of it while activating.
    let bordeaux = app
        .provision(bordeaux_student("21900777", "Inès", "Sansphoto"))
        .await
        .expect("provision");
    let login = bordeaux.account.clone().expect("account").login;
    let dn = format!("uid={login},{}", people("ubm"));
    synced(&app, &slapd).await;
    // The start of a JPEG file: binary, not text.
    let photo = std::collections::HashSet::from([vec![0xFF_u8, 0xD8, 0xFF, 0xE0, 0x00, 0x10]]);
    slapd
        .admin()
        .await
        .modify(&dn, vec![ldap3::Mod::Add(b"jpegPhoto".to_vec(), photo)])
        .await
        .and_then(|r| r.success())
        .expect("the card system's photo");
    let entry = slapd.entry(&dn).await.expect("entry");
    assert_eq!(one(&entry, "jpegPhoto"), "<6 bytes>");
    app.activate_answering(&bordeaux, "Garonne#2026!", true)
        .await;
    synced(&app, &slapd).await;
    let entry = slapd.entry(&dn).await.expect("entry");
    assert!(
        !entry.contains_key("jpegPhoto"),
        "the refused photo is gone"
    );
    let account = app
        .get_account(
            "",
            proto::account_selector::Identifier::AccountId(
                bordeaux.account.clone().expect("account").account_id,
            ),
        )
        .await
        .expect("account");
    let consents = account.consents.expect("consents");
    let listed = consents.directory_listed.expect("decided");
    assert_eq!(
        one(&entry, "supannListeRouge"),
        if listed { "FALSE" } else { "TRUE" }
    );
    let crous = entry
        .get("supannConsentement")
        .is_some_and(|v| v.contains(&"{CROUS}PARTAGE".to_string()));
    assert_eq!(crous, consents.crous_sharing == Some(true), "{entry:?}");
    assert!(slapd.binds(&dn, "Garonne#2026!").await);
    // Later, from the account page: off the public directory, no Crous.
    app.account_settings()
        .update_consents(proto::UpdateConsentsRequest {
            account: by_id(&account.account_id),
            directory_listed: Some(false),
            crous_sharing: Some(false),
            ..Default::default()
        })
        .await
        .expect("consents");
    synced(&app, &slapd).await;
    let entry = slapd.entry(&dn).await.expect("entry");
    assert_eq!(one(&entry, "supannListeRouge"), "TRUE");
    assert!(!entry.contains_key("supannConsentement"), "{entry:?}");

    // Tours: activated with the SMS code.
    let tours = app
        .active_account(
            tours_student("22019001", &ine_bea(2019001), "07 88 10 25 77"),
            "velo7Tours9",
        )
        .await;
    synced(&app, &slapd).await;
    let dn = format!("uid={},{}", tours.login, people("tours"));
    let entry = slapd.entry(&dn).await.expect("entry");
    assert_eq!(one(&entry, "supannCodeINE"), tours.ine);
    assert_eq!(one(&entry, "supannEtuId"), "22019001");
    assert!(slapd.binds(&dn, "velo7Tours9").await);

    montpellier_redirect_reset_and_extension(&app, &slapd).await;
    montpellier_guest(&app, &slapd).await;
}

/// A guest's entry names its sponsor (`supannParrainDN`), is an
/// "affiliate", and carries the stay's end as `supannExtDateFin`.
async fn montpellier_guest(app: &TestApp, slapd: &Slapd) {
    use proto::guest_service_client::GuestServiceClient;
    let sponsor = app
        .active_account(
            montpellier_staff("RH-UM-10", "Irène", "Parraine"),
            "Qz7#Kp2wLm9x",
        )
        .await;
    let end = app
        .clock
        .now()
        .date_naive()
        .checked_add_days(chrono::Days::new(60))
        .expect("date");
    let invited = GuestServiceClient::new(authed(&app.channel, "portal", None))
        .invite_guest(proto::InviteGuestRequest {
            sponsor: by_id(&sponsor.account_id),
            guest: Some(proto::GuestDetails {
                profile: "guest".into(),
                given_name: "Lise".into(),
                family_name: "Meitner".into(),
                personal_mail: "lise.meitner@example.org".into(),
                end_date: end.to_string(),
                reason: "Séminaire".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("invited")
        .into_inner()
        .invitation
        .expect("invitation");
    let guest = GuestServiceClient::new(authed(&app.channel, "admin", None))
        .decide_invitation(proto::DecideInvitationRequest {
            invitation_id: invited.invitation_id,
            moderator: "dsin".into(),
            approve: true,
            comment: String::new(),
        })
        .await
        .expect("approved")
        .into_inner()
        .invitation
        .expect("invitation")
        .account
        .expect("account");
    synced(app, slapd).await;
    let dn = format!("uid={},{}", guest.login, people("um"));
    let entry = slapd.entry(&dn).await.expect("guest entry");
    assert_eq!(
        one(&entry, "supannParrainDN"),
        format!("uid={},{}", sponsor.login, people("um"))
    );
    assert_eq!(one(&entry, "eduPersonAffiliation"), "affiliate");
    assert_eq!(
        one(&entry, "supannExtDateFin"),
        format!("{}000000Z", end.format("%Y%m%d"))
    );
}

async fn montpellier_redirect_reset_and_extension(app: &TestApp, slapd: &Slapd) {
    let password = "Qz7#Kp2wLm9x";
    let account = app
        .active_account(montpellier_staff("RH-UM-9", "Noa", "Renvoi"), password)
        .await;
    let dn = format!("uid={},{}", account.login, people("um"));
    let present = || {
        Some(proto::PresenceProof {
            proof: Some(proto::presence_proof::Proof::CurrentPassword(
                password.into(),
            )),
        })
    };
    let recovery = format!("recovery.{}@example.net", account.account_id);
    app.redirection()
        .set_mail_redirect(proto::SetMailRedirectRequest {
            account: by_id(&account.account_id),
            presence: Some(proto::PresenceProof {
                proof: Some(proto::presence_proof::Proof::CurrentPassword(
                    password.into(),
                )),
            }),
            address: Some(proto::MailInput {
                address: recovery.clone(),
                confirmation: recovery.clone(),
            }),
            keep_copy: true,
        })
        .await
        .expect("redirect");
    synced(app, slapd).await;
    let entry = slapd.entry(&dn).await.expect("entry");
    assert_eq!(one(&entry, "mailForwardingAddress"), recovery);
    assert!(
        !entry.contains_key("mailDeliveryOption"),
        "omitted: not in the schema"
    );
    assert_eq!(one(&entry, "supannMailPerso"), recovery);

    // A new recovery address, once its link is followed.
    app.account_settings()
        .request_recovery_mail_change(proto::RequestRecoveryMailChangeRequest {
            account: by_id(&account.account_id),
            presence: present(),
            new_recovery_mail: Some(proto::MailInput {
                address: "noa@nouvelle.org".into(),
                confirmation: "noa@nouvelle.org".into(),
            }),
        })
        .await
        .expect("change asked");
    let token = link_token(
        &app.wait_for_mail_to("noa@nouvelle.org", 1).await,
        "account/recovery-mail",
    );
    app.account_settings()
        .confirm_recovery_mail_change(proto::ConfirmRecoveryMailChangeRequest { token })
        .await
        .expect("confirmed");
    synced(app, slapd).await;
    let entry = slapd.entry(&dn).await.expect("entry");
    assert_eq!(one(&entry, "supannMailPerso"), "noa@nouvelle.org");
    let recovery = "noa@nouvelle.org".to_string();

    // A reset by mail: the new password binds, the old one no more.
    let before = app.mails_to(&recovery).len();
    app.recovery()
        .request_password_reset(proto::RequestPasswordResetRequest {
            channel: proto::ResetChannel::Unspecified as i32,
            institution: "umontpellier".into(),
            identifier: Some(proto::request_password_reset_request::Identifier::Login(
                account.login.clone(),
            )),
        })
        .await
        .expect("reset asked");
    let mail = app.wait_for_mail_to(&recovery, before + 1).await;
    app.recovery()
        .complete_password_reset(proto::CompletePasswordResetRequest {
            token: link_token(&mail, "recovery/reset"),
            new_password: Some(proto::PasswordInput {
                password: "Vb4!Tn8rXq3j".into(),
                confirmation: "Vb4!Tn8rXq3j".into(),
            }),
        })
        .await
        .expect("reset");
    synced(app, slapd).await;
    assert!(slapd.binds(&dn, "Vb4!Tn8rXq3j").await);
    assert!(!slapd.binds(&dn, password).await);

    // Departure, then an extension moves the end of the grace period.
    app.depart(&account.account_id, "2026-09-30")
        .await
        .expect("depart");
    batch_on(app, "2026-10-02").await;
    synced(app, slapd).await;
    let before = one(
        &slapd.entry(&dn).await.expect("entry"),
        "supannRessourceEtatDate",
    );
    let mut lifecycle = app.lifecycle.clone();
    let request = lifecycle
        .request_extension(proto::RequestExtensionRequest {
            account: by_id(&account.account_id),
            reason: "fin de thèse en cours".into(),
        })
        .await
        .expect("request")
        .into_inner()
        .request
        .expect("request");
    lifecycle
        .decide_extension_request(proto::DecideExtensionRequestRequest {
            request_id: request.request_id,
            approve: true,
            comment: "vu avec le service RH".into(),
        })
        .await
        .expect("approve");
    synced(app, slapd).await;
    let after = one(
        &slapd.entry(&dn).await.expect("entry"),
        "supannRessourceEtatDate",
    );
    assert!(after.starts_with("{COMPTE}A:SupannSursis:"), "{after}");
    assert_ne!(before, after, "the extension moved the end");
    assert!(slapd.binds(&dn, "Vb4!Tn8rXq3j").await);
}

/// The directory down for a while: the worker retries with backoff and
/// applies what happened meanwhile, in order, once it is back.
#[tokio::test]
async fn the_worker_waits_out_a_directory_outage() {
    let Some((mut slapd, app)) = directory_and_server(false).await else {
        return;
    };
    let (_running, metrics) = run_worker(default_settings(&app, &slapd));
    let provisioned = app
        .provision(montpellier_staff("RH-OUT-1", "Lou", "Panne"))
        .await
        .expect("provision");
    synced(&app, &slapd).await;
    let dn = format!(
        "uid={},{}",
        provisioned.account.clone().expect("account").login,
        people("um")
    );
    // Activated while the directory is down.
    let outage = slapd.outage(Duration::from_millis(1500));
    let activation = app.activate(&provisioned, "Qz7#Kp2wLm9x");
    let ((), _) = tokio::join!(outage, activation);
    synced(&app, &slapd).await;
    assert!(slapd.binds(&dn, "Qz7#Kp2wLm9x").await);
    assert!(
        metrics.encode().contains("reason=\"unreachable\""),
        "{}",
        metrics.encode()
    );
    assert!(metrics.ready());

    // Idle, the worker does not rewrite its lease at every poll (only once
    // half of it has gone).
    let lease = || async {
        let cursor = slapd.entry(CURSOR_DN).await.expect("cursor");
        one(&cursor, "description")
    };
    let before = lease().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(lease().await, before);
    // A cursor entry someone left without a lease gets one again.
    let no_lease = ldap3::Mod::Delete("description".to_string(), Default::default());
    slapd
        .admin()
        .await
        .modify(CURSOR_DN, vec![no_lease])
        .await
        .and_then(|r| r.success())
        .expect("lease removed");
    app.provision(montpellier_staff("RH-OUT-2", "Lou", "Apres"))
        .await
        .expect("provision");
    synced(&app, &slapd).await;
    assert!(!lease().await.is_empty());
}

/// StartTLS to a directory whose certificate chains to a private CA: with
/// the CA in `ca_file` the worker syncs; without it, it refuses to talk.
#[tokio::test]
async fn the_worker_speaks_starttls_trusting_the_configured_ca() {
    let pki = crate::access::pki();
    let tls = SlapdTls {
        ca: pki.ca.clone(),
        certificate: pki.server_cert.clone(),
        key: pki.server_key.clone(),
    };
    let branches: Vec<&str> = BRANCHES.iter().map(|(_, b)| *b).collect();
    let Some(slapd) = Slapd::start_with(&branches, false, Some(&tls)).await else {
        return;
    };
    let app = spawn_app().await;
    let ca_file = slapd.folder().join("worker-ca.pem");
    std::fs::write(&ca_file, &pki.ca).expect("CA file");
    let over_tls = |ca: Option<std::path::PathBuf>| LdapSyncSettings {
        // The certificate names localhost.
        url: slapd.url.replace("127.0.0.1", "localhost"),
        starttls: true,
        ca_file: ca,
        ..default_settings(&app, &slapd)
    };
    let (untrusting, metrics) = run_worker(over_tls(None));
    app.provision(montpellier_staff("RH-TLS-1", "Ada", "Chiffre"))
        .await
        .expect("provision");
    let mut refused = false;
    for _ in 0..200 {
        if metrics.encode().contains("reason=\"unreachable\"") {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "an unknown CA is refused: {}", metrics.encode());
    assert!(slapd.children(&people("um")).await.is_empty());
    drop(untrusting);

    let (_running, _) = run_worker(over_tls(Some(ca_file)));
    synced(&app, &slapd).await;
    assert_eq!(slapd.children(&people("um")).await.len(), 1);
}
