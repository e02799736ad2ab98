// fuzz-manifest: the manifest decoders and validation: the plain-JSON fast path, the streamed List reader and
// Yams. On every input read as JSON, Yams's reading of the same text must agree: the same objects, problems
// and warnings (as the API and zones/ would report them), wherever Yams reads it at all.
import FuzzSupport
import ServiceModel

/// A leading comment makes the text YAML that is not JSON, and changes nothing else.
private let yamlPrefix = "# read as YAML\n"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let result = ManifestDecoder.decode(text, file: "fuzz.yaml")
    for object in result.objects {
        require(!object.key.name.isEmpty, "an object with no name was accepted: \(object)")
    }
    guard ManifestDecoder.readsAsPlainJSON(text) else { return 0 }
    // Yams may refuse what JSON allows (a syntax problem carries a line; object problems do not).
    let yams = ManifestDecoder.decode(yamlPrefix + text, file: "fuzz.yaml")
    let yamsAccepted = !yams.problems.contains { $0.line != nil }
    guard yamsAccepted else { return 0 }
    require(result.objects == yams.objects, "the JSON fast path read \(result.objects), Yams \(yams.objects)")
    require(
        result.problems.map(\.description) == yams.problems.map(\.description),
        "problems differ: JSON \(result.problems.map(\.description)), Yams \(yams.problems.map(\.description))")
    require(
        result.warnings.map(\.description) == yams.warnings.map(\.description),
        "warnings differ: JSON \(result.warnings.map(\.description)), Yams \(yams.warnings.map(\.description))")
    return 0
}
