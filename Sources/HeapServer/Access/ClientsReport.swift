import HeapCore

/// The access part of `INFO clients`: the policy's default role and rule count, clients per role, and
/// one `client_<id>:uid=…,gid=…,pid=…,role=…,age=…` line per client, the first ``listedClients`` by id
/// (`CLIENT LIST` has them all), so a poller of INFO does not pay for ten thousand lines.
struct ClientsReport {
    static let listedClients = 100
    let state: ServerState

    func lines() -> [String] {
        let policy = state.currentAccessPolicy
        let clients = state.clients()
        var perRole: [ClientRole: Int] = [:]
        for client in clients { perRole[client.role, default: 0] += 1 }
        let now = CycleCollector.now()
        var lines = [
            "default_role:\(policy.defaultRole)",
            "access_rules:\(policy.ruleCount)",
            "clients_by_role:"
                + ClientRole.allCases.reversed().map { "\($0)=\(perRole[$0, default: 0])" }.joined(separator: ","),
        ]
        for client in clients.prefix(Self.listedClients) {
            let fields = client.listLine(now: now).split(separator: " ").dropFirst(2)  // id and addr
            lines.append("client_\(client.id):" + fields.joined(separator: ","))
        }
        return lines
    }
}
