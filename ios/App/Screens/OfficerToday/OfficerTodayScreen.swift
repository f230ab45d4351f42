import FieldbookCore
import SwiftUI

struct OfficerTodayScreen: View {
    let model: OfficerTodayModel

    var body: some View {
        List {
            Messages(message: model.message)
            if model.loaded && model.visits.isEmpty { Text(L10n.t("visits.none")) }
            ForEach(model.visits, id: \.caseId) { v in
                VStack(alignment: .leading, spacing: 6) {
                    Text(verbatim: "\(v.label) · \(v.crn)").font(.headline)
                    Text(v.address)
                    Text(v.overdueDays > 0 ? L10n.t("visits.overdue", L10n.n(v.overdueDays)) : L10n.t("visits.due", v.due))
                    if let days = v.daysSinceLastVisit { Text(L10n.t("visits.daysSince", L10n.n(days))).font(.footnote) }
                    Text(L10n.t("warn.risk", Formatting.fieldName(v.riskLevel)))
                    if !v.staffRisks.isEmpty {
                        Banner(text: L10n.t("visits.risksToStaff", v.staffRisks.map(Formatting.plain).joined(separator: "; ")), tone: .error)
                    }
                    if !v.accessNotes.isEmpty { Text(L10n.t("visits.accessNotes", v.accessNotes)) }
                    HStack {
                        ActionButton(title: L10n.t("visits.start")) { model.start(v) }
                        ActionButton(title: L10n.t("visits.person"), prominent: false) { model.person(v) }
                    }
                }
                .padding(.vertical, 4)
            }
        }
        .navigationTitle(L10n.t("visits.title"))
        .toolbar {
            Button(L10n.t("sync.title")) { model.openSync() }
            Button(L10n.t("settings.title")) { model.openSettings() }
        }
        .reloadOnAppear { await model.load() }
    }
}
