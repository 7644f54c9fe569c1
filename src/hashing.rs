//! argon2id hashing of chosen passwords, on a pool of threads of its own.
//!
//! A hash costs tens of milliseconds of CPU and megabytes of memory, so it
//! never runs on the async runtime's worker threads: jobs go to at most one
//! thread per core, running at a lower priority, behind a bounded queue
//! (full: the call is refused rather than queued without end). Hashes are
//! PHC strings; the id of the server-side pepper, when one is used, is kept
//! in the string's `keyid`, so peppers can be rotated. A hash made with
//! other parameters or pepper than the current ones is upgraded when the
//! password is next verified.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::TryRng;
use rand::rngs::SysRng;
use zeroize::Zeroizing;

use crate::config::PasswordHashingSettings;
use crate::domain::password::Password;

/// Why a hash or a verification could not be done.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing thread is busy and the queue is full.
    #[error("password hashing is saturated; try again shortly")]
    Busy,
    /// A failure of ours (RNG, pool gone, argon2 refusing its parameters).
    #[error("password hashing failed: {0}")]
    Internal(String),
    /// A stored hash that cannot be read, or names an unknown pepper.
    #[error("stored password hash is unusable: {0}")]
    BadStoredHash(String),
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    No,
    /// It matches; `upgraded` is a new hash to store when the old one used
    /// outdated parameters or pepper.
    Yes {
        upgraded: Option<String>,
    },
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing pool; cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    peppers: BTreeMap<String, Zeroizing<Vec<u8>>>,
    queue: SyncSender<Job>,
    threads: usize,
}

impl PasswordHasher {
    /// Starts the pool's threads. Fails only when the settings were not
    /// validated.
    pub fn start(settings: &PasswordHashingSettings) -> Result<PasswordHasher, HashError> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = match settings.max_concurrency {
            0 => cores,
            n => n.min(cores),
        };
        let pepper_id = Some(settings.pepper_id.clone()).filter(|id| !id.is_empty());
        let keyid = pepper_id
            .as_deref()
            .map(|id| argon2::KeyId::new(id.as_bytes()))
            .transpose()
            .map_err(|e| HashError::Internal(e.to_string()))?;
        let mut builder = argon2::ParamsBuilder::new();
        builder
            .m_cost(settings.memory_kib)
            .t_cost(settings.iterations)
            .p_cost(settings.parallelism);
        if let Some(keyid) = keyid {
            builder.keyid(keyid);
        }
        let params = builder
            .build()
            .map_err(|e| HashError::Internal(e.to_string()))?;
        let (queue, jobs) = sync_channel::<Job>(settings.max_queue);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads {
            let jobs = Arc::clone(&jobs);
            let niceness = settings.thread_niceness;
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || run_worker(&jobs, niceness))
                .map_err(|e| HashError::Internal(e.to_string()))?;
        }
        Ok(PasswordHasher {
            inner: Arc::new(Inner {
                params,
                peppers: settings
                    .peppers
                    .iter()
                    .map(|(id, secret)| (id.clone(), Zeroizing::new(secret.as_bytes().to_vec())))
                    .collect(),
                queue,
                threads,
            }),
        })
    }

    /// Hashes computed at once.
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// Hashes `password` with the current parameters and pepper.
    pub async fn hash(&self, password: Arc<Password>) -> Result<String, HashError> {
        let inner = Arc::clone(&self.inner);
        self.run(move || inner.hash(&password)).await?
    }

    /// Checks `password` against a stored PHC hash, upgrading the hash when
    /// it is outdated.
    pub async fn verify(
        &self,
        password: Arc<Password>,
        stored: String,
    ) -> Result<Verified, HashError> {
        let inner = Arc::clone(&self.inner);
        self.run(move || {
            if !inner.matches(&password, &stored)? {
                return Ok(Verified::No);
            }
            let upgraded = if inner.is_outdated(&stored) {
                Some(inner.hash(&password)?)
            } else {
                None
            };
            Ok(Verified::Yes { upgraded })
        })
        .await?
    }

    /// Whether `password` matches any of `stored` (a password history),
    /// the hashes checked in parallel on the pool.
    pub async fn matches_any(
        &self,
        password: Arc<Password>,
        stored: Vec<String>,
    ) -> Result<bool, HashError> {
        let checks = stored.into_iter().map(|hash| {
            let inner = Arc::clone(&self.inner);
            let password = Arc::clone(&password);
            self.run(move || inner.matches(&password, &hash))
        });
        for outcome in futures::future::join_all(checks).await {
            if outcome?? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Does the work of a verification that has nothing to compare with, so
    /// that "no such account" takes as long as a wrong password.
    pub async fn verify_nothing(&self, password: Arc<Password>) -> Result<(), HashError> {
        let inner = Arc::clone(&self.inner);
        self.run(move || inner.hash(&password).map(drop)).await?
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone (deadline, cancellation): nothing to do.
            let _ = done.send(work());
        });
        match self.inner.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(HashError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(HashError::Internal("hashing threads are gone".into()));
            }
        }
        result
            .await
            .map_err(|_| HashError::Internal("a hashing thread failed".into()))
    }
}

