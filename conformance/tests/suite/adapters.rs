//! The shared conformance suite against all four adapters in one test binary.
//!
//! Every case of `cases/*.json` runs in-process on axum, actix-web, poem and warp (one harness
//! per framework in `harness/`; warp twice: its filters alone, and behind `jwt_warp::service`). The test prints `adapter <name>: <N> passed, <F> failed` per
//! adapter (and each failure), then compares the adapters' normalised answers case by case and
//! prints `adapter differences: <D>` (and each difference). It asserts no failure and `D == 0`.
//!
//! A case with `"mount": "/prefix"` runs with the echo app nested under that prefix the
//! framework's own way, the middleware on the nested part (`cases/65_nested.json`).

use std::collections::{BTreeMap, BTreeSet};

use crate::harness::{actix::Actix, axum::Axum, poem::Poem, warp::Warp};
use conformance::Report;
use serde_json::Value;

/// The cases whose answers differ between adapters: one `DIFF` line each, against the first
/// adapter's answer.
fn differences(reports: &[Report]) -> Vec<String> {
    let Some((first, others)) = reports.split_first() else {
        return vec!["no adapter ran".into()];
    };
    let mut out = Vec::new();
    for other in others {
        let names: BTreeSet<&String> = first
            .responses
            .keys()
            .chain(other.responses.keys())
            .collect();
        for name in names {
            let (a, b) = (first.responses.get(name), other.responses.get(name));
            if a != b {
                let show = |v: Option<&Value>| v.map_or("<no answer>".into(), Value::to_string);
                out.push(format!(
                    "DIFF {name}: {} {} vs {} {}",
                    first.adapter,
                    show(a),
                    other.adapter,
                    show(b)
                ));
            }
        }
    }
    out
}

#[test]
fn conformance_all_adapters() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // One adapter at a time, so each one's lines stay together.
    let axum = runtime.block_on(conformance::run(&Axum));
    // actix's test service needs an actix system.
    let actix = actix_web::rt::System::new().block_on(conformance::run(&Actix));
    let poem = runtime.block_on(conformance::run(&Poem));
    let warp = runtime.block_on(conformance::run(&Warp::FILTERS));
    let warp_service = runtime.block_on(conformance::run(&Warp::SERVICE));
    let reports = [axum, actix, poem, warp, warp_service];

    let diffs = differences(&reports);
    for line in &diffs {
        println!("{line}");
    }
    println!("adapter differences: {}", diffs.len());

    let failed: BTreeMap<&str, usize> = reports
        .iter()
        .map(|r| (r.adapter.as_str(), r.failures.len()))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(failed.is_empty(), "failures: {failed:?}");
    assert!(
        reports.iter().all(|r| r.passed > 0),
        "an adapter ran no case"
    );
    assert!(diffs.is_empty(), "{} adapter differences", diffs.len());
}

#[test]
fn differences_are_counted_per_case_and_adapter() {
    let report = |adapter: &str, answers: &[(&str, i64)]| Report {
        adapter: adapter.into(),
        passed: answers.len(),
        failures: Vec::new(),
        responses: answers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect(),
    };
    let a = report("a", &[("x", 1), ("y", 2)]);
    let same = report("b", &[("x", 1), ("y", 2)]);
    let other = report("c", &[("x", 1), ("y", 3)]);
    let missing = report("d", &[("x", 1)]);
    assert!(differences(&[a.clone(), same]).is_empty());
    assert_eq!(differences(&[a.clone(), other, missing]).len(), 2);
    assert_eq!(differences(&[]).len(), 1);
}

#[test]
fn a_mount_must_be_a_prefix_of_the_path() {
    let case = |mount: &str, path: &str| -> conformance::Case {
        serde_json::from_value(serde_json::json!({
            "name": "t", "profile": "hs256", "mount": mount,
            "request": {"path": path}, "expect": {"status": 200},
        }))
        .expect("case")
    };
    let request = case("/api/v1", "/api/v1/items?x=1")
        .http_request()
        .expect("valid mount");
    assert_eq!(request.mount.as_deref(), Some("/api/v1"));
    assert_eq!(request.uri, "/api/v1/items?x=1");
    assert!(case("/api", "/api").http_request().is_ok());
    for (mount, path) in [
        ("/api", "/apix/items"),
        ("/api", "/items"),
        ("api", "api/items"),
        ("/api/", "/api/items"),
        ("/", "/items"),
        ("/a//b", "/a//b/c"),
        ("/{id}", "/{id}/x"),
    ] {
        assert!(case(mount, path).http_request().is_err(), "{mount} {path}");
    }
}
