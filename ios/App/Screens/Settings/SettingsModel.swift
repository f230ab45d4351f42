import FieldbookCore
import Foundation
import Observation
import UIKit

/// Lock now, change PIN, language (the phone's per-app setting), about:
/// the core's version and its check of this device's signed record chain.
@MainActor
@Observable
final class SettingsModel {
    private let core: CoreClient
    private unowned let root: AppModel
    private(set) var version = ""
    private(set) var chain: ChainCheck?
    var oldPin = ""
    var newPin = ""
    private(set) var notice: String?
    private(set) var message: String?

    init(core: CoreClient, root: AppModel) {
        self.core = core
        self.root = root
    }

    func load() async {
        do {
            let (v, c) = try await core.run { app in (app.version(), try app.verifyChain()) }
            version = v
            chain = c
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func changePin() async {
        let old = oldPin
        let new = newPin
        do {
            try await core.runAuthenticating(reason: L10n.t("unlock.deviceAuthReason")) { app in
                try app.changePin(oldPin: old, newPin: new)
            }
            oldPin = ""
            newPin = ""
            notice = L10n.t("settings.pinChanged")
            message = nil
        } catch {
            message = ErrorWords.describe(error)
            notice = nil
        }
    }

    func lockNow() async { await root.lockNow() }

    /// iOS keeps each app's language in Settings › Fieldbook › Language.
    func openLanguageSettings() {
        if let url = URL(string: UIApplication.openSettingsURLString) { UIApplication.shared.open(url) }
    }
}
