//! Web Push subscriptions (issue 27): a device's browser `PushSubscription`, owned by the
//! principal that registered it, with that device's mute list and quiet hours.

use serde::{Deserialize, Serialize};

use super::Millis;

/// The browser's encryption keys of a subscription (RFC 8291), base64url as the browser's
/// `PushSubscription.toJSON()` gives them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PushKeys {
    /// The device's P-256 public key (65 bytes, uncompressed point).
    pub p256dh: String,
    /// The 16-byte authentication secret.
    pub auth: String,
}

/// Who registered a subscription: what it may be told is decided again, from this, for every
/// push (a removed member or a revoked key gets nothing more).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum PushOwner {
    /// The local user or a server credential: every project.
    Unrestricted,
    /// A signed-in user: the projects they are a member of.
    #[serde(rename_all = "camelCase")]
    User { user_id: String },
    /// An agent's session token: its project, while the session has not ended.
    #[serde(rename_all = "camelCase")]
    Session {
        session_id: String,
        project_id: String,
    },
    /// A project API key: its project, until the key is revoked.
    #[serde(rename_all = "camelCase")]
    ApiKey { key_id: String, project_id: String },
}

/// A daily window, in the device's local time, in which nothing is pushed to it. `start`
/// and `end` are `HH:MM`; a window may cross midnight (`22:00`–`07:00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct QuietHours {
    pub start: String,
    pub end: String,
    /// The device's offset from UTC, in minutes (`+60` for UTC+1).
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

impl QuietHours {
    /// Minutes since midnight of an `HH:MM` string; `None` when it is not one.
    pub fn minute_of_day(hhmm: &str) -> Option<u32> {
        let (h, m) = hhmm.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    }

    /// Whether `now_ms` (UTC) falls inside the window. An invalid or empty window
    /// (`start == end`) is never quiet.
    pub fn contains(&self, now_ms: Millis) -> bool {
        let (Some(start), Some(end)) = (
            Self::minute_of_day(&self.start),
            Self::minute_of_day(&self.end),
        ) else {
            return false;
        };
        let local_minutes = now_ms.div_euclid(60_000) + i64::from(self.utc_offset_minutes);
        let minute = local_minutes.rem_euclid(24 * 60) as u32;
        match start.cmp(&end) {
            std::cmp::Ordering::Less => (start..end).contains(&minute),
            std::cmp::Ordering::Greater => minute >= start || minute < end,
            std::cmp::Ordering::Equal => false,
        }
    }
}

/// One device's Web Push subscription. Its id is derived from the endpoint
/// ([`PushSubscription::id_for`]), so a device that subscribes again replaces its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushSubscription {
    pub id: String,
    /// The push service's URL for this device (RFC 8030); untrusted.
    pub endpoint: String,
    pub keys: PushKeys,
    pub owner: PushOwner,
    /// Projects this device hears nothing about.
    #[serde(default)]
    pub muted_projects: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl PushSubscription {
    /// The id of the subscription of `endpoint`: `ps_` and 32 hex digits of its SHA-256.
    pub fn id_for(endpoint: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(endpoint.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("ps_{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start: &str, end: &str, offset: i32) -> QuietHours {
        QuietHours {
            start: start.into(),
            end: end.into(),
            utc_offset_minutes: offset,
        }
    }

    const HOUR: i64 = 3_600_000;

    #[test]
    fn quiet_hours_cross_midnight_and_follow_the_offset() {
        let night = window("22:00", "07:00", 0);
        assert!(night.contains(23 * HOUR));
        assert!(night.contains(3 * HOUR));
        assert!(!night.contains(7 * HOUR));
        assert!(!night.contains(12 * HOUR));
        // UTC+2: 21:00 UTC is 23:00 local.
        assert!(window("22:00", "07:00", 120).contains(21 * HOUR));
        assert!(!window("22:00", "07:00", 120).contains(6 * HOUR));
        let day = window("09:00", "17:30", 0);
        assert!(day.contains(17 * HOUR + 29 * 60_000));
        assert!(!day.contains(17 * HOUR + 30 * 60_000));
    }

    #[test]
    fn a_bad_or_empty_window_is_never_quiet() {
        assert!(!window("25:00", "07:00", 0).contains(HOUR));
        assert!(!window("7:00", "08:00", 0).contains(7 * HOUR + 1));
        assert!(!window("08:00", "08:00", 0).contains(8 * HOUR));
        assert_eq!(QuietHours::minute_of_day("23:59"), Some(1439));
        assert_eq!(QuietHours::minute_of_day("24:00"), None);
    }

    #[test]
    fn the_id_is_a_stable_hash_of_the_endpoint() {
        let a = PushSubscription::id_for("https://push.example/a");
        assert_eq!(a, PushSubscription::id_for("https://push.example/a"));
        assert_ne!(a, PushSubscription::id_for("https://push.example/b"));
        assert_eq!(a.len(), 3 + 32);
    }
}
