import Foundation
import HeapCore

extension InfoReport {
    /// `INFO limits`: every limit in force, by its flag and configuration key with `-` as `_`, and what
    /// the limits did since start.
    func limits() -> [String] {
        let counters = state.counters
        var lines = ["# Limits"]
        for setting in LimitSetting.allCases {
            lines.append(
                "\(setting.rawValue.replacingOccurrences(of: "-", with: "_")):\(setting.value(in: state.configuration))"
            )
        }
        lines += [
            "max_scope_depth:\(state.configuration.maxScopeDepth)",
            "fd_reserve:\(DescriptorBudget.reserve)",
            "partial_request_bytes:\(state.partialRequestBytes)",
            "replies_refused:\(counters.repliesRefused.load(ordering: .relaxed))",
            "output_limit_disconnections:\(counters.outputLimitDisconnections.load(ordering: .relaxed))",
            "partial_request_evictions:\(counters.partialRequestEvictions.load(ordering: .relaxed))",
            "commands_timed_out:\(counters.commandsTimedOut.load(ordering: .relaxed))",
            "commands_cancelled:\(counters.commandsCancelled.load(ordering: .relaxed))",
            "safepoint_yields:\(counters.safepointYields.load(ordering: .relaxed))",
            "accept_errors:\(counters.acceptErrors.load(ordering: .relaxed))",
        ]
        return lines
    }
}
