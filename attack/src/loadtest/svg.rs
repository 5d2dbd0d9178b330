//! The load test's picture: one self-contained SVG (no script, no external resource) with the summary, the latency
//! distribution, and throughput and latency over time.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use super::Results;

/// The latency distribution in buckets that double: `(upper bound in ms, count)`, empty buckets at the ends dropped.
pub fn buckets(h: &Histogram<u64>) -> Vec<(f64, u64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut upper: u64 = 16; // µs
    let mut below = 0;
    while below < h.len() {
        let upto = h.count_between(0, upper);
        out.push((upper as f64 / 1000.0, upto - below));
        below = upto;
        upper = upper.saturating_mul(2);
        if upper > h.max().saturating_mul(2).max(32) {
            break;
        }
    }
    let first = out.iter().position(|(_, n)| *n > 0).unwrap_or(0);
    out.drain(..first);
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn label_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else if ms >= 1.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.0}µs", ms * 1000.0)
    }
}

/// The picture of a run.
pub fn svg(r: &Results) -> String {
    let (w, h) = (960.0, 720.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="24" y="32" font-size="18" font-weight="bold">CloudMind load test: {}</text>
<text x="24" y="54">{} requests in {:.1} s: {:.1} requests/s ({}, {} clients{})</text>
<text x="24" y="74">latency ms: p50 {:.2}   p90 {:.2}   p99 {:.2}   p99.9 {:.2}   max {:.2}</text>
<text x="24" y="94">statuses: {}{}</text>
"##,
        esc(&r.url),
        r.requests,
        r.duration_s,
        r.requests_per_second,
        r.mode,
        r.concurrency,
        r.target_rate.map(|t| format!(", target {t}/s")).unwrap_or_default(),
        r.latency_ms.p50,
        r.latency_ms.p90,
        r.latency_ms.p99,
        r.latency_ms.p999,
        r.latency_ms.max,
        esc(&r.statuses.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")),
        if r.errors.is_empty() {
            String::new()
        } else {
            format!(
                "   errors: {}",
                esc(&r.errors.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "))
            )
        },
    );

    // Panel 1: the latency distribution.
    let (x0, y0, pw, ph) = (60.0, 130.0, 860.0, 220.0);
    let _ = writeln!(
        s,
        r#"<text x="{x0}" y="{}" font-weight="bold">Latency distribution (requests per bucket; buckets double)</text>"#,
        y0 - 8.0
    );
    let _ = writeln!(s, r##"<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>"##);
    let peak = r.histogram.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1) as f64;
    let n = r.histogram.len().max(1) as f64;
    let bar = pw / n;
    for (i, (upper, count)) in r.histogram.iter().enumerate() {
        let bh = ph * (*count as f64 / peak);
        let x = x0 + i as f64 * bar;
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#2f6fdb"><title>≤ {} : {count}</title></rect>"##,
            x + 1.0,
            y0 + ph - bh,
            (bar - 2.0).max(1.0),
            bh,
            label_ms(*upper)
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="10">≤{}</text>"#,
            x + bar / 2.0,
            y0 + ph + 14.0,
            label_ms(*upper)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="end" font-size="10">{}</text>"#,
        x0 - 4.0,
        y0 + 10.0,
        peak as u64
    );

    // Panel 2: throughput (bars) and p50 / p99 latency (lines) per second.
    let (x0, y0, pw, ph) = (60.0, 420.0, 860.0, 240.0);
    let _ = writeln!(
        s,
        r#"<text x="{x0}" y="{}" font-weight="bold">Over time: requests per second (bars), p50 (green) and p99 (red) latency</text>"#,
        y0 - 8.0
    );
    let _ = writeln!(s, r##"<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>"##);
    let seconds = r.timeline.len().max(1) as f64;
    let step = pw / seconds;
    let top_rps = r.timeline.iter().map(|t| t.requests).max().unwrap_or(1).max(1) as f64;
    let top_ms = r.timeline.iter().map(|t| t.p99_ms).fold(0.0_f64, f64::max).max(0.001);
    for t in &r.timeline {
        let bh = ph * (t.requests as f64 / top_rps);
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#c9d8f5"><title>{} s: {} requests, {} errors</title></rect>"##,
            x0 + t.t as f64 * step + 0.5,
            y0 + ph - bh,
            (step - 1.0).max(0.5),
            bh,
            t.t,
            t.requests,
            t.errors
        );
    }
    for (color, pick) in [("#1f8f4e", 0), ("#c53030", 1)] {
        let points: Vec<String> = r
            .timeline
            .iter()
            .map(|t| {
                let v = if pick == 0 { t.p50_ms } else { t.p99_ms };
                format!("{:.1},{:.1}", x0 + (t.t as f64 + 0.5) * step, y0 + ph - ph * (v / top_ms))
            })
            .collect();
        let _ =
            writeln!(s, r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#, points.join(" "));
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="end" font-size="10">{} req/s</text>"#,
        x0 - 4.0,
        y0 + 10.0,
        top_rps as u64
    );
    let _ = writeln!(s, r#"<text x="{}" y="{}" font-size="10">{}</text>"#, x0 + pw + 4.0, y0 + 10.0, label_ms(top_ms));
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="10">seconds since start (0 … {})</text>"#,
        x0 + pw / 2.0,
        y0 + ph + 16.0,
        r.timeline.len()
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_count_every_value_once() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for v in [20, 900, 1_500, 1_600, 40_000] {
            h.record(v).unwrap();
        }
        let b = buckets(&h);
        assert_eq!(b.iter().map(|(_, n)| n).sum::<u64>(), 5);
        assert_eq!(b[0], (0.032, 1), "the first non-empty bucket: 20 µs ≤ 32 µs");
    }
}
