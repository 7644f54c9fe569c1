//! A real [`App`] for use-case tests: a fresh SQLite database in a
//! temporary folder, the example institutions and the compiled-in rules of
//! `deploy/config/`, a manual clock and cheap hashing.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use domain::end_user::EndUserAddress;
use domain::institution::Institutions;
use domain::language::Language;
use hashing::{PasswordHasher, PasswordHashingSettings};
use serde::Deserialize;
use store::{AuditContext, DatabaseSettings, Store};

use crate::clock::ManualClock;
use crate::limits::RateLimitSettings;
use crate::{App, BatchSettings, CallContext, FeedSettings, Rules};

/// An app and the clock its tests move.
pub struct TestApp {
    pub app: App,
    pub clock: ManualClock,
    _folder: tempfile::TempDir,
}

/// The sections of the compiled-in defaults the rules come from.
#[derive(Deserialize)]
struct Defaults {
    rate_limits: RateLimitSettings,
    batch: BatchSettings,
    feed: FeedSettings,
    retention: crate::RecordRetention,
}

#[derive(Deserialize)]
struct InstitutionFile {
    institutions: Institutions,
}

const DEFAULTS: &str = include_str!("../../../deploy/config/defaults.toml");
const INSTITUTIONS: [&str; 3] = [
    include_str!("../../../deploy/config/institutions/u-bordeaux-montaigne.toml"),
    include_str!("../../../deploy/config/institutions/umontpellier.toml"),
    include_str!("../../../deploy/config/institutions/univ-tours.toml"),
];

/// The rules of the example deployment: the three seed institutions.
pub fn example_rules() -> Rules {
    let defaults: Defaults = toml::from_str(DEFAULTS).expect("defaults.toml reads");
    let mut institutions = Institutions::new();
    for text in INSTITUTIONS {
        let file: InstitutionFile = toml::from_str(text).expect("an example institution reads");
        institutions.extend(file.institutions);
    }
    Rules {
        institutions,
        rate_limits: defaults.rate_limits,
        batch: defaults.batch,
        feed: defaults.feed,
        retention: defaults.retention,
    }
}

/// When every test starts: a weekday of term, 10:00 in Paris.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 6, 8, 0, 0).unwrap()
}

/// A migrated database of its own, the example rules, the clock at
/// [`start_time`].
pub async fn test_app() -> TestApp {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let database = DatabaseSettings {
        url: format!("sqlite://{}", folder.path().join("app.sqlite").display()),
        schema: None,
        max_connections: 4,
        auto_migrate: true,
        connect_timeout: Duration::from_secs(5),
        health_check_interval: Duration::from_secs(5),
    };
    let keys = domain::secret::SecretKeys::random(&mut rand::rngs::SysRng).expect("a key");
    let store = Store::connect(&database)
        .await
        .expect("connect")
        .with_secret_keys(Arc::new(keys));
    store.migrate().await.expect("migrate");
    let clock = ManualClock::new(start_time());
    let hasher = PasswordHasher::start(&cheap_hashing()).expect("hashing threads");
    let app = App {
        rules: Arc::new(example_rules()),
        store,
        clock: Arc::new(clock.clone()),
        hasher,
    };
    TestApp {
        app,
        clock,
        _folder: folder,
    }
}

/// argon2id at its lowest accepted cost, at normal priority.
fn cheap_hashing() -> PasswordHashingSettings {
    PasswordHashingSettings {
        memory_kib: 8192,
        iterations: 1,
        parallelism: 1,
        max_concurrency: 2,
        max_queue: 64,
        thread_niceness: 0,
        idle_priority: false,
        pepper_id: String::new(),
        peppers: Default::default(),
    }
}

