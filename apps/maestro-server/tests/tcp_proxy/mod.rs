//! A TCP forwarder whose open connections can be cut at once — the network dropping — while
//! the server behind it keeps running; `hold` also refuses new connections until `release`
//! (a backend that is down). Shared by the server's and maestroctl's tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Proxy {
    /// `http://127.0.0.1:<port>` of the forwarder.
    pub base: String,
    pub port: u16,
    cut: tokio::sync::watch::Sender<u64>,
    holding: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Forwards a free local port to `target` (`http://host:port` or `host:port`).
    pub async fn start(target: &str) -> Self {
        let upstream = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let holding = Arc::new(AtomicBool::new(false));
        let hold = holding.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if hold.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cuts = cuts.clone();
                // Only a cut after this connection was accepted closes it.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            cut,
            holding,
            task,
        }
    }

    /// Closes every connection open now (new ones are accepted again).
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// Closes every open connection and refuses new ones until [`Proxy::release`].
    pub fn hold(&self) {
        self.holding.store(true, Ordering::SeqCst);
        self.cut();
    }

    pub fn release(&self) {
        self.holding.store(false, Ordering::SeqCst);
    }
}
