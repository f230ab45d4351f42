import FieldbookCore
import Foundation
import UserNotifications

final class DeviceClock: ClockSource {
    func nowUtcMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
    func utcOffsetMinutes() -> Int32 { Int32(TimeZone.current.secondsFromGMT() / 60) }
    func monotonicMs() -> UInt64 { UInt64(ProcessInfo.processInfo.systemUptime * 1000) }
}

/// Schedules the lone-worker times the core gives as local notifications.
final class LocalNotifications: NotificationScheduler {
    func schedule(visitId: String, atMs: Int64, kind: AlarmKind) {
        let content = UNMutableNotificationContent()
        content.title = "Fieldbook"
        switch kind {
        case .reminder: content.body = "Your visit is due to end: extend or check in."
        case .overdue: content.body = "Your visit is overdue: check in now."
        case .escalation: content.body = "Your visit has been escalated to the office."
        }
        let seconds = max(1, Double(atMs) / 1000 - Date().timeIntervalSince1970)
        let trigger = UNTimeIntervalNotificationTrigger(timeInterval: seconds, repeats: false)
        UNUserNotificationCenter.current().add(
            UNNotificationRequest(identifier: "\(visitId)-\(kind)", content: content, trigger: trigger))
    }

    func cancelAll(visitId: String) {
        UNUserNotificationCenter.current().removePendingNotificationRequests(
            withIdentifiers: ["reminder", "overdue", "escalation"].map { "\(visitId)-\($0)" })
    }
}
