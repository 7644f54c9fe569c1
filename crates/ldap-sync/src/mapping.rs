//! What the directory should hold for one account: the service's entry
//! (`AccountChange.entry`) with what this directory adds (DN, object
//! classes, `eduPersonPrincipalName`, affiliations, establishment) and
//! takes away (attributes outside its schema). Pure: no I/O.

use crate::settings::{InstitutionDirectory, LdapSyncSettings, LockMode, PurgeMode};

/// One account as the feed or a resync gives it.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub login: String,
    pub profile: String,
    pub staff: bool,
    /// A guest, invited by a sponsor.
    pub guest: bool,
    /// A guest's sponsor's login (`supannParrainDN` names their entry).
    pub sponsor_login: Option<String>,
    /// An account of several profiles: those whose end was not reported
    /// (or all of them, once every one has ended), each with whether it
    /// is a staff profile. Empty for an account of one profile.
    pub profiles: Vec<(String, bool)>,
    /// Purged: only a tombstone remains.
    pub purged: bool,
    /// A former student's account kept on consent: an alumnus, no longer
    /// a student nor a member.
    pub alumni: bool,
    pub password_usable: bool,
    /// When the password was set (`shadowLastChange`, in days since 1970).
    pub password_set_days: Option<i64>,
    /// `AccountChange.entry`: every attribute the service owns.
    pub entry: Vec<(String, Vec<String>)>,
}

/// What to make the entry at `dn` say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Desired {
    /// The entry with these classes and attributes (an attribute without
    /// values must be absent).
    Entry {
        dn: String,
        object_classes: Vec<String>,
        attributes: Vec<(String, Vec<String>)>,
    },
    /// No entry at all.
    Absent { dn: String },
}

impl Desired {
    pub fn dn(&self) -> &str {
        match self {
            Desired::Entry { dn, .. } | Desired::Absent { dn } => dn,
        }
    }
}

/// ppolicy's permanent lock: "locked until an administrator unlocks".
const PERMANENT_LOCK: &str = "000001010000Z";

/// The entry `source` calls for in `directory`.
pub fn desired(
    source: &Source,
    directory: &InstitutionDirectory,
    settings: &LdapSyncSettings,
) -> Desired {
    let dn = format!(
        "{}={},{}",
        directory.rdn_attribute,
        escape_rdn_value(&source.login),
        directory.people_base
    );
    if source.purged && settings.purge == PurgeMode::Delete {
        return Desired::Absent { dn };
    }
    let mut object_classes = directory.object_classes.clone();
    let mut attributes: Vec<(String, Vec<String>)> = source
        .entry
        .iter()
        .filter(|(name, _)| !omitted(settings, name))
        .cloned()
        .collect();
    let set = |attributes: &mut Vec<(String, Vec<String>)>, name: &str, values: Vec<String>| {
        attributes.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        attributes.push((name.to_owned(), values));
    };
    let principal = principal_name(source, directory);
    set(&mut attributes, "eduPersonPrincipalName", principal);
    set(
        &mut attributes,
        "eduPersonAffiliation",
        affiliations(source, directory),
    );
    if source.guest {
        // "dn du responsable de cette entrée" (SupAnn 2021): the sponsor.
        let sponsor = match &source.sponsor_login {
            Some(login) if !source.purged => vec![format!(
                "{}={},{}",
                directory.rdn_attribute,
                escape_rdn_value(login),
                directory.people_base
            )],
            _ => Vec::new(),
        };
        set(&mut attributes, "supannParrainDN", sponsor);
    }
    let etablissement = directory.etablissement.iter().cloned().collect();
    set(&mut attributes, "supannEtablissement", etablissement);
    if settings.lock == LockMode::Ppolicy {
        let lock = (!source.password_usable).then(|| PERMANENT_LOCK.to_owned());
        set(
            &mut attributes,
            "pwdAccountLockedTime",
            lock.into_iter().collect(),
        );
        // The password stays: the lock stops it, an unlock lifts it.
        attributes.retain(|(n, v)| !(n == "userPassword" && v.is_empty()));
    }
    if settings.esup_activ {
        object_classes.push("shadowAccount".into());
        let days = source.password_set_days.filter(|_| source.password_usable);
        let value = days.map(|d| d.to_string()).into_iter().collect();
        set(&mut attributes, "shadowLastChange", value);
    }
    attributes.retain(|(name, _)| !omitted(settings, name));
    Desired::Entry {
        dn,
        object_classes,
        attributes,
    }
}

