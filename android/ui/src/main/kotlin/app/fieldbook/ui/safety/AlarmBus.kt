package app.fieldbook.ui.safety

import app.fieldbook.core.AlarmKind
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.asSharedFlow

/**
 * A lone-worker alarm that fired while the app's process was alive: the
 * platform's receiver posts it here so an open visit screen asks the core
 * again at once. The alarm's meaning is always the core's answer to `hvTick`.
 */
object AlarmBus {
    data class Fired(val visitId: String, val kind: AlarmKind)

    private val flow = MutableSharedFlow<Fired>(extraBufferCapacity = 16)
    val fired: SharedFlow<Fired> = flow.asSharedFlow()
    fun post(f: Fired) = flow.tryEmit(f)
}