impl Inner {
    fn argon2(&self, params: Params, keyid: &[u8]) -> Result<Argon2<'_>, HashError> {
        if keyid.is_empty() {
            return Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params));
        }
        let id = std::str::from_utf8(keyid).unwrap_or("");
        let secret = self
            .peppers
            .get(id)
            .ok_or_else(|| HashError::BadStoredHash(format!("pepper {id:?} is not configured")))?;
        Argon2::new_with_secret(secret, Algorithm::Argon2id, Version::V0x13, params)
            .map_err(|e| HashError::Internal(e.to_string()))
    }

    fn hash(&self, password: &Password) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        SysRng
            .try_fill_bytes(&mut salt)
            .map_err(|e| HashError::Internal(format!("OS random generator: {e}")))?;
        let argon2 = self.argon2(self.params.clone(), self.params.keyid())?;
        argon2
            .hash_password_with_salt(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| HashError::Internal(e.to_string()))
    }

    fn matches(&self, password: &Password, stored: &str) -> Result<bool, HashError> {
        let hash =
            PasswordHash::new(stored).map_err(|e| HashError::BadStoredHash(e.to_string()))?;
        if hash.algorithm.as_str() != "argon2id" {
            return Err(HashError::BadStoredHash(format!(
                "algorithm {}",
                hash.algorithm
            )));
        }
        let params =
            Params::try_from(&hash).map_err(|e| HashError::BadStoredHash(e.to_string()))?;
        let argon2 = self.argon2(params.clone(), params.keyid())?;
        // The output comparison inside is constant-time.
        match argon2.verify_password(password.expose().as_bytes(), &hash) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(e) => Err(HashError::BadStoredHash(e.to_string())),
        }
    }

    fn is_outdated(&self, stored: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else {
            return true;
        };
        let Ok(params) = Params::try_from(&hash) else {
            return true;
        };
        hash.version != Some(Version::V0x13.into())
            || params.m_cost() != self.params.m_cost()
            || params.t_cost() != self.params.t_cost()
            || params.p_cost() != self.params.p_cost()
            || params.keyid() != self.params.keyid()
    }
}

fn run_worker(jobs: &Mutex<Receiver<Job>>, niceness: i32) {
    lower_priority(niceness);
    loop {
        // The lock is held only while waiting for the next job.
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            // Every sender dropped: the server is shutting down.
            Err(_) => return,
        }
    }
}

