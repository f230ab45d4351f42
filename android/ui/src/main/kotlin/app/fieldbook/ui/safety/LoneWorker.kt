package app.fieldbook.ui.safety

import app.fieldbook.core.AlarmKind
import app.fieldbook.core.FieldbookApp
import app.fieldbook.core.FieldbookException
import app.fieldbook.core.NotificationScheduler
import app.fieldbook.core.SafetyStatus
import java.io.File

/** One armed alarm: the visit's record id (random hex, no personal data), when, and what kind. */
data class ArmedAlarm(val visitId: String, val atMs: Long, val kind: AlarmKind)

/**
 * The lone-worker schedule kept outside the process, so alarms survive
 * process death and reboots. One line per alarm, `visitId atMs KIND`; no
 * names, addresses or notes. Written whole to a temporary file and renamed,
 * so a crash leaves the old file or the new one.
 */
class AlarmScheduleFile(private val file: File) {
    @Synchronized
    fun entries(): List<ArmedAlarm> {
        if (!file.exists()) return emptyList()
        return file.readLines().mapNotNull { line ->
            val p = line.trim().split(' ')
            if (p.size != 3) return@mapNotNull null
            val at = p[1].toLongOrNull() ?: return@mapNotNull null
            val kind = runCatching { AlarmKind.valueOf(p[2]) }.getOrNull() ?: return@mapNotNull null
            if (!p[0].matches(Regex("[0-9a-f]{32}"))) return@mapNotNull null
            ArmedAlarm(p[0], at, kind)
        }
    }

    @Synchronized
    fun put(a: ArmedAlarm) = write(entries().filterNot { it.visitId == a.visitId && it.kind == a.kind } + a)

    @Synchronized
    fun remove(visitId: String, kind: AlarmKind) = write(entries().filterNot { it.visitId == visitId && it.kind == kind })

    @Synchronized
    fun cancelAll(visitId: String) = write(entries().filterNot { it.visitId == visitId })

    private fun write(all: List<ArmedAlarm>) {
        file.parentFile?.mkdirs()
        val tmp = File(file.path + ".tmp")
        tmp.writeText(all.sortedBy { it.atMs }.joinToString("") { "${it.visitId} ${it.atMs} ${it.kind.name}\n" })
        if (!tmp.renameTo(file)) {
            file.delete()
            tmp.renameTo(file)
        }
    }
}

/** The platform's exact-alarm service (AlarmManager on Android). */
interface AlarmArm {
    fun arm(alarm: ArmedAlarm)
    fun disarm(visitId: String, kind: AlarmKind)
}

/**
 * The scheduler the core calls: each alarm goes to the schedule file first
 * and then to the platform, so a process death or reboot loses nothing.
 */
class PersistentScheduler(private val schedule: AlarmScheduleFile, private val arm: AlarmArm) : NotificationScheduler {
    override fun schedule(visitId: String, atMs: Long, kind: AlarmKind) {
        val a = ArmedAlarm(visitId, atMs, kind)
        schedule.put(a)
        arm.arm(a)
    }

    override fun cancelAll(visitId: String) {
        schedule.cancelAll(visitId)
        AlarmKind.entries.forEach { arm.disarm(visitId, it) }
    }
}

/** What the person is shown: never a name, an address or a note; opens the PIN screen. */
data class SafetyNotice(val visitId: String, val kind: Kind, val loud: Boolean) {
    enum class Kind {
        /** The store is locked (the process was killed): the alarm's kind as the core scheduled it. */
        ReminderLocked, OverdueLocked, EscalationLocked,
        /** The core's current answer for the visit. */
        EndsSoon, Overdue, Escalated,
    }
}

/** Posts notices (the notification manager on Android). */
interface SafetyNotifier {
    fun show(notice: SafetyNotice)
}

/**
 * What the alarm receiver does. With the store unlocked it asks the core
 * (`hvTick`) what every running timer means now and shows that; with the
 * store locked, which is the normal case after Android killed the process,
 * it cannot ask, so it shows the kind the core gave when it scheduled the
 * alarm, telling the officer to unlock, rather than failing silently.
 */
class LoneWorkerAlarmHandler(
    private val app: FieldbookApp,
    private val schedule: AlarmScheduleFile,
    private val notifier: SafetyNotifier,
) {
    fun onAlarm(fired: ArmedAlarm): List<SafetyNotice> {
        schedule.remove(fired.visitId, fired.kind)
        val notices = try {
            val tick = app.hvTick()
            AlarmBus.post(AlarmBus.Fired(fired.visitId, fired.kind))
            tick.visits.mapNotNull { v ->
                if (v.silent) return@mapNotNull null
                val kind = when (v.status) {
                    SafetyStatus.OVERDUE -> SafetyNotice.Kind.Overdue
                    SafetyStatus.ESCALATED -> SafetyNotice.Kind.Escalated
                    SafetyStatus.ACTIVE -> if (v.visitId == fired.visitId && fired.kind == AlarmKind.REMINDER) SafetyNotice.Kind.EndsSoon else null
                    else -> null
                } ?: return@mapNotNull null
                SafetyNotice(v.visitId, kind, loud = true)
            }
        } catch (e: FieldbookException) {
            // Locked, locked out, or the key is gone: the kind the core scheduled.
            val kind = when (fired.kind) {
                AlarmKind.REMINDER -> SafetyNotice.Kind.ReminderLocked
                AlarmKind.OVERDUE -> SafetyNotice.Kind.OverdueLocked
                AlarmKind.ESCALATION -> SafetyNotice.Kind.EscalationLocked
            }
            listOf(SafetyNotice(fired.visitId, kind, loud = true))
        }
        notices.forEach(notifier::show)
        return notices
    }
}

/** After a reboot (or an app update) every alarm in the file is armed again; ones already past fire at once. */
fun rearmAll(schedule: AlarmScheduleFile, nowMs: Long, arm: AlarmArm): List<ArmedAlarm> =
    schedule.entries().map { a -> (if (a.atMs < nowMs) a.copy(atMs = nowMs) else a).also(arm::arm) }
