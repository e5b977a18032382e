//! Named random streams derived from one master seed.
//!
//! Each consumer of randomness (the scheduler, a workload generator, a
//! failure injector, ...) draws from its own stream, looked up by name. A
//! stream is a pure function of `(master_seed, name)`, so adding a new stream
//! or drawing more from one never shifts the numbers another stream produces,
//! and experiments stay comparable when a model grows a new random decision.
//!
//! Derivation, fixed forever because golden digests depend on it:
//! - the 256-bit ChaCha key is four successive SplitMix64 outputs started from
//!   `master_seed`, laid out little-endian;
//! - the 64-bit ChaCha stream id is the FNV-1a 64 hash of the name's UTF-8
//!   bytes.
//!
//! ChaCha streams with the same key and different stream ids are independent
//! by construction, so names only need distinct hashes. Every step uses
//! explicit-width integer arithmetic and explicit byte order, so the draws are
//! identical on every platform.

use std::collections::BTreeMap;

use rand_chacha::rand_core::SeedableRng;

/// The generator behind every stream: fast, small, portable, and good enough
/// statistically for simulation (not for secrets).
pub type StreamRng = rand_chacha::ChaCha8Rng;

/// FNV-1a, 64-bit: tiny, portable, and ample for spreading a handful of
/// stream names over 2^64 stream ids.
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET_BASIS, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// One SplitMix64 step: spreads low-entropy seeds such as 1, 2, 3 into
/// unrelated keys.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The stream named `name` under `master_seed`, positioned at its first draw.
pub fn derive_stream(master_seed: u64, name: &str) -> StreamRng {
    let mut key = [0u8; 32];
    let mut state = master_seed;
    for chunk in key.chunks_exact_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    let mut rng = StreamRng::from_seed(key);
    rng.set_stream(fnv1a64(name.as_bytes()));
    rng
}

/// The set of streams of one simulation, created on first use.
#[derive(Clone, Debug)]
pub struct RngStreams {
    master_seed: u64,
    streams: BTreeMap<String, StreamRng>,
}

impl RngStreams {
    pub fn new(master_seed: u64) -> Self {
        RngStreams {
            master_seed,
            streams: BTreeMap::new(),
        }
    }

    pub fn master_seed(&self) -> u64 {
        self.master_seed
    }

    /// The stream `name`, continuing where the last draw from it stopped.
    pub fn stream(&mut self, name: &str) -> &mut StreamRng {
        // Look up by &str first so the common case does not allocate a key.
        if !self.streams.contains_key(name) {
            self.streams
                .insert(name.to_owned(), derive_stream(self.master_seed, name));
        }
        self.streams.get_mut(name).expect("inserted above")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn fnv1a64_matches_reference_vectors() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn derive_stream_is_pure() {
        let a: Vec<u64> = (0..8)
            .map({
                let mut r = derive_stream(7, "x");
                move |_| r.next_u64()
            })
            .collect();
        let mut r = derive_stream(7, "x");
        let b: Vec<u64> = (0..8).map(|_| r.next_u64()).collect();
        assert_eq!(a, b);
        assert_ne!(
            derive_stream(7, "x").next_u64(),
            derive_stream(7, "y").next_u64()
        );
        assert_ne!(
            derive_stream(7, "x").next_u64(),
            derive_stream(8, "x").next_u64()
        );
    }

    #[test]
    fn streams_continue_and_do_not_interfere() {
        let mut s = RngStreams::new(3);
        let first = s.stream("a").next_u64();
        let second = s.stream("a").next_u64();
        assert_ne!(first, second);
        let mut fresh = derive_stream(3, "a");
        assert_eq!(fresh.next_u64(), first);
        assert_eq!(fresh.next_u64(), second);
        assert_eq!(s.master_seed(), 3);
    }
}
