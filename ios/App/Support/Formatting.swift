import FieldbookCore
import Foundation

/// Turning the core's values into text and typed text back into the core's
/// types. Conversions only: no rule is decided here.
enum Formatting {
    /// "30 s", "2 min".
    static func duration(ms: Int64) -> String {
        let s = (ms + 999) / 1000
        return s < 60 ? L10n.t("duration.seconds", L10n.n(s)) : L10n.t("duration.minutes", L10n.n((s + 59) / 60))
    }

    /// Minutes as "12 h 05 min".
    static func hoursAndMinutes(_ minutes: Int64) -> String {
        L10n.t("duration.hoursMinutes", L10n.n(minutes / 60), String(format: "%02lld", abs(minutes % 60)))
    }

    /// A field name from the core ("penalty_minutes") as words.
    static func fieldName(_ field: String) -> String {
        field.replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: ".", with: ": ")
    }

    /// The core's field messages, one line.
    static func messages(_ list: [FieldMessage]) -> String {
        list.map { "\(fieldName($0.field)): \($0.message)" }.joined(separator: "; ")
    }

    /// A stamp's local clock time at its own offset, "HH:mm".
    static func clockTime(_ stamp: Stamp) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: Int(stamp.offsetMin) * 60)
        formatter.dateFormat = "HH:mm"
        return formatter.string(from: Date(timeIntervalSince1970: Double(stamp.utcMs) / 1000))
    }

    /// A typed "H:mm" on the same local day as `day`, at its offset; nil when it cannot be read.
    static func stamp(on day: Stamp, at text: String) -> Stamp? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else {
            return nil
        }
        var calendar = Calendar(identifier: .gregorian)
        guard let zone = TimeZone(secondsFromGMT: Int(day.offsetMin) * 60) else { return nil }
        calendar.timeZone = zone
        let date = Date(timeIntervalSince1970: Double(day.utcMs) / 1000)
        guard let at = calendar.date(bySettingHour: h, minute: m, second: 0, of: date) else { return nil }
        return Stamp(utcMs: Int64(at.timeIntervalSince1970 * 1000), offsetMin: day.offsetMin)
    }

    /// A moment in UTC milliseconds, in the phone's time zone.
    static func localTime(ms: Int64) -> String {
        Date(timeIntervalSince1970: Double(ms) / 1000).formatted(date: .abbreviated, time: .shortened)
    }

    /// A core warning or staff risk (JSON text from the core) as plain words.
    static func plain(_ json: String) -> String {
        var s = json
        for c in ["{", "}", "\"", "[", "]"] { s = s.replacingOccurrences(of: c, with: "") }
        return s.replacingOccurrences(of: "type:", with: "")
            .replacingOccurrences(of: ":", with: ": ")
            .replacingOccurrences(of: ",", with: ", ")
            .replacingOccurrences(of: "_", with: " ")
            .trimmingCharacters(in: .whitespaces)
    }
}
