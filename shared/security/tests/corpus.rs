//! The detector measured on the corpora in `corpus/`: attack payloads (`attacks.tsv`) and people's free text
//! (`benign.txt`). Prints the rates that `SECURITY.md` reports and holds them to floors, so a change that loses
//! detections or refuses more people fails here.
//!
//! `cargo test -p cloudmind-security --test corpus -- --nocapture` prints the table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use cloudmind_security::threats::{Confidence, FREE_TEXT_FIELDS, Finding, scan_json};

fn corpus(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(name)).unwrap()
}

/// The value as a display name, the one free-text field: what the gate would find.
fn as_display_name(value: &str) -> Option<Finding> {
    assert_eq!(FREE_TEXT_FIELDS, ["display_name"]);
    scan_json(&serde_json::json!({ "display_name": value }), &[])
}

#[derive(Default)]
struct Tally {
    total: usize,
    detected: usize,
    high: usize,
}

impl Tally {
    fn rate(n: usize, total: usize) -> f64 {
        100.0 * n as f64 / total.max(1) as f64
    }
}

#[test]
fn detection_and_false_positive_rates_hold_their_floors() {
    let mut attacks: BTreeMap<String, Tally> = BTreeMap::new();
    let mut missed = Vec::new();
    for line in corpus("attacks.tsv").lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let (threat, payload) = line.split_once('\t').unwrap_or_else(|| panic!("attacks.tsv: {line}"));
        let tally = attacks.entry(threat.to_string()).or_default();
        tally.total += 1;
        match as_display_name(payload) {
            Some(f) => {
                tally.detected += 1;
                tally.high += usize::from(f.confidence == Confidence::High);
            }
            None => missed.push(format!("{threat}\t{payload}")),
        }
    }
    let all = attacks.values().fold(Tally::default(), |a, t| Tally {
        total: a.total + t.total,
        detected: a.detected + t.detected,
        high: a.high + t.high,
    });

    let benign: Vec<&str> = corpus("benign.txt").leak().lines().filter(|l| !l.trim().is_empty()).collect();
    let refused: Vec<(&str, Finding)> = benign.iter().filter_map(|v| as_display_name(v).map(|f| (*v, f))).collect();
    let counted = refused.iter().filter(|(_, f)| f.counts_toward_block()).count();

    println!("| corpus | values | detected | high confidence |");
    println!("|---|---:|---:|---:|");
    for (threat, t) in attacks.iter().chain([(&"all attacks".to_string(), &all)]) {
        println!(
            "| {threat} | {} | {} ({:.1} %) | {} ({:.1} %) |",
            t.total,
            t.detected,
            Tally::rate(t.detected, t.total),
            t.high,
            Tally::rate(t.high, t.total)
        );
    }
    println!(
        "| benign free text | {} | refused {} ({:.2} %) | toward the block {} ({:.2} %) |",
        benign.len(),
        refused.len(),
        Tally::rate(refused.len(), benign.len()),
        counted,
        Tally::rate(counted, benign.len())
    );
    println!("\nmissed attacks:\n{}", missed.join("\n"));
    println!("\nrefused benign values:");
    for (v, f) in &refused {
        println!("{:?}\t{:?}\t{}", f.threat, f.confidence, v);
    }

    assert!(all.total >= 500 && benign.len() >= 3000, "the corpora are whole");
    assert!(Tally::rate(all.detected, all.total) >= 99.0, "detection fell below 99 %");
    assert!(Tally::rate(all.high, all.total) >= 95.0, "high-confidence detection fell below 95 %");
    assert!(Tally::rate(refused.len(), benign.len()) <= 1.0, "more than 1 % of people's text refused");
    assert_eq!(counted, 0, "people's text counts toward a block");
}
