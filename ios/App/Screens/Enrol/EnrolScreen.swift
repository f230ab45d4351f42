import SwiftUI

struct EnrolScreen: View {
    @Bindable var model: EnrolModel

    var body: some View {
        Form {
            Messages(message: model.message)
            if let role = model.role {
                Banner(text: L10n.t("enrol.enrolled", RoleName.of(role), model.officerId ?? ""))
                ActionButton(title: L10n.t("common.continue")) { Task { await model.proceed() } }
            } else {
                Section {
                    Text(L10n.t("enrol.intro"))
                    Field(label: L10n.t("enrol.server"), text: $model.server)
                    Field(label: L10n.t("enrol.pins"), text: $model.pins, multiline: true)
                    Field(label: L10n.t("enrol.code"), text: $model.code)
                    Field(label: L10n.t("enrol.deviceLabel"), text: $model.label)
                }
                ActionButton(title: L10n.t("enrol.enrol"), enabled: !model.busy) { Task { await model.enrol() } }
                if model.busy { ProgressView() }
            }
        }
        .navigationTitle(L10n.t("enrol.title"))
    }
}

/// The role the core names, in words.
enum RoleName {
    static func of(_ role: String) -> String {
        role == "supervisor" ? L10n.t("role.supervisor") : L10n.t("role.officer")
    }
}
