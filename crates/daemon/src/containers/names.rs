//! Container names: validation, and the `adjective_surname` names docker gives containers
//! created without one.

/// docker's rule: `/?[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid(name: &str) -> bool {
    let name = name.strip_prefix('/').unwrap_or(name);
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    first_ok
        && name.len() >= 2
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

const ADJECTIVES: [&str; 48] = [
    "amazing", "bold", "brave", "busy", "calm", "clever", "cool", "crisp", "daring", "eager",
    "elated", "epic", "fervent", "festive", "fond", "gallant", "gentle", "happy", "hardy", "jolly",
    "keen", "kind", "lively", "loving", "lucid", "merry", "mighty", "modest", "nifty", "noble",
    "patient", "peaceful", "proud", "quick", "quiet", "serene", "sharp", "steady", "sturdy",
    "sunny", "swift", "tender", "trusty", "upbeat", "vibrant", "wise", "witty", "zealous",
];

/// Scientists, engineers and explorers.
const SURNAMES: [&str; 48] = [
    "agnesi", "babbage", "bohr", "boole", "cannon", "carson", "curie", "darwin", "dijkstra",
    "einstein", "euler", "faraday", "fermi", "franklin", "galileo", "gauss", "goodall", "hamilton",
    "hawking", "hopper", "hypatia", "jackson", "johnson", "kepler", "knuth", "lamarr", "lovelace",
    "maxwell", "meitner", "mendel", "morse", "nash", "newton", "noether", "pasteur", "perlman",
    "ride", "ritchie", "sagan", "shannon", "tesla", "thompson", "torvalds", "turing", "volta",
    "wilson", "wozniak", "yalow",
];

/// A random `adjective_surname`; `attempt` > 0 appends a digit, as docker does after
/// collisions.
pub fn generate(attempt: u32) -> String {
    let mut bytes = [0u8; 2];
    let _ = getrandom::fill(&mut bytes);
    let name = format!(
        "{}_{}",
        ADJECTIVES[bytes[0] as usize % ADJECTIVES.len()],
        SURNAMES[bytes[1] as usize % SURNAMES.len()]
    );
    if attempt == 0 {
        name
    } else {
        let mut d = [0u8; 1];
        let _ = getrandom::fill(&mut d);
        format!("{name}{}", d[0] % 10)
    }
}

/// A new container ID: 64 hex characters whose 12-character short form is not all digits
/// (docker's rule, so a short ID is never mistaken for a number).
pub fn new_id() -> String {
    loop {
        let mut bytes = [0u8; 32];
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            bytes[..16].copy_from_slice(&nanos.to_le_bytes());
        }
        let id = hex::encode(bytes);
        if !id[..12].bytes().all(|b| b.is_ascii_digit()) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        for ok in ["web", "/web", "a1", "my_app.v2-test"] {
            assert!(valid(ok), "{ok}");
        }
        for bad in ["", "a", "/", "-web", "_web", "we b", "web/x", "wéb"] {
            assert!(!valid(bad), "{bad}");
        }
        assert!(valid(&generate(0)));
        assert!(valid(&generate(3)));
    }

    #[test]
    fn ids_are_64_hex() {
        let id = new_id();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
