//! Docker's reference test vectors, ported.
use super::*;

const H: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
const REDIS: &str = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";

fn normalized(s: &str) -> Reference {
    Reference::parse_normalized(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// (input, fully qualified, familiar string, domain, path)
#[test]
fn normalizes_like_docker() {
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (
            "busybox",
            "docker.io/library/busybox",
            "busybox",
            "docker.io",
            "library/busybox",
        ),
        (
            "debian",
            "docker.io/library/debian",
            "debian",
            "docker.io",
            "library/debian",
        ),
        (
            "library/debian",
            "docker.io/library/debian",
            "debian",
            "docker.io",
            "library/debian",
        ),
        (
            "docker.io/debian",
            "docker.io/library/debian",
            "debian",
            "docker.io",
            "library/debian",
        ),
        (
            "docker.io/library/debian",
            "docker.io/library/debian",
            "debian",
            "docker.io",
            "library/debian",
        ),
        (
            "index.docker.io/debian",
            "docker.io/library/debian",
            "debian",
            "docker.io",
            "library/debian",
        ),
        (
            "index.docker.io/library/debian",
            "docker.io/library/debian",
            "debian",
            "docker.io",
            "library/debian",
        ),
        (
            "index.docker.io/docker/docker",
            "docker.io/docker/docker",
            "docker/docker",
            "docker.io",
            "docker/docker",
        ),
        (
            "docker/docker",
            "docker.io/docker/docker",
            "docker/docker",
            "docker.io",
            "docker/docker",
        ),
        (
            "fooo/bar",
            "docker.io/fooo/bar",
            "fooo/bar",
            "docker.io",
            "fooo/bar",
        ),
        (
            "other/library",
            "docker.io/other/library",
            "other/library",
            "docker.io",
            "other/library",
        ),
        (
            "library/foo/bar",
            "docker.io/library/foo/bar",
            "library/foo/bar",
            "docker.io",
            "library/foo/bar",
        ),
        (
            "store/foo/bar",
            "docker.io/store/foo/bar",
            "store/foo/bar",
            "docker.io",
            "store/foo/bar",
        ),
        (
            "ubuntu-12.04-base",
            "docker.io/library/ubuntu-12.04-base",
            "ubuntu-12.04-base",
            "docker.io",
            "library/ubuntu-12.04-base",
        ),
        (
            "test_com/foo",
            "docker.io/test_com/foo",
            "test_com/foo",
            "docker.io",
            "test_com/foo",
        ),
        (
            "docker-rules/docker",
            "docker.io/docker-rules/docker",
            "docker-rules/docker",
            "docker.io",
            "docker-rules/docker",
        ),
        (
            "docker---rules/docker",
            "docker.io/docker---rules/docker",
            "docker---rules/docker",
            "docker.io",
            "docker---rules/docker",
        ),
        (
            "dock__er/docker",
            "docker.io/dock__er/docker",
            "dock__er/docker",
            "docker.io",
            "dock__er/docker",
        ),
        (
            "d/docker",
            "docker.io/d/docker",
            "d/docker",
            "docker.io",
            "d/docker",
        ),
        (
            "jess/t",
            "docker.io/jess/t",
            "jess/t",
            "docker.io",
            "jess/t",
        ),
        (
            "127.0.0.1:5000/debian",
            "127.0.0.1:5000/debian",
            "127.0.0.1:5000/debian",
            "127.0.0.1:5000",
            "debian",
        ),
        (
            "127.0.0.1:8000/private/moonbase",
            "127.0.0.1:8000/private/moonbase",
            "127.0.0.1:8000/private/moonbase",
            "127.0.0.1:8000",
            "private/moonbase",
        ),
        (
            "example.com/privatebase",
            "example.com/privatebase",
            "example.com/privatebase",
            "example.com",
            "privatebase",
        ),
        (
            "example.com:8000/private/moonbase",
            "example.com:8000/private/moonbase",
            "example.com:8000/private/moonbase",
            "example.com:8000",
            "private/moonbase",
        ),
        (
            "test-com:8080/foo",
            "test-com:8080/foo",
            "test-com:8080/foo",
            "test-com:8080",
            "foo",
        ),
        (
            "xn--n3h.com:18080/foo",
            "xn--n3h.com:18080/foo",
            "xn--n3h.com:18080/foo",
            "xn--n3h.com:18080",
            "foo",
        ),
        (
            "localhost/foo",
            "localhost/foo",
            "localhost/foo",
            "localhost",
            "foo",
        ),
        (
            "localhost:5000/a/b:t",
            "localhost:5000/a/b:t",
            "localhost:5000/a/b:t",
            "localhost:5000",
            "a/b",
        ),
        (
            "localhost",
            "docker.io/library/localhost",
            "localhost",
            "docker.io",
            "library/localhost",
        ),
        (
            "localhost:5000",
            "docker.io/library/localhost:5000",
            "localhost:5000",
            "docker.io",
            "library/localhost",
        ),
        (
            "192.168.0.1",
            "docker.io/library/192.168.0.1",
            "192.168.0.1",
            "docker.io",
            "library/192.168.0.1",
        ),
        (
            "192.168.0.1:80",
            "docker.io/library/192.168.0.1:80",
            "192.168.0.1:80",
            "docker.io",
            "library/192.168.0.1",
        ),
        (
            "[fc00::1]:5000/docker",
            "[fc00::1]:5000/docker",
            "[fc00::1]:5000/docker",
            "[fc00::1]:5000",
            "docker",
        ),
        (
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "[fc00:1:2:3:4:5:6:7]:5000",
            "library/debian",
        ),
        (
            "[::1]/repo:tag",
            "[::1]/repo:tag",
            "[::1]/repo:tag",
            "[::1]",
            "repo",
        ),
        (
            "Docker/docker",
            "Docker/docker",
            "Docker/docker",
            "Docker",
            "docker",
        ),
        ("FOO/bar", "FOO/bar", "FOO/bar", "FOO", "bar"),
        (
            "foo_bar.com/app",
            "foo_bar.com/app",
            "foo_bar.com/app",
            "",
            "foo_bar.com/app",
        ),
        (
            "redis:latest",
            "docker.io/library/redis:latest",
            "redis:latest",
            "docker.io",
            "library/redis",
        ),
        (
            "user/app:1",
            "docker.io/user/app:1",
            "user/app:1",
            "docker.io",
            "user/app",
        ),
        (
            "lowercase:Uppercase",
            "docker.io/library/lowercase:Uppercase",
            "lowercase:Uppercase",
            "docker.io",
            "library/lowercase",
        ),
        (
            "foo/foo_bar.com:8080",
            "docker.io/foo/foo_bar.com:8080",
            "foo/foo_bar.com:8080",
            "docker.io",
            "foo/foo_bar.com",
        ),
        (
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "b.gcr.io",
            "test.example.com/my-app",
        ),
        (
            "registry.io/foo/project--id.module--name.ver---sion--name",
            "registry.io/foo/project--id.module--name.ver---sion--name",
            "registry.io/foo/project--id.module--name.ver---sion--name",
            "registry.io",
            "foo/project--id.module--name.ver---sion--name",
        ),
        (
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "docker.io",
            "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        ),
        (
            "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
            "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
            "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
            "docker.io",
            "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
        ),
    ];
    for &(input, full, familiar, domain, path) in cases {
        let r = normalized(input);
        assert_eq!(r.to_string(), full, "{input}");
        assert_eq!(r.familiar_string(), familiar, "{input}");
        assert_eq!((r.domain(), r.path()), (domain, path), "{input}");
        let name = if domain.is_empty() {
            path.to_string()
        } else {
            format!("{domain}/{path}")
        };
        assert_eq!(r.name(), name, "{input}");
        // The qualified and the familiar forms both read back as the same reference.
        assert_eq!(normalized(full), r, "{full}");
        assert_eq!(normalized(familiar), r, "{familiar}");
    }
}

#[test]
fn familiar_names() {
    for (input, name) in [
        ("docker.io/library/redis", "redis"),
        ("docker.io/dmcgowan/myapp", "dmcgowan/myapp"),
        ("docker.io/library/foo/bar", "library/foo/bar"),
        ("localhost:5000/a/b:t", "localhost:5000/a/b"),
        ("gcr.io/library/busybox", "gcr.io/library/busybox"),
    ] {
        assert_eq!(normalized(input).familiar_name(), name, "{input}");
    }
}

#[test]
fn tags_and_digests() {
    let dg = format!("sha256:{H}");
    let r = normalized(&format!("busybox:latest@{dg}"));
    assert_eq!(
        r.to_string(),
        format!("docker.io/library/busybox:latest@{dg}")
    );
    assert_eq!(r.familiar_string(), format!("busybox:latest@{dg}"));
    assert_eq!(
        (r.tag(), r.digest().map(ToString::to_string)),
        (Some("latest"), Some(dg.clone()))
    );
    let r = normalized(&format!("test:5000/repo:tag@{dg}"));
    assert_eq!(
        (r.domain(), r.path(), r.tag()),
        ("test:5000", "repo", Some("tag"))
    );
    let r = normalized(&format!("[2001:db8::1]:5000/repo@{dg}"));
    assert_eq!(
        (r.domain(), r.tag(), r.digest().is_some()),
        ("[2001:db8::1]:5000", None, true)
    );
    // A bare "localhost:8080" is a name and a tag, not a registry.
    let r = normalized(&format!("localhost:8080@{dg}"));
    assert_eq!((r.path(), r.tag()), ("library/localhost", Some("8080")));
    let sha512 = format!("xn--7o8h.com/myimage:xn--7o8h.com@sha512:{H}{H}");
    let r = normalized(&sha512);
    assert_eq!(
        (r.domain(), r.tag()),
        ("xn--7o8h.com", Some("xn--7o8h.com"))
    );
    assert_eq!(r.to_string(), sha512);
}

#[test]
#[rustfmt::skip]
fn rejects_like_docker() {
    let invalid_format = [
        "", ":justtag", &format!("@sha256:{H}"), "https://github.com/docker/docker", "-docker",
        "-docker/docker", "-docker.io/docker/docker", "docker-/docker", "-docker-/docker",
        "docker///docker", "docker.io/docker///docker", "____/____", "_docker/_docker",
        "dock..er/docker", "dock_.er/docker", "dock-.er/docker", "example.com/__underscore/x",
        "example.com/.dots/x", "docker/", "foo.com:http/bar", "foo_bar.com:8080/app",
        "aa/asdf$$^/aa", "registry.com:8080/myapp:invalid~tag", &format!("foo:{}", "a".repeat(129)),
        "[fc00::1]", "[fc00::1]:5000", "[2001:db8::1]:tag", "fc00::1:5000/debian",
        "[fe80::1%eth0]:5000/debian", "[2001:db8:3:4::192.0.2.33]:5000/debian",
        "registry.com:8080/myapp@sha256:badbadbadbad",
    ];
    for input in invalid_format {
        assert_eq!(Reference::parse_normalized(input), Err(ReferenceError::InvalidFormat), "{input:?}");
    }
    let too_long = "repository name must not be more than 255 characters";
    let cases: Vec<(String, &str)> = vec![
        ("Busybox".into(), "invalid reference format: repository name (library/Busybox) must be lowercase"),
        ("Uppercase:tag".into(), "invalid reference format: repository name (library/Uppercase) must be lowercase"),
        ("docker/Docker".into(), "invalid reference format: repository name (docker/Docker) must be lowercase"),
        ("docker.io/docker/Docker".into(), "invalid reference format: repository name (docker/Docker) must be lowercase"),
        ("test:5000/Uppercase/lowercase:tag".into(), "invalid reference format: repository name (Uppercase/lowercase) must be lowercase"),
        // Docker checks everything before the first ':', digest algorithm included.
        (format!("foo@Sha256:{H}"), "invalid reference format: repository name (library/foo@Sha256) must be lowercase"),
        // An uppercase first component is taken as a host; invalid as one, it is reported so.
        ("Foo_Bar/x".into(), "repository name must be lowercase"),
        (REDIS.into(), "invalid repository name (dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c), cannot specify 64-byte hexadecimal strings"),
        // Without a domain the whole string is the path.
        ("a/".repeat(128) + "a", too_long),
        ("x".repeat(248), too_long), // "library/" makes it 256
        (format!("this_is_not_a_valid_namespace_because_its_length_is_{}/docker", "x".repeat(200)), too_long),
        (format!("repo@sha256:{}", &H[..34]), "invalid checksum digest length"),
        (format!("repo@sha256:{}", H.to_uppercase()), "invalid checksum digest format"),
        // With a tag the case check stops at the ':', so the digest itself is judged.
        (format!("repo:t@SHA256:{H}"), "invalid checksum digest format"),
        (format!("validname@invaliddigest:{H}"), "unsupported digest algorithm"),
        (format!("repo@sha384:{H}{}", &H[..32]), "unsupported digest algorithm"),
    ];
    for (input, message) in &cases {
        match Reference::parse_normalized(input) {
            Ok(r) => panic!("{input:?} accepted as {r}"),
            Err(e) => assert_eq!(e.to_string(), *message, "{input:?}"),
        }
    }
    // The path alone is limited; the domain does not count.
    assert_eq!(normalized(&format!("a.com/{}", "a/".repeat(127) + "a")).path().len(), 255);
    assert_eq!(normalized(&"x".repeat(247)).path().len(), 255);
}

#[test]
#[rustfmt::skip]
fn strict_parse_matches_docker_vectors() {
    let dg = format!("sha256:{H}");
    // (input, domain, path, tag, has digest)
    let ok: Vec<(String, &str, String, Option<&str>, bool)> = vec![
        ("test_com".into(), "", "test_com".into(), None, false),
        ("test.com:tag".into(), "", "test.com".into(), Some("tag"), false),
        ("test.com:5000".into(), "", "test.com".into(), Some("5000"), false),
        ("test:5000/repo".into(), "test:5000", "repo".into(), None, false),
        (format!("test:5000/repo:tag@{dg}"), "test:5000", "repo".into(), Some("tag"), true),
        ("192.168.1.1:5000/repo:5050".into(), "192.168.1.1:5000", "repo".into(), Some("5050"), false),
        ("[2001:db8::]:5000/repo".into(), "[2001:db8::]:5000", "repo".into(), None, false),
        ("sub-dom1.foo.com/bar/baz/quux:t".into(), "sub-dom1.foo.com", "bar/baz/quux".into(), Some("t"), false),
        // 257 characters in all, but the 255-character limit applies to the path only.
        ("a/".repeat(128) + "a", "a", "a/".repeat(127) + "a", None, false),
    ];
    for (input, domain, path, tag, digest) in &ok {
        let r = parse_strict(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.to_string(), *input);
        assert_eq!((r.domain(), r.path(), r.tag()), (*domain, path.as_str(), *tag), "{input}");
        assert_eq!(r.digest().is_some(), *digest, "{input}");
    }
    for (input, err) in [
        ("Uppercase:tag", ReferenceError::NameContainsUppercase),
        ("test:5000/Uppercase/lowercase:tag", ReferenceError::NameContainsUppercase),
        ("[2001:db8::1]:5000", ReferenceError::InvalidFormat),
        ("[fe80::1%@invalidzone]:5000/repo", ReferenceError::InvalidFormat),
    ] {
        assert_eq!(parse_strict(input), Err(err), "{input}");
    }
    assert_eq!(parse_strict(&("b/".repeat(128) + "aa")), Err(ReferenceError::NameTooLong));
}

#[test]
#[rustfmt::skip]
fn grammar_pieces() {
    for (input, matches) in [
        ("test.com", true), ("test.com:10304", true), ("test.com:http", false),
        ("localhost:8080", true), ("a", true), ("a-b.com", true), ("-ab.com", false),
        ("ab-.com", false), ("ab.c-om", true), ("ab.-com", false), ("ab.com-", false),
        ("0101.com", true), ("Asdf.com", true), ("192.168.1.1:750050", true),
        ("[fd00:1:2::3]:75050", true), ("[fd00:1:2::3]75050", false),
        ("[fd00:1:2::3]::75050", false), ("[fd00:1:2::3%eth0]:75050", false),
        ("[fd00123123123]:75050", true), ("fd00:1:2::3:75050", false), ("[]", false),
    ] {
        assert_eq!(is_domain_and_port(input), matches, "domain {input}");
    }
    for (input, split) in [
        ("short", Some(("", "short"))), ("docker/stevvooe/app", Some(("docker", "stevvooe/app"))),
        ("a/a/a/a/", None), ("a//a/a", None), ("foo.com/", None),
        ("localhost:8080/bar", Some(("localhost:8080", "bar"))), ("a^a", None),
        ("do__cker/docker", Some(("", "do__cker/docker"))), ("do__cker:8080/docker", None),
        ("Asdf.com/foo/bar", Some(("Asdf.com", "foo/bar"))), ("Foo/FarB", None),
        ("foo/bar-", None), ("foo/-bar", None), ("docker./docker", None),
    ] {
        assert_eq!(split_name(input), split, "name {input}");
    }
    for (tag, valid) in [
        ("latest", true), ("TAG5", true), ("_x", true), ("1.0-rc.1", true), (".x", false),
        ("-foo", false), ("", false), ("a:b", false), ("a/b", false), ("é", false),
    ] {
        assert_eq!(validate_tag(tag).is_ok(), valid, "tag {tag}");
    }
    assert!(validate_tag(&"a".repeat(128)).is_ok());
    assert_eq!(validate_tag(&"a".repeat(129)), Err(ReferenceError::InvalidTag));
}

#[test]
#[rustfmt::skip]
fn docker_ref_adds_latest_and_prefers_digest() {
    let dg = format!("sha256:{H}");
    for (input, expected) in [
        ("busybox".to_string(), "docker.io/library/busybox:latest".to_string()),
        ("busybox:latest".into(), "docker.io/library/busybox:latest".into()),
        ("library/busybox".into(), "docker.io/library/busybox:latest".into()),
        ("docker.io/busybox:latest".into(), "docker.io/library/busybox:latest".into()),
        ("gcr.io/library/busybox".into(), "gcr.io/library/busybox:latest".into()),
        (format!("busybox@{dg}"), format!("docker.io/library/busybox@{dg}")),
        (format!("gcr.io/library/busybox:latest@{dg}"), format!("gcr.io/library/busybox@{dg}")),
    ] {
        let r = Reference::parse_docker_ref(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.to_string(), expected, "{input}");
    }
}

#[test]
#[rustfmt::skip]
fn parse_any_tells_ids_from_names() {
    let id = Digest::from_sha256_hex(REDIS).unwrap();
    assert_eq!(parse_any(REDIS), Ok(ImageRef::Id(id.clone())));
    assert_eq!(parse_any(&format!("sha256:{REDIS}")), Ok(ImageRef::Id(id.clone())));
    assert_eq!(parse_any(REDIS).unwrap().to_string(), id.to_string());
    let short = format!("docker.io/library/{}", &REDIS[..63]);
    for (input, name) in [
        ("redis", "docker.io/library/redis"),
        ("dbcc1", "docker.io/library/dbcc1"),
        (&REDIS[..63], short.as_str()),
        ("dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest"),
        ("sha256:abcd", "docker.io/library/sha256:abcd"),
    ] {
        assert_eq!(parse_any(input).unwrap().to_string(), name, "{input}");
    }
    assert!(parse_any("Busybox").is_err());
    assert_eq!(id_prefix("sha256:dbcc1"), Some("dbcc1"));
    assert_eq!(id_prefix(REDIS), Some(REDIS));
    let too_long = format!("{REDIS}0");
    for bad in ["abc", "sha256:abc", "DBCC1", "dbcc1-x", "", "sha256:", too_long.as_str()] {
        assert!(!is_id_prefix_candidate(bad), "{bad}");
    }
}

#[test]
fn builders() {
    let dg = Digest::sha256(b"x");
    let r = normalized("localhost:5000/a/b:t");
    let pinned = r.with_digest(dg.clone());
    assert_eq!(pinned.to_string(), format!("localhost:5000/a/b@{dg}"));
    let retagged = pinned.with_tag("v2").unwrap();
    assert_eq!((retagged.tag(), retagged.digest()), (Some("v2"), None));
    assert_eq!(r.with_tag("-bad"), Err(ReferenceError::InvalidTag));
    assert_eq!(r.name_only().to_string(), "localhost:5000/a/b");
    assert!(r.name_only().is_name_only());
    assert_eq!(r.name_only().tag_name_only().tag(), Some("latest"));
    assert_eq!(pinned.clone().tag_name_only(), pinned);
    assert_eq!(
        "busybox".parse::<Reference>(),
        Ok(normalized("docker.io/library/busybox"))
    );
}

#[test]
fn serde_uses_the_qualified_string() {
    let r = normalized("busybox:1");
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(json, "\"docker.io/library/busybox:1\"");
    assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), r);
    assert!(serde_json::from_str::<Reference>("\"Busybox\"").is_err());
}

#[test]
#[rustfmt::skip]
fn odd_inputs_never_panic() {
    let long = "a".repeat(100_000);
    let all_long = format!("{long}:{long}@{long}");
    let (slashes, seps) = ("/".repeat(1000), "@:".repeat(1000));
    let inputs = [
        "", ":", "@", "/", "a:", "a@", "@a", ":a", "a/", "/a", "a//b", "[", "]", "[]", "[:",
        "[]/a", "[::1", "[::1]:", "[::1]:/a", "a:@", "a@:", "a@sha256:", "a:b:c", "a@b@c",
        "::::", "é", "ü/ñ", "İ.com/foo", "\u{212a}/x", "日本/語:タグ", "a\0b", "a b", "\n", "..",
        ".", "-", "_", &long, &all_long, &slashes, &seps,
    ];
    for input in inputs {
        let _ = Reference::parse_normalized(input);
        let _ = Reference::parse_docker_ref(input);
        let _ = parse_any(input);
        let _ = validate_tag(input);
        let _ = is_id_prefix_candidate(input);
    }
    // Go lowercases 'İ' to a plain 'i', which makes this a valid name but for its case.
    assert_eq!(Reference::parse_normalized("İ.com/foo"), Err(ReferenceError::NameContainsUppercase));
}
