import ArgumentParser
import Authority
import DNSMessage
import Foundation
import Registry
import ServiceModel

/// The options `serve` and `check` share: where the objects are and what domain they live in.
struct RegistryOptions: ParsableArguments {
    @Option(help: "Folder of Kubernetes manifests (*.yaml, *.yml, *.json) and zone files (*.zone).")
    var zones: String = "zones"

    @Option(help: "The cluster domain.")
    var domain: String = "cluster.local"

    @Option(help: "Serve only these namespaces' Services (comma-separated, repeatable); the others answer as if absent. (default: all)")
    var namespaces: [String] = []

    @Option(help: "Serve only Services whose labels match this Kubernetes label selector (env=prod,tier!=cache; env in (prod,staging); !legacy). (default: all)")
    var labels: String?

    /// The Services `--namespaces` and `--labels` let through.
    func exposure() throws -> Exposure {
        var exposure = Exposure()
        if !namespaces.isEmpty {
            var names: Set<String> = []
            for name in namespaces.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
                let name = name.trimmingCharacters(in: .whitespaces)
                if let problem = Exposure.namespaceProblem(name) {
                    throw ValidationError("--namespaces: \(problem)")
                }
                names.insert(name)
            }
            exposure.namespaces = names
        }
        if let labels {
            do {
                exposure.labels = try LabelSelector(parsing: labels)
            } catch {
                throw ValidationError("--labels: \(error)")
            }
        }
        return exposure
    }

    func clusterDomain() throws -> DomainName {
        guard let name = DomainName(domain), name.labelCount > 0 else {
            throw ValidationError("--domain \(domain) is not a domain name")
        }
        // The fixed names svcdns serves below the domain (the longest is dns-version.DOMAIN) must fit the
        // 255 bytes of a name; the zone builder relies on that.
        guard name.prepending("dns-version") != nil, name.prepending("hostmaster") != nil,
            name.prepending("dns")?.prepending("ns") != nil
        else {
            throw ValidationError("--domain \(domain) is too long: dns-version.\(domain) would be over 255 bytes")
        }
        return name
    }

    /// Reads the folder and prints every problem on its own line; nil when there was any.
    func loadOrReport() throws -> FolderContents? {
        var state = FolderState()
        return try loadOrReport(into: &state)
    }

    /// As `loadOrReport()`, keeping what was read in `state` for later reloads. A file still being written
    /// is waited for (at most 10 s), so the first answers already have it.
    static func inFileOrder(_ problems: [LoadProblem]) -> [LoadProblem] {
        problems.enumerated().sorted { ($0.element.file, $0.offset) < ($1.element.file, $1.offset) }.map(\.element)
    }

    func loadOrReport(into state: inout FolderState) throws -> FolderContents? {
        let source = FolderSource(directory: zones, domain: try clusterDomain())
        var contents = state.refresh(source).contents
        var problems = contents.problems
        var warnings = contents.warnings
        let deadline = ContinuousClock.now + .seconds(10)
        while state.isSettling && ContinuousClock.now < deadline {
            usleep(100_000)
            contents = state.refresh(source).contents
            problems += contents.problems
            warnings += contents.warnings
        }
        // A whole merge reports the names two files define again: once each is enough. A file still being
        // written is read a pass later than the others, so the passes' order is not the files': sort by file,
        // keeping each file's problems in the order found, so the same folder lists the same way every time.
        var seen: Set<LoadProblem> = []
        contents.problems = Self.inFileOrder(problems.filter { seen.insert($0).inserted })
        contents.warnings = Self.inFileOrder(warnings.filter { seen.insert($0).inserted })
        for warning in contents.warnings {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        guard contents.problems.isEmpty else {
            for problem in contents.problems {
                print(problem)
            }
            return nil
        }
        return contents
    }
}
