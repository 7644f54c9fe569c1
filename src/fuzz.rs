//! What every parser and validator must hold for any input, as functions
//! that panic when it does not. The `cargo fuzz` targets (`fuzz/`) feed
//! them random bytes; the property tests below feed them generated text in
//! the normal test suite. Each returns normally for every input that is
//! handled correctly, refused or not.

use chrono::NaiveDate;

use crate::domain::ids::{BirthDate, Ine, MailAddress, PhoneE164, StudentNumber};
use crate::domain::login::{LoginScheme, MailScheme, NameParts, NameTemplate};
use crate::domain::password::{Password, PasswordPolicy, PersonalData, evaluate};

/// INE: a parsed one is 11 upper-case letters and digits and parses again
/// to itself.
pub fn ine(input: &str) {
    if let Ok(ine) = Ine::parse(input) {
        let text = ine.as_str();
        assert_eq!(text.len(), 11, "{text:?}");
        assert!(
            text.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
            "{text:?}"
        );
        assert_eq!(Ine::parse(text).as_ref().map(Ine::as_str), Ok(text));
    }
}

/// Mobile phone: E.164 (`+` and at most 15 digits), stable when parsed
/// again, for the regions of the example institutions.
pub fn phone(input: &str) {
    for region in ["FR", "BE", "GB"] {
        if let Ok(phone) = PhoneE164::parse(input, region) {
            let text = phone.as_str();
            assert!(text.starts_with('+'), "{text:?}");
            assert!(
                text.len() <= 16 && text[1..].chars().all(|c| c.is_ascii_digit()),
                "{text:?}"
            );
            assert_eq!(
                PhoneE164::parse(text, region)
                    .as_ref()
                    .map(PhoneE164::as_str),
                Ok(text)
            );
        }
    }
}

/// Mail address: one `@`, no spaces or controls, at most 254 bytes, stable
/// when parsed again.
pub fn mail(input: &str) {
    if let Ok(mail) = MailAddress::parse(input) {
        let text = mail.as_str();
        assert!(text.len() <= 254, "{text:?}");
        assert_eq!(text.matches('@').count(), 1, "{text:?}");
        assert!(
            !text.chars().any(|c| c.is_whitespace() || c.is_control()),
            "{text:?}"
        );
        assert_eq!(
            MailAddress::parse(text).as_ref().map(MailAddress::as_str),
            Ok(text)
        );
    }
}

/// Birth date: from 1900 to today, whatever is typed.
pub fn birth_date(input: &str) {
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
    if let Ok(date) = BirthDate::parse(input, today) {
        let date = date.date();
        assert!(date <= today, "{date}");
        assert!(date >= NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default());
    }
}

/// Student number: digits only, of the institution's length when it has
/// one.
pub fn student_number(input: &str) {
    for length in [None, Some(8)] {
        if let Ok(number) = StudentNumber::parse(input, length) {
            let text = number.as_str();
            assert!(!text.is_empty() && text.len() <= 20, "{text:?}");
            if let Some(n) = length {
                assert_eq!(text.len(), n, "{text:?}");
            }
        }
    }
}

/// Identifier schemes: any names give either a refusal or a login of
/// lower-case ASCII letters, digits, `.` and `-` (plus `@` and the domain
/// for mail addresses), whatever the alphabet of the names.
pub fn login_schemes(given_name: &str, family_name: &str, student_number: &str) {
    // Student numbers reach the schemes parsed (names are taken as typed:
    // the schemes fold any alphabet themselves).
    let number = StudentNumber::parse(student_number, None).ok();
    let names = NameParts {
        given_name,
        family_name,
        student_number: number.as_ref().map(StudentNumber::as_str),
        hr_id: None,
    };
    let plain = |text: &str| {
        text.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-'))
    };
    let schemes = [
        LoginScheme::InitialFamilySequence {
            digits: 3,
            max_family_length: 20,
        },
        LoginScheme::StudentNumberSuffix { suffix: "T".into() },
        LoginScheme::Template {
            template: NameTemplate::try_from(
                "{family_compact:8}{given_compact:1}{seq:2}".to_owned(),
            )
            .expect("a template"),
        },
    ];
    for scheme in schemes {
        if let Ok(Some(stem)) = scheme.stem(&names) {
            for attempt in [0, 1, 998, u32::MAX] {
                if let Some(login) = scheme.candidate(&stem, attempt) {
                    assert!(!login.is_empty() && login.len() <= 64, "{login:?}");
                    assert!(
                        login
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')),
                        "{login:?}"
                    );
                }
            }
        }
    }
    let templated = NameTemplate::try_from("{given:1}.{family}{seq?}".to_owned()).ok();
    for local_part in [None, templated] {
        let mail = MailScheme {
            domain: "etu.example.fr".into(),
            local_part,
        };
        if let Some(stem) = mail.stem(&names) {
            assert!(plain(&stem), "{stem:?}");
            for attempt in [0, 1, u32::MAX] {
                if let Some(address) = mail.candidate(&stem, attempt) {
                    assert!(MailAddress::parse(&address).is_ok(), "{address:?}");
                }
            }
        }
    }
}

