//! The deploy files (`deploy/`) checked without Docker: the compose file parses as YAML and
//! has the services, health checks, restart policies and volumes the deployment guide relies
//! on; the Dockerfile and the systemd unit keep their safety properties; the example
//! configuration names only keys `crates/minstrel/src/config.rs` reads, and all of them.
//!
//! `.ci/run` also validates the compose file with `docker compose config` (or Debian's
//! docker-compose 1.29) when one is installed; these checks run everywhere, without Docker,
//! and catch what it would not: drift between the examples and the code, the properties the
//! guide relies on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate lives one folder below the workspace root")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = repository_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn compose() -> Yaml {
    let text = read("deploy/docker-compose.yml");
    let mut documents = YamlLoader::load_from_str(&text)
        .unwrap_or_else(|error| panic!("deploy/docker-compose.yml is not valid YAML: {error}"));
    assert_eq!(documents.len(), 1, "one YAML document");
    documents.remove(0)
}

fn string<'a>(value: &'a Yaml, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} must be a string, found {value:?}"))
}

fn keys(value: &Yaml) -> BTreeSet<String> {
    value
        .as_hash()
        .map(|hash| {
            hash.keys()
                .filter_map(|key| key.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn compose_runs_the_bot_with_postgres_and_redis_all_health_checked_and_restarted() {
    let compose = compose();
    let services = &compose["services"];
    assert_eq!(
        keys(services),
        BTreeSet::from(["bot".to_owned(), "postgres".to_owned(), "redis".to_owned()])
    );
    for name in ["bot", "postgres", "redis"] {
        let service = &services[name];
        assert_eq!(
            string(&service["restart"], "restart"),
            "unless-stopped",
            "{name}"
        );
        let test = &service["healthcheck"]["test"];
        let probe = match test {
            Yaml::Array(words) => words
                .iter()
                .map(|word| string(word, "healthcheck word"))
                .collect::<Vec<_>>()
                .join(" "),
            other => string(other, "healthcheck.test").to_owned(),
        };
        assert!(
            probe.starts_with("CMD"),
            "{name}: health check `{probe}` must be CMD or CMD-SHELL"
        );
        for setting in ["interval", "timeout", "retries"] {
            assert!(
                !service["healthcheck"][setting].is_badvalue(),
                "{name}: healthcheck.{setting} is missing"
            );
        }
    }
    assert!(string(&services["postgres"]["image"], "image").starts_with("postgres:16"));
    assert!(string(&services["redis"]["image"], "image").starts_with("redis:7"));

    let bot = &services["bot"];
    let probe = format!("{:?}", bot["healthcheck"]["test"]);
    assert!(probe.contains("/health"), "the bot's probe asks /health");
    for dependency in ["postgres", "redis"] {
        assert_eq!(
            string(&bot["depends_on"][dependency]["condition"], "condition"),
            "service_healthy",
            "the bot waits for {dependency}"
        );
    }
    assert_eq!(string(&bot["env_file"], "env_file"), ".env");
    let environment = &bot["environment"];
    assert!(string(&environment["MINSTREL_DATABASE_URL"], "database URL").contains("@postgres:"));
    assert!(string(&environment["MINSTREL_REDIS_URL"], "Redis URL").starts_with("redis://redis:"));
    assert!(!string(&environment["MINSTREL_HTTP_ADDR"], "http address").is_empty());
    let build = &bot["build"];
    let dockerfile = repository_root()
        .join("deploy")
        .join(string(&build["context"], "build.context"))
        .join(string(&build["dockerfile"], "build.dockerfile"));
    assert!(dockerfile.is_file(), "{} exists", dockerfile.display());
}

#[test]
fn every_named_volume_a_service_mounts_is_declared_and_data_is_kept() {
    let compose = compose();
    let declared = keys(&compose["volumes"]);
    let mut mounted = BTreeSet::new();
    for (name, service) in compose["services"].as_hash().unwrap() {
        let name = string(name, "service name");
        for volume in service["volumes"].as_vec().into_iter().flatten() {
            let source = string(volume, "volume").split(':').next().unwrap();
            // Bind mounts start with a path; everything else is a named volume.
            if !source.starts_with(['.', '/', '~']) {
                assert!(
                    declared.contains(source),
                    "{name} mounts the undeclared volume {source}"
                );
                mounted.insert(source.to_owned());
            }
        }
    }
    assert_eq!(mounted, declared, "every declared volume is used");
    let mounts = |service: &str| format!("{:?}", compose["services"][service]["volumes"]);
    assert!(mounts("postgres").contains("/var/lib/postgresql/data"));
    assert!(mounts("bot").contains("/var/lib/minstrel"));
}

#[test]
fn the_dockerfile_builds_on_the_workspace_toolchain_and_runs_unprivileged() {
    let dockerfile = read("deploy/Dockerfile");
    let manifest = read("Cargo.toml");
    let rust_version = manifest
        .lines()
        .find_map(|line| line.strip_prefix("rust-version = "))
        .expect("the workspace sets rust-version")
        .trim_matches('"');
    for expected in [
        format!("FROM rust:{rust_version}-bookworm AS build"),
        "FROM debian:bookworm-slim".to_owned(),
        "cargo build --release --locked -p minstrel".to_owned(),
        "libopus-dev".to_owned(),
        "libopus0".to_owned(),
        "yt-dlp".to_owned(),
        "EXPOSE 8080".to_owned(),
        "MINSTREL_HTTP_ADDR=0.0.0.0:8080".to_owned(),
        "STOPSIGNAL SIGINT".to_owned(),
    ] {
        assert!(
            dockerfile.contains(&expected),
            "the Dockerfile has `{expected}`"
        );
    }
    let healthcheck = dockerfile
        .lines()
        .skip_while(|line| !line.starts_with("HEALTHCHECK"))
        .take(2)
        .collect::<String>();
    assert!(healthcheck.contains("/health"), "{healthcheck}");
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("USER "))
        .expect("the runtime stage sets USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "runs as {user}"
    );
    let ignore = read("deploy/Dockerfile.dockerignore");
    for excluded in [".git", "target"] {
        assert!(
            ignore.lines().any(|line| line == excluded),
            "{excluded} is kept out of the build context"
        );
    }
}

#[test]
fn the_systemd_unit_is_hardened() {
    let unit = read("deploy/minstrel.service");
    let settings: BTreeSet<&str> = unit
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && line.contains('='))
        .collect();
    for expected in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "DynamicUser=yes",
        "ReadWritePaths=/var/lib/minstrel",
        "SystemCallFilter=@system-service",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet=",
        "KillSignal=SIGINT",
        "ExecStart=/usr/local/bin/minstrel run",
    ] {
        assert!(
            settings.contains(expected),
            "deploy/minstrel.service sets {expected}"
        );
    }
}

/// The field names of `struct Config` in the binary's config.rs.
fn config_fields() -> BTreeSet<String> {
    let source = read("crates/minstrel/src/config.rs");
    let body = source
        .split_once("pub(crate) struct Config {")
        .expect("config.rs defines struct Config")
        .1
        .split_once("\n}")
        .unwrap()
        .0;
    let fields: BTreeSet<String> = body
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub(crate) "))
        .filter_map(|line| line.split_once(':'))
        .map(|(name, _)| name.to_owned())
        .collect();
    assert!(fields.contains("database_url"), "{fields:?}");
    fields
}

#[test]
fn the_example_files_name_exactly_the_keys_the_binary_reads() {
    let fields = config_fields();
    let config_source = read("crates/minstrel/src/config.rs");

    let toml = read("deploy/minstrel.toml.example");
    let toml_keys: BTreeSet<String> = toml
        .lines()
        .map(|line| line.trim_start_matches("# "))
        .filter_map(|line| line.split_once(" = "))
        .map(|(key, _)| key.to_owned())
        .filter(|key| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    let unknown: Vec<_> = toml_keys.difference(&fields).collect();
    assert!(
        unknown.is_empty(),
        "minstrel.toml.example names keys config.rs does not read: {unknown:?}"
    );
    let missing: Vec<_> = fields.difference(&toml_keys).collect();
    assert!(
        missing.is_empty(),
        "minstrel.toml.example does not mention {missing:?}"
    );

    let env = read("deploy/.env.example");
    let env_keys: BTreeSet<&str> = env
        .lines()
        .map(|line| line.trim_start_matches("# "))
        .filter_map(|line| line.split_once('='))
        .map(|(key, _)| key)
        .filter(|key| {
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect();
    for key in &env_keys {
        // Read by docker compose, not by minstrel.
        if *key == "POSTGRES_PASSWORD" {
            continue;
        }
        match key.strip_prefix("MINSTREL_") {
            Some(field) => assert!(
                fields.contains(&field.to_lowercase()),
                ".env.example names {key}, which config.rs does not read"
            ),
            None => assert!(
                fields.contains(&key.to_lowercase())
                    && config_source.contains(&format!("\"{key}\"")),
                ".env.example names {key}, which config.rs does not read without the MINSTREL_ prefix"
            ),
        }
    }
    for required in ["DISCORD_TOKEN", "TELEGRAM_TOKEN", "POSTGRES_PASSWORD"] {
        assert!(env_keys.contains(required), ".env.example has {required}");
    }
}

#[test]
fn the_deployment_guide_exists_and_is_linked() {
    let guide = read("docs/DEPLOY.md");
    for topic in [
        "docker compose",
        "systemd",
        "yt-dlp",
        "/ready",
        "--shard-total",
    ] {
        assert!(guide.contains(topic), "docs/DEPLOY.md covers {topic}");
    }
    assert!(read("deploy/README.md").contains("DEPLOY.md"));
}
