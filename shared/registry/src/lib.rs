//! Every CloudMind function in one list ([`registry!`] below): the local server, the fixture tests and the checks of
//! `openapi.yaml` and `template.yaml` read it. A new function is a crate under `functions/`, one line here and one
//! in this crate's `Cargo.toml`, plus its routes in `openapi.yaml` and its resource in `template.yaml`.
//!
//! The Lambdas do not link this crate: each `main` runs its own function alone
//! (`cloudmind_wiring::run_lambda`).

pub mod admin;
mod parse_errors;
pub mod server;

use std::collections::BTreeSet;

use cloudmind_serving::function::{Function, Port, WiringError, access, answer, routes};
use cloudmind_serving::routes::{Access, Route, owns_path};
use cloudmind_serving::{Body, Request, Response};
use cloudmind_wiring::Wiring;

/// A route with the function that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub function: FunctionId,
    pub route: Route,
    pub access: Access,
}

macro_rules! registry {
    ($($id:ident($field:ident): $function:ty),* $(,)?) => {
        /// The functions of the bundle.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FunctionId {
            $($id),*
        }

        impl FunctionId {
            pub const ALL: &'static [FunctionId] = &[$(FunctionId::$id),*];

            /// The crate, binary and template `Binary` name.
            pub fn name(self) -> &'static str {
                match self {
                    $(FunctionId::$id => <$function as Function>::NAME),*
                }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|f| f.name() == name)
            }

            /// Who may call it.
            pub fn access(self) -> Access {
                match self {
                    $(FunctionId::$id => access::<$function>()),*
                }
            }

            /// Its routes.
            pub fn routes(self) -> Vec<Route> {
                match self {
                    $(FunctionId::$id => routes::<$function>().collect()),*
                }
            }

            /// Whether one of its routes has this path (whatever the method).
            pub fn owns_path(self, path: &str) -> bool {
                match self {
                    $(FunctionId::$id => owns_path::<<$function as Function>::Op>(path)),*
                }
            }

            /// Builds this function alone, as its Lambda's init does, and answers one request.
            pub async fn build_and_answer(self, wiring: &Wiring, req: Request) -> Result<Response<Body>, WiringError> {
                match self {
                    $(FunctionId::$id => Ok(answer(&Box::pin(<$function>::build(wiring)).await?, req).await)),*
                }
            }

            /// The ports its `build` asks for, found by building it alone on in-memory stores.
            pub async fn ports(self, wiring: Wiring) -> Result<BTreeSet<Port>, WiringError> {
                match self {
                    $(FunctionId::$id => { Box::pin(<$function>::build(&wiring)).await?; }),*
                }
                Ok(wiring.used())
            }
        }

        /// Every function's state, built once over shared ports (the local server, the tests).
        pub struct App {
            $(pub $field: $function),*
        }

        impl App {
            pub async fn build(wiring: &Wiring) -> Result<Self, WiringError> {
                // Boxed: six nested init futures in one would overflow the compiler's layout depth.
                let app = Self { $($field: Box::pin(<$function>::build(wiring)).await?),* };
                start_mail_worker(wiring).await?;
                Ok(app)
            }

            /// Answers a request as the function `id`'s Lambda would.
            pub async fn answer(&self, id: FunctionId, req: Request) -> Response<Body> {
                match id {
                    $(FunctionId::$id => answer(&self.$field, req).await),*
                }
            }
        }
    };
}

registry! {
    Register(register): cloudmind_register::Register,
    Login(login): cloudmind_login::Login,
    Logout(logout): cloudmind_logout::Logout,
    Protected(protected): cloudmind_protected::Protected,
    Admin(admin): cloudmind_admin::Admin,
    Health(health): cloudmind_health::Health,
}

/// Runs the mail worker in this process: the jobs the functions queue are spawned on the runtime at once (the
/// local server and the tests; in AWS the `mailer` function runs them from the table's stream).
async fn start_mail_worker(wiring: &Wiring) -> Result<(), WiringError> {
    let Some(queue) = wiring.in_process_queue() else { return Ok(()) };
    let worker = std::sync::Arc::new(Box::pin(cloudmind_mailer::MailWorker::build(wiring)).await?);
    queue.set_runner(std::sync::Arc::new(move |job| {
        let worker = worker.clone();
        Box::pin(async move { worker.run(job).await }) as futures_util::future::BoxFuture<'static, ()>
    }));
    Ok(())
}

/// Every route of the bundle, with its function.
pub fn all_routes() -> Vec<RouteEntry> {
    FunctionId::ALL
        .iter()
        .flat_map(|&f| f.routes().into_iter().map(move |route| RouteEntry { function: f, route, access: f.access() }))
        .collect()
}

impl App {
    /// Sends a request to the function that owns its path, as API Gateway would (the template maps every method
    /// of a path to its function, so that function answers 405 and CORS preflights). Paths no function owns go to
    /// the health function's gate, which answers 404 like any other.
    pub async fn dispatch(&self, req: Request) -> Response<Body> {
        let path = req.uri().path();
        let owner = FunctionId::ALL.iter().copied().find(|f| f.owns_path(path)).unwrap_or(FunctionId::Health);
        self.answer(owner, req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmind_serving::routes::Operation;

    #[test]
    fn no_two_functions_share_a_path_and_operation_ids_are_unique() {
        let routes = all_routes();
        for a in &routes {
            for b in &routes {
                if a.function != b.function {
                    assert_ne!(a.route.path, b.route.path, "{a:?} / {b:?}");
                }
                if a != b {
                    assert_ne!(a.route.operation_id, b.route.operation_id);
                }
            }
        }
        assert!(FunctionId::ALL.iter().all(|f| !f.routes().is_empty()), "every function owns a route");
    }

    #[test]
    fn operations_list_every_variant_once() {
        fn distinct<Op: Operation>() -> bool {
            Op::ALL.iter().enumerate().all(|(i, a)| Op::ALL[i + 1..].iter().all(|b| a != b))
        }
        assert!(distinct::<cloudmind_protected::Op>() && distinct::<cloudmind_admin::Op>());
    }
}
