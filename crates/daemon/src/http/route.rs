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
    ImagePush(String),
    Auth,
    ImagePrune,
    ImageInspect(String),
    ImageHistory(String),
    ImageSave(String),
    ImageTag(String),
    ImageDelete(String),
    ContainerList,
    ContainerCreate,
    ContainerPrune,
    Events,
    /// `POST /commit`: an image from a container (named in the query).
    Commit,
    /// `POST /build`: an image from a Dockerfile and a context tar.
    Build,
    /// `POST /build/prune`: the build cache's unused records.
    BuildPrune,
    /// A container by name or ID, and what to do with it.
    Container(String, ContainerAction),
    /// An exec instance by ID, and what to do with it.
    Exec(String, ExecAction),
    VolumeList,
    VolumeCreate,
    VolumePrune,
    VolumeInspect(String),
    VolumeDelete(String),
    NetworkList,
    NetworkCreate,
    NetworkPrune,
    NetworkInspect(String),
    NetworkDelete(String),
    NetworkConnect(String),
    NetworkDisconnect(String),
}

/// What a `/containers/{id}/...` request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerAction {
    Inspect,
    Start,
    Stop,
    Restart,
    Kill,
    Wait,
    Attach,
    Logs,
    Resize,
    Delete,
    Pause,
    Unpause,
    Rename,
    Update,
    Top,
    Stats,
    /// `HEAD …/archive`: the stat of a path.
    ArchiveStat,
    /// `GET …/archive`: a path as a tar archive.
    ArchiveGet,
    /// `PUT …/archive`: a tar archive extracted into a directory.
    ArchivePut,
    Changes,
    Export,
    Exec,
}

