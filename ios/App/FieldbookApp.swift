import FieldbookCore
import SwiftUI
import UIKit

/// The app entry point: the one core with its platform services, the root
/// view, and the app's life (privacy cover, auto-lock, sync on foreground,
/// on reconnect and in the background).
@main
struct FieldbookIOSApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var delegate
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            RootView(root: delegate.appModel)
                .privacyCover(delegate.appModel.covered)
                .onReceive(NotificationCenter.default.publisher(for: UIApplication.protectedDataWillBecomeUnavailableNotification)) { _ in
                    Task { await delegate.appModel.deviceLocking() }
                }
                .onReceive(NotificationCenter.default.publisher(for: UIScreen.capturedDidChangeNotification)) { note in
                    delegate.appModel.covered = (note.object as? UIScreen)?.isCaptured ?? false
                }
                .onChange(of: delegate.appModel.covered) { _, covered in PrivacyWindow.shared.show(covered) }
        }
        .onChange(of: scenePhase) { _, phase in
            let model = delegate.appModel
            switch phase {
            case .inactive: model.resignedActive()
            case .background:
                model.enteredBackground()
                BackgroundSync.schedule()
            case .active:
                let captured = UIApplication.shared.connectedScenes
                    .compactMap { ($0 as? UIWindowScene)?.screen.isCaptured }
                    .contains(true)
                Task { await model.becameActive(screenCaptured: captured) }
            @unknown default: model.resignedActive()
            }
        }
    }
}

/// Builds the core and its platform services once, and registers the
/// background sync task before launch finishes (as BGTaskScheduler requires).
@MainActor
final class AppDelegate: NSObject, UIApplicationDelegate {
    let appModel: AppModel
    private let network = NetworkMonitor()

    override init() {
        let keyStore = KeychainKeyStore()
        let notifications = LoneWorkerNotifications()
        setLogSink(sink: CoreLogSink())
        let store: URL
        do {
            store = try ProtectedStorage.storeURL()
        } catch {
            // Without its protected folder the app must not write records anywhere else.
            fatalError("Fieldbook cannot prepare its protected storage")
        }
        let app = FieldbookApp(
            dbPath: store.path,
            keyStore: keyStore,
            clock: DeviceClock(),
            scheduler: notifications)
        app.setConnectivity(connectivity: network)
        appModel = AppModel(core: CoreClient(app: app, keyStore: keyStore, notifications: notifications))
        super.init()
        let model = appModel
        notifications.onAlarm = { visitId in model.alarmFired(visitId: visitId) }
        network.whenReconnected {
            Task { @MainActor in await model.syncIfDue(.reconnected) }
        }
    }

    func application(
        _ application: UIApplication, didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil
    ) -> Bool {
        BackgroundSync.register(model: appModel)
        return true
    }
}

/// The stack: the home screen the device's state decides, then each pushed entry.
struct RootView: View {
    @Bindable var root: AppModel

    var body: some View {
        NavigationStack(path: $root.path) {
            ScreenView(screen: root.homeScreen())
                .navigationDestination(for: Entry.self) { entry in
                    ScreenView(screen: root.screen(for: entry))
                }
        }
        .task { await root.showHome() }
    }
}

/// One screen's view over its model.
struct ScreenView: View {
    let screen: Screen

    var body: some View {
        switch screen {
        case let .unlock(m): UnlockScreen(model: m)
        case let .enrol(m): EnrolScreen(model: m)
        case let .supervisorToday(m): SupervisorTodayScreen(model: m)
        case let .officerToday(m): OfficerTodayScreen(model: m)
        case let .rollCall(m): RollCallScreen(model: m)
        case let .outcome(m): OutcomeScreen(model: m)
        case let .ledger(m): LedgerScreen(model: m)
        case let .startVisit(m): StartVisitScreen(model: m)
        case let .activeVisit(m): ActiveVisitScreen(model: m)
        case let .visitRecord(m): VisitRecordScreen(model: m)
        case let .person(m): PersonScreen(model: m)
        case let .sync(m): SyncScreen(model: m)
        case let .settings(m): SettingsScreen(model: m)
        }
    }
}
