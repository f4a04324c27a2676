# minstrel tasks. `just` lists them; every recipe is one plain cargo/bash command you can
# also type yourself.

default:
    @just --list

# Start the bot (console front-end when DISCORD_TOKEN and TELEGRAM_TOKEN are unset).
run *args:
    cargo run --release -- {{args}}

# The README's one test command (`--all-features`: the `bench` feature's tests run too).
test:
    cargo test --workspace --all-features

# Formatting check and clippy with warnings as errors, as CI runs them: every feature, then the
# binary as shipped (default features).
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --all-features -- -D warnings
    cargo clippy -p minstrel --all-targets -- -D warnings

# criterion benchmarks; figures go to docs/BENCHMARKS.md.
bench:
    cargo bench --workspace

# `minstrel bench` (the full pipeline against ffmpeg, docs/BENCHMARKS.md); built with
# `--features bench`, which the shipped binary leaves out.
bench-pipeline *args:
    scripts/bench-pipeline.sh {{args}}

# The black-box tests only: the binary end to end against the testkit fakes (one test binary:
# crates/minstrel/tests/e2e/main.rs), then the workspace checks (tests/e2e/main.rs: layering,
# deploy files).
e2e:
    cargo test -p minstrel --test e2e
    cargo test -p minstrel-e2e

# Everything CI does: system packages, test services, fmt, clippy, tests.
ci:
    bash .ci/run
