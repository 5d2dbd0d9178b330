//! Routes, declared by each function as an enum of its operations ([`Operation`]): the function's gate, the local
//! server, `openapi.yaml` and `template.yaml` are all checked against what those enums say.

use cloudmind_security::ratelimit::PolicyId;
pub use http::Method;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// A valid bearer token.
    User,
    /// A valid bearer token of a user with the `admin` role.
    Admin,
}

/// One route of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// The path, with `{name}` for a path parameter.
    pub path: &'static str,
    /// The `operationId` of `openapi.yaml`.
    pub operation_id: &'static str,
    /// The rate-limit policy the route counts against.
    pub limits: PolicyId,
    /// The route takes a JSON body (415 without `Content-Type: application/json`).
    pub json_body: bool,
}

impl Route {
    pub const fn new(
        method: Method,
        path: &'static str,
        operation_id: &'static str,
        limits: PolicyId,
        json_body: bool,
    ) -> Self {
        Self { method, path, operation_id, limits, json_body }
    }
}

/// The operations of one function, as an enum: its handler matches on them exhaustively, so an operation without a
/// handler does not compile.
pub trait Operation: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// Every operation of the function.
    const ALL: &'static [Self];
    /// The route this operation answers.
    fn route(self) -> Route;
}

/// A path parameter, percent-decoded.
pub type Params = Vec<(&'static str, String)>;

/// What a function's routes say about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<Op> {
    Found(Op, Params),
    /// The path exists with other methods.
    MethodNotAllowed(Vec<Method>),
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

/// Finds the operation of `Op` for a method and path.
pub fn resolve<Op: Operation>(method: &Method, path: &str) -> Resolution<Op> {
    let mut allowed = Vec::new();
    for &op in Op::ALL {
        let route = op.route();
        if let Some(params) = match_path(route.path, path) {
            if route.method == *method {
                return Resolution::Found(op, params);
            }
            allowed.push(route.method);
        }
    }
    if allowed.is_empty() { Resolution::NotFound } else { Resolution::MethodNotAllowed(allowed) }
}

/// Whether one of `Op`'s routes has this path, whatever the method.
pub fn owns_path<Op: Operation>(path: &str) -> bool {
    Op::ALL.iter().any(|op| match_path(op.route().path, path).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Example {
        Get,
        Update,
        Unlock,
    }

    impl Operation for Example {
        const ALL: &'static [Self] = &[Self::Get, Self::Update, Self::Unlock];
        fn route(self) -> Route {
            match self {
                Self::Get => Route::new(Method::GET, "/api/v1/me", "getMe", PolicyId::Api, false),
                Self::Update => Route::new(Method::PATCH, "/api/v1/me", "updateMe", PolicyId::Api, true),
                Self::Unlock => Route::new(
                    Method::POST,
                    "/api/v1/admin/users/{username}/unlock",
                    "unlockUser",
                    PolicyId::Api,
                    false,
                ),
            }
        }
    }

    #[test]
    fn paths_resolve_with_decoded_parameters() {
        match resolve::<Example>(&Method::POST, "/api/v1/admin/users/al%3Aice/unlock") {
            Resolution::Found(op, params) => {
                assert_eq!(op, Example::Unlock);
                assert_eq!(params, vec![("username", "al:ice".to_string())]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_methods_list_the_allowed_ones() {
        assert_eq!(
            resolve::<Example>(&Method::DELETE, "/api/v1/me"),
            Resolution::MethodNotAllowed(vec![Method::GET, Method::PATCH])
        );
    }

    #[test]
    fn unknown_and_near_miss_paths_are_not_found() {
        for path in ["/", "/health", "/api/v1/me/", "/api/v1/admin/users//unlock", "/api/v2/me", "/API/v1/me"] {
            assert_eq!(resolve::<Example>(&Method::GET, path), Resolution::NotFound, "{path}");
            assert!(!owns_path::<Example>(path), "{path}");
        }
        assert!(owns_path::<Example>("/api/v1/me"));
    }
}
