import FieldbookCore
import Foundation

/// Where the person is. Routes carry ids only, never personal data.
enum Route: Hashable {
    case rollCall(sessionId: String)
    case outcome(appointmentId: String)
    case ledger(appointmentId: String)
    case startVisit(caseId: String)
    case activeVisit(visitId: String)
    case visitRecord(visitId: String)
    case amendVisit(visitId: String)
    case person(caseId: String)
    case sync
    case settings
}

/// The bottom of the stack: the device's state decides it (store, lock, enrolment, role).
enum Home: Equatable {
    case opening, unlock, enrol, supervisor, officer
}

/// One visit to a screen: its model is made once and kept while it is on the stack.
struct Entry: Hashable, Identifiable {
    let id: Int
    let route: Route
}

/// A screen with its model, as the stack shows it.
enum Screen {
    case unlock(UnlockModel)
    case enrol(EnrolModel)
    case supervisorToday(SupervisorTodayModel)
    case officerToday(OfficerTodayModel)
    case rollCall(RollCallModel)
    case outcome(OutcomeModel)
    case ledger(LedgerModel)
    case startVisit(StartVisitModel)
    case activeVisit(ActiveVisitModel)
    case visitRecord(VisitRecordModel)
    case person(PersonModel)
    case sync(SyncModel)
    case settings(SettingsModel)
}
