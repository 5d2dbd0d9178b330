//! Password hashing: argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1), PHC strings, re-hash when
//! the parameters change, and a dummy verification so an unknown username costs as much as a known one.
//!
//! Hashing is CPU-bound (≈ 20 ms optimized) and takes 19 MiB: the async entry points run it on a fixed set of
//! hashing threads, each holding one argon2 memory block for its whole life, never on the thread that drives
//! requests. So a process's argon2 memory is bounded by design, one block per hashing thread, not one per request,
//! blocking-pool thread or malloc arena: `CLOUDMIND_HASH_THREADS` threads (default: one in Lambda, which sends one
//! request at a time; the number of cores elsewhere) and 32 waiting jobs. Beyond that a request is
//! refused at once ([`HashError::Busy`]: 503 with `Retry-After`) instead of queueing without end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches; `needs_rehash` when the stored hash used other parameters than the current ones.
    Valid {
        needs_rehash: bool,
    },
    Invalid,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed")]
    Failed(#[source] crate::store::BoxError),
    /// Every hashing thread is busy and the queue is full: try again in a moment.
    #[error("every password hashing thread is busy")]
    Busy,
}

impl From<HashError> for crate::ApiError {
    /// Busy hashing threads: 503 with `Retry-After: 1` (a hash takes tens of milliseconds); a failed hash: 500,
    /// its cause in the log.
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => {
                tracing::warn!(event = "hashing_busy");
                Self::Busy { retry_after: 1 }
            }
            e @ HashError::Failed(_) => {
                tracing::error!(event = "hash_failed", error = %crate::store::error_chain(&e));
                Self::Internal
            }
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/dummy_hash.rs"));

/// argon2id with fixed parameters, shared by every function that hashes or verifies.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// The hash an unknown username is verified against: [`DUMMY_HASH`] (made at build time) for the OWASP
    /// parameters; for other parameters (tests), one made at the first need.
    dummy: Arc<OnceLock<String>>,
    verifications: Arc<AtomicU64>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .finish()
    }
}

/// The argon2 memory of one hashing thread, grown to the largest `m_cost` it has met and kept.
pub type Memory = Vec<Block>;

fn failed(e: impl Into<crate::store::BoxError>) -> HashError {
    HashError::Failed(e.into())
}

impl PasswordHasher {
    /// OWASP's argon2id recommendation.
    pub fn owasp() -> Self {
        Self::with_params(19_456, 2, 1).unwrap_or_else(|_| unreachable!("the OWASP parameters are valid"))
    }

