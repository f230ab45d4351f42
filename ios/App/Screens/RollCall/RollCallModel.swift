import FieldbookCore
import Foundation
import Observation

/// What the supervisor is being asked, if anything. Answers start unset:
/// nothing is pre-selected.
enum RollCallSheet: Identifiable {
    case checkIn(RollCallRow, identity: Bool?, hiVisIssued: Bool?, hiVisWorn: Bool?)
    case didNotAttend(RollCallRow, raiseAlert: Bool?)
    case warningGiven(RollCallRow)
    case standDown(reason: String)
    case headcount(count: String)
    case incident(text: String)
    case unallocated(crn: String, name: String)
    case startSession
    case endSession

    var id: String {
        switch self {
        case let .checkIn(row, _, _, _): "check-in-\(row.appointmentId)"
        case let .didNotAttend(row, _): "dna-\(row.appointmentId)"
        case let .warningGiven(row): "warning-\(row.appointmentId)"
        case .standDown: "stand-down"
        case .headcount: "headcount"
        case .incident: "incident"
        case .unallocated: "unallocated"
        case .startSession: "start-session"
        case .endSession: "end-session"
        }
    }
}

/// A session's roll call: every action the core offers on each row, the
/// questions each asks, and the session's own actions. Which actions a row
/// has, its status, warnings and minutes are the core's.
@MainActor
@Observable
final class RollCallModel {
    private let core: CoreClient
    private unowned let root: AppModel
    let sessionId: String

    private(set) var rollCall: RollCall?
    var sheet: RollCallSheet?
    private(set) var notice: String?
    private(set) var message: String?

    init(core: CoreClient, root: AppModel, sessionId: String) {
        self.core = core
        self.root = root
        self.sessionId = sessionId
    }

    func load() async { await reload(notice: notice) }

    private func reload(notice: String?) async {
        let id = sessionId
        do {
            rollCall = try await core.run { app in try app.upwRollCall(sessionId: id) }
            self.notice = notice
            message = nil
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func act(_ row: RollCallRow, _ action: RollCallAction) {
        notice = nil
        switch action {
        case .checkIn: sheet = .checkIn(row, identity: nil, hiVisIssued: nil, hiVisWorn: nil)
        case .didNotAttend: sheet = .didNotAttend(row, raiseAlert: nil)
        case .recordWarningGiven: sheet = .warningGiven(row)
        case .recordOutcome, .correct, .recordAgreedAbsence: root.push(.outcome(appointmentId: row.appointmentId))
        }
    }

    func hours(_ row: RollCallRow) { root.push(.ledger(appointmentId: row.appointmentId)) }

    /// Whether the open sheet has every answer it needs before it can be sent.
    var sheetAnswered: Bool {
        switch sheet {
        case let .checkIn(_, a, b, c): a != nil && b != nil && c != nil
        case let .didNotAttend(_, alert): alert != nil
        default: true
        }
    }

    func submit() async {
        guard let sheet else { return }
        guard sheetAnswered else {
            message = L10n.t("rollCall.answerAll")
            return
        }
        let session = sessionId
        do {
            let words: String
            switch sheet {
            case let .checkIn(row, identity?, issued?, worn?):
                let id = row.appointmentId
                let input = CheckIn(arrival: nil, identityChecked: identity, hiVisIssued: issued, hiVisWorn: worn)
                let recorded = try await core.run { app in try app.upwCheckIn(appointmentId: id, input: input) }
                words = L10n.t(recorded != nil ? "rollCall.checkedIn" : "rollCall.doubleTap")
            case let .didNotAttend(row, alert?):
                let id = row.appointmentId
                _ = try await core.run { app in try app.upwDidNotAttend(appointmentId: id, raiseAlert: alert) }
                words = L10n.t("rollCall.dnaRecorded")
            case let .warningGiven(row):
                let id = row.appointmentId
                _ = try await core.run { app in try app.upwRecordWarningGiven(appointmentId: id) }
                words = L10n.t("rollCall.warningRecorded")
            case let .standDown(reason):
                let n = try await core.run { app in try app.upwStandDown(sessionId: session, reason: reason) }
                words = L10n.t("rollCall.standDownDone", L10n.n(n.outcomesRecorded))
            case let .headcount(text):
                // Reading the typed number is input conversion; the core judges the count.
                guard let count = UInt32(text.trimmingCharacters(in: .whitespaces)) else {
                    message = L10n.t("error.invalid", L10n.t("rollCall.headcountLabel"), text)
                    return
                }
                let onSite = try await core.run { app in try app.upwRecordHeadcount(sessionId: session, count: count) }
                words = L10n.t("rollCall.headcountRecorded", L10n.n(onSite.onSite))
            case let .incident(text):
                _ = try await core.run { app in try app.upwRecordIncident(sessionId: session, description: text) }
                words = L10n.t("rollCall.incidentRecorded")
            case let .unallocated(crn, name):
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                _ = try await core.run { app in
                    try app.upwUnallocatedArrival(sessionId: session, crn: crn, name: trimmed.isEmpty ? nil : trimmed)
                }
                words = L10n.t("rollCall.checkedIn")
            case .startSession:
                try await core.run { app in try app.upwStartSession(sessionId: session) }
                words = L10n.t("rollCall.sessionStarted")
            case .endSession:
                try await core.run { app in try app.upwEndSession(sessionId: session) }
                words = L10n.t("rollCall.sessionEnded")
            default:
                return
            }
            self.sheet = nil
            await reload(notice: words)
        } catch {
            message = ErrorWords.describe(error)
        }
    }
}
