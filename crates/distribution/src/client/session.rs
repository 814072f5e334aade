//! A session with one repository on one registry: the endpoint that answered, the auth it
//! asked for, and the distribution protocol's requests (manifests, blobs, uploads, tags).

use std::sync::{Arc, Mutex};

use berth_store::Digest;
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::auth::{Challenge, Credentials, TokenCache, TokenResponse};
use super::transport::{self, empty, full, Body};
use super::{Client, ClientError, Endpoint};

/// Manifests and indexes are small; the spec asks registries to take at least 4 MiB.
pub const MAX_MANIFEST: usize = 8 << 20;
const MAX_ERROR_BODY: usize = 64 << 10;
const MAX_REDIRECTS: usize = 5;

/// The media types a pull accepts, most preferred first.
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// A manifest (or index) as the registry served it, verified against its digest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub bytes: Bytes,
    pub media_type: String,
    pub digest: Digest,
}

/// What a cross-repository mount request came to.
#[derive(Debug)]
pub enum Mount {
    Mounted,
    /// The registry did not mount, and opened an upload session here instead.
    Upload(String),
}

pub struct Session {
    client: Arc<Client>,
    endpoint: Endpoint,
    repo: String,
    creds: Credentials,
    scopes: Vec<String>,
    challenge: Mutex<Option<Challenge>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint.base)
            .field("repo", &self.repo)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Opens a session with `repo` on `registry` through the first endpoint that answers
    /// `/v2/`. `push` asks for push access too; `also_pull` names repositories to mount
    /// blobs from.
    pub async fn open(
        client: &Arc<Client>,
        registry: &str,
        repo: &str,
        creds: Credentials,
        push: bool,
        also_pull: &[String],
    ) -> Result<Session, ClientError> {
        let actions = if push { "pull,push" } else { "pull" };
        let mut scopes = vec![format!("repository:{repo}:{actions}")];
        scopes.extend(also_pull.iter().map(|r| format!("repository:{r}:pull")));
        Session::open_scoped(client, registry, repo, creds, push, scopes).await
    }

    /// Checks `creds` with `registry`, as `docker login` does: a token from its realm, or
    /// `/v2/` answering the basic credentials.
    pub async fn login(
        client: &Arc<Client>,
        registry: &str,
        creds: Credentials,
    ) -> Result<(), ClientError> {
        let session = Session::open_scoped(client, registry, "", creds, true, Vec::new()).await?;
        let challenge = session.challenge().clone();
        match challenge {
            None => Ok(()),
            Some(Challenge::Bearer { realm, service, .. }) => {
                session.token(&realm, service.as_deref()).await.map(drop)
            }
            Some(Challenge::Basic) => {
                let url = format!("{}/v2/", session.endpoint.base);
                let resp = session.send_once(Method::GET, &url, &[], empty()).await?;
                match resp.status() {
                    s if s.is_success() => Ok(()),
                    StatusCode::UNAUTHORIZED => Err(ClientError::Unauthorized(
                        "unauthorized: incorrect username or password".into(),
                    )),
                    s => Err(ClientError::from_response(s, &[], "logging in")),
                }
            }
        }
    }

    async fn open_scoped(
        client: &Arc<Client>,
        registry: &str,
        repo: &str,
        creds: Credentials,
        push: bool,
        scopes: Vec<String>,
    ) -> Result<Session, ClientError> {
        let mut last = None;
        for endpoint in client.endpoints(registry, push) {
            let session = Session {
                client: client.clone(),
                endpoint: endpoint.clone(),
                repo: repo.to_string(),
                creds: creds.clone(),
                scopes: scopes.clone(),
                challenge: Mutex::new(None),
            };
            match session.ping().await {
                Ok(()) if session.needs_credentials() => {
                    return Err(ClientError::Unauthorized(format!(
                        "{registry} requires authentication: no credentials"
                    )))
                }
                Ok(()) => return Ok(session),
                Err(e) if e.is_connection() || endpoint.mirror => {
                    tracing::debug!(endpoint = %endpoint.base, error = %e, "endpoint failed");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::unavailable(format!("no endpoint for {registry}"))))
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// `GET /v2/`: whether this is a registry, and what auth it wants.
    async fn ping(&self) -> Result<(), ClientError> {
        let url = format!("{}/v2/", self.endpoint.base);
        let req = Request::get(&url)
            .body(empty())
            .map_err(|e| ClientError::invalid(e.to_string()))?;
        let resp = self
            .client
            .transport
            .send(req, self.endpoint.verify)
            .await?;
        match resp.status() {
            StatusCode::OK => Ok(()),
            StatusCode::UNAUTHORIZED => {
                *self.challenge() = challenge_of(&resp);
                Ok(())
            }
            s => Err(ClientError::unavailable(format!(
                "{url} answered {s}: not a registry (v2)"
            ))),
        }
    }

    /// A registry asking for basic auth from a client that has no credentials.
    fn needs_credentials(&self) -> bool {
        *self.challenge() == Some(Challenge::Basic)
            && self.creds.username.is_empty()
            && self.creds.registry_token.is_empty()
    }

    fn challenge(&self) -> std::sync::MutexGuard<'_, Option<Challenge>> {
        self.challenge.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `Authorization` value for the next request, fetching a token when needed.
    async fn authorization(&self) -> Result<Option<String>, ClientError> {
        if !self.creds.registry_token.is_empty() {
            return Ok(Some(format!("Bearer {}", self.creds.registry_token)));
        }
        let challenge = self.challenge().clone();
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(self.creds.basic_header()),
            Some(Challenge::Bearer { realm, service, .. }) => {
                let token = self.token(&realm, service.as_deref()).await?;
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// A bearer token for this session's scopes, from the cache or from `realm`.
    async fn token(&self, realm: &str, service: Option<&str>) -> Result<String, ClientError> {
        let scope = self.scopes.join(" ");
        let key = TokenCache::key(realm, service, &scope, &self.creds.username);
        if let Some(t) = self.tokens().get(&key) {
            return Ok(t);
        }
        let query = {
            let mut query = form_urlencoded::Serializer::new(String::new());
            if let Some(s) = service {
                query.append_pair("service", s);
            }
            for s in &self.scopes {
                query.append_pair("scope", s);
            }
            if !self.creds.username.is_empty() {
                query.append_pair("account", &self.creds.username);
            }
            query.finish()
        };
        let sep = if realm.contains('?') { '&' } else { '?' };
        let url = format!("{realm}{sep}{query}");
        let mut req = Request::get(&url);
        if let Some(basic) = self.creds.basic_header() {
            req = req.header(header::AUTHORIZATION, basic);
        }
        let req = req
            .body(empty())
            .map_err(|e| ClientError::invalid(format!("token realm {realm:?}: {e}")))?;
        let realm_host = url
            .parse::<Uri>()
            .ok()
            .and_then(|u| u.authority().map(|a| a.to_string()))
            .unwrap_or_default();
        let verify = !self.client.is_insecure(&realm_host);
        let resp = self.client.transport.send(req, verify).await?;
        let status = resp.status();
        let body = read_limited(resp, MAX_ERROR_BODY).await?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ClientError::Unauthorized(format!(
                "getting a token from {realm}: incorrect username or password"
            )));
        }
        if !status.is_success() {
            return Err(ClientError::from_response(status, &body, "getting a token"));
        }
        let token = serde_json::from_slice::<TokenResponse>(&body)
            .map_err(|e| ClientError::unavailable(format!("token from {realm}: {e}")))?;
        let expires = token.expires_in;
        let token = token
            .token()
            .ok_or_else(|| ClientError::unavailable(format!("{realm} sent no token")))?;
        self.tokens().put(key, token.clone(), expires);
        Ok(token)
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, TokenCache> {
        self.client.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a request whose body can be made again, retrying once after a 401 that
    /// brought a new challenge (a registry may answer `/v2/` openly yet guard a repository).
    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(header::HeaderName, String)],
        body: &(dyn Fn() -> Body + Sync),
    ) -> Result<Response<Incoming>, ClientError> {
        let mut retried = false;
        loop {
            let resp = self.send_once(method.clone(), url, headers, body()).await?;
            if resp.status() != StatusCode::UNAUTHORIZED || retried {
                return Ok(resp);
            }
            let fresh = challenge_of(&resp);
            if fresh.is_none() || (*self.challenge() == fresh && !self.has_bearer()) {
                return Ok(resp);
            }
            if let Some(Challenge::Bearer { realm, service, .. }) = &fresh {
                // The cached token did not do: ask for a fresh one.
                let scope = self.scopes.join(" ");
                let key = TokenCache::key(realm, service.as_deref(), &scope, &self.creds.username);
                self.tokens().forget(&key);
            }
            *self.challenge() = fresh;
            retried = true;
        }
    }

    fn has_bearer(&self) -> bool {
        matches!(*self.challenge(), Some(Challenge::Bearer { .. }))
    }

    /// Sends one request with the current authorization.
    async fn send_once(
        &self,
        method: Method,
        url: &str,
        headers: &[(header::HeaderName, String)],
        body: Body,
    ) -> Result<Response<Incoming>, ClientError> {
        let mut req = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        if let Some(a) = self.authorization().await? {
            req = req.header(header::AUTHORIZATION, a);
        }
        let req = req
            .body(body)
            .map_err(|e| ClientError::invalid(format!("{url}: {e}")))?;
        self.client.transport.send(req, self.endpoint.verify).await
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.endpoint.base, self.repo)
    }

    /// Fetches a manifest or index by tag or digest, verifying it against its digest.
    pub async fn manifest(&self, reference: &str) -> Result<Manifest, ClientError> {
        let url = self.url(&format!("manifests/{reference}"));
        let accept = [(header::ACCEPT, ACCEPT.to_string())];
        let resp = self.send(Method::GET, &url, &accept, &empty).await?;
        let status = resp.status();
        let advertised = header_str(&resp, "docker-content-digest");
        let content_type = header_str(&resp, header::CONTENT_TYPE.as_str());
        let bytes = read_limited(resp, MAX_MANIFEST).await?;
        if !status.is_success() {
            let what = format!("manifest for {}:{reference}", self.repo);
            return Err(match ClientError::from_response(status, &bytes, &what) {
                ClientError::NotFound(_) => {
                    ClientError::NotFound(format!("{what} not found: manifest unknown"))
                }
                e => e,
            });
        }
        let digest = Digest::sha256(&bytes);
        let expected = match Digest::parse(reference) {
            Ok(d) => Some(d),
            Err(_) => advertised.and_then(|d| Digest::parse(&d).ok()),
        };
        if let Some(expected) = expected {
            if expected != digest {
                return Err(ClientError::DigestMismatch {
                    what: "manifest",
                    expected,
                    actual: digest,
                });
            }
        }
        let media_type = media_type_of(&bytes)
            .or(content_type.filter(|t| !t.starts_with("application/json")))
            .unwrap_or_else(|| berth_store::model::media_type::OCI_MANIFEST.to_string());
        Ok(Manifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// Starts fetching a blob: the response body (following redirects) and its length.
    pub async fn blob(&self, digest: &Digest) -> Result<(Incoming, Option<u64>), ClientError> {
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self.send(Method::GET, &url, &[], &empty).await?;
        self.blob_response(resp, &url, true, digest).await
    }

    /// Starts fetching a foreign layer from the first of `urls` that answers (its
    /// descriptor's `urls`, outside the registry: no credentials go there).
    pub async fn foreign_blob(
        &self,
        urls: &[String],
        digest: &Digest,
    ) -> Result<(Incoming, Option<u64>), ClientError> {
        let mut last = ClientError::invalid(format!("blob {digest}: no URL to fetch it from"));
        for url in urls {
            let attempt = async {
                let uri: Uri = url
                    .parse()
                    .map_err(|e| ClientError::invalid(format!("{url}: {e}")))?;
                let req = Request::get(uri)
                    .body(empty())
                    .map_err(|e| ClientError::invalid(e.to_string()))?;
                let resp = self.client.transport.send(req, true).await?;
                self.blob_response(resp, url, false, digest).await
            };
            match attempt.await {
                Ok(found) => return Ok(found),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Follows `resp`'s redirects and returns the blob's body and length. Credentials go
    /// only to the host `url` names, and only when `credentials` says so.
    async fn blob_response(
        &self,
        mut resp: Response<Incoming>,
        url: &str,
        credentials: bool,
        digest: &Digest,
    ) -> Result<(Incoming, Option<u64>), ClientError> {
        let mut at: Uri = url
            .parse()
            .map_err(|e| ClientError::invalid(format!("{url}: {e}")))?;
        for _ in 0..MAX_REDIRECTS {
            if !resp.status().is_redirection() {
                break;
            }
            let location = header_str(&resp, header::LOCATION.as_str()).ok_or_else(|| {
                ClientError::unavailable(format!("{url}: redirect without a location"))
            })?;
            let next = transport::resolve(&at, &location)?;
            // Credentials stay with the registry; a blob store elsewhere gets none.
            let same_host = next.authority() == at.authority();
            resp = if same_host && credentials {
                self.send_once(Method::GET, &next.to_string(), &[], empty())
                    .await?
            } else {
                let req = Request::get(next.clone())
                    .body(empty())
                    .map_err(|e| ClientError::invalid(e.to_string()))?;
                let verify = next.scheme_str() == Some("https") && self.endpoint.verify;
                self.client
                    .transport
                    .send(req, verify || !credentials)
                    .await?
            };
            at = next;
        }
        let status = resp.status();
        if !status.is_success() {
            let body = read_limited(resp, MAX_ERROR_BODY).await.unwrap_or_default();
            return Err(ClientError::from_response(
                status,
                &body,
                &format!("blob {digest}"),
            ));
        }
        let len = header_str(&resp, header::CONTENT_LENGTH.as_str()).and_then(|l| l.parse().ok());
        Ok((resp.into_body(), len))
    }

    /// The size of a blob the repository has, or `None`.
    pub async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>, ClientError> {
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self.send(Method::HEAD, &url, &[], &empty).await?;
        match resp.status() {
            s if s.is_success() => {
                Ok(header_str(&resp, header::CONTENT_LENGTH.as_str()).and_then(|l| l.parse().ok()))
            }
            StatusCode::NOT_FOUND => Ok(None),
            s => Err(ClientError::from_response(
                s,
                &[],
                &format!("checking blob {digest}"),
            )),
        }
    }

    /// Asks the registry to mount `digest` from repository `from`.
    pub async fn mount(&self, digest: &Digest, from: &str) -> Result<Mount, ClientError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("mount", &digest.to_string())
            .append_pair("from", from)
            .finish();
        let url = self.url(&format!("blobs/uploads/?{query}"));
        let resp = self.send(Method::POST, &url, &[], &empty).await?;
        match resp.status() {
            StatusCode::CREATED => Ok(Mount::Mounted),
            StatusCode::ACCEPTED => Ok(Mount::Upload(self.location(&url, &resp)?)),
            s => {
                let body = read_limited(resp, MAX_ERROR_BODY).await.unwrap_or_default();
                Err(ClientError::from_response(
                    s,
                    &body,
                    &format!("mounting {digest}"),
                ))
            }
        }
    }

    /// Opens an upload session; returns where to send the bytes.
    pub async fn start_upload(&self) -> Result<String, ClientError> {
        let url = self.url("blobs/uploads/");
        let resp = self.send(Method::POST, &url, &[], &empty).await?;
        if resp.status() != StatusCode::ACCEPTED {
            let s = resp.status();
            let body = read_limited(resp, MAX_ERROR_BODY).await.unwrap_or_default();
            return Err(ClientError::from_response(
                s,
                &body,
                &format!("starting an upload to {}", self.repo),
            ));
        }
        self.location(&url, &resp)
    }

    /// Streams a blob's bytes in one PATCH; returns where the upload continues. The digest
    /// need not be known yet: it is given when the upload is closed.
    pub async fn patch(&self, location: &str, body: Body) -> Result<String, ClientError> {
        let headers = [(header::CONTENT_TYPE, "application/octet-stream".to_string())];
        let resp = self
            .send_once(Method::PATCH, location, &headers, body)
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            let s = resp.status();
            let body = read_limited(resp, MAX_ERROR_BODY).await.unwrap_or_default();
            return Err(ClientError::from_response(s, &body, "uploading a blob"));
        }
        self.location(location, &resp)
    }

    /// Sends the last (or only) bytes of an upload with its digest: a monolithic upload
    /// when `bytes` is the whole blob.
    pub async fn close_upload(
        &self,
        location: &str,
        digest: &Digest,
        bytes: Bytes,
    ) -> Result<(), ClientError> {
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={digest}");
        let headers = [(header::CONTENT_TYPE, "application/octet-stream".to_string())];
        let resp = self
            .send_once(Method::PUT, &url, &headers, full(bytes))
            .await?;
        if resp.status() != StatusCode::CREATED {
            let s = resp.status();
            let body = read_limited(resp, MAX_ERROR_BODY).await.unwrap_or_default();
            return Err(ClientError::from_response(
                s,
                &body,
                &format!("uploading {digest}"),
            ));
        }
        Ok(())
    }

    /// Pushes a manifest under a tag or its digest; returns the digest the registry gave.
    pub async fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Digest, ClientError> {
        let url = self.url(&format!("manifests/{reference}"));
        let headers = [(header::CONTENT_TYPE, media_type.to_string())];
        let body = move || full(bytes.clone());
        let resp = self.send(Method::PUT, &url, &headers, &body).await?;
        let status = resp.status();
        let digest = header_str(&resp, "docker-content-digest");
        let answer = read_limited(resp, MAX_ERROR_BODY).await.unwrap_or_default();
        if status != StatusCode::CREATED {
            return Err(ClientError::from_response(
                status,
                &answer,
                &format!("pushing manifest {}:{reference}", self.repo),
            ));
        }
        let ours = Digest::sha256(&body_bytes(&body).await);
        Ok(digest.and_then(|d| Digest::parse(&d).ok()).unwrap_or(ours))
    }

    /// Every tag of the repository, following the registry's pagination.
    pub async fn tags(&self) -> Result<Vec<String>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut url = self.url("tags/list");
        let mut out = Vec::new();
        for _ in 0..1000 {
            let resp = self.send(Method::GET, &url, &[], &empty).await?;
            let status = resp.status();
            let link = header_str(&resp, header::LINK.as_str());
            let body = read_limited(resp, MAX_MANIFEST).await?;
            if !status.is_success() {
                return Err(ClientError::from_response(
                    status,
                    &body,
                    &format!("listing the tags of {}", self.repo),
                ));
            }
            let page: Tags = serde_json::from_slice(&body)
                .map_err(|e| ClientError::unavailable(format!("tags of {}: {e}", self.repo)))?;
            out.extend(page.tags.unwrap_or_default());
            match link.as_deref().and_then(next_link) {
                Some(next) => {
                    url = transport::resolve(
                        &url.parse().map_err(|_| ClientError::invalid(url.clone()))?,
                        next,
                    )?
                    .to_string()
                }
                None => return Ok(out),
            }
        }
        Ok(out)
    }

    fn location(
        &self,
        request_url: &str,
        resp: &Response<Incoming>,
    ) -> Result<String, ClientError> {
        let location = header_str(resp, header::LOCATION.as_str()).ok_or_else(|| {
            ClientError::unavailable(format!("{request_url}: the registry gave no Location"))
        })?;
        let base: Uri = request_url
            .parse()
            .map_err(|e| ClientError::invalid(format!("{request_url}: {e}")))?;
        Ok(transport::resolve(&base, &location)?.to_string())
    }
}

async fn body_bytes(make: &(dyn Fn() -> Body + Sync)) -> Bytes {
    make()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default()
}

fn challenge_of(resp: &Response<Incoming>) -> Option<Challenge> {
    resp.headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(Challenge::parse)
        .max_by_key(|c| matches!(c, Challenge::Bearer { .. }))
}

fn header_str(resp: &Response<Incoming>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The `mediaType` a manifest names itself with.
fn media_type_of(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Head>(bytes).ok()?.media_type
}

/// The target of a `Link: <url>; rel="next"` header.
fn next_link(link: &str) -> Option<&str> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .contains("rel=\"next\"")
            .then(|| target.trim().trim_start_matches('<').trim_end_matches('>'))
    })
}

/// Reads a whole response body, refusing more than `limit` bytes.
pub(crate) async fn read_limited(
    resp: Response<Incoming>,
    limit: usize,
) -> Result<Bytes, ClientError> {
    http_body_util::Limited::new(resp.into_body(), limit)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ClientError::unavailable(format!("reading the registry's answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_found() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }

    #[test]
    fn manifests_name_their_media_type() {
        assert_eq!(
            media_type_of(
                br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}"#
            )
            .as_deref(),
            Some("application/vnd.oci.image.index.v1+json")
        );
        assert_eq!(media_type_of(br#"{"schemaVersion":2}"#), None);
    }
}
