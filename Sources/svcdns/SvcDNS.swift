import ArgumentParser

/// `svcdns`: DNS-based service discovery for Kubernetes-style Services, as one process.
@main
struct SvcDNS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svcdns",
        abstract: "Answers cluster DNS (Kubernetes Services and EndpointSlices) from manifests and zone files.",
        subcommands: [Serve.self, Check.self],
        defaultSubcommand: Serve.self
    )
}
