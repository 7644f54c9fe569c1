//! The readable copy: the document's sections with labels and values in
//! the person's language, dates in the institution's time zone, every
//! recorded code in words (`texts::records`).

use chrono::{DateTime, NaiveDate, Utc};
use domain::institution::InstitutionSettings;
use domain::language::Language;

use super::document::{AccountPart, Decided, Document};
use crate::texts::records::{self, code, label, value};

/// The copy to read: sections of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub title: String,
    pub intro: String,
    /// When the copy was made, in words.
    pub generated: String,
    pub sections: Vec<ReportSection>,
}

/// One section; no rows: nothing of this kind is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSection {
    pub title: String,
    pub rows: Vec<ReportRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub label: String,
    pub value: String,
}

/// How values are written for one reader.
struct Writer<'a> {
    language: Language,
    institution: &'a InstitutionSettings,
}

impl Writer<'_> {
    fn at(&self, at: DateTime<Utc>) -> String {
        crate::texts::mail::local(at, self.institution.time_zone, self.language)
    }

    fn day(&self, day: NaiveDate) -> String {
        match self.language {
            Language::French => day.format("%d/%m/%Y").to_string(),
            Language::English => day.format("%Y-%m-%d").to_string(),
        }
    }

    /// A value's words with `filler` where they say `{}`.
    fn fill(&self, key: &str, filler: &str) -> String {
        value(self.language, key).replacen("{}", filler, 1)
    }

    /// A profile's name as the institution words it; none where it does
    /// not (its code is the configuration's, not the person's).
    fn profile_label(&self, profile: &str) -> Option<&str> {
        let profile = self.institution.profiles.get(profile)?;
        profile.label.as_ref().map(|l| l.pick(self.language))
    }

    fn yes_no(&self, yes: bool) -> String {
        value(self.language, if yes { "yes" } else { "no" }).to_owned()
    }

    fn row(&self, key: &str, value: impl Into<String>) -> ReportRow {
        ReportRow {
            label: label(self.language, key).to_owned(),
            value: value.into(),
        }
    }

    fn section(&self, key: &str, rows: Vec<ReportRow>) -> ReportSection {
        ReportSection {
            title: label(self.language, key).to_owned(),
            rows,
        }
    }

    /// A row for each value present.
    fn rows(&self, fields: &[(&str, Option<&str>)]) -> Vec<ReportRow> {
        fields
            .iter()
            .filter_map(|(key, v)| v.filter(|v| !v.is_empty()).map(|v| self.row(key, v)))
            .collect()
    }

    /// An address or phone with whether and when it was verified.
    fn verified(&self, key: &str, v: Option<&str>, at: Option<DateTime<Utc>>) -> Option<ReportRow> {
        let state = match at {
            Some(at) => self.fill("verified", &self.at(at)),
            None => value(self.language, "not_verified").to_owned(),
        };
        v.map(|v| self.row(key, format!("{v} ({state})")))
    }
}

/// The readable copy of `document`.
pub fn report(
    document: &Document,
    institution: &InstitutionSettings,
    language: Language,
) -> Report {
    let w = Writer {
        language,
        institution,
    };
    let (title, intro) = records::title(language, &document.institution.name);
    let mut sections = vec![w.section("section.account", account_rows(&w, &document.account))];
    if !document.profiles.is_empty() {
        sections.push(w.section("section.profiles", profile_rows(&w, document)));
    }
    sections.push(w.section("section.consents", consent_rows(&w, document)));
    sections.extend(settings_sections(&w, document));
    sections.extend(records_sections(&w, document));
    sections.push(w.section("section.retention", retention_rows(&w, document)));
    Report {
        title,
        intro,
        generated: records::generated(language, &w.at(document.generated_at)),
        sections,
    }
}

fn account_rows(w: &Writer<'_>, a: &AccountPart) -> Vec<ReportRow> {
    let l = w.language;
    let status = format!(
        "{} ({})",
        value(l, &format!("status.{}", a.status)),
        w.fill("on", &w.at(a.status_changed_at))
    );
    let mut rows = w.rows(&[
        ("label.login", Some(a.login.as_str())),
        ("label.institution", Some(w.institution.name.as_str())),
        ("label.profile", w.profile_label(&a.profile)),
        ("label.kind", Some(value(l, &format!("kind.{}", a.kind)))),
        ("label.status", Some(status.as_str())),
        ("label.given_name", Some(a.given_name.as_str())),
        ("label.family_name", Some(a.family_name.as_str())),
        (
            "label.birth_date",
            a.birth_date.map(|d| w.day(d)).as_deref(),
        ),
        ("label.student_number", a.student_number.as_deref()),
        ("label.ine", a.ine.as_deref()),
        ("label.hr_id", a.hr_id.as_deref()),
        ("label.institutional_mail", a.institutional_mail.as_deref()),
        ("label.personal_mail", a.personal_mail.as_deref()),
    ]);
    rows.extend(
        [
            w.verified(
                "label.mobile_phone",
                a.mobile_phone.as_deref(),
                a.mobile_phone_verified_at,
            ),
            w.verified(
                "label.recovery_mail",
                a.recovery_mail.as_deref(),
                a.recovery_mail_verified_at,
            ),
            w.verified(
                "label.recovery_phone",
                a.recovery_phone.as_deref(),
                a.recovery_phone_verified_at,
            ),
        ]
        .into_iter()
        .flatten(),
    );
    rows.extend(account_dates(w, a));
    rows.push(w.row("label.id", a.id.clone()));
    rows
}

