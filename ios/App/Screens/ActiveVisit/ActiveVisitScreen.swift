import FieldbookCore
import SwiftUI

struct ActiveVisitScreen: View {
    @Bindable var model: ActiveVisitModel

    var body: some View {
        Form {
            Messages(message: model.message)
            if let v = model.visit {
                Section {
                    Text(v.label).font(.headline)
                    Text(v.address)
                    if !v.accessNotes.isEmpty { Text(L10n.t("visits.accessNotes", v.accessNotes)) }
                }
                Section {
                    status(v)
                    ActionButton(title: L10n.t("visit.extend15"), prominent: false) { Task { await model.extend() } }
                    ActionButton(title: L10n.t("visit.checkInSafe"), prominent: false) { Task { await model.checkInSafe() } }
                    ActionButton(title: L10n.t("visit.raiseAlert"), role: .destructive) { Task { await model.alert() } }
                    ActionButton(title: L10n.t("visit.silentAlert"), prominent: false) { Task { await model.silentAlert() } }
                }
                Section {
                    ActionButton(title: L10n.t("visit.end")) { model.confirmEnd = true }
                }
            } else {
                ProgressView(L10n.t("common.loading"))
            }
        }
        .navigationTitle(L10n.t("visit.activeTitle"))
        .navigationBarBackButtonHidden(true)
        .reloadOnAppear { await model.tick() }
        .task {
            // The time left as the core computes it, asked again every 30 seconds while shown.
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(30))
                await model.tick()
            }
        }
        .confirmationDialog(L10n.t("visit.endConfirm"), isPresented: $model.confirmEnd, titleVisibility: .visible) {
            Button(L10n.t("visit.end"), role: .destructive) { Task { await model.end() } }
            Button(L10n.t("common.cancel"), role: .cancel) {}
        }
    }

    @ViewBuilder private func status(_ v: ActiveVisit) -> some View {
        switch model.shownStatus {
        case .overdue: Banner(text: L10n.t("visit.overdue"), tone: .alarm)
        case .escalated: Banner(text: L10n.t("visit.escalated"), tone: .alarm)
        case .alert: Banner(text: L10n.t("visit.alertRaised"), tone: .alarm)
        default:
            Banner(text: L10n.t("visit.safetyActive") + " · "
                + L10n.t("visit.timeLeft", L10n.n(max(0, v.safety.remainingMs / 60000))))
        }
        if let ack = v.safety.officeAck {
            Banner(text: L10n.t("visit.officeAcknowledged", ack.by, Formatting.localTime(ms: ack.atMs)))
            if !ack.note.isEmpty { Text(ack.note) }
        }
    }
}
