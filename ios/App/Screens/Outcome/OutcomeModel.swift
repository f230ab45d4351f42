import FieldbookCore
import Foundation
import Observation

/// An appointment's outcome in the national service's steps: what happened
/// (the codes the core offers, with their hints), times, compliance, the
/// core's review (`upwCheckOutcome`), then confirmation; a correction when
/// the core's form already holds an outcome. Whether an outcome is valid,
/// what it credits and whether it is enforced are the core's answers.
@MainActor
@Observable
final class OutcomeModel {
    private let core: CoreClient
    private unowned let root: AppModel
    let appointmentId: String

    private(set) var form: AppointmentForm?
    var code: String? { didSet { edited() } }
    var arrival = "" { didSet { if arrival != oldValue { arrivalEdited = true; edited() } } }
    var departure = "" { didSet { if departure != oldValue { departureEdited = true; edited() } } }
    /// Untouched times are sent as "not given": the core then uses the check-in time and now.
    private var arrivalEdited = false
    private var departureEdited = false
    var penalty = "0" { didSet { edited() } }
    var travel = "" { didSet { edited() } }
    var workQuality: Rating? { didSet { edited() } }
    var behaviour: Rating? { didSet { edited() } }
    var notes = "" { didSet { edited() } }
    var sensitive = false { didSet { edited() } }
    var raiseAlert = false { didSet { edited() } }
    /// Compliance in the national service's steps; nil: not answered (nothing sent).
    var canWork: Bool? { didSet { edited() } }
    var unableToWorkReason = "" { didSet { edited() } }
    var hiVisWorn: Bool? { didSet { edited() } }
    var workedIntensively: Bool? { didSet { edited() } }
    var leftEarly: Bool? { didSet { edited() } }
    var leftEarlyReason = "" { didSet { edited() } }
    var correctionReason = "" { didSet { edited() } }

    /// The core's verdict on the last review (cleared by any edit).
    private(set) var check: OutcomeCheck?
    /// Typed values the app could not read (e.g. "25:99"), beside the core's messages.
    private(set) var formatErrors: [FieldMessage] = []
    private(set) var recorded: OutcomeResult?
    private(set) var message: String?
    private var loading = false

    init(core: CoreClient, root: AppModel, appointmentId: String) {
        self.core = core
        self.root = root
        self.appointmentId = appointmentId
    }

    private func edited() {
        if !loading { check = nil }
    }

    var errors: [FieldMessage] { formatErrors + (check?.errors ?? []) }
    func error(for field: String) -> String? { errors.first { $0.field == field }?.message }
    var reviewed: Bool { check != nil && errors.isEmpty }
    var isCorrection: Bool { form?.current != nil }
    /// The core marks which offered codes are enforceable; the alert toggle is shown for those.
    var chosenIsEnforceable: Bool { form?.outcomes.contains { $0.code == code && $0.enforceable } ?? false }

    func load() async {
        guard form == nil else { return }
        let id = appointmentId
        do {
            let f = try await core.run { app in try app.upwAppointmentForm(appointmentId: id) }
            loading = true
            form = f
            arrival = Formatting.clockTime(f.defaultArrival)
            departure = Formatting.clockTime(f.defaultDeparture)
            code = f.current?.code
            notes = f.current?.notes ?? ""
            sensitive = f.current?.sensitive ?? false
            // A correction restates the times: the form's defaults are sent as given.
            arrivalEdited = f.current != nil
            departureEdited = f.current != nil
            loading = false
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    private func input() -> (OutcomeInput?, [FieldMessage]) {
        guard let f = form else { return (nil, []) }
        var problems: [FieldMessage] = []
        var arrivalStamp: Stamp?
        if arrivalEdited && !arrival.isEmpty {
            arrivalStamp = Formatting.stamp(on: f.defaultArrival, at: arrival)
            if arrivalStamp == nil { problems.append(FieldMessage(field: "arrival", message: L10n.t("outcome.timeFormat"))) }
        }
        var departureStamp: Stamp?
        if departureEdited && !departure.isEmpty {
            departureStamp = Formatting.stamp(on: f.defaultDeparture, at: departure)
            if departureStamp == nil { problems.append(FieldMessage(field: "departure", message: L10n.t("outcome.timeFormat"))) }
        }
        let penaltyText = penalty.trimmingCharacters(in: .whitespaces)
        let penaltyMinutes = Int64(penaltyText.isEmpty ? "0" : penaltyText)
        if penaltyMinutes == nil { problems.append(FieldMessage(field: "penalty_minutes", message: L10n.t("outcome.wholeNumber"))) }
        let travelText = travel.trimmingCharacters(in: .whitespaces)
        var travelMinutes: UInt32?
        if !travelText.isEmpty {
            travelMinutes = UInt32(travelText)
            if travelMinutes == nil { problems.append(FieldMessage(field: "travel_minutes", message: L10n.t("outcome.wholeNumber"))) }
        }
        // What was answered is sent as answered; the core decides whether it may be recorded for this outcome.
        let answered = canWork != nil || hiVisWorn != nil || workedIntensively != nil || leftEarly != nil
        let compliance = answered ? Compliance(
            hiVisWorn: hiVisWorn,
            workedIntensively: workedIntensively,
            unableToWorkReason: canWork == false ? unableToWorkReason : nil,
            leftEarlyReason: leftEarly == true ? leftEarlyReason : nil) : nil
        let value = OutcomeInput(
            code: code ?? "",
            arrival: arrivalStamp,
            departure: departureStamp,
            penaltyMinutes: penaltyMinutes ?? 0,
            workQuality: workQuality ?? .notApplicable,
            behaviour: behaviour ?? .notApplicable,
            notes: notes,
            sensitive: sensitive,
            raiseAlert: raiseAlert,
            travelMinutes: travelMinutes,
            compliance: compliance)
        return (value, problems)
    }

    func review() async {
        let (value, problems) = input()
        guard let value else { return }
        let id = appointmentId
        do {
            let verdict = try await core.run { app in try app.upwCheckOutcome(appointmentId: id, input: value) }
            formatErrors = problems
            check = verdict
            message = nil
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func record() async {
        let (value, problems) = input()
        guard let value, problems.isEmpty, reviewed else { return }
        let id = appointmentId
        let reason = correctionReason
        let correcting = isCorrection
        do {
            recorded = try await core.run { app in
                try correcting
                    ? app.upwCorrectOutcome(appointmentId: id, input: value, reason: reason)
                    : app.upwRecordOutcome(appointmentId: id, input: value)
            }
            message = nil
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func done() { root.pop() }
}
