//! Platform services as foreign traits the shells implement (Android
//! Keystore / iOS Keychain, the clock, connectivity, notifications, a log
//! sink), with the software implementations used by tests beside them.

use std::sync::Arc;

use fieldbook_core::clock::Clock;
use fieldbook_core::platform::{KeyStoreError, PlatformKeyStore};

/// Why the platform key store failed.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeyStoreFailure {
    /// The key is gone (key store reset, app restored onto another phone).
    #[error("key unavailable")]
    KeyUnavailable,
    /// The key needs the device's user authentication first (Android
    /// `UserNotAuthenticatedException`, iOS `errSecInteractionNotAllowed`
    /// or a cancelled LocalAuthentication prompt): prompt, then retry.
    #[error("user authentication required")]
    UserAuthenticationRequired,
    /// Another failure, perhaps passing.
    #[error("key store failed: {reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyStoreFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: e.reason }
    }
}

/// Wraps and unwraps small secrets with a key that never leaves the
/// platform's key store.
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    /// Encrypts `plaintext`.
    fn wrap(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure>;
    /// Decrypts what `wrap` returned.
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure>;
    /// Deletes the key for good (Keystore alias, Keychain item): the last
    /// step of a crypto-shred. Deleting a key already gone is not an error.
    /// (Not `destroy`: uniffi's Kotlin objects already have that name.)
    fn delete_key(&self) -> Result<(), KeyStoreFailure>;
}

/// The device's clock. Times are milliseconds since the Unix epoch, UTC.
#[uniffi::export(with_foreign)]
pub trait ClockSource: Send + Sync {
    /// Wall clock, ms since the epoch (UTC).
    fn now_utc_ms(&self) -> i64;
    /// Local UTC offset now, in minutes.
    fn utc_offset_minutes(&self) -> i32;
    /// A reading that only moves forward while the device runs.
    fn monotonic_ms(&self) -> u64;
}

/// Whether the device is online.
#[uniffi::export(with_foreign)]
pub trait Connectivity: Send + Sync {
    /// Whether a network is available.
    fn is_online(&self) -> bool;
}

/// Kinds of lone-worker notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AlarmKind {
    /// The expected finish is near.
    Reminder,
    /// The visit becomes overdue.
    Overdue,
    /// The visit escalates to the office.
    Escalation,
}

/// Schedules platform notifications at times the core gives.
#[uniffi::export(with_foreign)]
pub trait NotificationScheduler: Send + Sync {
    /// Schedules a notification for `visit_id` at `at_ms`.
    fn schedule(&self, visit_id: String, at_ms: i64, kind: AlarmKind);
    /// Cancels every notification for `visit_id`.
    fn cancel_all(&self, visit_id: String);
}

/// Receives the library's log lines (no personal data is logged).
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One line at `level` (error, warn, info, debug, trace).
    fn log(&self, level: String, message: String);
}

/// A key store in software, for tests and demonstrations only.
#[derive(Debug, uniffi::Object)]
pub struct SoftwareKeyStore(fieldbook_core::platform::SoftwareKeyStore);

#[uniffi::export]
impl SoftwareKeyStore {
    /// A key store with a fresh random key.
    #[uniffi::constructor]
    pub fn new() -> Result<Arc<Self>, KeyStoreFailure> {
        fieldbook_core::platform::SoftwareKeyStore::random()
            .map(|k| Arc::new(Self(k)))
            .map_err(|e| KeyStoreFailure::Failed {
                reason: e.to_string(),
            })
    }
}

impl KeyStore for SoftwareKeyStore {
    fn wrap(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
        self.0.wrap(plaintext).map_err(to_failure)
    }
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
        self.0.unwrap(wrapped).map_err(to_failure)
    }
    fn delete_key(&self) -> Result<(), KeyStoreFailure> {
        self.0.destroy().map_err(to_failure)
    }
}

fn to_failure(e: KeyStoreError) -> KeyStoreFailure {
    match e {
        KeyStoreError::KeyUnavailable => KeyStoreFailure::KeyUnavailable,
        KeyStoreError::UserAuthenticationRequired => KeyStoreFailure::UserAuthenticationRequired,
        KeyStoreError::Failed { reason } => KeyStoreFailure::Failed { reason },
    }
}

/// The host's clock.
#[derive(Debug, Default, uniffi::Object)]
pub struct SystemClock;

#[uniffi::export]
impl SystemClock {
    /// The system clock.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self)
    }
}

impl ClockSource for SystemClock {
    fn now_utc_ms(&self) -> i64 {
        fieldbook_core::clock::SystemClock.now_utc_ms()
    }
    fn utc_offset_minutes(&self) -> i32 {
        fieldbook_core::clock::SystemClock.utc_offset_minutes()
    }
    fn monotonic_ms(&self) -> u64 {
        fieldbook_core::clock::SystemClock.monotonic_ms()
    }
}

/// Adapts a shell's key store to the core's trait.
pub(crate) struct KeyStoreAdapter(pub Arc<dyn KeyStore>);

impl PlatformKeyStore for KeyStoreAdapter {
    fn wrap(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, KeyStoreError> {
        self.0.wrap(plaintext).map_err(from_failure)
    }
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreError> {
        self.0.unwrap(wrapped).map_err(from_failure)
    }
    fn destroy(&self) -> Result<(), KeyStoreError> {
        self.0.delete_key().map_err(from_failure)
    }
}

fn from_failure(e: KeyStoreFailure) -> KeyStoreError {
    match e {
        KeyStoreFailure::KeyUnavailable => KeyStoreError::KeyUnavailable,
        KeyStoreFailure::UserAuthenticationRequired => KeyStoreError::UserAuthenticationRequired,
        KeyStoreFailure::Failed { reason } => KeyStoreError::Failed { reason },
    }
}

/// Adapts a shell's clock to the core's trait.
pub(crate) struct ClockAdapter(pub Arc<dyn ClockSource>);

impl Clock for ClockAdapter {
    fn now_utc_ms(&self) -> i64 {
        self.0.now_utc_ms()
    }
    fn utc_offset_minutes(&self) -> i32 {
        self.0.utc_offset_minutes()
    }
    fn monotonic_ms(&self) -> u64 {
        self.0.monotonic_ms()
    }
}

struct SinkWriter(Arc<dyn LogSink>);

impl std::io::Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf).trim_end().to_owned();
        let level = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]
            .iter()
            .find(|l| line.contains(*l))
            .map(|l| l.to_lowercase())
            .unwrap_or_else(|| "info".into());
        self.0.log(level, line);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends the library's logs to `sink` (once per process).
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>) {
    let _ = tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_writer(move || SinkWriter(sink.clone()))
        .try_init();
}
