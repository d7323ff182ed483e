//! One module per command group; each function is a thin layer over `maestro-client`.

mod agent;
mod auth;
mod live;
mod mail;
mod project;
pub(crate) mod session;
mod task;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::context::{Ctx, Env};
use crate::error::Result;

/// Runs the parsed command line.
pub async fn dispatch(cli: Cli, env: Env) -> Result<ExitCode> {
    let ctx = Ctx::resolve(&cli, &env).await?;
    match cli.command {
        Command::Auth(c) => auth::run(&ctx, c).await?,
        Command::Heartbeat(a) => agent::heartbeat(&ctx, a).await?,
        Command::Run(a) => return agent::run(&ctx, a).await,
        Command::Project(c) => project::run(&ctx, c).await?,
        Command::Task(c) => task::run(&ctx, c).await?,
        Command::Session(c) => session::run(&ctx, c).await?,
        Command::Mail(c) => mail::run(&ctx, c).await?,
        Command::Presence => live::presence(&ctx).await?,
        Command::Events(a) => live::events(&ctx, a).await?,
        // Printed by `main` before any context is resolved (it needs no server).
        Command::Completions { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}
