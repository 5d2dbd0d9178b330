//! Converts the repository's `openapi.yaml` to the JSON that `GET /openapi.json` serves, at build time, so the
//! function carries no YAML parser and the document it serves is the one the contract tests check.

use std::path::Path;

fn main() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
    println!("cargo::rerun-if-changed={}", source.display());
    let text = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    let document: serde_json::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("openapi.yaml does not parse: {e}"));
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"))).join("openapi.json");
    std::fs::write(&out, document.to_string()).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
