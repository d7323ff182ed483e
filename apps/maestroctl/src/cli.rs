//! The command line: every subcommand and flag, parsed by clap.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use maestro_domain::model::{
    MailMessageType, SessionStatus, TaskPriority, TaskSessionStatus, TaskStatus, WireEnum,
};

/// Agent-side command line for Maestro Server.
///
/// Inside a session the server spawned, the agent's environment already names the server,
/// project, session and credential (MAESTRO_SERVER_URL, MAESTRO_PROJECT_ID,
/// MAESTRO_SESSION_ID, MAESTRO_SESSION_TOKEN). Elsewhere, `maestroctl auth login` stores a
/// credential in ~/.maestro/auth.json.
#[derive(Debug, Parser)]
#[command(name = "maestroctl", version, propagate_version = true)]
pub struct Cli {
    /// Server base URL [default: the signed-in server, then DATA_DIR/server-url, then
    /// http://localhost:3000].
    #[arg(long, global = true, env = "MAESTRO_SERVER_URL", value_name = "URL")]
    pub server: Option<String>,
    /// Bearer token for this command (a session token, API key or MAESTRO_API_TOKEN);
    /// overrides the stored credential.
    #[arg(
        long,
        global = true,
        env = "MAESTRO_SESSION_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// The project commands act on.
    #[arg(long, global = true, env = "MAESTRO_PROJECT_ID", value_name = "ID")]
    pub project: Option<String>,
    /// The session commands act for (your own session, when you are an agent).
    #[arg(long, global = true, env = "MAESTRO_SESSION_ID", value_name = "ID")]
    pub session: Option<String>,
    /// Print the server's JSON instead of tables (one JSON value per line for `events`).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in, sign out, show who you are.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Keep --session alive (presence) until interrupted.
    Heartbeat(HeartbeatArgs),
    /// Run a command as --session: heartbeat while it runs, forward signals, report the
    /// session completed (exit 0) or failed (anything else).
    Run(RunArgs),
    /// Projects and their members.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Tasks of --project.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Sessions of --project.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Mail between sessions of --project.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Live sessions (agents heartbeating).
    Presence,
    /// Follow --project's live events, like `tail -f`.
    Events(EventsArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Store a credential: a static token (--token, or MAESTRO_API_TOKEN style), or sign in
    /// with Supabase email and password when the server runs AUTH_MODE=supabase.
    Login(LoginArgs),
    /// Forget the stored credential.
    Logout,
    /// Show the credential in use and check it with the server.
    Whoami,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Email of your Supabase account (password grant).
    #[arg(long, conflicts_with = "with_token")]
    pub email: Option<String>,
    /// Read the password from standard input (first line) instead of prompting.
    #[arg(long, requires = "email")]
    pub password_stdin: bool,
    /// Read a static token (MAESTRO_API_TOKEN, an API key) from standard input. `--token`
    /// works too, but ends up in shell history.
    #[arg(long)]
    pub with_token: bool,
}

#[derive(Debug, Args)]
pub struct HeartbeatArgs {
    /// Time between heartbeats (the server keeps a session alive 15 s after each one).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub interval: Duration,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Time between heartbeats.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub interval: Duration,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Projects you can see.
    List,
    /// Create a project.
    Create {
        /// Its name.
        name: String,
        #[arg(long)]
        working_dir: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Members of --project (owners manage them).
    Members {
        #[command(subcommand)]
        action: Option<MembersCommand>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// List the members (the default).
    List,
    /// Share the project with a user, by email or user id.
    Add {
        /// Email or user id.
        user: String,
        #[arg(long, default_value = "viewer", value_parser = ["owner", "editor", "viewer"])]
        role: String,
    },
    /// Change a member's role.
    Role {
        user_id: String,
        #[arg(value_parser = ["owner", "editor", "viewer"])]
        role: String,
    },
    /// Remove a member.
    Remove { user_id: String },
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Tasks of --project.
    List {
        #[arg(long, value_parser = wire::<TaskStatus>)]
        status: Option<TaskStatus>,
        /// Only the sub-tasks of this task.
        #[arg(long, conflicts_with = "root")]
        parent: Option<String>,
        /// Only root tasks.
        #[arg(long)]
        root: bool,
    },
    /// One task.
    Get { id: String },
    /// Create a task in --project.
    Create {
        title: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, value_parser = wire::<TaskPriority>)]
        priority: Option<TaskPriority>,
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        prompt: Option<String>,
    },
    /// Update one or more tasks (the same change to each).
    Update(TaskUpdateArgs),
    /// Claim a task for --session (or renew the claim): one session at a time works on it.
    /// Prints the fencing token to pass to `task update --fencing-token`.
    Claim {
        id: String,
        /// How long the claim lasts unless claimed again.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        ttl: Duration,
    },
    /// Release --session's claim on a task.
    Release { id: String },
}

#[derive(Debug, Args)]
pub struct TaskUpdateArgs {
    #[arg(required = true)]
    pub ids: Vec<String>,
    #[arg(long, value_parser = wire::<TaskStatus>)]
    pub status: Option<TaskStatus>,
    #[arg(long)]
    pub title: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long, value_parser = wire::<TaskPriority>)]
    pub priority: Option<TaskPriority>,
    /// This session's status on the task (needs --session); updates as the session.
    #[arg(long, value_parser = wire::<TaskSessionStatus>)]
    pub session_status: Option<TaskSessionStatus>,
    /// The fencing token of your claim: the server refuses the write if it is stale.
    #[arg(long)]
    pub fencing_token: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Sessions of --project.
    List {
        #[arg(long, value_parser = wire::<SessionStatus>)]
        status: Option<SessionStatus>,
        /// Only sessions working on this task.
        #[arg(long)]
        task: Option<String>,
    },
    /// One session [default: --session].
    Get { id: Option<String> },
    /// Report --session's status (working, idle, completed, failed, stopped…).
    Status {
        #[arg(value_parser = wire::<SessionStatus>)]
        status: SessionStatus,
    },
    /// Ask the user for input (--session): sets needsInput and notifies the apps.
    NeedsInput { message: String },
    /// Answer a session that needs input: clears its needsInput and, with a message, mails it
    /// to the session as a directive.
    Reply {
        /// The session that asked.
        id: String,
        message: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Send mail from --session (or `cli-user`): to a session, a team member's active
    /// sessions, or everyone (broadcast).
    Send(MailSendArgs),
    /// --session's inbox (its own mail and broadcasts).
    Inbox {
        #[arg(long = "type", value_parser = wire::<MailMessageType>)]
        kind: Option<MailMessageType>,
        /// Only mail created after this time (epoch ms).
        #[arg(long)]
        since: Option<i64>,
    },
    /// Wait for mail to --session: answers at once when the inbox (after --since) is not
    /// empty, else when mail arrives or the timeout passes (then prints nothing).
    Wait {
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        timeout: Duration,
        /// Only mail created after this time (epoch ms).
        #[arg(long)]
        since: Option<i64>,
    },
    /// One message.
    Get { id: String },
    /// Reply to a message: a `response` to its sender with `{answer}`.
    Reply { id: String, answer: String },
    /// Delete messages.
    Delete {
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct MailSendArgs {
    /// Recipient session.
    #[arg(long, group = "recipient")]
    pub to: Option<String>,
    /// Every active session of this team member.
    #[arg(long, group = "recipient")]
    pub to_team_member: Option<String>,
    /// Every session of the project.
    #[arg(long, group = "recipient")]
    pub broadcast: bool,
    /// assignment, status_update, query, response, directive or notification.
    #[arg(long = "type", default_value = "directive", value_parser = wire::<MailMessageType>)]
    pub kind: MailMessageType,
    /// One line saying what it is about (1–500 characters).
    #[arg(long)]
    pub subject: String,
    /// Text of the message (body `{"message": …}`).
    #[arg(long, conflicts_with = "body")]
    pub message: Option<String>,
    /// The whole body, a JSON object.
    #[arg(long)]
    pub body: Option<String>,
    /// The message this answers.
    #[arg(long)]
    pub reply_to: Option<String>,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events whose name starts with one of these (`task:`, `mail:received`).
    #[arg(long = "filter", value_name = "PREFIX")]
    pub filters: Vec<String>,
    /// Stop after this many events.
    #[arg(long)]
    pub count: Option<usize>,
}

/// Parses a wire literal of one of the domain's closed sets, listing the valid ones otherwise.
fn wire<T: WireEnum + AllValues>(s: &str) -> Result<T, String> {
    T::from_wire(s).ok_or_else(|| {
        let all: Vec<&str> = T::all().iter().map(|v| v.wire()).collect();
        format!("expected one of: {}", all.join(", "))
    })
}

/// The domain enums' value lists, for [`wire`].
pub trait AllValues: Sized + 'static {
    fn all() -> &'static [Self];
}

macro_rules! all_values {
    ($($t:ty),+) => { $(impl AllValues for $t { fn all() -> &'static [Self] { <$t>::ALL } })+ };
}
all_values!(
    TaskStatus,
    TaskPriority,
    TaskSessionStatus,
    SessionStatus,
    MailMessageType
);

/// `500ms`, `5s`, `2m`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 5s, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit `{unit}` (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
        return Err(format!("`{s}` must be more than 0 and at most a day"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        for bad in ["", "0s", "-1s", "5x", "s", "1e9s", "NaN"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn enum_values_are_the_wire_literals() {
        assert_eq!(
            wire::<TaskStatus>("in_progress"),
            Ok(TaskStatus::InProgress)
        );
        let err = wire::<TaskStatus>("done").unwrap_err();
        assert!(err.contains("in_progress"), "{err}");
    }

    #[test]
    fn run_takes_the_command_after_the_separator() {
        let cli = Cli::try_parse_from([
            "maestroctl",
            "run",
            "--session",
            "s1",
            "--",
            "sh",
            "-c",
            "exit 3",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.command, ["sh", "-c", "exit 3"]);
        assert_eq!(cli.session.as_deref(), Some("s1"));
    }
}
