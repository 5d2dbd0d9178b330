//! The function registry, `openapi.yaml`, `template.yaml`, the function crates and the event fixtures describe the
//! same API.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cloudmind_registry::{FunctionId, all_routes};
use cloudmind_serving::function::Port;
use cloudmind_serving::routes::Access;
use cloudmind_wiring::Wiring;
use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn routes() -> BTreeSet<(String, String, String)> {
    all_routes()
        .iter()
        .map(|r| (r.route.method.to_string(), r.route.path.to_string(), r.function.name().to_string()))
        .collect()
}

fn function_names() -> BTreeSet<String> {
    FunctionId::ALL.iter().map(|f| f.name().to_string()).collect()
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
    for entry in all_routes() {
        let r = entry.route;
        let op = &spec["paths"][r.path][r.method.as_str().to_lowercase().as_str()];
        assert_eq!(op["operationId"].as_str(), Some(r.operation_id), "{} {}", r.method, r.path);
        let public = op["security"].as_sequence().is_some_and(|s| s.is_empty());
        assert_eq!(public, entry.access == Access::Public, "{} {}", r.method, r.path);
    }
}

#[test]
fn every_function_has_a_crate_and_every_crate_a_function() {
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(crates, function_names());
    let owners: BTreeSet<String> = all_routes().iter().map(|r| r.function.name().to_string()).collect();
    assert_eq!(owners, function_names(), "every function owns a route");
}

#[test]
fn every_function_has_event_fixtures() {
    for f in FunctionId::ALL.iter().map(|f| f.name()) {
        let any = std::fs::read_dir(root().join("events"))
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(&format!("{f}-")) || f == "health");
        assert!(any, "no events/{f}-*.json");
    }
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

/// One line of `functions.tsv`: a Lambda of the template.
#[derive(Debug, Clone)]
struct ListedFunction {
    /// The logical id without its `Function` suffix (`Register`).
    id: String,
    binary: String,
    krate: String,
    /// `api` (routes through API Gateway) or `rotation`.
    kind: String,
    /// The cargo profile of its Lambda binary: `release` (speed) or `release-size`.
    profile: String,
}

fn listed_functions() -> Vec<ListedFunction> {
    let text = std::fs::read_to_string(root().join("functions.tsv")).expect("functions.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 5, "functions.tsv: {line:?} is not id, binary, crate, kind, profile");
            ListedFunction {
                id: cols[0].into(),
                binary: cols[1].into(),
                krate: cols[2].into(),
                kind: cols[3].into(),
                profile: cols[4].into(),
            }
        })
        .collect()
}

/// The binary `sam build` packages for a template function: the Makefile's `build-<LogicalId>` target (SAM's
/// `makefile` build method) copies the binary `functions.tsv` names for it.
fn makefile_binary(logical_id: &str) -> Option<String> {
    let id = logical_id.strip_suffix("Function")?;
    listed_functions().into_iter().find(|f| f.id == id).map(|f| f.binary)
}

/// A template function: logical id, binary, and its `(METHOD, path)` routes.
type TemplateFunction = (String, String, BTreeSet<(String, String)>);

/// The template's functions.
fn template_functions() -> Vec<TemplateFunction> {
    let t = template();
    let mut out = Vec::new();
    for (id, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id_str = id.as_str().expect("logical id");
        assert_eq!(resource["Metadata"]["BuildMethod"].as_str(), Some("makefile"), "{id:?}");
        let binary = makefile_binary(id_str).unwrap_or_else(|| panic!("the Makefile has no build-{id_str} target"));
        let mut routes = BTreeSet::new();
        if let Some(events) = resource["Properties"]["Events"].as_mapping() {
            for (_, event) in events {
                if event["Type"].as_str() == Some("Api") {
                    let p = &event["Properties"];
                    let (method, path) = (p["Method"].as_str().unwrap().to_uppercase(), p["Path"].as_str().unwrap());
                    if method == "ANY" {
                        // The catch-all of a path (405 with Allow, CORS preflight): owned by the same function.
                        assert!(
                            all_routes().iter().any(|r| r.route.path == path && r.function.name() == binary),
                            "ANY {path} goes to {binary}, which owns no route there"
                        );
                    } else {
                        routes.insert((method, path.to_string()));
                    }
                }
            }
        }
        out.push((id.as_str().unwrap().to_string(), binary, routes));
    }
    out
}

