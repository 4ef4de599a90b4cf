import HeapCore
import HeapdTesting
import XCTest

/// The order an instance drops its attributes in: CPython's shared keys (``SharedKeys``), checked
/// against the python3 on `$PATH` (3.11, 3.12 and 3.13 agree), which runs the same script. Each
/// attribute value is a probe: an object the collector does not track, with a weak reference whose
/// callback reports its name (heapd: a str; Python: an `array.array`). So the callbacks give the order
/// of the drops themselves, by count and by the collector's clearing alike (a tracked value with a
/// finalizer would be finalized before any clearing, in the collector's list order); and
/// `gc.get_referents` gives the traversal order.
final class SharedKeysTests: HeapTestCase {
    /// One step of a script run by both sides.
    enum Step {
        /// `variable = Class()`
        case make(String, of: String)
        /// `count` instances of the class made and dropped (each takes an entry of the class's keys).
        case makeMany(Int, of: String)
        /// `variable.attribute = probe(name)`
        case set(String, String, probe: String)
        /// `variable.attribute = variable` (a cycle).
        case setSelf(String, String)
        case delete(String, String)
        /// `del variable`
        case drop(String)
        /// Prints the names of the probes `gc.get_referents(variable)` lists, in order.
        case referents(String)
        case collect
    }

    func testReleaseOrderFollowsTheClassesSharedKeysAsCPythonDoes() throws {
        let script: [Step] = [
            // A second instance sets the names in another order: dying by count, it drops them in the
            // first one's order; its referents are listed in that order too.
            .make("x", of: "A"), .set("x", "a", probe: "xa"), .set("x", "b", probe: "xb"),
            .make("y", of: "A"), .set("y", "b", probe: "yb"), .set("y", "a", probe: "ya"),
            .set("y", "c", probe: "yc"), .referents("y"), .drop("x"), .drop("y"),
            // A deleted attribute set again goes back to its place.
            .make("z", of: "B"), .set("z", "a", probe: "a1"), .set("z", "b", probe: "b1"),
            .set("z", "c", probe: "c1"), .delete("z", "a"), .set("z", "a", probe: "a2"), .referents("z"),
            .drop("z"),
            // The keys full: a later instance's new name gives it a dict of its own, in set order; an
            // instance using only known names still goes by the keys.
            .make("s", of: "G"), .set("s", "a", probe: "sa"), .set("s", "b", probe: "sb"),
            .makeMany(40, of: "G"),
            .make("u", of: "G"), .set("u", "b", probe: "ub"), .set("u", "a", probe: "ua"),
            .set("u", "z", probe: "uz"), .set("u", "c", probe: "uc"), .drop("u"),
            .make("v", of: "G"), .set("v", "b", probe: "vb"), .set("v", "a", probe: "va"), .drop("v"),
            .drop("s"),
            // Cleared as cyclic garbage, an instance drops its values in the order it set them.
            .make("t", of: "H"), .set("t", "a", probe: "ta"), .set("t", "b", probe: "tb"),
            .set("t", "c", probe: "tc"), .setSelf("t", "me"), .drop("t"), .collect,
            .make("w", of: "H"), .set("w", "c", probe: "wc"), .set("w", "a", probe: "wa"),
            .set("w", "b", probe: "wb"), .setSelf("w", "me"), .referents("w"), .drop("w"), .collect,
        ]
        let expected = try PythonOracle.runProgram(Self.python(script))
        XCTAssertEqual(try run(script), expected)
    }

    /// Runs `script` on the heap; returns the probes' callbacks and the referent listings, one per line.
    private func run(_ script: [Step]) throws -> [String] {
        let cleared = WeakrefIDs()
        heap.setEventSink { event in
            if case .weakrefCleared(let weakref, _) = event { cleared.append(weakref) }
        }
        var lines: [String] = []
        var variables: [String: ObjectRef] = [:]
        var probes: [ObjectID: String] = [:]
        var weakrefs: [ObjectRef] = []
        var reported = 0
        func flush() {
            let all = cleared.all
            lines += all[reported...].map { probes[$0] ?? "?" }
            reported = all.count
        }
        for step in script {
            switch step {
            case .make(let name, let className):
                variables[name] = try heap.makeInstance(className: className)
            case .makeMany(let count, let className):
                for _ in 0..<count { heap.release(try heap.makeInstance(className: className)) }
            case .set(let name, let attribute, let probe):
                let object = try heap.makeStr(probe)
                let weakref = try heap.makeWeakref(to: object)
                probes[heap.id(of: weakref)] = probe
                weakrefs.append(weakref)
                try heap.setAttribute(variables[name]!, attribute, object)
                heap.release(object)
            case .setSelf(let name, let attribute):
                try heap.setAttribute(variables[name]!, attribute, variables[name]!)
            case .delete(let name, let attribute):
                try heap.deleteAttribute(variables[name]!, attribute)
            case .drop(let name):
                heap.release(variables.removeValue(forKey: name)!)
            case .referents(let name):
                let referents = heap.referents(of: variables[name]!)
                let names = referents.filter { heap.kind(of: $0) == .str }.map {
                    heap.repr($0).trimmingCharacters(in: ["'"])
                }
                .filter { probes.values.contains($0) }
                referents.forEach { heap.release($0) }
                flush()
                lines.append("referents " + names.joined(separator: " "))
            case .collect:
                _ = try heap.collector.collect(generation: 2)
            }
            flush()
        }
        heap.setEventSink(nil)
        weakrefs.forEach { heap.release($0) }
        return lines
    }

    /// The same script as a Python program printing the same lines.
    private static func python(_ script: [Step]) -> String {
        var lines = [
            "import array, gc, weakref", "gc.disable()", "events, weak, names = [], [], {}",
            "def probe(n):", "    a = array.array('b')",
            "    weak.append(weakref.ref(a, lambda r, n=n: events.append(n)))", "    names[id(a)] = n",
            "    return a",
            "def flush():", "    for n in events: print(n)", "    events.clear()",
        ]
        var classes: Set<String> = []
        for step in script {
            switch step {
            case .make(let name, let className):
                if classes.insert(className).inserted { lines.append("\(className) = type('\(className)', (), {})") }
                lines.append("\(name) = \(className)()")
            case .makeMany(let count, let className):
                lines.append("for _ in range(\(count)): \(className)()")
            case .set(let name, let attribute, let probe):
                lines.append("\(name).\(attribute) = probe('\(probe)')")
            case .setSelf(let name, let attribute):
                lines.append("\(name).\(attribute) = \(name)")
            case .delete(let name, let attribute):
                lines.append("del \(name).\(attribute)")
            case .drop(let name):
                lines.append("del \(name)")
            case .referents(let name):
                lines.append("flush()")
                lines.append(
                    "print(' '.join(['referents'] + [names[id(r)] for r in gc.get_referents(\(name))"
                        + " if type(r) is array.array]))")
            case .collect:
                lines.append("gc.collect()")
            }
            lines.append("flush()")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
