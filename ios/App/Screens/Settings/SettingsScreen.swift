import SwiftUI

struct SettingsScreen: View {
    @Bindable var model: SettingsModel

    var body: some View {
        Form {
            Messages(message: model.message, notice: model.notice)
            Section {
                ActionButton(title: L10n.t("settings.lockNow")) { Task { await model.lockNow() } }
                ActionButton(title: L10n.t("settings.language"), prominent: false) { model.openLanguageSettings() }
            }
            Section(L10n.t("settings.changePin")) {
                Field(label: L10n.t("settings.oldPin"), text: $model.oldPin, secret: true)
                Field(label: L10n.t("settings.newPin"), text: $model.newPin, secret: true)
                ActionButton(title: L10n.t("settings.changePin"), prominent: false) { Task { await model.changePin() } }
            }
            Section(L10n.t("settings.about")) {
                Text(L10n.t("settings.coreVersion", model.version))
                if let c = model.chain {
                    Text(c.intact
                         ? L10n.t("settings.chainOk", L10n.n(c.verified))
                         : L10n.t("settings.chainBroken", L10n.n(c.firstBrokenSeq ?? 0)))
                }
            }
        }
        .navigationTitle(L10n.t("settings.title"))
        .task { await model.load() }
    }
}
