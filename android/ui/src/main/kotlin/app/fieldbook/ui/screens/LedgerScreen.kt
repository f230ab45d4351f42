package app.fieldbook.ui.screens

import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import app.fieldbook.core.PersonLedger
import app.fieldbook.ui.*

data class LedgerState(val ledger: PersonLedger? = null, val message: String? = null)

/** The person's hours, as the core's ledger has them. */
class LedgerPresenter(core: Core, nav: Navigator, private val appointmentId: String) : Presenter<LedgerState>(LedgerState(), core) {
    override fun onShown() {
        work({ s, m -> s.copy(message = m) }) {
            val l = core.app.upwLedgerForAppointment(appointmentId)
            update { it.copy(ledger = l) }
        }
    }
}

fun hoursAndMinutes(minutes: Long): String = "%d h %02d min".format(minutes / 60, kotlin.math.abs(minutes % 60))

@Composable
fun LedgerView(state: LedgerState, onBack: () -> Unit) {
    val l = state.ledger
    ScreenFrame(t(S.LedgerTitle, l?.label ?: ""), "ledger", onBack = onBack) {
        state.message?.let { Banner(it, Tone.Error) }
        if (l == null) {
            Text(t(S.Loading))
            return@ScreenFrame
        }
        Text(l.crn)
        Figure(t(S.Required), hoursAndMinutes(l.requiredMinutes), "ledger-required")
        Figure(t(S.PositiveAdjustment), hoursAndMinutes(l.positiveAdjustmentMinutes), "ledger-positive-adjustment")
        Figure(t(S.NegativeAdjustment), hoursAndMinutes(l.negativeAdjustmentMinutes), "ledger-negative-adjustment")
        Figure(t(S.Credited), hoursAndMinutes(l.creditedMinutes), "ledger-credited")
        Figure(t(S.Outstanding), hoursAndMinutes(l.outstandingMinutes), "ledger-outstanding")
        Text(t(S.EteUsed, hoursAndMinutes(l.eteCreditedMinutes), hoursAndMinutes(l.eteCapMinutes)), Modifier.testTag("ledger-ete"))
        Text(
            if (l.warningsGiven.isEmpty()) t(S.NoWarningsGiven) else t(S.WarningsGiven, l.warningsGiven.joinToString()),
            Modifier.testTag("ledger-warnings"),
        )
        Figure(t(S.Scheduled), hoursAndMinutes(l.scheduledMinutes), "ledger-scheduled")
        Text(t(S.OrderEnds, l.orderEnd))
        if (l.atRisk) Banner(t(S.AtRisk), Tone.Error, "at-risk")
        if (l.openEnforcementCodes.isNotEmpty()) Text(t(S.OpenEnforcement, l.openEnforcementCodes.joinToString()))
        Text(t(S.PolicyVersion, l.policyVersion))
    }
}
