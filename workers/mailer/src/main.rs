//! `mailer`: the mail worker in AWS. The security table's stream hands it each new `MAILJOB#` item (an event filter
//! lets nothing else through); it runs the jobs one after another. It runs outside the VPC: SES has no VPC endpoint
//! for its API, and the worker needs only DynamoDB and SES, both reached over their public endpoints with IAM.

use cloudmind_adapters::aws::dynamo::mailjobs::jobs_of_stream_event;
use cloudmind_mailer::MailWorker;
use cloudmind_serving::config::Settings;
use cloudmind_wiring::Wiring;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    cloudmind_serving::telemetry::init();
    let wiring = Wiring::lambda(Settings::from_env()?);
    let worker = MailWorker::build(&wiring).await?;
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let jobs = jobs_of_stream_event(&event.payload);
        tracing::info!(event = "mail_jobs", count = jobs.len());
        for (id, job) in jobs {
            worker.run_queued(&id, job).await;
        }
        Ok::<(), Error>(())
    }))
    .await
}
