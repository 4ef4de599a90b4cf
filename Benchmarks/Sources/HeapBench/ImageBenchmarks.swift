import Foundation
import HeapCore

#if canImport(Glibc)
    import Glibc
#endif

/// Heap images at scale (`Benchmarks/run.sh image [N]`): a heap of N objects saved the way `SAVE`
/// saves it (capture with the world stopped, write, fsync, rename, fsync the directory) and restored
/// the way `heapd --image` restores it (read, check every section and refcount, rebuild), with MB/s
/// for each, the capture's pause (what `SAVE` stops mutators for; `BGSAVE`'s in ``BackgroundSaveBenchmark``), and image bytes per object
/// against the heap's in-memory bytes per object. run.sh prints `dd … conv=fdatasync` beside it.
enum ImageBenchmarks {
    static func report(count: Int, directory: String) {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: count + (1 << 16), shardCount: 2))
        let root = build(heap, count: count)
        let stats = heap.statistics()
        print("heap: \(stats.objects) objects, \(stats.bytesInUse) bytes in memory")

        // Save: capture (the pause), then write + fsync + rename + fsync(dir).
        var pauses: [Double] = []
        var image: HeapImage?
        for _ in 0..<5 {
            let started = Measure.now()
            image = heap.withWorldStopped { $0.captureImage(globals: ["root": root], dropping: []) }
            pauses.append(Measure.now() - started)
        }
        let captured = image!
        let encoded = ImageWriter.bytes(of: captured)
        var started = Measure.now()
        let crc = CRC32C.checksum(encoded)
        let crcTime = Measure.now() - started
        started = Measure.now()
        let streamsCRC = CRC32C.checksumInStreams(encoded[...])
        let streamsTime = Measure.now() - started
        precondition(streamsCRC == crc, "the three-stream CRC differs")
        started = Measure.now()
        _ = ImageWriter.bytes(of: captured)
        let encodeTime = Measure.now() - started
        print(
            String(
                format:
                    "parts: CRC32C %.1f ms (%.0f MB/s, %08x), in three streams %.1f ms (%.0f MB/s), framing into one array %.1f ms",
                crcTime * 1e3, Double(encoded.count) / 1e6 / crcTime, crc, streamsTime * 1e3,
                Double(encoded.count) / 1e6 / streamsTime, encodeTime * 1e3))
        let path = directory + "/bench.image"
        var saves: [Double] = []
        var size = 0
        for _ in 0..<3 {
            let started = Measure.now()
            let fresh = heap.withWorldStopped { $0.captureImage(globals: ["root": root], dropping: []) }
            size = writeDurably(fresh, to: path, directory: directory)
            saves.append(Measure.now() - started)
        }
        // Restore: read, check, rebuild, into a fresh heap each time.
        var restores: [Double] = []
        var checks: [Double] = []
        // HEAPBENCH_RESTORES=n repeats the restore n times (3 by default): enough of them make a profile
        // of the run mostly restore.
        let repeats = Int(ProcessInfo.processInfo.environment["HEAPBENCH_RESTORES"] ?? "") ?? 3
        for _ in 0..<max(1, repeats) {
            let fresh = Heap(configuration: HeapConfiguration(maxObjects: count + (1 << 16), shardCount: 2))
            let started = Measure.now()
            let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
            let read = try! ImageReader.read(bytes)
            let checked = Measure.now()
            let globals = try! fresh.withWorldStopped { try $0.restore(read) }
            restores.append(Measure.now() - started)
            checks.append(checked - started)
            precondition(globals.count == 1 && fresh.statistics().objects == stats.objects, "restore lost objects")
            fresh.release(globals[0].ref)
        }
        let megabytes = Double(size) / 1e6
        let save = Measure.median(saves)
        let restore = Measure.median(restores)
        print(
            String(
                format: "image: %d bytes, %.1f bytes/object on disk vs %.1f bytes/object in memory",
                size, Double(size) / Double(captured.objectCount), Double(stats.bytesInUse) / Double(stats.objects)))
        print(
            String(
                format: "SAVE pause (capture, world stopped): median %.1f ms, max %.1f ms",
                Measure.median(pauses) * 1e3,
                pauses.max()! * 1e3))
        print(
            String(
                format: "SAVE (capture + write + fsync + rename + fsync dir): median %.1f ms, %.1f MB/s", save * 1e3,
                megabytes / save))
        print(
            String(
                format: "restore (read + check + rebuild): median %.1f ms, %.1f MB/s (read + check alone %.1f ms)",
                restore * 1e3, megabytes / restore, Measure.median(checks) * 1e3))
        print(
            String(
                format: "{\"image_mb\": %.2f, \"save_mb_s\": %.1f, \"restore_mb_s\": %.1f}", megabytes,
                megabytes / save, megabytes / restore))
        BackgroundSaveBenchmark.report(heap: heap, root: root)
        unlink(path)
        heap.release(root)
    }

    /// A root list of groups of ten objects: a list holding six ints, two strs and a tuple of two of
    /// them (a heap of small objects, the common case and the hardest per byte).
    static func build(_ heap: Heap, count: Int) -> ObjectRef {
        let root = try! heap.makeList()
        for group in 0..<max(1, count / 10) {
            var items: [ObjectRef] = []
            for index in 0..<6 { items.append(try! heap.makeInt(Int64(group * 6 + index))) }
            items.append(try! heap.makeStr("key-\(group)"))
            items.append(try! heap.makeStr("value-\(group % 977)"))
            items.append(try! heap.makeTuple([items[0], items[6]]))
            let list = try! heap.makeList(items)
            for item in items { heap.release(item) }
            try! heap.append(root, list)
            heap.release(list)
        }
        return root
    }

    /// Writes as heapd's snapshot directory does: a temporary file, fsync, rename, fsync the directory.
    static func writeDurably(_ image: HeapImage, to path: String, directory: String) -> Int {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "cannot create \(temporary)")
        let size = ImageWriter.write(image) { (chunk: [UInt8]) in
            chunk.withUnsafeBytes { buffer in
                var done = 0
                while done < buffer.count {
                    let written = write(fd, buffer.baseAddress! + done, buffer.count - done)
                    precondition(written > 0 || errno == EINTR, "write failed")
                    if written > 0 { done += written }
                }
            }
        }
        precondition(fsync(fd) == 0 && close(fd) == 0 && rename(temporary, path) == 0)
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY)
        fsync(dirfd)
        close(dirfd)
        return size
    }
}
