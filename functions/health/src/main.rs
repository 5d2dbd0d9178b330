//! The `health` Lambda: wiring only (telemetry, settings and backends once per execution environment).

use lambda_http::{Error, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (settings, backends) = cloudmind_platform::startup::lambda_init().await?;
    let state = cloudmind_health::State::new(&settings, &backends);
    lambda_http::run(service_fn(|req| async { Ok::<_, Error>(cloudmind_health::handle(&state, req).await) })).await
}
