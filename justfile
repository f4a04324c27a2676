# minstrel tasks. `just` lists them; every recipe is one plain cargo/bash command you can
# also type yourself.

default:
    @just --list

# Start the bot (console front-end when DISCORD_TOKEN and TELEGRAM_TOKEN are unset).
run *args:
    cargo run --release -- {{args}}

# The README's one test command.
test:
    cargo test --workspace

# Formatting check and clippy with warnings as errors, as CI runs them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# criterion benchmarks; figures go to docs/BENCHMARKS.md.
bench:
    cargo bench --workspace

# The black-box tests only (one binary: tests/e2e/main.rs), including the layering test.
e2e:
    cargo test -p minstrel-e2e

# Everything CI does: system packages, test services, fmt, clippy, tests.
ci:
    bash .ci/run
