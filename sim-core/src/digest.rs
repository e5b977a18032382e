//! A running digest of everything a simulation did, so two runs can be
//! compared by one number.
//!
//! Not cryptographic: it detects accidental divergence, not tampering. It is
//! hand-written (rather than `std::hash`) because the value must be identical
//! across platforms, Rust versions and processes, and it is cheap because the
//! engine updates it for every event.
//!
//! Each 64-bit word updates the state by `xor, multiply by an odd constant,
//! rotate, add a constant`. For a fixed input word every step of that is a
//! bijection of the state, so two traces that differ in exactly one word can
//! never end with the same digest; a collision needs at least two
//! compensating differences. The rotation carries the well-mixed high bits of
//! the product into the low bits the next multiply will spread, and the added
//! constant keeps runs of zero words from leaving the state unchanged.
//! [`Digest::value`] applies a final avalanche (also a bijection) so that
//! nearby states print as unrelated hex strings.

use std::fmt;

const MUL: u64 = 0x9e37_79b9_7f4a_7c15;
const ADD: u64 = 0x2545_f491_4f6c_dd1d;
const ROT: u32 = 29;

/// Running trace digest; see the module docs for the mixing function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Digest(u64);

impl Digest {
    pub fn new() -> Self {
        Digest(0)
    }

    #[inline]
    pub fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(MUL)
            .rotate_left(ROT)
            .wrapping_add(ADD);
    }

    /// Same as `write_u64(v as u64)`: widths are not tagged, which is fine as
    /// long as a given event kind always writes the same fields.
    #[inline]
    pub fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }

    /// Two's-complement bits, so it equals `write_u64(v as u64)`.
    #[inline]
    pub fn write_i64(&mut self, v: i64) {
        self.write_u64(u64::from_ne_bytes(v.to_ne_bytes()));
    }

    /// Raw bytes, without a length prefix; use [`Digest::write_str`] (or write
    /// the length yourself) when consecutive variable-length fields must not
    /// run into each other. A trailing partial word carries its byte count in
    /// its top byte so that `"a"` and `"a\0"` still differ.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut word = [0u8; 8];
            word[..tail.len()].copy_from_slice(tail);
            word[7] = tail.len() as u8;
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    /// Length-prefixed, so `("ab", "c")` and `("a", "bc")` differ.
    pub fn write_str(&mut self, s: &str) {
        self.write_u64(s.len() as u64);
        self.write_bytes(s.as_bytes());
    }

    /// The finalised digest value. Does not consume or change the running
    /// state, so it can be read at any point of a run.
    pub fn value(self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        z ^ (z >> 33)
    }
}

/// 16 lowercase hex digits of [`Digest::value`].
impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(f: impl FnOnce(&mut Digest)) -> Digest {
        let mut d = Digest::new();
        f(&mut d);
        d
    }

    #[test]
    fn order_and_content_matter() {
        let ab = of(|d| {
            d.write_u64(1);
            d.write_u64(2);
        });
        let ba = of(|d| {
            d.write_u64(2);
            d.write_u64(1);
        });
        assert_ne!(ab, ba);
        assert_ne!(of(|d| d.write_u64(0)), Digest::new());
        assert_ne!(
            of(|d| d.write_u64(0)),
            of(|d| {
                d.write_u64(0);
                d.write_u64(0);
            })
        );
        assert_eq!(of(|d| d.write_u32(7)), of(|d| d.write_u64(7)));
        assert_eq!(of(|d| d.write_i64(-1)), of(|d| d.write_u64(u64::MAX)));
    }

    #[test]
    fn strings_are_framed() {
        let a = of(|d| {
            d.write_str("ab");
            d.write_str("c");
        });
        let b = of(|d| {
            d.write_str("a");
            d.write_str("bc");
        });
        assert_ne!(a, b);
        assert_ne!(of(|d| d.write_bytes(b"a")), of(|d| d.write_bytes(b"a\0")));
        assert_eq!(of(|d| d.write_bytes(b"")), Digest::new());
    }

    #[test]
    fn value_is_stable_and_displays_as_hex() {
        let d = of(|d| d.write_str("hello"));
        let shown = d.to_string();
        assert_eq!(shown.len(), 16);
        assert!(
            shown
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(format!("{:016x}", d.value()), shown);
        // Pins the mixing function: changing it silently would invalidate
        // every recorded golden digest.
        assert_eq!(shown, "03ffeb5b94969d07");
    }

    #[test]
    fn single_bit_flips_spread() {
        let base = of(|d| d.write_u64(0x1234)).value();
        for bit in 0..64 {
            let flipped = of(|d| d.write_u64(0x1234 ^ (1 << bit))).value();
            let changed = (base ^ flipped).count_ones();
            assert!(
                (12..=52).contains(&changed),
                "bit {bit} changed only {changed} output bits"
            );
        }
    }
}
