import Testing

@testable import Authority

/// The packed name index finds exactly the names it was built from, by their bytes.
@Suite struct NameIndexTests {
    /// Names as lowercased wire bytes: `<label>.<n>.svc.cluster.local.` and their near misses.
    static func wire(_ labels: [String]) -> [UInt8] {
        labels.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    @Test func everyNameIsFoundAndNothingElse() {
        var random = SystemRandomNumberGenerator()
        var names: [[UInt8]] = [[0], Self.wire(["cluster", "local"])]
        var seen = Set(names)
        while names.count < 20_000 {
            let length = Int.random(in: 1...20, using: &random)
            let label = String((0..<length).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789-".randomElement(using: &random)! })
            let name = Self.wire([label, "ns-\(names.count % 7)", "svc", "cluster", "local"])
            if seen.insert(name).inserted { names.append(name) }
        }
        let index = NameIndex(names)
        #expect(index.count == names.count)
        for (number, name) in names.enumerated() {
            #expect(index.number(of: name) == number)
            #expect(Array(index.name(number)) == name)
        }
        // Names it does not hold: a label longer, shorter, one letter changed, one level up or down.
        var misses = 0
        for name in names.prefix(2_000) where name.count > 2 {
            var changed = name
            changed[1] ^= 0x01
            for miss in [Array(name.dropLast()) + [1, 0x61, 0], [UInt8(1), 0x61] + name, changed] where !seen.contains(miss) {
                #expect(index.number(of: miss) == nil)
                misses += 1
            }
        }
        #expect(misses > 5_000)
        #expect(index.number(of: []) == nil)
    }

    /// A store keeps names as written; the index finds them by their lowercased form.
    @Test func namesWrittenInCapitalsAreFoundByTheirLowercasedForm() {
        let written = [Self.wire(["Web", "PROD", "svc", "cluster", "local"]), Self.wire(["db", "prod", "svc", "Cluster", "local"])]
        let index = NameIndex(written)
        #expect(index.number(of: Self.wire(["web", "prod", "svc", "cluster", "local"])) == 0)
        #expect(index.number(of: Self.wire(["db", "prod", "svc", "cluster", "local"])) == 1)
        #expect(index.number(of: Self.wire(["webx", "prod", "svc", "cluster", "local"])) == nil)
        #expect(index.name(0) == written[0], "the name keeps its case")
    }

    /// Names added later (a zone's empty non-terminals) are found beside the first ones, within the room reserved
    /// and past it (where the index is built again).
    @Test(arguments: [0, 100])
    func namesAddedLaterAreFound(reserve: Int) {
        let first = (0..<6).map { Self.wire(["web-\($0)", "prod", "svc", "cluster", "local"]) }
        let later = (0..<40).map { Self.wire(["_tcp", "db-\($0)", "prod", "svc", "cluster", "local"]) }
        var bytes = first.flatMap { $0 }
        let starts = first.indices.map { UInt32(first[..<$0].reduce(0) { $0 + $1.count }) }
        let index = NameIndex(bytes: bytes, starts: starts, reserve: reserve).detached()
        let more = later.map { name -> UInt32 in
            defer { bytes += name }
            return UInt32(bytes.count)
        }
        let grown = index.adding(more, in: bytes)
        #expect(grown.count == first.count + later.count)
        for (number, name) in (first + later).enumerated() {
            #expect(grown.number(of: name) == number)
        }
        #expect(grown.number(of: Self.wire(["web-6", "prod", "svc", "cluster", "local"])) == nil)
    }

    @Test func anEmptyIndexHoldsNothing() {
        let index = NameIndex([])
        #expect(index.count == 0)
        #expect(index.number(of: [0]) == nil)
        #expect(index.number(of: Self.wire(["a", "cluster", "local"])) == nil)
    }
}