/// Lowers the calling thread's scheduling priority (Linux gives each thread
/// its own niceness).
fn lower_priority(niceness: i32) {
    #[cfg(target_os = "linux")]
    if niceness > 0 {
        // SAFETY: plain syscalls on the calling thread, no memory shared.
        let rc = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, niceness)
        };
        if rc != 0 {
            tracing::warn!(niceness, "cannot lower the priority of a hashing thread");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = niceness;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(memory_kib: u32, pepper: Option<(&str, &str)>) -> PasswordHashingSettings {
        PasswordHashingSettings {
            memory_kib,
            iterations: 1,
            parallelism: 1,
            max_concurrency: 2,
            max_queue: 16,
            thread_niceness: 0,
            pepper_id: pepper.map(|(id, _)| id.to_owned()).unwrap_or_default(),
            peppers: pepper
                .into_iter()
                .map(|(id, s)| (id.to_owned(), s.to_owned()))
                .collect(),
        }
    }

    fn pw(text: &str) -> Arc<Password> {
        Arc::new(Password::new(text.to_owned()))
    }

    #[tokio::test]
    async fn hashes_verify_and_upgrade() {
        let old = PasswordHasher::start(&settings(8192, None)).unwrap();
        let hash = old.hash(pw("Correct horse 9")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"), "{hash}");
        assert_eq!(
            old.verify(pw("Correct horse 9"), hash.clone())
                .await
                .unwrap(),
            Verified::Yes { upgraded: None }
        );
        assert_eq!(
            old.verify(pw("Correct horse 8"), hash.clone())
                .await
                .unwrap(),
            Verified::No
        );

        // New parameters and a pepper: the old hash still verifies and is
        // upgraded to the new ones, keyid included.
        let new = PasswordHasher::start(&settings(9216, Some(("k1", "0123456789abcdef-pepper"))))
            .unwrap();
        let Verified::Yes {
            upgraded: Some(upgraded),
        } = new.verify(pw("Correct horse 9"), hash).await.unwrap()
        else {
            panic!("expected an upgrade");
        };
        assert!(
            upgraded.starts_with("$argon2id$v=19$m=9216,t=1,p=1,keyid="),
            "{upgraded}"
        );
        assert_eq!(
            new.verify(pw("Correct horse 9"), upgraded.clone())
                .await
                .unwrap(),
            Verified::Yes { upgraded: None }
        );
        // Without the pepper the hash cannot be checked at all.
        assert!(matches!(
            old.verify(pw("Correct horse 9"), upgraded).await,
            Err(HashError::BadStoredHash(_))
        ));
    }

    #[tokio::test]
    async fn history_and_garbage() {
        let hasher = PasswordHasher::start(&settings(8192, None)).unwrap();
        let a = hasher.hash(pw("first-password-1")).await.unwrap();
        let b = hasher.hash(pw("second-password-2")).await.unwrap();
        assert!(
            hasher
                .matches_any(pw("second-password-2"), vec![a.clone(), b.clone()])
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .matches_any(pw("third-password-3"), vec![a, b])
                .await
                .unwrap()
        );
        assert!(matches!(
            hasher.verify(pw("x"), "$2b$12$notargon".into()).await,
            Err(HashError::BadStoredHash(_))
        ));
        assert!(matches!(
            hasher.verify(pw("x"), "garbage".into()).await,
            Err(HashError::BadStoredHash(_))
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(12))]

            /// Whatever the password, its hash verifies it and nothing else.
            #[test]
            fn hashing_round_trips(a in "\\PC{0,40}", b in "\\PC{0,40}") {
                let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
                let hasher = PasswordHasher::start(&settings(8192, Some(("p1", "a-pepper-of-16-chars")))).unwrap();
                runtime.block_on(async {
                    let hash = hasher.hash(pw(&a)).await.unwrap();
                    prop_assert_eq!(
                        hasher.verify(pw(&a), hash.clone()).await.unwrap(),
                        Verified::Yes { upgraded: None }
                    );
                    if a != b {
                        prop_assert_eq!(hasher.verify(pw(&b), hash).await.unwrap(), Verified::No);
                    }
                    Ok(())
                })?;
            }
        }
    }
}
