//! The dependency table of `CONTRIBUTING.md` ("dependencies point inward"), checked against
//! `cargo metadata`.
//!
//! Only normal dependencies count. Dev-dependencies may reach anywhere because tests wire real
//! adapters and fakes; build-dependencies only run at compile time. Platform-specific
//! (`[target.'cfg(..)'.dependencies]`) and optional dependencies are normal dependencies and
//! do count.
//!
//! The rules are data: one [`Rule`] per crate. When an edge breaks a rule, the failure names
//! the edge and the line of `CONTRIBUTING.md` it breaks, and every broken edge is reported at once.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Dependency names with the reason the table gives for them.
///
/// A pattern ending in `*` matches every package name starting with what precedes the `*`;
/// any other pattern matches exactly one package name.
struct Patterns {
    patterns: &'static [&'static str],
    reason: &'static str,
}

impl Patterns {
    fn matches(&self, dependency: &str) -> bool {
        self.patterns
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => dependency.starts_with(prefix),
                None => dependency == *pattern,
            })
    }
}

/// One row of the `CONTRIBUTING.md` dependency table.
struct Rule {
    package: &'static str,
    /// The minstrel crates this crate may depend on; any other minstrel crate is a violation.
    internal: Patterns,
    /// External crates this crate may use although a `forbidden` group matches them: the
    /// exceptions written down in `CONTRIBUTING.md`.
    exceptions: Patterns,
    /// External crates this crate must not depend on, grouped by the reason.
    forbidden: &'static [Patterns],
    /// When present, every external dependency must match it (an allow-list).
    allowed_only: Option<Patterns>,
}

const NO_EXCEPTIONS: Patterns = Patterns {
    patterns: &[],
    reason: "",
};

/// Workspace packages the table does not restrict: the composition root may depend on
/// everything, and test-only or schema crates sit outside the layers.
const UNRESTRICTED: &[&str] = &[
    "minstrel",
    "minstrel-e2e",
    "minstrel-testkit",
    "minstrel-migration",
];

const PRESENTATION_INTERNAL: Patterns = Patterns {
    patterns: &["minstrel-domain", "minstrel-app"],
    reason: "CONTRIBUTING.md: presentation calls the use cases in minstrel-app and knows no \
             infrastructure crate",
};

const PRESENTATION_INFRASTRUCTURE_TECH: Patterns = Patterns {
    patterns: &[
        "sea-orm*",
        "sqlx*",
        "redis",
        "deadpool-redis",
        "moka",
        "symphonia*",
        "rubato",
        "songbird",
    ],
    reason: "CONTRIBUTING.md: presentation knows no infrastructure technology",
};