fn omitted(settings: &LdapSyncSettings, name: &str) -> bool {
    settings
        .omit_attributes
        .iter()
        .any(|o| o.eq_ignore_ascii_case(name))
}

fn principal_name(source: &Source, directory: &InstitutionDirectory) -> Vec<String> {
    match &directory.principal_domain {
        _ if source.purged => Vec::new(),
        _ if source.login.contains('@') => vec![source.login.clone()],
        Some(domain) => vec![format!("{}@{domain}", source.login)],
        None => Vec::new(),
    }
}

fn affiliations(source: &Source, directory: &InstitutionDirectory) -> Vec<String> {
    if source.purged {
        return Vec::new();
    }
    if source.alumni {
        return vec!["alum".to_owned()];
    }
    if source.profiles.is_empty() {
        return profile_affiliations(&source.profile, source.staff, source.guest, directory);
    }
    // One person, one account: the affiliations of every profile, once.
    let mut out: Vec<String> = Vec::new();
    for (profile, staff) in &source.profiles {
        for value in profile_affiliations(profile, *staff, false, directory) {
            if !out.contains(&value) {
                out.push(value);
            }
        }
    }
    out
}

fn profile_affiliations(
    profile: &str,
    staff: bool,
    guest: bool,
    directory: &InstitutionDirectory,
) -> Vec<String> {
    if let Some(named) = directory.affiliations.get(profile) {
        return named.clone();
    }
    // eduPerson: a guest is an "affiliate", not a "member".
    let defaults: &[&str] = if guest {
        &["affiliate"]
    } else if staff {
        &["employee", "staff", "member"]
    } else {
        &["student", "member"]
    };
    defaults.iter().map(|s| (*s).to_owned()).collect()
}

