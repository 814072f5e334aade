//! Where a build's files come from: `.dockerignore`, `-f` outside the context, a Dockerfile on
//! STDIN, a context tar from a URL, and ADD of URLs with `--checksum`.

use super::*;

#[test]
fn contexts_from_dockerignore_other_files_and_stdin() {
    let d = Daemon::with_busybox();
    let dir = context(
        &d,
        "ignored",
        &[
            (
                "Dockerfile",
                "FROM busybox\nCOPY . /ctx\nRUN find /ctx -type f | sort > /files\n",
            ),
            (".dockerignore", "logs\n*.tmp\n!keep.tmp\n"),
            ("logs/a.log", "x"),
            ("skip.tmp", "x"),
            ("keep.tmp", "x"),
            ("src/main.c", "x"),
        ],
    );
    let r = build(&d, &dir, &["-t", "ign:1"]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let files = d.ok(&["run", "--rm", "ign:1", "cat", "/files"]);
    assert_eq!(
        files,
        "/ctx/.dockerignore\n/ctx/Dockerfile\n/ctx/keep.tmp\n/ctx/src/main.c\n"
    );
    // -f naming a Dockerfile outside the context.
    let outside = d.dir.path().join("Other.Dockerfile");
    std::fs::write(&outside, "FROM busybox\nCOPY src/main.c /main.c\n").unwrap();
    let r = build(
        &d,
        &dir,
        &["-f", outside.to_str().unwrap(), "-t", "other:1"],
    );
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(d.ok(&["run", "--rm", "other:1", "cat", "/main.c"]), "x");
    // A Dockerfile alone on STDIN, and --iidfile.
    let iid = d.dir.path().join("iid");
    let r = d.run_stdin(
        &[
            "build",
            "--iidfile",
            iid.to_str().unwrap(),
            "-t",
            "stdin:1",
            "-",
        ],
        b"FROM busybox\nLABEL from=stdin\n",
    );
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        std::fs::read_to_string(&iid).unwrap(),
        d.image_id("stdin:1")
    );
}

/// Serves `body` to every GET on 127.0.0.1 until the test ends; returns the port.
fn serve(body: &'static [u8]) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut s = stream;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body);
        }
    });
    port
}

#[test]
fn add_downloads_urls_and_checks_their_digest() {
    let d = Daemon::with_busybox();
    let port = serve(b"downloaded content\n");
    // sha256 of "downloaded content\n".
    let sum = {
        use std::process::Command;
        let out = Command::new("sh")
            .args(["-c", "printf 'downloaded content\\n' | sha256sum"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_string()
    };
    let url = format!("http://127.0.0.1:{port}/files/data.txt");
    let dir = context(
        &d,
        "url",
        &[(
            "Dockerfile",
            &format!("FROM busybox\nADD --checksum=sha256:{sum} {url} /fetched/\nRUN stat -c %a /fetched/data.txt > /mode\n"),
        )],
    );
    let r = build(&d, &dir, &["-t", "url:1"]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        d.ok(&["run", "--rm", "url:1", "cat", "/fetched/data.txt"]),
        "downloaded content\n"
    );
    assert_eq!(d.ok(&["run", "--rm", "url:1", "cat", "/mode"]), "600\n");
    let bad = context(
        &d,
        "badsum",
        &[(
            "Dockerfile",
            &format!(
                "FROM busybox\nADD --checksum=sha256:{} {url} /x\n",
                "0".repeat(64)
            ),
        )],
    );
    let r = build(&d, &bad, &[]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "digest mismatch");
}

#[test]
fn a_context_tar_from_a_url_and_the_check_directive() {
    let d = Daemon::with_busybox();
    let mut tar = tar::Builder::new(Vec::new());
    let dockerfile = b"# check=skip=all\nFROM busybox\nCOPY hello.txt /\n";
    for (name, data) in [
        ("Dockerfile", &dockerfile[..]),
        ("hello.txt", &b"from a url\n"[..]),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, name, data).unwrap();
    }
    let body: &'static [u8] = Box::leak(tar.into_inner().unwrap().into_boxed_slice());
    let port = serve(body);
    let r = d.run(&[
        "build",
        "-t",
        "remote:1",
        &format!("http://127.0.0.1:{port}/ctx.tar"),
    ]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert_contains(&r.stdout, "check=skip=all");
    assert_eq!(
        d.ok(&["run", "--rm", "remote:1", "cat", "/hello.txt"]),
        "from a url\n"
    );
    let r = d.run(&["build", "https://example.invalid/repo.git"]);
    assert_ne!(r.status, 0);
    assert_contains(&r.stderr, "git");
}
