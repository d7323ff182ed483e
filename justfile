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

# Timing-sensitive test binaries, run again and again (default 20 times) on this machine while
# you load it (e.g. `cargo build --release` in another checkout); one line per run in
# target/stress/runs.tsv (docs/BENCHMARKS.md, "Tests under load").
stress runs="20":
    bench/stress-tests.sh {{runs}} maestro-memory:contract maestro-fs:contract maestro-metrics:contract maestro-redis:contract maestro-supabase:contract maestro-redis:lock maestro-redis:mail maestro-redis:presence maestro-redis:fault maestro-http:routes maestro-http:ws maestro-http:security maestro-http:resume maestro-server:client maestro-server:doctor maestro-server:drain maestro-server:handshake_flood maestro-server:legacy_data maestro-server:logs maestro-server:metrics maestro-server:postgres_outage maestro-server:read_your_writes maestro-server:redis_restart maestro-server:security_config maestro-server:socketio maestro-server:supabase_server maestro-server:two_instances maestro-server:web

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
