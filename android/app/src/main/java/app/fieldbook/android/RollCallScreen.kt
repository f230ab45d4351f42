package app.fieldbook.android

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.fieldbook.core.CheckIn
import app.fieldbook.core.FieldbookApp
import app.fieldbook.core.FieldbookException
import app.fieldbook.core.RollCall
import app.fieldbook.core.RollCallAction
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.launch

/** Forwards intents to the core and publishes its view model. No rules here. */
class RollCallViewModel(private val app: FieldbookApp, private val sessionId: String) : ViewModel() {
    val state = MutableStateFlow<RollCall?>(null)
    val error = MutableStateFlow<String?>(null)

    fun refresh() = run { app.upwRollCall(sessionId) }

    fun act(appointmentId: String, action: RollCallAction) = run {
        when (action) {
            RollCallAction.CHECK_IN -> app.upwCheckIn(appointmentId, CheckIn(null, true, true, true))
            RollCallAction.DID_NOT_ATTEND -> app.upwDidNotAttend(appointmentId, true)
            else -> Unit // the outcome form and corrections open their own screens
        }
        app.upwRollCall(sessionId)
    }

    private fun run(block: () -> Any) {
        viewModelScope.launch(Dispatchers.IO) {
            try {
                val result = block()
                if (result is RollCall) state.value = result
                error.value = null
            } catch (e: FieldbookException) {
                error.value = e.message
            }
        }
    }
}

@Composable
fun RollCallScreen(model: RollCallViewModel) {
    val rollCall by model.state.collectAsState()
    val error by model.error.collectAsState()
    Column(Modifier.padding(16.dp)) {
        error?.let { Text(it) }
        val rc = rollCall ?: return@Column Text("Loading…")
        Text("${rc.summary.projectName} — ${rc.summary.arrived}/${rc.summary.allocated} arrived")
        LazyColumn {
            items(rc.rows) { row ->
                Column(Modifier.padding(vertical = 8.dp)) {
                    Text(row.label + if (row.restricted) " (restricted)" else "")
                    Text(row.status.name + (row.minutesOnSite?.let { " · $it min on site" } ?: ""))
                    row.warnings.forEach { Text("⚠ $it") }
                    Row {
                        row.actions.forEach { action ->
                            Button(onClick = { model.act(row.appointmentId, action) }, Modifier.padding(end = 8.dp)) {
                                Text(action.name.replace('_', ' ').lowercase())
                            }
                        }
                    }
                }
            }
        }
    }
}
