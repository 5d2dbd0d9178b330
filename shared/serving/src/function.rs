//! What a CloudMind function is ([`Function`]: a name, an enum of its operations, the kind of caller it admits,
//! how its state is built, its handler) and what it is built from ([`Ports`]: the ports it may ask for). The Lambda
//! `main`s (`cloudmind_wiring::run_lambda`), the local server and the tests all go through this one definition.
//!
//! The wiring crate implements [`Ports`] with the adapters the settings choose; a function crate sees only the
//! trait, so it cannot reach an adapter, and asks only for what it uses (the template grants it exactly that).

use std::future::Future;
use std::sync::Arc;

use cloudmind_security::ApiError;
use cloudmind_security::account::AccountData;
use cloudmind_security::breach::BreachedPasswords;
use cloudmind_security::devices::DeviceStore;
use cloudmind_security::events::EventSink;
use cloudmind_security::links::LinkStore;
use cloudmind_security::lockout::LockoutStore;
use cloudmind_security::mail::{MailQueue, Mailer};
use cloudmind_security::mfa::{MfaKeys, MfaStore};
use cloudmind_security::ratelimit::Limiter;
use cloudmind_security::sessions::SessionStore;
use cloudmind_security::store::StoreKind;
use cloudmind_security::tokens::{KeyProvider, TokenService};
use cloudmind_security::users::{SessionLookup, UserStore};
use lambda_http::{Body, Request, Response};

use crate::config::{ConfigError, KeySource, Settings};
use crate::gate::{Authenticator, Call, Caller, Gate, Reply};
use crate::observe::Observer;
use crate::routes::{Access, Operation, Route};

/// One Lambda function of the bundle.
pub trait Function: Sized + Send + Sync + 'static {
    /// The crate `functions/<NAME>`, the binary `NAME`, the `Binary` of its template resource.
    const NAME: &'static str;
    /// Its operations, one route each.
    type Op: Operation;
    /// Who may call it; the gate proves it before [`Function::handle`] runs.
    type Caller: Caller;

    /// Builds the state from the ports it needs, once per execution environment.
    fn build<P: Ports>(ports: &P) -> impl Future<Output = PortResult<Self>> + Send;

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

/// A port a function can ask for: what it may touch, and so what the template grants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Port {
    Users,
    Sessions,
    Lockouts,
    Events,
    Limiter,
    /// Signing keys: Secrets Manager in AWS.
    Keys,
    /// Sessions and refresh-token hashes (logins, refreshes, logouts, the sessions list).
    SessionRecords,
    /// Mailed links (verification, reset) and their send limits.
    Links,
    /// The queue of mail jobs (a security-table item in AWS).
    MailQueue,
    /// The mail transport: SES in AWS.
    Mail,
    /// Everything stored under a user (an erasure, an export).
    Account,
}

/// Why a port could not be built. Never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("in Lambda, {0} is required (memory stores are per instance)")]
    Required(&'static str),
    #[error("{port:?} could not be built")]
    Backend {
        port: Port,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A port, or why it could not be had.
pub type PortResult<T> = Result<T, WiringError>;

/// The ports of one process (a Lambda execution environment, or the local server), each built on first use and
/// shared afterwards.
pub trait Ports: Send + Sync {
    fn settings(&self) -> &Settings;
    /// Where users and the audit trail live.
    fn store_kind(&self) -> StoreKind;

    fn users(&self) -> impl Future<Output = PortResult<Arc<dyn UserStore>>> + Send;
    /// A token's session and its user, read together.
    fn sessions(&self) -> impl Future<Output = PortResult<Arc<dyn SessionLookup>>> + Send;
    /// Sessions and their refresh-token hashes.
    fn session_store(&self) -> impl Future<Output = PortResult<Arc<dyn SessionStore>>> + Send;
    fn lockouts(&self) -> impl Future<Output = PortResult<Arc<dyn LockoutStore>>> + Send;
    fn events(&self) -> impl Future<Output = PortResult<Arc<dyn EventSink>>> + Send;
    fn limiter(&self) -> impl Future<Output = PortResult<Arc<dyn Limiter>>> + Send;
    /// The signing keys, and where they came from.
    fn keys(&self) -> impl Future<Output = PortResult<(Arc<dyn KeyProvider>, KeySource)>> + Send;
    /// MFA state (on the users) and login challenges.
    fn mfa(&self) -> impl Future<Output = PortResult<Arc<dyn MfaStore>>> + Send;
    /// The key that seals MFA secrets.
    fn mfa_keys(&self) -> impl Future<Output = PortResult<MfaKeys>> + Send;
    /// Trusted devices.
    fn devices(&self) -> impl Future<Output = PortResult<Arc<dyn DeviceStore>>> + Send;
    /// The breached-password check.
    fn breach(&self) -> impl Future<Output = PortResult<Arc<dyn BreachedPasswords>>> + Send;
    /// Mailed links.
    fn links(&self) -> impl Future<Output = PortResult<Arc<dyn LinkStore>>> + Send;
    /// The queue to the mail worker.
    fn mail_queue(&self) -> impl Future<Output = PortResult<Arc<dyn MailQueue>>> + Send;
    /// The mail transport (the mail worker's).
    fn mailer(&self) -> impl Future<Output = PortResult<Arc<dyn Mailer>>> + Send;
    /// What is stored under a user besides the user item.
    fn account_data(&self) -> impl Future<Output = PortResult<Arc<dyn AccountData>>> + Send;

    /// Where what happens is reported: the log, the metrics and the audit trail.
    fn observer(&self) -> impl Future<Output = PortResult<Observer>> + Send {
        async { Ok(Observer::new(self.events().await?)) }
    }

    /// Issues and verifies tokens with [`Ports::keys`].
    fn tokens(&self) -> impl Future<Output = PortResult<TokenService>> + Send {
        async { Ok(TokenService::new(self.settings().token.clone(), self.keys().await?.0)) }
    }

    /// The gate of function `F`: for authenticated callers it verifies tokens and looks sessions up.
    fn gate<F: Function>(&self) -> impl Future<Output = PortResult<Gate>> + Send {
        async {
            let auth = match access::<F>() {
                Access::Public => None,
                Access::User | Access::Admin => Some(Authenticator {
                    tokens: self.tokens().await?,
                    sessions: self.sessions().await?,
                    session_idle_ms: self.settings().sessions.idle_ms,
                }),
            };
            Ok(Gate::new(F::NAME, self.settings(), self.limiter().await?, self.observer().await?, auth))
        }
    }
}
