//! Base64 as the Engine API uses it: standard (RFC 4648) for `X-Docker-Container-Path-Stat`
//! and config.json's `auth`, URL-safe for `X-Registry-Auth` and `X-Registry-Config`. Padding
//! is written, and optional when read, as docker's clients differ.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, Engine as _, GeneralPurpose, GeneralPurposeConfig};

const READ: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, READ);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, READ);

pub fn encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decodes standard base64; padding is optional, anything outside the alphabet an error.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    STANDARD.decode(text.trim()).map_err(|e| e.to_string())
}

pub fn encode_url_safe(data: &[u8]) -> String {
    URL_SAFE.encode(data)
}

/// Decodes URL-safe base64, or standard base64 (older clients sent that).
pub fn decode_either(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    URL_SAFE
        .decode(text)
        .or_else(|_| STANDARD.decode(text))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_rfc_4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
            assert_eq!(
                decode(coded.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
        assert!(decode("a$b").is_err());
        assert_eq!(
            decode_either(&encode_url_safe(b"\xfb\xff")).unwrap(),
            b"\xfb\xff"
        );
        assert_eq!(decode_either(&encode(b"\xfb\xff")).unwrap(), b"\xfb\xff");
    }
}
