import FieldbookCore
import Foundation
import Observation

/// The person's hours as the core's ledger has them (opening it is logged
/// by the core as a consultation).
@MainActor
@Observable
final class LedgerModel {
    private let core: CoreClient
    let appointmentId: String
    private(set) var ledger: PersonLedger?
    private(set) var message: String?

    init(core: CoreClient, appointmentId: String) {
        self.core = core
        self.appointmentId = appointmentId
    }

    func load() async {
        let id = appointmentId
        do {
            ledger = try await core.run { app in try app.upwLedgerForAppointment(appointmentId: id) }
        } catch {
            message = ErrorWords.describe(error)
        }
    }
}
