package app.fieldbook.ui.screens

import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import app.fieldbook.ui.*

data class EnrolState(
    val server: String = "",
    val pins: String = "",
    val code: String = "",
    val label: String = "",
    val role: String? = null,
    val officerId: String? = null,
    val message: String? = null,
    val busy: Boolean = false,
)

sealed interface EnrolIntent {
    data class Server(val v: String) : EnrolIntent
    data class Pins(val v: String) : EnrolIntent
    data class Code(val v: String) : EnrolIntent
    data class Label(val v: String) : EnrolIntent
    data object Enrol : EnrolIntent
    data object Continue : EnrolIntent
}

/** The office address (with certificate pins from a QR payload or typed) and the one-time code. */
class EnrolPresenter(core: Core, private val nav: Navigator) : Presenter<EnrolState>(EnrolState(label = core.deviceLabel), core) {
    fun onIntent(i: EnrolIntent) {
        when (i) {
            is EnrolIntent.Server -> update { it.copy(server = i.v) }
            is EnrolIntent.Pins -> update { it.copy(pins = i.v) }
            is EnrolIntent.Code -> update { it.copy(code = i.v) }
            is EnrolIntent.Label -> update { it.copy(label = i.v) }
            EnrolIntent.Enrol -> {
                val s = state.value
                update { it.copy(busy = true, message = null) }
                work({ st, m -> st.copy(message = m, busy = false) }) {
                    val pins = s.pins.split(',', ' ', '\n').map { it.trim() }.filter { it.isNotEmpty() }
                    core.app.configureSync(s.server.trim(), pins)
                    val e = core.app.enrol(s.code.trim(), s.label.trim())
                    // The first sync brings the day's sessions and cases.
                    core.app.sync(null).awaitResult()
                    update { it.copy(role = e.role, officerId = e.officerId, busy = false) }
                }
            }
            EnrolIntent.Continue -> nav.home(core.app)
        }
    }
}

@Composable
fun roleName(role: String): String = t(if (role == "supervisor") S.RoleSupervisor else S.RoleOfficer)

@Composable
fun EnrolView(state: EnrolState, onIntent: (EnrolIntent) -> Unit) {
    ScreenFrame(t(S.EnrolTitle), "enrol") {
        state.message?.let { Banner(it, Tone.Error) }
        if (state.role != null) {
            Banner(t(S.Enrolled, roleName(state.role)) + " (${state.officerId})", Tone.Notice, "enrolled")
            PrimaryButton(t(S.Continue), "continue") { onIntent(EnrolIntent.Continue) }
        } else {
            Text(t(S.EnrolIntro))
            Field(t(S.ServerLabel), state.server, "server", { onIntent(EnrolIntent.Server(it)) })
            Field(t(S.PinsLabel), state.pins, "cert-pins", { onIntent(EnrolIntent.Pins(it)) }, singleLine = false)
            Field(t(S.CodeLabel), state.code, "code", { onIntent(EnrolIntent.Code(it)) })
            Field(t(S.DeviceLabel), state.label, "device-label", { onIntent(EnrolIntent.Label(it)) })
            PrimaryButton(t(S.Enrol), "enrol", enabled = !state.busy) { onIntent(EnrolIntent.Enrol) }
        }
    }
}