/// The account's life and password, in dates.
fn account_dates(w: &Writer<'_>, a: &AccountPart) -> Vec<ReportRow> {
    let l = w.language;
    let at = |t: Option<DateTime<Utc>>| t.map(|t| w.at(t));
    let day = |d: Option<NaiveDate>| d.map(|d| w.day(d));
    let mut password = match a.password.changed_at {
        Some(changed) if a.password.set => vec![w.fill("password_set", &w.at(changed))],
        _ => vec![value(l, "none").to_owned()],
    };
    password.extend(at(a.password.expires_at).map(|t| w.fill("password_expires", &t)));
    if a.password.must_change {
        password.push(value(l, "password_must_change").to_owned());
    }
    let charter = a.charter.as_ref().map(|c| {
        value(l, "charter")
            .replacen("{}", &c.version, 1)
            .replacen("{}", &w.at(c.accepted_at), 1)
    });
    let antispam = a
        .antispam_level
        .map(|level| value(l, &format!("antispam.{level}")));
    let mut rows = w.rows(&[
        (
            "label.activation_available_at",
            Some(w.at(a.activation_available_at).as_str()),
        ),
        ("label.activated_at", at(a.activated_at).as_deref()),
        ("label.password", Some(password.join(", ").as_str())),
        (
            "label.previous_passwords",
            Some(a.password.previous_passwords_kept.to_string().as_str()),
        ),
        ("label.charter", charter.as_deref()),
        ("label.antispam", antispam),
        ("label.sponsor", a.sponsor.as_deref()),
        (
            "label.end_of_activity",
            day(a.end_of_activity_date).as_deref(),
        ),
        ("label.retention_end", day(a.retention_end_date).as_deref()),
        ("label.alumni_asked_for", day(a.alumni_asked_for).as_deref()),
        ("label.alumni_kept_for", day(a.alumni_kept_for).as_deref()),
        ("label.expired_at", at(a.expired_at).as_deref()),
        ("label.created_at", Some(w.at(a.created_at).as_str())),
        ("label.updated_at", Some(w.at(a.updated_at).as_str())),
    ]);
    rows.retain(|r| !r.value.is_empty());
    rows
}

fn profile_rows(w: &Writer<'_>, document: &Document) -> Vec<ReportRow> {
    document
        .profiles
        .iter()
        .map(|p| {
            let mut parts =
                vec![value(w.language, &format!("kind.{}", p.kind.as_str())).to_owned()];
            parts.extend(p.student_number.clone());
            parts.extend(p.hr_id.clone());
            parts.extend(p.end_of_activity_date.map(|d| w.day(d)));
            ReportRow {
                label: w
                    .profile_label(&p.profile)
                    .unwrap_or(parts[0].as_str())
                    .to_owned(),
                value: parts.join(" — "),
            }
        })
        .collect()
}

