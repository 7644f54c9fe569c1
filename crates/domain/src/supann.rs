//! How the service's changes read in the LDAP directory (SupAnn 2021 and
//! inetOrgPerson names): each change kind names the attributes it touches,
//! with the values the account has after it, so that the LDAP sync worker
//! applies them without interpreting anything.

use std::collections::BTreeMap;

use super::activation::{PhotoDecision, PhotoUse, Step};
use super::consent;
use super::consent_items::{self, ConsentItem};
use super::self_service::{ConsentState, DirectoryEntry, DirectoryField};

/// What happened to an account, as the feed says it. Each kind names the
/// LDAP (SupAnn) attributes it touches: see `domain::supann`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Updated,
    /// A state change no other kind names.
    StatusChanged,
    PasswordChanged,
    Purged,
    RecoveryMailChanged,
    MailRedirectChanged,
    ConsentsChanged,
    DirectoryEntryChanged,
    PhotoDeletionRequested,
    /// Activation opened (pre-created → created).
    ActivationOpened,
    /// The person activated the account.
    Activated,
    /// The last day of activity passed: limited access until the retention
    /// end.
    Limited,
    /// The retention end moved (extension granted).
    Extended,
    /// Retention over: access removed.
    Expired,
    /// Re-enrolment or re-hiring gave full access back.
    Restored,
    Locked,
    Unlocked,
    /// The password passed its maximum age and must be changed.
    PasswordExpired,
    /// A former student's account kept on consent past its retention end
    /// (`domain::alumni`).
    KeptAsAlumni,
}

/// Every kind with the name the feed and the database give it.
pub const KIND_NAMES: [(ChangeKind, &str); 20] = [
    (ChangeKind::Created, "created"),
    (ChangeKind::Updated, "updated"),
    (ChangeKind::StatusChanged, "status_changed"),
    (ChangeKind::PasswordChanged, "password_changed"),
    (ChangeKind::Purged, "purged"),
    (ChangeKind::RecoveryMailChanged, "recovery_mail_changed"),
    (ChangeKind::MailRedirectChanged, "mail_redirect_changed"),
    (ChangeKind::ConsentsChanged, "consents_changed"),
    (ChangeKind::DirectoryEntryChanged, "directory_entry_changed"),
    (
        ChangeKind::PhotoDeletionRequested,
        "photo_deletion_requested",
    ),
    (ChangeKind::ActivationOpened, "activation_opened"),
    (ChangeKind::Activated, "activated"),
    (ChangeKind::Limited, "limited"),
    (ChangeKind::Extended, "extended"),
    (ChangeKind::Expired, "expired"),
    (ChangeKind::Restored, "restored"),
    (ChangeKind::Locked, "locked"),
    (ChangeKind::Unlocked, "unlocked"),
    (ChangeKind::PasswordExpired, "password_expired"),
    (ChangeKind::KeptAsAlumni, "kept_as_alumni"),
];

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        KIND_NAMES
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, name)| *name)
            .unwrap_or("updated")
    }

    pub fn parse(text: &str) -> Option<ChangeKind> {
        KIND_NAMES
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(k, _)| *k)
    }
}

/// What the directory needs to know of an account.
#[derive(Debug, Clone, Default)]
pub struct LdapSource<'a> {
    pub login: &'a str,
    pub institutional_mail: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub student_number: &'a str,
    pub ine: &'a str,
    pub hr_id: &'a str,
    pub mobile_phone: &'a str,
    /// `supannRessourceEtatDate` of the account resource.
    pub ressource_etat_date: &'a str,
    /// Verified recovery address; empty when none.
    pub recovery_mail: &'a str,
    /// `None` before the choice.
    pub directory_listed: Option<bool>,
    /// Verified forwarding address; empty when mail is not forwarded.
    pub forwarding_address: &'a str,
    pub keep_copy: bool,
    /// The argon2id PHC string; empty when none or not usable by LDAP.
    pub password_hash: &'a str,
    /// Whether the account has a password (even one LDAP cannot verify).
    pub has_password: bool,
    /// Whether its password may be used now (active or limited, not
    /// locked): otherwise the directory must not let it bind.
    pub password_usable: bool,
    pub directory_entry: Option<&'a DirectoryEntry>,
    /// Whether the person refused every use of their photo.
    pub photo_refused: bool,
    /// `supannConsentement`: what the consents standing put in the
    /// directory ([`consent_values`]).
    pub consents: Vec<String>,
    /// Student (`supannEtuDateFin`), staff (`supannEmpDateFin`) or guest
    /// (`supannExtDateFin`: "date de fin" of an external person).
    pub kind: crate::account::AccountKind,
    /// The last day of activity, `YYYY-MM-DD`; empty while active.
    pub end_of_activity: &'a str,
}