const RULES: &[Rule] = &[
    Rule {
        package: "minstrel-domain",
        internal: Patterns {
            patterns: &[],
            reason: "CONTRIBUTING.md: domain is the innermost layer and depends on no minstrel crate",
        },
        exceptions: NO_EXCEPTIONS,
        forbidden: &[Patterns {
            patterns: &[
                "tokio*",
                "futures*",
                "async-*",
                "sea-orm*",
                "sqlx*",
                "twilight-*",
                "teloxide*",
                "songbird",
                "symphonia*",
                "redis",
                "deadpool-redis",
                "moka",
            ],
            reason: "CONTRIBUTING.md: domain knows no async runtime, I/O or framework",
        }],
        allowed_only: Some(Patterns {
            patterns: &["thiserror", "serde"],
            reason: "CONTRIBUTING.md: domain depends on std and thiserror only (serde if unavoidable)",
        }),
    },
    Rule {
        package: "minstrel-wire",
        internal: Patterns {
            patterns: &["minstrel-domain"],
            reason: "CONTRIBUTING.md: wire holds serde forms of domain values for the adapters and \
                     depends on minstrel-domain only",
        },
        exceptions: NO_EXCEPTIONS,
        forbidden: &[],
        allowed_only: Some(Patterns {
            patterns: &["serde", "thiserror"],
            reason: "CONTRIBUTING.md: wire knows serde and nothing else: no I/O, no runtime",
        }),
    },
    Rule {
        package: "minstrel-app",
        internal: Patterns {
            patterns: &["minstrel-domain"],
            reason: "CONTRIBUTING.md: app depends inward on minstrel-domain only; adapters plug in \
                     through its ports",
        },
        exceptions: NO_EXCEPTIONS,
        forbidden: &[Patterns {
            patterns: &[
                "sea-orm*",
                "sqlx*",
                "redis",
                "deadpool-redis",
                "moka",
                "twilight-*",
                "teloxide*",
                "songbird",
                "symphonia*",
                "rubato",
                "hound",
                "axum*",
            ],
            reason: "CONTRIBUTING.md: app knows no adapter technology",
        }],
        allowed_only: Some(Patterns {
            patterns: &[
                "async-trait",
                "thiserror",
                "tokio",
                "tracing",
                "governor",
                "rand",
                "mockall",
                "futures",
                "url",
                "percent-encoding",
                "secrecy",
                "backon",
                "metrics",
            ],
            reason: "CONTRIBUTING.md: app uses domain, async-trait, tokio sync/time, tracing and \
                     thiserror (plus governor, rand, mockall, futures; url, percent-encoding \
                     and secrecy for the one redaction of secrets; backon and metrics for \
                     the database outbox)",
        }),
    },
    Rule {
        package: "minstrel-dsp",
        internal: Patterns {
            patterns: &["minstrel-domain"],
            reason: "CONTRIBUTING.md: dsp may use minstrel-domain for filter specs and no other \
                     minstrel crate",
        },
        exceptions: NO_EXCEPTIONS,
        forbidden: &[
            Patterns {
                patterns: &[
                    "tokio*",
                    "futures*",
                    "async-*",
                    "smol",
                    "mio",
                    "crossbeam-channel",
                    "flume",
                ],
                reason: "CONTRIBUTING.md: dsp is synchronous, compute-bound code run on blocking threads",
            },
            Patterns {
                patterns: &[
                    "hyper*",
                    "reqwest",
                    "axum*",
                    "tower*",
                    "sea-orm*",
                    "sqlx*",
                    "redis",
                    "deadpool-redis",
                    "moka",
                    "symphonia*",
                    "hound",
                    "songbird",
                    "twilight-*",
                    "teloxide*",
                ],
                reason: "CONTRIBUTING.md: dsp does no I/O; it filters frames it is handed",
            },
        ],
        allowed_only: None,
    },
    Rule {
        package: "minstrel-sources",
        internal: Patterns {
            patterns: &["minstrel-domain", "minstrel-app"],
            reason: "CONTRIBUTING.md: sources implements app's ports and knows no other adapter or \
                     presentation crate",
        },
        exceptions: NO_EXCEPTIONS,
        forbidden: &[
            Patterns {
                patterns: &[
                    "sea-orm*",
                    "sqlx*",
                    "redis",
                    "deadpool-redis",
                    "moka",
                    "songbird",
                ],
                reason: "CONTRIBUTING.md: sources keeps to its own technology (resolvers, symphonia, \
                         rubato), not another adapter's",
            },
            Patterns {
                patterns: &["twilight-*", "teloxide*"],
                reason: "CONTRIBUTING.md: infrastructure knows no presentation framework",
            },
        ],
        allowed_only: None,
    },
    Rule {
        package: "minstrel-voice",
        internal: Patterns {
            patterns: &["minstrel-domain", "minstrel-app", "minstrel-dsp"],
            reason: "CONTRIBUTING.md: voice implements app's ports, runs the dsp chain, and knows no \
                     other adapter or presentation crate",
        },
        exceptions: Patterns {
            patterns: &["twilight-gateway", "twilight-model"],
            reason: "CONTRIBUTING.md exception: voice may use twilight-gateway (songbird's TwilightMap)",
        },
        forbidden: &[
            Patterns {
                patterns: &[
                    "sea-orm*",
                    "sqlx*",
                    "redis",
                    "deadpool-redis",
                    "moka",
                    "symphonia*",
                    "rubato",
                ],
                reason: "CONTRIBUTING.md: voice keeps to its own technology (songbird, local sinks), not \
                         another adapter's",
            },
            Patterns {
                patterns: &["twilight-*", "teloxide*"],
                reason: "CONTRIBUTING.md: infrastructure knows no presentation framework",
            },
        ],
        allowed_only: None,
    },
    Rule {
        package: "minstrel-db",
        internal: Patterns {
            patterns: &[
                "minstrel-domain",
                "minstrel-app",
                "minstrel-migration",
                "minstrel-wire",
            ],
            reason: "CONTRIBUTING.md: db implements app's ports (and runs the migrations, stores the \
                     serde forms of minstrel-wire) and knows no other adapter or presentation \
                     crate",
        },
        exceptions: NO_EXCEPTIONS,
        forbidden: &[
            Patterns {
                patterns: &[
                    "redis",
                    "deadpool-redis",
                    "moka",
                    "symphonia*",
                    "rubato",
                    "songbird",
                ],
                reason: "CONTRIBUTING.md: db keeps to its own technology (sea-orm), not another \
                         adapter's",
            },
            Patterns {
                patterns: &["twilight-*", "teloxide*"],
                reason: "CONTRIBUTING.md: infrastructure knows no presentation framework",
            },
        ],
        allowed_only: None,
    },
    Rule {
        package: "minstrel-cache",
        internal: Patterns {
            patterns: &["minstrel-domain", "minstrel-app"],
            reason: "CONTRIBUTING.md: cache implements app's ports and knows no other adapter or \
                     presentation crate",
        },
        exceptions: NO_EXCEPTIONS,
        forbidden: &[
            Patterns {
                patterns: &["sea-orm*", "sqlx*", "symphonia*", "rubato", "songbird"],
                reason: "CONTRIBUTING.md: cache keeps to its own technology (redis, moka), not another \
                         adapter's",
            },
            Patterns {
                patterns: &["twilight-*", "teloxide*"],
                reason: "CONTRIBUTING.md: infrastructure knows no presentation framework",
            },
        ],
        allowed_only: None,
    },
    Rule {
        package: "minstrel-bus",
        internal: Patterns {
            patterns: &["minstrel-domain", "minstrel-app", "minstrel-wire"],
            reason: "CONTRIBUTING.md: bus implements app's ports (its entries carry the serde forms \
                     of minstrel-wire) and knows no other adapter or presentation crate",
        },
        exceptions: NO_EXCEPTIONS,
        forbidden: &[
            Patterns {
                patterns: &[
                    "sea-orm*",
                    "sqlx*",
                    "moka",
                    "symphonia*",
                    "rubato",
                    "songbird",
                ],
                reason: "CONTRIBUTING.md: bus keeps to its own technology (Redis Streams), not another \
                         adapter's",
            },
            Patterns {
                patterns: &["twilight-*", "teloxide*"],
                reason: "CONTRIBUTING.md: infrastructure knows no presentation framework",
            },
        ],
        allowed_only: None,
    },
    Rule {
        package: "minstrel-discord",
        internal: PRESENTATION_INTERNAL,
        exceptions: NO_EXCEPTIONS,
        forbidden: &[
            PRESENTATION_INFRASTRUCTURE_TECH,
            Patterns {
                patterns: &["teloxide*"],
                reason: "CONTRIBUTING.md: discord's own framework is twilight",
            },
        ],
        allowed_only: None,
    },
    Rule {
        package: "minstrel-telegram",
        internal: PRESENTATION_INTERNAL,
        exceptions: NO_EXCEPTIONS,
        forbidden: &[
            PRESENTATION_INFRASTRUCTURE_TECH,
            Patterns {
                patterns: &["twilight-*"],
                reason: "CONTRIBUTING.md: telegram's own framework is teloxide",
            },
        ],
        allowed_only: None,
    },
    Rule {
        package: "minstrel-console",
        internal: PRESENTATION_INTERNAL,
        exceptions: NO_EXCEPTIONS,
        forbidden: &[
            PRESENTATION_INFRASTRUCTURE_TECH,
            Patterns {
                patterns: &["twilight-*", "teloxide*"],
                reason: "CONTRIBUTING.md: console is a local front-end and needs no chat framework",
            },
        ],
        allowed_only: None,
    },
];

