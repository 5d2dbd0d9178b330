//! Where the tools send: the base URL given on the command line, parsed once, and request targets that can only
//! ever name a path on it. A target from a scenario, the command line or the server's own `openapi.json` that is not
//! a path (`@evil.example/x`, `//evil.example/`, a whole URL) is refused, never joined by text to the base (which
//! would send it to another host without the confirmation a remote URL needs).

use http::Uri;
use http::uri::{Authority, Scheme};

/// A base URL: scheme, authority and path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    scheme: Scheme,
    authority: Authority,
    /// The base's own path without a trailing `/` (a stage: `/prod`), or empty.
    prefix: String,
}

impl BaseUrl {
    /// An `http://` or `https://` URL with a host; its query and fragment, if any, are refused.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url.trim().parse().map_err(|e| format!("{url} is not a URL: {e}"))?;
        let scheme = uri.scheme().filter(|s| *s == &Scheme::HTTP || *s == &Scheme::HTTPS).cloned();
        let (Some(scheme), Some(authority)) = (scheme, uri.authority().cloned()) else {
            return Err(format!("{url} is not an http:// or https:// URL with a host"));
        };
        if authority.as_str().contains('@') {
            return Err(format!("{url} carries credentials in its host part"));
        }
        if uri.query().is_some() {
            return Err(format!("{url} has a query: give the base URL only"));
        }
        Ok(Self { scheme, authority, prefix: uri.path().trim_end_matches('/').to_string() })
    }

    /// Whether the server is on this machine (no confirmation needed to send it attacks or load).
    pub fn is_local(&self) -> bool {
        matches!(self.authority.host(), "localhost" | "127.0.0.1" | "[::1]" | "::1")
            || self.authority.host().starts_with("127.")
    }

    pub fn host(&self) -> &str {
        self.authority.host()
    }

    /// The URI of `target` on this base: a path beginning with one `/` (and a query, if any). Anything else is
    /// refused, and the result is checked to name this base's host.
    pub fn join(&self, target: &str) -> Result<Uri, String> {
        let shown: String = target.chars().take(80).collect();
        if !target.starts_with('/') || target.starts_with("//") || target.contains(['\r', '\n']) {
            return Err(format!("{shown:?} is not a path on {}: refused", self.authority));
        }
        let uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{target}", self.prefix))
            .build()
            .map_err(|e| format!("{shown:?} is not a valid path: {e}"))?;
        if uri.authority() != Some(&self.authority) {
            return Err(format!("{shown:?} would leave {}: refused", self.authority));
        }
        Ok(uri)
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_on_the_base_and_nothing_else_does() {
        let base = BaseUrl::parse("http://127.0.0.1:8000/").unwrap();
        assert_eq!(base.join("/health").unwrap(), "http://127.0.0.1:8000/health");
        assert_eq!(base.join("/api/v1/me?x=1").unwrap(), "http://127.0.0.1:8000/api/v1/me?x=1");
        for evil in ["@evil.example/x", "//evil.example/", "http://evil.example/", "evil", "", "/a\r\nHost: x"] {
            assert!(base.join(evil).is_err(), "{evil:?}");
        }
        let stage = BaseUrl::parse("https://abc.execute-api.eu-west-1.amazonaws.com/prod").unwrap();
        assert_eq!(stage.join("/health").unwrap(), "https://abc.execute-api.eu-west-1.amazonaws.com/prod/health");
        assert!(!stage.is_local() && base.is_local());
    }

    #[test]
    fn a_base_url_is_http_with_a_host_and_no_credentials() {
        for bad in ["ftp://x/", "127.0.0.1:8000", "http://user:pw@host/", "http://host/?q=1", "/relative"] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
