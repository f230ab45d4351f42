import FieldbookCore
import SwiftUI

struct PersonScreen: View {
    let model: PersonModel

    var body: some View {
        List {
            Messages(message: model.message)
            if let p = model.person {
                Section {
                    Text(p.crn)
                    Text(L10n.t("person.nextDue", p.nextDue))
                    if p.overdueByPolicy { Banner(text: L10n.t("person.overdue"), tone: .error) }
                }
                Section(L10n.t("person.openFollowUps")) {
                    if p.openFollowUps.isEmpty { Text(L10n.t("record.noFollowUps")) }
                    ForEach(Array(p.openFollowUps.enumerated()), id: \.offset) { _, f in
                        Text(L10n.t("record.followUpLine", f.followUp.action, f.followUp.due))
                    }
                }
                Section(L10n.t("person.history")) {
                    if p.history.isEmpty { Text(L10n.t("person.noHistory")) }
                    ForEach(p.history, id: \.visitId) { line in
                        Button { model.open(line) } label: {
                            VStack(alignment: .leading) {
                                Text(Formatting.localTime(ms: line.start.utcMs))
                                Text(L10n.t(
                                    line.planned ? "person.planned" : "person.unplanned",
                                    line.outcome ?? L10n.t("person.noOutcome"), L10n.n(line.amendments)))
                                    .font(.footnote)
                            }
                            .frame(minHeight: 44)
                        }
                        .accessibilityHint(L10n.t("person.openHint"))
                    }
                }
            } else {
                ProgressView(L10n.t("common.loading"))
            }
        }
        .navigationTitle(model.person?.label ?? L10n.t("person.title"))
        .reloadOnAppear { await model.load() }
    }
}
