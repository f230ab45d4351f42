import FieldbookCore
import SwiftUI

struct SyncScreen: View {
    @Bindable var model: SyncModel

    var body: some View {
        List {
            Messages(message: model.message, notice: model.result)
            if let o = model.outbox {
                Section {
                    Figure(label: L10n.t("sync.pending"), value: L10n.n(o.pending))
                    Figure(label: L10n.t("sync.unsent"), value: L10n.n(o.unsent))
                    Figure(label: L10n.t("sync.lastSync"), value: o.lastSyncMs.map { Formatting.localTime(ms: $0) } ?? L10n.t("sync.never"))
                }
            }
            Section {
                if model.running {
                    Banner(text: L10n.t("sync.syncing", progressLine))
                    ActionButton(title: L10n.t("common.cancel"), prominent: false) { model.cancel() }
                } else {
                    ActionButton(title: L10n.t("sync.now")) { Task { await model.syncNow() } }
                }
            }
            Section(L10n.t("sync.quarantine", L10n.n(model.quarantine.count))) {
                if model.quarantine.isEmpty { Text(L10n.t("sync.quarantineEmpty")) }
                ForEach(model.quarantine, id: \.eventId) { q in
                    VStack(alignment: .leading, spacing: 6) {
                        Text(L10n.t("sync.quarantineReason", q.kind, SyncWords.refusal(q.reason)))
                        Text(L10n.t("sync.sequence", L10n.n(q.seq))).font(.footnote)
                        Field(label: L10n.t("sync.resubmitReason"), text: Binding(
                            get: { model.resubmitReasons[q.eventId] ?? "" },
                            set: { model.resubmitReasons[q.eventId] = $0 }))
                        ActionButton(title: L10n.t("sync.resubmit"), prominent: false) { Task { await model.resubmit(q) } }
                    }
                }
            }
        }
        .navigationTitle(L10n.t("sync.title"))
        .reloadOnAppear { await model.load() }
    }

    private var progressLine: String {
        guard let p = model.progress else { return "" }
        return "\(SyncWords.phase(p.phase)) \(L10n.n(p.sent))/\(L10n.n(p.total))"
    }
}

enum SyncWords {
    static func refusal(_ reason: String) -> String {
        reason == "out_of_scope" ? L10n.t("sync.reasonOutOfScope") : L10n.t("sync.reasonOther", Formatting.fieldName(reason))
    }

    static func phase(_ p: SyncPhase) -> String {
        switch p {
        case .status: L10n.t("sync.phaseStatus")
        case .push: L10n.t("sync.phasePush")
        case .pull: L10n.t("sync.phasePull")
        case .shredding: L10n.t("sync.phaseShredding")
        case .done: L10n.t("sync.phaseDone")
        }
    }
}
