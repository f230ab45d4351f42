import FieldbookCore
import SwiftUI

struct LedgerScreen: View {
    let model: LedgerModel

    var body: some View {
        List {
            Messages(message: model.message)
            if let l = model.ledger {
                Section {
                    Text(l.crn)
                    Figure(label: L10n.t("ledger.required"), value: Formatting.hoursAndMinutes(l.requiredMinutes))
                    Figure(label: L10n.t("ledger.positiveAdjustment"), value: Formatting.hoursAndMinutes(l.positiveAdjustmentMinutes))
                    Figure(label: L10n.t("ledger.negativeAdjustment"), value: Formatting.hoursAndMinutes(l.negativeAdjustmentMinutes))
                    Figure(label: L10n.t("ledger.credited"), value: Formatting.hoursAndMinutes(l.creditedMinutes))
                    Figure(label: L10n.t("ledger.outstanding"), value: Formatting.hoursAndMinutes(l.outstandingMinutes))
                    Text(L10n.t("ledger.eteUsed", Formatting.hoursAndMinutes(l.eteCreditedMinutes), Formatting.hoursAndMinutes(l.eteCapMinutes)))
                    Figure(label: L10n.t("ledger.scheduled"), value: Formatting.hoursAndMinutes(l.scheduledMinutes))
                }
                Section {
                    Text(l.warningsGiven.isEmpty
                         ? L10n.t("ledger.noWarningsGiven")
                         : L10n.t("ledger.warningsGiven", l.warningsGiven.joined(separator: ", ")))
                    Text(L10n.t("ledger.orderEnds", l.orderEnd))
                    if l.atRisk { Banner(text: L10n.t("ledger.atRisk"), tone: .error) }
                    if !l.openEnforcementCodes.isEmpty {
                        Text(L10n.t("ledger.openEnforcement", l.openEnforcementCodes.joined(separator: ", ")))
                    }
                    Text(L10n.t("ledger.policyVersion", l.policyVersion)).font(.footnote)
                }
            } else {
                ProgressView(L10n.t("common.loading"))
            }
        }
        .navigationTitle(L10n.t("ledger.title", model.ledger?.label ?? ""))
        .task { await model.load() }
    }
}
