import DNSMessage
import Foundation
import Registry
import ServiceModel
import Testing

/// Reading the zones folder again: only changed files are read, and a pass that finds nothing changed hands
/// back the last merge without making it again.
@Suite struct FolderStateTests {
    static func service(_ name: String, _ ip: String) -> String {
        "apiVersion: v1\nkind: Service\nmetadata: {name: \(name)}\nspec: {clusterIP: \(ip)}\n"
    }

    @Test func anUnchangedFolderGivesTheLastMergeAndNoProblemsAgain() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("folder-state-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.service("web", "10.96.0.1").write(toFile: folder + "/a.yaml", atomically: true, encoding: .utf8)
        try Self.service("web", "10.96.0.2").write(toFile: folder + "/b.yaml", atomically: true, encoding: .utf8)
        let source = FolderSource(directory: folder, domain: DomainName("cluster.local.")!)
        var state = FolderState(settleTime: .zero)

        let first = state.refresh(source)
        #expect(first.changed)
        #expect(first.contents.catalog.counts.services == 1)
        #expect(first.contents.problems.map(\.description) == ["\(folder)/b.yaml: Service default/web: metadata.name: already defined in \(folder)/a.yaml"])

        let again = state.refresh(source)
        #expect(!again.changed)
        #expect(again.contents.catalog == first.contents.catalog)
        #expect(again.contents.problems.isEmpty)
        #expect(again.contents.files == first.contents.files)

        try FileManager.default.removeItem(atPath: folder + "/a.yaml")
        let after = state.refresh(source)
        #expect(after.changed)
        #expect(after.contents.problems.isEmpty)
        let web = after.contents.catalog.services[ObjectKey(namespace: "default", name: "web")]
        #expect(web?.clusterIPs == [IPAddress("10.96.0.2")!])
        #expect(after.contents.files == ["\(folder)/b.yaml"])
    }

    /// An empty manifest is a file of no objects, not a problem: it was reported as "cannot be read as UTF-8
    /// text", since Foundation reads an empty file as no data at all.
    @Test func anEmptyManifestHoldsNoObjectsAndIsNoProblem() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("folder-state-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "".write(toFile: folder + "/empty.yaml", atomically: true, encoding: .utf8)
        try "".write(toFile: folder + "/empty.json", atomically: true, encoding: .utf8)
        try Self.service("web", "10.96.0.1").write(toFile: folder + "/web.yaml", atomically: true, encoding: .utf8)
        var state = FolderState(settleTime: .zero)
        let contents = state.refresh(FolderSource(directory: folder, domain: DomainName("cluster.local.")!)).contents
        #expect(contents.problems.isEmpty, "\(contents.problems.map(\.description))")
        #expect(contents.catalog.counts.services == 1)
    }

    /// Edits that touch only some manifests are merged into the last reading rather than from scratch;
    /// whatever path a reload takes, its catalog must be the one a fresh reading of the folder gives.
    @Test func aReloadOfSomeFilesGivesTheCatalogAFreshReadingGives() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("folder-state-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = FolderSource(directory: folder, domain: DomainName("cluster.local.")!)
        var state = FolderState(settleTime: .zero)
        var random = SystemRandomNumberGenerator()
        var incremental = 0
        var whole = 0
        for step in 0..<60 {
            // Four files; each holds a few of six Services and a slice of one, so names sometimes clash.
            let file = folder + "/f\(Int.random(in: 0..<4, using: &random)).yaml"
            if Int.random(in: 0..<5, using: &random) == 0 {
                try? FileManager.default.removeItem(atPath: file)
            } else {
                var documents: [String] = []
                for _ in 0..<Int.random(in: 0..<3, using: &random) {
                    let name = "svc-\(Int.random(in: 0..<6, using: &random))"
                    documents.append(Self.service(name, "10.96.0.\(Int.random(in: 1..<200, using: &random))"))
                }
                let owner = "svc-\(Int.random(in: 0..<6, using: &random))"
                documents.append(
                    """
                    apiVersion: discovery.k8s.io/v1
                    kind: EndpointSlice
                    metadata: {name: \((file as NSString).lastPathComponent.dropLast(5))-slice, labels: {kubernetes.io/service-name: \(owner)}}
                    addressType: IPv4
                    endpoints: [{addresses: [127.0.0.\(step + 1)]}]

                    """
                )
                try documents.joined(separator: "---\n").write(toFile: file, atomically: true, encoding: .utf8)
            }
            let reloaded = state.refresh(source).contents
            var fresh = FolderState(settleTime: .zero)
            let expected = fresh.refresh(source).contents
            #expect(reloaded.catalog == expected.catalog, "step \(step)")
            if reloaded.changedObjects == nil { whole += 1 } else { incremental += 1 }
            if reloaded.catalog != expected.catalog { return }
        }
        // Both paths were taken (clashing names force whole merges).
        #expect(incremental > 0)
        #expect(whole > 0)
    }

