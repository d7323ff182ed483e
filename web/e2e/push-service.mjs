// A push service stand-in on loopback for the browser tests (issue 27), speaking RFC 8030 as a
// browser vendor's would: it verifies each push's VAPID JWT (RFC 8292: ES256 by the `k` key,
// `aud`, `exp`), decrypts its aes128gcm body with the device's private key (RFC 8291, Node's
// crypto) and records the plaintext with TTL, Urgency and Topic. The decrypted payload is then
// handed to the app's service worker (ServiceWorker.deliverPushMessage), as the browser's push
// service would.

import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify } from "node:crypto";
import http from "node:http";

const b64u = (buf) => Buffer.from(buf).toString("base64url");
const unb64u = (s) => Buffer.from(s, "base64url");

export class PushServiceStandIn {
  constructor() {
    this.devices = new Map();
    this.received = [];
    this.errors = [];
    this.vapidKey = null;
  }

  async start() {
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        try {
          this.accept(req, Buffer.concat(chunks));
          res.writeHead(201).end();
        } catch (e) {
          this.errors.push(e.message);
          res.writeHead(400).end();
        }
      });
    });
    await new Promise((ok) => this.server.listen(0, "127.0.0.1", ok));
    this.origin = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  close() {
    this.server?.close();
  }

  /** A device with its own P-256 key pair and auth secret; its PushSubscription JSON. */
  device(name) {
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const auth = randomBytes(16);
    this.devices.set(name, { ecdh, auth });
    return {
      endpoint: `${this.origin}/push/${name}`,
      expirationTime: null,
      keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) },
    };
  }

  receivedBy(name) {
    return this.received.filter((r) => r.device === name);
  }

  accept(req, body) {
    const m = /^\/push\/([^/]+)$/.exec(req.url ?? "");
    if (req.method !== "POST" || !m) throw new Error(`unexpected ${req.method} ${req.url}`);
    const device = this.devices.get(m[1]);
    if (!device) throw new Error(`unknown device ${m[1]}`);
    if (req.headers["content-encoding"] !== "aes128gcm") throw new Error("Content-Encoding is not aes128gcm");
    this.checkVapid(req.headers.authorization ?? "");
    const text = decrypt(body, device.ecdh, device.auth);
    this.received.push({
      device: m[1],
      ttl: Number(req.headers.ttl),
      urgency: req.headers.urgency,
      topic: req.headers.topic,
      text,
      payload: JSON.parse(text),
    });
  }

  checkVapid(header) {
    const t = /t=([^,\s]+)/.exec(header)?.[1];
    const k = /k=([^,\s]+)/.exec(header)?.[1];
    if (!header.startsWith("vapid ") || !t || !k) throw new Error(`not a VAPID Authorization: ${header}`);
    if (this.vapidKey && k !== this.vapidKey) throw new Error("k is not the server's VAPID key");
    const raw = unb64u(k);
    const key = createPublicKey({
      key: { kty: "EC", crv: "P-256", x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33, 65)) },
      format: "jwk",
    });
    const [h, c, sig] = t.split(".");
    const ok = verify("sha256", Buffer.from(`${h}.${c}`), { key, dsaEncoding: "ieee-p1363" }, unb64u(sig));
    if (!ok) throw new Error("the VAPID JWT signature does not verify");
    const claims = JSON.parse(unb64u(c).toString());
    if (claims.aud !== this.origin) throw new Error(`aud ${claims.aud} is not ${this.origin}`);
    const now = Date.now() / 1000;
    if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) throw new Error(`exp ${claims.exp} not within 24 h`);
  }
}

/** RFC 8291 / RFC 8188: one aes128gcm record. */
function decrypt(body, ecdh, auth) {
  const salt = body.subarray(0, 16);
  const idlen = body[20];
  const keyid = body.subarray(21, 21 + idlen);
  const ct = body.subarray(21 + idlen);
  const shared = ecdh.computeSecret(keyid);
  const info = Buffer.concat([Buffer.from("WebPush: info\0"), ecdh.getPublicKey(), keyid]);
  const ikm = Buffer.from(hkdfSync("sha256", shared, auth, info, 32));
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const d = createDecipheriv("aes-128-gcm", cek, nonce);
  d.setAuthTag(ct.subarray(ct.length - 16));
  const plain = Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Error("no 0x02 padding delimiter");
  return plain.subarray(0, end).toString();
}
