import Jobs

extension AuditLog {
    /// Records a console visitor's action under their role.
    func record(who: String, role: VisitorRole, action: String, target: String, count: Int) async throws {
        try await record(who: who, role: role.rawValue, action: action, target: target, count: count)
    }
}
