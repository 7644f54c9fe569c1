//! `ent-identity processing-record`: the record of processing activities a
//! data-protection officer keeps (RGPD article 30), written from the
//! configuration and the access table so that it stays true: for each kind
//! of personal data, why it is kept, who may read it (the roles the access
//! table gives the methods that return it, and the clients holding them),
//! where it goes (the directory's attributes, the mail relay, the SMS
//! provider) and how long it is kept (each profile's retention, the purge,
//! `[retention]`). The controller's own entries (its data-protection
//! officer, the legal basis) come from `institutions.X.data_protection`.

use std::collections::BTreeSet;
use std::fmt::Write;

use std::time::Duration;

use crate::app::RecordRetention;
use crate::auth::roles::{ACCESS_TABLE, Access};
use crate::config::{MailTransportKind, Settings, SmsTransportKind};
use crate::domain::retention::RetentionRule;

/// One kind of personal data: what it is, why it is kept, the methods
/// that return it, where it goes and how long it stays.
struct Kind {
    data: &'static str,
    purpose: &'static str,
    /// `Service/Method` of every RPC whose answer carries it.
    read_through: &'static [&'static str],
    goes_to: &'static str,
    kept: Kept,
}

/// How long a kind of data is kept.
enum Kept {
    /// As long as the account: its profile's retention, then the purge.
    Account,
    /// A `[retention]` key, and how to read it.
    Retention(&'static str, fn(&RecordRetention) -> Duration),
    /// Words of their own.
    Words(&'static str),
}

const ACCOUNT_READS: &[&str] = &[
    "AccountLifecycleService/ProvisionAccount",
    "AccountLifecycleService/BulkProvisionAccounts",
    "AccountLifecycleService/GetAccount",
    "AccountLifecycleService/ListChanges",
    "AccountLifecycleService/WatchChanges",
    "AccountLifecycleService/ListLdapEntries",
    "AccountSettingsService/ExportPersonalData",
    "HelpdeskService/FindPerson",
    "HelpdeskService/ExportPersonalDataOnRequest",
];

const KINDS: &[Kind] = &[
    Kind {
        data: "Identity: given and family names, birth date, student number, INE, HR number",
        purpose: "create the account from the enrolment and HR records, tell people apart, check who activates or asks at the desk",
        read_through: ACCOUNT_READS,
        goes_to: "the directory (`cn`, `sn`, `givenName`, `displayName`, `supannEtuId`, `supannCodeINE`, `supannEmpId`)",
        kept: Kept::Account,
    },
    Kind {
        data: "Login and university mail address",
        purpose: "sign in to the university's services",
        read_through: ACCOUNT_READS,
        goes_to: "the directory (`uid`, `supannAliasLogin`, `mail`); mails sent to the person",
        kept: Kept::Account,
    },
    Kind {
        data: "Contact: personal mail, mobile phone, recovery address and phone (with when each was verified)",
        purpose: "send activation material, codes and notices; recover a forgotten password",
        read_through: ACCOUNT_READS,
        goes_to: "the directory (`supannMailPerso`, `mobile`); the mail relay; the SMS provider",
        kept: Kept::Account,
    },
    Kind {
        data: "Password (argon2id hash only), its dates, former passwords' hashes",
        purpose: "authenticate; refuse a password used before",
        read_through: &[
            "AccountLifecycleService/ListChanges",
            "AccountLifecycleService/WatchChanges",
            "AccountLifecycleService/ListLdapEntries",
        ],
        goes_to: "the directory (`userPassword`, while the password may be used)",
        kept: Kept::Account,
    },
    Kind {
        data: "Consents (directory listing, photo uses, Crous, the institution's own items) with their dates and versions; the IT charter accepted",
        purpose: "apply the person's choices; prove them",
        read_through: &[
            "AccountSettingsService/GetConsents",
            "AccountSettingsService/DescribeAccount",
            "AccountLifecycleService/GetAccount",
            "AccountLifecycleService/ListChanges",
            "AccountLifecycleService/WatchChanges",
            "AccountLifecycleService/ListLdapEntries",
            "AccountSettingsService/ExportPersonalData",
        ],
        goes_to: "the directory (`supannListeRouge`, `supannConsentement`, see below)",
        kept: Kept::Account,
    },
    Kind {
        data: "Mail redirect; staff's directory entry and antispam level",
        purpose: "forward mail where the person asks; publish what staff choose",
        read_through: &[
            "MailRedirectionService/GetMailRedirect",
            "AccountSettingsService/GetDirectoryEntry",
            "AccountLifecycleService/ListChanges",
            "AccountLifecycleService/WatchChanges",
            "AccountLifecycleService/ListLdapEntries",
            "AccountSettingsService/ExportPersonalData",
        ],
        goes_to: "the directory (`mailForwardingAddress`, `telephoneNumber`, `roomNumber`, `title`, `postalAddress`, `labeledURI`)",
        kept: Kept::Account,
    },
    Kind {
        data: "Departure, retention and extension requests (the reason typed)",
        purpose: "close the account on the right day; keep it longer when allowed",
        read_through: &[
            "AccountLifecycleService/ListExtensionRequests",
            "AccountLifecycleService/GetAccount",
            "AccountSettingsService/ExportPersonalData",
        ],
        goes_to: "the directory (`supannEtuDateFin`, `supannEmpDateFin`, `supannRessourceEtatDate`)",
        kept: Kept::Account,
    },
    Kind {
        data: "Guests' invitations (names, birth date, personal mail, reason, sponsor)",
        purpose: "let a sponsor bring a guest in, with a moderator's approval where configured",
        read_through: &[
            "GuestService/ListSponsoredGuests",
            "GuestService/ListPendingInvitations",
        ],
        goes_to: "mails to the guest, the sponsor and the moderators",
        kept: Kept::Words(
            "approved: as the guest's account; refused: `[retention] decided_requests` after the decision; never decided: as long after the stay's end",
        ),
    },
    Kind {
        data: "Records held as a possible duplicate (the record as received)",
        purpose: "one person, one account: an administrator decides",
        read_through: &["AccountLifecycleService/ListHeldRecords"],
        goes_to: "nowhere",
        kept: Kept::Retention("decided_requests", |r| r.decided_requests),
    },
    Kind {
        data: "Audit trail: who did what to which account, when (client, request id, details)",
        purpose: "security and accountability (CNIL délibération 2021-122, journalisation)",
        read_through: &[
            "AccountLifecycleService/ListAuditEvents",
            "AccountSettingsService/ExportPersonalData",
        ],
        goes_to: "nowhere",
        kept: Kept::Retention("audit_events", |r| r.audit_events),
    },
    Kind {
        data: "Change feed: each change with a copy of the account as it left it",
        purpose: "keep the directory in step",
        read_through: &[
            "AccountLifecycleService/ListChanges",
            "AccountLifecycleService/WatchChanges",
        ],
        goes_to: "the LDAP sync worker, then the directory",
        kept: Kept::Retention("feed_entries", |r| r.feed_entries),
    },
    Kind {
        data: "Messages: recipient, kind, content until sent",
        purpose: "deliver mails and SMS; answer \"was it sent?\"",
        read_through: &["AccountSettingsService/ExportPersonalData"],
        goes_to: "the mail relay; the SMS provider",
        kept: Kept::Retention("sent_messages", |r| r.sent_messages),
    },
    Kind {
        data: "Activation flows (what was typed on their screens) and one-time secrets' hashes with where they were sent",
        purpose: "activate and recover accounts",
        read_through: &["ActivationService/GetActivationFlow"],
        goes_to: "nowhere",
        kept: Kept::Retention("finished_flows", |r| r.finished_flows),
    },
    Kind {
        data: "Attempt counters (keyed hashes of an address, a login or an identifier)",
        purpose: "slow down guessing",
        read_through: &[],
        goes_to: "nowhere",
        kept: Kept::Words("the longest rate-limit window, then forgotten by the expiry batch"),
    },
];

/// The record, in Markdown.
pub fn record(settings: &Settings) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Processing record\n\nWritten by `ent-identity processing-record` from the configuration and the access table: write it again after each change of either. Entries marked _to fill_ are the controller's (`institutions.CODE.data_protection`)."
    );
    controllers(&mut out, settings);
    kinds(&mut out, settings);
    retention(&mut out, settings);
    consents(&mut out, settings);
    recipients(&mut out, settings);
    out
}

