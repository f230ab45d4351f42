import BackgroundTasks
import FieldbookCore
import Foundation

/// Sync in the background with BGAppRefreshTask. The identifier is listed
/// in project.yml (BGTaskSchedulerPermittedIdentifiers). The run asks the
/// core's schedule (`shouldSync(.timer)`); a locked store has nothing it
/// may send (and under complete file protection a locked phone's files
/// cannot be read), so such a run ends at once and the next unlock syncs.
enum BackgroundSync {
    static let identifier = "app.fieldbook.ios.sync"
    /// The core's timer interval; iOS decides the actual time.
    static let interval: TimeInterval = 15 * 60

    @MainActor
    static func register(model: AppModel) {
        _ = BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            guard let task = task as? BGAppRefreshTask else {
                task.setTaskCompleted(success: false)
                return
            }
            // The task object is handed to this closure alone and completed once.
            nonisolated(unsafe) let refresh = task
            let work = Task { @MainActor in
                await model.syncIfDue(.timer)
                refresh.setTaskCompleted(success: true)
            }
            refresh.expirationHandler = {
                work.cancel()
                Task { @MainActor in model.cancelSync() }
            }
            schedule()
        }
    }

    /// Asks iOS for the next run (called on entering the background and after each run).
    static func schedule() {
        let request = BGAppRefreshTaskRequest(identifier: identifier)
        request.earliestBeginDate = Date(timeIntervalSinceNow: interval)
        try? BGTaskScheduler.shared.submit(request)
    }
}
