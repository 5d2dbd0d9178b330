//! Every input the API declares, read from its `openapi.json`: path and query parameters and the string fields of
//! JSON bodies (not the `writeOnly` ones: passwords and refresh tokens are never scanned, any character is valid in
//! them). Each comes with a request that is valid apart from that input, so a refusal is the input's doing.

use http::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use super::checks::CheckId;
use super::client::Req;

/// Everything but the unreserved characters is encoded in a path segment or a query value.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Body,
}

/// One input of one operation.
#[derive(Debug, Clone)]
pub struct Input {
    pub method: Method,
    /// The path template, `/api/v1/admin/users/{username}/unlock`.
    pub path: String,
    pub location: Location,
    pub name: String,
    /// Whether the operation wants a bearer token: the probe sends its own user's, so a value reaches the body
    /// checks that come after the token check.
    pub secured: bool,
    path_params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<Map<String, Value>>,
}

impl Input {
    pub fn label(&self) -> String {
        let at = match self.location {
            Location::Path => "path",
            Location::Query => "query",
            Location::Body => "body",
        };
        format!("{} {} ({at} {})", self.method, self.path, self.name)
    }

    /// The request with `value` in this input (a string, or any JSON value in a body field).
    pub fn request(&self, value: &Value) -> Req {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut path = self.path.clone();
        for (name, benign) in &self.path_params {
            let v = if self.location == Location::Path && *name == self.name { &text } else { benign };
            path = path.replace(&format!("{{{name}}}"), &utf8_percent_encode(v, COMPONENT).to_string());
        }
        let mut query: Vec<String> = Vec::new();
        for (name, benign) in &self.query {
            let v = if self.location == Location::Query && *name == self.name { &text } else { benign };
            query.push(format!("{name}={}", utf8_percent_encode(v, COMPONENT)));
        }
        if self.location == Location::Query && !self.query.iter().any(|(n, _)| *n == self.name) {
            query.push(format!("{}={}", self.name, utf8_percent_encode(&text, COMPONENT)));
        }
        let target = if query.is_empty() { path } else { format!("{path}?{}", query.join("&")) };
        match &self.body {
            None => Req::new(self.method.clone(), target),
            Some(fields) => {
                let mut body = fields.clone();
                if self.location == Location::Body {
                    body.insert(self.name.clone(), value.clone());
                }
                Req::json(self.method.clone(), target, &Value::Object(body))
            }
        }
    }
}

/// Every input of every operation in the description, plus an undeclared query parameter on `/health` (unknown
/// parameters are ignored but still scanned).
pub fn from_spec(spec: &Value) -> Vec<Input> {
    let mut out = Vec::new();
    let Some(paths) = spec["paths"].as_object() else { return out };
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
            let params: Vec<Value> = op["parameters"]
                .as_array()
                .into_iter()
                .chain(item["parameters"].as_array())
                .flatten()
                .map(|p| resolve(spec, p).clone())
                .collect();
            let mut path_params = Vec::new();
            let mut query = Vec::new();
            for p in &params {
                let name = p["name"].as_str().unwrap_or_default().to_string();
                let benign = benign_value(&name, &p["schema"], &p["example"]);
                match p["in"].as_str() {
                    Some("path") => path_params.push((name, benign)),
                    // Optional query parameters are sent only as the input under test.
                    Some("query") if p["required"].as_bool() == Some(true) => query.push((name, benign)),
                    _ => {}
                }
            }
            let schema = resolve(spec, &op["requestBody"]["content"]["application/json"]["schema"]);
            let body_fields: Vec<(String, Value)> = schema["properties"]
                .as_object()
                .map(|props| props.iter().map(|(k, v)| (k.clone(), resolve(spec, v).clone())).collect())
                .unwrap_or_default();
            let body = (!body_fields.is_empty()).then(|| {
                body_fields
                    .iter()
                    .map(|(name, s)| (name.clone(), Value::from(benign_value(name, s, &s["example"]))))
                    .collect::<Map<String, Value>>()
            });
            let secured =
                op.get("security").or(spec.get("security")).and_then(Value::as_array).is_some_and(|a| !a.is_empty());
            let base = Input {
                method: method.clone(),
                path: path.clone(),
                location: Location::Path,
                name: String::new(),
                secured,
                path_params: path_params.clone(),
                query: query.clone(),
                body: body.clone(),
            };
            for p in &params {
                let name = p["name"].as_str().unwrap_or_default().to_string();
                let location = match p["in"].as_str() {
                    Some("path") => Location::Path,
                    Some("query") => Location::Query,
                    _ => continue,
                };
                out.push(Input { location, name, ..base.clone() });
            }
            for (name, s) in &body_fields {
                if s["writeOnly"].as_bool() == Some(true) || s["type"].as_str() != Some("string") {
                    continue;
                }
                out.push(Input { location: Location::Body, name: name.clone(), ..base.clone() });
            }
            if path == "/health" && method == Method::GET {
                out.push(Input { location: Location::Query, name: "q".into(), ..base.clone() });
            }
        }
    }
    out
}

fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    let mut v = v;
    for _ in 0..8 {
        let Some(r) = v["$ref"].as_str().and_then(|r| r.strip_prefix('#')) else { return v };
        v = spec.pointer(r).unwrap_or(&Value::Null);
    }
    v
}

