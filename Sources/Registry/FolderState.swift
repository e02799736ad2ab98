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
/// modification time or inode changed are read again, and only once they have settled: a file modified
/// within the last `settleTime` is left for a later pass, so one still being written (`kubectl get … >
/// zones/x.yaml`) is never read half-way. Writing the file elsewhere and renaming it into place is atomic
/// and is read at the next pass.
public struct FolderState: Sendable {
    /// How long a changed file must have stood still before it is read.
    public let settleTime: Duration
    private var signatures: [String: FileSignature] = [:]
    /// Changed files left for a later pass: the signature seen, and when it was first seen.
    private var unsettled: [String: (signature: FileSignature, since: ContinuousClock.Instant)] = [:]
    private var good: [String: FileData] = [:]
    /// The merge of `good` as it stands, with the problems the merge itself found; nil until the first merge.
    private var merged: FolderContents?
    /// Which file defines each object in `merged`.
    private var owners: [ObjectIdentity: String] = [:]

    public init(settleTime: Duration = .milliseconds(500)) {
        self.settleTime = settleTime
    }

    /// True when the last pass left a changed file for later because it had not settled: look again soon.
    public var isSettling: Bool { !unsettled.isEmpty }

    /// Reads what changed since the last call (everything, the first time) and merges the last good data
    /// of every file. `changed` is false when no file changed; `problems` are this pass's only (a pass that
    /// read nothing has none, not even the merge's, which were reported when the merge was made).
    public mutating func refresh(_ source: FolderSource) -> (contents: FolderContents, changed: Bool) {
        var problems: [LoadProblem] = []
        var warnings: [LoadProblem] = []
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            problems.append(.unreadable(file: source.directory, reason: "no such directory"))
            return (FolderContents(catalog: Catalog(), zones: [], problems: problems, warnings: [], files: []), true)
        }
        let current = Dictionary(uniqueKeysWithValues: source.listFiles().map { ($0, FileSignature(path: $0)) })
        let now = ContinuousClock.now
        let wallClock = FileSignature.wallClock()
        var recorded = current
        var stillUnsettled: [String: (signature: FileSignature, since: ContinuousClock.Instant)] = [:]
        var changed = false
        // The files whose data changed, with their data before (nil: the file is new).
        var replaced: [String: FileData?] = [:]
        for path in signatures.keys where current[path] == nil {
            replaced[path] = good[path]
            good[path] = nil
            changed = true
        }
        for (path, signature) in current.sorted(by: { $0.key < $1.key }) where signatures[path] != signature {
            var read: (data: FileData?, problems: [LoadProblem], warnings: [LoadProblem])? = nil
            if isSettled(path, signature, now: now, wallClock: wallClock) {
                read = source.read(path)
            }
            // Changed while it was read: read half-way, so it waits like a file still being written.
            let after = read == nil ? signature : FileSignature(path: path)
            guard let read, after == signature else {
                let seen = unsettled[path]
                stillUnsettled[path] = (after, seen?.signature == after ? seen!.since : now)
                // Not taken: it stays changed for the next pass (a new file stays unknown).
                recorded[path] = signatures[path]
                continue
            }
            changed = true
            warnings += read.warnings
            if read.problems.isEmpty {
                replaced[path] = good[path]
                good[path] = read.data
            } else {
                problems += read.problems
            }
        }
        signatures = recorded
        unsettled = stillUnsettled
        // Nothing changed: the last merge stands. Merging again would give the same catalog, and at 100k
        // objects it cost a fifth of a core every reload interval, taken from the queries.
        if !changed, var contents = merged {
            contents.problems = []
            contents.warnings = []
            return (contents, false)
        }
        if let merge = mergeChanges(replaced) {
            merged = merge
            var contents = merge
            contents.problems = problems
            contents.warnings = warnings
            contents.files = current.keys.sorted()
            merged?.files = contents.files
            return (contents, changed)
        }
        let merge = source.merge(good, owners: &owners)
        merged = merge
        var contents = merge
        contents.problems = problems + merge.problems
        contents.warnings = warnings
        contents.files = current.keys.sorted()
        merged?.files = contents.files
        return (contents, changed)
    }

    /// Whether a changed file may be read: last modified at least `settleTime` ago by the wall clock, or,
    /// when its time lies ahead of the clock (a clock set back, a file from elsewhere) or says nothing about
    /// this change, seen unchanged for `settleTime` by this process's own clock.
    private func isSettled(
        _ path: String, _ signature: FileSignature, now: ContinuousClock.Instant, wallClock: timespec
    ) -> Bool {
        guard settleTime > .zero else { return true }
        // The modification time dates this change only if it moved (or the file is another one): a file being
        // rewritten in place shows its new size before its new time (ext4 sets the times at the end of a
        // shrinking truncate), so a file caught empty half-way through `> file` would pass as long settled.
        let dated = signatures[path].map {
            $0.modifiedSeconds != signature.modifiedSeconds || $0.modifiedNanoseconds != signature.modifiedNanoseconds
                || $0.inode != signature.inode
        } ?? true
        if dated, let age = signature.age(at: wallClock), age >= settleTime { return true }
        guard let seen = unsettled[path], seen.signature == signature else { return false }
        return seen.since.duration(to: now) >= settleTime
    }
}