#[test]
fn the_template_serves_exactly_the_routes_of_the_route_table_and_openapi() {
    let mut deployed = BTreeSet::new();
    for (_, binary, routes) in template_functions() {
        for (method, path) in routes {
            deployed.insert((method, path, binary.clone()));
        }
    }
    assert_eq!(deployed, routes());
}

#[test]
fn every_template_function_has_a_crate_and_every_crate_a_template_function() {
    let mut binaries: BTreeSet<String> = template_functions().into_iter().map(|(_, b, _)| b).collect();
    // The signing secret's rotation function serves no route: Secrets Manager invokes it.
    assert!(binaries.remove("key-rotation"), "the template rotates the signing secret");
    assert!(root().join("rotation/key-rotation/src/main.rs").exists());
    // The mail worker serves none either: the security table's stream feeds it.
    assert!(binaries.remove("mailer"), "the template sends mail");
    assert!(root().join("workers/mailer/src/main.rs").exists());
    assert_eq!(binaries, function_names());
    for f in function_names() {
        assert!(root().join("functions").join(&f).join("src/main.rs").exists(), "{f}");
    }
}

/// Every `Action` anywhere under `v` (IAM statements in functions, roles and policies).
fn actions(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                if k.as_str() == Some("NotAction") {
                    // A NotAction statement grants everything else: as wide as a wildcard.
                    out.push("NotAction (everything else: *)".into());
                } else if k.as_str() == Some("Action") {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        Value::Sequence(items) => {
                            out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string)))
                        }
                        _ => out.push(format!("{v:?}")),
                    }
                } else {
                    actions(v, out);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| actions(i, out)),
        Value::Tagged(t) => actions(&t.value, out),
        _ => {}
    }
}

#[test]
fn no_policy_grants_a_wildcard_action() {
    let mut all = Vec::new();
    actions(&template()["Resources"], &mut all);
    assert!(!all.is_empty(), "the template declares its permissions");
    for action in &all {
        assert!(!action.contains('*'), "wildcard action {action}");
    }
}

/// The IAM actions granted to the function resource that `sam build` builds from `binary`.
fn granted_actions(binary: &str) -> Vec<String> {
    let t = template();
    let resource = t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .find(|(id, _)| id.as_str().and_then(makefile_binary).as_deref() == Some(binary))
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no template function for {binary}"));
    let mut out = Vec::new();
    actions(&resource["Properties"]["Policies"], &mut out);
    out
}

#[tokio::test]
async fn each_function_is_granted_secrets_manager_and_batch_reads_exactly_when_it_builds_their_ports() {
    for &function in FunctionId::ALL {
        let settings = cloudmind_serving::config::Settings::from_lookup(|_| None).unwrap();
        let ports = function.ports(Wiring::new(settings)).await.unwrap();
        let grants = granted_actions(function.name());
        let reads_secret = grants.iter().any(|a| a == "secretsmanager:GetSecretValue");
        assert_eq!(
            ports.contains(&Port::Keys),
            reads_secret,
            "{}: ports {ports:?}, grants {grants:?}",
            function.name()
        );
        let uses_dynamodb = ports.iter().any(|p| *p != Port::Keys && *p != Port::Limiter);
        assert_eq!(uses_dynamodb, grants.iter().any(|a| a.starts_with("dynamodb:")), "{}", function.name());
        // The session lookup (protected requests, refreshes) is one BatchGetItem over both tables.
        let batch_reads = grants.iter().any(|a| a == "dynamodb:BatchGetItem");
        assert_eq!(ports.contains(&Port::Sessions), batch_reads, "{}: ports {ports:?}", function.name());
        // Requests queue mail; only the worker sends it.
        assert!(!ports.contains(&Port::Mail), "{}: ports {ports:?}", function.name());
        assert!(!grants.iter().any(|a| a.starts_with("ses:")), "{}: {grants:?}", function.name());
    }
    // The mail worker: the transport (ses:SendEmail) and the stores, no key.
    let wiring = Wiring::new(cloudmind_serving::config::Settings::from_lookup(|_| None).unwrap());
    Box::pin(cloudmind_mailer::MailWorker::build(&wiring)).await.unwrap();
    let ports = wiring.used();
    let grants = granted_actions("mailer");
    assert!(ports.contains(&Port::Mail) && grants.contains(&"ses:SendEmail".to_string()), "{ports:?} {grants:?}");
    assert!(!ports.contains(&Port::Keys) && !grants.iter().any(|a| a.starts_with("secretsmanager:")), "{grants:?}");
}