/// A value the input accepts, so the request is valid apart from the input under test.
fn benign_value(name: &str, schema: &Value, example: &Value) -> String {
    if let Some(e) = example.as_str().or_else(|| schema["example"].as_str()) {
        return e.to_string();
    }
    if let Some(e) = example.as_i64().or_else(|| schema["example"].as_i64()) {
        return e.to_string();
    }
    match name {
        "username" => "probe_user".into(),
        "email" => "probe@example.com".into(),
        "display_name" => "Probe".into(),
        "key" => "ip:203.0.113.9".into(),
        "limit" => "10".into(),
        n if n.contains("password") => "Probe-Passw0rd-Unused!".into(),
        _ if schema["type"] == "integer" => "1".into(),
        _ => "probe".into(),
    }
}

/// An attack family: its payloads, where it applies, and the refusal it must get.
pub struct Family {
    pub check: CheckId,
    pub payloads: &'static [&'static str],
    /// Payloads for path and query parameters only (percent-encoded text means nothing special in JSON).
    pub url_payloads: &'static [&'static str],
    /// The problem codes a refused payload may get.
    pub codes: &'static [&'static str],
    /// The codes in a free-text body field, where the field's rules decide what is text.
    pub free_text_codes: &'static [&'static str],
    /// Only JSON body fields (values that are not strings).
    pub body_only: bool,
}

pub const FAMILIES: &[Family] = &[
    Family {
        check: CheckId::InjectionSql,
        payloads: &[
            "' OR '1'='1",
            "admin'--",
            "1; DROP TABLE users--",
            "' UNION SELECT username, password FROM users--",
            "x'OR(1)=(1)",
            "1'/**/OR/**/1=1",
        ],
        url_payloads: &[],
        codes: &["malicious_input"],
        free_text_codes: &["malicious_input"],
        body_only: false,
    },
    Family {
        check: CheckId::InjectionXss,
        payloads: &[
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<svg/onload=alert(document.domain)>",
            "javascript:alert(document.cookie)",
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        ],
        url_payloads: &[],
        codes: &["malicious_input"],
        free_text_codes: &["malicious_input"],
        body_only: false,
    },
    Family {
        check: CheckId::InjectionTraversal,
        payloads: &[
            "../../../../etc/passwd",
            "..%2f..%2f..%2fetc%2fpasswd",
            "..\\..\\..\\windows\\win.ini",
            "....//....//etc/passwd",
            "..;/..;/admin",
        ],
        url_payloads: &[],
        codes: &["malicious_input"],
        free_text_codes: &["malicious_input"],
        body_only: false,
    },
    Family {
        check: CheckId::InjectionCrlf,
        payloads: &["probe\r\nSet-Cookie: probe=1", "probe\nX-Probe-Injected: 1", "probe\u{0}admin", "probe\u{1b}[31m"],
        url_payloads: &["probe%0d%0aX-Probe-Injected:%201", "probe%250d%250aSet-Cookie:%20probe=1"],
        codes: &["malicious_input"],
        // A display name is free text: a line break in it is the field's rule (validation), not an attack.
        free_text_codes: &["malicious_input", "validation_failed"],
        body_only: false,
    },
    Family {
        check: CheckId::InjectionNosql,
        payloads: &[
            r#"{"$ne": null}"#,
            r#"{"$gt": ""}"#,
            r#"{"$where": "sleep(1000)"}"#,
            r#"["probe", {"$ne": 1}]"#,
            "true",
            "12345",
        ],
        // A wrong type (validation), or the detector first when the object's text looks like an attack.
        url_payloads: &[],
        codes: &["validation_failed", "malicious_input"],
        free_text_codes: &["validation_failed", "malicious_input"],
        body_only: true,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Value {
        serde_json::json!({
            "paths": {
                "/a/{id}": {"delete": {"parameters": [{"$ref": "#/components/parameters/Id"}]}},
                "/login": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/L"}}}}}},
                "/health": {"get": {}}
            },
            "components": {
                "parameters": {"Id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}},
                "schemas": {"L": {"properties": {"username": {"type": "string"}, "password": {"type": "string", "writeOnly": true}}}}
            }
        })
    }

    #[test]
    fn inputs_come_from_the_description_secrets_excluded() {
        let inputs = from_spec(&spec());
        let labels: Vec<String> = inputs.iter().map(Input::label).collect();
        // In path order (the description's map is sorted).
        assert_eq!(labels, ["DELETE /a/{id} (path id)", "GET /health (query q)", "POST /login (body username)"]);
    }

    #[test]
    fn a_payload_lands_in_its_input_only_and_is_encoded() {
        let inputs = from_spec(&spec());
        let path = inputs[0].request(&Value::from("../x y"));
        assert_eq!(path.target, "/a/..%2Fx%20y");
        let body = inputs[2].request(&Value::from("' OR 1=1"));
        let sent: Value = serde_json::from_slice(body.body.as_deref().unwrap()).unwrap();
        assert_eq!(sent["username"], "' OR 1=1");
        assert_eq!(sent["password"], "Probe-Passw0rd-Unused!");
        let query = inputs[1].request(&Value::from("<b>"));
        assert_eq!(query.target, "/health?q=%3Cb%3E");
    }
}