    pub fn with_params(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, HashError> {
        let params = Params::new(m_cost_kib, t_cost, p_cost, None).map_err(failed)?;
        let dummy = OnceLock::new();
        if (m_cost_kib, t_cost, p_cost) == (19_456, 2, 1) {
            let _ = dummy.set(DUMMY_HASH.to_string());
        }
        Ok(Self { params, dummy: Arc::new(dummy), verifications: Arc::new(AtomicU64::new(0)) })
    }

    /// How many argon2 verifications this hasher (and its clones) ran, real and dummy: shows that an unknown
    /// username costs the same work as a known one, without timing anything.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Hashes a password into a PHC string with a fresh random salt, in `memory`.
    pub fn hash_in(&self, password: &SecretString, memory: &mut Memory) -> Result<String, HashError> {
        let mut salt_bytes = [0u8; 16];
        getrandom::fill(&mut salt_bytes).map_err(|e| failed(e.to_string()))?;
        let salt = SaltString::encode_b64(&salt_bytes).map_err(failed)?;
        let mut out = [0u8; 32];
        run(&self.params, password, &salt_bytes, &mut out, memory)?;
        let hash = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: (&self.params).try_into().map_err(failed)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(failed)?),
        };
        Ok(hash.to_string())
    }

    /// Verifies a password against a PHC string, in `memory`. A hash that cannot be parsed never verifies.
    pub fn verify_in(&self, password: &SecretString, phc: &str, memory: &mut Memory) -> Verification {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let Some((parsed, params)) = parse(phc) else {
            // Still spend the time, so a corrupt record is not distinguishable by latency.
            self.spend_dummy(password, memory);
            return Verification::Invalid;
        };
        match check(&parsed, &params, password, memory) {
            true => Verification::Valid { needs_rehash: !self.is_current(&parsed, &params) },
            false => Verification::Invalid,
        }
    }

    /// Spends one verification against a fixed hash: what a login for an unknown username costs.
    pub fn verify_dummy_in(&self, password: &SecretString, memory: &mut Memory) {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        self.spend_dummy(password, memory);
    }

    fn spend_dummy(&self, password: &SecretString, memory: &mut Memory) {
        let phc = self
            .dummy
            .get_or_init(|| self.hash_in(&SecretString::from("cloudmind-dummy-password"), memory).unwrap_or_default());
        if let Some((parsed, params)) = parse(phc) {
            let _ = check(&parsed, &params, password, memory);
        }
    }

    /// [`Self::hash_in`] with a memory block of its own (tests, tools).
    pub fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        self.hash_in(password, &mut Memory::new())
    }

    /// [`Self::verify_in`] with a memory block of its own (tests, tools).
    pub fn verify(&self, password: &SecretString, phc: &str) -> Verification {
        self.verify_in(password, phc, &mut Memory::new())
    }

    fn is_current(&self, parsed: &PasswordHash<'_>, params: &Params) -> bool {
        parsed.algorithm == argon2::ARGON2ID_IDENT
            && parsed.version == Some(0x13)
            && params.m_cost() == self.params.m_cost()
            && params.t_cost() == self.params.t_cost()
            && params.p_cost() == self.params.p_cost()
    }

    /// A place on the hashing threads, taken before anything else of a request that will hash (a login takes it
    /// before its lockout slot, so a busy process refuses without counting an attempt). [`HashError::Busy`] at
    /// once when there is none.
    pub fn reserve(&self) -> Result<HashPermit, HashError> {
        let permit = pool().permits.clone().try_acquire_owned().map_err(|_| HashError::Busy)?;
        Ok(HashPermit { hasher: self.clone(), _permit: permit })
    }

    /// Hashes on the hashing threads.
    pub async fn hash_async(&self, password: SecretString) -> Result<String, HashError> {
        self.reserve()?.hash(password).await
    }
}

/// A reserved place on the hashing threads (see [`PasswordHasher::reserve`]).
pub struct HashPermit {
    hasher: PasswordHasher,
    _permit: OwnedSemaphorePermit,
}

impl HashPermit {
    pub async fn hash(self, password: SecretString) -> Result<String, HashError> {
        let hasher = self.hasher.clone();
        self.run(move |memory| hasher.hash_in(&password, memory)).await?
    }

    /// Verifies against `phc`; `None` runs the dummy verification (and never verifies).
    pub async fn verify(self, password: SecretString, phc: Option<String>) -> Verification {
        let hasher = self.hasher.clone();
        let job = move |memory: &mut Memory| match phc {
            Some(phc) => hasher.verify_in(&password, &phc, memory),
            None => {
                hasher.verify_dummy_in(&password, memory);
                Verification::Invalid
            }
        };
        self.run(job).await.unwrap_or(Verification::Invalid)
    }

    async fn run<T: Send + 'static>(self, job: impl FnOnce(&mut Memory) -> T + Send + 'static) -> Result<T, HashError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = reply.send(job(memory));
        });
        match pool().jobs.try_send(job) {
            Ok(()) => answer.await.map_err(|_| failed("the hashing thread stopped")),
            Err(TrySendError::Full(_)) => Err(HashError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(failed("no hashing thread is running")),
        }
    }
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// How many hashing jobs may wait for a thread.
const QUEUE: usize = 32;

