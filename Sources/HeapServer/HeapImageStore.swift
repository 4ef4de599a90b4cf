import Foundation
import HeapCore
import HeapProtocol
import Synchronization

/// Heap images on the server's side: `SAVE` and `BGSAVE` write them into the snapshot directory,
/// `heapd --image` loads one at start, and `LASTSAVE` and `INFO persistence` report on both.
///
/// A save has two halves: the capture, which reads the heap into memory, and the write, with the world
/// running, which streams the image into a temporary file, syncs it, renames it over the name and
/// syncs the directory (``SnapshotDirectory/write(named:in:_:)``). `SAVE` captures with the world
/// stopped (``StoppedHeap/captureImage(globals:dropping:order:)``), writes on the blocking pool and
/// replies when the file is in place; `BGSAVE` stops the world only to start and to end a
/// copy-on-write capture (``BackgroundCapture``), replies at once, and copies and writes on a thread
/// of its own. One save at a time: a second is refused with `-STATE` while one is running.
final class HeapImageStore: Sendable {
    /// The file `SAVE` and `BGSAVE` write when no name is given (Redis's is `dump.rdb`).
    static let defaultName = "heap.image"

    struct Status {
        var saving = false
        var lastSaveTime = 0
        var lastSaveOK = true
        var lastError = ""
        var lastSaveDurationMicroseconds = 0
        var lastSavePauseMicroseconds = 0
        var lastSaveBytes = 0
        var lastSaveObjects = 0
        var lastSavePath = ""
        var savesTotal = 0
        var savesFailed = 0
        var loadedPath = ""
        var loadedObjects = 0
        var loadedBytes = 0
        var loadDurationMicroseconds = 0
    }

    /// Broadcast when a save finishes (shutdown waits for a `BGSAVE` to land).
    let status = MonotonicCondition(Status())

    // MARK: Saving

    /// `SAVE`: captures and writes; the reply says how it went.
    func save(name: String, state: ServerState) -> Reply {
        guard begin() else { return Self.busy }
        let started = CycleCollector.now()
        let (image, pause) = capture(state)
        let directory = state.configuration.snapshotDirectory
        return finish(
            write(image, name: name, directory: directory), started: started, pause: pause,
            objects: image.objectCount)
    }

    /// `BGSAVE`: starts a capture in a short stop, then copies the heap, writes the file on a thread of
    /// its own and replies at once (``BackgroundCapture``: the mutators run while it copies).
    func backgroundSave(name: String, state: ServerState) -> Reply {
        guard begin() else { return Self.busy }
        let started = CycleCollector.now()
        let heap = state.heap
        let capture = heap.beginBackgroundCapture { _ in
            (state.globals.snapshot(), state.sessionReferences())
        }
        let firstPause = Int((CycleCollector.now() - started) / 1000)
        guard let capture else {
            // Only this store starts captures, one save at a time (`begin`): not a failed save.
            status.withLockAndBroadcast { $0.saving = false }
            return Self.busy
        }
        // The thread holds the capture (and through it the heap until the copy is done), the directory
        // and this store, never the server state: a server stopped meanwhile is freed, and the file
        // still lands.
        let directory = state.configuration.snapshotDirectory
        Thread.detachNewThread { [self] in
            let image = capture.finish()
            let pause = max(firstPause, Int(capture.endPauseNanoseconds / 1000))
            _ = finish(
                write(image, name: name, directory: directory), started: started, pause: pause,
                objects: image.objectCount)
        }
        return .simple("Background saving started")
    }

    /// Waits for a background save to finish (at shutdown: a half-written temporary file would be
    /// harmless, but a save that was asked for should land).
    func waitForBackgroundSave() {
        status.wait(until: monotonicNanoseconds() + 30_000_000_000, for: { !$0.saving }, then: { _ in })
    }

    private static let busy = Reply.error(.state, "a save is already in progress (INFO persistence: saving:1)")

    private func begin() -> Bool {
        status.withLock { status in
            guard !status.saving else { return false }
            status.saving = true
            return true
        }
    }

