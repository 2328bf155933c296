//! A deliberately strict parser for API base URLs, and the rule that decides where a key may go.
//!
//! Only what an API base needs is accepted: `http`/`https`, an ASCII host (or a bracketed IPv6
//! literal), an optional port and a path. Anything a browser would reinterpret differently from
//! a naive reading — user-info (`https://api.openai.com@evil.example`), backslashes,
//! percent-encoded or non-ASCII hosts, query strings, fragments — is refused, so that the host
//! compared here is the host the browser connects to.

use std::fmt;

/// Why a base URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not `http://` or `https://`.
    #[error("the URL must start with http:// or https://")]
    Scheme,
    /// No host after the scheme.
    #[error("the URL has no host")]
    EmptyHost,
    /// `user:pass@host` form, which hides the real host.
    #[error("the URL must not contain user info (`…@host`)")]
    UserInfo,
    /// A character the parser will not interpret (backslash, space, control, `%` or non-ASCII
    /// in the host).
    #[error("the URL contains a character that is not allowed here: {0:?}")]
    BadChar(char),
    /// The port is not a number from 1 to 65535.
    #[error("the port is not a number from 1 to 65535")]
    BadPort,
    /// A query string or fragment, which a base URL must not have.
    #[error("a base URL must not have a query string or fragment")]
    QueryOrFragment,
}

/// A parsed `http(s)` base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    https: bool,
    host: String,
    port: u16,
    explicit_port: bool,
    path: String,
}

/// Scheme, host and port: what a browser calls the origin. A key is only attached to requests
/// whose origin equals the origin it was configured for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `https` or `http`.
    pub scheme: &'static str,
    /// Lower-case host (IPv6 literals keep their brackets).
    pub host: String,
    /// The port, defaulted from the scheme.
    pub port: u16,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default {
            write!(f, "{}://{}", self.scheme, self.host)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

impl BaseUrl {
    /// Parses a base URL such as `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1/`.
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        let input = input.trim();
        if let Some(c) = input.chars().find(|c| *c == '\\' || c.is_whitespace() || c.is_control()) {
            return Err(UrlError::BadChar(c));
        }
        let lower_scheme_end = input.find("://").ok_or(UrlError::Scheme)?;
        let https = match input[..lower_scheme_end].to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(UrlError::Scheme),
        };
        let rest = &input[lower_scheme_end + 3..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if tail.contains(['?', '#']) {
            return Err(UrlError::QueryOrFragment);
        }
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, port_str) = if let Some(after_bracket) = authority.strip_prefix('[') {
            let close = after_bracket.find(']').ok_or(UrlError::BadChar('['))?;
            let literal = &after_bracket[..close];
            if literal.is_empty() || !literal.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
                return Err(UrlError::BadChar('['));
            }
            let after = &after_bracket[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(UrlError::BadPort),
            };
            (format!("[{}]", literal.to_ascii_lowercase()), port)
        } else {
            let (h, p) = match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            if let Some(c) = h.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.' || *c == '_')) {
                return Err(UrlError::BadChar(c));
            }
            (h.to_ascii_lowercase(), p)
        };
        if host.is_empty() || host == "." {
            return Err(UrlError::EmptyHost);
        }
        let default_port = if https { 443 } else { 80 };
        let (port, explicit_port) = match port_str {
            None => (default_port, false),
            Some(p) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(UrlError::BadPort);
                }
                match p.parse::<u16>() {
                    Ok(0) | Err(_) => return Err(UrlError::BadPort),
                    Ok(n) => (n, n != default_port),
                }
            }
        };
        let path = tail.trim_end_matches('/').to_string();
        Ok(Self { https, host, port, explicit_port, path })
    }

    /// The origin (scheme, host, port) of this base.
    pub fn origin(&self) -> Origin {
        Origin { scheme: if self.https { "https" } else { "http" }, host: self.host.clone(), port: self.port }
    }

    /// The lower-case host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the host is this machine (`localhost`, `*.localhost`, `127.x.x.x`, `[::1]`).
    pub fn is_loopback(&self) -> bool {
        let h = self.host.trim_end_matches('.');
        h == "localhost" || h.ends_with(".localhost") || h == "[::1]" || h.starts_with("127.")
    }

    /// The base followed by `/` and `path` (leading slashes of `path` ignored):
    /// `https://api.openai.com/v1` + `chat/completions`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{}/{}", self.origin_string(), self.path, path.trim_start_matches('/'))
    }

    fn origin_string(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        if self.explicit_port {
            format!("{scheme}://{}:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}", self.host)
        }
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.origin_string(), self.path)
    }
}

/// Whether a key configured for `allowed` may be attached to a request to `url`: only when both
/// parse and their origins (scheme, host, port) are equal.
pub fn key_may_be_sent(url: &str, allowed: &Origin) -> bool {
    request_origin(url).is_some_and(|o| &o == allowed)
}

/// The origin of a full request URL (one that may carry a path but, like a base, no query,
/// fragment or user info). `None` when the URL is not of that strict form.
pub fn request_origin(url: &str) -> Option<Origin> {
    BaseUrl::parse(url).ok().map(|b| b.origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> Origin {
        BaseUrl::parse(s).expect("valid test URL").origin()
    }

    #[test]
    fn parses_common_bases() {
        let b = BaseUrl::parse("https://api.openai.com/v1").expect("ok");
        assert_eq!(b.join("chat/completions"), "https://api.openai.com/v1/chat/completions");
        let b = BaseUrl::parse("HTTP://LocalHost:8080/v1/").expect("ok");
        assert_eq!(b.join("/completions"), "http://localhost:8080/v1/completions");
        assert!(b.is_loopback());
        let b = BaseUrl::parse("https://api.deepseek.com").expect("ok");
        assert_eq!(b.join("chat/completions"), "https://api.deepseek.com/chat/completions");
        let b = BaseUrl::parse("http://[::1]:11434/v1").expect("ok");
        assert_eq!(b.join("x"), "http://[::1]:11434/v1/x");
        assert!(b.is_loopback());
        let b = BaseUrl::parse("https://api.openai.com:443/v1").expect("ok");
        assert_eq!(b.to_string(), "https://api.openai.com/v1");
    }

    #[test]
    fn refuses_tricky_urls() {
        for bad in [
            "ftp://x",
            "https://",
            "https://api.openai.com@evil.example/v1",
            "https://evil.example\\@api.openai.com",
            "https://api%2eopenai.com/v1",
            "https://аpi.openai.com/v1",
            "https://api.openai.com/v1?x=1",
            "https://api.openai.com/v1#frag",
            "https://api.openai.com:99999/v1",
            "https://api.openai.com:/v1",
            "https://api.openai.com:0/v1",
            "https://api.openai.com /v1",
            "javascript:alert(1)",
            "https://[::1/v1",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_goes_only_to_its_origin() {
        let openai = origin("https://api.openai.com/v1");
        assert!(key_may_be_sent("https://api.openai.com/v1/chat/completions", &openai));
        assert!(key_may_be_sent("https://API.OpenAI.com:443/v1/chat/completions", &openai));
        for other in [
            "https://api.openai.com.evil.example/v1/chat/completions",
            "https://evil.example/api.openai.com/v1",
            "https://evil.example/v1?host=api.openai.com",
            "https://api.openai.com@evil.example/v1",
            "https://evil.example#@api.openai.com",
            "http://api.openai.com/v1/chat/completions",
            "https://api.openai.com:8443/v1/chat/completions",
            "https://openai.com/v1",
            "not a url",
        ] {
            assert!(!key_may_be_sent(other, &openai), "{other}");
        }
    }
}
