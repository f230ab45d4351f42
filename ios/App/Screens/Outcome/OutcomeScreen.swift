import FieldbookCore
import SwiftUI

struct OutcomeScreen: View {
    @Bindable var model: OutcomeModel

    var body: some View {
        Form {
            Messages(message: model.message)
            if let f = model.form {
                if let result = model.recorded {
                    Banner(text: L10n.t("outcome.recorded", L10n.n(result.minutesCredited)))
                    ActionButton(title: L10n.t("common.continue")) { model.done() }
                } else {
                    steps(f)
                }
            } else {
                ProgressView(L10n.t("common.loading"))
            }
        }
        .navigationTitle(L10n.t("outcome.title", model.form?.row.label ?? ""))
        .task { await model.load() }
    }

    @ViewBuilder private func steps(_ f: AppointmentForm) -> some View {
        if let current = f.current {
            Section(L10n.t("outcome.history")) {
                Text(L10n.t("outcome.current", current.code, L10n.n(current.minutesCredited)))
                ForEach(f.history, id: \.eventId) { h in
                    Text(L10n.t("outcome.historyLine", h.code, L10n.n(h.minutesCredited), h.correctionReason ?? ""))
                        .font(.footnote)
                }
            }
        }
        Section(L10n.t("outcome.stepOutcome")) {
            ForEach(f.outcomes, id: \.code) { o in
                Choice(title: "\(o.code) – \(o.description)", detail: o.hint, selected: model.code == o.code) { model.code = o.code }
            }
            if let e = model.error(for: "code") { Banner(text: e, tone: .error) }
        }
        Section(L10n.t("outcome.stepTimes")) {
            Field(label: L10n.t("outcome.arrival"), text: $model.arrival, supporting: L10n.t("outcome.timeFormat"), error: model.error(for: "arrival"))
            Field(label: L10n.t("outcome.departure"), text: $model.departure, supporting: L10n.t("outcome.timeFormat"), error: model.error(for: "departure"))
            Field(label: L10n.t("outcome.penalty"), text: $model.penalty, number: true, error: model.error(for: "penalty_minutes"))
            if f.travelTimeEligible {
                Field(label: L10n.t("outcome.travel"), text: $model.travel, number: true, error: model.error(for: "travel_minutes"))
            }
        }
        Section(L10n.t("outcome.stepCompliance")) {
            YesNo(question: L10n.t("outcome.qCanWork"), answer: model.canWork) { model.canWork = $0 }
            if model.canWork == false {
                Field(label: L10n.t("outcome.unableToWorkReason"), text: $model.unableToWorkReason,
                      error: model.error(for: "compliance.unable_to_work_reason"))
            }
            YesNo(question: L10n.t("outcome.qHiVis"), answer: model.hiVisWorn) { model.hiVisWorn = $0 }
            YesNo(question: L10n.t("outcome.qIntensive"), answer: model.workedIntensively) { model.workedIntensively = $0 }
            YesNo(question: L10n.t("outcome.qLeftEarly"), answer: model.leftEarly) { model.leftEarly = $0 }
            if model.leftEarly == true {
                Field(label: L10n.t("outcome.leftEarlyReason"), text: $model.leftEarlyReason,
                      error: model.error(for: "compliance.left_early_reason"))
            }
            if let e = model.error(for: "compliance") { Banner(text: e, tone: .error) }
            ratings(L10n.t("outcome.workQuality"), model.workQuality) { model.workQuality = $0 }
            ratings(L10n.t("outcome.behaviour"), model.behaviour) { model.behaviour = $0 }
            Field(label: L10n.t("outcome.notes"), text: $model.notes, multiline: true,
                  supporting: L10n.t("outcome.notesCount", L10n.n(model.notes.count), L10n.n(f.notesMaxChars)),
                  error: model.error(for: "notes"))
            Toggle(L10n.t("outcome.sensitive"), isOn: $model.sensitive).frame(minHeight: 44)
            if let e = model.error(for: "sensitive") { Banner(text: e, tone: .error) }
            if model.chosenIsEnforceable {
                Toggle(L10n.t("outcome.raiseAlert"), isOn: $model.raiseAlert).frame(minHeight: 44)
            }
            if model.isCorrection {
                Field(label: L10n.t("outcome.correctionReason"), text: $model.correctionReason, error: model.error(for: "reason"))
            }
        }
        Section(L10n.t("outcome.stepReview")) {
            if let check = model.check {
                if !model.errors.isEmpty {
                    Banner(text: L10n.t("outcome.fixBelow", Formatting.messages(model.errors)), tone: .error)
                } else {
                    VStack(alignment: .leading, spacing: 4) {
                        if let m = check.minutesCredited { Text(L10n.t("outcome.reviewMinutes", L10n.n(m))) }
                        if let late = check.lateByMinutes, late > 0 { Text(L10n.t("outcome.reviewLate", L10n.n(late))) }
                        if let e = check.enforcement { Text(L10n.t("outcome.reviewEnforcement", Formatting.fieldName(e))) }
                        if check.afterExpectedEnd { Text(L10n.t("outcome.reviewAfterExpectedEnd")) }
                    }
                    .accessibilityElement(children: .combine)
                }
            }
            ActionButton(title: L10n.t("outcome.review"), prominent: false) { Task { await model.review() } }
            ActionButton(title: L10n.t("outcome.record"), enabled: model.reviewed) { Task { await model.record() } }
        }
    }

    private func ratings(_ title: String, _ chosen: Rating?, _ pick: @escaping (Rating) -> Void) -> some View {
        VStack(alignment: .leading) {
            Text(title).font(.subheadline)
            ForEach(RatingWords.all, id: \.self) { r in
                Choice(title: RatingWords.name(r), selected: chosen == r) { pick(r) }
            }
        }
    }
}

enum RatingWords {
    static let all: [Rating] = [.excellent, .good, .satisfactory, .unsatisfactory, .poor, .notApplicable]

    static func name(_ r: Rating) -> String {
        switch r {
        case .excellent: L10n.t("rating.excellent")
        case .good: L10n.t("rating.good")
        case .satisfactory: L10n.t("rating.satisfactory")
        case .unsatisfactory: L10n.t("rating.unsatisfactory")
        case .poor: L10n.t("rating.poor")
        case .notApplicable: L10n.t("rating.notApplicable")
        }
    }
}