/// Each statement of a policy document: its actions and the YAML of its resources.
fn statements(policy: &Value) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut visit = |statement: &Value| {
        let mut actions_of = Vec::new();
        actions(
            &Value::Mapping([(Value::from("Action"), statement["Action"].clone())].into_iter().collect()),
            &mut actions_of,
        );
        out.push((actions_of, format!("{:?}", statement["Resource"])));
    };
    for statement in policy["Statement"].as_sequence().into_iter().flatten() {
        match statement {
            // `!If [condition, statement, !Ref AWS::NoValue]`
            Value::Tagged(t) => t.value.as_sequence().and_then(|v| v.get(1)).into_iter().for_each(&mut visit),
            statement => visit(statement),
        }
    }
    out
}

/// Every function but the mail worker runs in the private subnets, and what each is granted on DynamoDB and Secrets
/// Manager passes the VPC endpoints' policies (a call the endpoint refuses fails in AWS only: nothing local
/// would notice).
#[test]
fn the_vpc_endpoints_let_through_what_the_functions_in_the_vpc_are_granted() {
    let t = template();
    let endpoint = |id: &str| statements(&t["Resources"][id]["Properties"]["PolicyDocument"]);
    let dynamodb_endpoint: BTreeSet<String> = endpoint("DynamoDbEndpoint").into_iter().flat_map(|(a, _)| a).collect();
    let secrets_endpoint = endpoint("SecretsManagerEndpoint");
    assert!(t["Globals"]["Function"]["VpcConfig"].is_null(), "VpcConfig is per function (the worker has none)");
    for f in listed_functions() {
        let function = &t["Resources"][format!("{}Function", f.id).as_str()]["Properties"];
        if f.binary == "mailer" {
            assert!(function["VpcConfig"].is_null(), "the mail worker needs SES's public endpoint");
            continue;
        }
        assert!(!function["VpcConfig"]["SubnetIds"].is_null(), "{} is not in the private subnets", f.id);
        let mut granted = Vec::new();
        for policy in function["Policies"].as_sequence().into_iter().flatten() {
            granted.extend(statements(policy));
        }
        for (actions, resource) in granted {
            for action in actions {
                if action.starts_with("dynamodb:") {
                    assert!(dynamodb_endpoint.contains(&action), "{}: {action} is refused by DynamoDbEndpoint", f.id);
                } else if action.starts_with("secretsmanager:") {
                    let single = resource.trim_start_matches("Sequence([").trim_end_matches("])").to_string();
                    let allowed = secrets_endpoint
                        .iter()
                        .any(|(a, r)| a.contains(&action) && (r == &resource || r.contains(&single)));
                    assert!(allowed, "{}: {action} on {resource} is refused by SecretsManagerEndpoint", f.id);
                } else {
                    panic!("{}: {action} has no VPC endpoint", f.id);
                }
            }
        }
    }
}

#[tokio::test]
async fn the_docs_page_and_openapi_json_are_served_with_their_own_policy() {
    let app = cloudmind_tests::TestApp::spawn().await;
    let served: serde_json::Value =
        app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let yaml = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    let source: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(served, source, "/openapi.json is openapi.yaml");
    let r = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    for directive in
        ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]
    {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe") && !csp.contains("http"), "{csp}");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"src="docs/docs.js""#) && !page.contains("<script>"), "no inline script");
    for (path, media) in
        [("/docs/docs.js", "text/javascript; charset=utf-8"), ("/docs/docs.css", "text/css; charset=utf-8")]
    {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!((r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()), (200, media));
    }
}

