//! A one-hash Bloom filter in front of each mask group's hash map.
//!
//! Most addresses a worker sees match no term, so most probes of a table are misses. This
//! filter answers almost all of them with a multiply and one bit test in a bitset a fraction of
//! the map's size (it stays in cache when a 100k-term map does not), and sends only its few
//! false positives and the true hits on to the map.

/// Bits per key: with one hash, about 1 in 16 misses gets through.
const BITS_PER_KEY: usize = 16;

/// Fibonacci hashing: the top bits of the product depend on every bit of the key, including
/// keys whose low bits are all cleared by a mask.
const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// A set of `u64` keys that may report false positives but never false negatives. Cloning
/// one shares its bits.
#[derive(Clone)]
pub(super) struct Prefilter {
    words: std::sync::Arc<[u64]>,
    /// 64 minus log2 of the number of bits, so the top bits of the product pick one bit.
    shift: u32,
}

impl Prefilter {
    pub(super) fn new(keys: impl ExactSizeIterator<Item = u64>) -> Prefilter {
        let bits = (keys.len() * BITS_PER_KEY).max(64).next_power_of_two();
        let shift = 64 - bits.trailing_zeros();
        let mut words = vec![0u64; bits / 64];
        for key in keys {
            let slot = Prefilter::slot_of(key, shift);
            words[slot / 64] |= 1 << (slot % 64);
        }
        Prefilter {
            words: words.into(),
            shift,
        }
    }

    #[inline]
    fn slot_of(key: u64, shift: u32) -> usize {
        (key.wrapping_mul(MULTIPLIER) >> shift) as usize
    }

    #[inline]
    fn slot(&self, key: u64) -> usize {
        Prefilter::slot_of(key, self.shift)
    }

    /// False means `key` is certainly absent.
    #[inline]
    pub(super) fn may_contain(&self, key: u64) -> bool {
        let slot = self.slot(key);
        self.words[slot / 64] & (1 << (slot % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_misses_a_key_and_rejects_most_others() {
        let keys: Vec<u64> = (0..1000u64)
            .map(|i| i.wrapping_mul(0x0123_4567_89AB) & 0xFFFF_FF00_0000)
            .collect();
        let f = Prefilter::new(keys.iter().copied());
        assert!(keys.iter().all(|&k| f.may_contain(k)));
        // Low bits set: none of these is a key.
        let false_positives = (0..100_000u64)
            .filter(|i| f.may_contain(i << 24 | 1))
            .count();
        assert!(false_positives < 10_000, "{false_positives}");
        assert!(!Prefilter::new(std::iter::empty()).may_contain(0));
    }
}