    /// The image, read with the world stopped, and how long the stop took (waiting for mutators
    /// included).
    private func capture(_ state: ServerState) -> (HeapImage, Int) {
        let started = CycleCollector.now()
        let image = state.heap.withWorldStopped { stopped in
            stopped.captureImage(globals: state.globals.snapshot(), dropping: state.sessionReferences())
        }
        return (image, Int((CycleCollector.now() - started) / 1000))
    }

    private func write(_ image: HeapImage, name: String, directory: String) -> Result<(String, Int), CommandError> {
        var bytes = 0
        do {
            let path = try SnapshotDirectory.write(named: name, in: directory) {
                emit throws(CommandError) in
                bytes = try ImageWriter.write(image, emit)
            }
            return .success((path, bytes))
        } catch {
            return .failure(error)
        }
    }

    private func finish(_ result: Result<(String, Int), CommandError>, started: UInt64, pause: Int, objects: Int)
        -> Reply
    {
        let duration = Int((CycleCollector.now() - started) / 1000)
        return status.withLockAndBroadcast { status in
            status.saving = false
            switch result {
            case .success(let (path, bytes)):
                status.lastSaveTime = Int(Date().timeIntervalSince1970)
                status.lastSaveOK = true
                status.lastSaveDurationMicroseconds = duration
                status.lastSavePauseMicroseconds = pause
                status.lastSaveBytes = bytes
                status.lastSaveObjects = objects
                status.lastSavePath = path
                status.savesTotal += 1
                return .ok
            case .failure(let error):
                status.lastSaveOK = false
                status.lastError = error.message
                status.savesFailed += 1
                return error.reply
            }
        }
    }

    // MARK: Loading

    /// Reads, checks and restores the image at `path` into the server's fresh heap, binds its globals
    /// and checks the result with the verifier; throws a message fit for the log and systemd's
    /// `STATUS=`. Runs before the server accepts anyone and before the collector starts.
    func load(path: String, state: ServerState) throws(ImageError) {
        let started = CycleCollector.now()
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ImageError(.cannotRestore, "cannot read image \(path): \(error.localizedDescription)")
        }
        let image: HeapImage
        do {
            image = try ImageReader.read(bytes)
        } catch {
            throw ImageError(error.kind, "image \(path) refused: \(error.message)")
        }
        let heap = state.heap
        let problems = try heap.withWorldStopped { stopped throws(ImageError) -> [String] in
            let globals = try stopped.restore(image)
            var external: [ObjectRef: Int] = [:]
            for (name, ref) in globals {
                _ = state.globals.bind(name, to: ref)
                external[ref, default: 0] += 1
            }
            return stopped.verify(externalReferences: external, limit: 5)
        }
        guard problems.isEmpty else {
            throw ImageError(
                .cannotRestore, "image \(path) restored inconsistent: \(problems.joined(separator: "; "))")
        }
        let duration = Int((CycleCollector.now() - started) / 1000)
        status.withLock { status in
            status.loadedPath = path
            status.loadedObjects = image.objectCount
            status.loadedBytes = bytes.count
            status.loadDurationMicroseconds = duration
        }
    }

    // MARK: Reports

    /// `LASTSAVE`: Unix time of the last successful save, 0 before the first.
    var lastSaveTime: Int { status.withLock { $0.lastSaveTime } }

    /// `INFO persistence`.
    func infoLines() -> [String] {
        let status = status.withLock { $0 }
        return [
            "# Persistence",
            "saving:\(status.saving ? 1 : 0)",
            "last_save_time:\(status.lastSaveTime)",
            "last_save_status:\(status.lastSaveOK ? "ok" : "err")",
            "last_save_error:\(status.lastError)",
            "last_save_duration_us:\(status.lastSaveDurationMicroseconds)",
            "last_save_pause_us:\(status.lastSavePauseMicroseconds)",
            "last_save_bytes:\(status.lastSaveBytes)",
            "last_save_objects:\(status.lastSaveObjects)",
            "last_save_path:\(status.lastSavePath)",
            "saves_total:\(status.savesTotal)",
            "saves_failed:\(status.savesFailed)",
            "image_loaded:\(status.loadedPath)",
            "image_loaded_objects:\(status.loadedObjects)",
            "image_loaded_bytes:\(status.loadedBytes)",
            "image_load_duration_us:\(status.loadDurationMicroseconds)",
        ]
    }
}