#[test]
fn openapi_lists_every_security_event_type() {
    let spec: Value = serde_yaml::from_str(&std::fs::read_to_string(root().join("openapi.yaml")).unwrap()).unwrap();
    let listed: BTreeSet<String> = spec["components"]["schemas"]["SecurityEventType"]["enum"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let kinds: BTreeSet<String> =
        cloudmind_security::events::EventKind::ALL.iter().map(|k| k.as_str().to_string()).collect();
    assert_eq!(listed, kinds);
}

/// A body field the server treats as a secret (never scanned by the detector, never echoed or logged) is
/// `writeOnly` in openapi.yaml wherever a request schema has it, and the other way round: the probe and clients read
/// `writeOnly` to know which fields take any character (an XSS payload in a reset token is a bad link, not an
/// attack).
#[test]
fn openapi_marks_exactly_the_secret_body_fields_write_only() {
    use cloudmind_security::validation::SECRET_FIELDS;
    let spec: Value = serde_yaml::from_str(&std::fs::read_to_string(root().join("openapi.yaml")).unwrap()).unwrap();
    let mut wrong = Vec::new();
    // Every request body's schema is named `…Request` (the error body's `code` is a problem code, not a secret).
    for (schema_name, schema) in spec["components"]["schemas"].as_mapping().unwrap() {
        if !schema_name.as_str().unwrap().ends_with("Request") {
            continue;
        }
        let Some(props) = schema["properties"].as_mapping() else { continue };
        for (field, prop) in props {
            let (field, schema_name) = (field.as_str().unwrap(), schema_name.as_str().unwrap());
            // A $ref to a password schema carries writeOnly on the referenced schema.
            let prop = match prop["$ref"].as_str() {
                Some(r) => &spec["components"]["schemas"][r.rsplit('/').next().unwrap()],
                None => prop,
            };
            let write_only = prop["writeOnly"].as_bool() == Some(true);
            if SECRET_FIELDS.contains(&field) != write_only {
                wrong.push(format!("{schema_name}.{field}: writeOnly {write_only}"));
            }
        }
    }
    assert!(wrong.is_empty(), "secret fields and writeOnly disagree: {wrong:?}");
}

/// The top-level modules of a crate (`src/x.rs` or `src/x/`) and, for each, the modules of the same crate its files
/// name (`crate::y`).
fn module_graph(krate: &Path) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    fn text_of(path: &Path, out: &mut String) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                text_of(&entry.unwrap().path(), out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    let src = krate.join("src");
    let mut modules = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" || !(path.is_dir() || path.extension().is_some_and(|e| e == "rs")) {
            continue;
        }
        let mut text = String::new();
        text_of(&path, &mut text);
        modules.insert(name, text);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    // What the crate root re-exports (`pub use problem::{ApiError, FieldError};`) stands for its module.
    let root_text =
        std::fs::read_to_string(src.join("lib.rs")).or_else(|_| std::fs::read_to_string(src.join("main.rs")));
    let mut aliases = std::collections::BTreeMap::new();
    for line in root_text.unwrap_or_default().lines() {
        if let Some(rest) = line.trim().strip_prefix("pub use ") {
            let (module, items) = rest.split_once("::").unwrap_or(("", ""));
            for item in items.trim_matches(|c| c == '{' || c == '}' || c == ';').split(',') {
                aliases.insert(item.trim().to_string(), module.to_string());
            }
        }
    }
    modules
        .iter()
        .map(|(name, text)| {
            let mut uses = BTreeSet::new();
            for (i, _) in text.match_indices("crate::") {
                let rest = &text[i + "crate::".len()..];
                let named: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group.split('}').next().unwrap_or("").split(',').map(str::trim).collect(),
                    None => vec![rest],
                };
                for n in named {
                    let module: String = n.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    let module = aliases.get(&module).cloned().unwrap_or(module);
                    if &module != name && names.contains(&module) {
                        uses.insert(module);
                    }
                }
            }
            (name.clone(), uses)
        })
        .collect()
}

#[test]
fn the_files_of_each_crate_depend_on_each_other_one_way() {
    for krate in
        ["shared/security", "shared/serving", "shared/adapters", "shared/wiring", "shared/registry", "cli", "attack"]
    {
        let graph = module_graph(&root().join(krate));
        // Depth-first search for a cycle: a module reached again while it is still on the path.
        fn visit<'a>(
            m: &'a str,
            graph: &'a std::collections::BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|p| *p == m) {
                let mut cycle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            if !done.insert(m) {
                return None;
            }
            path.push(m);
            for next in &graph[m] {
                if let Some(cycle) = visit(next, graph, path, done) {
                    return Some(cycle);
                }
            }
            path.pop();
            None
        }
        let mut done = BTreeSet::new();
        for m in graph.keys() {
            let cycle = visit(m, &graph, &mut Vec::new(), &mut done);
            assert!(cycle.is_none(), "{krate}: modules in a cycle: {}", cycle.unwrap_or_default().join(" → "));
        }
    }
}

