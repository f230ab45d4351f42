import SwiftUI

struct StartVisitScreen: View {
    @Bindable var model: StartVisitModel

    var body: some View {
        Form {
            Messages(message: model.message)
            if let due = model.due {
                Section {
                    Text(due.address)
                    if !due.accessNotes.isEmpty { Text(L10n.t("visits.accessNotes", due.accessNotes)) }
                }
            }
            if let started = model.started {
                Banner(text: L10n.t("visit.safetyActive"))
                ForEach(Array(started.warnings.enumerated()), id: \.offset) { _, w in
                    Banner(text: L10n.t("visit.warning", Formatting.plain(w)), tone: .error)
                }
                ActionButton(title: L10n.t("common.continue")) { model.proceed() }
            } else {
                Section {
                    Field(label: L10n.t("visit.purpose"), text: $model.purpose)
                    Field(label: L10n.t("visit.officersPresent"), text: $model.officers)
                    Field(label: L10n.t("visit.expectedMinutes"), text: $model.minutes, number: true)
                    Toggle(L10n.t("visit.locationConsent"), isOn: $model.locationConsent).frame(minHeight: 44)
                    Toggle(L10n.t("visit.arranged"), isOn: $model.arranged).frame(minHeight: 44)
                }
                if let why = model.overrideNeeded {
                    Section {
                        Banner(text: L10n.t("visit.overrideNeeded", why), tone: .error)
                        Field(label: L10n.t("visit.managerId"), text: $model.managerId)
                        Field(label: L10n.t("visit.overrideReason"), text: $model.overrideReason, multiline: true)
                        ActionButton(title: L10n.t("visit.startWithOverride")) { Task { await model.start(withOverride: true) } }
                        ActionButton(title: L10n.t("visit.start"), prominent: false) { Task { await model.start(withOverride: false) } }
                    }
                } else {
                    ActionButton(title: L10n.t("visit.start")) { Task { await model.start(withOverride: false) } }
                }
            }
        }
        .navigationTitle(L10n.t("visit.startTitle", model.due?.label ?? ""))
        .task { await model.load() }
    }
}
