//! One-time secrets: activation keys, provisional passwords, link tokens and
//! codes. They come from a cryptographic RNG that the caller passes in (the
//! operating system's, in the service), are shown or mailed once, and only a
//! hash is stored. Link tokens (256 bits) are stored as SHA-256: nobody can
//! try them all. Codes (8 digits), activation keys and provisional passwords
//! are stored with a keyed hash (HMAC-SHA256 under a server key kept out of
//! the database, [`SecretKeys`]): a copy of the database alone does not let
//! anyone try the 10⁸ codes offline. Comparison is constant-time.

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
    pub fn hash(&self, kind: SecretKind, keys: &SecretKeys) -> String {
        keys.hash(kind, &self.0)
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

/// The unkeyed stored form: hex SHA-256 of the normalised text. What link
/// tokens are stored as (and looked up by), and what other secrets were
/// stored as before keyed hashing.
pub fn hash_secret(kind: SecretKind, typed: &str) -> String {
    let normalised = normalise(kind, typed);
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// A new key for [`SecretKeys`]: 32 bytes from `rng`, in hex (what a key
/// file holds).
pub fn random_key_hex<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<String, RngUnavailable> {
    let mut key = Zeroizing::new([0u8; 32]);
    random_bytes(rng, &mut key[..])?;
    Ok(hex::encode(&key[..]))
}

/// Keyed hashes start with this, then the key's id and a colon.
const KEYED_PREFIX: &str = "k";

/// The server's keys for hashing low-entropy secrets. The first hashes new
/// secrets; every one still verifies (rotation: put a new key first, keep
/// the old ones until what they hashed has expired). A key is known by an
/// id derived from it, stored with each hash.
pub struct SecretKeys {
    keys: Vec<(String, Zeroizing<Vec<u8>>)>,
}

impl std::fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("SecretKeys").field("ids", &ids).finish()
    }
}

/// Why keys cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretKeyError {
    #[error("no key given")]
    None,
    #[error("a key must hold at least 32 bytes")]
    TooShort,
}

impl SecretKeys {
    /// The keys, newest first; each of at least 32 bytes.
    pub fn new(keys: Vec<Vec<u8>>) -> Result<SecretKeys, SecretKeyError> {
        if keys.is_empty() {
            return Err(SecretKeyError::None);
        }
        let keys = keys
            .into_iter()
            .map(|key| {
                if key.len() < 32 {
                    return Err(SecretKeyError::TooShort);
                }
                let id = hex::encode(&Sha256::digest(&key)[..4]);
                Ok((id, Zeroizing::new(key)))
            })
            .collect::<Result<_, _>>()?;
        Ok(SecretKeys { keys })
    }

    /// One new random key (development, tests).
    pub fn random<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<SecretKeys, RngUnavailable> {
        let mut key = vec![0u8; 32];
        random_bytes(rng, &mut key)?;
        Ok(SecretKeys::new(vec![key]).unwrap_or_else(|_| unreachable!("32 bytes")))
    }

    /// The id of the key that hashes new secrets.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    fn keyed(key: &[u8], id: &str, normalised: &str) -> String {
        use hmac::{KeyInit, Mac};
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(normalised.as_bytes());
        format!(
            "{KEYED_PREFIX}{id}:{}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    /// The stored form of `typed`: unkeyed for link tokens, keyed under the
    /// current key for every other kind.
    pub fn hash(&self, kind: SecretKind, typed: &str) -> String {
        if kind == SecretKind::Token {
            return hash_secret(kind, typed);
        }
        let (id, key) = &self.keys[0];
        SecretKeys::keyed(key, id, &normalise(kind, typed))
    }

    /// Whether `typed` is the secret stored as `stored_hash`, in constant
    /// time: under the key its id names, or unkeyed for tokens and for
    /// what was stored before keyed hashing.
    pub fn matches(&self, kind: SecretKind, typed: &str, stored_hash: &str) -> bool {
        let candidate = match stored_hash
            .strip_prefix(KEYED_PREFIX)
            .and_then(|rest| rest.split_once(':'))
        {
            Some((id, _)) => match self.keys.iter().find(|(k, _)| k == id) {
                Some((id, key)) => SecretKeys::keyed(key, id, &normalise(kind, typed)),
                // A retired key: nothing it hashed can match any more.
                None => return false,
            },
            None => hash_secret(kind, typed),
        };
        candidate.as_bytes().ct_eq(stored_hash.as_bytes()).into()
    }
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
        let keys = SecretKeys::random(&mut SysRng).unwrap();
        let stored = key.hash(SecretKind::ActivationKey, &keys);
        let sloppy = text.replace('-', " ").to_lowercase();
        assert!(keys.matches(SecretKind::ActivationKey, &sloppy, &stored));
        assert!(!keys.matches(SecretKind::ActivationKey, "AAAA-AAAA-AAAA", &stored));
    }

    /// Finding 8 of issue 19: codes were stored as plain SHA-256, so a copy
    /// of the database revealed each one after 10⁸ tries. Without the key,
    /// no code hashes to what is stored; rotation keeps old hashes working
    /// while their key is kept, and secrets stored before keyed hashing
    /// still match.
    #[test]
    fn low_entropy_secrets_are_stored_under_a_key_that_rotates() {
        let code = generate(SecretKind::Code, &mut SysRng).unwrap();
        let old = SecretKeys::random(&mut SysRng).unwrap();
        let stored = code.hash(SecretKind::Code, &old);
        assert!(stored.starts_with(&format!("k{}:", old.current_id())));
        // What an attacker with the database alone would try.
        assert_ne!(stored, hash_secret(SecretKind::Code, code.expose()));
        assert!(!stored.contains(&hash_secret(SecretKind::Code, code.expose())));
        let other = SecretKeys::random(&mut SysRng).unwrap();
        assert!(!other.matches(SecretKind::Code, code.expose(), &stored));
        // A new key first, the old one kept: old hashes still verify, new
        // ones use the new key.
        let old_key = old.keys[0].1.to_vec();
        let new_key = other.keys[0].1.to_vec();
        let rotated = SecretKeys::new(vec![new_key, old_key]).unwrap();
        assert!(rotated.matches(SecretKind::Code, code.expose(), &stored));
        assert!(
            rotated
                .hash(SecretKind::Code, code.expose())
                .starts_with(&format!("k{}:", other.current_id()))
        );
        // Stored before keyed hashing.
        let legacy = hash_secret(SecretKind::Code, code.expose());
        assert!(rotated.matches(SecretKind::Code, code.expose(), &legacy));
        // Tokens stay unkeyed: they are looked up by their hash.
        let token = generate(SecretKind::Token, &mut SysRng).unwrap();
        assert_eq!(
            token.hash(SecretKind::Token, &rotated),
            hash_secret(SecretKind::Token, token.expose())
        );
        assert_eq!(
            SecretKeys::new(vec![vec![1; 16]]).unwrap_err(),
            SecretKeyError::TooShort
        );
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
        assert_ne!(hash_secret(SecretKind::Token, a.expose()), a.expose());
        assert_eq!(format!("{a:?}"), "Secret(***)");
    }

    #[test]
    fn codes_are_eight_digits() {
        let c = generate(SecretKind::Code, &mut SysRng).unwrap();
        assert_eq!(c.expose().len(), 8);
        assert!(c.expose().chars().all(|ch| ch.is_ascii_digit()));
    }
}
