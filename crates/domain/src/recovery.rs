//! Forgotten passwords: what is sent, and how the answer shows where it
//! went without telling whether the account exists.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::activation::{mask_mail, mask_phone};
use super::ids::Ine;

/// What a forgotten password sends to the verified recovery address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetMethod {
    /// A link to a new-password form (Montpellier).
    #[default]
    ResetLink,
    /// A new activation key, typed with the login to activate the account
    /// again (Bordeaux Montaigne).
    ActivationKey,
}

/// How a forgotten password reaches the person: by mail to the verified
/// recovery address (what the institution's `method` sends), or by a code
/// sent by SMS to the mobile phone verified at activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetChannel {
    Mail,
    Sms,
}

impl ResetChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            ResetChannel::Mail => "mail",
            ResetChannel::Sms => "sms",
        }
    }
}

/// By mail only, unless the institution lists its channels.
pub fn mail_channel_only() -> Vec<ResetChannel> {
    vec![ResetChannel::Mail]
}

/// How the answer shows the address the mail went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskStyle {
    /// The same text for everybody (Montpellier's page).
    #[default]
    Full,
    /// First letters and top-level domain (`j*******@g****.com`); unknown
    /// accounts get a stable decoy.
    Partial,
}

/// What Montpellier's page shows for every request.
pub const FULL_MASK: &str = "xxxxxxxxxxxx@xxxxxxxx";

/// The seed of the decoy shown, with a partial mask, when there is no
/// address to show: the same identifier always gets the same decoy, and
/// without the key nobody can tell a decoy from a real address.
pub fn decoy_seed(key: &str, institution: &str, identifier: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [key, institution, &identifier.trim().to_lowercase()] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize().into()
}

/// The destination as the answer shows it.
pub fn masked_destination(style: MaskStyle, address: Option<&str>, seed: &[u8; 32]) -> String {
    match (style, address) {
        (MaskStyle::Full, _) => FULL_MASK.to_owned(),
        (MaskStyle::Partial, Some(address)) => mask_mail(address),
        (MaskStyle::Partial, None) => decoy(seed),
    }
}

/// The phone an SMS code went to as the answer shows it: like the mail's,
/// the same text for everybody with a full mask (the country code of the
/// institution's `phone_region`, the rest hidden), else the number's first
/// and last digits (`+33*****5678`), and for unknown accounts a stable
/// decoy shaped like a mobile number of that region, so that neither the
/// country code nor the length tells a decoy from a real number.
pub fn masked_phone(
    style: MaskStyle,
    phone: Option<&str>,
    region: &str,
    seed: &[u8; 32],
) -> String {
    let (code, national) = region_mobile(region);
    match (style, phone) {
        (MaskStyle::Full, _) => format!("+{code}{}", "*".repeat(national.len())),
        (MaskStyle::Partial, Some(phone)) => mask_phone(phone),
        (MaskStyle::Partial, None) => {
            let digits: String = seed[4..8]
                .iter()
                .map(|b| char::from(b'0' + b % 10))
                .collect();
            let kept = national
                .get(..national.len().saturating_sub(4))
                .unwrap_or("");
            mask_phone(&format!("+{code}{kept}{digits}"))
        }
    }
}

/// The country calling code of `region` and an example of its mobile
/// numbers (national digits); France's where the region is unknown
/// (check-config refuses such a region).
fn region_mobile(region: &str) -> (u16, String) {
    let metadata = phonenumber::metadata::DATABASE.by_id(region);
    let example = metadata
        .and_then(|m| m.descriptors().mobile())
        .and_then(|d| d.example())
        .filter(|e| e.len() >= 6 && e.chars().all(|c| c.is_ascii_digit()));
    match (metadata, example) {
        (Some(m), Some(example)) => (m.country_code(), example.to_owned()),
        _ => (33, "612345678".to_owned()),
    }
}

/// A plausible masked personal address drawn from `seed`.
fn decoy(seed: &[u8; 32]) -> String {
    const PROVIDERS: [(&str, &str); 8] = [
        ("gmail", "com"),
        ("hotmail", "fr"),
        ("yahoo", "fr"),
        ("orange", "fr"),
        ("outlook", "fr"),
        ("free", "fr"),
        ("laposte", "net"),
        ("icloud", "com"),
    ];
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    let first = letters[seed[0] as usize % letters.len()] as char;
    let local_len = 4 + seed[1] as usize % 10;
    let (host, tld) = PROVIDERS[seed[2] as usize % PROVIDERS.len()];
    mask_mail(&format!(
        "{first}{}@{host}.{tld}",
        "x".repeat(local_len - 1)
    ))
}

/// An identifier a forgotten-password form accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetIdentifierKind {
    Login,
    Ine,
    InstitutionalMail,
}

impl ResetIdentifierKind {
    pub const ALL: [ResetIdentifierKind; 3] = [
        ResetIdentifierKind::Login,
        ResetIdentifierKind::Ine,
        ResetIdentifierKind::InstitutionalMail,
    ];