/// One attribute and the values it is left with (none: remove it).
pub type Attribute = (&'static str, Vec<String>);

fn one(value: &str) -> Vec<String> {
    if value.is_empty() {
        Vec::new()
    } else {
        vec![value.to_owned()]
    }
}

/// Whether a stored hash can be handed to OpenLDAP's argon2 module: a plain
/// argon2id PHC string, without the server-side pepper (its `keyid`) that
/// only this service knows.
pub fn ldap_verifiable(hash: &str) -> bool {
    hash.starts_with("$argon2id$") && !hash.contains("keyid=")
}

/// The directory attribute of each staff directory field.
pub fn directory_attribute(field: DirectoryField) -> &'static str {
    match field {
        DirectoryField::OfficePhone => "telephoneNumber",
        DirectoryField::OfficeLocation => "roomNumber",
        DirectoryField::JobTitle => "title",
        DirectoryField::PostalAddress => "postalAddress",
        DirectoryField::WebPage => "labeledURI",
    }
}

/// `supannConsentement` for each photo use: `{PHOTO}<USE>` (SupAnn's
/// `{OBJECT}TYPE` form; the types are ours, listed in docs/integrating/ldap.md).
pub fn photo_consent(use_: PhotoUse) -> &'static str {
    match use_ {
        PhotoUse::CardReprint => "{PHOTO}CARTE",
        PhotoUse::TutorialSheets => "{PHOTO}PEDAGOGIE",
        PhotoUse::PhotoDirectory => "{PHOTO}INTRANET",
    }
}

/// `supannConsentement` when the person agreed that the Crous receives
/// their data.
pub const CROUS_CONSENT: &str = "{CROUS}PARTAGE";

/// The `supannConsentement` values of the consents standing: the photo's
/// uses and the Crous's, with the values the institution's declaration of
/// those items gives (else the service's), then its own items'.
pub fn consent_values(
    consents: &ConsentState,
    items: &BTreeMap<String, ConsentItem>,
) -> Vec<String> {
    let declared = |step: Step, value: &str| {
        let item = consent::reserved_code(step).and_then(|c| items.get(c));
        item.and_then(|i| i.choice(value)).map(|c| c.ldap.clone())
    };
    let mut values = Vec::new();
    if let Some((PhotoDecision::Allow(uses), _)) = &consents.photo {
        for use_ in uses {
            let own = declared(Step::PhotoUse, use_.as_str());
            values.extend(own.unwrap_or_else(|| vec![photo_consent(*use_).to_owned()]));
        }
    }
    if let Some((true, _)) = consents.crous_sharing {
        let own = declared(Step::CrousSharing, "true");
        values.extend(own.unwrap_or_else(|| vec![CROUS_CONSENT.to_owned()]));
    }
    for value in consent_items::ldap_values(&consents.items, items) {
        if !values.contains(&value) {
            values.push(value);
        }
    }
    values
}

fn consents(s: &LdapSource<'_>) -> Attribute {
    ("supannConsentement", s.consents.clone())
}

/// `supannRessourceEtat` from `supannRessourceEtatDate`: the resource, class
/// and sub-state without the dates (`{COMPTE}A:SupannActif`).
pub fn ressource_etat(etat_date: &str) -> String {
    etat_date
        .splitn(3, ':')
        .take(2)
        .collect::<Vec<_>>()
        .join(":")
}

/// The person's whole entry as the service decides it: every attribute it
/// owns, with its values (none: the attribute must be absent). Attributes
/// not listed are someone else's (a photo the card system wrote, groups...)
/// and are left alone. `cn` and `sn` are never empty, since inetOrgPerson
/// requires them: after a purge they hold the login (a schema-valid
/// tombstone). `userPassword` holds the hash only while the password may be
/// used, so that expiry, purge and locks stop binds; it is not listed when
/// the service's hash is one LDAP cannot verify (a server-side pepper) and
/// the password may be used.
pub fn entry(s: &LdapSource<'_>) -> Vec<Attribute> {
    let (full, family) = names(s);
    let mut out = vec![
        ("uid", one(s.login)),
        ("cn", one(&full)),
        ("sn", one(family)),
        ("givenName", one(s.given_name)),
        ("displayName", one(&full)),
        ("mail", one(s.institutional_mail)),
        ("supannAliasLogin", one(s.login)),
        ("supannEtuId", one(s.student_number)),
        ("supannCodeINE", one(s.ine)),
        ("supannEmpId", one(s.hr_id)),
        ("mobile", one(s.mobile_phone)),
        (
            "supannRessourceEtat",
            one(&ressource_etat(s.ressource_etat_date)),
        ),
        ("supannRessourceEtatDate", one(s.ressource_etat_date)),
        liste_rouge(s),
        ("supannMailPerso", one(s.recovery_mail)),
        consents(s),
    ];
    out.extend(redirect(s));
    out.push(end_of_activity(s));
    if s.directory_entry.is_some() {
        out.extend(directory_fields(s));
    }
    if s.photo_refused {
        out.push(("jpegPhoto", Vec::new()));
    }
    match (s.password_usable, s.password_hash.is_empty()) {
        (true, false) => out.push(password(s)),
        (true, true) if s.has_password => {}
        _ => out.push(("userPassword", Vec::new())),
    }
    out
}

