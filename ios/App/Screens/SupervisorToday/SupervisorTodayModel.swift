import FieldbookCore
import Foundation
import Observation

/// The supervisor's sessions from today on, next first, as the core lists them.
@MainActor
@Observable
final class SupervisorTodayModel {
    private let core: CoreClient
    private unowned let root: AppModel
    private(set) var sessions: [SessionSummary] = []
    private(set) var loaded = false
    private(set) var message: String?

    init(core: CoreClient, root: AppModel) {
        self.core = core
        self.root = root
    }

    func load() async {
        do {
            sessions = try await core.run { app in try app.upwToday(daysAhead: 7) }
            loaded = true
            message = nil
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func open(_ session: SessionSummary) { root.push(.rollCall(sessionId: session.sessionId)) }
    func openSync() { root.push(.sync) }
    func openSettings() { root.push(.settings) }
}