const TESTKIT: &str = "minstrel-testkit";

fn is_internal(dependency: &str) -> bool {
    dependency == "minstrel" || dependency.starts_with("minstrel-")
}

/// The workspace packages of a `cargo metadata` document, with the names of their normal
/// dependencies.
fn workspace_packages(metadata: &Value) -> Vec<(String, Vec<String>)> {
    let members: Option<BTreeSet<&str>> = metadata["workspace_members"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect());
    let packages = metadata["packages"]
        .as_array()
        .expect("cargo metadata has a `packages` array");
    packages
        .iter()
        .filter(|package| match (&members, package["id"].as_str()) {
            (Some(members), Some(id)) => members.contains(id),
            _ => true,
        })
        .map(|package| {
            let name = package["name"]
                .as_str()
                .expect("every package has a name")
                .to_owned();
            let dependencies = package["dependencies"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                // `kind` is null for normal dependencies, "dev" or "build" otherwise.
                .filter(|dependency| dependency["kind"].is_null())
                .filter_map(|dependency| dependency["name"].as_str())
                .map(str::to_owned)
                .collect();
            (name, dependencies)
        })
        .collect()
}

/// Every edge of the workspace's normal dependency graph that breaks the table.
fn layering_violations(metadata: &Value) -> Vec<String> {
    let mut violations = Vec::new();
    for (package, dependencies) in workspace_packages(metadata) {
        let rule = RULES.iter().find(|rule| rule.package == package);
        for dependency in &dependencies {
            if dependency == TESTKIT {
                violations.push(format!(
                    "{package} must not depend on {TESTKIT} (CONTRIBUTING.md: testkit is a \
                     dev-dependency only)"
                ));
                continue;
            }
            let Some(rule) = rule else { continue };
            if let Some(reason) = broken_reason(rule, dependency) {
                violations.push(format!(
                    "{package} must not depend on {dependency} ({reason})"
                ));
            }
        }
    }
    violations
}

/// Why `rule` forbids `dependency`, or `None` when the edge is allowed.
fn broken_reason(rule: &Rule, dependency: &str) -> Option<&'static str> {
    if is_internal(dependency) {
        return (!rule.internal.matches(dependency)).then_some(rule.internal.reason);
    }
    if rule.exceptions.matches(dependency) {
        return None;
    }
    if let Some(group) = rule
        .forbidden
        .iter()
        .find(|group| group.matches(dependency))
    {
        return Some(group.reason);
    }
    match &rule.allowed_only {
        Some(allowed) if !allowed.matches(dependency) => Some(allowed.reason),
        _ => None,
    }
}