/// The process's hashing threads and their queue.
struct Pool {
    jobs: SyncSender<Job>,
    permits: Arc<Semaphore>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = hash_threads();
        // A permit is held from reserve() until the answer is read, so the channel never holds more than the
        // permits. Waiting jobs hold a password, not argon2 memory: the queue bounds latency (at most about
        // QUEUE × 30 ms / threads), the threads bound memory.
        let capacity = threads + QUEUE;
        let (jobs, receiver) = sync_channel::<Job>(capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || {
                let mut memory = Memory::new();
                loop {
                    let job = match receiver.lock() {
                        Ok(r) => r.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match job {
                        Ok(job) => job(&mut memory),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(event = "hash_thread_not_started", error = %e);
            }
        }
        Pool { jobs, permits: Arc::new(Semaphore::new(capacity)) }
    })
}

/// `CLOUDMIND_HASH_THREADS`, else one in Lambda (one request at a time) and the number of cores elsewhere.
fn hash_threads() -> usize {
    let configured = std::env::var("CLOUDMIND_HASH_THREADS").ok().and_then(|v| v.parse::<usize>().ok());
    let default = if std::env::var("AWS_LAMBDA_FUNCTION_NAME").is_ok() {
        1
    } else {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    };
    configured.unwrap_or(default).clamp(1, 64)
}

/// The most memory a stored hash may ask for (64 MiB): a record claiming more is treated as corrupt rather than
/// allowed to grow a hashing thread's block.
const MAX_M_COST_KIB: u32 = 64 * 1024;

fn parse(phc: &str) -> Option<(PasswordHash<'_>, Params)> {
    let parsed = PasswordHash::new(phc).ok()?;
    let params = Params::try_from(&parsed).ok().filter(|p| p.m_cost() <= MAX_M_COST_KIB)?;
    Some((parsed, params))
}

/// Whether `password` gives the hash in `parsed` (constant-time comparison of the outputs).
fn check(parsed: &PasswordHash<'_>, params: &Params, password: &SecretString, memory: &mut Memory) -> bool {
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let algorithm = match Algorithm::try_from(parsed.algorithm) {
        Ok(a) => a,
        Err(_) => return false,
    };
    let version = parsed.version.and_then(|v| Version::try_from(v).ok()).unwrap_or_default();
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    memory.resize(memory.len().max(params.block_count()), Block::default());
    if argon2
        .hash_password_into_with_memory(
            password.expose_secret().as_bytes(),
            salt,
            &mut out,
            &mut memory[..params.block_count()],
        )
        .is_err()
    {
        return false;
    }
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// argon2id with `params` into `out`, in `memory` (grown if needed).
fn run(
    params: &Params,
    password: &SecretString,
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Memory,
) -> Result<(), HashError> {
    memory.resize(memory.len().max(params.block_count()), Block::default());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.expose_secret().as_bytes(),
            salt,
            out,
            &mut memory[..params.block_count()],
        )
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[test]
    fn hashes_are_argon2id_phc_with_owasp_parameters_and_random_salts() {
        let hasher = PasswordHasher::owasp();
        let a = hasher.hash(&secret("Correct-Horse-42")).unwrap();
        let b = hasher.hash(&secret("Correct-Horse-42")).unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b);
        assert!(!a.contains("Correct-Horse-42"));
    }

    #[test]
    fn verify_accepts_the_right_password_only() {
        let hasher = PasswordHasher::owasp();
        let phc = hasher.hash(&secret("Correct-Horse-42")).unwrap();
        assert_eq!(hasher.verify(&secret("Correct-Horse-42"), &phc), Verification::Valid { needs_rehash: false });
        assert_eq!(hasher.verify(&secret("correct-horse-42"), &phc), Verification::Invalid);
        assert_eq!(hasher.verify(&secret("Correct-Horse-42"), "not a hash"), Verification::Invalid);
    }

