//! Metrics written by the functions themselves, as CloudWatch embedded metric format (EMF) lines on standard
//! output: CloudWatch Logs turns each line into metric data points, so the stack needs no metric filter per
//! function per event. One line per security event that an alarm watches, and one per request (count, latency,
//! server errors, cold start).
//!
//! Request metrics are published twice: without dimensions (what the alarms watch: the stack's total) and per
//! `function`; security-event and failure metrics only as the stack's total (each dimension value is one more
//! custom metric to pay for; Logs Insights breaks them down by function). The namespace is `METRICS_NAMESPACE` (the
//! stack sets `CloudMind/<stack name>`). Lines are written only in Lambda (`AWS_LAMBDA_FUNCTION_NAME` set) or when
//! `CLOUDMIND_EMF=1`, so a local terminal stays readable. The [`super::Observer`] decides what to write; this
//! module only formats and writes it.

use std::io::Write as _;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use super::Metric;

/// A metric of a line and its value.
pub type Sample = (Metric, f64);

struct Config {
    enabled: bool,
    namespace: String,
}

static CONFIG: LazyLock<Config> = LazyLock::new(|| Config {
    enabled: std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
        || std::env::var("CLOUDMIND_EMF").is_ok_and(|v| v == "1"),
    namespace: std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "CloudMind".into()),
});

/// True until the first request of the process has been counted.
static COLD: AtomicBool = AtomicBool::new(true);

/// Whether this is the process's first request (a cold start); true once only.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

/// Per function as well as in total (request metrics), or in total only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    TotalAndFunction,
    Total,
}

/// One EMF line: `metrics` under `namespace` with the dimension sets of `breakdown`, plus `extra` properties
/// (searchable in Logs Insights, not metrics).
pub fn line(
    namespace: &str,
    function: &str,
    breakdown: Breakdown,
    metrics: &[Sample],
    extra: &[(&str, Value)],
    at_ms: u64,
) -> String {
    let mut out = Vec::with_capacity(256 + 48 * metrics.len());
    write_line(&mut out, &Line { namespace, function, breakdown, metrics, extra, at_ms });
    String::from_utf8(out).unwrap_or_default()
}

/// Serializes straight into `out` (one pass, no JSON tree: a line per request is on every function's hot path).
fn write_line(out: &mut Vec<u8>, line: &Line<'_>) {
    // Writing to a Vec fails only on a non-finite number, which serde_json writes as null instead.
    let _ = serde_json::to_writer(out, line);
}

/// The document of one line, serialized in the order EMF shows it: the `_aws` directive, the dimension, then the
/// metric values and the extra properties as top-level members.
struct Line<'a> {
    namespace: &'a str,
    function: &'a str,
    breakdown: Breakdown,
    metrics: &'a [Sample],
    extra: &'a [(&'a str, Value)],
    at_ms: u64,
}

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("_aws", &Directive(self))?;
        map.serialize_entry("function", self.function)?;
        for (metric, value) in self.metrics {
            map.serialize_entry(metric.name(), value)?;
        }
        for (name, value) in self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// `{"Timestamp", "CloudWatchMetrics": [{"Namespace", "Dimensions", "Metrics": [{"Name", "Unit"}]}]}`.
struct Directive<'a>(&'a Line<'a>);

impl Serialize for Directive<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let line = self.0;
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("Timestamp", &line.at_ms)?;
        map.serialize_entry("CloudWatchMetrics", &[MetricSet(line)])?;
        map.end()
    }
}

struct MetricSet<'a>(&'a Line<'a>);

impl Serialize for MetricSet<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let line = self.0;
        let dimensions: &[&[&str]] = match line.breakdown {
            Breakdown::TotalAndFunction => &[&[], &["function"]],
            Breakdown::Total => &[&[]],
        };
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("Namespace", line.namespace)?;
        map.serialize_entry("Dimensions", dimensions)?;
        map.serialize_entry("Metrics", &Definitions(line.metrics))?;
        map.end()
    }
}

struct Definitions<'a>(&'a [Sample]);

impl Serialize for Definitions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (metric, _) in self.0 {
            seq.serialize_element(&Definition(*metric))?;
        }
        seq.end()
    }
}

/// `{"Name", "Unit"}` of one metric.
struct Definition(Metric);

impl Serialize for Definition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("Name", self.0.name())?;
        map.serialize_entry("Unit", self.0.unit().as_str())?;
        map.end()
    }
}

/// Writes a line (in Lambda, or with `CLOUDMIND_EMF=1`).
pub(super) fn emit(function: &str, breakdown: Breakdown, metrics: &[Sample], extra: &[(&str, Value)]) {
    let config = &*CONFIG;
    if !config.enabled || metrics.is_empty() {
        return;
    }
    let at_ms = cloudmind_security::clock::now_ms();
    let mut text = Vec::with_capacity(256 + 48 * metrics.len());
    write_line(&mut text, &Line { namespace: &config.namespace, function, breakdown, metrics, extra, at_ms });
    text.push(b'\n');
    // One write of the whole line, so concurrent requests never interleave their lines.
    let _ = std::io::stdout().lock().write_all(&text);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_line_is_an_emf_document_with_both_dimension_sets() {
        let text = line(
            "CloudMind/stack",
            "login",
            Breakdown::TotalAndFunction,
            &[(Metric::Requests, 1.0), (Metric::Latency, 12.5)],
            &[("request_id", Value::from("r-1")), ("cold_start", Value::from(true))],
            1_800_000_000_000,
        );
        assert!(!text.contains('\n'));
        let v: Value = serde_json::from_str(&text).unwrap();
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_800_000_000_000u64);
        assert_eq!(directive["Namespace"], "CloudMind/stack");
        assert_eq!(directive["Dimensions"], json!([[], ["function"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "Requests", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}])
        );
        // Every metric and dimension named in the directive is a top-level member (the EMF rule).
        assert_eq!(
            (v["Requests"].as_f64(), v["Latency"].as_f64(), v["function"].as_str()),
            (Some(1.0), Some(12.5), Some("login"))
        );
        assert_eq!((v["request_id"].as_str(), v["cold_start"].as_bool()), (Some("r-1"), Some(true)));
    }

    #[test]
    fn totals_only_have_the_empty_dimension_set() {
        let text = line("N", "admin", Breakdown::Total, &[(Metric::HandlerPanics, 1.0)], &[], 1);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
        assert_eq!(v["HandlerPanics"].as_f64(), Some(1.0));
    }

    #[test]
    fn the_cold_start_flag_is_true_once() {
        // Other tests of this process may have taken it already; after this call it is false for good.
        let _ = take_cold_start();
        assert!(!take_cold_start());
    }
}
