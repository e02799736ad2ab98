import DNSMessage
import Foundation
import ServiceModel

#if canImport(Glibc)
import Glibc
#endif

/// What the `zones/` folder held at its last good reading, file by file, and how to read it again.
///
/// A file that changes and has a problem keeps its last good data: one bad edit must not take a
/// Service out of DNS. A file that is removed takes its objects with it. Only files whose size,
/// modification time or inode changed are read again.
public struct FolderState: Sendable {
    private var signatures: [String: FileSignature] = [:]
    private var good: [String: FileData] = [:]
    /// The merge of the last reading: a poll that finds no file changed returns it rather than merging
    /// every file again (at 100,000 Services a merge takes a second of CPU and a copy of the catalog).
    private var lastMerged: FolderContents? = nil

    public init() {}

    /// Reads what changed since the last call (everything, the first time) and merges the last good data
    /// of every file. `changed` is false when no file changed; `problems` are this pass's only.
    public mutating func refresh(_ source: FolderSource) -> (contents: FolderContents, changed: Bool) {
        var problems: [LoadProblem] = []
        var warnings: [LoadProblem] = []
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            problems.append(.unreadable(file: source.directory, reason: "no such directory"))
            return (FolderContents(catalog: Catalog(), zones: [], problems: problems, warnings: [], files: []), true)
        }
        let current = Dictionary(uniqueKeysWithValues: source.listFiles().map { ($0, FileSignature(path: $0)) })
        var changed = false
        for path in signatures.keys where current[path] == nil {
            good[path] = nil
            changed = true
        }
        for (path, signature) in current.sorted(by: { $0.key < $1.key }) where signatures[path] != signature {
            changed = true
            let read = source.read(path)
            warnings += read.warnings
            if read.problems.isEmpty {
                good[path] = read.data
            } else {
                problems += read.problems
            }
        }
        signatures = current
        if !changed, let lastMerged {
            return (lastMerged, false)
        }
        var contents = source.merge(good)
        contents.problems = problems + contents.problems
        contents.warnings = warnings
        contents.files = current.keys.sorted()
        // Problems are this pass's only, so a later pass with no change reports none.
        lastMerged = contents
        lastMerged?.problems = []
        lastMerged?.warnings = []
        return (contents, changed)
    }
}

/// What identifies one version of a file without reading it.
struct FileSignature: Hashable, Sendable {
    var size: Int64
    var modified: Int64
    var inode: UInt64

    init(path: String) {
        var info = stat()
        if stat(path, &info) == 0 {
            size = Int64(info.st_size)
            modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
            inode = UInt64(info.st_ino)
        } else {
            (size, modified, inode) = (-1, -1, 0)
        }
    }
}

/// The usable content of one file.
enum FileData: Sendable {
    case manifests([ManifestObject])
    case zone(ZoneFileContents)
}
