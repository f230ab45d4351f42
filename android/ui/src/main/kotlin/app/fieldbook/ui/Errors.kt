package app.fieldbook.ui

import app.fieldbook.core.FieldbookException

/** Minutes and seconds as a person reads them ("2 min", "30 s"). */
fun humanDuration(ms: Long): String {
    val s = (ms + 999) / 1000
    return if (s < 60) "$s s" else "${(s + 59) / 60} min"
}

/**
 * Every error the core can raise, in words a person understands. The raw
 * exception text is never shown (it is for logs and carries no guidance).
 */
fun describe(e: Throwable, s: Strings): String = when (e) {
    is FieldbookException.Locked -> s[S.ErrLocked]
    is FieldbookException.WrongPin -> s.f(S.ErrWrongPin, e.remainingAttempts.toInt())
    is FieldbookException.LockedOut -> e.retryAfterMs?.let { s.f(S.ErrLockedOutWait, humanDuration(it)) } ?: s[S.ErrLockedOutOffice]
    // The core's label for the field ("Reason for the override"), never the field's name.
    is FieldbookException.InvalidInput -> s.f(S.ErrInvalid, e.label, e.reason)
    is FieldbookException.NotFound -> s[S.ErrNotFound]
    is FieldbookException.Network -> s[S.ErrNetwork]
    is FieldbookException.Auth -> s[S.ErrAuth]
    is FieldbookException.KeyUnavailable -> s.f(S.ErrKeyLost, e.unsentEvents.toLong())
    is FieldbookException.Storage -> s[S.ErrStorage]
    is FieldbookException.Conflict -> s.f(S.ErrConflict, e.reason)
    is FieldbookException.Cancelled -> s[S.ErrCancelled]
    is FieldbookException.SyncRequired -> s[S.ErrSyncRequired]
    is FieldbookException.UserAuthenticationRequired -> s[S.ErrUserAuth]
    else -> s[S.ErrUnexpected]
}
