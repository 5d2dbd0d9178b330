//! Floor F1 of `make bench`: a `lambda_runtime` function that echoes nothing, on a `current_thread` runtime.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async { Ok::<_, Error>(Value::Null) })).await
}
