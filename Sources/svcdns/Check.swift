import ArgumentParser

/// `svcdns check`: loads and validates a zones folder without serving it.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a zones folder: print each problem as FILE: Kind namespace/name: field: reason."
    )

    @OptionGroup var registry: RegistryOptions

    func run() throws {
        guard let contents = try registry.loadOrReport() else {
            throw ExitCode(1)
        }
        print(contents.summary)
    }
}
