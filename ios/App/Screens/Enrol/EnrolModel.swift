import FieldbookCore
import Foundation
import Observation
import UIKit

/// The office address (with certificate pins, typed or from a QR payload)
/// and the one-time code; the core enrols, and its first sync brings the
/// day's sessions or cases. The role it answers decides the home screen.
@MainActor
@Observable
final class EnrolModel {
    private let core: CoreClient
    private unowned let root: AppModel

    var server = ""
    var pins = ""
    var code = ""
    var label: String
    private(set) var role: String?
    private(set) var officerId: String?
    private(set) var message: String?
    private(set) var busy = false

    init(core: CoreClient, root: AppModel) {
        self.core = core
        self.root = root
        label = UIDevice.current.model
    }

    func enrol() async {
        busy = true
        message = nil
        let server = self.server.trimmingCharacters(in: .whitespaces)
        let pins = self.pins.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" }).map(String.init)
        let code = self.code.trimmingCharacters(in: .whitespaces)
        let label = self.label.trimmingCharacters(in: .whitespaces)
        do {
            try await core.run { app in try app.configureSync(serverUrl: server, pinnedCertSha256: pins) }
            let enrolment = try await core.app.enrol(code: code, label: label)
            // The first sync brings the day's sessions and cases.
            let handle = try await core.run { app in try app.sync(listener: nil) }
            _ = try await handle.awaitResult()
            role = enrolment.role
            officerId = enrolment.officerId
        } catch {
            message = ErrorWords.describe(error)
        }
        busy = false
    }

    func proceed() async { await root.showHome() }
}