fn controllers(out: &mut String, settings: &Settings) {
    let _ = writeln!(
        out,
        "\n## Controllers\n\n| institution | name | data-protection officer | legal basis |\n|---|---|---|---|"
    );
    for (code, institution) in &settings.institutions {
        let p = &institution.data_protection;
        let filled = |value: &str, key: &str| match value.trim() {
            "" => format!("_to fill_ (`institutions.{code}.data_protection.{key}`)"),
            text => cell(text),
        };
        let _ = writeln!(
            out,
            "| `{code}` | {} | {} | {} |",
            cell(&institution.name),
            filled(&p.dpo_contact, "dpo_contact"),
            filled(&p.legal_basis, "legal_basis")
        );
    }
}

fn kinds(out: &mut String, settings: &Settings) {
    let _ = writeln!(
        out,
        "\n## Personal data\n\n| data | purpose | read by (roles) | goes to | kept |\n|---|---|---|---|---|"
    );
    for kind in KINDS {
        let readers = roles_reading(kind.read_through);
        let readers = if readers.is_empty() {
            "nobody (the service only)".to_owned()
        } else {
            readers
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let kept = match kind.kept {
            Kept::Account => "as the account (see below)".to_owned(),
            Kept::Retention(key, read) => retention_of(key, read(&settings.retention)),
            Kept::Words(words) => words.to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {readers} | {} | {kept} |",
            kind.data, kind.purpose, kind.goes_to
        );
    }
    let _ = writeln!(
        out,
        "\nThe person reads their own data at the portal (`portal`) and gets all of it with `ExportPersonalData`; a desk agent (`helpdesk`) sees what checking an identity in person needs."
    );
}

/// The roles that may call any of `methods`, from the access table.
fn roles_reading(methods: &[&str]) -> BTreeSet<&'static str> {
    ACCESS_TABLE
        .iter()
        .filter(|(service, method, _)| {
            let short = service.rsplit('.').next().unwrap_or(service);
            methods.contains(&format!("{short}/{method}").as_str())
        })
        .flat_map(|(_, _, access)| match access {
            Access::Public => Vec::new(),
            Access::Roles(roles) => roles.iter().map(|r| r.name()).collect(),
        })
        .collect()
}

