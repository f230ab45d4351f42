import FieldbookCore
import Foundation
import Observation

/// The person's visits: history with outcomes and amendments, open
/// follow-ups and the next visit due, as the core has them (opening it is
/// logged by the core as a consultation).
@MainActor
@Observable
final class PersonModel {
    private let core: CoreClient
    private unowned let root: AppModel
    let caseId: String
    private(set) var person: PersonVisits?
    private(set) var message: String?

    init(core: CoreClient, root: AppModel, caseId: String) {
        self.core = core
        self.root = root
        self.caseId = caseId
    }

    func load() async {
        let id = caseId
        do {
            person = try await core.run { app in try app.hvPerson(caseId: id) }
            message = nil
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    /// A finalised visit: amend it, or mark its follow-ups done.
    func open(_ line: VisitLine) { root.push(.amendVisit(visitId: line.visitId)) }
}
