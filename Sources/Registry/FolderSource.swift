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
    /// The objects (kind and key) a reload changed, when it changed only manifests and could say which;
    /// nil when anything may have changed (the first reading, a zone file, a name two files define).
    public var changedObjects: Set<ObjectIdentity>? = nil

    public init(
        catalog: Catalog = Catalog(), zones: [ZoneFileContents] = [], problems: [LoadProblem] = [],
        warnings: [LoadProblem] = [], files: [String] = []
    ) {
        self.catalog = catalog
        self.zones = zones
        self.problems = problems
        self.warnings = warnings
        self.files = files
    }

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

    /// The largest file read from `zones/`: a manifest's tree takes several times its text, so this bounds what
    /// one file can make svcdns hold. `kubectl get -o json` of tens of thousands of objects fits.
    public static let maxFileSize = 64 << 20

    /// Reads the whole folder once (startup and `svcdns check`).
    public func load() -> FolderContents {
        var state = FolderState()
        return state.refresh(self).contents
    }

    /// One file read and checked on its own; its data is usable only without problems.
    func read(_ path: String) -> (data: FileData?, problems: [LoadProblem], warnings: [LoadProblem]) {
        let ext = (path as NSString).pathExtension.lowercased()
        // Read at most one byte past the bound, so a huge (or growing) file costs no more than that to refuse.
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return (nil, [.unreadable(file: path, reason: "cannot be read as UTF-8 text")], [])
        }
        // `read(upToCount:)` gives nil, not empty data, for an empty file: that is a file of no objects.
        let read = Result { try handle.read(upToCount: Self.maxFileSize + 1) ?? Data() }
        try? handle.close()
        guard case .success(let bytes) = read else {
            return (nil, [.unreadable(file: path, reason: "cannot be read as UTF-8 text")], [])
        }
        guard bytes.count <= Self.maxFileSize else {
            let reason = "over \(Self.maxFileSize >> 20) MiB, the most a file in zones/ may hold (split it)"
            return (nil, [.unreadable(file: path, reason: reason)], [])
        }
        guard let text = String(data: bytes, encoding: .utf8) else {
            return (nil, [.unreadable(file: path, reason: "cannot be read as UTF-8 text")], [])
        }
        if ext == Self.zoneExtension {
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            guard let origin = DomainName(stem) else {
                return (nil, [.unreadable(file: path, reason: "the file name \(stem) is not a domain name")], [])
            }
            do {
                let zone = try ZoneFile.parse(text, file: path, origin: origin)
                let reserved = [domain, DomainName("in-addr.arpa.")!, DomainName("ip6.arpa.")!]
                if reserved.contains(zone.origin) {
                    let reason = "the zone \(zone.origin) is served by svcdns itself from the cluster objects"
                    return (nil, [.zoneFile(ZoneFileError(file: path, line: nil, reason: reason))], [])
                }
                return (.zone(zone), [], [])
            } catch {
                return (nil, [.zoneFile(error)], [])
            }
        }
        let result = ManifestDecoder.decode(text, file: path)
        return (
            .manifests(result.objects), result.problems.map(LoadProblem.manifest), result.warnings.map(LoadProblem.manifest)
        )
    }

    /// Every file's data in one catalog and zone list, files in name order. An object or zone defined
    /// twice is a problem of the later file, and that definition is left out.
    func merge(_ files: [String: FileData]) -> FolderContents {
        var owners: [ObjectIdentity: String] = [:]
        return merge(files, owners: &owners)
    }

    /// As `merge(_:)`, also telling which file defines each object (the first, in name order).
    func merge(_ files: [String: FileData], owners: inout [ObjectIdentity: String]) -> FolderContents {
        var contents = FolderContents(catalog: Catalog(), zones: [], problems: [], warnings: [], files: [])
        owners = [:]
        var zoneOwners: [DomainName: String] = [:]
        for (path, data) in files.sorted(by: { $0.key < $1.key }) {
            switch data {
            case .manifests(let objects):
                for object in objects {
                    let identity = ObjectIdentity(object)
                    if let first = owners[identity] {
                        let error = ManifestError(
                            file: path, object: identity.description, field: "metadata.name",
                            reason: "already defined in \(first)"
                        )
                        contents.problems.append(.manifest(error))
                        continue
                    }
                    owners[identity] = path
                    contents.catalog.insert(object)
                }
            case .zone(let zone):
                if let first = zoneOwners[zone.origin] {
                    let reason = "the zone \(zone.origin) is already defined in \(first)"
                    contents.problems.append(.zoneFile(ZoneFileError(file: path, line: nil, reason: reason)))
                    continue
                }
                zoneOwners[zone.origin] = path
                contents.zones.append(zone)
            }
        }
        return contents
    }

    /// The manifest and zone files under the folder, hidden entries skipped, in name order.
    func listFiles() -> [String] {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        guard let enumerator = FileManager.default.enumerator(atPath: base) else { return [] }
        var paths: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            let ext = (relative as NSString).pathExtension.lowercased()
            guard Self.manifestExtensions.contains(ext) || ext == Self.zoneExtension else { continue }
            let path = base + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                paths.append(path)
            }
        }
        return paths.sorted()
    }
}