fn retention_of(key: &str, duration: Duration) -> String {
    let mut text = format!(
        "{} (`[retention] {key}`)",
        formats::duration::text(duration)
    );
    if key == "feed_entries" {
        text.push_str(", longer only for a reader that has not read them");
    }
    text
}

fn retention(out: &mut String, settings: &Settings) {
    let _ = writeln!(
        out,
        "\n## Accounts' retention\n\nAfter the last day of activity the account keeps limited access until its retention end, then closes; its personal data is deleted `purge_after` later (a tombstone with the login stays for the audit trail).\n\n| institution | profile | kept after the last day of activity | extension | deleted after closing | former students |\n|---|---|---|---|---|---|"
    );
    for (code, institution) in &settings.institutions {
        for (name, profile) in &institution.profiles {
            let kept = match profile.retention.rule() {
                RetentionRule::Months(1) => "1 month".to_owned(),
                RetentionRule::Months(m) => format!("{m} months"),
                RetentionRule::AfterAcademicYear(day) => {
                    format!("until {day} after the end of the academic year")
                }
            };
            let extension = profile
                .retention
                .extension_months
                .map_or("none".to_owned(), |m| format!("{m} months"));
            let alumni = profile.alumni.as_ref().map_or("—".to_owned(), |a| {
                format!(
                    "kept on consent ({}), asked every {} months",
                    a.services.en, a.renew_every_months
                )
            });
            let _ = writeln!(
                out,
                "| `{code}` | `{name}` | {kept} | {extension} | {} | {alumni} |",
                formats::duration::text(institution.lifecycle.purge_after)
            );
        }
    }
}

fn consents(out: &mut String, settings: &Settings) {
    let _ = writeln!(
        out,
        "\n## Consent items declared\n\n| institution | item | choices | directory values |\n|---|---|---|---|"
    );
    for (code, institution) in &settings.institutions {
        for (item_code, item) in &institution.consents {
            let choices: Vec<String> = item.choices.iter().map(|c| cell(&c.label.en)).collect();
            let values: BTreeSet<&str> = item
                .choices
                .iter()
                .flat_map(|c| c.ldap.iter().map(String::as_str))
                .collect();
            let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
            let _ = writeln!(
                out,
                "| `{code}` | `{item_code}` ({}, version {}) | {} | {} |",
                cell(&item.label.en),
                item.version,
                choices.join("; "),
                values.join(", ")
            );
        }
    }
}

fn recipients(out: &mut String, settings: &Settings) {
    let mail = match settings.mail.transport {
        MailTransportKind::Smtp => format!("the SMTP relay `{}`", settings.mail.smtp.host),
        MailTransportKind::File => "files in a folder (no relay: a trial)".to_owned(),
    };
    let sms = match settings.sms.transport {
        SmsTransportKind::Webhook => format!(
            "the provider behind `{}`",
            host_of(&settings.sms.webhook.url)
        ),
        SmsTransportKind::File => "files in a folder (no provider: a trial)".to_owned(),
    };
    let _ = writeln!(
        out,
        "\n## Recipients\n\n- Mail: {mail}.\n- SMS: {sms}.\n- The directory: through the LDAP sync worker (role `ldap_sync`).\n\n| client | roles |\n|---|---|"
    );
    if settings.auth.clients.is_empty() {
        let _ = writeln!(
            out,
            "| (none configured) | `serve` on loopback makes a one-time `admin` token for local use |"
        );
    }
    for (name, client) in &settings.auth.clients {
        let roles: Vec<String> = client
            .roles
            .iter()
            .map(|r| format!("`{}`", r.name()))
            .collect();
        let _ = writeln!(out, "| `{name}` | {} |", roles.join(", "));
    }
}

/// A URL's host, without its path or credentials.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split('/').next().unwrap_or(rest);
    host.rsplit('@').next().unwrap_or(host)
}

/// Text fit for a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_a_kind_names_is_in_the_access_table() {
        for kind in KINDS {
            for method in kind.read_through {
                assert!(
                    !roles_reading(&[method]).is_empty(),
                    "{method} ({}) is not in the access table",
                    kind.data
                );
            }
        }
        assert_eq!(
            roles_reading(&["AccountLifecycleService/ListAuditEvents"]),
            BTreeSet::from(["admin"])
        );
    }

    #[test]
    fn a_webhook_shows_its_host_only() {
        assert_eq!(
            host_of("https://user:secret@sms.example.fr/send?key=1"),
            "sms.example.fr"
        );
        assert_eq!(host_of("sms.example.fr"), "sms.example.fr");
    }
}
