import FieldbookCore
import Foundation
import Observation

/// Sync status (waiting, never sent, last sync), "sync now" with progress
/// and cancel, and the review of what the office refused (reason, resend
/// as a correction with what was corrected).
@MainActor
@Observable
final class SyncModel {
    private let core: CoreClient
    private(set) var outbox: OutboxSummary?
    private(set) var quarantine: [QuarantinedEvent] = []
    private(set) var running = false
    private(set) var progress: SyncProgress?
    private(set) var result: String?
    var resubmitReasons: [String: String] = [:]
    private(set) var message: String?
    @ObservationIgnored private var handle: SyncHandle?

    init(core: CoreClient) {
        self.core = core
    }

    func load() async {
        do {
            let (o, q) = try await core.run { app in (try app.outboxSummary(), try app.quarantine()) }
            outbox = o
            quarantine = q
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func syncNow() async {
        guard !running else { return }
        do {
            guard try await core.run({ app in app.shouldSync(trigger: .onDemand) }) else { return }
            running = true
            result = nil
            message = nil
            progress = nil
            let listener = ProgressListener { [weak self] p in
                Task { @MainActor in self?.progress = p }
            }
            let h = try await core.run { app in try app.sync(listener: listener) }
            handle = h
            defer { handle = nil }
            let summary = try await h.awaitResult()
            result = L10n.t("sync.result", L10n.n(summary.accepted), L10n.n(summary.quarantined), L10n.n(summary.pulled))
        } catch FieldbookError.Cancelled {
            result = L10n.t("sync.cancelled")
        } catch {
            message = ErrorWords.describe(error)
        }
        running = false
        await load()
    }

    func cancel() { handle?.cancel() }

    func resubmit(_ event: QuarantinedEvent) async {
        let id = event.eventId
        let reason = resubmitReasons[id] ?? ""
        do {
            _ = try await core.run { app in try app.resubmitQuarantined(eventId: id, reason: reason) }
            result = L10n.t("sync.resubmitted")
            message = nil
            await load()
        } catch {
            message = ErrorWords.describe(error)
        }
    }
}

/// Receives the core's progress on its own thread and hands it to the screen.
final class ProgressListener: SyncListener, Sendable {
    private let deliver: @Sendable (SyncProgress) -> Void

    init(_ onProgress: @escaping @Sendable (SyncProgress) -> Void) {
        deliver = onProgress
    }

    func onProgress(progress: SyncProgress) { deliver(progress) }
}
