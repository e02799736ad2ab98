import ArgumentParser
import Authority
import DNSMessage
import Foundation
import Registry

/// The options `serve` and `check` share: where the objects are and what domain they live in.
struct RegistryOptions: ParsableArguments {
    @Option(help: "Folder of Kubernetes manifests (*.yaml, *.yml, *.json) and zone files (*.zone).")
    var zones: String = "zones"

    @Option(help: "The cluster domain.")
    var domain: String = "cluster.local"

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

    /// As `loadOrReport()`, keeping what was read in `state` for later reloads.
    func loadOrReport(into state: inout FolderState) throws -> FolderContents? {
        let contents = state.refresh(FolderSource(directory: zones, domain: try clusterDomain())).contents
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
