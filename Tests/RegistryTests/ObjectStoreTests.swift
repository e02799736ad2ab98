import Foundation
import Registry
import Testing

/// The durable store of API-written objects: writes survive reopening, revisions grow, and a file that is
/// not a usable database stops startup with its path and the reason.
@Suite struct ObjectStoreTests {
    static func folder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("svcdns-store-\(UUID().uuidString)").path
    }

    @Test func writesSurviveReopeningAndRevisionsGrow() throws {
        let directory = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = try ObjectStore(directory: directory)
            let first = try store.put(kind: "Service", namespace: "default", name: "web", json: #"{"kind":"Service"}"#)
            let second = try store.put(kind: "Service", namespace: "default", name: "api", json: #"{"kind":"Service","n":2}"#)
            let third = try store.put(kind: "Service", namespace: "default", name: "web", json: #"{"kind":"Service","n":3}"#)
            #expect(first < second && second < third)
            #expect(try store.delete(kind: "Service", namespace: "default", name: "api"))
            #expect(try !store.delete(kind: "Service", namespace: "default", name: "api"), "already gone")
        }
        let reopened = try ObjectStore(directory: directory)
        let objects = try reopened.all()
        #expect(objects.map(\.name) == ["web"])
        #expect(objects.first?.json == #"{"kind":"Service","n":3}"#)
        #expect(try reopened.get(kind: "Service", namespace: "default", name: "web")?.revision == objects.first?.revision)
        #expect(try reopened.get(kind: "EndpointSlice", namespace: "default", name: "web") == nil)
        // Revisions keep growing across restarts: resourceVersions are never reused.
        let next = try reopened.put(kind: "Service", namespace: "default", name: "web", json: "{}")
        #expect(next > objects.first!.revision)
    }

    @Test func aDamagedStoreStopsStartupWithItsPath() throws {
        let directory = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + ObjectStore.fileName
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: path))
        do {
            _ = try ObjectStore(directory: directory)
            Issue.record("a file of garbage opened as a store")
        } catch {
            #expect(error.path == path)
            #expect(error.description.hasPrefix(path + ": "))
            #expect(error.reason.contains("not a database") || error.reason.contains("damaged"), "\(error.reason)")
        }
    }
}