/// `supannEtuDateFin` or `supannEmpDateFin`: the last day of activity as
/// a GeneralizedTime (`20260930000000Z`), absent while active.
fn end_of_activity(s: &LdapSource<'_>) -> Attribute {
    let name = match s.kind {
        crate::account::AccountKind::Student => "supannEtuDateFin",
        crate::account::AccountKind::Staff => "supannEmpDateFin",
        crate::account::AccountKind::Guest => "supannExtDateFin",
    };
    let day: String = s
        .end_of_activity
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let value = if day.len() == 8 {
        format!("{day}000000Z")
    } else {
        String::new()
    };
    (name, one(&value))
}

/// `cn` and `sn`: the full name and the family name, or the login where a
/// purge left no name (inetOrgPerson requires both).
fn names<'a>(s: &LdapSource<'a>) -> (String, &'a str) {
    let family = if s.family_name.is_empty() {
        s.login
    } else {
        s.family_name
    };
    let full = [s.given_name, family]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    (full, family)
}

fn directory_fields(s: &LdapSource<'_>) -> Vec<Attribute> {
    DirectoryField::ALL
        .iter()
        .map(|f| {
            let value = s.directory_entry.map(|e| e.get(*f)).unwrap_or_default();
            (directory_attribute(*f), one(value))
        })
        .collect()
}

fn identity(s: &LdapSource<'_>) -> Vec<Attribute> {
    let (common, family) = names(s);
    vec![
        ("uid", one(s.login)),
        ("mail", one(s.institutional_mail)),
        ("givenName", one(s.given_name)),
        ("cn", one(&common)),
        ("sn", one(family)),
        ("supannEtuId", one(s.student_number)),
        ("supannCodeINE", one(s.ine)),
        ("supannEmpId", one(s.hr_id)),
        ("mobile", one(s.mobile_phone)),
        ("supannRessourceEtatDate", one(s.ressource_etat_date)),
    ]
}

fn state(s: &LdapSource<'_>) -> Attribute {
    ("supannRessourceEtatDate", one(s.ressource_etat_date))
}

fn password(s: &LdapSource<'_>) -> Attribute {
    let value = if s.password_hash.is_empty() {
        String::new()
    } else {
        format!("{{ARGON2}}{}", s.password_hash)
    };
    ("userPassword", one(&value))
}

fn liste_rouge(s: &LdapSource<'_>) -> Attribute {
    (
        "supannListeRouge",
        s.directory_listed
            .map(|listed| vec![if listed { "FALSE" } else { "TRUE" }.to_owned()])
            .unwrap_or_default(),
    )
}

fn redirect(s: &LdapSource<'_>) -> Vec<Attribute> {
    let forwarding = !s.forwarding_address.is_empty();
    let option = match (forwarding, s.keep_copy) {
        (false, _) => "",
        (true, true) => "mailbox",
        (true, false) => "forwardonly",
    };
    vec![
        ("mailForwardingAddress", one(s.forwarding_address)),
        ("mailDeliveryOption", one(option)),
    ]
}

