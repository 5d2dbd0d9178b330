//! The `health` Lambda.

fn main() -> Result<(), lambda_http::Error> {
    cloudmind_platform::function::run_lambda::<cloudmind_health::Health>()
}
