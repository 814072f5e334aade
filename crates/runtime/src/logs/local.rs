//! The `local` driver's record: a compact binary frame only Berth reads back.
//!
//! ```text
//! offset 0       u32 LE   N, the payload length
//!        4       u8       stream: 1 stdout, 2 stderr
//!        5       u8       flags: bit 0 = partial line
//!        6       i64 LE   time, nanoseconds since the Unix epoch
//!        14      N bytes  the line, without its newline
//!        14+N    u32 LE   N again
//! ```
//!
//! The trailing copy of the length lets `--tail` walk a file backwards, and together with
//! the small set of valid stream and flag values it lets a reader recognise a torn or
//! garbage frame and resynchronise on the next good one.

use chrono::{DateTime, Utc};

use super::{LogEntry, Stream};

/// Bytes before the payload.
pub(crate) const HEADER: usize = 14;
/// Bytes around the payload.
pub(crate) const OVERHEAD: usize = HEADER + 4;
/// The largest payload a reader accepts. Berth writes at most 16 KiB; the margin lets the
/// line limit grow without making old readers call new files corrupt, while keeping a
/// garbage length from making a reader buffer gigabytes.
pub(crate) const MAX_PAYLOAD: usize = 1 << 20;

const FLAG_PARTIAL: u8 = 1;

fn stream_code(s: Stream) -> u8 {
    match s {
        Stream::Stdout => 1,
        Stream::Stderr => 2,
    }
}

/// Appends one frame to `out`.
pub(crate) fn encode(
    out: &mut Vec<u8>,
    stream: Stream,
    line: &[u8],
    partial: bool,
    time: &DateTime<Utc>,
) {
    // Lines are at most 16 KiB, far below u32::MAX; saturate rather than wrap regardless.
    let len = u32::try_from(line.len()).unwrap_or(u32::MAX).to_le_bytes();
    // Out-of-range times (before 1677 or after 2262) clamp to the representable ends.
    let nanos = time
        .timestamp_nanos_opt()
        .unwrap_or(if time.timestamp() < 0 {
            i64::MIN
        } else {
            i64::MAX
        });
    out.extend_from_slice(&len);
    out.push(stream_code(stream));
    out.push(if partial { FLAG_PARTIAL } else { 0 });
    out.extend_from_slice(&nanos.to_le_bytes());
    out.extend_from_slice(line);
    out.extend_from_slice(&len);
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(bytes)).ok()
}

/// The payload length announced by a header at the start of `b`, if the header is
/// plausible (known stream and flags, length within bounds). `b` needs [`HEADER`] bytes.
pub(crate) fn header_len(b: &[u8]) -> Option<usize> {
    let n = u32_at(b, 0)?;
    let stream = *b.get(4)?;
    let flags = *b.get(5)?;
    (n <= MAX_PAYLOAD && (stream == 1 || stream == 2) && flags & !FLAG_PARTIAL == 0).then_some(n)
}

/// What the start of a buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A complete, consistent frame of this many bytes.
    Complete(usize),
    /// A plausible header whose frame needs this many bytes in all.
    NeedMore(usize),
    /// Not the start of a frame.
    Invalid,
}

/// Examines the frame at the start of `b`.
pub(crate) fn check(b: &[u8]) -> Frame {
    if b.len() < HEADER {
        // Reject early what can already be seen to be wrong, so garbage is not waited on.
        if b.len() >= 6 && header_len(b).is_none() {
            return Frame::Invalid;
        }
        return Frame::NeedMore(HEADER.max(b.len() + 1));
    }
    let Some(n) = header_len(b) else {
        return Frame::Invalid;
    };
    let total = n + OVERHEAD;
    if b.len() < total {
        return Frame::NeedMore(total);
    }
    if u32_at(b, HEADER + n) == Some(n) {
        Frame::Complete(total)
    } else {
        Frame::Invalid
    }
}

/// The length of the frame ending at the end of `b`, read from its trailer, if plausible.
pub(crate) fn trailer_len(b: &[u8]) -> Option<usize> {
    let n = u32_at(b, b.len().checked_sub(4)?)?;
    (n <= MAX_PAYLOAD).then_some(n + OVERHEAD)
}

/// Decodes a frame that [`check`] found complete.
pub(crate) fn decode(frame: &[u8]) -> Option<LogEntry> {
    let n = header_len(frame)?;
    let stream = if frame[4] == 1 {
        Stream::Stdout
    } else {
        Stream::Stderr
    };
    let partial = frame[5] & FLAG_PARTIAL != 0;
    let nanos = i64::from_le_bytes(frame.get(6..14)?.try_into().ok()?);
    let payload = frame.get(HEADER..HEADER + n)?;
    let mut line = Vec::with_capacity(payload.len() + 1);
    line.extend_from_slice(payload);
    if !partial {
        line.push(b'\n');
    }
    Some(LogEntry {
        stream,
        time: DateTime::from_timestamp_nanos(nanos),
        line,
        partial,
        attrs: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trip() {
        let t = Utc.timestamp_opt(1_700_000_000, 42).unwrap();
        let mut out = Vec::new();
        encode(&mut out, Stream::Stderr, b"hello", false, &t);
        encode(&mut out, Stream::Stdout, b"part", true, &t);
        assert_eq!(out.len(), 2 * OVERHEAD + 9);
        assert_eq!(check(&out), Frame::Complete(OVERHEAD + 5));
        let e = decode(&out[..OVERHEAD + 5]).unwrap();
        assert_eq!((e.stream, e.time, e.partial), (Stream::Stderr, t, false));
        assert_eq!(e.line, b"hello\n");
        assert_eq!(trailer_len(&out), Some(OVERHEAD + 4));
        let e = decode(&out[OVERHEAD + 5..]).unwrap();
        assert_eq!(
            (e.stream, e.partial, e.line.as_slice()),
            (Stream::Stdout, true, &b"part"[..])
        );
    }

    #[test]
    fn torn_and_garbage_frames() {
        let t = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let mut out = Vec::new();
        encode(&mut out, Stream::Stdout, b"hello", false, &t);
        assert_eq!(check(&out[..3]), Frame::NeedMore(HEADER));
        assert_eq!(check(&out[..20]), Frame::NeedMore(OVERHEAD + 5));
        let mut bad = out.clone();
        bad[4] = 9;
        assert_eq!(check(&bad), Frame::Invalid);
        assert_eq!(check(&bad[..8]), Frame::Invalid);
        let mut bad = out.clone();
        let last = bad.len() - 1;
        bad[last] = 1;
        assert_eq!(check(&bad), Frame::Invalid);
        assert_eq!(check(&[0xff; 40]), Frame::Invalid);
        assert_eq!(trailer_len(&[0xff; 4]), None);
        assert_eq!(trailer_len(&[1, 2]), None);
        assert!(decode(&[0xff; 3]).is_none());
    }
}