/// A call from the portal for the person at `address` (none: a back-office
/// call).
pub fn call_from(address: Option<&str>) -> CallContext {
    CallContext {
        audit: AuditContext {
            actor: "portal".into(),
            request_id: uuid_like(),
        },
        end_user: address.map(|a| EndUserAddress::parse(a).expect("an address")),
        language: Language::French,
        browser: false,
        personal_data: false,
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("test-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Provisions a Montpellier tenured staff member (provisional password on
/// the staff passport) and returns the account.
pub async fn provision_montpellier_staff(t: &TestApp, hr_id: &str) -> domain::account::Account {
    provision_montpellier_staff_with_passport(t, hr_id).await.0
}

/// [`provision_montpellier_staff`], with the provisional password printed
/// on the staff passport.
pub async fn provision_montpellier_staff_with_passport(
    t: &TestApp,
    hr_id: &str,
) -> (domain::account::Account, String) {
    use domain::provisioning::{ProvisionInput, parse_record, profile_of};
    use store::provisioning::ProvisionItem;
    let input = ProvisionInput {
        institution: "umontpellier".into(),
        profile: "staff_tenured".into(),
        hr_id: hr_id.into(),
        given_name: "Ada".into(),
        family_name: "Byron".into(),
        birth_date: "1980-01-31".into(),
        personal_mail: "ada.byron@example.org".into(),
        ..Default::default()
    };
    let now = t.app.now();
    let record = parse_record(&input, &t.app.rules.institutions, now, "record").expect("valid");
    let (_, profile) = profile_of(&t.app.rules.institutions, &record).expect("a profile");
    let item = ProvisionItem {
        profile: profile.clone(),
        record,
        link_mail: None,
        guest: None,
        duplicates: Default::default(),
        input: None,
        resolution: None,
    };
    let ctx = call_from(None);
    let mut results = t
        .app
        .store
        .provision(&[item], now, &ctx.audit)
        .await
        .expect("provisioned");
    let created = results.remove(0).expect("created");
    let printed = created
        .material
        .and_then(|m| m.secret)
        .expect("a provisional password");
    (created.account, printed.expose().to_owned())
}

/// The 8-digit codes in the messages waiting in the outbox, oldest first.
pub async fn mailed_codes(t: &TestApp) -> Vec<String> {
    let messages = t.app.store.outbox_messages().await.expect("outbox");
    messages
        .iter()
        .flat_map(|m| {
            m.payload
                .split(|c: char| !c.is_ascii_digit())
                .filter(|run| run.len() == 8)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A password every example policy accepts.
pub const GOOD_PASSWORD: &str = "Zr5^tG1#kW6uVm";

/// Provisions a Montpellier tenured staff member and takes them through
/// the whole journey (recovery address ada@example.org verified by its
/// code, charter, listed in the directory, no redirect, a password).
pub async fn activate_montpellier_staff(t: &TestApp, hr_id: &str) -> domain::account::Account {
    use crate::activation::{Entry, ScreenInput};
    use domain::activation::RedirectInput;
    use domain::ids::MailAddress;
    let (account, printed) = provision_montpellier_staff_with_passport(t, hr_id).await;
    let ctx = call_from(Some("198.51.100.7"));
    let entry = Entry::ProvisionalPassword {
        login: account.login.clone(),
        password: printed,
    };
    let token = t
        .app
        .start_activation("umontpellier", entry, &ctx)
        .await
        .expect("started")
        .flow_token;
    let submit = |input: ScreenInput| {
        let token = token.clone();
        let ctx = ctx.clone();
        async move {
            t.app
                .submit_activation_screen(&token, input, &ctx)
                .await
                .expect("the screen is accepted")
        }
    };
    let mut input = ScreenInput::default();
    input.submission.recovery_mail = Some(MailAddress::parse("ada@example.org").expect("address"));
    submit(input).await;
    let code = mailed_codes(t).await.pop().expect("a code");
    t.app
        .verify_activation_code(&token, &code, &ctx)
        .await
        .expect("verified");
    let charter = t
        .app
        .rules
        .institution("umontpellier")
        .and_then(|i| i.charter.clone());
    let mut input = ScreenInput::default();
    input.submission.charter_version = charter.map(|c| c.version);
    submit(input).await;
    let mut input = ScreenInput::default();
    input.submission.directory_listed = Some(true);
    submit(input).await;
    let mut input = ScreenInput::default();
    input.submission.redirect = Some(RedirectInput {
        address: None,
        keep_copy: false,
    });
    submit(input).await;
    let input = ScreenInput {
        password: Some((GOOD_PASSWORD.into(), GOOD_PASSWORD.into())),
        ..ScreenInput::default()
    };
    let done = submit(input).await;
    assert!(done.flow.completion.is_some(), "the journey is complete");
    t.app
        .account(store::accounts::AccountLookup::Id(&account.id))
        .await
        .expect("the account")
}

/// The test accounts' password as proof of presence.
pub fn present() -> Option<crate::settings::PresenceProof> {
    Some(crate::settings::PresenceProof::CurrentPassword(
        GOOD_PASSWORD.to_owned(),
    ))
}
