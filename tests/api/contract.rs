//! The route table, `openapi.yaml`, the function crates and the event fixtures describe the same API.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cloudmind_platform::routes::{FUNCTIONS, ROUTES};
use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn routes() -> BTreeSet<(String, String, String)> {
    ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_string(), r.function.to_string())).collect()
}

#[test]
fn openapi_describes_exactly_the_routes_the_server_mounts() {
    let spec: Value = serde_yaml::from_str(&std::fs::read_to_string(root().join("openapi.yaml")).unwrap()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for (method, op) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap().to_uppercase();
            if ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"].contains(&method.as_str()) {
                let function = op["x-cloudmind-function"].as_str().unwrap_or("?").to_string();
                documented.insert((method, path.as_str().unwrap().to_string(), function));
            }
        }
    }
    assert_eq!(documented, routes());
}

#[test]
fn openapi_operation_ids_match_the_route_table() {
    let spec: Value = serde_yaml::from_str(&std::fs::read_to_string(root().join("openapi.yaml")).unwrap()).unwrap();
    for r in ROUTES {
        let op = &spec["paths"][r.path][r.method.to_lowercase().as_str()];
        assert_eq!(op["operationId"].as_str(), Some(r.operation), "{} {}", r.method, r.path);
        let public = op["security"].as_sequence().is_some_and(|s| s.is_empty());
        assert_eq!(public, r.access == cloudmind_platform::routes::Access::Public, "{} {}", r.method, r.path);
    }
}

#[test]
fn every_function_has_a_crate_and_every_crate_a_function() {
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let functions: BTreeSet<String> = FUNCTIONS.iter().map(|f| f.to_string()).collect();
    assert_eq!(crates, functions);
    let owners: BTreeSet<String> = ROUTES.iter().map(|r| r.function.to_string()).collect();
    assert_eq!(owners, functions, "every function owns a route");
}

#[test]
fn every_function_has_event_fixtures() {
    for f in FUNCTIONS {
        let any = std::fs::read_dir(root().join("events"))
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(&format!("{f}-")) || *f == "health");
        assert!(any, "no events/{f}-*.json");
    }
}
