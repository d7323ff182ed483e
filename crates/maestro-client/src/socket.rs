//! A Socket.IO `/mobile` subscription: the live events of one project, as the web app gets
//! them, over Engine.IO v4 on a WebSocket (no long-polling).
//!
//! The handshake carries `auth: {token, projectId, offset?}`; the server refuses a caller who
//! may not see the project (`connect_error` → [`ClientError::Socket`]). Pings are answered
//! here. Events end (`next` → `None`) when the connection closes.
//!
//! Every event of the project log carries its id ([`SubscriptionEvent::id`]). A caller that
//! reconnects with [`Client::subscribe_from`] and the last id it saw first gets exactly the
//! events it missed, in order, then `state:resumed {replayed, lastEventId}` — or
//! `resync_required {reason}` when the server no longer has them (then re-read the state
//! with `state:sync`). Right after a replay an event may arrive a second time with the same
//! id; drop ids already seen.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::client::Client;
use crate::error::ClientError;

const NS: &str = "/mobile";

/// The event that ends a resume's replay: `{since, replayed, lastEventId}`.
pub const RESUMED: &str = "state:resumed";
/// The event a resume gets when the server no longer has what came after its offset:
/// `{reason, since}`; re-read the state (`state:sync`).
pub const RESYNC_REQUIRED: &str = "resync_required";

/// One event the server emitted to the project's room.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionEvent {
    /// `task:updated`, `session:created`, `mail:received`, …
    pub name: String,
    /// Its first argument.
    pub data: Value,
    /// Its id in the project's event log (the second argument), to resume after it.
    pub id: Option<String>,
}

type Acks = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A live `/mobile` connection bound to one project. Dropping it closes the connection.
#[derive(Debug)]
pub struct Subscription {
    events: mpsc::Receiver<SubscriptionEvent>,
    out: mpsc::Sender<String>,
    acks: Acks,
    next_ack: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Client {
    /// Connects to `/mobile` for `project_id` and waits for the handshake's answer.
    pub async fn subscribe(&self, project_id: &str) -> Result<Subscription, ClientError> {
        self.subscribe_from(project_id, None).await
    }

    /// [`Client::subscribe`], resuming after `offset` (the last event id seen) when given.
    pub async fn subscribe_from(
        &self,
        project_id: &str,
        offset: Option<&str>,
    ) -> Result<Subscription, ClientError> {
        let ws_base = self
            .base_url()
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        let url = format!("{ws_base}/socket.io/?EIO=4&transport=websocket");
        let req = url
            .as_str()
            .into_client_request()
            .map_err(|e| ClientError::Socket(format!("bad URL {url}: {e}")))?;
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(15),
            tokio_tungstenite::connect_async(req),
        )
        .await
        .map_err(|_| ClientError::Socket("timed out connecting".into()))?
        .map_err(|e| ClientError::Socket(format!("cannot connect: {e}")))?;
        let (mut sink, mut stream) = ws.split();

        // Engine.IO open packet, then the namespace CONNECT with the handshake auth.
        let mut auth = json!({ "projectId": project_id });
        if let Some(t) = self.token() {
            auth["token"] = json!(t);
        }
        if let Some(o) = offset {
            auth["offset"] = json!(o);
        }
        let handshake = async {
            let mut opened = false;
            while let Some(msg) = stream.next().await {
                let text = match msg {
                    Ok(Message::Text(t)) => t.to_string(),
                    Ok(Message::Close(_)) => break,
                    Ok(_) => continue,
                    Err(e) => return Err(ClientError::Socket(e.to_string())),
                };
                if !opened && text.starts_with('0') {
                    opened = true;
                    sink.send(Message::Text(format!("40{NS},{auth}").into()))
                        .await
                        .map_err(|e| ClientError::Socket(e.to_string()))?;
                } else if text == "2" {
                    let _ = sink.send(Message::Text("3".into())).await;
                } else if text.starts_with(&format!("40{NS},")) {
                    return Ok(());
                } else if let Some(err) = text.strip_prefix(&format!("44{NS},")) {
                    let v: Value = serde_json::from_str(err).unwrap_or(Value::Null);
                    let msg = v
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or(err)
                        .to_string();
                    return Err(ClientError::Socket(format!("refused: {msg}")));
                }
            }
            Err(ClientError::Socket("closed during the handshake".into()))
        };
        tokio::time::timeout(Duration::from_secs(15), handshake)
            .await
            .map_err(|_| ClientError::Socket("timed out in the handshake".into()))??;

        let (events_tx, events) = mpsc::channel(1024);
        let (out, mut out_rx) = mpsc::channel::<String>(64);
        let acks: Acks = Arc::default();
        let reader_acks = acks.clone();
        let reader = tokio::spawn(async move {
            loop {
                tokio::select! {
                    outgoing = out_rx.recv() => {
                        let Some(text) = outgoing else { break };
                        if sink.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    incoming = stream.next() => {
                        let text = match incoming {
                            Some(Ok(Message::Text(t))) => t.to_string(),
                            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                            Some(Ok(_)) => continue,
                        };
                        if text == "2" {
                            if sink.send(Message::Text("3".into())).await.is_err() {
                                break;
                            }
                            continue;
                        }
                        let delivered = match parse_packet(&text) {
                            Some(Packet::Event(e)) => events_tx.send(e).await.is_ok(),
                            Some(Packet::Ack(id, data)) => {
                                if let Some(tx) = reader_acks.lock().await.remove(&id) {
                                    let _ = tx.send(data);
                                }
                                true
                            }
                            Some(Packet::Disconnect) => false,
                            None => true,
                        };
                        if !delivered {
                            break;
                        }
                    }
                }
            }
        });
        Ok(Subscription {
            events,
            out,
            acks,
            next_ack: AtomicU64::new(1),
            reader,
        })
    }
}

impl Subscription {
    /// The next event, or `None` once the connection has closed.
    pub async fn next(&mut self) -> Option<SubscriptionEvent> {
        self.events.recv().await
    }

