//! How the service's changes read in the LDAP directory (SupAnn 2021 and
//! inetOrgPerson names): each change kind names the attributes it touches,
//! with the values the account has after it, so that the LDAP sync worker
//! applies them without interpreting anything.

use super::self_service::{DirectoryEntry, DirectoryField};

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
}

/// Every kind with its stored name.
const KIND_NAMES: [(ChangeKind, &str); 19] = [
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
    pub directory_entry: Option<&'a DirectoryEntry>,
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

fn identity(s: &LdapSource<'_>) -> Vec<Attribute> {
    vec![
        ("uid", one(s.login)),
        ("mail", one(s.institutional_mail)),
        ("givenName", one(s.given_name)),
        ("sn", one(s.family_name)),
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
            ];
            out.extend(redirect(s));
            out
        }
        StatusChanged | ActivationOpened | Limited | Extended | Expired | Restored | Locked
        | Unlocked => vec![state(s)],
        PasswordChanged => vec![password(s), ("pwdReset", Vec::new())],
        PasswordExpired => vec![("pwdReset", vec!["TRUE".to_owned()])],
        RecoveryMailChanged => vec![("supannMailPerso", one(s.recovery_mail))],
        MailRedirectChanged => redirect(s),
        ConsentsChanged => vec![liste_rouge(s)],
        DirectoryEntryChanged => DirectoryField::ALL
            .iter()
            .map(|f| {
                let value = s.directory_entry.map(|e| e.get(*f)).unwrap_or_default();
                (directory_attribute(*f), one(value))
            })
            .collect(),
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
}