/// A value escaped for a DN (RFC 4514): `,+"\<>;=` and a leading `#` or
/// space, a trailing space.
pub fn escape_rdn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn settings() -> LdapSyncSettings {
        LdapSyncSettings {
            api_url: "http://127.0.0.1:50051".into(),
            api_token_file: "t".into(),
            api_ca_file: None,
            api_client_certificate_file: None,
            api_client_key_file: None,
            url: "ldap://127.0.0.1:389".into(),
            starttls: false,
            ca_file: None,
            bind_dn: "cn=admin,dc=u,dc=fr".into(),
            bind_password_file: "p".into(),
            cursor_dn: "cn=sync,dc=u,dc=fr".into(),
            lock: LockMode::RemovePassword,
            purge: PurgeMode::Tombstone,
            omit_attributes: vec!["mailDeliveryOption".into()],
            esup_activ: false,
            poll_interval: std::time::Duration::from_secs(1),
            lease: std::time::Duration::from_secs(30),
            metrics_listen: None,
            max_backoff: std::time::Duration::from_secs(60),
            institutions: BTreeMap::new(),
        }
    }

    fn directory() -> InstitutionDirectory {
        InstitutionDirectory {
            people_base: "ou=people,dc=u,dc=fr".into(),
            rdn_attribute: "uid".into(),
            object_classes: vec!["inetOrgPerson".into()],
            principal_domain: Some("u.fr".into()),
            etablissement: Some("{UAI}0370800U".into()),
            affiliations: BTreeMap::from([("doctorant".into(), vec!["member".into()])]),
        }
    }

    fn source() -> Source {
        Source {
            login: "jdupont".into(),
            profile: "student".into(),
            password_usable: false,
            password_set_days: Some(20_000),
            entry: vec![
                ("uid".into(), vec!["jdupont".into()]),
                ("userPassword".into(), vec![]),
                ("mailDeliveryOption".into(), vec!["mailbox".into()]),
            ],
            ..Default::default()
        }
    }

    fn value(d: &Desired, name: &str) -> Option<Vec<String>> {
        match d {
            Desired::Entry { attributes, .. } => attributes
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone()),
            Desired::Absent { .. } => None,
        }
    }

    #[test]
    fn the_directory_adds_its_own_and_omits_what_its_schema_lacks() {
        let d = desired(&source(), &directory(), &settings());
        assert_eq!(d.dn(), "uid=jdupont,ou=people,dc=u,dc=fr");
        assert_eq!(value(&d, "mailDeliveryOption"), None);
        assert_eq!(
            value(&d, "eduPersonPrincipalName").unwrap(),
            ["jdupont@u.fr"]
        );
        assert_eq!(
            value(&d, "eduPersonAffiliation").unwrap(),
            ["student", "member"]
        );
        assert_eq!(value(&d, "userPassword").unwrap(), Vec::<String>::new());
        assert_eq!(value(&d, "shadowLastChange"), None);
    }

    #[test]
    fn ppolicy_locks_instead_of_removing_the_password() {
        let s = LdapSyncSettings {
            lock: LockMode::Ppolicy,
            esup_activ: true,
            ..settings()
        };
        let d = desired(&source(), &directory(), &s);
        assert_eq!(value(&d, "pwdAccountLockedTime").unwrap(), [PERMANENT_LOCK]);
        assert_eq!(value(&d, "userPassword"), None);
        // ESUP-Activ: no shadowLastChange while the password cannot be used.
        assert!(value(&d, "shadowLastChange").unwrap().is_empty());
        let usable = Source {
            password_usable: true,
            ..source()
        };
        let d = desired(&usable, &directory(), &s);
        assert!(value(&d, "pwdAccountLockedTime").unwrap().is_empty());
        assert_eq!(value(&d, "shadowLastChange").unwrap(), ["20000"]);
    }

    #[test]
    fn a_purge_deletes_where_configured() {
        let purged = Source {
            purged: true,
            ..source()
        };
        let s = LdapSyncSettings {
            purge: PurgeMode::Delete,
            ..settings()
        };
        assert!(matches!(
            desired(&purged, &directory(), &s),
            Desired::Absent { .. }
        ));
        let tomb = desired(&purged, &directory(), &settings());
        assert!(value(&tomb, "eduPersonAffiliation").unwrap().is_empty());
    }

    #[test]
    fn an_account_of_several_profiles_has_each_ones_affiliations_once() {
        let both = Source {
            profiles: vec![("student".into(), false), ("vacataire".into(), true)],
            ..source()
        };
        let d = desired(&both, &directory(), &settings());
        assert_eq!(
            value(&d, "eduPersonAffiliation").unwrap(),
            ["student", "member", "employee", "staff"]
        );
        // A profile the directory names keeps its own values.
        let doctoral = Source {
            profiles: vec![("doctorant".into(), false), ("vacataire".into(), true)],
            ..source()
        };
        let d = desired(&doctoral, &directory(), &settings());
        assert_eq!(
            value(&d, "eduPersonAffiliation").unwrap(),
            ["member", "employee", "staff"]
        );
    }

    #[test]
    fn a_former_students_kept_account_is_an_alumnus_only() {
        let alumnus = Source {
            alumni: true,
            profiles: vec![("student".into(), false), ("vacataire".into(), true)],
            ..source()
        };
        let d = desired(&alumnus, &directory(), &settings());
        assert_eq!(value(&d, "eduPersonAffiliation").unwrap(), ["alum"]);
    }

    #[test]
    fn a_guest_is_an_affiliate_whose_sponsor_is_named() {
        let guest = Source {
            guest: true,
            sponsor_login: Some("mcurie".into()),
            ..source()
        };
        let d = desired(&guest, &directory(), &settings());
        assert_eq!(value(&d, "eduPersonAffiliation").unwrap(), ["affiliate"]);
        assert_eq!(
            value(&d, "supannParrainDN").unwrap(),
            ["uid=mcurie,ou=people,dc=u,dc=fr"]
        );
        let purged = Source {
            purged: true,
            ..guest.clone()
        };
        let d = desired(&purged, &directory(), &settings());
        assert!(value(&d, "supannParrainDN").unwrap().is_empty());
        // Other accounts leave the attribute to whoever writes it.
        assert_eq!(
            value(
                &desired(&source(), &directory(), &settings()),
                "supannParrainDN"
            ),
            None
        );
    }

    #[test]
    fn dn_values_are_escaped() {
        assert_eq!(escape_rdn_value("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_rdn_value("#x "), "\\#x\\ ");
    }
}
