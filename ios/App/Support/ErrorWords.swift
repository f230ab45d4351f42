import FieldbookCore
import Foundation

/// Every error the core can raise, in words a person understands. The raw
/// error text is never shown (it guides no one) and never logged.
enum ErrorWords {
    static func describe(_ error: Error) -> String {
        guard let e = error as? FieldbookError else { return L10n.t("error.unexpected") }
        switch e {
        case .Locked: return L10n.t("error.locked")
        case let .WrongPin(remainingAttempts): return L10n.t("error.wrongPin", L10n.n(remainingAttempts))
        case let .LockedOut(retryAfterMs):
            if let ms = retryAfterMs { return L10n.t("error.lockedOutWait", Formatting.duration(ms: ms)) }
            return L10n.t("error.lockedOutOffice")
        case let .InvalidInput(field, label, reason):
            // The core names the field in words; the raw path only when it gives none.
            return L10n.t("error.invalid", label.isEmpty ? Formatting.fieldName(field) : label, reason)
        case .NotFound: return L10n.t("error.notFound")
        case .Network: return L10n.t("error.network")
        case .Auth: return L10n.t("error.auth")
        case let .KeyUnavailable(unsentEvents): return L10n.t("error.keyLost", L10n.n(unsentEvents))
        case .Storage: return L10n.t("error.storage")
        case let .Conflict(reason): return L10n.t("error.conflict", reason)
        case .Cancelled: return L10n.t("error.cancelled")
        case .SyncRequired: return L10n.t("error.syncRequired")
        case .UserAuthenticationRequired: return L10n.t("error.userAuth")
        }
    }
}
