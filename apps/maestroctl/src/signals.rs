//! Signals: the ones that stop a command, and forwarding them to a child (`run`).

/// Resolves on the first SIGINT or SIGTERM (Ctrl-C elsewhere).
pub async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The signals `run` passes on to its child.
#[cfg(unix)]
pub struct Forwarder {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    /// SIGINT from a terminal's Ctrl-C already reached the child (same process group); it is
    /// forwarded only when it did not come from the terminal.
    forward_int: bool,
}

#[cfg(unix)]
impl Forwarder {
    pub fn new() -> std::io::Result<Self> {
        use std::io::IsTerminal;
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            forward_int: !std::io::stdin().is_terminal(),
        })
    }

    /// Waits for the next signal and sends it to `pid`; returns its name.
    pub async fn forward_next(&mut self, pid: Option<u32>) -> &'static str {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let (sig, name, forward) = tokio::select! {
            _ = self.int.recv() => (Signal::SIGINT, "SIGINT", self.forward_int),
            _ = self.term.recv() => (Signal::SIGTERM, "SIGTERM", true),
            _ = self.hup.recv() => (Signal::SIGHUP, "SIGHUP", true),
        };
        if forward
            && let Some(pid) = pid.and_then(|p| i32::try_from(p).ok())
            && let Err(e) = kill(Pid::from_raw(pid), sig)
        {
            tracing::warn!(pid, signal = name, error = %e, "cannot forward the signal");
        }
        name
    }
}

/// Without Unix signals, Ctrl-C reaches the child through the console; nothing to forward.
#[cfg(not(unix))]
pub struct Forwarder;

#[cfg(not(unix))]
impl Forwarder {
    pub fn new() -> std::io::Result<Self> {
        Ok(Self)
    }

    pub async fn forward_next(&mut self, _pid: Option<u32>) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
