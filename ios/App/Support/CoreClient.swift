import FieldbookCore
import Foundation

/// The one `FieldbookApp` for the process, and the way every screen model
/// calls it: store calls are short synchronous SQLite work, so they run on
/// a background executor, never on the main actor; network work (enrol,
/// sync) is async in the core itself.
struct CoreClient: Sendable {
    let app: FieldbookApp
    /// Prompts for the device's credential when the platform key needs it.
    let keyStore: KeychainKeyStore
    let notifications: LoneWorkerNotifications

    /// Runs `work` off the main actor.
    func run<T: Sendable>(_ work: @escaping @Sendable (FieldbookApp) throws -> T) async throws -> T {
        let app = self.app
        return try await Task.detached(priority: .userInitiated) { try work(app) }.value
    }

    /// Runs `work`; when the core answers `UserAuthenticationRequired` (the
    /// Keychain item needs the device's user), prompts once and runs it
    /// again. A cancelled prompt leaves the core's answer to the caller.
    func runAuthenticating<T: Sendable>(reason: String, _ work: @escaping @Sendable (FieldbookApp) throws -> T) async throws -> T {
        do {
            return try await run(work)
        } catch FieldbookError.UserAuthenticationRequired {
            guard await keyStore.authenticate(reason: reason) else { throw FieldbookError.UserAuthenticationRequired }
            return try await run(work)
        }
    }
}
