import DNSMessage
import Foundation
import ServiceModel

/// What one read of a `zones/` folder yields.
public struct FolderContents: Sendable {
    /// Every valid Kubernetes object from every manifest file.
    public var catalog: Catalog
    /// Every valid zone file.
    public var zones: [ZoneFileContents]
    /// What kept an object or a file out; empty when everything loaded.
    public var problems: [LoadProblem]
    /// What was skipped on purpose (objects of kinds svcdns does not serve).
    public var warnings: [LoadProblem]
    /// The files read, relative paths as `directory/…`.
    public var files: [String]

    /// One line saying what was loaded, as `svcdns check` prints it.
    public var summary: String {
        let counts = catalog.counts
        return "loaded \(counts.services) Services, \(counts.endpointSlices) EndpointSlices, "
            + "\(counts.endpoints) Endpoints and \(zones.count) zone files from \(files.count) files"
    }
}

/// Reads a folder of Kubernetes manifests (`*.yaml`, `*.yml`, `*.json`) and RFC 1035 zone files (`*.zone`),
/// walking subfolders and skipping hidden entries. Files are read in name order, so problems are listed the
/// same way every time.
public struct FolderSource: Sendable {
    public let directory: String
    /// The cluster domain: a zone file may not claim it, nor the reverse zones svcdns serves itself.
    public let domain: DomainName

    public init(directory: String, domain: DomainName) {
        self.directory = directory
        self.domain = domain
    }

    static let manifestExtensions: Set<String> = ["yaml", "yml", "json"]
    static let zoneExtension = "zone"

    public func load() -> FolderContents {
        var contents = FolderContents(catalog: Catalog(), zones: [], problems: [], warnings: [], files: [])
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            contents.problems.append(.unreadable(file: directory, reason: "no such directory"))
            return contents
        }
        var owners: [String: String] = [:]  // "Kind ns/name" → file that defined it first
        var zoneOwners: [DomainName: String] = [:]
        for path in listFiles() {
            let ext = (path as NSString).pathExtension.lowercased()
            guard Self.manifestExtensions.contains(ext) || ext == Self.zoneExtension else { continue }
            contents.files.append(path)
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                contents.problems.append(.unreadable(file: path, reason: "cannot be read as UTF-8 text"))
                continue
            }
            if ext == Self.zoneExtension {
                loadZone(text, path: path, into: &contents, owners: &zoneOwners)
            } else {
                loadManifests(text, path: path, into: &contents, owners: &owners)
            }
        }
        return contents
    }

    private func loadManifests(_ text: String, path: String, into contents: inout FolderContents, owners: inout [String: String]) {
        let result = ManifestDecoder.decode(text, file: path)
        contents.problems += result.problems.map(LoadProblem.manifest)
        contents.warnings += result.warnings.map(LoadProblem.manifest)
        for object in result.objects {
            let identity = "\(object.kind) \(object.key)"
            if let first = owners[identity] {
                let error = ManifestError(
                    file: path, object: identity, field: "metadata.name", reason: "already defined in \(first)"
                )
                contents.problems.append(.manifest(error))
                continue
            }
            owners[identity] = path
            contents.catalog.insert(object)
        }
    }

    private func loadZone(_ text: String, path: String, into contents: inout FolderContents, owners: inout [DomainName: String]) {
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        guard let origin = DomainName(stem) else {
            contents.problems.append(.unreadable(file: path, reason: "the file name \(stem) is not a domain name"))
            return
        }
        do {
            let zone = try ZoneFile.parse(text, file: path, origin: origin)
            let reserved = [domain, DomainName("in-addr.arpa.")!, DomainName("ip6.arpa.")!]
            if reserved.contains(zone.origin) {
                let reason = "the zone \(zone.origin) is served by svcdns itself from the cluster objects"
                contents.problems.append(.zoneFile(ZoneFileError(file: path, line: nil, reason: reason)))
            } else if let first = owners[zone.origin] {
                let reason = "the zone \(zone.origin) is already defined in \(first)"
                contents.problems.append(.zoneFile(ZoneFileError(file: path, line: nil, reason: reason)))
            } else {
                owners[zone.origin] = path
                contents.zones.append(zone)
            }
        } catch {
            contents.problems.append(.zoneFile(error))
        }
    }

    private func listFiles() -> [String] {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        guard let enumerator = FileManager.default.enumerator(atPath: base) else { return [] }
        var paths: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            let path = base + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                paths.append(path)
            }
        }
        return paths.sorted()
    }
}