fn consent_rows(w: &Writer<'_>, document: &Document) -> Vec<ReportRow> {
    let l = w.language;
    let c = &document.consents;
    let decided = |key: &str, d: &Option<Decided<bool>>| {
        d.as_ref().map(|d| {
            w.row(
                key,
                format!(
                    "{} ({})",
                    w.yes_no(d.value),
                    w.fill("on", &w.at(d.decided_at))
                ),
            )
        })
    };
    let mut rows: Vec<ReportRow> = [
        decided("label.directory_listed", &c.directory_listed),
        c.photo.as_ref().map(|d| {
            let uses: Vec<&str> = d
                .value
                .iter()
                .map(|u| value(l, &format!("photo.{u}")))
                .collect();
            let on = w.fill("on", &w.at(d.decided_at));
            w.row("label.photo", format!("{} ({on})", uses.join(", ")))
        }),
        decided("label.crous_sharing", &c.crous_sharing),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (item_code, answer) in &c.items {
        let item = w.institution.consents.get(item_code);
        let choices: Vec<String> = answer
            .choices
            .iter()
            .map(|choice| {
                item.and_then(|i| i.choices.iter().find(|c| &c.code == choice))
                    .map_or_else(|| choice.clone(), |c| c.label.pick(l).to_owned())
            })
            .collect();
        rows.push(ReportRow {
            label: item.map_or_else(|| item_code.clone(), |i| i.label.pick(l).to_owned()),
            value: format!(
                "{} ({}, v{})",
                choices.join(", "),
                w.fill("on", &w.at(answer.decided_at)),
                answer.version
            ),
        });
    }
    rows
}

/// The redirect, the directory entry and the directory's attributes.
fn settings_sections(w: &Writer<'_>, document: &Document) -> Vec<ReportSection> {
    let mut sections = Vec::new();
    if let Some(r) = &document.mail_redirect {
        let mut rows = vec![w.row("label.keep_copy", w.yes_no(r.keep_copy))];
        rows.extend(w.verified("label.redirect_address", Some(&r.address), r.verified_at));
        rows.rotate_right(1);
        sections.push(w.section("section.redirect", rows));
    }
    if let Some(e) = &document.directory_entry {
        let rows = w.rows(&[
            ("label.office_phone", Some(e.office_phone.as_str())),
            ("label.office_location", Some(e.office_location.as_str())),
            ("label.job_title", Some(e.job_title.as_str())),
            ("label.postal_address", Some(e.postal_address.as_str())),
            ("label.web_page", Some(e.web_page.as_str())),
        ]);
        sections.push(w.section("section.directory_entry", rows));
    }
    let rows = document
        .directory
        .iter()
        .filter(|a| !a.values.is_empty())
        .map(|a| ReportRow {
            label: a.attribute.clone(),
            value: a.values.join(", "),
        })
        .collect();
    sections.push(w.section("section.directory", rows));
    sections
}

/// Requests, invitations, held records, the audit trail, the feed and the
/// messages: one row each, dated.
fn records_sections(w: &Writer<'_>, d: &Document) -> Vec<ReportSection> {
    let l = w.language;
    let dated = |at: DateTime<Utc>, value: String| ReportRow {
        label: w.at(at),
        value,
    };
    let state = |s: &str| value(l, &format!("state.{s}"));
    let extensions = d.extension_requests.iter().map(|r| {
        let mut parts = vec![r.reason.clone(), state(&r.state).to_owned()];
        parts.extend(r.new_retention_end_date.map(|day| w.day(day)));
        parts.extend(r.decision_comment.clone());
        dated(r.requested_at, parts.join(" — "))
    });
    let invitations = d.guest_invitations.iter().map(|i| {
        let names = format!("{} {} <{}>", i.given_name, i.family_name, i.personal_mail);
        let parts = [
            names,
            i.reason.clone(),
            w.day(i.end_date),
            state(i.status).to_owned(),
        ];
        dated(i.created_at, parts.join(" — "))
    });
    let held = d.held_records.iter().map(|h| {
        let matched = value(l, &format!("matched.{}", h.matched_on));
        dated(
            h.held_at,
            format!("{} — {matched} — {}", h.profile, state(&h.status)),
        )
    });
    let events = d.audit_events.iter().map(|e| {
        let asked = w.fill("asked_by", &e.actor);
        dated(
            e.occurred_at,
            format!("{} ({asked})", code(l, "action", &e.action)),
        )
    });
    let feed = d
        .feed_entries
        .iter()
        .map(|f| dated(f.occurred_at, code(l, "change", &f.kind).to_owned()));
    let messages = d.messages.iter().map(|m| {
        let to = w.fill(&format!("channel.{}", m.channel), &m.recipient);
        let fate = match (m.sent_at, m.given_up_at) {
            (Some(at), _) => w.fill("message.sent", &w.at(at)),
            (None, Some(at)) => w.fill("message.given_up", &w.at(at)),
            (None, None) => value(l, "message.pending").to_owned(),
        };
        dated(
            m.created_at,
            format!("{} — {to} — {fate}", code(l, "message", &m.kind)),
        )
    });
    vec![
        w.section("section.extensions", extensions.collect()),
        w.section("section.invitations", invitations.collect()),
        w.section("section.held", held.collect()),
        w.section("section.events", events.collect()),
        w.section("section.feed", feed.collect()),
        w.section("section.messages", messages.collect()),
    ]
}

fn retention_rows(w: &Writer<'_>, d: &Document) -> Vec<ReportRow> {
    let r = &d.retention;
    let days = |n: u64| w.fill("days", &n.to_string());
    let mut rows = vec![
        w.row("label.retention_audit", days(r.audit_events_days)),
        w.row("label.retention_messages", days(r.sent_messages_days)),
        w.row("label.retention_flows", days(r.finished_flows_days)),
    ];
    if let Some(until) = r.account_kept_until {
        rows.insert(0, w.row("label.retention_end", w.day(until)));
    }
    rows
}
