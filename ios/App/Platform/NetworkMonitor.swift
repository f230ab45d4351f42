import FieldbookCore
import Foundation
import Network

/// Whether the phone is online, for the core's sync schedule (`Connectivity`),
/// and a reconnect signal: the app asks the core whether to sync
/// (`SyncTrigger.reconnected`) each time a usable path comes back.
final class NetworkMonitor: Connectivity, @unchecked Sendable {
    // @unchecked: `online` and `onReconnect` are guarded by `lock`.
    private let monitor = NWPathMonitor()
    private let queue = DispatchQueue(label: "app.fieldbook.ios.network")
    private let lock = NSLock()
    private var online = false
    private var onReconnect: (@Sendable () -> Void)?

    init() {
        monitor.pathUpdateHandler = { [weak self] path in self?.update(path.status == .satisfied) }
        monitor.start(queue: queue)
    }

    func whenReconnected(_ action: @escaping @Sendable () -> Void) {
        lock.lock()
        onReconnect = action
        lock.unlock()
    }

    private func update(_ now: Bool) {
        lock.lock()
        let was = online
        online = now
        let action = onReconnect
        lock.unlock()
        if now && !was { action?() }
    }

    func isOnline() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return online
    }
}