    @Test func aReloadSaysWhichObjectsChanged() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("folder-state-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.service("web", "10.96.0.1").write(toFile: folder + "/a.yaml", atomically: true, encoding: .utf8)
        try Self.service("api", "10.96.0.2").write(toFile: folder + "/b.yaml", atomically: true, encoding: .utf8)
        let source = FolderSource(directory: folder, domain: DomainName("cluster.local.")!)
        var state = FolderState(settleTime: .zero)
        #expect(state.refresh(source).contents.changedObjects == nil, "the first reading is a whole one")

        try Self.service("db", "10.96.0.3").write(toFile: folder + "/b.yaml", atomically: true, encoding: .utf8)
        let edited = state.refresh(source).contents
        let expected: Set<ObjectIdentity> = [
            ObjectIdentity(kind: "Service", key: ObjectKey(namespace: "default", name: "api")),
            ObjectIdentity(kind: "Service", key: ObjectKey(namespace: "default", name: "db")),
        ]
        #expect(edited.changedObjects == expected)
        #expect(edited.catalog.services.keys.map(\.name).sorted() == ["db", "web"])

        // A name another file defines: only a whole merge knows which definition wins.
        try Self.service("web", "10.96.0.9").write(toFile: folder + "/c.yaml", atomically: true, encoding: .utf8)
        let clash = state.refresh(source).contents
        #expect(clash.changedObjects == nil)
        #expect(clash.problems.count == 1)
    }

    /// A file modified within the settle time is left for a later pass (it may still be being written), and
    /// read once it has stood still for that long.
    @Test func aFileModifiedJustNowIsReadOnceItHasSettled() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("folder-state-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = FolderSource(directory: folder, domain: DomainName("cluster.local.")!)
        var state = FolderState(settleTime: .milliseconds(300))
        try Self.service("web", "10.96.0.1").write(toFile: folder + "/a.yaml", atomically: true, encoding: .utf8)

        let early = state.refresh(source)
        #expect(early.contents.catalog.counts.services == 0)
        #expect(state.isSettling)
        usleep(400_000)
        let later = state.refresh(source)
        #expect(later.changed)
        #expect(later.contents.catalog.services[ObjectKey(namespace: "default", name: "web")]?.clusterIPs == [IPAddress("10.96.0.1")!])
        #expect(!state.isSettling)
    }

    /// A file caught half-way through an in-place rewrite (`> file`, an editor's save) is left alone: a stat
    /// during the truncation shows the new size with the old modification time, as old as the last edit, so
    /// that time must not pass it as settled. Reading it then gave "cannot be read as UTF-8 text" for an empty
    /// file (`scripts/soak`, rewriting a file every 5 s under load, hit it twice in 10 minutes).
    @Test func aFileTruncatedInPlaceWithItsOldTimeIsNotReadEmpty() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("folder-state-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = FolderSource(directory: folder, domain: DomainName("cluster.local.")!)
        var state = FolderState(settleTime: .milliseconds(300))
        let path = folder + "/a.yaml"
        try Self.service("web", "10.96.0.1").write(toFile: path, atomically: false, encoding: .utf8)
        // Last edited a minute ago, and read.
        var times = [timespec(tv_sec: time(nil) - 60, tv_nsec: 0), timespec(tv_sec: time(nil) - 60, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        #expect(state.refresh(source).contents.catalog.counts.services == 1)

        // What a stat shows while the same file is being truncated for a rewrite: size 0, the minute-old time.
        #expect(truncate(path, 0) == 0)
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let during = state.refresh(source)
        #expect(during.contents.problems.isEmpty, "\(during.contents.problems)")
        #expect(during.contents.catalog.counts.services == 1, "the last good data stays")
        #expect(state.isSettling)

        // The rewrite lands and is read once it has settled.
        try Self.service("web", "10.96.0.2").write(toFile: path, atomically: false, encoding: .utf8)
        usleep(400_000)
        let after = state.refresh(source)
        #expect(after.contents.problems.isEmpty)
        #expect(after.contents.catalog.services[ObjectKey(namespace: "default", name: "web")]?.clusterIPs == [IPAddress("10.96.0.2")!])
    }
}
