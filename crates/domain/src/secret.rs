//! One-time secrets: activation keys, provisional passwords, link tokens and
//! codes. They come from a cryptographic RNG that the caller passes in (the
//! operating system's, in the service), are shown or mailed once, and only their SHA-256 is stored (they carry 60 bits or more of
//! entropy, so a fast hash is enough; user-chosen passwords use argon2id).
//! Comparison is constant-time.

use rand_core::TryCryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The random generator failed; nothing can be issued.
#[derive(Debug, thiserror::Error)]
#[error("the random generator is unavailable")]
pub struct RngUnavailable;

/// A secret in clear, wiped from memory when dropped. Its `Debug` never
/// shows it.
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// The secret as shown to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash stored in place of the secret.
    pub fn hash(&self, kind: SecretKind) -> String {
        hash_secret(kind, &self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What a secret is; decides its alphabet and how typed input is normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// `XXXX-XXXX-XXXX` from 32 unambiguous capitals and digits (60 bits);
    /// typed case-insensitively, dashes and spaces ignored.
    ActivationKey,
    /// 12 letters and digits without look-alikes (about 70 bits), typed as is.
    ProvisionalPassword,
    /// 32 random bytes in hex, carried by links and flow handles.
    Token,
    /// 8 digits (about 27 bits), typed from an SMS or a mail; attempt-limited
    /// and short-lived.
    Code,
}

const KEY_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const PASSWORD_ALPHABET: &[u8; 56] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn random_bytes<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    buf: &mut [u8],
) -> Result<(), RngUnavailable> {
    rng.try_fill_bytes(buf).map_err(|_| RngUnavailable)
}

/// `len` characters drawn uniformly from `alphabet` (rejection sampling).
fn random_string<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    alphabet: &[u8],
    len: usize,
) -> Result<Zeroizing<String>, RngUnavailable> {
    let limit = 256 - (256 % alphabet.len());
    let mut out = Zeroizing::new(String::with_capacity(len));
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < len {
        random_bytes(rng, &mut buf[..])?;
        for &b in buf.iter() {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(out)
}

/// Issues a new secret of `kind` drawn from `rng` (the service passes the
/// operating system's: `rand::rngs::SysRng`).
pub fn generate<R: TryCryptoRng + ?Sized>(
    kind: SecretKind,
    rng: &mut R,
) -> Result<Secret, RngUnavailable> {
    let text = match kind {
        SecretKind::ActivationKey => {
            let raw = random_string(rng, KEY_ALPHABET, 12)?;
            Zeroizing::new(format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12]))
        }
        SecretKind::ProvisionalPassword => loop {
            let candidate = random_string(rng, PASSWORD_ALPHABET, 12)?;
            // Printed passwords must pass the usual "letter and digit" checks
            // of the portals that receive them.
            if candidate.chars().any(|c| c.is_ascii_digit())
                && candidate.chars().any(|c| c.is_ascii_lowercase())
                && candidate.chars().any(|c| c.is_ascii_uppercase())
            {
                break candidate;
            }
        },
        SecretKind::Token => {
            let mut bytes = Zeroizing::new([0u8; 32]);
            random_bytes(rng, &mut bytes[..])?;
            Zeroizing::new(hex::encode(&bytes[..]))
        }
        SecretKind::Code => random_string(rng, b"0123456789", 8)?,
    };
    Ok(Secret(text))
}

/// Normalises what a user typed the way `kind` is compared.
fn normalise(kind: SecretKind, typed: &str) -> Zeroizing<String> {
    match kind {
        SecretKind::ActivationKey => Zeroizing::new(
            typed
                .chars()
                .filter(|c| !matches!(c, '-' | ' ' | '\t'))
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        ),
        SecretKind::Token => Zeroizing::new(typed.trim().to_ascii_lowercase()),
        SecretKind::Code => Zeroizing::new(typed.chars().filter(|c| !c.is_whitespace()).collect()),
        SecretKind::ProvisionalPassword => Zeroizing::new(typed.to_owned()),
    }
}

/// The stored form of a secret: hex SHA-256 of its normalised text.
pub fn hash_secret(kind: SecretKind, typed: &str) -> String {
    let normalised = normalise(kind, typed);
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

/// Whether `typed` is the secret whose hash is `stored_hash`, in constant
/// time.
pub fn matches(kind: SecretKind, typed: &str, stored_hash: &str) -> bool {
    let candidate = hash_secret(kind, typed);
    candidate.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use rand::rngs::SysRng;

    use super::*;

    /// A generator whose source has failed.
    struct BrokenRng;

    impl rand_core::TryRng for BrokenRng {
        type Error = std::io::Error;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Err(std::io::Error::other("no entropy"))
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Err(std::io::Error::other("no entropy"))
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
            Err(std::io::Error::other("no entropy"))
        }
    }

    impl TryCryptoRng for BrokenRng {}

    #[test]
    fn a_failed_generator_issues_nothing() {
        for kind in [
            SecretKind::ActivationKey,
            SecretKind::ProvisionalPassword,
            SecretKind::Token,
            SecretKind::Code,
        ] {
            assert!(generate(kind, &mut BrokenRng).is_err());
        }
    }

    #[test]
    fn activation_keys_are_grouped_and_typed_loosely() {
        let key = generate(SecretKind::ActivationKey, &mut SysRng).unwrap();
        let text = key.expose();
        assert_eq!(text.len(), 14);
        assert_eq!(text.matches('-').count(), 2);
        let stored = key.hash(SecretKind::ActivationKey);
        let sloppy = text.replace('-', " ").to_lowercase();
        assert!(matches(SecretKind::ActivationKey, &sloppy, &stored));
        assert!(!matches(
            SecretKind::ActivationKey,
            "AAAA-AAAA-AAAA",
            &stored
        ));
    }

    #[test]
    fn provisional_passwords_mix_classes() {
        for _ in 0..50 {
            let p = generate(SecretKind::ProvisionalPassword, &mut SysRng).unwrap();
            let t = p.expose();
            assert_eq!(t.len(), 12);
            assert!(t.chars().any(|c| c.is_ascii_digit()));
            assert!(!t.contains(['0', 'O', 'l', 'I', '1']));
        }
    }

    #[test]
    fn tokens_are_unique_and_hashed() {
        let a = generate(SecretKind::Token, &mut SysRng).unwrap();
        let b = generate(SecretKind::Token, &mut SysRng).unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a.hash(SecretKind::Token), a.expose());
        assert_eq!(format!("{a:?}"), "Secret(***)");
    }

    #[test]
    fn codes_are_eight_digits() {
        let c = generate(SecretKind::Code, &mut SysRng).unwrap();
        assert_eq!(c.expose().len(), 8);
        assert!(c.expose().chars().all(|ch| ch.is_ascii_digit()));
    }
}
