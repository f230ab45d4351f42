import FieldbookCore
import SwiftUI

struct RollCallScreen: View {
    @Bindable var model: RollCallModel

    var body: some View {
        List {
            Messages(message: model.message, notice: model.notice)
            if let rc = model.rollCall {
                Section {
                    Text(L10n.t("rollCall.arrivedOf", L10n.n(rc.summary.arrived), L10n.n(rc.summary.allocated))
                        + " · " + SessionWords.status(rc.summary.status))
                    if rc.hiVisRequired { Text(L10n.t("rollCall.hiVisRequired")) }
                    if !rc.hazards.isEmpty { Text(L10n.t("rollCall.hazards", rc.hazards)) }
                    Text(SessionWords.sync(rc.summary.sync)).font(.footnote)
                }
                Section {
                    ForEach(rc.rows, id: \.appointmentId) { row in
                        RollCallRowView(row: row, onAction: { model.act(row, $0) }, onHours: { model.hours(row) })
                    }
                }
                Section {
                    ActionButton(title: L10n.t("rollCall.startSession"), prominent: false) { model.sheet = .startSession }
                    ActionButton(title: L10n.t("rollCall.headcount"), prominent: false) { model.sheet = .headcount(count: "") }
                    ActionButton(title: L10n.t("rollCall.incident"), prominent: false) { model.sheet = .incident(text: "") }
                    ActionButton(title: L10n.t("rollCall.unallocated"), prominent: false) { model.sheet = .unallocated(crn: "", name: "") }
                    ActionButton(title: L10n.t("rollCall.standDown"), role: .destructive, prominent: false) {
                        model.sheet = .standDown(reason: "")
                    }
                    ActionButton(title: L10n.t("rollCall.endSession"), prominent: false) { model.sheet = .endSession }
                }
            } else {
                ProgressView(L10n.t("common.loading"))
            }
        }
        .navigationTitle(model.rollCall?.summary.projectName ?? L10n.t("rollCall.title"))
        .reloadOnAppear { await model.load() }
        .sheet(item: $model.sheet) { _ in
            RollCallSheetView(model: model)
        }
    }
}

/// One person on the roll call with exactly the actions the core offers.
struct RollCallRowView: View {
    let row: RollCallRow
    let onAction: (RollCallAction) -> Void
    let onHours: () -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            Text(row.label + (row.restricted ? " · " + L10n.t("rollCall.restricted") : "")).font(.headline)
            Text(statusLine)
                .accessibilityLabel(L10n.t("rollCall.statusA11y", RollCallWords.status(row.status)))
            ForEach(Array(row.warnings.enumerated()), id: \.offset) { _, warning in
                Label(RollCallWords.warning(warning), systemImage: "exclamationmark.triangle")
                    .font(.subheadline)
            }
            ViewThatFits {
                HStack { buttons }
                VStack(alignment: .leading) { buttons }
            }
        }
        .padding(.vertical, 4)
    }

    private var statusLine: String {
        var parts = [row.crn, RollCallWords.status(row.status)]
        if let code = row.outcomeCode { parts.append(code) }
        if let minutes = row.minutesOnSite { parts.append(L10n.t("rollCall.minutesOnSite", L10n.n(minutes))) }
        if let credited = row.minutesCreditedToDate { parts.append(L10n.t("rollCall.creditedToDate", Formatting.hoursAndMinutes(credited))) }
        return parts.joined(separator: " · ")
    }

    @ViewBuilder private var buttons: some View {
        ForEach(row.actions, id: \.self) { action in
            Button(RollCallWords.action(action)) { onAction(action) }
                .buttonStyle(.bordered)
                .frame(minHeight: 44)
        }
        Button(L10n.t("rollCall.hours")) { onHours() }
            .buttonStyle(.bordered)
            .frame(minHeight: 44)
    }
}

/// The questions an action asks before it is recorded.
struct RollCallSheetView: View {
    @Bindable var model: RollCallModel
    @State private var text = ""
    @State private var second = ""

