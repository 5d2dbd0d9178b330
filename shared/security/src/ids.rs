//! Random identifiers: user ids, request ids, token ids.

/// `n` random bytes as lower-case hex.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    // The OS generator does not fail on the platforms CloudMind runs on; if it ever did, `getrandom` reports it
    // and the zeroes left here would make ids collide, never make a secret guessable (secrets are not made here).
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

/// `N` random bytes (ids and shard choices, never secrets: see [`random_hex`]).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    let _ = getrandom::fill(&mut b);
    b
}

/// A random (version 4) UUID.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_are_version_4_and_distinct() {
        let (a, b) = (super::uuid_v4(), super::uuid_v4());
        assert_ne!(a, b);
        assert_eq!((a.len(), &a[14..15]), (36, "4"));
        assert_eq!(super::random_hex(4).len(), 8);
    }
}
