//! Image names as the CLI needs to take them apart: which registry a name lives on (for its
//! credentials), its tag, and the fully qualified form docker prints after a pull.

/// The registry an image name lives on, as docker decides it: the first component when it
/// has a `.` or `:` or is `localhost`, else Docker Hub.
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => "docker.io".to_string(),
    }
}

/// `name` and its tag, when it has one (a `:` after the last `/`); digests are left on.
pub fn split_tag(image: &str) -> (&str, Option<&str>) {
    if image.contains('@') {
        return (image, None);
    }
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) => (&image[..slash + i], Some(&image[slash + i + 1..])),
        None => (image, None),
    }
}

/// `image` with `:latest` when it names neither a tag nor a digest.
pub fn with_latest(image: &str) -> String {
    match split_tag(image) {
        (_, Some(_)) => image.to_string(),
        _ if image.contains('@') => image.to_string(),
        _ => format!("{image}:latest"),
    }
}

/// The fully qualified name: `busybox` → `docker.io/library/busybox`.
pub fn fully_qualified(image: &str) -> String {
    if registry_of(image) != "docker.io" {
        return image.to_string();
    }
    let path = image
        .strip_prefix("docker.io/")
        .or_else(|| image.strip_prefix("index.docker.io/"))
        .unwrap_or(image);
    if path.contains('/') {
        format!("docker.io/{path}")
    } else {
        format!("docker.io/library/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_as_docker_splits_them() {
        assert_eq!(registry_of("busybox"), "docker.io");
        assert_eq!(registry_of("library/busybox:1"), "docker.io");
        assert_eq!(registry_of("localhost/a"), "localhost");
        assert_eq!(registry_of("127.0.0.1:5000/a/b:c"), "127.0.0.1:5000");
        assert_eq!(registry_of("quay.io/x/y"), "quay.io");
        assert_eq!(
            split_tag("localhost:5000/a/b:c"),
            ("localhost:5000/a/b", Some("c"))
        );
        assert_eq!(split_tag("localhost:5000/a"), ("localhost:5000/a", None));
        assert_eq!(split_tag("a@sha256:00"), ("a@sha256:00", None));
        assert_eq!(with_latest("localhost:5000/a"), "localhost:5000/a:latest");
        assert_eq!(with_latest("a:1"), "a:1");
        assert_eq!(with_latest("a@sha256:00"), "a@sha256:00");
        assert_eq!(fully_qualified("busybox:1"), "docker.io/library/busybox:1");
        assert_eq!(fully_qualified("me/app"), "docker.io/me/app");
        assert_eq!(fully_qualified("localhost:5000/a:b"), "localhost:5000/a:b");
    }
}
