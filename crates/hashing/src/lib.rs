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

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::TryRng;
use rand::rngs::SysRng;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use domain::password::Password;
use serde::{Deserialize, Serialize};

/// How chosen passwords are hashed (argon2id) and how much CPU hashing may
/// take.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordHashingSettings {
    /// Memory cost in KiB (OWASP: 19456 with 2 iterations).
    pub memory_kib: u32,
    /// Time cost (passes over memory).
    pub iterations: u32,
    /// Lanes per hash.
    pub parallelism: u32,
    /// Hashes computed at once, on threads of their own; 0: one per CPU
    /// core. Never more than the cores.
    pub max_concurrency: usize,
    /// Hashes waiting for a thread beyond which calls are refused with
    /// RESOURCE_EXHAUSTED rather than queued.
    pub max_queue: usize,
    /// Niceness of the hashing threads (0 to 19; Linux): the scheduler then
    /// serves the RPC threads first, so cheap calls stay fast while
    /// passwords are hashed.
    pub thread_niceness: i32,
    /// Run the hashing threads under Linux's SCHED_IDLE policy: they get
    /// only the CPU time no other thread wants, so reads keep their latency
    /// however many passwords wait (measured in BENCHMARKS.md). When the
    /// server is saturated by other calls, hashes wait in the queue.
    pub idle_priority: bool,
    /// Id of the pepper new hashes use (a key of `peppers`); empty: no
    /// pepper.
    pub pepper_id: String,
    /// Secret peppers by id (1 to 8 characters among a-z, 0-9), at least 16
    /// characters each. The id is stored in each hash, so older peppers stay
    /// listed until every hash made with them has been upgraded. Secrets:
    /// redacted by `check-config`; set them by environment
    /// (`ENT_IDENTITY__PASSWORD_HASHING__PEPPERS__K1`).
    #[serde(default)]
    pub peppers: BTreeMap<String, String>,
}

impl PasswordHashingSettings {
    /// Problems of these settings, each as (key, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |key: &str, message: &str| out.push((key.to_owned(), message.to_owned()));
        if argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, None).is_err() {
            bad(
                "memory_kib",
                "memory_kib, iterations and parallelism are not valid argon2 parameters",
            );
        }
        if self.memory_kib < 8 * 1024 {
            bad(
                "memory_kib",
                "must be at least 8192 (OWASP's lowest recommendation is 7168 with 5 iterations)",
            );
        }
        if self.memory_kib > 4 * 1024 * 1024 {
            bad("memory_kib", "must be at most 4194304 (4 GiB)");
        }
        if !(1..=20).contains(&self.iterations) {
            bad("iterations", "must be between 1 and 20");
        }
        if !(1..=16).contains(&self.parallelism) {
            bad("parallelism", "must be between 1 and 16");
        }
        if self.max_queue == 0 {
            bad("max_queue", "must be at least 1");
        }
        if !(0..=19).contains(&self.thread_niceness) {
            bad("thread_niceness", "must be between 0 and 19");
        }
        if !self.pepper_id.is_empty() && !self.peppers.contains_key(&self.pepper_id) {
            bad("pepper_id", "names no entry of peppers");
        }
        for (id, secret) in &self.peppers {
            if id.is_empty()
                || id.len() > 8
                || !id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            {
                bad(
                    &format!("peppers.{id}"),
                    "ids are 1 to 8 characters among a-z, 0-9",
                );
            }
            if secret.chars().count() < 16 {
                bad(&format!("peppers.{id}"), "must be at least 16 characters");
            }
        }
        out
    }
}

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
            let (niceness, idle) = (settings.thread_niceness, settings.idle_priority);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || run_worker(&jobs, niceness, idle))
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
    /// argon2id at `version` and `params`, with the pepper the params'
    /// key id names (none when empty).
    fn argon2(&self, version: Version, params: Params) -> Result<Argon2<'_>, HashError> {
        let keyid = params.keyid();
        if keyid.is_empty() {
            return Ok(Argon2::new(Algorithm::Argon2id, version, params));
        }
        let id = std::str::from_utf8(keyid).unwrap_or("");
        let secret = self
            .peppers
            .get(id)
            .ok_or_else(|| HashError::BadStoredHash(format!("pepper {id:?} is not configured")))?;
        Argon2::new_with_secret(secret, Algorithm::Argon2id, version, params)
            .map_err(|e| HashError::Internal(e.to_string()))
    }

    fn hash(&self, password: &Password) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        SysRng
            .try_fill_bytes(&mut salt)
            .map_err(|e| HashError::Internal(format!("OS random generator: {e}")))?;
        let argon2 = self.argon2(Version::V0x13, self.params.clone())?;
        let len = self
            .params
            .output_len()
            .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let mut out = Zeroizing::new([0u8; Output::MAX_LENGTH]);
        let out = out
            .get_mut(..len)
            .ok_or_else(|| HashError::Internal(format!("output length {len}")))?;
        compute(&argon2, self.params.block_count(), password, &salt, out)
            .map_err(|e| HashError::Internal(e.to_string()))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(internal)?,
            salt: Some(Salt::new(&salt).map_err(internal)?),
            hash: Some(Output::new(out).map_err(internal)?),
        };
        Ok(phc.to_string())
    }

    fn matches(&self, password: &Password, stored: &str) -> Result<bool, HashError> {
        let bad = |e: &dyn std::fmt::Display| HashError::BadStoredHash(e.to_string());
        let hash = PasswordHash::new(stored).map_err(|e| bad(&e))?;
        if hash.algorithm.as_str() != "argon2id" {
            return Err(HashError::BadStoredHash(format!(
                "algorithm {}",
                hash.algorithm
            )));
        }
        let version = hash
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(|e| bad(&e))?
            .unwrap_or_default();
        let params = Params::try_from(&hash).map_err(|e| bad(&e))?;
        let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
            return Err(HashError::BadStoredHash("no salt or no hash".into()));
        };
        let argon2 = self.argon2(version, params.clone())?;
        let mut out = Zeroizing::new([0u8; Output::MAX_LENGTH]);
        let out = out
            .get_mut(..expected.len())
            .ok_or_else(|| HashError::BadStoredHash("hash length".into()))?;
        compute(
            &argon2,
            self.params.block_count(),
            password,
            salt.as_ref(),
            out,
        )
        .map_err(|e| bad(&e))?;
        Ok(bool::from(out.ct_eq(expected.as_bytes())))
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

