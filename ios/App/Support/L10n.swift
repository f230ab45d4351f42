import Foundation

/// Every piece of text the screens show, by key, from Localizable.xcstrings
/// (English, the source, and Welsh, marked for review by a Welsh
/// translator). Arguments fill `%@` / `%1$@` placeholders in order; numbers
/// are passed already formatted. tests/ios/check_swift.py checks that every
/// key used here exists in both languages with the same placeholders as
/// arguments given. The language follows the phone's settings for the app
/// (Settings › Fieldbook › Language).
enum L10n {
    static func t(_ key: String, _ args: String...) -> String {
        let format = Bundle.main.localizedString(forKey: key, value: nil, table: "Localizable")
        guard !args.isEmpty else { return format }
        return String(format: format, locale: Locale.current, arguments: args)
    }

    /// A number as the reader's locale writes it.
    static func n<N: BinaryInteger>(_ value: N) -> String {
        Int64(value).formatted()
    }
}
