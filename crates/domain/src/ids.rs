//! Identifiers and personal data, parsed once at the edge and trusted inside
//! ("parse, don't validate"). Each parser says why it refuses with a
//! [`Problem`], which the texts module words for the reader.

use chrono::{Datelike, NaiveDate};

pub use crate::problem::Problem;

fn trimmed(raw: &str) -> &str {
    raw.trim()
}

/// INE, the national student identifier: 11 characters. Three formats carry a
/// check key that is verified; INE-RNIE and INE-SIFA have no public key
/// algorithm, so only their shape is checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ine(String);

/// Which INE format an identifier follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IneFormat {
    /// 10 digits and a letter key (INE-BEA).
    Bea,
    /// 10 base-36 characters and a digit key (INE base 36).
    Base36,
    /// 9 digits and 2 letters (INE-RNIE), no key.
    Rnie,
    /// `\d{4}A\d{5}[A-HJ-NPR-Z]` (INE-SIFA), no key.
    Sifa,
}

const BEA_KEYS: &[u8; 23] = b"ABCDEFGHJKLMNPRSTUVWXYZ";

impl Ine {
    /// Parses an INE, ignoring surrounding spaces and case.
    pub fn parse(raw: &str) -> Result<Ine, Problem> {
        let ine: String = trimmed(raw).to_ascii_uppercase();
        if ine.chars().count() != 11 || !ine.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Problem::IneShape);
        }
        let b = ine.as_bytes();
        let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);

        if is_sifa(b) {
            return Ok(Ine(ine));
        }
        if digits(0..10) && b[10].is_ascii_uppercase() {
            if b[..10].iter().all(|&c| c == b[0]) {
                return Err(Problem::IneRepeatedDigit);
            }
            let number: u64 = ine[..10].parse().map_err(|_| Problem::IneShape)?;
            let key = BEA_KEYS[(number % 23) as usize];
            return if b[10] == key {
                Ok(Ine(ine))
            } else {
                Err(Problem::IneCheckLetter)
            };
        }
        if digits(0..9) && b[9].is_ascii_uppercase() && b[10].is_ascii_uppercase() {
            return Ok(Ine(ine));
        }
        if b[10].is_ascii_digit() {
            let value = |c: u8| -> u32 {
                match c {
                    b'0'..=b'9' => u32::from(c - b'0'),
                    _ => u32::from(c - b'A') + 10,
                }
            };
            let sum: u32 = b[..9].iter().map(|&c| value(c)).sum();
            let key = (6 * sum + value(b[9])) % 10;
            return if u32::from(b[10] - b'0') == key {
                Ok(Ine(ine))
            } else {
                Err(Problem::IneCheckDigit)
            };
        }
        Err(Problem::IneUnknownFormat)
    }

    /// The format of this INE.
    pub fn format(&self) -> IneFormat {
        let b = self.0.as_bytes();
        if is_sifa(b) {
            IneFormat::Sifa
        } else if b[..10].iter().all(u8::is_ascii_digit) && b[10].is_ascii_uppercase() {
            IneFormat::Bea
        } else if b[..9].iter().all(u8::is_ascii_digit) && b[9].is_ascii_uppercase() {
            IneFormat::Rnie
        } else {
            IneFormat::Base36
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_sifa(b: &[u8]) -> bool {
    b.len() == 11
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'A'
        && b[5..10].iter().all(u8::is_ascii_digit)
        && matches!(b[10], b'A'..=b'H' | b'J'..=b'N' | b'P' | b'R'..=b'Z')
}

/// A mobile phone number in E.164 form (`+33788102599`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneE164(String);

impl PhoneE164 {
    /// Parses a number typed in international (`+33 7 88 10 25 99`) or
    /// national form (`07 88 10 25 99`, read in `region`).
    pub fn parse(raw: &str, region: &str) -> Result<PhoneE164, Problem> {
        let raw = trimmed(raw);
        if raw.is_empty() || raw.len() > 32 {
            return Err(Problem::Missing);
        }
        // A number in international form is read without the region: the
        // library would otherwise apply the region's national rules to it
        // (and read `+4702703` back differently from how it wrote it).
        let region: Option<phonenumber::country::Id> = if raw.starts_with('+') {
            None
        } else {
            region.parse().ok()
        };
        let number = phonenumber::parse(region, raw).map_err(|_| Problem::NotAPhoneNumber)?;
        if !number.is_valid() {
            return Err(Problem::PhoneNumberDoesNotExist);
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        // The metadata accepts some longer numbers (found by fuzzing:
        // `+49672329987318528`); E.164, and the SMS gateways, stop at 15
        // digits.
        if e164.len() > 16 {
            return Err(Problem::PhoneNumberDoesNotExist);
        }
        // The stored form must read back as itself (identity matches compare
        // it later). Some national readings give an E.164 text the library
        // then calls invalid (found by fuzzing: `M00470002703` in France →
        // `+4702703`): such numbers are refused.
        let stable = phonenumber::parse(None, &e164).is_ok_and(|again| {
            again.is_valid() && again.format().mode(phonenumber::Mode::E164).to_string() == e164
        });
        if !stable {
            return Err(Problem::PhoneNumberDoesNotExist);
        }
        Ok(PhoneE164(e164))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Invisible formatting characters (zero-width spaces and joiners,
/// bidirectional controls, the BOM) that make two addresses look the same.
fn is_format_char(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}

/// A mail address: `local@domain.tld`, the domain lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MailAddress(String);

impl MailAddress {
    pub fn parse(raw: &str) -> Result<MailAddress, Problem> {
        let raw = trimmed(raw);
        if raw.is_empty() {
            return Err(Problem::Missing);
        }
        if raw.len() > 254 {
            return Err(Problem::MailTooLong);
        }
        // The parser accepts internationalized addresses, and with them
        // Unicode control and format characters, and quoted local parts
        // holding a second `@` (found by fuzzing): none belongs in an address
        // that ends up in mail headers and in other systems' forms.
        if raw
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || is_format_char(c) || c == '"')
            || raw.matches('@').count() != 1
        {
            return Err(Problem::NotAMailAddress);
        }
        let options = email_address::Options::default()
            .with_required_tld()
            .without_domain_literal()
            .without_display_text();
        let parsed = email_address::EmailAddress::parse_with_options(raw, options)
            .map_err(|_| Problem::NotAMailAddress)?;
        Ok(MailAddress(format!(
            "{}@{}",
            parsed.local_part(),
            parsed.domain().to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A birth date between 1900-01-01 and `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BirthDate(NaiveDate);

impl BirthDate {
    /// Parses `YYYY-MM-DD`, or `DDMMYYYY` as typed on Montpellier's form.
    pub fn parse(raw: &str, today: NaiveDate) -> Result<BirthDate, Problem> {
        let raw = trimmed(raw);
        let format = if raw.len() == 8 && raw.bytes().all(|c| c.is_ascii_digit()) {
            "%d%m%Y"
        } else {
            "%Y-%m-%d"
        };
        let date = NaiveDate::parse_from_str(raw, format).map_err(|_| Problem::BirthDateFormat)?;
        if date.year() < 1900 || date > today {
            return Err(Problem::BirthDateImplausible);
        }
        Ok(BirthDate(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

/// A date `YYYY-MM-DD` (end of activity and the like).
/// Checks an identifier a person or a caller typed to name an account (a
/// login, a number): not blank, and at most 254 bytes, beyond which it
/// names no account (logins and mail addresses are shorter).
pub fn check_typed_identifier(raw: &str) -> Result<(), Problem> {
    if raw.trim().is_empty() || raw.len() > 254 {
        return Err(if raw.trim().is_empty() {
            Problem::Missing
        } else {
            Problem::TooLong { max: 254 }
        });
    }
    Ok(())
}

pub fn parse_date(raw: &str) -> Result<NaiveDate, Problem> {
    NaiveDate::parse_from_str(trimmed(raw), "%Y-%m-%d").map_err(|_| Problem::DateFormat)
}

/// A student number: digits only, of the institution's length if it fixes
/// one (4 to 20 digits otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StudentNumber(String);

impl StudentNumber {
    pub fn parse(raw: &str, exact_length: Option<usize>) -> Result<StudentNumber, Problem> {
        let raw = trimmed(raw);
        if raw.is_empty() {
            return Err(Problem::Missing);
        }
        if !raw.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Problem::StudentNumberDigits);
        }
        match exact_length {
            Some(len) if raw.len() != len => Err(Problem::StudentNumberLength { length: len }),
            None if !(4..=20).contains(&raw.len()) => Err(Problem::StudentNumberRange),
            _ => Ok(StudentNumber(raw.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An HR identifier: 1 to 64 letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HrId(String);

impl HrId {
    pub fn parse(raw: &str) -> Result<HrId, Problem> {
        let raw = trimmed(raw);
        if raw.is_empty() {
            return Err(Problem::Missing);
        }
        if raw.len() > 64
            || !raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Problem::HrIdShape);
        }
        Ok(HrId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A given or family name as on the civil record: letters (accents kept),
/// spaces, hyphens and apostrophes; 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<PersonName, Problem> {
        let collapsed = trimmed(raw)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if collapsed.is_empty() {
            return Err(Problem::Missing);
        }
        if collapsed.chars().count() > 100 {
            return Err(Problem::TooLong { max: 100 });
        }
        if !collapsed
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’' | '.'))
        {
            return Err(Problem::NameCharacters);
        }
        if !collapsed.chars().any(char::is_alphabetic) {
            return Err(Problem::NameWithoutLetter);
        }
        Ok(PersonName(collapsed))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bea(number: u64) -> String {
        format!("{number:010}{}", BEA_KEYS[(number % 23) as usize] as char)
    }

    #[test]
    fn ine_bea_key_is_checked() {
        let good = bea(1234567890);
        assert_eq!(Ine::parse(&good).unwrap().format(), IneFormat::Bea);
        assert_eq!(Ine::parse(&good.to_lowercase()).unwrap().as_str(), good);
        let mut bad = good.clone();
        bad.pop();
        let wrong = if good.ends_with('A') { 'B' } else { 'A' };
        bad.push(wrong);
        assert!(Ine::parse(&bad).is_err());
    }

    #[test]
    fn ine_ten_identical_digits_are_refused() {
        let same = bea(1_111_111_111);
        assert!(Ine::parse(&same).is_err());
    }

    #[test]
    fn ine_base36_key_is_checked() {
        // 6 × Σ base36(c0..c8) + base36(c9), last digit.
        let body = "0A1B2C3D4E";
        let v = |c: char| c.to_digit(36).unwrap();
        let sum: u32 = body.chars().take(9).map(v).sum();
        let key = (6 * sum + v(body.chars().nth(9).unwrap())) % 10;
        let good = format!("{body}{key}");
        assert_eq!(Ine::parse(&good).unwrap().format(), IneFormat::Base36);
        let bad = format!("{body}{}", (key + 1) % 10);
        assert!(Ine::parse(&bad).is_err());
    }

    #[test]
    fn ine_rnie_and_sifa_formats_are_accepted() {
        assert_eq!(Ine::parse("123456789AB").unwrap().format(), IneFormat::Rnie);
        assert_eq!(Ine::parse("1234A56789K").unwrap().format(), IneFormat::Sifa);
        assert!(Ine::parse("1234A56789I").is_err(), "I is not a SIFA key");
    }

    #[test]
    fn ine_wrong_shapes_are_refused() {
        for bad in ["", "123", "12345678901234", "12345-67890", "ÉÉÉÉÉÉÉÉÉÉÉ"] {
            assert!(Ine::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn french_mobile_numbers_normalise() {
        let a = PhoneE164::parse("07 88 10 25 99", "FR").unwrap();
        let b = PhoneE164::parse("+33788102599", "FR").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "+33788102599");
        assert!(PhoneE164::parse("12", "FR").is_err());
        assert!(PhoneE164::parse("not a number", "FR").is_err());
        // Found by fuzzing: the metadata takes it, E.164 stops at 15 digits.
        assert!(PhoneE164::parse("+49672329987318528", "FR").is_err());
        // And one whose E.164 form does not read back.
        for region in ["FR", "BE", "GB"] {
            if let Ok(phone) = PhoneE164::parse("M00470002703", region) {
                assert_eq!(
                    PhoneE164::parse(phone.as_str(), region).map(|p| p.0),
                    Ok(phone.0)
                );
            }
        }
    }

    #[test]
    fn mail_addresses() {
        assert_eq!(
            MailAddress::parse(" Jane.Doe@EDU.com ").unwrap().as_str(),
            "Jane.Doe@edu.com"
        );
        for bad in [
            "",
            "jane",
            "jane@",
            "@edu.com",
            "jane@localhost",
            "a b@c.fr",
            "Jane <j@x.fr>",
            // Found by fuzzing: a C1 control character in the domain.
            "J@I.JJ.J\u{be}J.J\u{9e}J",
            "jane\u{200b}@edu.fr",
            "jane@edu\u{202e}.fr",
            "\"a@b\"@edu.fr",
        ] {
            assert!(MailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn birth_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(
            BirthDate::parse("2004-02-29", today).unwrap().date(),
            NaiveDate::from_ymd_opt(2004, 2, 29).unwrap()
        );
        assert_eq!(
            BirthDate::parse("29022004", today).unwrap().date(),
            NaiveDate::from_ymd_opt(2004, 2, 29).unwrap()
        );
        for bad in [
            "2005-02-29",
            "2027-01-01",
            "1850-01-01",
            "31/12/2000",
            "",
            "20040229x",
        ] {
            assert!(BirthDate::parse(bad, today).is_err(), "{bad}");
        }
    }

    #[test]
    fn student_numbers_and_hr_ids() {
        assert!(StudentNumber::parse("22012345", Some(8)).is_ok());
        assert!(StudentNumber::parse("2201234", Some(8)).is_err());
        assert!(StudentNumber::parse("22O12345", None).is_err());
        assert!(HrId::parse("RH-00042").is_ok());
        assert!(HrId::parse("RH 42").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(
            PersonName::parse("  Jean   Pierre ").unwrap().as_str(),
            "Jean Pierre"
        );
        assert!(PersonName::parse("N'Guessan-Éloïse").is_ok());
        assert!(PersonName::parse("").is_err());
        assert!(PersonName::parse("Robert'); DROP").is_err());
        assert!(PersonName::parse("--").is_err());
    }

    /// Arbitrary text never makes a parser panic (a cheap stand-in until the
    /// fuzz targets exist).
    #[test]
    fn parsers_never_panic() {
        let alphabet: Vec<char> =
            "0123456789+-() .#*,;extX\u{0}\u{ff10}\u{0660}tel:abcABCéÉ@_'\"<>\\/"
                .chars()
                .collect();
        let mut state: u64 = 0x1234_5678_9abc_def0;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let _ = PhoneE164::parse(&text, "FR");
            let _ = Ine::parse(&text);
            let _ = MailAddress::parse(&text);
            let _ = PersonName::parse(&text);
            let _ = BirthDate::parse(&text, today);
            let _ = StudentNumber::parse(&text, Some(8));
            let _ = HrId::parse(&text);
            let _ = parse_date(&text);
        }
    }
}
