//! Getting a safety notice to people: the notifier interface, and the
//! signed webhook that implements it. An email or SMS gateway is a
//! deployment's webhook receiver (or another implementation of
//! [`Notifier`]) behind the same outbox, retries and delivery log.
//!
//! A webhook request is `POST <url>` with the notice as JSON and headers
//! `Fieldbook-Delivery` (the same id on every retry: the receiver's
//! idempotency key), `Fieldbook-Event` (the notice kind) and
//! `Fieldbook-Signature: t=<ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
//! under the deployment's shared secret; receivers refuse a signature
//! older than five minutes.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Header carrying the delivery id.
pub const H_DELIVERY: &str = "fieldbook-delivery";
/// Header carrying the notice kind.
pub const H_EVENT: &str = "fieldbook-event";
/// Header carrying the signature.
pub const H_SIGNATURE: &str = "fieldbook-signature";

/// Why one attempt failed (no personal data: a status or an error kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// What went wrong.
    pub why: String,
    /// Worth trying again (network, 5xx, 429, 408); a 4xx is not.
    pub retry: bool,
}

/// One attempt's result: the receiver's status on success.
pub type SendResult = Result<u16, SendFailure>;

/// Sends notices somewhere.
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// A stable name for this target (stored with each outbox row).
    fn target(&self) -> &str;

    /// Sends one notice (`body`, JSON) as delivery `delivery_id`.
    fn send<'a>(
        &'a self,
        delivery_id: &'a str,
        kind: &'a str,
        body: &'a str,
        now_ms: i64,
    ) -> Pin<Box<dyn Future<Output = SendResult> + Send + 'a>>;
}

/// The signature header value for `body` at `t_ms` under `secret`.
pub fn signature(secret: &[u8], t_ms: i64, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, format!("{t_ms}.{body}").as_bytes());
    format!("t={t_ms},v1={}", hex::encode(tag.as_ref()))
}

/// Checks a signature header (what a receiver does): the HMAC in
/// constant time, and the time within `max_age_ms` of `now_ms`.
pub fn verify(secret: &[u8], header: &str, body: &str, now_ms: i64, max_age_ms: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = hex::decode(x).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now_ms - t).abs() > max_age_ms {
        return false;
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::verify(&key, format!("{t}.{body}").as_bytes(), &v1).is_ok()
}

/// A webhook target.
pub struct Webhook {
    name: String,
    url: reqwest::Url,
    secret: Vec<u8>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret, nor the URL's query (it may carry a token).
        write!(f, "Webhook({})", self.name)
    }
}

impl Webhook {
    /// A webhook at `url` signing with `secret`. Its name is derived from
    /// the URL without revealing it.
    pub fn new(url: &str, secret: &[u8]) -> Result<Self, String> {
        let url =
            reqwest::Url::parse(url).map_err(|_| "the webhook URL does not parse".to_owned())?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err("the webhook URL must be http(s)".into());
        }
        if secret.len() < 16 {
            return Err("the webhook secret must be at least 16 bytes".into());
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, url.as_str().as_bytes());
        let name = format!(
            "webhook:{}:{}",
            url.host_str().unwrap_or("-"),
            &hex::encode(digest.as_ref())[..12]
        );
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| "cannot build the HTTP client".to_owned())?;
        Ok(Self {
            name,
            url,
            secret: secret.to_vec(),
            http,
        })
    }
}

impl Notifier for Webhook {
    fn target(&self) -> &str {
        &self.name
    }

    fn send<'a>(
        &'a self,
        delivery_id: &'a str,
        kind: &'a str,
        body: &'a str,
        now_ms: i64,
    ) -> Pin<Box<dyn Future<Output = SendResult> + Send + 'a>> {
        Box::pin(async move {
            let resp = self
                .http
                .post(self.url.clone())
                .header("content-type", "application/json")
                .header(H_DELIVERY, delivery_id)
                .header(H_EVENT, kind)
                .header(H_SIGNATURE, signature(&self.secret, now_ms, body))
                .body(body.to_owned())
                .send()
                .await
                .map_err(|e| SendFailure {
                    status: None,
                    why: if e.is_timeout() {
                        "timeout".into()
                    } else if e.is_connect() {
                        "connection failed".into()
                    } else {
                        "request failed".into()
                    },
                    retry: true,
                })?;
            let status = resp.status().as_u16();
            if resp.status().is_success() {
                Ok(status)
            } else {
                Err(SendFailure {
                    status: Some(status),
                    why: format!("receiver answered {status}"),
                    retry: status >= 500 || status == 429 || status == 408,
                })
            }
        })
    }
}

pub use crate::retry::backoff_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_refuse_tampering_and_age() {
        let secret = b"0123456789abcdef0123";
        let body = r#"{"kind":"safety.escalated"}"#;
        let h = signature(secret, 1_000_000, body);
        assert!(verify(secret, &h, body, 1_000_000, 300_000));
        assert!(!verify(
            secret,
            &h,
            r#"{"kind":"safety.cleared"}"#,
            1_000_000,
            300_000
        ));
        assert!(!verify(
            b"another secret 0000",
            &h,
            body,
            1_000_000,
            300_000
        ));
        assert!(!verify(secret, &h, body, 1_000_000 + 300_001, 300_000));
        assert!(!verify(secret, "t=1,v1=zz", body, 1, 300_000));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b: Vec<i64> = (1..=6).map(|a| backoff_ms(a, 1000, 10_000)).collect();
        assert_eq!(b, vec![1000, 2000, 4000, 8000, 10_000, 10_000]);
    }

    #[test]
    fn webhook_config_is_checked_and_its_debug_hides_the_secret() {
        assert!(Webhook::new("ftp://x", b"0123456789abcdef").is_err());
        assert!(Webhook::new("https://x.example/h", b"short").is_err());
        let w = Webhook::new("https://hooks.example/h?token=s3cret", b"0123456789abcdef")
            .expect("valid");
        let shown = format!("{w:?}");
        assert!(shown.contains("hooks.example"), "{shown}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("0123456789"),
            "{shown}"
        );
    }
}
