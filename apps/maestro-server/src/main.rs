//! `maestro-server` binary: configuration, logging, signals.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use maestro_server::config::{Args, Command, Config, LogFormat, MigrateTarget};

fn main() -> ExitCode {
    let args = Args::parse();
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(std::path::PathBuf::from);
    if let Some(Command::Doctor { json }) = args.command {
        return doctor(&args, home.as_deref(), json);
    }
    let cfg = match Config::from_args(args, home.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("maestro-server: {e}");
            return ExitCode::from(1);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cfg.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match cfg.log_format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Compact => builder.compact().init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    if let Some(Command::Migrate {
        target: MigrateTarget::ToSupabase { source, dry_run },
    }) = cfg.command.clone()
    {
        let source = source
            .map(|s| maestro_server::config::expand_home(&s, home.as_deref()))
            .unwrap_or_else(|| cfg.data_dir.clone());
        return match runtime.block_on(maestro_server::migrate_to_supabase(&cfg, &source, dry_run)) {
            Ok(report) => {
                print!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("maestro-server: migration failed: {e}");
                ExitCode::from(1)
            }
        };
    }
    let deadline = cfg.shutdown_timeout;
    let result = runtime.block_on(maestro_server::run(cfg, env, shutdown_signal(deadline)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("maestro-server: {e}");
            ExitCode::from(1)
        }
    }
}

/// The multi-threaded runtime, or the exit status after saying why there is none.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("maestro-server: cannot start the async runtime: {e}");
            ExitCode::from(1)
        })
}

/// `maestro-server doctor [--json]`: checks even a configuration that would not start; exit
/// status 1 when a check fails.
fn doctor(args: &Args, home: Option<&std::path::Path>, json: bool) -> ExitCode {
    // Adapters' own warnings would only repeat what the report says.
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let report = runtime.block_on(maestro_server::doctor::run(args, home));
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.render());
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Resolves on the first SIGINT or SIGTERM; a second one, or `deadline` of draining
/// (`SHUTDOWN_TIMEOUT_SECS`), forces exit 1. A drain that finishes in time exits 0.
async fn shutdown_signal(deadline: Duration) {
    wait_for_signal().await;
    tracing::info!(
        deadline_secs = deadline.as_secs(),
        "shutting down: readiness is 503, pending mail waits answer [], Socket.IO and \
         WebSocket clients are closed (they reconnect, to another instance behind a \
         balancer), in-flight requests finish (send the signal again to force)"
    );
    tokio::spawn(async move {
        tokio::select! {
            _ = wait_for_signal() => tracing::warn!("second signal: forcing exit"),
            _ = tokio::time::sleep(deadline) => tracing::warn!("drain timed out: forcing exit"),
        }
        std::process::exit(1);
    });
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