/// What an `/exec/{id}/...` request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecAction {
    Start,
    Resize,
    Inspect,
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
        "/auth" => Some((Method::POST, Route::Auth)),
        "/images/prune" => Some((Method::POST, Route::ImagePrune)),
        "/containers/json" => Some((Method::GET, Route::ContainerList)),
        "/containers/create" => Some((Method::POST, Route::ContainerCreate)),
        "/containers/prune" => Some((Method::POST, Route::ContainerPrune)),
        "/events" => Some((Method::GET, Route::Events)),
        "/commit" => Some((Method::POST, Route::Commit)),
        "/build" => Some((Method::POST, Route::Build)),
        "/build/prune" => Some((Method::POST, Route::BuildPrune)),
        "/volumes" => Some((Method::GET, Route::VolumeList)),
        "/volumes/create" => Some((Method::POST, Route::VolumeCreate)),
        "/volumes/prune" => Some((Method::POST, Route::VolumePrune)),
        "/networks" => Some((Method::GET, Route::NetworkList)),
        "/networks/create" => Some((Method::POST, Route::NetworkCreate)),
        "/networks/prune" => Some((Method::POST, Route::NetworkPrune)),
        _ => None,
    };
    if let Some((m, route)) = fixed {
        return if is(&m) {
            Ok((route, version))
        } else {
            Err(RouteError::MethodNotAllowed)
        };
    }
    if let Some(rest) = path.strip_prefix("/containers/") {
        return container_route(method, rest).map(|r| (r, version));
    }
    if let Some(rest) = path.strip_prefix("/exec/") {
        return exec_route(method, rest).map(|r| (r, version));
    }
    if let Some(name) = path
        .strip_prefix("/volumes/")
        .filter(|n| !n.is_empty() && !n.contains('/'))
    {
        let name = decode(name)?;
        return match *method {
            Method::GET | Method::HEAD => Ok((Route::VolumeInspect(name), version)),
            Method::DELETE => Ok((Route::VolumeDelete(name), version)),
            _ => Err(RouteError::MethodNotAllowed),
        };
    }
    if let Some(rest) = path.strip_prefix("/networks/") {
        return network_route(method, rest).map(|r| (r, version));
    }
    type Make = fn(String) -> Route;
    let shaped: [(Method, &str, Make); 6] = [
        (Method::POST, "/push", Route::ImagePush),
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

fn container_route(method: &Method, rest: &str) -> Result<Route, RouteError> {
    use ContainerAction as A;
    let (id, action) = match rest.split_once('/') {
        Some((id, action)) => (id, action),
        None => (rest, ""),
    };
    if id.is_empty() {
        return Err(RouteError::NotFound);
    }
    if action == "archive" {
        // One path, three operations, told apart by the method alone.
        let a = match *method {
            Method::HEAD => A::ArchiveStat,
            Method::GET => A::ArchiveGet,
            Method::PUT => A::ArchivePut,
            _ => return Err(RouteError::MethodNotAllowed),
        };
        return Ok(Route::Container(decode(id)?, a));
    }
    let (want, action) = match action {
        "" => (Method::DELETE, A::Delete),
        "json" => (Method::GET, A::Inspect),
        "start" => (Method::POST, A::Start),
        "stop" => (Method::POST, A::Stop),
        "restart" => (Method::POST, A::Restart),
        "kill" => (Method::POST, A::Kill),
        "wait" => (Method::POST, A::Wait),
        "attach" => (Method::POST, A::Attach),
        "logs" => (Method::GET, A::Logs),
        "resize" => (Method::POST, A::Resize),
        "pause" => (Method::POST, A::Pause),
        "unpause" => (Method::POST, A::Unpause),
        "rename" => (Method::POST, A::Rename),
        "update" => (Method::POST, A::Update),
        "top" => (Method::GET, A::Top),
        "stats" => (Method::GET, A::Stats),
        "changes" => (Method::GET, A::Changes),
        "export" => (Method::GET, A::Export),
        "exec" => (Method::POST, A::Exec),
        _ => return Err(RouteError::NotFound),
    };
    let get_or_head = want == Method::GET && *method == Method::HEAD;
    if *method != want && !get_or_head {
        return Err(if action == A::Delete {
            RouteError::NotFound
        } else {
            RouteError::MethodNotAllowed
        });
    }
    Ok(Route::Container(decode(id)?, action))
}

fn network_route(method: &Method, rest: &str) -> Result<Route, RouteError> {
    let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
    if id.is_empty() {
        return Err(RouteError::NotFound);
    }
    let id = decode(id)?;
    let is_get = *method == Method::GET || *method == Method::HEAD;
    match action {
        "" if is_get => Ok(Route::NetworkInspect(id)),
        "" if *method == Method::DELETE => Ok(Route::NetworkDelete(id)),
        "connect" | "disconnect" if *method != Method::POST => Err(RouteError::MethodNotAllowed),
        "connect" => Ok(Route::NetworkConnect(id)),
        "disconnect" => Ok(Route::NetworkDisconnect(id)),
        "" => Err(RouteError::MethodNotAllowed),
        _ => Err(RouteError::NotFound),
    }
}

fn exec_route(method: &Method, rest: &str) -> Result<Route, RouteError> {
    let (id, action) = rest.split_once('/').ok_or(RouteError::NotFound)?;
    if id.is_empty() {
        return Err(RouteError::NotFound);
    }
    let (want, action) = match action {
        "start" => (Method::POST, ExecAction::Start),
        "resize" => (Method::POST, ExecAction::Resize),
        "json" => (Method::GET, ExecAction::Inspect),
        _ => return Err(RouteError::NotFound),
    };
    if *method != want && !(want == Method::GET && *method == Method::HEAD) {
        return Err(RouteError::MethodNotAllowed);
    }
    Ok(Route::Exec(decode(id)?, action))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(m: Method, p: &str) -> Result<Route, RouteError> {
        parse(&m, p).map(|(r, _)| r)
    }

    #[test]
    fn network_routes() {
        assert_eq!(
            route(Method::GET, "/v1.41/networks"),
            Ok(Route::NetworkList)
        );
        assert_eq!(
            route(Method::POST, "/networks/create"),
            Ok(Route::NetworkCreate)
        );
        assert_eq!(
            route(Method::POST, "/networks/prune"),
            Ok(Route::NetworkPrune)
        );
        assert_eq!(
            route(Method::GET, "/networks/n1"),
            Ok(Route::NetworkInspect("n1".into()))
        );
        assert_eq!(
            route(Method::DELETE, "/networks/n1"),
            Ok(Route::NetworkDelete("n1".into()))
        );
        assert_eq!(
            route(Method::POST, "/networks/n1/connect"),
            Ok(Route::NetworkConnect("n1".into()))
        );
        assert_eq!(
            route(Method::POST, "/networks/n1/disconnect"),
            Ok(Route::NetworkDisconnect("n1".into()))
        );
        assert_eq!(
            route(Method::GET, "/networks/n1/connect"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            route(Method::GET, "/networks/n1/x"),
            Err(RouteError::NotFound)
        );
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
    fn container_routes() {
        assert_eq!(
            route(Method::POST, "/v1.41/containers/create"),
            Ok(Route::ContainerCreate)
        );
        assert_eq!(
            route(Method::POST, "/containers/abc/start"),
            Ok(Route::Container("abc".into(), ContainerAction::Start))
        );
        assert_eq!(
            route(Method::DELETE, "/containers/abc"),
            Ok(Route::Container("abc".into(), ContainerAction::Delete))
        );
        assert_eq!(
            route(Method::GET, "/containers/abc/logs"),
            Ok(Route::Container("abc".into(), ContainerAction::Logs))
        );
        assert_eq!(
            route(Method::GET, "/containers/abc/start"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            route(Method::POST, "/containers/abc/bogus"),
            Err(RouteError::NotFound)
        );
        assert_eq!(
            route(Method::POST, "/v1.41/containers/abc/pause"),
            Ok(Route::Container("abc".into(), ContainerAction::Pause))
        );
        assert_eq!(
            route(Method::GET, "/containers/abc/stats"),
            Ok(Route::Container("abc".into(), ContainerAction::Stats))
        );
        assert_eq!(route(Method::GET, "/v1.41/events"), Ok(Route::Events));
        for (m, a) in [
            (Method::HEAD, ContainerAction::ArchiveStat),
            (Method::GET, ContainerAction::ArchiveGet),
            (Method::PUT, ContainerAction::ArchivePut),
        ] {
            assert_eq!(
                route(m, "/v1.41/containers/abc/archive"),
                Ok(Route::Container("abc".into(), a))
            );
        }
        assert_eq!(
            route(Method::POST, "/containers/abc/archive"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            route(Method::GET, "/containers/abc/changes"),
            Ok(Route::Container("abc".into(), ContainerAction::Changes))
        );
        assert_eq!(
            route(Method::GET, "/containers/abc/export"),
            Ok(Route::Container("abc".into(), ContainerAction::Export))
        );
        assert_eq!(route(Method::POST, "/v1.41/commit"), Ok(Route::Commit));
        assert_eq!(
            route(Method::GET, "/commit"),
            Err(RouteError::MethodNotAllowed)
        );
    }

    #[test]
    fn exec_routes() {
        assert_eq!(
            route(Method::POST, "/v1.41/containers/abc/exec"),
            Ok(Route::Container("abc".into(), ContainerAction::Exec))
        );
        assert_eq!(
            route(Method::POST, "/exec/e1/start"),
            Ok(Route::Exec("e1".into(), ExecAction::Start))
        );
        assert_eq!(
            route(Method::GET, "/v1.41/exec/e1/json"),
            Ok(Route::Exec("e1".into(), ExecAction::Inspect))
        );
        assert_eq!(
            route(Method::GET, "/exec/e1/start"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(route(Method::GET, "/exec/e1"), Err(RouteError::NotFound));
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
