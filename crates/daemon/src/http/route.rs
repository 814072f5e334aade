//! Turning a request line into an action: the API version prefix is checked and stripped,
//! and the path becomes a [`Route`]. Names may contain `/` (image references do), so routes
//! with a name in the middle are matched by prefix and suffix, as docker's router does.

use http::Method;

/// Everything the engine answers, by what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Ping,
    Version,
    Info,
    SystemDf,
    ImageList,
    ImageLoad,
    ImageSaveMany,
    ImageCreate,
    ImagePrune,
    ImageInspect(String),
    ImageHistory(String),
    ImageSave(String),
    ImageTag(String),
    ImageDelete(String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    MethodNotAllowed,
    Version(String),
}

/// API versions as (major, minor).
pub type ApiVersion = (u32, u32);

pub const MAX_VERSION: ApiVersion = (1, 41);
pub const MIN_VERSION: ApiVersion = (1, 24);

fn parse_version(v: &str) -> Option<ApiVersion> {
    let (major, minor) = v.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Strips and checks a `/vX.Y` prefix.
fn split_version(path: &str) -> Result<(Option<ApiVersion>, &str), RouteError> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok((None, path));
    };
    let (version, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let Some(v) = parse_version(version) else {
        // Not a version at all (e.g. `/volumes`): leave the path alone.
        return Ok((None, path));
    };
    if v > MAX_VERSION {
        return Err(RouteError::Version(format!(
            "client version {version} is too new. Maximum supported API version is {}.{}",
            MAX_VERSION.0, MAX_VERSION.1
        )));
    }
    if v < MIN_VERSION {
        return Err(RouteError::Version(format!(
            "client version {version} is too old. Minimum supported API version is {}.{}, please upgrade your client to a newer version",
            MIN_VERSION.0, MIN_VERSION.1
        )));
    }
    Ok((Some(v), tail))
}

fn decode(segment: &str) -> Result<String, RouteError> {
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(segment).collect();
    String::from_utf8(bytes).map_err(|_| RouteError::NotFound)
}

/// The name between `prefix` and `suffix`, if the path has that shape.
fn named<'a>(path: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    let name = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!name.is_empty()).then_some(name)
}

pub fn parse(method: &Method, raw_path: &str) -> Result<(Route, Option<ApiVersion>), RouteError> {
    let (version, path) = split_version(raw_path)?;
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let is = |m: &Method| method == m || (*m == Method::GET && method == Method::HEAD);
    let fixed: Option<(Method, Route)> = match path {
        "/_ping" => Some((Method::GET, Route::Ping)),
        "/version" => Some((Method::GET, Route::Version)),
        "/info" => Some((Method::GET, Route::Info)),
        "/system/df" => Some((Method::GET, Route::SystemDf)),
        "/images/json" => Some((Method::GET, Route::ImageList)),
        "/images/load" => Some((Method::POST, Route::ImageLoad)),
        "/images/get" => Some((Method::GET, Route::ImageSaveMany)),
        "/images/create" => Some((Method::POST, Route::ImageCreate)),
        "/images/prune" => Some((Method::POST, Route::ImagePrune)),
        _ => None,
    };
    if let Some((m, route)) = fixed {
        return if is(&m) {
            Ok((route, version))
        } else {
            Err(RouteError::MethodNotAllowed)
        };
    }
    type Make = fn(String) -> Route;
    let shaped: [(Method, &str, Make); 5] = [
        (Method::GET, "/json", Route::ImageInspect),
        (Method::GET, "/history", Route::ImageHistory),
        (Method::GET, "/get", Route::ImageSave),
        (Method::POST, "/tag", Route::ImageTag),
        (Method::DELETE, "", Route::ImageDelete),
    ];
    for (m, suffix, make) in shaped {
        if let Some(name) = named(path, "/images/", suffix) {
            if is(&m) {
                return Ok((make(decode(name)?), version));
            }
        }
    }
    Err(RouteError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(m: Method, p: &str) -> Result<Route, RouteError> {
        parse(&m, p).map(|(r, _)| r)
    }

    #[test]
    fn versioned_and_unversioned_paths() {
        assert_eq!(route(Method::GET, "/_ping"), Ok(Route::Ping));
        assert_eq!(route(Method::HEAD, "/v1.41/_ping"), Ok(Route::Ping));
        assert_eq!(route(Method::GET, "/v1.24/version"), Ok(Route::Version));
        assert_eq!(parse(&Method::GET, "/v1.40/info").unwrap().1, Some((1, 40)));
    }

    #[test]
    fn versions_outside_the_supported_range_are_refused() {
        assert!(
            matches!(route(Method::GET, "/v1.99/info"), Err(RouteError::Version(m)) if m.contains("too new"))
        );
        assert!(
            matches!(route(Method::GET, "/v1.12/info"), Err(RouteError::Version(m)) if m.contains("too old"))
        );
    }

    #[test]
    fn image_names_with_slashes_and_ports() {
        assert_eq!(
            route(Method::GET, "/v1.41/images/localhost:5000/a/b:t/json"),
            Ok(Route::ImageInspect("localhost:5000/a/b:t".into()))
        );
        assert_eq!(
            route(Method::DELETE, "/images/busybox@sha256:abc"),
            Ok(Route::ImageDelete("busybox@sha256:abc".into()))
        );
        assert_eq!(
            route(Method::POST, "/images/a%2Fb/tag"),
            Ok(Route::ImageTag("a/b".into()))
        );
        assert_eq!(
            route(Method::GET, "/images/x/history"),
            Ok(Route::ImageHistory("x".into()))
        );
    }

    #[test]
    fn unknown_paths_and_wrong_methods() {
        assert_eq!(route(Method::GET, "/nope"), Err(RouteError::NotFound));
        assert_eq!(
            route(Method::POST, "/version"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(route(Method::GET, "/images/"), Err(RouteError::NotFound));
    }
}
