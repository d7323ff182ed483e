//! A push service stand-in on loopback, speaking RFC 8030 as a browser vendor's would, and
//! the devices subscribed to it. For every push it checks what a real one checks and what a
//! device needs: the VAPID JWT (RFC 8292: ES256 signature by the `k` key, `aud`, `exp`), the
//! `aes128gcm` body (decrypted here with the device's private key, RFC 8291, written from the
//! RFC independently of the server's library), and records `TTL`, `Urgency` and `Topic`.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aes_gcm::aead::Aead;
use aes_gcm::{Aes128Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One push as the stand-in received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub device: String,
    pub ttl: Option<u64>,
    pub urgency: Option<String>,
    pub topic: Option<String>,
    /// The decrypted payload.
    pub payload: Value,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Why a request was refused (a bad signature, an undecryptable body): the tests fail on
    /// any.
    errors: Vec<String>,
    /// Statuses to answer per device, in turn (then 201).
    answers: HashMap<String, VecDeque<u16>>,
    devices: HashMap<String, (p256::SecretKey, [u8; 16])>,
}

/// The stand-in: an HTTP/1.1 listener on 127.0.0.1.
#[derive(Clone)]
pub struct PushServiceStandIn {
    pub origin: String,
    /// The server's VAPID public key that every push must carry (`k=`).
    vapid_key: Arc<Mutex<Option<String>>>,
    state: Arc<Mutex<State>>,
}

/// A device subscribed to the stand-in.
pub struct Device {
    pub name: String,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

impl Device {
    /// The browser's `PushSubscription.toJSON()`.
    pub fn subscription(&self) -> Value {
        json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": {"p256dh": self.p256dh, "auth": self.auth},
        })
    }
}

impl PushServiceStandIn {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let me = Self {
            origin,
            vapid_key: Arc::default(),
            state: Arc::default(),
        };
        let server = me.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move { server.serve(sock).await });
            }
        });
        me
    }

    /// Pushes must be signed by this VAPID public key.
    pub fn expect_vapid_key(&self, key: &str) {
        *self.vapid_key.lock().unwrap() = Some(key.to_string());
    }

    /// A new device with its own key pair and secret.
    pub fn device(&self, name: &str) -> Device {
        let mut scalar = [0u8; 32];
        let secret = loop {
            getrandom::fill(&mut scalar).unwrap();
            if let Ok(k) = p256::SecretKey::from_slice(&scalar) {
                break k;
            }
        };
        let mut auth = [0u8; 16];
        getrandom::fill(&mut auth).unwrap();
        let public = secret.public_key().to_encoded_point(false);
        self.state
            .lock()
            .unwrap()
            .devices
            .insert(name.to_string(), (secret, auth));
        Device {
            name: name.to_string(),
            endpoint: format!("{}/push/{name}", self.origin),
            p256dh: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            auth: URL_SAFE_NO_PAD.encode(auth),
        }
    }

    /// The next pushes to `device` are answered with `statuses`, in turn.
    pub fn answer(&self, device: &str, statuses: &[u16]) {
        self.state
            .lock()
            .unwrap()
            .answers
            .entry(device.to_string())
            .or_default()
            .extend(statuses);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn received_by(&self, device: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.device == device)
            .collect()
    }

    pub fn errors(&self) -> Vec<String> {
        self.state.lock().unwrap().errors.clone()
    }

    async fn serve(&self, mut sock: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        // Headers, then Content-Length bytes.
        let (head_end, length) = loop {
            let n = match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let length = header(&head, "content-length")
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                break (end + 4, length);
            }
        };
        while buf.len() < head_end + length {
            let n = match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let body = buf[head_end..head_end + length].to_vec();
        let status = match self.accept(&head, &body) {
            Ok(status) => status,
            Err(e) => {
                self.state.lock().unwrap().errors.push(e.clone());
                400
            }
        };
        let reply =
            format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        let _ = sock.write_all(reply.as_bytes()).await;
        let _ = sock.shutdown().await;
    }

    /// Checks and records one push; the status to answer.
    fn accept(&self, head: &str, body: &[u8]) -> Result<u16, String> {
        let request_line = head.lines().next().unwrap_or_default();
        let path = request_line.split(' ').nth(1).unwrap_or_default();
        let device = path
            .strip_prefix("/push/")
            .ok_or_else(|| format!("unexpected request {request_line}"))?
            .to_string();
        if !request_line.starts_with("POST ") {
            return Err(format!("not a POST: {request_line}"));
        }
        if header(head, "content-encoding").as_deref() != Some("aes128gcm") {
            return Err("Content-Encoding is not aes128gcm".into());
        }
        self.check_vapid(head)?;
        let (secret, auth) = self
            .state
            .lock()
            .unwrap()
            .devices
            .get(&device)
            .cloned()
            .ok_or_else(|| format!("unknown device {device}"))?;
        let plain = decrypt(body, &secret, &auth)?;
        let payload: Value =
            serde_json::from_slice(&plain).map_err(|e| format!("payload is not JSON: {e}"))?;
        let mut state = self.state.lock().unwrap();
        let status = state
            .answers
            .get_mut(&device)
            .and_then(VecDeque::pop_front)
            .unwrap_or(201);
        state.received.push(Received {
            device,
            ttl: header(head, "ttl").and_then(|v| v.parse().ok()),
            urgency: header(head, "urgency"),
            topic: header(head, "topic"),
            payload,
            at: Instant::now(),
        });
        Ok(status)
    }

    /// RFC 8292: `Authorization: vapid t=<JWT>, k=<key>`; the JWT is ES256-signed by `k`, its
    /// `aud` is this origin and its `exp` within the next 24 hours.
    fn check_vapid(&self, head: &str) -> Result<(), String> {
        let auth = header(head, "authorization").ok_or("no Authorization")?;
        let rest = auth
            .strip_prefix("vapid ")
            .ok_or("Authorization is not vapid")?;
        let mut t = None;
        let mut k = None;
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("t=") {
                t = Some(v.to_string());
            } else if let Some(v) = part.strip_prefix("k=") {
                k = Some(v.to_string());
            }
        }
        let (t, k) = (t.ok_or("no t=")?, k.ok_or("no k=")?);
        if let Some(expected) = self.vapid_key.lock().unwrap().as_deref()
            && expected != k
        {
            return Err(format!("k={k} is not the server's key {expected}"));
        }
        let (input, sig) = t.rsplit_once('.').ok_or("JWT has no signature")?;
        let key = VerifyingKey::from_sec1_bytes(&b64(&k)?).map_err(|_| "k is not a P-256 key")?;
        let sig = Signature::from_slice(&b64(sig)?).map_err(|_| "bad signature encoding")?;
        key.verify(input.as_bytes(), &sig)
            .map_err(|_| "JWT signature does not verify")?;
        let (header_b64, claims_b64) = input.split_once('.').ok_or("JWT has no claims")?;
        let jwt_header: Value =
            serde_json::from_slice(&b64(header_b64)?).map_err(|e| e.to_string())?;
        if jwt_header["alg"] != "ES256" {
            return Err(format!("JWT alg is {}", jwt_header["alg"]));
        }
        let claims: Value = serde_json::from_slice(&b64(claims_b64)?).map_err(|e| e.to_string())?;
        if claims["aud"] != self.origin.as_str() {
            return Err(format!("aud {} is not {}", claims["aud"], self.origin));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let exp = claims["exp"].as_u64().ok_or("no exp")?;
        if exp <= now || exp > now + 24 * 3600 {
            return Err(format!("exp {exp} is not within 24 h of {now}"));
        }
        if !claims["sub"]
            .as_str()
            .is_some_and(|s| s.starts_with("mailto:") || s.starts_with("https:"))
        {
            return Err(format!("sub {} is not a contact", claims["sub"]));
        }
        Ok(())
    }
}

