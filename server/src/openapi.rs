//! The OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! annotations and the types below, and served at `/openapi.json`.
//!
//! The device protocol's bodies are the core's types
//! (`fieldbook_core::sync::protocol`), which carry no schema derive; the
//! `*Doc` types here describe them, and a test checks that each one names
//! exactly the fields the core type serialises, so the two cannot drift.
//! The ids, lengths and patterns are the ones the handlers enforce.

use std::borrow::Cow;

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// Record ids: 32 lowercase hex digits, as `fieldbook_core::ids::RecordId`.
pub const RECORD_ID_PATTERN: &str = "^[0-9a-f]{32}$";
/// Officer ids: letters, digits and `._@-`, 1 to 64, starting with a
/// letter or digit (they appear in paths and logs).
pub const OFFICER_ID_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$";

/// Security scheme names.
pub mod security {
    /// The office's bearer token.
    pub const OFFICE: &str = "officeToken";
    /// Device request headers (all four together).
    pub const DEVICE: [&str; 4] = [
        "deviceId",
        "deviceTimestamp",
        "deviceNonce",
        "deviceSignature",
    ];
}

fn string_schema(pattern: &str, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

/// A record id (32 lowercase hex digits).
#[derive(Debug)]
pub struct RecordIdText;

impl PartialSchema for RecordIdText {
    fn schema() -> RefOr<Schema> {
        string_schema(RECORD_ID_PATTERN, "A record id: 32 lowercase hex digits.")
    }
}

impl ToSchema for RecordIdText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("RecordId")
    }
}

/// An officer id.
#[derive(Debug)]
pub struct OfficerIdText;

impl PartialSchema for OfficerIdText {
    fn schema() -> RefOr<Schema> {
        string_schema(
            OFFICER_ID_PATTERN,
            "An officer id: 1 to 64 letters, digits or `._@-`, starting with a letter or digit.",
        )
    }
}

impl ToSchema for OfficerIdText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("OfficerId")
    }
}

/// Reference entities the office can send to devices.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Entity)]
pub enum EntityDoc {
    /// Unpaid work project.
    UpwProject,
    /// Unpaid work session.
    UpwSession,
    /// A person's unpaid work requirement.
    UpwRequirement,
    /// An appointment on a session.
    UpwAppointment,
    /// A home-visit case.
    HvCase,
    /// A scheduled home visit.
    HvScheduled,
}

/// An error: a machine-readable code and a message with no personal data.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorDoc {
    /// Machine-readable code (`malformed`, `office_auth`, `not_found`, …).
    pub error: String,
    /// Human-readable message (no personal data).
    pub message: String,
}

/// Officer roles.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Role)]
pub enum RoleDoc {
    /// Community Payback supervisor.
    Supervisor,
    /// Probation officer.
    ProbationOfficer,
}

/// `POST /v1/enrol`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EnrolRequest)]
pub struct EnrolRequestDoc {
    /// The office's one-time code.
    #[schema(max_length = 200)]
    pub code: String,
    /// Ed25519 public key, 64 hex digits.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub public_key: String,
    /// A label for the office's device list.
    #[schema(max_length = 200)]
    pub label: String,
}

/// The enrolment answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EnrolResponse)]
pub struct EnrolResponseDoc {
    /// The device's id.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub device_id: String,
    /// The officer it belongs to.
    pub officer_id: String,
    /// Their role.
    pub role: RoleDoc,
}

/// A device's standing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = DeviceStatus)]
pub enum DeviceStatusDoc {
    /// In use.
    Active,
    /// Revoked by the office.
    Revoked,
}

/// `GET /v1/sync/status`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StatusResponse)]
pub struct StatusResponseDoc {
    /// Active or revoked.
    pub status: DeviceStatusDoc,
    /// Whether a revoked device may push what it holds before shredding.
    pub final_push_allowed: bool,
    /// Server clock, ms since the epoch.
    pub server_time_ms: i64,
    /// The last sequence number the office holds from this device.
    #[schema(minimum = 0)]
    pub last_seq: u64,
}

/// One event in a push.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PushEvent)]
pub struct PushEventDoc {
    /// Event id.
    pub id: String,
    /// Per-device sequence number (below 2^63, else 400).
    #[schema(minimum = 0)]
    pub seq: u64,
    /// The signed event JSON, base64.
    pub body: String,
    /// Ed25519 signature over the body, hex.
    pub signature: String,
}

/// `POST /v1/sync/push`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PushRequest)]
pub struct PushRequestDoc {
    /// Events in sequence order (more than 1,000 is answered 413).
    #[schema(max_items = 1000)]
    pub events: Vec<PushEventDoc>,
}