#[test]
fn functions_tsv_lists_every_function_with_everything_it_costs_outside_rust() {
    let listed = listed_functions();
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    let has = |section: &str, name: &str| t[section].as_mapping().unwrap().contains_key(name);
    // Exactly the template's functions, and the registry's functions are exactly its `api` ones.
    let in_template: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(id, _)| id.as_str().unwrap().to_string())
        .collect();
    assert_eq!(in_template, listed.iter().map(|f| format!("{}Function", f.id)).collect());
    let api: BTreeSet<String> = listed.iter().filter(|f| f.kind == "api").map(|f| f.binary.clone()).collect();
    assert_eq!(api, function_names(), "the registry's functions are functions.tsv's api ones");
    let dashboard = format!("{:?}", t["Resources"]["Dashboard"]);
    let expected = std::fs::read_to_string(root().join("events/expected.tsv")).unwrap();
    for f in &listed {
        assert!(["api", "rotation", "stream"].contains(&f.kind.as_str()), "{}: kind {}", f.id, f.kind);
        let manifest = std::fs::read_to_string(root().join(&f.krate).join("Cargo.toml")).expect("the crate exists");
        assert!(
            manifest.contains(&format!("name = \"{}\"", f.binary)),
            "{}: its crate builds no {}",
            f.krate,
            f.binary
        );
        assert!(has("Resources", &format!("{}LogGroup", f.id)), "{}LogGroup", f.id);
        if f.kind == "stream" {
            // Fed by the security table's stream, filtered to the inserted mail jobs the queue writes.
            let events = t["Resources"][format!("{}Function", f.id).as_str()]["Properties"]["Events"].as_mapping();
            let event = events.and_then(|e| e.values().find(|e| e["Type"].as_str() == Some("DynamoDB")));
            let event = event.unwrap_or_else(|| panic!("{}: no DynamoDB stream event", f.id));
            assert!(format!("{:?}", event["Properties"]["Stream"]).contains("SecurityTable.StreamArn"), "{}", f.id);
            let pattern = event["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"].as_str().unwrap();
            let pattern: serde_json::Value = serde_json::from_str(pattern).unwrap();
            let prefix = cloudmind_adapters::aws::dynamo::mailjobs::JOB_PREFIX;
            assert_eq!(pattern["dynamodb"]["Keys"]["pk"]["S"][0]["prefix"], prefix, "{}", f.id);
            assert_eq!(pattern["eventName"], serde_json::json!(["INSERT"]), "{}", f.id);
        }
        if f.kind == "api" {
            for name in [
                format!("{}DeployErrorsAlarm", f.id),
                format!("{}ErrorsAlarm", f.id),
                format!("{}ThrottlesAlarm", f.id),
            ] {
                assert!(has("Resources", &name), "template.yaml has no {name}");
            }
            assert!(has("Parameters", &format!("{}ReservedConcurrency", f.id)), "{}ReservedConcurrency", f.id);
            assert!(has("Conditions", &format!("Reserve{}", f.id)), "Reserve{}", f.id);
            let widgets = dashboard.matches(&format!("${{{}Function}}", f.id)).count();
            assert!(widgets >= 4, "the dashboard shows {}Function in {widgets} widgets, not 4", f.id);
            let fixtures = expected.lines().filter(|l| l.split('\t').nth(1) == Some(f.binary.as_str())).count();
            assert!(fixtures > 0, "events/expected.tsv has no fixture of {}", f.binary);
        }
    }
    // Each Lambda binary is built with its own profile, from one of the two cargo lambda builds.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let out = std::process::Command::new("make")
        .current_dir(root())
        .args(["-n", "lambda-binaries", "LAMBDA_ARCH=arm64"])
        .output()
        .expect("make runs");
    let builds = String::from_utf8_lossy(&out.stdout).to_string();
    for f in &listed {
        assert!(["release", "release-size"].contains(&f.profile.as_str()), "{}: profile {}", f.id, f.profile);
        assert!(manifest.contains(&format!("[profile.{}]", f.profile)), "Cargo.toml has no profile {}", f.profile);
        let package = format!("-p cloudmind-{} ", f.binary);
        let line = builds.lines().find(|l| format!("{l} ").contains(&package));
        assert!(
            line.is_some_and(|l| l.contains(&format!("--profile {} ", f.profile))),
            "{} is not built with --profile {}: {builds}",
            f.binary,
            f.profile
        );
    }
    // The Makefile's build-<Id>Function targets read the list (as sam build calls them).
    for f in &listed {
        let out = std::process::Command::new("make")
            .current_dir(root())
            .args(["-n", &format!("build-{}Function", f.id), "ARTIFACTS_DIR=/nowhere", "LAMBDA_ARCH=host"])
            .output()
            .expect("make runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("cp target/debug/{} ", f.binary)), "make build-{}Function: {text}", f.id);
    }
}