/// Password evaluation: never panics, reports a score of 0 to 4, and says
/// "too short" exactly when the password is shorter than the policy.
pub fn password(input: &str) {
    let policy = PasswordPolicy::default();
    let typed = Password::new(input.to_owned());
    let personal = PersonalData {
        given_name: "Jeanne".into(),
        family_name: "Dupont".into(),
        login: "jdupont001".into(),
    };
    let evaluation = evaluate(&policy, &typed, Some(&personal));
    assert!(evaluation.score <= 4);
    let too_short = evaluation
        .violations
        .iter()
        .any(|v| matches!(v, crate::domain::password::Violation::TooShort { .. }));
    assert_eq!(too_short, typed.char_count() < policy.min_length);
}

/// Configuration: any TOML text is either refused with problems or gives
/// settings that passed validation.
pub fn configuration(input: &str) {
    if let Ok(settings) = crate::config::Settings::from_toml(input) {
        assert!(settings.validate().is_ok());
    }
}

/// Caller-supplied metadata: `Accept-Language` and the end user's address.
pub fn metadata(input: &str) {
    let _ = crate::domain::language::Language::from_accept_language(input);
    if let Some(address) = crate::auth::EndUserAddress::parse(input) {
        let subject = address.counter_subject();
        assert_eq!(
            crate::auth::EndUserAddress::parse(&subject),
            Some(address),
            "{subject:?}"
        );
    }
    let _ = crate::auth::access_of(input);
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    // Text from any Unicode, and text shaped like the real thing.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[0-9A-Za-z +.@_-]{0,40}", "\\PC{0,80}",]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn ine(s in prop_oneof![text(), "[0-9]{9}[A-Z]{2}", "[0-9]{10}[A-Z0-9]"]) {
            super::ine(&s);
        }

        #[test]
        fn phone(s in prop_oneof![text(), "(\\+33|0)[67][ .]?[0-9]{2}([ .]?[0-9]{2}){3}"]) {
            super::phone(&s);
        }

        #[test]
        fn mail(s in prop_oneof![text(), "[a-z.]{1,20}@[a-z]{1,10}\\.(fr|org)", "\\PC{0,20}@\\PC{0,20}"]) {
            super::mail(&s);
        }

        #[test]
        fn birth_date(s in prop_oneof![text(), "[0-9]{4}-[0-9]{2}-[0-9]{2}", "[0-9]{8}"]) {
            super::birth_date(&s);
        }

        #[test]
        fn student_number(s in prop_oneof![text(), " ?[0-9]{6,10} ?"]) {
            super::student_number(&s);
        }

        #[test]
        fn login_schemes(given in text(), family in text(), number in "[0-9]{0,10}") {
            super::login_schemes(&given, &family, &number);
        }

        #[test]
        fn password(s in prop_oneof![text(), "\\PC{0,300}"]) {
            super::password(&s);
        }

        #[test]
        fn metadata(s in prop_oneof![text(), "[0-9a-f:.]{0,45}", "(fr|en|de)(-[A-Z]{2})?(;q=[0-9.]{1,4})?(,(fr|en))*"]) {
            super::metadata(&s);
        }
    }

    proptest! {
        // Loading a configuration is slower (it re-reads the defaults).
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn configuration(s in prop_oneof![
            text(),
            "\\[server\\]\nlisten = \"[0-9.:]{0,25}\"\nrequest_timeout = \"[0-9a-z ]{0,8}\"",
            "\\[rate_limits\\]\nguesses_per_account = \\{ max = [0-9]{1,7}, window = \"[0-9]{1,4}[smhd]\" \\}",
        ]) {
            super::configuration(&s);
        }
    }
}
