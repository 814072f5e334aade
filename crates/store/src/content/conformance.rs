//! The content store conformance suite: the behaviour every [`ContentStore`] must have.
//! Each implementation's tests call [`run_all`] with a constructor over an empty directory.

use std::io::{Read, Write};
use std::path::Path;

use super::{ContentError, ContentStore, Expected};
use crate::Digest;

type Make<'a> = &'a dyn Fn(&Path) -> Box<dyn ContentStore>;
type Check = fn(&dyn ContentStore);

/// Runs every check, each on a fresh store in its own temporary directory.
pub fn run_all(make: Make<'_>) {
    let checks: [(&str, Check); 8] = [
        ("put_then_read", put_then_read),
        ("streamed_ingest", streamed_ingest),
        (
            "digest_mismatch_publishes_nothing",
            digest_mismatch_publishes_nothing,
        ),
        (
            "size_mismatch_publishes_nothing",
            size_mismatch_publishes_nothing,
        ),
        (
            "abandoned_ingest_publishes_nothing",
            abandoned_ingest_publishes_nothing,
        ),
        (
            "duplicate_commit_is_idempotent",
            duplicate_commit_is_idempotent,
        ),
        ("delete_and_missing", delete_and_missing),
        ("read_all_limit", read_all_limit),
    ];
    for (name, check) in checks {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = make(dir.path());
        eprintln!("content store conformance: {name}");
        check(store.as_ref());
    }
}

fn put_then_read(s: &dyn ContentStore) {
    let info = s.put(b"hello", &Expected::default()).expect("put");
    assert_eq!(info.digest, Digest::sha256(b"hello"));
    assert_eq!(info.size, 5);
    assert!(s.exists(&info.digest));
    assert_eq!(s.info(&info.digest).expect("info"), info);
    let mut buf = String::new();
    s.open(&info.digest)
        .expect("open")
        .read_to_string(&mut buf)
        .expect("read");
    assert_eq!(buf, "hello");
    assert_eq!(s.list().expect("list"), vec![info]);
    s.sync().expect("sync");
}

fn streamed_ingest(s: &dyn ContentStore) {
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut w = s.ingest().expect("ingest");
    for chunk in data.chunks(65_537) {
        w.write_all(chunk).expect("write");
    }
    assert_eq!(w.written(), data.len() as u64);
    let d = Digest::sha256(&data);
    let info = w
        .commit(&Expected::exact(&d, data.len() as u64))
        .expect("commit");
    assert_eq!(info.digest, d);
    assert_eq!(s.read_all(&d, u64::MAX).expect("read"), data);
}

fn digest_mismatch_publishes_nothing(s: &dyn ContentStore) {
    let wrong = Digest::sha256(b"something else");
    match s.put(b"payload", &Expected::digest(&wrong)) {
        Err(ContentError::DigestMismatch { expected, actual }) => {
            assert_eq!(expected, wrong);
            assert_eq!(actual, Digest::sha256(b"payload"));
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert!(!s.exists(&Digest::sha256(b"payload")));
    assert!(s.list().expect("list").is_empty());
}

fn size_mismatch_publishes_nothing(s: &dyn ContentStore) {
    let d = Digest::sha256(b"payload");
    assert!(matches!(
        s.put(b"payload", &Expected::exact(&d, 3)),
        Err(ContentError::SizeMismatch { .. })
    ));
    assert!(!s.exists(&d));
}

fn abandoned_ingest_publishes_nothing(s: &dyn ContentStore) {
    let mut w = s.ingest().expect("ingest");
    w.write_all(b"partial").expect("write");
    drop(w);
    assert!(s.list().expect("list").is_empty());
}

fn duplicate_commit_is_idempotent(s: &dyn ContentStore) {
    let a = s.put(b"same", &Expected::default()).expect("first");
    let b = s.put(b"same", &Expected::default()).expect("second");
    assert_eq!(a, b);
    assert_eq!(s.list().expect("list").len(), 1);
}

fn delete_and_missing(s: &dyn ContentStore) {
    let info = s.put(b"gone soon", &Expected::default()).expect("put");
    assert!(s.delete(&info.digest).expect("delete"));
    assert!(!s.delete(&info.digest).expect("second delete"));
    assert!(matches!(
        s.info(&info.digest),
        Err(ContentError::NotFound(_))
    ));
    assert!(matches!(
        s.open(&info.digest).map(|_| ()),
        Err(ContentError::NotFound(_))
    ));
}

fn read_all_limit(s: &dyn ContentStore) {
    let info = s.put(&[7u8; 100], &Expected::default()).expect("put");
    assert!(matches!(
        s.read_all(&info.digest, 99),
        Err(ContentError::TooLarge { .. })
    ));
    assert_eq!(s.read_all(&info.digest, 100).expect("read").len(), 100);
}
