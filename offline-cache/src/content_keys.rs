//! Content encryption keys prepared ahead of time, off the citizen's critical path.
//!
//! A JWE (RSA-OAEP-256 + A256GCM) needs a fresh 256-bit content encryption key
//! (CEK) wrapped with the office's RSA key. The wrapping is an RSA public-key
//! operation (about 0.2 ms for 2048 bits on the kiosk CPU, five times the
//! AES-GCM of a form) and does not depend on the submission, so a background
//! thread prepares a few wrapped CEKs per recipient key while the kiosk waits
//! for the next citizen. [`crate::Outbox::enqueue`] takes one and does only
//! AES-GCM inline; when none is ready (the first submission, or a burst) the
//! key is wrapped inline exactly as before. The thread is woken to replace
//! what was taken only when the enqueue has returned ([`ContentKeys::refill`]),
//! so its RSA work never competes for the CPU with a save somebody waits for.
//!
//! What keeps this safe:
//! - **Used once.** A [`PreparedKey`] is not `Clone`; taking it moves it out of
//!   the queue, so no two JWEs share a CEK or a wrapped key.
//! - **Never mixed.** There is one queue per RSA public key (compared by
//!   modulus and exponent, not by a name), and [`KeySupply::take`] only looks
//!   at the queue of the key it encrypts to. A FIT-Connect destination's key
//!   and the default office key never share prepared keys.
//! - **Never persisted.** Prepared keys live only in this process's memory,
//!   are wiped when dropped ([`Zeroizing`]), and all of them are dropped when
//!   the outbox shuts down. A crash loses nothing but some RSA work.
//! - **Bounded.** At most [`MAX_QUEUES`] queues of the configured depth; the
//!   least recently used queue goes when another key arrives. Dropping the
//!   [`ContentKeys`] stops the thread and joins it: it finishes at most the one
//!   wrap it is doing.
//!
//! Holding a few unused CEKs in memory adds no exposure: whoever can read this
//! process's memory can read the plaintext answers at enqueue as well.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use rand::RngCore;
use rsa::{Oaep, RsaPublicKey};
use zeroize::Zeroizing;

/// The most recipient keys with prepared content keys at the same time (a
/// kiosk routes its services to a handful of offices).
pub(crate) const MAX_QUEUES: usize = 16;

/// A content encryption key and the same key wrapped (RSA-OAEP-256) to one
/// recipient. Use it for exactly one JWE to that recipient.
pub(crate) struct PreparedKey {
    cek: Zeroizing<[u8; 32]>,
    wrapped: Vec<u8>,
}

impl std::fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreparedKey(<redacted>)")
    }
}

impl PreparedKey {
    /// Draws a fresh CEK and wraps it to `key` (the slow part: one RSA operation).
    pub(crate) fn wrap(key: &RsaPublicKey) -> Result<Self, rsa::Error> {
        let mut rng = rand::thread_rng();
        let mut cek = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(cek.as_mut());
        let wrapped = key.encrypt(&mut rng, Oaep::new::<sha2::Sha256>(), cek.as_ref())?;
        Ok(Self { cek, wrapped })
    }

    /// The content encryption key (AES-256).
    pub(crate) fn cek(&self) -> &[u8; 32] {
        &self.cek
    }

    /// The CEK encrypted to the recipient (the JWE's second part).
    pub(crate) fn wrapped(&self) -> &[u8] {
        &self.wrapped
    }
}

/// The prepared keys of one recipient key.
struct Queue {
    key: Arc<RsaPublicKey>,
    ready: VecDeque<PreparedKey>,
    /// When a key was last taken or asked for (a logical clock, for eviction).
    last_used: u64,
}

struct State {
    queues: Vec<Queue>,
    /// Set once at shutdown (or when the thread could not start): no more
    /// queues, nothing prepared, `take` finds nothing.
    stopped: bool,
    clock: u64,
}

