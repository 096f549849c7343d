//! A small, fast, unkeyed hash (FxHash-style, eight bytes per step) for in-process tables
//! whose keys nobody sending requests can choose: keys from verified tokens (de-duplicating a
//! token's scopes, indexing a cached scope set, the token cache's buckets) and keys from the
//! configuration (the route table's first segments, which a request only probes). Nobody can make
//! such keys collide, and every table using it confirms a hash match by an exact comparison, so
//! a collision costs time, never a wrong answer.

use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x517c_c1b7_2722_0a95;

/// The hasher.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

/// Builds [`FastHasher`]s for `HashSet`/`HashMap`.
pub(crate) type FastBuild = BuildHasherDefault<FastHasher>;

impl FastHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.mix(u64::from_le_bytes([
                w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
            ]));
        }
        // The last 0–7 bytes, little-endian, without a copy call for so few.
        let last = words
            .remainder()
            .iter()
            .rev()
            .fold(0u64, |word, &b| (word << 8) | u64::from(b));
        self.mix(last);
        // The length ends each write, so ("ab", "c") and ("a", "bc") differ.
        self.mix(bytes.len() as u64);
    }

    fn write_u8(&mut self, n: u8) {
        self.mix(u64::from(n));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn equal_input_hashes_equally_and_splits_matter() {
        let h = |parts: &[&str]| {
            let mut s = FastBuild::default().build_hasher();
            for p in parts {
                s.write(p.as_bytes());
            }
            s.finish()
        };
        assert_eq!(h(&["agents", "read"]), h(&["agents", "read"]));
        assert_ne!(h(&["ab", "c"]), h(&["a", "bc"]));
        assert_ne!(h(&["agents:read"]), h(&["agents:run"]));
        assert_ne!(
            FastBuild::default().hash_one("a"),
            FastBuild::default().hash_one("a\0")
        );
    }
}