    /// Emits `event` with `data` and waits for the server's acknowledgement
    /// (`state:sync` answers with the project's snapshot).
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: Value,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.acks.lock().await.insert(id, tx);
        let packet = format!("42{NS},{id}{}", json!([event, data]));
        self.out
            .send(packet)
            .await
            .map_err(|_| ClientError::Socket("the connection has closed".into()))?;
        let answer = tokio::time::timeout(timeout, rx).await;
        self.acks.lock().await.remove(&id);
        match answer {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(ClientError::Socket("the connection has closed".into())),
            Err(_) => Err(ClientError::Socket(format!(
                "no answer to {event} in {timeout:?}"
            ))),
        }
    }
}

enum Packet {
    Event(SubscriptionEvent),
    Ack(u64, Value),
    Disconnect,
}

/// Parses a Socket.IO packet of the `/mobile` namespace: `42/mobile,[name, data, id?]`,
/// `43/mobile,<id>[data]`, `41/mobile,`.
fn parse_packet(text: &str) -> Option<Packet> {
    let rest = text.strip_prefix('4')?;
    let kind = rest.chars().next()?;
    let rest = rest.get(kind.len_utf8()..)?.strip_prefix(NS)?;
    let rest = rest.strip_prefix(',').unwrap_or(rest);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (id, payload) = rest.split_at(digits);
    match kind {
        '1' => Some(Packet::Disconnect),
        '2' => {
            let v: Value = serde_json::from_str(payload).ok()?;
            let arr = v.as_array()?;
            let name = arr.first()?.as_str()?.to_string();
            let data = arr.get(1).cloned().unwrap_or(Value::Null);
            let id = arr.get(2).and_then(Value::as_str).map(str::to_string);
            Some(Packet::Event(SubscriptionEvent { name, data, id }))
        }
        '3' => {
            let v: Value = serde_json::from_str(payload).ok()?;
            let data = v.as_array()?.first().cloned().unwrap_or(Value::Null);
            Some(Packet::Ack(id.parse().ok()?, data))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_of_the_namespace_are_parsed() {
        match parse_packet(r#"42/mobile,["task:created",{"id":"t1"}]"#) {
            Some(Packet::Event(e)) => {
                assert_eq!(e.name, "task:created");
                assert_eq!(e.data["id"], "t1");
                assert_eq!(e.id, None);
            }
            _ => panic!("not an event"),
        }
        match parse_packet(r#"42/mobile,["task:created",{"id":"t1"},"1733313600000-3"]"#) {
            Some(Packet::Event(e)) => assert_eq!(e.id.as_deref(), Some("1733313600000-3")),
            _ => panic!("not an event"),
        }
        match parse_packet(r#"43/mobile,7[{"success":true}]"#) {
            Some(Packet::Ack(7, v)) => assert_eq!(v["success"], true),
            _ => panic!("not an ack"),
        }
        assert!(matches!(
            parse_packet("41/mobile,"),
            Some(Packet::Disconnect)
        ));
        assert!(parse_packet(r#"42/ui,["x",1]"#).is_none());
        assert!(parse_packet("42/mobile,not json").is_none());
        assert!(parse_packet("").is_none());
        assert!(parse_packet("4é/mobile,").is_none());
    }
}