/// Workspace packages without a row, and rows without a package: either means the table no
/// longer describes the workspace and would pass without checking anything.
fn table_coverage_problems(metadata: &Value) -> Vec<String> {
    let names: BTreeSet<String> = workspace_packages(metadata)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let mut problems = Vec::new();
    for name in &names {
        let covered =
            RULES.iter().any(|rule| rule.package == name) || UNRESTRICTED.contains(&name.as_str());
        if !covered {
            problems.push(format!(
                "workspace package {name} has no row in the layering table (add one to \
                 tests/e2e/layering.rs, following CONTRIBUTING.md)"
            ));
        }
    }
    for rule in RULES {
        if !names.contains(rule.package) {
            problems.push(format!(
                "the layering table has a row for {}, which is not a workspace package",
                rule.package
            ));
        }
    }
    problems
}

fn workspace_metadata() -> Value {
    let cargo = std::env::var_os("CARGO")
        .or_else(|| option_env!("CARGO").map(Into::into))
        .unwrap_or_else(|| "cargo".into());
    let workspace_root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace root");
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn dependencies_point_inward() {
    let metadata = workspace_metadata();
    let mut problems = table_coverage_problems(&metadata);
    problems.extend(layering_violations(&metadata));
    assert!(
        problems.is_empty(),
        "{} layering violation(s):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

/// A dependency name with its `kind` as `cargo metadata` reports it (`None` for normal).
type SyntheticDependency<'a> = (&'a str, Option<&'a str>);

/// A `cargo metadata` document holding only what the checker reads.
fn synthetic_metadata(packages: &[(&str, &[SyntheticDependency<'_>])]) -> Value {
    let packages: Vec<Value> = packages
        .iter()
        .map(|(name, dependencies)| {
            let dependencies: Vec<Value> = dependencies
                .iter()
                .map(|(dependency, kind)| serde_json::json!({ "name": dependency, "kind": kind }))
                .collect();
            serde_json::json!({ "name": name, "dependencies": dependencies })
        })
        .collect();
    serde_json::json!({ "packages": packages })
}

#[test]
fn checker_reports_app_depending_on_sea_orm() {
    let metadata = synthetic_metadata(&[
        ("minstrel-domain", &[("thiserror", None)]),
        (
            "minstrel-app",
            &[
                ("minstrel-domain", None),
                ("tokio", None),
                ("sea-orm", None),
                // A dev-dependency may reach anywhere: not a violation.
                ("redis", Some("dev")),
            ],
        ),
    ]);
    assert_eq!(
        layering_violations(&metadata),
        [
            "minstrel-app must not depend on sea-orm (CONTRIBUTING.md: app knows no adapter technology)"
        ]
    );
}

#[test]
fn checker_reports_presentation_depending_on_db() {
    let metadata = synthetic_metadata(&[(
        "minstrel-console",
        &[
            ("minstrel-app", None),
            ("minstrel-db", None),
            ("tokio", None),
        ],
    )]);
    let violations = layering_violations(&metadata);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0]
            .starts_with("minstrel-console must not depend on minstrel-db (CONTRIBUTING.md:"),
        "{violations:?}"
    );
}

#[test]
fn checker_reports_the_bus_reaching_a_front_end_or_another_adapter() {
    let metadata = synthetic_metadata(&[(
        "minstrel-bus",
        &[
            ("minstrel-app", None),
            ("minstrel-discord", None),
            ("minstrel-cache", None),
            ("moka", None),
            ("teloxide", None),
            ("deadpool-redis", None),
        ],
    )]);
    let violations = layering_violations(&metadata);
    let broken: Vec<&str> = violations
        .iter()
        .map(|violation| violation.split(" (").next().unwrap_or_default())
        .collect();
    assert_eq!(
        broken,
        [
            "minstrel-bus must not depend on minstrel-discord",
            "minstrel-bus must not depend on minstrel-cache",
            "minstrel-bus must not depend on moka",
            "minstrel-bus must not depend on teloxide",
        ],
        "{violations:?}"
    );
}

#[test]
fn checker_collects_every_broken_edge() {
    let metadata = synthetic_metadata(&[
        ("minstrel-domain", &[("thiserror", None), ("tokio", None)]),
        (
            "minstrel-dsp",
            &[("minstrel-domain", None), ("minstrel-voice", None)],
        ),
        (
            "minstrel-voice",
            &[
                ("minstrel-dsp", None),
                ("songbird", None),
                ("twilight-gateway", None),
                ("teloxide", None),
            ],
        ),
        ("minstrel", &[(TESTKIT, None)]),
    ]);
    let violations = layering_violations(&metadata);
    let broken: Vec<&str> = violations
        .iter()
        .map(|violation| violation.split(" (").next().unwrap_or_default())
        .collect();
    assert_eq!(
        broken,
        [
            "minstrel-domain must not depend on tokio",
            "minstrel-dsp must not depend on minstrel-voice",
            "minstrel-voice must not depend on teloxide",
            "minstrel must not depend on minstrel-testkit",
        ],
        "{violations:?}"
    );
}

#[test]
fn checker_accepts_the_allowed_graph() {
    let metadata = synthetic_metadata(&[
        (
            "minstrel-domain",
            &[("thiserror", None), ("proptest", Some("dev"))],
        ),
        (
            "minstrel-app",
            &[
                ("minstrel-domain", None),
                ("mockall", None),
                ("futures", None),
            ],
        ),
        (
            "minstrel-dsp",
            &[("minstrel-domain", None), ("arc-swap", None)],
        ),
        (
            "minstrel-voice",
            &[
                ("minstrel-app", None),
                ("minstrel-dsp", None),
                ("songbird", None),
                ("twilight-model", None),
            ],
        ),
        ("minstrel-db", &[("minstrel-app", None), ("sea-orm", None)]),
        (
            "minstrel-cache",
            &[("deadpool-redis", None), ("moka", None)],
        ),
        (
            "minstrel-bus",
            &[
                ("minstrel-app", None),
                ("minstrel-wire", None),
                ("deadpool-redis", None),
                ("backon", None),
            ],
        ),
        (
            "minstrel-discord",
            &[("minstrel-app", None), ("twilight-http", None)],
        ),
        (
            "minstrel-telegram",
            &[("minstrel-app", None), ("teloxide", None)],
        ),
        ("minstrel", &[("minstrel-db", None), ("sea-orm", None)]),
        ("minstrel-e2e", &[(TESTKIT, Some("dev"))]),
    ]);
    assert_eq!(layering_violations(&metadata), Vec::<String>::new());
}
