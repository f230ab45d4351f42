import FieldbookCore
import Foundation
import Observation

/// Today's visits: scheduled today or due by policy, most overdue first,
/// with risks to staff and access notes, as the core orders them.
@MainActor
@Observable
final class OfficerTodayModel {
    private let core: CoreClient
    private unowned let root: AppModel
    private(set) var visits: [VisitDue] = []
    private(set) var loaded = false
    private(set) var message: String?

    init(core: CoreClient, root: AppModel) {
        self.core = core
        self.root = root
    }

    func load() async {
        do {
            visits = try await core.run { app in
                // The core erases drafts past their expiry (and logs the erasure) before listing.
                _ = try app.hvExpireDrafts()
                return try app.hvToday()
            }
            loaded = true
            message = nil
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func start(_ v: VisitDue) { root.push(.startVisit(caseId: v.caseId)) }
    func person(_ v: VisitDue) { root.push(.person(caseId: v.caseId)) }
    func openSync() { root.push(.sync) }
    func openSettings() { root.push(.settings) }
}
