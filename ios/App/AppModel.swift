import FieldbookCore
import Foundation
import Observation

/// The app's state above the screens: the home screen, the navigation
/// stack, each entry's model (made once, dropped when popped), the privacy
/// cover, auto-lock and when to sync. The core decides every rule; this
/// only asks it and moves between screens.
@MainActor
@Observable
final class AppModel {
    let core: CoreClient
    private(set) var home: Home = .opening
    var path: [Entry] = [] {
        didSet { dropModels(keeping: path) }
    }
    /// The privacy cover is up (resigned active, or the screen is captured).
    var covered = false
    /// Lock the store after this long in the background.
    let autoLockSeconds: UInt64 = 300

    @ObservationIgnored private var serial = 0
    @ObservationIgnored private var homeEntry = Entry(id: 0, route: .settings)
    @ObservationIgnored private var models: [Int: Screen] = [:]
    @ObservationIgnored private var backgroundSince: UInt64?
    @ObservationIgnored private var syncing = false
    @ObservationIgnored private var syncHandle: SyncHandle?
    /// The active visit screen registers here so a fired alarm makes it ask the core again.
    @ObservationIgnored var onAlarm: [String: @MainActor () -> Void] = [:]

    init(core: CoreClient) {
        self.core = core
    }

    // MARK: navigation

    private func nextEntry(_ route: Route) -> Entry {
        serial += 1
        return Entry(id: serial, route: route)
    }

    func push(_ route: Route) { path.append(nextEntry(route)) }

    func pop() { if !path.isEmpty { path.removeLast() } }

    /// Replaces the top screen (an ended visit becomes its record).
    func replaceTop(with route: Route) {
        if !path.isEmpty { path.removeLast() }
        path.append(nextEntry(route))
    }

    private func setHome(_ h: Home) {
        home = h
        homeEntry = nextEntry(.settings)
        path = []
    }

    /// Asks the core where this device stands and shows that home screen.
    func showHome() async {
        do {
            let state = try await core.run { app -> (Bool, Bool, String?) in
                let exists = app.storeExists()
                let unlocked = app.isUnlocked()
                let role = try unlocked ? app.deviceEnrolment()?.role : nil
                return (exists, unlocked, role)
            }
            switch state {
            case (_, false, _): setHome(.unlock)
            case (_, true, nil): setHome(.enrol)
            case (_, true, "supervisor"): setHome(.supervisor)
            default:
                setHome(.officer)
                // A visit whose safety timer the core still runs (the store locked with the
                // phone mid-visit, or a notification was tapped) opens again at once.
                let running = try? await core.run { app in try app.hvTick().visits.first?.visitId }
                if let running { push(.activeVisit(visitId: running)) }
            }
            if state.1 { Task { await syncIfDue(.appStart) } }
        } catch {
            setHome(.unlock)
        }
    }

    func lockNow() async {
        try? await core.run { app in app.lock() }
        setHome(.unlock)
    }

    // MARK: models, made once per entry

    func homeScreen() -> Screen {
        if let m = models[homeEntry.id] { return m }
        let m: Screen
        switch home {
        case .opening, .unlock: m = .unlock(UnlockModel(core: core, root: self))
        case .enrol: m = .enrol(EnrolModel(core: core, root: self))
        case .supervisor: m = .supervisorToday(SupervisorTodayModel(core: core, root: self))
        case .officer: m = .officerToday(OfficerTodayModel(core: core, root: self))
        }
        models[homeEntry.id] = m
        return m
    }

    func screen(for entry: Entry) -> Screen {
        if let m = models[entry.id] { return m }
        let m: Screen
        switch entry.route {
        case let .rollCall(id): m = .rollCall(RollCallModel(core: core, root: self, sessionId: id))
        case let .outcome(id): m = .outcome(OutcomeModel(core: core, root: self, appointmentId: id))
        case let .ledger(id): m = .ledger(LedgerModel(core: core, appointmentId: id))
        case let .startVisit(id): m = .startVisit(StartVisitModel(core: core, root: self, caseId: id))
        case let .activeVisit(id): m = .activeVisit(ActiveVisitModel(core: core, root: self, visitId: id))
        case let .visitRecord(id): m = .visitRecord(VisitRecordModel(core: core, root: self, visitId: id, amending: false))
        case let .amendVisit(id): m = .visitRecord(VisitRecordModel(core: core, root: self, visitId: id, amending: true))
        case let .person(id): m = .person(PersonModel(core: core, root: self, caseId: id))
        case .sync: m = .sync(SyncModel(core: core))
        case .settings: m = .settings(SettingsModel(core: core, root: self))
        }
        models[entry.id] = m
        return m
    }

    private func dropModels(keeping entries: [Entry]) {
        let live = Set(entries.map(\.id) + [homeEntry.id])
        models = models.filter { live.contains($0.key) }
    }

    // MARK: the app's life: privacy cover, auto-lock, sync

    func resignedActive() { covered = true }

    func enteredBackground() {
        covered = true
        backgroundSince = Self.monotonicSeconds()
    }

    func becameActive(screenCaptured: Bool) async {
        covered = screenCaptured
        let away = backgroundSince.map { Self.monotonicSeconds() - $0 }
        backgroundSince = nil
        if let away, away > autoLockSeconds {
            await lockNow()
        }
        await syncIfDue(.appStart)
    }

    /// The phone is locking: its files become unreadable (complete protection), so the store locks too.
    func deviceLocking() async {
        await lockNow()
    }

    func alarmFired(visitId: String) {
        onAlarm[visitId]?()
    }

    /// Syncs when the core's schedule says so (app start, reconnect, timer, on demand).
    func syncIfDue(_ trigger: SyncTrigger) async {
        guard !syncing else { return }
        syncing = true
        defer { syncing = false }
        do {
            let due = try await core.run { app in app.isUnlocked() && app.shouldSync(trigger: trigger) }
            guard due else { return }
            let handle = try await core.run { app in try app.sync(listener: nil) }
            syncHandle = handle
            defer { syncHandle = nil }
            let summary = try await handle.awaitResult()
            if summary.shredded {
                // The office revoked this phone: the core destroyed its store and key.
                setHome(.unlock)
            }
        } catch {
            // The next trigger tries again; the sync screen shows the reason in words.
        }
    }

    /// Stops a background sync iOS is about to suspend (the core keeps what was not acknowledged).
    func cancelSync() { syncHandle?.cancel() }

    private static func monotonicSeconds() -> UInt64 {
        clock_gettime_nsec_np(CLOCK_MONOTONIC_RAW) / 1_000_000_000
    }
}