fn internal(e: impl std::fmt::Display) -> HashError {
    HashError::Internal(e.to_string())
}

thread_local! {
    /// This thread's argon2 memory, kept from one hash to the next. (A new
    /// 19 MiB block per hash let the allocator's per-thread arenas keep
    /// hundreds of MiB.)
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 of `password` into `out`, in this thread's reusable memory when
/// `params` need at most `kept_blocks` (the configured cost); a stored hash
/// of a larger cost gets memory of its own, freed afterwards, and an
/// allocation that fails is an error rather than an abort.
fn compute(
    argon2: &Argon2<'_>,
    kept_blocks: usize,
    password: &Password,
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let blocks = argon2.params().block_count();
    let mut hash = |memory: &mut [Block]| {
        argon2.hash_password_into_with_memory(password.expose().as_bytes(), salt, out, memory)
    };
    let grow = |memory: &mut Vec<Block>| {
        memory
            .try_reserve_exact(blocks.saturating_sub(memory.len()))
            .map_err(|_| argon2::Error::OutOfMemory)?;
        memory.resize(blocks, Block::default());
        Ok::<_, argon2::Error>(())
    };
    if blocks > kept_blocks {
        let mut memory = Vec::new();
        grow(&mut memory)?;
        return hash(&mut memory);
    }
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            grow(memory)?;
        }
        hash(&mut memory[..blocks])
    })
}

fn run_worker(jobs: &Mutex<Receiver<Job>>, niceness: i32, idle: bool) {
    lower_priority(niceness, idle);
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
/// its own niceness and policy).
fn lower_priority(niceness: i32, idle: bool) {
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
    #[cfg(target_os = "linux")]
    if idle {
        // SAFETY: sched_setscheduler on the calling thread (0) with a valid
        // parameter; moving to SCHED_IDLE needs no privilege.
        let rc = unsafe {
            let param = libc::sched_param { sched_priority: 0 };
            libc::sched_setscheduler(0, libc::SCHED_IDLE, &param)
        };
        if rc != 0 {
            tracing::warn!("cannot move a hashing thread to SCHED_IDLE");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (niceness, idle);
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
            idle_priority: false,
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

    /// Hashes made in reused memory are the argon2 crate's PHC strings: each
    /// side verifies the other's (LDAP and older hashes stay readable).
    #[tokio::test]
    async fn hashes_are_those_of_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = PasswordHasher::start(&settings(8192, None)).unwrap();
        let ours = hasher.hash(pw("Correct horse 9")).await.unwrap();
        let params = Params::new(8192, 1, 1, None).unwrap();
        let crate_argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        crate_argon2
            .verify_password(b"Correct horse 9", ours.as_str())
            .expect("the crate verifies our hash");
        assert!(
            crate_argon2
                .verify_password(b"Correct horse 8", ours.as_str())
                .is_err()
        );
        let theirs = crate_argon2
            .hash_password_with_salt(b"Correct horse 9", b"0123456789abcdef")
            .unwrap()
            .to_string();
        assert_eq!(
            hasher
                .verify(pw("Correct horse 9"), theirs.clone())
                .await
                .unwrap(),
            Verified::Yes { upgraded: None }
        );
        assert_eq!(
            hasher.verify(pw("Correct horse 8"), theirs).await.unwrap(),
            Verified::No
        );
        // A larger memory cost than the threads' current buffer, then the
        // usual one again.
        let big = PasswordHasher::start(&settings(16384, None)).unwrap();
        let big_hash = big.hash(pw("Correct horse 9")).await.unwrap();
        for _ in 0..3 {
            assert!(matches!(
                hasher
                    .verify(pw("Correct horse 9"), big_hash.clone())
                    .await
                    .unwrap(),
                Verified::Yes { upgraded: Some(_) }
            ));
            assert!(matches!(
                hasher
                    .verify(pw("Correct horse 9"), ours.clone())
                    .await
                    .unwrap(),
                Verified::Yes { upgraded: None }
            ));
        }
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