fn b64(s: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| format!("{s} is not base64url"))
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// RFC 8291 §3.4 and RFC 8188: one aes128gcm record for the device (`ua`) with `auth`.
fn decrypt(body: &[u8], ua: &p256::SecretKey, auth: &[u8; 16]) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("body shorter than its header".into());
    }
    let salt = &body[..16];
    let rs = u32::from_be_bytes(body[16..20].try_into().unwrap()) as usize;
    let idlen = body[20] as usize;
    if idlen != 65 || body.len() < 21 + idlen {
        return Err(format!("keyid is {idlen} bytes, not a P-256 point"));
    }
    let keyid = &body[21..21 + idlen];
    let ciphertext = &body[21 + idlen..];
    if ciphertext.len() > rs {
        return Err("more than one record".into());
    }
    let as_public = p256::PublicKey::from_sec1_bytes(keyid).map_err(|_| "keyid is not a point")?;
    let shared = p256::ecdh::diffie_hellman(ua.to_nonzero_scalar(), as_public.as_affine());
    let ua_public = ua.public_key().to_encoded_point(false);
    let mut info = b"WebPush: info\0".to_vec();
    info.extend_from_slice(ua_public.as_bytes());
    info.extend_from_slice(keyid);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes())
        .expand(&info, &mut ikm)
        .map_err(|_| "hkdf")?;
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .map_err(|_| "hkdf")?;
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
        .map_err(|_| "hkdf")?;
    let plain = Aes128Gcm::new_from_slice(&cek)
        .map_err(|_| "key")?
        .decrypt(Nonce::from_slice(&nonce), ciphertext)
        .map_err(|_| "the body does not decrypt with the device's keys")?;
    // The last record ends with 0x02 and zero padding.
    let end = plain
        .iter()
        .rposition(|b| *b != 0)
        .ok_or("no padding delimiter")?;
    if plain[end] != 2 {
        return Err(format!("padding delimiter is {:#x}, not 0x02", plain[end]));
    }
    Ok(plain[..end].to_vec())
}
