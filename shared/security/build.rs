//! Makes the dummy argon2id hash an unknown username is verified against, once per build: the OWASP parameters
//! (m = 19456 KiB, t = 2, p = 1) with a random salt and a random output, so verifying any password against it costs
//! exactly one real verification and matches none (a 256-bit output no password is known to produce). Made here,
//! not at start, so a login function's init hashes nothing (Lambda bills the init).

use std::io::Write as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut bytes = [0u8; 48];
    getrandom::fill(&mut bytes).map_err(|e| format!("the OS random generator: {e}"))?;
    // PHC strings use standard base64 without padding.
    let b64 = |b: &[u8]| {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x)) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    };
    let phc = format!("$argon2id$v=19$m=19456,t=2,p=1${}${}", b64(&bytes[..16]), b64(&bytes[16..]));
    let out = std::path::Path::new(&std::env::var("OUT_DIR")?).join("dummy_hash.rs");
    let mut file = std::fs::File::create(out)?;
    writeln!(file, "/// The dummy argon2id hash of this build (build.rs).\npub const DUMMY_HASH: &str = {phc:?};")?;
    Ok(())
}
