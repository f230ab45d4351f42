import FieldbookCore
import Foundation
import UserNotifications

/// Lone-worker alarms: the core gives the times (`hvStartVisit`, `hvTick`
/// and every safety call reschedule them through this scheduler) and this
/// turns each into a time-sensitive local notification, which breaks
/// through Focus and is shown on the lock screen.
///
/// No notification carries a name, an address, a purpose or a note: the
/// text depends on the alarm's kind alone, and the identifier holds only
/// the visit's random id and the kind. iOS keeps pending notifications
/// across the app being killed and the phone restarting, so nothing has
/// to be re-armed. Tapping one opens the app at the PIN screen.
final class LoneWorkerNotifications: NSObject, NotificationScheduler, UNUserNotificationCenterDelegate, @unchecked Sendable {
    // @unchecked: `onAlarm` is set once at start-up, before any notification can arrive.
    private let center = UNUserNotificationCenter.current()
    private let kinds: [AlarmKind] = [.reminder, .overdue, .escalation]
    /// Called on the main actor when an alarm fires while the app is open: the active visit asks the core again.
    var onAlarm: (@MainActor @Sendable (String) -> Void)?

    override init() {
        super.init()
        center.delegate = self
    }

    /// Asked when a visit first starts (not at launch): the officer sees why.
    func requestPermission() async {
        let settings = await center.notificationSettings()
        guard settings.authorizationStatus == .notDetermined else { return }
        _ = try? await center.requestAuthorization(options: [.alert, .sound, .badge])
    }

    private func identifier(_ visitId: String, _ kind: AlarmKind) -> String {
        "safety.\(visitId).\(Self.name(kind))"
    }

    private static func name(_ kind: AlarmKind) -> String {
        switch kind {
        case .reminder: "reminder"
        case .overdue: "overdue"
        case .escalation: "escalation"
        }
    }

    func schedule(visitId: String, atMs: Int64, kind: AlarmKind) {
        let content = UNMutableNotificationContent()
        content.title = L10n.t("notification.title")
        switch kind {
        case .reminder: content.body = L10n.t("notification.reminder")
        case .overdue: content.body = L10n.t("notification.overdue")
        case .escalation: content.body = L10n.t("notification.escalation")
        }
        content.sound = .default
        content.interruptionLevel = .timeSensitive
        content.userInfo = ["visitId": visitId]
        let seconds = max(1, Double(atMs) / 1000 - Date().timeIntervalSince1970)
        let trigger = UNTimeIntervalNotificationTrigger(timeInterval: seconds, repeats: false)
        center.add(UNNotificationRequest(identifier: identifier(visitId, kind), content: content, trigger: trigger))
    }

    func cancelAll(visitId: String) {
        let ids = kinds.map { identifier(visitId, $0) }
        center.removePendingNotificationRequests(withIdentifiers: ids)
        center.removeDeliveredNotifications(withIdentifiers: ids)
    }

    // Shown while the app is open too, and the visit screen asks the core at once.
    func userNotificationCenter(
        _ center: UNUserNotificationCenter, willPresent notification: UNNotification
    ) async -> UNNotificationPresentationOptions {
        if let visitId = notification.request.content.userInfo["visitId"] as? String, let onAlarm {
            await onAlarm(visitId)
        }
        return [.banner, .list, .sound]
    }
}
