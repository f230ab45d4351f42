import FieldbookCore
import Foundation
import Observation

/// The active visit: time left, extend, check in safe, alert, silent alert,
/// end. The core's timer decides the status (`hvTick`) and reschedules the
/// notifications after every safety call.
@MainActor
@Observable
final class ActiveVisitModel {
    private let core: CoreClient
    private unowned let root: AppModel
    let visitId: String

    private(set) var visit: ActiveVisit?
    var confirmEnd = false
    private(set) var message: String?

    init(core: CoreClient, root: AppModel, visitId: String) {
        self.core = core
        self.root = root
        self.visitId = visitId
        // A notification that fires while the app is open makes this screen ask the core at once.
        root.onAlarm[visitId] = { [weak self] in Task { await self?.tick() } }
    }

    func tick() async {
        let id = visitId
        // The safety lane: what the office's clock has not confirmed, and
        // the office's acknowledgements. A failure is retried next tick
        // (the core sends at once after every safety action itself).
        _ = try? await core.app.sendSafety()
        do {
            visit = try await core.run { app in
                _ = try app.hvTick()
                return try app.hvActiveVisit(visitId: id)
            }
            message = nil
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    private func then(_ action: @escaping @Sendable (FieldbookApp, String) throws -> SafetyView) async {
        let id = visitId
        do {
            visit = try await core.run { app in
                _ = try action(app, id)
                return try app.hvActiveVisit(visitId: id)
            }
            message = nil
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func extend() async { await then { app, id in try app.hvExtend(visitId: id, minutes: 15) } }
    func checkInSafe() async { await then { app, id in try app.hvCheckInSafe(visitId: id) } }
    func alert() async { await then { app, id in try app.hvRaiseAlert(visitId: id, silent: false) } }
    /// Recorded by the core and sent to the office; the screen stays as it was (someone may be watching).
    func silentAlert() async { await then { app, id in try app.hvRaiseAlert(visitId: id, silent: true) } }

    func end() async {
        let id = visitId
        do {
            try await core.run { app in try app.hvEndVisit(visitId: id, location: nil) }
            root.onAlarm[id] = nil
            root.replaceTop(with: .visitRecord(visitId: id))
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    /// The status to show, as the core decides it (a silent alert shows as
    /// the running timer).
    var shownStatus: SafetyStatus? { visit?.safety.shownStatus }
}