    #[test]
    fn a_hash_with_old_parameters_verifies_and_asks_for_a_rehash() {
        let old = PasswordHasher::with_params(8_192, 1, 1).unwrap();
        let phc = old.hash(&secret("Correct-Horse-42")).unwrap();
        let current = PasswordHasher::owasp();
        assert_eq!(current.verify(&secret("Correct-Horse-42"), &phc), Verification::Valid { needs_rehash: true });
    }

    #[tokio::test]
    async fn unknown_users_cost_a_verification_and_never_pass() {
        let hasher = PasswordHasher::owasp();
        assert_eq!(hasher.reserve().unwrap().verify(secret("anything"), None).await, Verification::Invalid);
        assert_eq!(hasher.verifications(), 1);
    }

    #[test]
    fn the_dummy_hash_is_built_in_with_the_owasp_parameters_and_a_random_salt_and_output() {
        // Nothing to compute at start: a login function's init hashes nothing.
        let hasher = PasswordHasher::owasp();
        assert_eq!(hasher.dummy.get().map(String::as_str), Some(DUMMY_HASH));
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!((params.m_cost(), params.t_cost(), params.p_cost()), (19_456, 2, 1));
        assert_eq!((parsed.salt.unwrap().len(), parsed.hash.unwrap().len()), (22, 32));
        // Verifying against it is one real verification, and it matches nothing.
        for guess in ["", "password", "cloudmind-dummy-password", "warm-up"] {
            assert_eq!(hasher.verify(&secret(guess), DUMMY_HASH), Verification::Invalid);
        }
        // Other parameters (tests) make their own.
        assert!(PasswordHasher::with_params(8_192, 1, 1).unwrap().dummy.get().is_none());
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_verify_and_ours_verify_there() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let salt = SaltString::from_b64("c2FsdHNhbHRzYWx0").unwrap();
        let theirs = Argon2::default().hash_password(b"Correct-Horse-42", &salt).unwrap().to_string();
        let hasher = PasswordHasher::owasp();
        assert!(matches!(hasher.verify(&secret("Correct-Horse-42"), &theirs), Verification::Valid { .. }));
        let ours = hasher.hash(&secret("Correct-Horse-42")).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"Correct-Horse-42", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"Correct-Horse-43", &parsed).is_err());
    }

    #[test]
    fn a_stored_hash_asking_for_more_than_64_mib_never_verifies() {
        let greedy = "$argon2id$v=19$m=1048576,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        let mut memory = Memory::new();
        let verdict = PasswordHasher::owasp().verify_in(&secret("anything"), greedy, &mut memory);
        assert_eq!(verdict, Verification::Invalid);
        assert!(memory.len() <= 19_456, "the block did not grow for it");
    }

    #[test]
    fn one_memory_block_serves_every_hash_of_a_thread() {
        let hasher = PasswordHasher::owasp();
        let mut memory = Memory::new();
        let phc = hasher.hash_in(&secret("Correct-Horse-42"), &mut memory).unwrap();
        let allocated = memory.as_ptr();
        for _ in 0..3 {
            assert!(matches!(
                hasher.verify_in(&secret("Correct-Horse-42"), &phc, &mut memory),
                Verification::Valid { .. }
            ));
        }
        assert_eq!(memory.as_ptr(), allocated, "no new block");
        assert_eq!(memory.len(), 19_456);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn beyond_the_hashing_threads_and_their_queue_a_request_is_refused_at_once() {
        let hasher = PasswordHasher::owasp();
        let capacity = hash_threads() + QUEUE;
        // Other tests of this process (under `cargo test`) hold places only for a hash or two.
        let mut held: Vec<HashPermit> = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while held.len() < capacity && std::time::Instant::now() < deadline {
            match hasher.reserve() {
                Ok(permit) => held.push(permit),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
            }
        }
        assert_eq!(held.len(), capacity);
        assert!(matches!(hasher.reserve(), Err(HashError::Busy)));
        drop(held);
        assert!(hasher.reserve().is_ok());
    }
}