/// The attributes a change of `kind` touches, with their values after it.
pub fn attributes(kind: ChangeKind, s: &LdapSource<'_>) -> Vec<Attribute> {
    use ChangeKind::*;
    match kind {
        Created | Updated | Purged => identity(s),
        Activated => {
            let mut out = vec![
                state(s),
                password(s),
                liste_rouge(s),
                ("supannMailPerso", one(s.recovery_mail)),
                consents(s),
            ];
            out.extend(redirect(s));
            out
        }
        StatusChanged | ActivationOpened | Limited | Extended | Expired | Restored | Locked
        | Unlocked | KeptAsAlumni => vec![state(s)],
        PasswordChanged => vec![password(s), ("pwdReset", Vec::new())],
        PasswordExpired => vec![("pwdReset", vec!["TRUE".to_owned()])],
        RecoveryMailChanged => vec![("supannMailPerso", one(s.recovery_mail))],
        MailRedirectChanged => redirect(s),
        ConsentsChanged => vec![liste_rouge(s), consents(s)],
        DirectoryEntryChanged => directory_fields(s),
        PhotoDeletionRequested => vec![("jpegPhoto", Vec::new())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for (kind, name) in KIND_NAMES {
            assert_eq!(kind.as_str(), name);
            assert_eq!(ChangeKind::parse(name), Some(kind));
        }
    }

    #[test]
    fn changes_map_onto_supann_attributes() {
        let s = LdapSource {
            login: "jdoe",
            ressource_etat_date: "{COMPTE}A:SupannSursis:20270701:20271231",
            recovery_mail: "jane@example.net",
            directory_listed: Some(false),
            forwarding_address: "jane@example.net",
            keep_copy: true,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            ..Default::default()
        };
        let find = |kind, name: &str| {
            attributes(kind, &s)
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v)
        };
        assert_eq!(
            find(ChangeKind::Limited, "supannRessourceEtatDate").unwrap(),
            ["{COMPTE}A:SupannSursis:20270701:20271231"]
        );
        assert_eq!(
            find(ChangeKind::PasswordChanged, "userPassword").unwrap(),
            ["{ARGON2}$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"]
        );
        assert_eq!(
            find(ChangeKind::ConsentsChanged, "supannListeRouge").unwrap(),
            ["TRUE"]
        );
        assert_eq!(
            find(ChangeKind::MailRedirectChanged, "mailDeliveryOption").unwrap(),
            ["mailbox"]
        );
        assert_eq!(
            find(ChangeKind::Activated, "supannMailPerso").unwrap(),
            ["jane@example.net"]
        );
        // Empty values remove the attribute.
        assert!(find(ChangeKind::Created, "supannEtuId").unwrap().is_empty());
        assert!(
            find(ChangeKind::PhotoDeletionRequested, "jpegPhoto")
                .unwrap()
                .is_empty()
        );
        assert!(ldap_verifiable(s.password_hash));
        assert!(!ldap_verifiable(
            "$argon2id$v=19$m=19456,t=2,p=1,keyid=k1$c2FsdA$aGFzaA"
        ));
    }

    fn value(entry: &[Attribute], name: &str) -> Option<Vec<String>> {
        entry
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn the_entry_holds_every_attribute_the_service_owns() {
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
        let s = LdapSource {
            login: "jdoe",
            given_name: "Jane",
            family_name: "Doe",
            ressource_etat_date: "{COMPTE}A:SupannActif:20261124:",
            password_hash: hash,
            has_password: true,
            password_usable: true,
            consents: vec!["{PHOTO}INTRANET".to_owned(), CROUS_CONSENT.to_owned()],
            ..Default::default()
        };
        let entry = entry(&s);
        assert_eq!(value(&entry, "cn").unwrap(), ["Jane Doe"]);
        assert_eq!(
            value(&entry, "supannRessourceEtat").unwrap(),
            ["{COMPTE}A:SupannActif"]
        );
        assert_eq!(
            value(&entry, "supannConsentement").unwrap(),
            ["{PHOTO}INTRANET", CROUS_CONSENT]
        );
        assert_eq!(
            value(&entry, "userPassword").unwrap(),
            [format!("{{ARGON2}}{hash}")]
        );
        assert_eq!(value(&entry, "jpegPhoto"), None, "someone else's");
        assert!(value(&entry, "supannEtuDateFin").unwrap().is_empty());
        let departed = LdapSource {
            kind: crate::account::AccountKind::Staff,
            end_of_activity: "2026-09-30",
            ..s.clone()
        };
        assert_eq!(
            value(&super::entry(&departed), "supannEmpDateFin").unwrap(),
            ["20260930000000Z"]
        );
        // Locked or expired: nothing binds.
        let locked = LdapSource {
            password_usable: false,
            ..s.clone()
        };
        assert!(
            value(&super::entry(&locked), "userPassword")
                .unwrap()
                .is_empty()
        );
        // A hash LDAP cannot verify is left to whoever writes it.
        let peppered = LdapSource {
            password_hash: "",
            ..s.clone()
        };
        assert_eq!(value(&super::entry(&peppered), "userPassword"), None);
        // A tombstone is schema-valid; a refused photo goes.
        let purged = LdapSource {
            given_name: "",
            family_name: "",
            photo_refused: true,
            has_password: false,
            password_hash: "",
            password_usable: false,
            ..s.clone()
        };
        let tomb = super::entry(&purged);
        assert_eq!(value(&tomb, "sn").unwrap(), ["jdoe"]);
        assert_eq!(value(&tomb, "cn").unwrap(), ["jdoe"]);
        assert!(value(&tomb, "jpegPhoto").unwrap().is_empty());
    }
}
