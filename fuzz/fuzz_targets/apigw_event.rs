//! Any API Gateway event (REST or HTTP API, as JSON) through the function that owns its path, as Lambda delivers
//! it, on the in-memory stores: never a 500, never a panic, and every answer carries the security headers; an error
//! answer is a problem document with a `code`.
//!
//! Each input gets a fresh application (fresh stores and limits), so a run does not depend on the ones before it.
#![no_main]

use std::collections::HashMap;

use cloudmind_serving::config::Settings;
use cloudmind_wiring::Wiring;
use cloudmind_registry::App;
use libfuzzer_sys::fuzz_target;

static RUNTIME: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("runtime: {e}"))
});

fn settings() -> Settings {
    let vars: HashMap<&str, &str> =
        [("JWT_SECRET_KEY", "cloudmind-fuzz-0123456789-abcdefghijklmnopqrstuvwxyz"), ("ENVIRONMENT", "test")]
            .into_iter()
            .collect();
    Settings::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap_or_else(|e| panic!("settings: {e}"))
}

/// The event as the Lambda runtime turns it into a request. `lambda_http` panics on some events API Gateway does not
/// send (a `Host` header with a space, say: `Url::parse(..).unwrap()` in `build_request_uri`); the runtime's panic
/// layer turns that into an invocation error before any CloudMind code runs, so such inputs are skipped here.
fn runtime_conversion(text: &str) -> Option<Result<cloudmind_serving::Request, serde_json::Error>> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let converted = std::panic::catch_unwind(|| lambda_http::request::from_str(text)).ok();
    std::panic::set_hook(hook);
    converted
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some(Ok(request)) = runtime_conversion(text) else { return };
    RUNTIME.block_on(async {
        let wiring = Wiring::new(settings());
        let app = App::build(&wiring).await.unwrap_or_else(|e| panic!("the in-memory wiring builds: {e}"));
        let response = app.dispatch(request).await;
        let status = response.status().as_u16();
        assert_ne!(status, 500, "an event got a 500: {:?}", response.body());
        assert!(response.headers().contains_key("x-content-type-options"), "{status} without security headers");
        if status >= 400 && status != 405 {
            let body: serde_json::Value = serde_json::from_slice(response.body().as_ref())
                .unwrap_or_else(|e| panic!("{status} body is not JSON: {e}"));
            assert!(body["code"].is_string(), "{status} without a problem code: {body}");
        }
    });
});
