//! The route table, declared once: the functions, the local server, `openapi.yaml` and `template.yaml` are checked
//! against it.

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// A valid bearer token.
    User,
    /// A valid bearer token of a user with the `admin` role.
    Admin,
}

/// Which rate-limit policy a route counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitPolicy {
    Login,
    Register,
    /// Per IP and, once the token is verified, per user.
    Api,
    Health,
}

/// One route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// The path, with `{name}` for a path parameter.
    pub path: &'static str,
    /// The Lambda that owns it (the crate `functions/<function>`).
    pub function: &'static str,
    pub operation: &'static str,
    pub access: Access,
    pub limits: LimitPolicy,
    /// The route takes a JSON body (415 without `Content-Type: application/json`).
    pub json_body: bool,
}

const fn route(
    method: &'static str,
    path: &'static str,
    function: &'static str,
    operation: &'static str,
    access: Access,
    limits: LimitPolicy,
    json_body: bool,
) -> Route {
    Route { method, path, function, operation, access, limits, json_body }
}

use Access::*;
use LimitPolicy::*;

/// Every route of the API contract.
pub const ROUTES: &[Route] = &[
    route("POST", "/api/v1/auth/register", "register", "register", Public, Register, true),
    route("POST", "/api/v1/auth/login", "login", "login", Public, Login, true),
    route("POST", "/api/v1/auth/logout", "logout", "logout", User, Api, false),
    route("GET", "/api/v1/me", "protected", "getMe", User, Api, false),
    route("PATCH", "/api/v1/me", "protected", "updateMe", User, Api, true),
    route("PUT", "/api/v1/me/password", "protected", "changePassword", User, Api, true),
    route("GET", "/api/v1/admin/rate-limit-stats", "admin", "getRateLimitStats", Admin, Api, false),
    route("GET", "/api/v1/admin/security-events", "admin", "listSecurityEvents", Admin, Api, false),
    route("POST", "/api/v1/admin/users/{username}/unlock", "admin", "unlockUser", Admin, Api, false),
    route("DELETE", "/api/v1/admin/blocks/{key}", "admin", "deleteBlock", Admin, Api, false),
    route("GET", "/health", "health", "getHealth", Public, Health, false),
];

/// The names of the functions, one crate and one Lambda each.
pub const FUNCTIONS: &[&str] = &["register", "login", "logout", "protected", "admin", "health"];

/// A path parameter, percent-decoded.
pub type Params = Vec<(&'static str, String)>;

/// What the table says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Found(&'static Route, Params),
    /// The path exists with other methods.
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

/// Matches a concrete path against a pattern; the decoded parameters when it matches.
pub fn match_path(pattern: &'static str, path: &str) -> Option<Params> {
    let mut params = Vec::new();
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(s)) if p.starts_with('{') && p.ends_with('}') => {
                if s.is_empty() {
                    return None;
                }
                let value = percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
                params.push((&p[1..p.len() - 1], value));
            }
            (Some(p), Some(s)) if p == s => {}
            _ => return None,
        }
    }
}

/// Finds the route for a method and path.
pub fn resolve(method: &str, path: &str) -> Resolution {
    let mut allowed = Vec::new();
    for route in ROUTES {
        if let Some(params) = match_path(route.path, path) {
            if route.method == method {
                return Resolution::Found(route, params);
            }
            allowed.push(route.method);
        }
    }
    if allowed.is_empty() { Resolution::NotFound } else { Resolution::MethodNotAllowed(allowed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_with_decoded_parameters() {
        match resolve("DELETE", "/api/v1/admin/blocks/ip%3A203.0.113.9") {
            Resolution::Found(r, params) => {
                assert_eq!(r.operation, "deleteBlock");
                assert_eq!(params, vec![("key", "ip:203.0.113.9".to_string())]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_methods_list_the_allowed_ones() {
        assert_eq!(resolve("DELETE", "/api/v1/me"), Resolution::MethodNotAllowed(vec!["GET", "PATCH"]));
        assert_eq!(resolve("POST", "/health"), Resolution::MethodNotAllowed(vec!["GET"]));
    }

    #[test]
    fn unknown_and_near_miss_paths_are_not_found() {
        for path in ["/", "/health/", "/api/v1/me/", "/api/v1/admin/users//unlock", "/api/v2/me", "/HEALTH"] {
            assert_eq!(resolve("GET", path), Resolution::NotFound, "{path}");
        }
    }

    #[test]
    fn every_route_belongs_to_a_known_function() {
        for r in ROUTES {
            assert!(FUNCTIONS.contains(&r.function), "{r:?}");
        }
    }
}
