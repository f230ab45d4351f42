import FieldbookCore
import SwiftUI

/// Forwards intents to the core and publishes its view model. No rules here.
@MainActor
final class RollCallModel: ObservableObject {
    @Published var rollCall: RollCall?
    @Published var message: String?
    let core: FieldbookCore.FieldbookApp

    init(core: FieldbookCore.FieldbookApp) { self.core = core }

    func load() {
        run { core in
            guard let session = try core.upwToday(daysAhead: 0).first else { return nil }
            return try core.upwRollCall(sessionId: session.sessionId)
        }
    }

    func act(_ row: RollCallRow, _ action: RollCallAction) {
        let sessionId = rollCall?.summary.sessionId ?? ""
        run { core in
            switch action {
            case .checkIn:
                _ = try core.upwCheckIn(appointmentId: row.appointmentId,
                                        input: CheckIn(arrival: nil, identityChecked: true, hiVisIssued: true, hiVisWorn: true))
            case .didNotAttend:
                _ = try core.upwDidNotAttend(appointmentId: row.appointmentId, raiseAlert: true)
            default:
                break
            }
            return try core.upwRollCall(sessionId: sessionId)
        }
    }

    private func run(_ work: @escaping @Sendable (FieldbookCore.FieldbookApp) throws -> RollCall?) {
        let core = self.core
        Task.detached {
            do {
                let result = try work(core)
                await MainActor.run { self.rollCall = result; self.message = nil }
            } catch let error as FieldbookError {
                await MainActor.run { self.message = "\(error)" }
            } catch {
                await MainActor.run { self.message = "\(error)" }
            }
        }
    }
}

struct RollCallView: View {
    @ObservedObject var model: RollCallModel

    var body: some View {
        NavigationStack {
            List(model.rollCall?.rows ?? [], id: \.appointmentId) { row in
                VStack(alignment: .leading) {
                    Text(row.label + (row.restricted ? " (restricted)" : "")).font(.headline)
                    Text("\(String(describing: row.status))")
                    ForEach(Array(row.warnings.enumerated()), id: \.offset) { _, w in
                        Text("⚠ \(String(describing: w))").font(.caption)
                    }
                    HStack {
                        ForEach(Array(row.actions.enumerated()), id: \.offset) { _, action in
                            Button(String(describing: action)) { model.act(row, action) }
                        }
                    }
                }
            }
            .navigationTitle(model.rollCall?.summary.projectName ?? "Today")
            .overlay { if let m = model.message { Text(m) } }
            .task { model.load() }
        }
    }
}
