import SwiftUI

struct UnlockScreen: View {
    @Bindable var model: UnlockModel

    var body: some View {
        Form {
            Section {
                Messages(message: model.message)
                switch model.mode {
                case .opening:
                    ProgressView(L10n.t("common.loading"))
                case .createPin:
                    Text(L10n.t("unlock.createIntro"))
                    Field(label: L10n.t("unlock.officerId"), text: $model.officerId)
                    Field(label: L10n.t("unlock.pin"), text: $model.pin, secret: true)
                    Field(label: L10n.t("unlock.pinAgain"), text: $model.pinAgain, secret: true)
                    ActionButton(title: L10n.t("unlock.createPin"), enabled: !model.busy) { Task { await model.create() } }
                case .unlock:
                    Text(L10n.t("unlock.intro"))
                    Field(label: L10n.t("unlock.pin"), text: $model.pin, secret: true)
                    if model.deviceAuthNeeded { Banner(text: L10n.t("unlock.deviceAuthTitle")) }
                    ActionButton(
                        title: L10n.t(model.deviceAuthNeeded ? "unlock.deviceAuthButton" : "unlock.unlock"),
                        enabled: !model.busy
                    ) { Task { await model.unlock() } }
                case .lockedOutWait:
                    Banner(text: L10n.t("unlock.lockedOutWait", Formatting.duration(ms: model.retryAfterMs)))
                    Field(label: L10n.t("unlock.pin"), text: $model.pin, secret: true)
                    ActionButton(title: L10n.t("unlock.unlock"), enabled: !model.busy) { Task { await model.unlock() } }
                case .lockedOutOffice:
                    Banner(text: L10n.t("unlock.lockedOutOffice"))
                    Field(label: L10n.t("unlock.reenableCode"), text: $model.reenableCode)
                    ActionButton(title: L10n.t("unlock.reenable")) { Task { await model.reenable() } }
                case .keyLost:
                    Banner(text: L10n.t("unlock.keyLost", L10n.n(model.unsentEvents)), tone: .alarm)
                }
            }
        }
        .navigationTitle(L10n.t(model.mode == .createPin ? "unlock.createTitle" : "unlock.title"))
        .task { await model.onAppear() }
    }
}
