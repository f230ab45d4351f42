package app.fieldbook.ui.safety

import app.fieldbook.core.AlarmKind
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.asSharedFlow

/**
 * A lone-worker alarm that fired while the app's process was alive: the
 * platform's receiver posts it here so an open visit screen asks the core
 * again at once. The alarm's meaning is always the core's answer to `hvTick`.
 * The safety lane's news (an office acknowledgement) is posted the same
 * way, so the open visit screen reads the core's view again.
 */
object AlarmBus {
    data class Fired(val visitId: String, val kind: AlarmKind)

    private val flow = MutableSharedFlow<Fired>(extraBufferCapacity = 16)
    val fired: SharedFlow<Fired> = flow.asSharedFlow()
    fun post(f: Fired) = flow.tryEmit(f)

    private val news = MutableSharedFlow<Unit>(extraBufferCapacity = 16)
    /** The safety lane brought something new (read the core's view again). */
    val lane: SharedFlow<Unit> = news.asSharedFlow()
    fun laneNews() = news.tryEmit(Unit)
}
