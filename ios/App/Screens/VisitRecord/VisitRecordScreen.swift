import FieldbookCore
import SwiftUI

struct VisitRecordScreen: View {
    @Bindable var model: VisitRecordModel

    var body: some View {
        Form {
            Messages(message: model.message)
            if model.finalised {
                Banner(text: L10n.t("record.finalised"))
                ActionButton(title: L10n.t("common.continue")) { Task { await model.done() } }
            } else if let f = model.form {
                header
                if model.isFinal { followUps(f) }
                fields(f)
                actions
            } else {
                ProgressView(L10n.t("common.loading"))
            }
        }
        .navigationTitle(L10n.t(model.isFinal ? "record.amendTitle" : "record.title"))
        .task { await model.load() }
    }

    @ViewBuilder private var header: some View {
        if let v = model.visit {
            Text(v.label).font(.headline)
            switch v.draftExpiry {
            case "expires_soon": Banner(text: L10n.t("record.draftExpiresSoon"), tone: .error)
            case "expired": Banner(text: L10n.t("record.draftExpired"), tone: .error)
            default: EmptyView()
            }
        }
        if model.saved { Banner(text: L10n.t("record.draftSaved")) }
        if model.amended { Banner(text: L10n.t("record.amended")) }
        if !model.validation.isEmpty {
            Banner(text: L10n.t("record.toFix", Formatting.messages(model.validation)), tone: .error)
        }
    }

    @ViewBuilder private func followUps(_ f: VisitForm) -> some View {
        Section(L10n.t("record.followUps")) {
            if f.followUps.isEmpty { Text(L10n.t("record.noFollowUps")) }
            ForEach(Array(f.followUps.enumerated()), id: \.offset) { index, fu in
                HStack {
                    Text(L10n.t("record.followUpLine", fu.action, fu.due))
                    Spacer()
                    if fu.done {
                        Text(L10n.t("record.followUpDone"))
                    } else {
                        Button(L10n.t("record.markDone")) { Task { await model.completeFollowUp(at: index) } }
                            .buttonStyle(.bordered)
                            .frame(minHeight: 44)
                    }
                }
                .accessibilityElement(children: .combine)
            }
        }
    }

    @ViewBuilder private func fields(_ f: VisitForm) -> some View {
        Section {
            Toggle(L10n.t("record.noAnswer"), isOn: Binding(get: { f.noAnswer }, set: { v in model.edit { $0.noAnswer = v } }))
                .frame(minHeight: 44)
        }
        Section(L10n.t("record.outcome")) {
            ForEach(model.outcomes, id: \.code) { o in
                Choice(title: "\(o.code) – \(o.description)", selected: f.outcome == o.code) { model.edit { $0.outcome = o.code } }
            }
        }
        if model.needsEnforcement {
            Section(L10n.t("record.enforcement")) {
                ForEach(EnforcementWords.offered, id: \.self) { e in
                    Choice(title: EnforcementWords.name(e), selected: f.enforcement == e) { model.edit { $0.enforcement = e } }
                }
            }
        }
        Section(L10n.t("record.accommodation")) {
            ForEach(AccommodationWords.suitabilities, id: \.self) { s in
                Choice(title: AccommodationWords.name(s), selected: f.accommodation?.suitability == s) {
                    model.edit {
                        $0.accommodation = Accommodation(
                            suitability: s, condition: $0.accommodation?.condition ?? .notSeen, changes: $0.accommodation?.changes ?? "")
                    }
                }
            }
            ForEach(AccommodationWords.conditions, id: \.self) { c in
                Choice(title: AccommodationWords.name(c), selected: f.accommodation?.condition == c) {
                    model.edit {
                        $0.accommodation = Accommodation(
                            suitability: $0.accommodation?.suitability ?? .notAssessed, condition: c, changes: $0.accommodation?.changes ?? "")
                    }
                }
            }
        }
        Section {
            Field(label: L10n.t("record.riskConcerns"), text: Binding(
                get: { model.form?.riskConcerns ?? "" }, set: { v in model.edit { $0.riskConcerns = v } }), multiline: true)
            Field(label: L10n.t("record.safeguarding"), text: Binding(
                get: { model.form?.safeguardingConcerns ?? "" }, set: { v in model.edit { $0.safeguardingConcerns = v } }), multiline: true)
            Field(label: L10n.t("record.notes"), text: Binding(
                get: { model.form?.notes ?? "" }, set: { v in model.edit { $0.notes = v } }), multiline: true)
            Toggle(L10n.t("outcome.sensitive"), isOn: Binding(get: { f.sensitive }, set: { v in model.edit { $0.sensitive = v } }))
                .frame(minHeight: 44)
        }
        if !model.isFinal {
            Section(L10n.t("record.followUps")) {
                ForEach(Array(f.followUps.enumerated()), id: \.offset) { _, fu in
                    Text(L10n.t("record.followUpLine", fu.action, fu.due))
                }
                Field(label: L10n.t("record.followUpAction"), text: $model.followUpAction)
                Field(label: L10n.t("record.followUpDue"), text: $model.followUpDue)
            }
        }
    }

    @ViewBuilder private var actions: some View {
        if model.isFinal {
            Section {
                Field(label: L10n.t("record.amendReason"), text: $model.amendReason, multiline: true)
                ActionButton(title: L10n.t("record.amend")) { Task { await model.amend() } }
            }
        } else {
            Section {
                ActionButton(title: L10n.t("record.saveDraft"), prominent: false) { Task { await model.saveDraft() } }
                ActionButton(title: L10n.t("record.finalise")) { Task { await model.finalise() } }
            }
        }
    }
}

/// The enforcement follow-ups the visit form offers, in words.
enum EnforcementWords {
    static let offered: [EnforcementAction] = [.warningLetter, .referToOffenderManager, .initiateBreach, .noFurtherAction]

    static func name(_ e: EnforcementAction) -> String {
        switch e {
        case .warningLetter: L10n.t("enforcement.warningLetter")
        case .referToOffenderManager: L10n.t("enforcement.referOm")
        case .initiateBreach: L10n.t("enforcement.initiateBreach")
        case let .decisionPendingResponse(respondBy): L10n.t("enforcement.pendingResponse", respondBy)
        case .noFurtherAction: L10n.t("enforcement.noFurtherAction")
        }
    }
}

enum AccommodationWords {
    static let suitabilities: [Suitability] = [.suitable, .unsuitable, .notAssessed]
    static let conditions: [Condition] = [.good, .fair, .poor, .notSeen]

    static func name(_ s: Suitability) -> String {
        switch s {
        case .suitable: L10n.t("accommodation.suitable")
        case .unsuitable: L10n.t("accommodation.unsuitable")
        case .notAssessed: L10n.t("accommodation.notAssessed")
        }
    }

    static func name(_ c: Condition) -> String {
        switch c {
        case .good: L10n.t("accommodation.good")
        case .fair: L10n.t("accommodation.fair")
        case .poor: L10n.t("accommodation.poor")
        case .notSeen: L10n.t("accommodation.notSeen")
        }
    }
}