/// What happened to one event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PushStatus)]
pub enum PushStatusDoc {
    /// Stored now.
    Accepted,
    /// Already stored (treated as accepted).
    Duplicate,
    /// Refused for `reason`; the device quarantines it.
    Rejected,
    /// Not processed: send again from `expected_seq`.
    Retry,
}

/// Why an event was refused.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RejectReason)]
pub enum RejectReasonDoc {
    /// Body or fields malformed.
    Malformed,
    /// Signature does not verify.
    BadSignature,
    /// The event claims another device.
    DeviceMismatch,
    /// `prev_hash` does not match the office's copy of the chain.
    ChainBroken,
    /// A session or case outside the device's scope.
    OutOfScope,
    /// Recorded too far in the future.
    TimestampInFuture,
    /// Too large.
    TooLarge,
}

/// The answer for one event (`reason` with `rejected`, `expected_seq`
/// with `retry`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PushResult)]
pub struct PushResultDoc {
    /// Event id.
    pub id: String,
    /// Sequence number.
    #[schema(minimum = 0)]
    pub seq: u64,
    /// Outcome.
    pub status: PushStatusDoc,
    /// With `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReasonDoc>,
    /// With `retry`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub expected_seq: Option<u64>,
}

/// `POST /v1/sync/push` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PushResponse)]
pub struct PushResponseDoc {
    /// One per event, in order.
    pub results: Vec<PushResultDoc>,
}

/// One reference-data change.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Change)]
pub struct ChangeDoc {
    /// The server cursor of this change.
    pub cursor: i64,
    /// Entity kind.
    pub entity: EntityDoc,
    /// Record id.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub id: String,
    /// The record as the core's model, or `null` when deleted.
    pub data: serde_json::Value,
}

/// `GET /v1/sync/pull` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PullPage)]
pub struct PullPageDoc {
    /// The server's data epoch; a change means start again.
    pub epoch: String,
    /// Set when the device must drop its reference data and refetch.
    pub reset: bool,
    /// Changes after the cursor asked for.
    pub changes: Vec<ChangeDoc>,
    /// The cursor to ask from next.
    pub next_cursor: i64,
    /// Whether more pages follow.
    pub more: bool,
}

/// Documents the answers `limits::guard` can give on every operation but
/// the health probes: 429 past the per-address rate (with `Retry-After`)
/// and 503 when the server is at its concurrency or time limit.
pub fn add_limit_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        if matches!(path.as_str(), "/healthz" | "/readyz") {
            continue;
        }
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let responses = &mut op.responses.responses;
            responses.entry("429".into()).or_insert_with(|| {
                ResponseBuilder::new()
                    .description(
                        "Too many requests from this address; retry after `Retry-After` seconds",
                    )
                    .content("application/json", error())
                    .build()
                    .into()
            });
            responses.entry("503".into()).or_insert_with(|| {
                ResponseBuilder::new()
                    .description("The server is busy or the request took too long; retry")
                    .content("application/json", error())
                    .build()
                    .into()
            });
        }
    }
}

/// Adds the security schemes.
#[derive(Debug)]
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use fieldbook_core::sync::protocol::{H_DEVICE, H_NONCE, H_SIGNATURE, H_TIMESTAMP};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "metricsToken",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            security::OFFICE,
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        let headers = [
            (security::DEVICE[0], H_DEVICE, "The device id the office issued."),
            (security::DEVICE[1], H_TIMESTAMP, "Request time, ms since the epoch (within 5 minutes of the server's clock)."),
            (security::DEVICE[2], H_NONCE, "A fresh random nonce, 32 hex digits."),
            (
                security::DEVICE[3],
                H_SIGNATURE,
                "Ed25519 signature, hex, over `fieldbook-request-v2`, the method, path with query, device id, Content-Encoding (empty when none), SHA-256 of the body as sent, timestamp and nonce, one per line.",
            ),
        ];
        for (name, header, about) in headers {
            components.add_security_scheme(
                name,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    header, about,
                ))),
            );
        }
    }
}