    var body: some View {
        NavigationStack {
            Form {
                Messages(message: model.message)
                content
                ActionButton(title: confirmTitle, role: destructive ? .destructive : nil, enabled: model.sheetAnswered) {
                    Task { await model.submit() }
                }
            }
            .navigationTitle(title)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button(L10n.t("common.cancel")) { model.sheet = nil }
                }
            }
        }
        .onChange(of: text) { _, v in setText(v) }
        .onChange(of: second) { _, v in setSecond(v) }
    }

    @ViewBuilder private var content: some View {
        switch model.sheet {
        case let .checkIn(row, identity, issued, worn):
            YesNo(question: L10n.t("rollCall.qIdentity"), answer: identity) {
                model.sheet = .checkIn(row, identity: $0, hiVisIssued: issued, hiVisWorn: worn)
            }
            YesNo(question: L10n.t("rollCall.qHiVisIssued"), answer: issued) {
                model.sheet = .checkIn(row, identity: identity, hiVisIssued: $0, hiVisWorn: worn)
            }
            YesNo(question: L10n.t("rollCall.qHiVisWorn"), answer: worn) {
                model.sheet = .checkIn(row, identity: identity, hiVisIssued: issued, hiVisWorn: $0)
            }
            if !model.sheetAnswered { Text(L10n.t("rollCall.answerAll")).font(.footnote) }
        case let .didNotAttend(row, alert):
            YesNo(question: L10n.t("rollCall.qRaiseAlert"), answer: alert) { model.sheet = .didNotAttend(row, raiseAlert: $0) }
        case let .warningGiven(row):
            Text(L10n.t("rollCall.warningGivenConfirm", row.label))
        case .standDown:
            Text(L10n.t("rollCall.standDownConfirm"))
            Field(label: L10n.t("rollCall.standDownReason"), text: $text)
        case .headcount:
            Field(label: L10n.t("rollCall.headcountLabel"), text: $text, number: true)
        case .incident:
            Field(label: L10n.t("rollCall.incidentLabel"), text: $text, multiline: true)
        case .unallocated:
            Field(label: L10n.t("rollCall.unallocatedCrn"), text: $text)
            Field(label: L10n.t("rollCall.unallocatedName"), text: $second)
        case .startSession:
            Text(L10n.t("rollCall.startSessionConfirm"))
        case .endSession:
            Text(L10n.t("rollCall.endSessionConfirm"))
        case nil:
            EmptyView()
        }
    }

    private func setText(_ v: String) {
        switch model.sheet {
        case .standDown: model.sheet = .standDown(reason: v)
        case .headcount: model.sheet = .headcount(count: v)
        case .incident: model.sheet = .incident(text: v)
        case let .unallocated(_, name): model.sheet = .unallocated(crn: v, name: name)
        default: break
        }
    }

    private func setSecond(_ v: String) {
        if case let .unallocated(crn, _) = model.sheet { model.sheet = .unallocated(crn: crn, name: v) }
    }

    private var destructive: Bool {
        if case .standDown = model.sheet { return true }
        return false
    }

    private var title: String {
        switch model.sheet {
        case let .checkIn(row, _, _, _): L10n.t("rollCall.checkInTitle", row.label)
        case let .didNotAttend(row, _): L10n.t("rollCall.dnaTitle", row.label)
        case .warningGiven: L10n.t("rollCall.actionWarningGiven")
        case .standDown: L10n.t("rollCall.standDown")
        case .headcount: L10n.t("rollCall.headcount")
        case .incident: L10n.t("rollCall.incident")
        case .unallocated: L10n.t("rollCall.unallocated")
        case .startSession: L10n.t("rollCall.startSession")
        case .endSession, nil: L10n.t("rollCall.endSession")
        }
    }

    private var confirmTitle: String {
        switch model.sheet {
        case .checkIn, .unallocated: L10n.t("rollCall.actionCheckIn")
        case .standDown: L10n.t("rollCall.standDown")
        case .headcount, .incident: L10n.t("common.save")
        case .startSession: L10n.t("rollCall.startSession")
        case .endSession: L10n.t("rollCall.endSession")
        default: L10n.t("common.confirm")
        }
    }
}

/// The core's statuses, actions and warnings, in words.
enum RollCallWords {
    static func status(_ s: AppointmentStatus) -> String {
        switch s {
        case .expected: L10n.t("status.expected")
        case .onSite: L10n.t("status.onSite")
        case .attended: L10n.t("status.attended")
        case .sentHome: L10n.t("status.sentHome")
        case .absent: L10n.t("status.absent")
        case .rescheduled: L10n.t("status.rescheduled")
        case .closedByOffice: L10n.t("status.closedByOffice")
        }
    }

    static func action(_ a: RollCallAction) -> String {
        switch a {
        case .checkIn: L10n.t("rollCall.actionCheckIn")
        case .didNotAttend: L10n.t("rollCall.actionDidNotAttend")
        case .recordAgreedAbsence: L10n.t("rollCall.actionAgreedAbsence")
        case .recordOutcome: L10n.t("rollCall.actionRecordOutcome")
        case .correct: L10n.t("rollCall.actionCorrect")
        case .recordWarningGiven: L10n.t("rollCall.actionWarningGiven")
        }
    }

    static func warning(_ w: RollCallWarning) -> String {
        switch w {
        case let .risk(level): L10n.t("warn.risk", Formatting.fieldName(level))
        case let .registrations(items): L10n.t("warn.registrations", items.joined(separator: ", "))
        case .hiVis: L10n.t("warn.hiVis")
        case let .hoursNearlyComplete(outstandingMinutes): L10n.t("warn.hoursNearlyComplete", L10n.n(outstandingMinutes))
        case let .enforcementHistory(openItems, _): L10n.t("warn.enforcement", L10n.n(openItems))
        case .unallocated: L10n.t("warn.unallocated")
        case let .late(minutes): L10n.t("warn.late", L10n.n(minutes))
        case let .afterExpectedEnd(expectedEnd): L10n.t("warn.afterExpectedEnd", expectedEnd)
        case let .aggregateHoursUnusual(hours): L10n.t("warn.aggregateHours", L10n.n(hours))
        }
    }
}