struct Shared {
    state: Mutex<State>,
    /// The refill thread waits here for a queue below depth, or for shutdown.
    wanted: Condvar,
    /// Signalled whenever a key was prepared (tests wait for a full queue).
    prepared: Condvar,
    /// How many keys to keep ready per recipient key.
    depth: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic (every change is one push or pop).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// The queue for `key`, created (evicting the least recently used one) if needed.
    fn queue_for(&mut self, key: &RsaPublicKey) -> &mut Queue {
        self.clock += 1;
        let clock = self.clock;
        let index = match self.queues.iter().position(|q| *q.key == *key) {
            Some(index) => index,
            None => {
                if self.queues.len() >= MAX_QUEUES {
                    let oldest = self
                        .queues
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, q)| q.last_used)
                        .map(|(index, _)| index)
                        .unwrap_or(0);
                    // Dropping the queue wipes its prepared keys.
                    self.queues.swap_remove(oldest);
                }
                self.queues.push(Queue {
                    key: Arc::new(key.clone()),
                    ready: VecDeque::new(),
                    last_used: clock,
                });
                self.queues.len() - 1
            }
        };
        let queue = &mut self.queues[index];
        queue.last_used = clock;
        queue
    }

    /// The key whose queue needs a prepared key most: the emptiest one below
    /// `depth`, the most recently used among equals.
    fn neediest(&self, depth: usize) -> Option<Arc<RsaPublicKey>> {
        self.queues
            .iter()
            .filter(|q| q.ready.len() < depth)
            .min_by_key(|q| (q.ready.len(), std::cmp::Reverse(q.last_used)))
            .map(|q| Arc::clone(&q.key))
    }
}

/// The outbox's supply of prepared content keys and the thread that refills it.
/// Dropping it stops and joins the thread and wipes every prepared key.
pub(crate) struct ContentKeys {
    shared: Arc<Shared>,
    refiller: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ContentKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentKeys")
            .field("depth", &self.shared.depth)
            .field("running", &self.refiller.is_some())
            .finish()
    }
}

