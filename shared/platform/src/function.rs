//! What a CloudMind function is: a name, an enum of its operations, the kind of caller it admits, how its state is
//! built from the ports it uses, and its handler. The Lambda `main`s ([`run_lambda`]), the local server and the
//! tests all go through this one definition.

use std::future::Future;

use cloudmind_security::ApiError;
use lambda_http::{Body, Request, Response, service_fn};

use crate::gate::{Call, Caller, Gate, Reply};
use crate::routes::{Access, Operation, Route};
use crate::wiring::{Wiring, WiringError};

/// One Lambda function of the bundle.
pub trait Function: Sized + Send + Sync + 'static {
    /// The crate `functions/<NAME>`, the binary `NAME`, the `Binary` of its template resource.
    const NAME: &'static str;
    /// Its operations, one route each.
    type Op: Operation;
    /// Who may call it; the gate proves it before [`Function::handle`] runs.
    type Caller: Caller;

    /// Builds the state from the ports it needs, once per execution environment.
    fn build(wiring: &Wiring) -> impl Future<Output = Result<Self, WiringError>> + Send;

    /// The gate its requests pass.
    fn gate(&self) -> &Gate;

    /// Answers one operation of a request that passed the gate.
    fn handle(&self, op: Self::Op, call: Call<Self::Caller>) -> impl Future<Output = Result<Reply, ApiError>> + Send;
}

/// Answers a request as the function's Lambda does: the gate's checks, then the handler.
pub async fn answer<F: Function>(function: &F, req: Request) -> Response<Body> {
    function.gate().serve(req, |op: F::Op, call| function.handle(op, call)).await
}

/// The routes of a function.
pub fn routes<F: Function>() -> impl Iterator<Item = Route> {
    F::Op::ALL.iter().map(|op| op.route())
}

/// Who may call a function's routes.
pub fn access<F: Function>() -> Access {
    <F::Caller as Caller>::ACCESS
}

/// The whole `main` of a function's Lambda: telemetry, settings and the function's ports once per execution
/// environment, then the runtime loop on a single-threaded runtime (Lambda sends one request at a time).
pub fn run_lambda<F: Function>() -> Result<(), lambda_http::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        crate::telemetry::init();
        let wiring = Wiring::lambda(crate::config::Settings::from_env()?);
        // An init that cannot build its ports (Secrets Manager unreachable, say) says which and why, then fails.
        let function = F::build(&wiring).await.inspect_err(|e| {
            tracing::error!(event = "init_failed", function = F::NAME, error = %cloudmind_security::store::error_chain(e));
        })?;
        lambda_http::run(service_fn(|req| async { Ok::<_, lambda_http::Error>(answer(&function, req).await) })).await
    })
}
