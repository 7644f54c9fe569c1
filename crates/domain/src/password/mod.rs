//! Passwords people choose: the institution's policy, the strength meter and
//! what a refusal names (its sentences are the app's texts). Hashing is the
//! service's (`ent_identity::hashing`).

pub mod entropy;
pub mod evaluate;
pub mod params;
pub mod policy;
pub mod words;

use zeroize::Zeroizing;

pub use entropy::CnilRule;
pub use evaluate::{Evaluation, PersonalData, Strength, Violation, evaluate};
pub use policy::{
    CharClass, DictionaryMode, DictionaryRule, PasswordPolicy, PasswordPolicyOverride, PolicyPreset,
};

/// A password in clear, as typed: wiped from memory when dropped, never
/// shown by `Debug`. Any text is a `Password`; the policy decides whether
/// it is acceptable.
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(text: String) -> Password {
        Password(Zeroizing::new(text))
    }

    /// The password itself, for hashing and evaluation only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in characters.
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }

    /// Whether `other` is the same text (a confirmation typed twice).
    pub fn same_as(&self, other: &Password) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl From<String> for Password {
    fn from(text: String) -> Self {
        Password::new(text)
    }
}

/// When a password set at `changed_at` expires under `policy`; `None` when
/// passwords do not expire.
pub fn expires_at(
    policy: &PasswordPolicy,
    changed_at: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let max_age = chrono::Duration::from_std(policy.max_age?).ok()?;
    changed_at.checked_add_signed(max_age)
}

/// Whether a password must be changed before the account is used again:
/// marked so, or past its expiry.
pub fn must_change(
    marked: bool,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    marked || expires_at.is_some_and(|at| at <= now)
}
