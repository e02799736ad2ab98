import ArgumentParser

/// `svcdns check`: loads and validates a zones folder without serving it.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a zones folder: print each problem as FILE: Kind namespace/name: field: reason."
    )

    @OptionGroup var registry: RegistryOptions

    func validate() throws {
        _ = try registry.exposure()
    }

    func run() throws {
        let exposure = try registry.exposure()
        guard let contents = try registry.loadOrReport() else {
            throw ExitCode(1)
        }
        print(contents.summary)
        if exposure != .everything {
            let leftOut = exposure.leftOut(of: contents.catalog)
            var parts: [String] = []
            if exposure.namespaces != nil { parts.append("--namespaces left out \(leftOut.byNamespace) Services") }
            if exposure.labels != nil { parts.append("--labels left out \(leftOut.byLabels) more") }
            print("filters: " + parts.joined(separator: ", ") + " (and their \(leftOut.endpointObjects) EndpointSlices and Endpoints)")
        }
    }
}
