import FieldbookCore
import SwiftUI

struct SupervisorTodayScreen: View {
    let model: SupervisorTodayModel

    var body: some View {
        List {
            Messages(message: model.message)
            if model.loaded && model.sessions.isEmpty { Text(L10n.t("today.noSessions")) }
            ForEach(model.sessions, id: \.sessionId) { s in
                Button { model.open(s) } label: {
                    VStack(alignment: .leading, spacing: 4) {
                        Text(L10n.t("today.sessionLine", s.projectName, String(s.plannedStart.prefix(5)), String(s.plannedEnd.prefix(5))))
                            .font(.headline)
                        Text(verbatim: "\(s.date) · \(SessionWords.status(s.status))")
                        Text(L10n.t(
                            "today.sessionCounts", L10n.n(s.arrived), L10n.n(s.allocated), L10n.n(s.didNotAttend),
                            L10n.n(s.sentHome), L10n.n(s.outcomesMissing)))
                            .font(.subheadline)
                        Text(SessionWords.sync(s.sync)).font(.footnote)
                    }
                    .frame(minHeight: 44)
                }
                .accessibilityHint(L10n.t("today.openRollCall"))
            }
        }
        .navigationTitle(L10n.t("today.title"))
        .toolbar {
            Button(L10n.t("sync.title")) { model.openSync() }
            Button(L10n.t("settings.title")) { model.openSettings() }
        }
        .refreshable { await model.load() }
        .reloadOnAppear { await model.load() }
    }
}

/// The core's session status and sync state, in words.
enum SessionWords {
    static func status(_ status: String) -> String {
        switch status {
        case "started": L10n.t("session.started")
        case "stood_down": L10n.t("session.stoodDown")
        case "ended": L10n.t("session.ended")
        default: L10n.t("session.planned")
        }
    }

    static func sync(_ state: SyncState) -> String {
        switch state {
        case .nothingCaptured: L10n.t("session.syncNothing")
        case .synced: L10n.t("session.syncDone")
        case let .pending(events): L10n.t("session.syncPending", L10n.n(events))
        }
    }
}
