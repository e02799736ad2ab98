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
        var state = FolderState()

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
}
