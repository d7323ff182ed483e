# Maestro Server tasks. `just --list` shows them.

# Run the server on its embedded defaults.
run:
    cargo run --release -p maestro-server

# The whole test suite (the command CI runs).
test:
    cargo test --workspace

# Formatting and lints, as required before every commit.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# API docs of every crate, warnings as errors.
doc:
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# FileSystem start-up benchmark (results go to docs/BENCHMARKS.md by hand).
bench-fs:
    cargo bench -p maestro-fs

# Web app budgets in headless Chromium, failing on any timing over its budget (the test suite
# only reports those); rewrites the "Web app" section of docs/BENCHMARKS.md.
bench-web:
    cargo build -p maestro-server
    cd web && npm ci && npm run build && MAESTRO_WRITE_DOCS=1 WEB_BUDGETS_STRICT=1 SERVER_BIN=$PWD/../target/debug/maestro-server npm run e2e

# Every maestro-load scenario on 1, 2 and 3 instances plus the baselines (figures go to
# docs/BENCHMARKS.md by hand; charts to docs/bench/).
bench-scale:
    cargo build --release -p maestro-server -p maestro-load
    bench/scale.sh

# Expose the server through a Cloudflare Tunnel (edit deploy/cloudflared/config.yml first;
# docs/DEPLOYMENT.md walks through it).
tunnel:
    cloudflared tunnel --config deploy/cloudflared/config.yml run

# Everything CI does, from a fresh machine.
ci:
    bash .ci/run