extension FolderState {
    /// The last merge with the objects of the `replaced` files swapped for their new ones, and which
    /// objects that changed; nil when only a whole merge gives the right answer: the first reading, a
    /// zone file involved, or an object another file (or the same file twice) also defines, since then
    /// which definition wins depends on every file.
    fileprivate mutating func mergeChanges(_ replaced: [String: FileData?]) -> FolderContents? {
        guard var contents = merged, contents.problems.isEmpty else { return nil }
        var removals: [ManifestObject] = []
        var additions: [(String, ManifestObject)] = []
        var added: Set<ObjectIdentity> = []
        for (path, before) in replaced {
            switch before {
            case .manifests(let objects):
                for object in objects {
                    guard owners[ObjectIdentity(object)] == path else { return nil }
                    removals.append(object)
                }
            case .zone:
                return nil
            case nil:
                break
            }
            switch good[path] {
            case .manifests(let objects):
                for object in objects {
                    let identity = ObjectIdentity(object)
                    guard added.insert(identity).inserted, owners[identity] == nil || owners[identity] == path else { return nil }
                    additions.append((path, object))
                }
            case .zone:
                return nil
            case nil:
                break
            }
        }
        var changedObjects: Set<ObjectIdentity> = []
        for object in removals {
            let identity = ObjectIdentity(object)
            contents.catalog.remove(object)
            owners[identity] = nil
            changedObjects.insert(identity)
        }
        for (path, object) in additions {
            let identity = ObjectIdentity(object)
            contents.catalog.insert(object)
            owners[identity] = path
            changedObjects.insert(identity)
        }
        contents.changedObjects = changedObjects
        return contents
    }
}

/// What identifies one version of a file without reading it.
struct FileSignature: Hashable, Sendable {
    var size: Int64
    /// The modification time as the file system gives it. Kept in its two parts: in nanoseconds it would
    /// not fit 64 bits past the year 2262, and any file may carry any time (`touch -d 2300-01-01`).
    var modifiedSeconds: Int64
    var modifiedNanoseconds: Int64
    var inode: UInt64

    init(path: String) {
        var info = stat()
        if stat(path, &info) == 0 {
            size = Int64(info.st_size)
            modifiedSeconds = Int64(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
            inode = UInt64(info.st_ino)
        } else {
            (size, modifiedSeconds, modifiedNanoseconds, inode) = (-1, -1, 0, 0)
        }
    }

    /// The wall clock now, as modification times are counted.
    static func wallClock() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }

    /// How long ago the file was modified, by the wall clock `now`; nil when that time lies ahead of `now`.
    func age(at now: timespec) -> Duration? {
        let (seconds, overflow) = Int64(now.tv_sec).subtractingReportingOverflow(modifiedSeconds)
        guard !overflow, seconds >= 0 else { return nil }
        // Duration counts in 128 bits: any Int64 of seconds fits.
        let age = Duration.seconds(seconds) + .nanoseconds(Int64(now.tv_nsec) - modifiedNanoseconds)
        return age >= .zero ? age : nil
    }
}

/// The usable content of one file.
enum FileData: Sendable {
    case manifests([ManifestObject])
    case zone(ZoneFileContents)
}
