import FieldbookCore
import Foundation
import Observation

enum UnlockMode: Equatable {
    case opening, createPin, unlock, lockedOutWait, lockedOutOffice, keyLost
}

/// First run (create the PIN), unlock, the core's lock-out (a delay, or the
/// office's re-enable code) and a lost platform key. The PIN rules, the
/// attempt counting and the delays are the core's.
@MainActor
@Observable
final class UnlockModel {
    private let core: CoreClient
    private unowned let root: AppModel

    var mode: UnlockMode = .opening
    var officerId = ""
    var pin = ""
    var pinAgain = ""
    var reenableCode = ""
    private(set) var retryAfterMs: Int64 = 0
    private(set) var unsentEvents: UInt64 = 0
    private(set) var message: String?
    private(set) var busy = false
    /// The core asked for the phone's own credential and the prompt did not succeed.
    private(set) var deviceAuthNeeded = false

    init(core: CoreClient, root: AppModel) {
        self.core = core
        self.root = root
    }

    func onAppear() async {
        do {
            let exists = try await core.run { app in app.storeExists() }
            if exists { try await showStatus(message: nil) } else { mode = .createPin }
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    private func showStatus(message: String?) async throws {
        let status = try await core.run { app in try app.lockoutStatus() }
        if status.lockedOut {
            mode = .lockedOutOffice
        } else if status.retryAfterMs > 0 {
            mode = .lockedOutWait
        } else {
            mode = .unlock
        }
        retryAfterMs = status.retryAfterMs
        pin = ""
        self.message = message
        busy = false
    }

    func create() async {
        guard pin == pinAgain else {
            message = L10n.t("unlock.pinsDiffer")
            return
        }
        busy = true
        message = nil
        let officer = officerId.trimmingCharacters(in: .whitespaces)
        let pin = self.pin
        do {
            try await core.runAuthenticating(reason: L10n.t("unlock.deviceAuthReason")) { app in
                try app.createStore(officerId: officer, pin: pin)
            }
            busy = false
            await root.showHome()
        } catch {
            busy = false
            message = ErrorWords.describe(error)
        }
    }

    func unlock() async {
        let pin = self.pin
        busy = true
        message = nil
        deviceAuthNeeded = false
        do {
            // The platform key may need the phone's own credential first: prompt, then retry.
            try await core.runAuthenticating(reason: L10n.t("unlock.deviceAuthReason")) { app in
                try app.unlock(pin: pin)
                if let enrolment = try app.deviceEnrolment() {
                    try app.configureSync(serverUrl: enrolment.serverUrl, pinnedCertSha256: [])
                }
            }
            self.pin = ""
            busy = false
            await root.showHome()
        } catch let error as FieldbookError {
            switch error {
            case let .WrongPin(remainingAttempts):
                try? await showStatus(message: L10n.t("unlock.wrongPin", L10n.n(remainingAttempts)))
            case .LockedOut:
                try? await showStatus(message: nil)
            case .UserAuthenticationRequired:
                deviceAuthNeeded = true
                message = ErrorWords.describe(error)
            case let .KeyUnavailable(unsent):
                unsentEvents = unsent
                mode = .keyLost
            default:
                message = ErrorWords.describe(error)
            }
            busy = false
        } catch {
            busy = false
            message = ErrorWords.describe(error)
        }
    }

    func reenable() async {
        let code = reenableCode.trimmingCharacters(in: .whitespaces)
        do {
            try await core.run { app in try app.officeReenable(code: code) }
            reenableCode = ""
            try await showStatus(message: nil)
        } catch {
            message = ErrorWords.describe(error)
        }
    }
}