    /// Its field in `RequestPasswordResetRequest`.
    pub fn path(self) -> &'static str {
        match self {
            ResetIdentifierKind::Login => "login",
            ResetIdentifierKind::Ine => "ine",
            ResetIdentifierKind::InstitutionalMail => "institutional_mail",
        }
    }
}

/// Every identifier: what an institution accepts unless it says otherwise.
pub fn every_reset_identifier() -> Vec<ResetIdentifierKind> {
    ResetIdentifierKind::ALL.to_vec()
}

/// Which identifier a person typed in the one field of a forgotten-password
/// form, among those the institution `accepts` ("saisissez votre
/// identifiant (exemple : jmartin001) ou votre numéro INE", Bordeaux
/// Montaigne): an address when it has an `@` (a login where logins are
/// addresses, as at Montpellier), an INE when it reads as one, else a
/// login. `None` when it can be none of them.
pub fn typed_identifier_kind(
    typed: &str,
    accepts: &[ResetIdentifierKind],
) -> Option<ResetIdentifierKind> {
    use ResetIdentifierKind as K;
    let accepted = |kind: K| accepts.contains(&kind).then_some(kind);
    if typed.contains('@') {
        return accepted(K::InstitutionalMail).or_else(|| accepted(K::Login));
    }
    let reads_as_ine = Ine::parse(typed).is_ok();
    match (accepted(K::Ine), accepted(K::Login)) {
        (Some(ine), _) if reads_as_ine => Some(ine),
        (_, Some(login)) => Some(login),
        // INE alone: its parser says what is wrong with what was typed.
        (Some(ine), None) => Some(ine),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_mask_is_the_same_for_everybody() {
        let seed = decoy_seed("k", "umontpellier", "jane.doe@umontpellier.fr");
        assert_eq!(
            masked_destination(MaskStyle::Full, Some("jane@example.org"), &seed),
            FULL_MASK
        );
        assert_eq!(masked_destination(MaskStyle::Full, None, &seed), FULL_MASK);
    }

    #[test]
    fn decoys_are_stable_and_look_like_real_masks() {
        let a = decoy_seed("secret-key-0123456789", "u", "JMartin001 ");
        let b = decoy_seed("secret-key-0123456789", "u", "jmartin001");
        assert_eq!(a, b);
        let shown = masked_destination(MaskStyle::Partial, None, &a);
        assert_eq!(shown, masked_destination(MaskStyle::Partial, None, &b));
        let (local, domain) = shown.split_once('@').unwrap();
        assert!(local.len() >= 4 && local[1..].chars().all(|c| c == '*'));
        assert!(domain.contains('.'));
        let other = decoy_seed("another-key-0123456789", "u", "jmartin001");
        assert_ne!(a, other);
        assert_eq!(
            masked_destination(MaskStyle::Partial, Some("jane.doe@edu.com"), &a),
            "j*******@e**.com"
        );
    }

    #[test]
    fn phone_decoys_look_like_real_masks() {
        let seed = decoy_seed("secret-key-0123456789", "u", "jmartin001");
        let real = masked_phone(MaskStyle::Partial, Some("+33612345678"), "FR", &seed);
        let decoy = masked_phone(MaskStyle::Partial, None, "FR", &seed);
        assert_eq!(real, "+33*****5678");
        assert_eq!(decoy.len(), real.len());
        assert_eq!(&decoy[..8], "+33*****");
        assert_eq!(decoy, masked_phone(MaskStyle::Partial, None, "FR", &seed));
        assert_eq!(
            masked_phone(MaskStyle::Full, Some("+33612345678"), "FR", &seed),
            "+33*********"
        );
        // Another region's decoys carry its country code.
        let belgian = masked_phone(MaskStyle::Partial, None, "BE", &seed);
        assert!(belgian.starts_with("+32"), "{belgian}");
        assert_eq!(
            masked_phone(MaskStyle::Full, None, "BE", &seed),
            masked_phone(MaskStyle::Full, Some("+32470123456"), "BE", &seed)
        );
    }

    #[test]
    fn a_typed_identifier_reads_as_what_the_institution_accepts() {
        use ResetIdentifierKind as K;
        let bordeaux = [K::Login, K::Ine];
        assert_eq!(
            typed_identifier_kind("jmartin001", &bordeaux),
            Some(K::Login)
        );
        assert_eq!(
            typed_identifier_kind("1234567890V", &bordeaux),
            Some(K::Ine)
        );
        // A mistyped INE is still somebody's possible login.
        assert_eq!(
            typed_identifier_kind("1234567890A", &bordeaux),
            Some(K::Login)
        );
        assert_eq!(typed_identifier_kind("a@b.fr", &bordeaux), Some(K::Login));
        let montpellier = [K::Login, K::InstitutionalMail];
        assert_eq!(
            typed_identifier_kind("jean.dupont@etu.umontpellier.fr", &montpellier),
            Some(K::InstitutionalMail)
        );
        assert_eq!(
            typed_identifier_kind("jdupont", &[K::InstitutionalMail]),
            None
        );
        assert_eq!(typed_identifier_kind("jdupont", &[K::Ine]), Some(K::Ine));
    }
}
