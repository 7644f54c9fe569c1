//! Provisioning records of the three universities, and account selectors.

use super::*;

/// A Bordeaux Montaigne student record.
pub fn bordeaux_student(number: &str, given: &str, family: &str) -> proto::ProvisionRecord {
    proto::ProvisionRecord {
        institution: "u-bordeaux-montaigne".into(),
        profile: "student".into(),
        student_number: number.into(),
        given_name: given.into(),
        family_name: family.into(),
        birth_date: "2005-06-15".into(),
        ..Default::default()
    }
}

/// A Montpellier staff record. Its birth date follows from the HR id: two
/// records with the same names and other ids are namesakes, not one person
/// (Montpellier links one person's records: `duplicates`).
pub fn montpellier_staff(hr_id: &str, given: &str, family: &str) -> proto::ProvisionRecord {
    // FNV-1a: a spread of days that sums of bytes would not give.
    let hash = hr_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let born = date("1970-01-01") + chrono::Duration::days((hash % 10_000) as i64);
    proto::ProvisionRecord {
        institution: "umontpellier".into(),
        profile: "staff_tenured".into(),
        hr_id: hr_id.into(),
        given_name: given.into(),
        family_name: family.into(),
        birth_date: born.to_string(),
        personal_mail: format!(
            "{}.{}@example.org",
            given.to_lowercase(),
            family.to_lowercase()
        ),
        ..Default::default()
    }
}

/// A valid INE-BEA for `number` (10 digits + key letter).
pub fn ine_bea(number: u64) -> String {
    const KEYS: &[u8; 23] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
    format!("{number:010}{}", KEYS[(number % 23) as usize] as char)
}

/// A Tours student record.
pub fn tours_student(number: &str, ine: &str, phone: &str) -> proto::ProvisionRecord {
    proto::ProvisionRecord {
        institution: "univ-tours".into(),
        profile: "student".into(),
        student_number: number.into(),
        ine: ine.into(),
        given_name: "Léa".into(),
        family_name: "Dubois".into(),
        birth_date: "2007-03-02".into(),
        mobile_phone: phone.into(),
        ..Default::default()
    }
}
