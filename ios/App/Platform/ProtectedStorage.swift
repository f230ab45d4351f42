import Foundation

/// Where the encrypted store lives: Application Support/Fieldbook, with
/// complete file protection (unreadable while the phone is locked; the
/// entitlement makes it the default for every file the app writes) and
/// excluded from iCloud and computer backups, so the records never leave
/// the phone except through signed sync. Files SQLite creates later (the
/// database, -wal, -shm) inherit the folder's protection class.
enum ProtectedStorage {
    static func storeURL() throws -> URL {
        let base = try FileManager.default.url(
            for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        var dir = base.appendingPathComponent("Fieldbook", isDirectory: true)
        try FileManager.default.createDirectory(
            at: dir, withIntermediateDirectories: true,
            attributes: [.protectionKey: FileProtectionType.complete])
        try FileManager.default.setAttributes([.protectionKey: FileProtectionType.complete], ofItemAtPath: dir.path)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try dir.setResourceValues(values)
        return dir.appendingPathComponent("fieldbook.db")
    }
}