impl ContentKeys {
    /// Starts the refill thread, keeping `depth` keys ready per recipient key.
    /// With `depth` 0, or if the thread cannot start, nothing is prepared and
    /// every JWE wraps its key inline.
    pub(crate) fn start(depth: usize) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queues: Vec::new(),
                stopped: depth == 0,
                clock: 0,
            }),
            wanted: Condvar::new(),
            prepared: Condvar::new(),
            depth,
        });
        let mut refiller = None;
        if depth > 0 {
            let for_thread = Arc::clone(&shared);
            match std::thread::Builder::new()
                .name("outbox-content-keys".into())
                .spawn(move || refill(&for_thread))
            {
                Ok(handle) => refiller = Some(handle),
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "cannot start the content key thread; every submission wraps its key inline"
                    );
                    shared.lock().stopped = true;
                }
            }
        }
        Self { shared, refiller }
    }

    /// A handle that takes prepared keys from this supply.
    pub(crate) fn supply(&self) -> KeySupply {
        KeySupply {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Wakes the thread to replace the keys taken since (call it when the
    /// work that took them is done).
    pub(crate) fn refill(&self) {
        self.shared.wanted.notify_one();
    }

    /// Starts preparing keys for `key` now, before the first submission to it.
    pub(crate) fn prepare_for(&self, key: &RsaPublicKey) {
        let mut state = self.shared.lock();
        if state.stopped {
            return;
        }
        state.queue_for(key);
        drop(state);
        self.shared.wanted.notify_one();
    }

    /// Waits until `count` keys are ready for `key`, at most `limit`.
    /// Returns whether they are.
    #[cfg(test)]
    pub(crate) fn wait_ready(
        &self,
        key: &RsaPublicKey,
        count: usize,
        limit: std::time::Duration,
    ) -> bool {
        let deadline = std::time::Instant::now() + limit;
        let mut state = self.shared.lock();
        loop {
            let ready = state
                .queues
                .iter()
                .find(|q| *q.key == *key)
                .map_or(0, |q| q.ready.len());
            if ready >= count {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) else {
                return false;
            };
            state = self
                .shared
                .prepared
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// How many keys are ready for `key` right now.
    #[cfg(test)]
    pub(crate) fn ready(&self, key: &RsaPublicKey) -> usize {
        self.shared
            .lock()
            .queues
            .iter()
            .find(|q| *q.key == *key)
            .map_or(0, |q| q.ready.len())
    }
}

impl Drop for ContentKeys {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.stopped = true;
            // Wipe what was prepared now, not when the last handle goes.
            state.queues.clear();
        }
        self.shared.wanted.notify_all();
        if let Some(refiller) = self.refiller.take() {
            // Bounded: the thread checks `stopped` before every wrap, so it
            // ends after at most one RSA operation.
            if refiller.join().is_err() {
                tracing::warn!("the content key thread had panicked");
            }
        }
    }
}

/// Takes prepared keys from an outbox's [`ContentKeys`] (cheap to clone).
#[derive(Clone)]
pub(crate) struct KeySupply {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for KeySupply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySupply")
    }
}

impl KeySupply {
    /// A prepared key wrapped to exactly `key`, if one is ready (starting a
    /// queue for a key seen for the first time). The replacement is prepared
    /// after the next [`ContentKeys::refill`].
    pub(crate) fn take(&self, key: &RsaPublicKey) -> Option<PreparedKey> {
        let mut state = self.shared.lock();
        if state.stopped {
            return None;
        }
        state.queue_for(key).ready.pop_front()
    }
}

/// The refill thread: prepares keys for the neediest queue until shutdown.
fn refill(shared: &Shared) {
    loop {
        let key = {
            let mut state = shared.lock();
            loop {
                if state.stopped {
                    return;
                }
                if let Some(key) = state.neediest(shared.depth) {
                    break key;
                }
                state = shared
                    .wanted
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        // The RSA operation runs without the lock: enqueue never waits for it.
        let prepared = match PreparedKey::wrap(&key) {
            Ok(prepared) => prepared,
            Err(e) => {
                // Only a broken random source or an unusable key gets here; the
                // inline path reports the same failure to the caller.
                tracing::warn!(error = %e, "preparing a content key failed; wrapping inline from now on");
                shared.lock().stopped = true;
                return;
            }
        };
        let mut state = shared.lock();
        if state.stopped {
            return;
        }
        let depth = shared.depth;
        // The queue may have been evicted meanwhile; then the key is wiped here.
        if let Some(queue) = state
            .queues
            .iter_mut()
            .find(|q| Arc::ptr_eq(&q.key, &key))
            .filter(|q| q.ready.len() < depth)
        {
            queue.ready.push_back(prepared);
        }
        drop(state);
        shared.prepared.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Duration;

    use rsa::RsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;

    use super::*;

    /// Generous: a 2048-bit wrap takes well under a millisecond, but the test
    /// machine is shared.
    const LIMIT: Duration = Duration::from_secs(60);

    fn private_key(pem: &str) -> RsaPrivateKey {
        RsaPrivateKey::from_pkcs8_pem(pem).expect("test key")
    }

    fn office() -> RsaPrivateKey {
        private_key(offline_cache_receiver::test_keys::PRIVATE_KEY_PEM)
    }

    fn destination() -> RsaPrivateKey {
        private_key(offline_cache_receiver::test_keys::fit_connect::DEST_ENC_KEY_PEM)
    }

    fn unwrap_cek(private: &RsaPrivateKey, prepared: &PreparedKey) -> Vec<u8> {
        private
            .decrypt(Oaep::new::<sha2::Sha256>(), prepared.wrapped())
            .expect("wrapped to this key")
    }

    #[test]
    fn the_pool_fills_and_refills_after_keys_are_taken() {
        let office = office();
        let public = office.to_public_key();
        let keys = ContentKeys::start(4);
        keys.prepare_for(&public);
        assert!(keys.wait_ready(&public, 4, LIMIT), "the pool never filled");
        let supply = keys.supply();
        for _ in 0..4 {
            let prepared = supply.take(&public).expect("a prepared key");
            assert_eq!(unwrap_cek(&office, &prepared), prepared.cek().to_vec());
        }
        keys.refill();
        assert!(
            keys.wait_ready(&public, 4, LIMIT),
            "the pool never refilled"
        );
        // Never more than the depth.
        assert_eq!(keys.ready(&public), 4);
    }

    #[test]
    fn every_key_is_handed_out_once() {
        let office = office();
        let public = office.to_public_key();
        let keys = ContentKeys::start(3);
        let supply = keys.supply();
        let (mut ceks, mut wrapped) = (HashSet::new(), HashSet::new());
        keys.prepare_for(&public);
        // Several rounds of emptying the pool, so refilled keys are covered too.
        for _ in 0..4 {
            keys.refill();
            assert!(keys.wait_ready(&public, 3, LIMIT));
            for _ in 0..3 {
                let prepared = supply.take(&public).expect("a prepared key");
                assert!(ceks.insert(prepared.cek().to_vec()), "a CEK came twice");
                assert!(
                    wrapped.insert(prepared.wrapped().to_vec()),
                    "a wrapped key came twice"
                );
            }
        }
        assert_eq!(ceks.len(), 12);
    }

    #[test]
    fn keys_for_one_recipient_never_reach_another() {
        let (office, destination) = (office(), destination());
        let (office_public, destination_public) =
            (office.to_public_key(), destination.to_public_key());
        assert_ne!(office_public, destination_public);
        let keys = ContentKeys::start(2);
        keys.prepare_for(&office_public);
        keys.prepare_for(&destination_public);
        assert!(keys.wait_ready(&office_public, 2, LIMIT));
        assert!(keys.wait_ready(&destination_public, 2, LIMIT));
        let supply = keys.supply();
        for _ in 0..2 {
            let for_office = supply.take(&office_public).expect("prepared");
            let for_destination = supply.take(&destination_public).expect("prepared");
            assert_eq!(unwrap_cek(&office, &for_office), for_office.cek().to_vec());
            assert_eq!(
                unwrap_cek(&destination, &for_destination),
                for_destination.cek().to_vec()
            );
            assert!(
                destination
                    .decrypt(Oaep::new::<sha2::Sha256>(), for_office.wrapped())
                    .is_err()
            );
        }
    }

    #[test]
    fn the_least_recently_used_queue_goes_when_too_many_keys_arrive() {
        let keys = ContentKeys::start(1);
        let office = office().to_public_key();
        keys.prepare_for(&office);
        assert!(keys.wait_ready(&office, 1, LIMIT));
        // Other recipient keys with the same modulus size: only the exponent differs.
        for exponent in 0..MAX_QUEUES as u64 {
            let other = RsaPublicKey::new(
                office.n().clone(),
                rsa::BigUint::from(65_539 + 2 * exponent),
            )
            .expect("valid public key");
            let mut state = keys.shared.lock();
            state.queue_for(&other);
        }
        let state = keys.shared.lock();
        assert_eq!(state.queues.len(), MAX_QUEUES);
        assert!(
            state.queues.iter().all(|q| *q.key != office),
            "the oldest queue stayed"
        );
    }

    #[test]
    fn dropping_the_supply_joins_the_thread_even_while_it_prepares() {
        let public = office().to_public_key();
        // A depth it cannot reach quickly: the thread is busy wrapping when we drop.
        let keys = ContentKeys::start(10_000);
        let supply = keys.supply();
        keys.prepare_for(&public);
        assert!(keys.wait_ready(&public, 1, LIMIT));
        let shared = Arc::downgrade(&keys.shared);
        drop(keys);
        // The thread's handle on the shared state is gone: it has returned.
        assert_eq!(shared.strong_count(), 1, "only `supply` is left");
        // Everything prepared was wiped, and nothing more is handed out.
        assert!(supply.take(&public).is_none());
        drop(supply);
        assert!(shared.upgrade().is_none());
    }

    #[test]
    fn depth_zero_prepares_nothing_and_starts_no_thread() {
        let public = office().to_public_key();
        let keys = ContentKeys::start(0);
        assert!(keys.refiller.is_none());
        keys.prepare_for(&public);
        assert!(keys.supply().take(&public).is_none());
        assert_eq!(keys.ready(&public), 0);
    }
}
