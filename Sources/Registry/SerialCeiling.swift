import Foundation
import Locking

/// Keeps the generated zones' SOA serial growing across restarts (secondaries ignore a zone whose serial went
/// back): a file in the store's directory holds a serial no build has passed. Before a build takes a serial above
/// it, the file is moved a block ahead, so it is written once per `block` serials rather than once per build, and a
/// restart starts above everything handed out before it.
public final class SerialCeiling: Sendable {
    private let path: String
    private let ceiling: Locked<UInt32>
    static let block: UInt32 = 1000

    /// Reads the ceiling kept in `directory` (0 when there is none yet). A file that does not hold a number is an
    /// error naming it: starting from 0 could hand out serials older than the secondaries'.
    public init(directory: String) throws {
        path = directory + "/soa-serial"
        guard FileManager.default.fileExists(atPath: path) else {
            ceiling = Locked(0)
            return
        }
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = UInt32(text) else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "\(path): not a serial: \(text.prefix(40))"])
        }
        ceiling = Locked(value)
    }

    /// The highest serial a build may have taken before this start.
    public var floor: UInt32 { ceiling.withLock { $0 } }

    /// Called with each build's serial before the build is published: moves the ceiling past it when it is not
    /// already. A failed write is logged by the caller and retried with the next serial.
    public func reserve(_ serial: UInt32) throws {
        try ceiling.withLock { ceiling in
            guard serial > ceiling else { return }
            let next = serial &+ Self.block
            let temporary = path + ".new"
            // Written beside the file, synced, then renamed over it: a crash leaves the old ceiling or the new.
            try Data("\(next)\n".utf8).write(to: URL(fileURLWithPath: temporary))
            let descriptor = open(temporary, O_RDONLY)
            if descriptor >= 0 {
                fsync(descriptor)
                close(descriptor)
            }
            guard rename(temporary, path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            ceiling = next
        }
    }
}
