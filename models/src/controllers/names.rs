//! Generated names, shaped as upstream makes them.

use rand::Rng;

/// Upstream `utilrand` alphabet: no vowels (no accidental words) and no look-alike characters.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The random suffix of `generateName` (`names.SimpleNameGenerator`: 5 characters).
pub fn random_suffix(rng: &mut impl Rng) -> String {
    (0..5)
        .map(|_| ALPHANUMS[rng.random_range(0..ALPHANUMS.len())] as char)
        .collect()
}

/// `generateName: <base>-`: a name no active pod of the namespace has, with its random suffix
/// drawn from the `names` stream.
pub fn unique_pod_name(
    api: &crate::apiserver::ApiServer,
    ctx: &mut sim_core::Context<'_, crate::cluster::Event>,
    base: &str,
    namespace: &str,
) -> String {
    loop {
        let name = format!("{base}-{}", random_suffix(ctx.rng("names")));
        if api.store.pod_id(&format!("{namespace}/{name}")).is_none() {
            return name;
        }
        // Vanishingly rare; the loop draws again from the same stream.
        let _ = ctx.rng("names").random::<u8>();
    }
}

/// Upstream `rand.SafeEncodeString`: maps each byte onto the alphabet.
pub fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// 32-bit FNV-1a, the hash upstream uses for `pod-template-hash`.
pub fn fnv32a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        // Reference values of the FNV-1a 32-bit hash (the FNV test suite).
        assert_eq!(fnv32a(b""), 0x811c9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c292c);
        assert_eq!(fnv32a(b"foobar"), 0xbf9cf968);
    }

    #[test]
    fn safe_encode_uses_only_the_alphabet() {
        let s = safe_encode("1234567890");
        assert_eq!(s.len(), 10);
        assert!(s.bytes().all(|b| ALPHANUMS.contains(&b)));
    }
}
