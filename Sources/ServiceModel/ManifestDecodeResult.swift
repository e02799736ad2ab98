// ManifestDecodeResult: what decoding one file yields.

/// The objects of one file, the problems that kept others out, and warnings about what was skipped on purpose.
public struct ManifestDecodeResult: Sendable {
    /// Valid objects, in file order.
    public var objects: [ManifestObject]
    /// Invalid objects (each left out of `objects`) and syntax errors (then `objects` is empty).
    public var problems: [ManifestError]
    /// Objects of kinds svcdns does not serve; they are skipped, which is not an error.
    public var warnings: [ManifestError]

    /// Creates a result.
    public init(objects: [ManifestObject] = [], problems: [ManifestError] = [], warnings: [ManifestError] = []) {
        self.objects = objects
        self.problems = problems
        self.warnings = warnings
    }
}
