import FieldbookCore
import SwiftUI

@main
struct FieldbookFieldApp: App {
    let core: FieldbookCore.FieldbookApp = {
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return FieldbookCore.FieldbookApp(
            dbPath: dir.appendingPathComponent("fieldbook.db").path,
            keyStore: KeychainKeyStore(),
            clock: DeviceClock(),
            scheduler: LocalNotifications())
    }()

    var body: some Scene {
        WindowGroup { RollCallView(model: RollCallModel(core: core)) }
    }
}