/// The document's fixed parts; the paths come from the router
/// ([`crate::api::document`]).
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Fieldbook office sync server",
        description = "Devices enrol with a one-time code, then push signed events and pull reference data with signed requests; the office manages officers, reference data and devices with a bearer token and reads what devices sent. Every error is a JSON `Error`.",
        license(name = "MPL-2.0")
    ),
    modifiers(&SecuritySchemes),
    components(schemas(ErrorDoc, RecordIdText, OfficerIdText, EntityDoc)),
    tags(
        (name = "service", description = "Health, readiness, metrics and this document"),
        (name = "device", description = "Signed device requests"),
        (name = "office", description = "The office API (bearer token)")
    )
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbook_core::sync::protocol::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn schema_keys<T: ToSchema>() -> BTreeSet<String> {
        let v = serde_json::to_value(T::schema()).expect("schema");
        keys(&v["properties"])
    }

    /// Every documented protocol body names exactly the fields the core's
    /// type serialises (all optional fields present in the sample).
    #[test]
    fn protocol_docs_match_the_core_types() {
        let check = |sample: Value, doc: BTreeSet<String>, name: &str| {
            assert_eq!(
                keys(&sample),
                doc,
                "{name}: the document and the core disagree"
            );
        };
        let j = |v: &dyn erased::Ser| v.value();
        check(
            j(&EnrolRequest {
                code: "c".into(),
                public_key: "k".into(),
                label: "l".into(),
            }),
            schema_keys::<EnrolRequestDoc>(),
            "EnrolRequest",
        );
        check(
            j(&EnrolResponse {
                device_id: "d".into(),
                officer_id: "o".into(),
                role: Role::Supervisor,
            }),
            schema_keys::<EnrolResponseDoc>(),
            "EnrolResponse",
        );
        check(
            j(&StatusResponse {
                status: DeviceStatus::Active,
                final_push_allowed: true,
                server_time_ms: 1,
                last_seq: 1,
            }),
            schema_keys::<StatusResponseDoc>(),
            "StatusResponse",
        );
        let event = PushEvent {
            id: "i".into(),
            seq: 1,
            body: "b".into(),
            signature: "s".into(),
        };
        check(j(&event), schema_keys::<PushEventDoc>(), "PushEvent");
        check(
            j(&PushRequest { events: vec![] }),
            schema_keys::<PushRequestDoc>(),
            "PushRequest",
        );
        // The union of every outcome's fields is the documented result.
        let mut union = BTreeSet::new();
        for outcome in [
            PushOutcome::Accepted,
            PushOutcome::Duplicate,
            PushOutcome::Rejected {
                reason: RejectReason::Malformed,
            },
            PushOutcome::Retry { expected_seq: 2 },
        ] {
            let v = j(&PushResult {
                id: "i".into(),
                seq: 1,
                outcome,
            });
            union.extend(keys(&v));
            let status = v["status"].as_str().expect("status").to_owned();
            let doc = serde_json::to_value(PushStatusDoc::schema()).expect("schema");
            assert!(
                doc.to_string().contains(&format!("\"{status}\"")),
                "status {status} documented"
            );
        }
        assert_eq!(union, schema_keys::<PushResultDoc>(), "PushResult");
        check(
            j(&PushResponse { results: vec![] }),
            schema_keys::<PushResponseDoc>(),
            "PushResponse",
        );
        let change = Change {
            cursor: 1,
            entity: "upw_session".into(),
            id: "i".into(),
            data: Value::Null,
        };
        check(j(&change), schema_keys::<ChangeDoc>(), "Change");
        check(
            j(&PullPage {
                epoch: "e".into(),
                reset: false,
                changes: vec![],
                next_cursor: 0,
                more: false,
            }),
            schema_keys::<PullPageDoc>(),
            "PullPage",
        );
        check(
            j(&ErrorBody {
                error: "e".into(),
                message: "m".into(),
            }),
            schema_keys::<ErrorDoc>(),
            "Error",
        );
        // Every reason and entity the server knows is documented.
        let reasons = serde_json::to_string(&RejectReasonDoc::schema()).expect("schema");
        for r in RejectReason::ALL {
            assert!(reasons.contains(&format!("\"{}\"", r.as_str())), "{r:?}");
        }
        let entities = serde_json::to_string(&EntityDoc::schema()).expect("schema");
        for e in crate::office::ENTITIES {
            assert!(entities.contains(&format!("\"{e}\"")), "{e}");
        }
    }

    /// The patterns document what the handlers enforce.
    #[test]
    fn id_patterns_match_the_checks() {
        let id = fieldbook_core::ids::RecordId::random()
            .expect("rng")
            .to_string();
        assert!(fieldbook_core::ids::RecordId::parse(&id).is_ok());
        assert!(RECORD_ID_PATTERN.contains("{32}"));
        assert!(crate::office::valid_officer_id("sup-1"));
        assert!(crate::office::valid_officer_id(&"a".repeat(64)));
        assert!(!crate::office::valid_officer_id(&"a".repeat(65)));
        assert!(!crate::office::valid_officer_id(""));
        assert!(!crate::office::valid_officer_id(" x"));
        assert!(!crate::office::valid_officer_id("-x"));
        assert!(!crate::office::valid_officer_id("a/b"));
    }

    mod erased {
        /// Serialises any core type to a JSON value (for the checks above).
        pub trait Ser {
            fn value(&self) -> serde_json::Value;
        }
        impl<T: serde::Serialize> Ser for T {
            fn value(&self) -> serde_json::Value {
                serde_json::to_value(self).expect("serialise")
            }
        }
    }
}
