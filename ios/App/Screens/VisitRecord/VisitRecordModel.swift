import FieldbookCore
import Foundation
import Observation

/// The visit record: a draft kept in the core's sealed storage across
/// sittings (`hvSaveDraft` answers what finalising would refuse), finalise
/// into the signed record, and afterwards only an amendment with a reason
/// (`hvAmend`) and follow-ups marked done (`hvCompleteFollowUp`). The
/// outcome codes, which need an enforcement follow-up, the validation and
/// the draft's expiry are the core's.
@MainActor
@Observable
final class VisitRecordModel {
    private let core: CoreClient
    private unowned let root: AppModel
    let visitId: String
    /// Opened to amend a finalised record (from the person's history).
    let amending: Bool

    private(set) var visit: ActiveVisit?
    private(set) var outcomes: [VisitOutcomeOption] = []
    var form: VisitForm?
    var followUpAction = ""
    var followUpDue = ""
    var amendReason = ""
    private(set) var validation: [FieldMessage] = []
    private(set) var saved = false
    private(set) var finalised = false
    private(set) var amended = false
    private(set) var message: String?

    init(core: CoreClient, root: AppModel, visitId: String, amending: Bool) {
        self.core = core
        self.root = root
        self.visitId = visitId
        self.amending = amending
    }

    /// The record is final: it changes only by amendment.
    var isFinal: Bool { visit?.status == "final" }

    func load() async {
        guard form == nil else { return }
        await reload()
    }

    private func reload() async {
        let id = visitId
        do {
            let (v, options) = try await core.run { app in (try app.hvActiveVisit(visitId: id), app.hvOutcomeOptions()) }
            visit = v
            outcomes = options
            form = v.form
            validation = v.validation
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func edit(_ change: (inout VisitForm) -> Void) {
        guard var f = form else { return }
        change(&f)
        form = f
        saved = false
    }

    /// Whether the core marks the chosen outcome as needing an enforcement follow-up.
    var needsEnforcement: Bool {
        outcomes.contains { $0.code == form?.outcome && $0.needsEnforcement }
    }

    /// The form with a follow-up typed on this screen added to the core's list.
    private func current() -> VisitForm? {
        guard var f = form else { return nil }
        let action = followUpAction.trimmingCharacters(in: .whitespaces)
        if !action.isEmpty {
            f.followUps.append(FollowUp(action: action, due: followUpDue.trimmingCharacters(in: .whitespaces), done: false))
        }
        return f
    }

    func saveDraft() async {
        guard let f = current() else { return }
        let id = visitId
        do {
            validation = try await core.run { app in try app.hvSaveDraft(visitId: id, form: f) }
            form = f
            followUpAction = ""
            followUpDue = ""
            saved = true
            message = nil
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func finalise() async {
        guard let f = current() else { return }
        let id = visitId
        do {
            let problems = try await core.run { app in try app.hvSaveDraft(visitId: id, form: f) }
            form = f
            followUpAction = ""
            followUpDue = ""
            validation = problems
            saved = true
            if problems.isEmpty {
                _ = try await core.run { app in try app.hvFinalise(visitId: id) }
                finalised = true
            }
            message = nil
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func amend() async {
        guard let f = current() else { return }
        let id = visitId
        let reason = amendReason
        do {
            _ = try await core.run { app in try app.hvAmend(visitId: id, form: f, reason: reason) }
            amended = true
            message = nil
            await reload()
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func completeFollowUp(at index: Int) async {
        let id = visitId
        do {
            try await core.run { app in try app.hvCompleteFollowUp(visitId: id, index: UInt32(index)) }
            await reload()
        } catch {
            message = ErrorWords.describe(error)
        }
    }

    func done() async {
        if amending { root.pop() } else { await root.showHome() }
    }
}
