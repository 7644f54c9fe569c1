//! Former students' accounts kept on consent. The arrêté of 30 November
//! 2006 on ENTs (article 6, as amended in 2017 after the CNIL's
//! délibération 2017-199) lets a higher-education institution keep a former
//! student's account "until the person asks for its deletion", provided
//! the person is asked for consent every year; without an answer, the
//! account is deleted within a year of the request.
//!
//! How the service applies it: each period of an account ends on its
//! retention end. `answer_within_days` before that day the expiry batch
//! mails a request with a link; a "yes" keeps the account past that day,
//! as a former student's account (SupAnn `{COMPTE}A:AncienEtudiant`,
//! `eduPersonAffiliation: alum`) until the same day `renew_every_months`
//! later, when the next period's request has been answered the same way.
//! No answer, or a "no", and the account expires on its retention end and
//! is purged after the institution's `purge_after`. The person may close
//! a kept account at any time.
//!
//! A request concerns one period, named by the retention end it was sent
//! for: an account whose retention end moves (an extension, a return, a
//! new departure) is asked again, and an answer never carries over.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::consent::Localized;
use crate::retention::add_months;

/// A profile's offer to keep former students' accounts
/// (`[institutions.X.profiles.Y.alumni]`, students only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlumniSettings {
    /// What the kept account still gives access to, as the request and the
    /// portal name it ("la messagerie", "your mailbox").
    pub services: Localized,
    /// Days between the request and the end of the period: the time the
    /// person has to answer.
    #[serde(default = "default_answer_within_days")]
    pub answer_within_days: u32,
    /// Months one "yes" keeps the account (the decree: consent is asked
    /// every year, so at most 12).
    #[serde(default = "default_renew_every_months")]
    pub renew_every_months: u32,
}

fn default_answer_within_days() -> u32 {
    60
}

fn default_renew_every_months() -> u32 {
    12
}

/// The longest a request may wait for its answer: the decree deletes an
/// unanswered account within a year of the request.
pub const MAX_ANSWER_DAYS: u32 = 180;

/// What a configuration's offer gets wrong (`institution_checks` words
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlumniProblem {
    /// Not 1 to 12 months: consent is asked at least every year.
    RenewEvery,
    /// Not 1 to [`MAX_ANSWER_DAYS`] days.
    AnswerWithin,
    /// As long as a period or longer: requests would overlap.
    AnswerLongerThanPeriod,
    /// A language without the services' names.
    Services,
}

impl AlumniProblem {
    /// The key under the profile's `alumni`.
    pub fn key(self) -> &'static str {
        match self {
            AlumniProblem::RenewEvery => "renew_every_months",
            AlumniProblem::AnswerWithin | AlumniProblem::AnswerLongerThanPeriod => {
                "answer_within_days"
            }
            AlumniProblem::Services => "services",
        }
    }
}

impl AlumniSettings {
    /// What is wrong with the settings.
    pub fn problems(&self) -> Vec<AlumniProblem> {
        let mut out = Vec::new();
        if !(1..=12).contains(&self.renew_every_months) {
            out.push(AlumniProblem::RenewEvery);
        }
        if !(1..=MAX_ANSWER_DAYS).contains(&self.answer_within_days) {
            out.push(AlumniProblem::AnswerWithin);
        } else if self.answer_within_days >= self.renew_every_months.saturating_mul(28) {
            out.push(AlumniProblem::AnswerLongerThanPeriod);
        }
        if self.services.fr.trim().is_empty() || self.services.en.trim().is_empty() {
            out.push(AlumniProblem::Services);
        }
        out
    }

    /// The timing of the periods.
    pub fn terms(&self) -> AlumniTerms {
        AlumniTerms {
            answer_within_days: self.answer_within_days,
            renew_every_months: self.renew_every_months,
        }
    }
}

/// The timing of an offer, as the batch's rules read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlumniTerms {
    pub answer_within_days: u32,
    pub renew_every_months: u32,
}

impl AlumniTerms {
    /// The first day the request for a period ending `end` is due.
    pub fn request_on(self, end: NaiveDate) -> NaiveDate {
        end.checked_sub_days(chrono::Days::new(u64::from(self.answer_within_days)))
            .unwrap_or(NaiveDate::MIN)
    }

    /// The end of the period a "yes" for the period ending `end` opens.
    pub fn kept_until(self, end: NaiveDate) -> NaiveDate {
        add_months(end, self.renew_every_months)
    }
}

/// Where an account stands with the request of its current period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlumniAnswer {
    /// The period end the last request was sent for.
    pub asked_for: Option<NaiveDate>,
    /// The period end the person said "yes" for.
    pub kept_for: Option<NaiveDate>,
}

impl AlumniAnswer {
    /// Whether the request for the period ending `end` was sent.
    pub fn asked(self, end: NaiveDate) -> bool {
        self.asked_for == Some(end)
    }

    /// Whether the person agreed to keep the account past `end`.
    pub fn kept(self, end: NaiveDate) -> bool {
        self.kept_for == Some(end)
    }
}

/// Whether the request for the period ending `end` is due on `today`: the
/// answer window is open and the request was not sent.
pub fn request_due(
    terms: AlumniTerms,
    answer: AlumniAnswer,
    end: NaiveDate,
    today: NaiveDate,
) -> bool {
    terms.request_on(end) <= today && today <= end && !answer.asked(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn settings(answer_within_days: u32, renew_every_months: u32) -> AlumniSettings {
        AlumniSettings {
            services: Localized {
                fr: "la messagerie".into(),
                en: "your mailbox".into(),
            },
            answer_within_days,
            renew_every_months,
        }
    }

    #[test]
    fn the_request_opens_its_window_and_is_sent_once_per_period() {
        let terms = settings(60, 12).terms();
        let end = d(2027, 12, 31);
        let none = AlumniAnswer::default();
        assert!(!request_due(terms, none, end, d(2027, 10, 31)));
        assert!(request_due(terms, none, end, d(2027, 11, 1)));
        assert!(request_due(terms, none, end, end));
        assert!(!request_due(terms, none, end, d(2028, 1, 1)));
        let asked = AlumniAnswer {
            asked_for: Some(end),
            kept_for: None,
        };
        assert!(!request_due(terms, asked, end, d(2027, 12, 1)));
        // A moved retention end is a new period: asked again.
        assert!(request_due(terms, asked, d(2028, 1, 31), d(2027, 12, 15)));
    }

    #[test]
    fn a_yes_keeps_the_account_for_the_period_it_answered() {
        let terms = settings(60, 12).terms();
        let end = d(2027, 12, 31);
        assert_eq!(terms.kept_until(end), d(2028, 12, 31));
        let kept = AlumniAnswer {
            asked_for: Some(end),
            kept_for: Some(end),
        };
        assert!(kept.kept(end));
        assert!(!kept.kept(terms.kept_until(end)));
        assert_eq!(
            settings(30, 6).terms().kept_until(d(2027, 8, 31)),
            d(2028, 2, 29)
        );
    }

    #[test]
    fn settings_follow_the_decree() {
        assert!(settings(60, 12).problems().is_empty());
        let keys = |s: AlumniSettings| {
            s.problems()
                .into_iter()
                .map(AlumniProblem::key)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(settings(60, 13)), ["renew_every_months"]);
        assert_eq!(keys(settings(0, 12)), ["answer_within_days"]);
        assert_eq!(keys(settings(181, 12)), ["answer_within_days"]);
        assert_eq!(keys(settings(60, 2)), ["answer_within_days"]);
        let mut blank = settings(60, 12);
        blank.services.en = " ".into();
        assert_eq!(keys(blank), ["services"]);
    }
}
