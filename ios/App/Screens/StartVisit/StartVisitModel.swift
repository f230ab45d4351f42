import FieldbookCore
import Foundation
import Observation

/// Purpose, officers present, expected length, location consent, arranged
/// or unannounced; the core starts the lone-worker timer (and schedules its
/// notifications) or refuses for an unmet safety prerequisite, which a
/// manager's override (who and why) can lift; then the core's warnings.
@MainActor
@Observable
final class StartVisitModel {
    private let core: CoreClient
    private unowned let root: AppModel
    let caseId: String

    private(set) var due: VisitDue?
    var purpose = ""
    var officers = ""
    var minutes = ""
    var locationConsent = false
    var arranged = false
    /// The core refused the start until a manager overrides: its reason, shown as given.
    private(set) var overrideNeeded: String?
    var managerId = ""
    var overrideReason = ""
    private(set) var started: StartedVisit?
    private(set) var message: String?
    private var loaded = false

    init(core: CoreClient, root: AppModel, caseId: String) {
        self.core = core
        self.root = root
        self.caseId = caseId
    }

    func load() async {
        guard !loaded else { return }
        let id = caseId
        do {
            let (due, me) = try await core.run { app in
                (try app.hvToday().first { $0.caseId == id }, try app.deviceEnrolment()?.officerId)
            }
            self.due = due
            purpose = due?.purpose ?? ""
            officers = me ?? ""
            loaded = true
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func start(withOverride: Bool) async {
        // Lone-worker alarms need notifications: asked when a visit first starts, not at launch.
        await core.notifications.requestPermission()
        let input = StartVisit(
            caseId: caseId,
            addressId: nil,
            scheduledVisitId: due?.scheduledVisitId,
            purpose: purpose,
            officersPresent: officers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            expectedMinutes: Int64(minutes.trimmingCharacters(in: .whitespaces)) ?? -1,
            locationConsent: locationConsent,
            location: nil,
            arranged: arranged,
            managerOverride: withOverride
                ? ManagerOverride(managerId: managerId.trimmingCharacters(in: .whitespaces), reason: overrideReason)
                : nil)
        do {
            started = try await core.run { app in try app.hvStartVisit(input: input) }
            message = nil
        } catch let FieldbookError.InvalidInput(field, _, reason) where field == "manager_override" {
            // A safety prerequisite is unmet: the core says which; the officer may ask a manager.
            overrideNeeded = reason
            message = nil
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func proceed() {
        guard let started else { return }
        root.replaceTop(with: .activeVisit(visitId: started.visitId))
    }
}
