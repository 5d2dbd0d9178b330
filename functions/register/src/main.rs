//! The `register` Lambda.

fn main() -> Result<(), lambda_http::Error> {
    cloudmind_wiring::run_lambda::<cloudmind_register::Register>()
}
